"""Physics of the ``flow-v1`` scene: a ball's 2-D displacement and Torricelli jets in pymunk.

Mechanism expressions call :func:`displacement` and :func:`jet_distance` by name with arrays of
parent values; both return arrays. Units are centimetres and seconds (g = 981 cm/s^2).

- Displacement: a heavy ball of radius r rests on the floor of a tank of inner width
  :data:`TANK_WIDTH`. Water that would stand at the base level h0 without the ball rises to the
  level h where the water's area is unchanged: W (h - h0) = A(r, h), A being the area of the
  ball's circle below the water line (a circle segment; the whole disc once h >= 2r). The root is
  closed-form when the ball is fully submerged and found by bisection otherwise.
- Jets: water leaves a hole at height d above the tank floor horizontally, at Torricelli's speed
  v = sqrt(2 g (h - d)), from the tank's outer wall, and falls to the ground
  :data:`STAND_HEIGHT` below the tank floor. All samples of a call fly together in one cached
  pymunk space, one shapeless body per jet (a body without shapes collides with nothing), stepped
  with a fixed dt until every body is below the ground; each landing point is then solved exactly
  inside the body's last step. Started half a step out of phase, pymunk's integrator is leapfrog,
  exact for constant gravity, so the landing distance equals the closed form
  2 sqrt((h - d)(d + stand)) to rounding (g cancels). Body states go in and out through
  ``pymunk.batch`` when it exists (one C call per step), else body by body.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pymunk

try:  # bulk get/set of body state in one C call (an "experimental" API upstream)
    import pymunk.batch as _batch
except ImportError:  # pragma: no cover - older pymunk: the per-body path below
    _batch = None

GRAVITY = 981.0  # cm / s^2
TANK_WIDTH = 12.0  # inner width of the tank, cm
STAND_HEIGHT = 12.0  # the tank's inner floor stands this high above the ground, cm
DT = 1.0 / 200.0  # s: 30-40 steps for the default ranges, at most ~52 over the renderable ones
MAX_STEPS = 4096  # beyond this (falls of hundreds of metres) dt is enlarged; the result stays exact
_BISECTION_STEPS = 60


def submerged_area(ball_size: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Area (cm^2) of a disc of radius ``ball_size`` resting on the floor, below ``level``."""
    r = np.maximum(np.asarray(ball_size, dtype=np.float64), 0.0)
    depth = np.clip(np.asarray(level, dtype=np.float64), 0.0, 2.0 * r)
    c = r - depth  # signed distance from the disc's centre up to the water line, negated
    with np.errstate(invalid="ignore", divide="ignore"):
        area = r * r * np.arccos(np.clip(c / r, -1.0, 1.0)) - c * np.sqrt(np.maximum(r * r - c * c, 0.0))
    return np.where(r > 0.0, area, 0.0)


def displacement(ball_size: np.ndarray, base_level: np.ndarray) -> np.ndarray:
    """Rise of the water level (cm) caused by the ball, over the ball-free ``base_level``.

    Solves W (h - h0) = submerged_area(r, h) for the level h; returns h - h0. A non-positive
    radius or base level (no ball, no water) displaces nothing.
    """
    r, h0 = np.broadcast_arrays(np.maximum(np.asarray(ball_size, dtype=np.float64), 0.0),
                                np.maximum(np.asarray(base_level, dtype=np.float64), 0.0))
    full = np.pi * r * r / TANK_WIDTH  # the whole disc under water
    level = h0 + full
    partial = (level < 2.0 * r) & (h0 > 0.0)  # the ball's top sticks out of the water
    if partial.any():
        # f(h) = W (h - h0) - A(h) is increasing while the ball is narrower than the tank, with
        # f(h0) <= 0 <= f(h0 + full): bisect that bracket.
        rp, base = r[partial], h0[partial]
        lo, hi = base.copy(), level[partial]
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            below = TANK_WIDTH * (mid - base) < submerged_area(rp, mid)
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        level = level.copy()
        level[partial] = 0.5 * (lo + hi)
    return np.where(h0 > 0.0, level - h0, 0.0)


def jet_distance_closed_form(water_height: np.ndarray, hole_height: np.ndarray) -> np.ndarray:
    """2 sqrt((h - d)(d + stand)): the landing distance from the outer wall, for tests and docs."""
    h = np.asarray(water_height, dtype=np.float64)
    d = np.asarray(hole_height, dtype=np.float64)
    return 2.0 * np.sqrt(np.maximum(h - d, 0.0) * np.maximum(d + STAND_HEIGHT, 0.0))


class _JetWorld:
    """A space of shapeless bodies under gravity, resized to each call's batch and reused."""

    def __init__(self) -> None:
        self.space = pymunk.Space()
        self.space.gravity = (0.0, -GRAVITY)
        self.pool: list[pymunk.Body] = []
        self.active = 0  # pool[:active] are in the space
        self.order = np.zeros(0, dtype=np.intp)  # batch row -> sample index
        self.buffer = _batch.Buffer() if _batch is not None else None  # reads
        self.set_buffer = _batch.Buffer() if _batch is not None else None  # writes only
        self._set_data = np.zeros(0)  # the array set_buffer points into
        self.positions_first = self._positions_first()

    def _positions_first(self) -> bool:
        """Whether a step moves bodies with the velocity they had before it (Chipmunk does)."""
        probe = pymunk.Body(1.0, math.inf)
        self.space.add(probe)
        self.space.step(1.0)
        first = probe.position.y == 0.0
        self.space.remove(probe)
        return first

    def resize(self, n: int) -> None:
        while len(self.pool) < n:
            self.pool.append(pymunk.Body(1.0, math.inf))
        if n > self.active:
            self.space.add(*self.pool[self.active:n])
        elif n < self.active:
            self.space.remove(*self.pool[n:self.active])
        if n != self.active or len(self.order) != n:
            self.active = n
            self.order = self._batch_order()

    def _batch_order(self) -> np.ndarray:
        # The space iterates its bodies in an order that removals shuffle: map it once per resize.
        if self.buffer is None:
            return np.arange(self.active)
        self.buffer.clear()
        _batch.get_space_bodies(self.space, _batch.BodyFields.BODY_ID, self.buffer)
        ids = np.frombuffer(self.buffer.int_buf(), dtype=np.uintp)
        index = {b.id: i for i, b in enumerate(self.pool[:self.active])}
        order = np.array([index[int(i)] for i in ids], dtype=np.intp)
        if len(order) != self.active:
            raise RuntimeError("the jet space holds bodies it did not create")
        return order

    def set_state(self, state: np.ndarray) -> None:
        """Set (n, 4) rows of x, y, vx, vy in sample order."""
        if self.buffer is None:
            for body, (x, y, vx, vy) in zip(self.pool, state.tolist(), strict=False):
                body.position, body.velocity = (x, y), (vx, vy)
            return
        # The set buffer then points into this array (kept alive here); it is never read into,
        # since a read that grows a buffer would reallocate memory numpy owns.
        self._set_data = np.ascontiguousarray(state[self.order]).ravel()
        self.set_buffer.set_float_buf(self._set_data)
        _batch.set_space_bodies(self.space, _batch.BodyFields.POSITION | _batch.BodyFields.VELOCITY,
                                self.set_buffer)

    def get_state(self) -> np.ndarray:
        """(n, 4) rows of x, y, vx, vy in sample order."""
        if self.buffer is None:
            return np.array([(*b.position, *b.velocity) for b in self.pool[:self.active]])
        self.buffer.clear()
        _batch.get_space_bodies(self.space, _batch.BodyFields.POSITION | _batch.BodyFields.VELOCITY,
                                self.buffer)
        rows = np.frombuffer(self.buffer.float_buf(), dtype=np.float64).reshape(-1, 4)
        state = np.empty_like(rows)
        state[self.order] = rows
        return state


@functools.cache
def _jet_world() -> _JetWorld:
    return _JetWorld()


def jet_distance(water_height: np.ndarray, hole_height: np.ndarray) -> np.ndarray:
    """Where the jet lands: horizontal distance (cm) from the tank's outer wall, by simulation.

    0 where the water does not stand above the hole (no outflow) or the hole is not above the
    ground; NaN where an input is not finite.
    """
    h, d = np.broadcast_arrays(np.atleast_1d(np.asarray(water_height, dtype=np.float64)),
                               np.atleast_1d(np.asarray(hole_height, dtype=np.float64)))
    n = h.shape[0]
    out = np.zeros(n)
    ok = np.isfinite(h) & np.isfinite(d)
    out[~ok] = np.nan
    y0 = np.where(ok, d + STAND_HEIGHT, 0.0)  # launch height above the ground
    speed = np.sqrt(2.0 * GRAVITY * np.maximum(np.where(ok, h - d, 0.0), 0.0))
    flying = y0 > 0.0
    if not flying.any():
        return out
    idx = np.flatnonzero(flying)
    y0, speed = y0[idx], speed[idx]
    fall_time = math.sqrt(2.0 * float(y0.max()) / GRAVITY)  # only to bound the step count
    dt = max(DT, fall_time / (MAX_STEPS - 2))
    world = _jet_world()
    world.resize(len(idx))
    # With constant gravity, pymunk's integrator is exact (leapfrog) when each step moves a body
    # with its velocity at the middle of that step: Chipmunk moves bodies before it accelerates
    # them, so the initial vertical velocity is the one half a step *after* launch.
    half = 0.5 * GRAVITY * dt
    state = np.column_stack([np.zeros_like(y0), y0, speed,
                             np.full_like(y0, -half if world.positions_first else half)])
    world.set_state(state)
    prev = state
    landed = np.zeros(len(idx), dtype=bool)
    landing = np.empty(len(idx))
    while not landed.all():
        world.space.step(dt)
        now = world.get_state()
        crossed = ~landed & (now[:, 1] <= 0.0)
        if crossed.any():
            # Within the step from prev to now the body follows an exact parabola. With u its
            # vertical velocity at the step's start (the mid-step velocity, from the two exact
            # positions, plus g dt / 2), y(t) = y + u t - g t^2 / 2 = 0 at
            # t = 2 y / (sqrt(u^2 + 2 g y) - u), a form without cancellation for u <= 0.
            y = prev[crossed, 1]
            u = (now[crossed, 1] - y) / dt + half
            t = 2.0 * y / (np.sqrt(u * u + 2.0 * GRAVITY * y) - u)
            landing[crossed] = prev[crossed, 0] + prev[crossed, 2] * t
            landed |= crossed
        prev = now
    out[idx] = landing
    return out
