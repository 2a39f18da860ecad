"""Physics in time: pymunk worlds stepped frame by frame for the temporal scenes.

Each function advances a batch of independent sequences by one frame and is *pure*: the result
for a sequence depends only on that sequence's state passed in (not on the batch, on earlier
calls or on the process), so interventions, counterfactuals and a worker's history cannot leak
into the numbers. Worlds are cached per process (bodies are expensive to create in pymunk), but
every call sets each body's whole state and creates fresh constraints and shapes, so no cached
impulse (pymunk's warm starting) survives from one call to the next.

- Damped pendulum (``pendulum-dynamic-v1``): a point bob of mass 1 on a massless rod (a pymunk
  ``PinJoint`` from a static pivot to the bob), gravity ``G`` and linear velocity damping
  ``exp(-GAMMA)`` per second (pymunk multiplies velocities by ``damping ** dt`` each step), so
  the motion follows theta'' = -(G / L) sin(theta) - GAMMA theta', with theta from the downward
  vertical, positive with the bob to the right. One frame of ``1 / fps`` seconds is integrated
  in :data:`SUBSTEPS` steps of pymunk's semi-implicit Euler integrator.
- Collision (``collision-v1``): two balls on a frictionless 1-D track between elastic walls at
  x = 0 and x = ``TRACK``; perfectly elastic collisions (elasticity 1), radius grows with mass.
  Sequences run in lanes far apart in y, so balls of different sequences never meet.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pymunk

# Damped pendulum, in the drawing units of pendulum-v1 (1 unit = 0.1 m).
PIVOT = (10.0, 10.5)
LENGTH = 8.0  # pivot to bob centre
G = 98.1  # units / s^2 (9.81 m/s^2)
GAMMA = 0.25  # 1 / s, velocity damping rate
SUBSTEPS = 10  # pymunk steps per frame
DEFAULT_FPS = 25.0

# Collision track.
TRACK = 20.0  # walls at x = 0 and x = TRACK
LANE = 10.0  # y distance between the lanes of different sequences
COLLISION_SUBSTEPS = 10


def ball_radius(mass: np.ndarray | float) -> np.ndarray | float:
    """Radius of a ball of ``mass`` kg (drawing units): 0.6 + 0.4 * mass."""
    return 0.6 + 0.4 * mass


class _Pool:
    """A cached pymunk space holding ``n`` reusable dynamic bodies (grown or shrunk on demand)."""

    def __init__(self, gravity: tuple[float, float], damping: float) -> None:
        self.space = pymunk.Space()
        self.space.gravity = gravity
        self.space.damping = damping
        self.bodies: list[pymunk.Body] = []
        self.active = 0
        self.extras: list = []  # constraints / shapes added for one call, removed after it

    def take(self, n: int) -> list[pymunk.Body]:
        while len(self.bodies) < n:
            self.bodies.append(pymunk.Body(1.0, float("inf")))
        if n > self.active:
            self.space.add(*self.bodies[self.active:n])
        elif n < self.active:
            self.space.remove(*self.bodies[n:self.active])
        self.active = n
        return self.bodies[:n]

    def clear(self) -> None:
        if self.extras:
            self.space.remove(*self.extras)
            self.extras = []


@functools.cache
def _pendulum_pool(damping: float) -> _Pool:
    return _Pool((0.0, -G), damping)


_swing_last: list = [None, None]


def swing(pendulum_angle: np.ndarray, angular_velocity: np.ndarray, fps: float = DEFAULT_FPS,
          gamma: float = GAMMA) -> tuple[np.ndarray, np.ndarray]:
    """One frame of the damped pendulum: (angle deg, angular velocity deg/s) -> the same, 1/fps
    seconds later, for arrays (n,) of independent pendulums."""
    th = np.radians(np.atleast_1d(np.asarray(pendulum_angle, dtype=np.float64)))
    om = np.radians(np.atleast_1d(np.asarray(angular_velocity, dtype=np.float64)))
    th, om = np.broadcast_arrays(th, om)
    key = (th.tobytes(), om.tobytes(), fps, gamma)
    if _swing_last[0] == key:  # swing_angle and swing_velocity ask for the same inputs
        return _swing_last[1]
    pool = _pendulum_pool(math.exp(-gamma))
    bodies = pool.take(len(th))
    px, py = PIVOT
    static = pool.space.static_body
    joints = []
    for body, t, w in zip(bodies, th.tolist(), om.tolist(), strict=True):
        s, c = math.sin(t), math.cos(t)
        body.position = (px + LENGTH * s, py - LENGTH * c)
        body.velocity = (w * LENGTH * c, w * LENGTH * s)
        body.force = (0.0, 0.0)
        joints.append(pymunk.PinJoint(static, body, PIVOT, (0.0, 0.0)))  # fresh: no warm start
    if joints:
        pool.space.add(*joints)
        pool.extras = joints
    h = 1.0 / fps / SUBSTEPS
    try:
        for _ in range(SUBSTEPS if joints else 0):
            pool.space.step(h)
    finally:
        pool.clear()
    angle = np.empty(len(th))
    velocity = np.empty(len(th))
    for i, body in enumerate(bodies):
        (x, y), (vx, vy) = body.position, body.velocity
        rx, ry = x - px, y - py
        angle[i] = math.atan2(rx, -ry)
        velocity[i] = (rx * vy - ry * vx) / (rx * rx + ry * ry)
    out = (np.degrees(angle), np.degrees(velocity))
    _swing_last[0], _swing_last[1] = key, out
    return out


def swing_angle(pendulum_angle: np.ndarray, angular_velocity: np.ndarray,
                fps: float = DEFAULT_FPS) -> np.ndarray:
    """The pendulum's angle (degrees) one frame after (angle, angular velocity)."""
    return swing(pendulum_angle, angular_velocity, fps)[0]


def swing_velocity(pendulum_angle: np.ndarray, angular_velocity: np.ndarray,
                   fps: float = DEFAULT_FPS) -> np.ndarray:
    """The pendulum's angular velocity (degrees / s) one frame after (angle, velocity)."""
    return swing(pendulum_angle, angular_velocity, fps)[1]


def damped_pendulum_ode(theta0_deg: float, omega0_deg: float, times: np.ndarray,
                        gamma: float = GAMMA) -> np.ndarray:
    """Reference solution of theta'' = -(G/L) sin(theta) - gamma theta' (scipy solve_ivp,
    tight tolerances): the angle in degrees at ``times`` (seconds). For tests and datasheets."""
    from scipy.integrate import solve_ivp

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [y[1], -(G / LENGTH) * math.sin(y[0]) - gamma * y[1]]

    sol = solve_ivp(rhs, (0.0, float(times[-1])), [math.radians(theta0_deg),
                    math.radians(omega0_deg)], t_eval=times, rtol=1e-10, atol=1e-12)
    return np.degrees(sol.y[0])


# -- collision -------------------------------------------------------------------------------
@functools.cache
def _collision_pool() -> tuple[_Pool, list]:
    pool = _Pool((0.0, 0.0), 1.0)
    return pool, []


_collide_last: list = [None, None]


def collide(position_a: np.ndarray, velocity_a: np.ndarray, position_b: np.ndarray,
            velocity_b: np.ndarray, mass_a: np.ndarray, mass_b: np.ndarray,
            fps: float = DEFAULT_FPS) -> tuple[np.ndarray, ...]:
    """One frame of two balls on the track: (x_a, v_a, x_b, v_b) one frame later.

    Arrays (n,) of independent sequences; positions in drawing units, velocities in units/s,
    masses in kg (radius :func:`ball_radius`).
    """
    cols = np.broadcast_arrays(*(np.atleast_1d(np.asarray(c, dtype=np.float64)) for c in
                                 (position_a, velocity_a, position_b, velocity_b, mass_a, mass_b)))
    key = (tuple(c.tobytes() for c in cols), fps)
    if _collide_last[0] == key:
        return _collide_last[1]
    xa, va, xb, vb, ma, mb = (c.tolist() for c in cols)
    n = len(xa)
    pool, _ = _collision_pool()
    bodies = pool.take(2 * n)
    static = pool.space.static_body
    top = LANE * max(n, 1)
    shapes: list = [pymunk.Segment(static, (0.0, -LANE), (0.0, top), 0.0),
                    pymunk.Segment(static, (TRACK, -LANE), (TRACK, top), 0.0)]
    for i in range(n):
        y = LANE * i
        for body, x, v, m in ((bodies[2 * i], xa[i], va[i], ma[i]),
                              (bodies[2 * i + 1], xb[i], vb[i], mb[i])):
            body.mass = m
            body.position = (x, y)
            body.velocity = (v, 0.0)
            body.force = (0.0, 0.0)
            shapes.append(pymunk.Circle(body, float(ball_radius(m))))
    for shape in shapes:
        shape.elasticity = 1.0
        shape.friction = 0.0
    pool.space.add(*shapes)
    pool.extras = shapes
    h = 1.0 / fps / COLLISION_SUBSTEPS
    try:
        for _ in range(COLLISION_SUBSTEPS if n else 0):
            pool.space.step(h)
    finally:
        pool.clear()  # removing the shapes drops their contacts: nothing is cached
    out = np.empty((4, n))
    for i in range(n):
        a, b = bodies[2 * i], bodies[2 * i + 1]
        out[:, i] = (a.position.x, a.velocity.x, b.position.x, b.velocity.x)
    result = tuple(out)
    _collide_last[0], _collide_last[1] = key, result
    return result


def collide_position_a(position_a: np.ndarray, velocity_a: np.ndarray, position_b: np.ndarray,
                       velocity_b: np.ndarray, mass_a: np.ndarray, mass_b: np.ndarray,
                       fps: float = DEFAULT_FPS) -> np.ndarray:
    """Ball A's position one frame later."""
    return collide(position_a, velocity_a, position_b, velocity_b, mass_a, mass_b, fps)[0]


def collide_velocity_a(position_a: np.ndarray, velocity_a: np.ndarray, position_b: np.ndarray,
                       velocity_b: np.ndarray, mass_a: np.ndarray, mass_b: np.ndarray,
                       fps: float = DEFAULT_FPS) -> np.ndarray:
    """Ball A's velocity one frame later."""
    return collide(position_a, velocity_a, position_b, velocity_b, mass_a, mass_b, fps)[1]


def collide_position_b(position_a: np.ndarray, velocity_a: np.ndarray, position_b: np.ndarray,
                       velocity_b: np.ndarray, mass_a: np.ndarray, mass_b: np.ndarray,
                       fps: float = DEFAULT_FPS) -> np.ndarray:
    """Ball B's position one frame later."""
    return collide(position_a, velocity_a, position_b, velocity_b, mass_a, mass_b, fps)[2]


def collide_velocity_b(position_a: np.ndarray, velocity_a: np.ndarray, position_b: np.ndarray,
                       velocity_b: np.ndarray, mass_a: np.ndarray, mass_b: np.ndarray,
                       fps: float = DEFAULT_FPS) -> np.ndarray:
    """Ball B's velocity one frame later."""
    return collide(position_a, velocity_a, position_b, velocity_b, mass_a, mass_b, fps)[3]
