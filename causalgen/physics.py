"""Scene physics in pymunk: worlds built once per process and reused, vectorised entry points.

Mechanism expressions call these functions by name with arrays of parent values; each returns
an array. Worlds are cached per process (``functools.cache``), never shared across processes.

- Pendulum shadows: a pendulum body pivoted at (10, 10.5) and a ground segment at y = -0.5.
  The sun is a directional light at elevation ``light_angle``; for each sample the pendulum is
  turned to ``pendulum_angle`` and two rays are cast from the sun's side through the pivot and
  through the rod's far point; where they hit the ground bounds the shadow.
- Flow jets live in :mod:`causalgen.physics_flow`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pymunk

# Pendulum geometry in the reference's drawing units.
PIVOT = (10.0, 10.5)
BOB_DISTANCE = 8.0  # pivot to bob centre
BOB_RADIUS = 1.5
SHADOW_ROD = 9.5  # the segment whose shadow is drawn runs from the pivot to this distance
GROUND_Y = -0.5
MIN_SHADOW = 3.0  # the reference floors the shadow length at 3
_GROUND = 0b1
_RAY = 1000.0  # rays start this far up-light of the pendulum and run as far past it


@functools.cache
def _pendulum_world() -> tuple[pymunk.Space, pymunk.Body, pymunk.ShapeFilter]:
    space = pymunk.Space()
    ground = pymunk.Segment(space.static_body, (-1e5, GROUND_Y), (1e5, GROUND_Y), 0.0)
    ground.filter = pymunk.ShapeFilter(categories=_GROUND)
    space.add(ground)
    body = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
    body.position = PIVOT
    rod = pymunk.Segment(body, (0, 0), (0, -SHADOW_ROD), 0.1)
    bob = pymunk.Circle(body, BOB_RADIUS, (0, -BOB_DISTANCE))
    rod.filter = bob.filter = pymunk.ShapeFilter(categories=0b10)
    space.add(body, rod, bob)
    return space, body, pymunk.ShapeFilter(mask=_GROUND)


def _ground_hit(space: pymunk.Space, point: pymunk.Vec2d, direction: tuple[float, float],
                only_ground: pymunk.ShapeFilter) -> float:
    """x where the light ray through ``point`` meets the ground."""
    dx, dy = direction
    start = (point.x - dx * _RAY, point.y - dy * _RAY)
    end = (point.x + dx * _RAY, point.y + dy * _RAY)
    hit = space.segment_query_first(start, end, 0.0, only_ground)
    if hit is None:  # light parallel to the ground: the shadow runs off to infinity
        return math.copysign(math.inf, -dx)
    return float(hit.point.x)


_last: list = [None, None]


def pendulum_shadow(pendulum_angle: np.ndarray, light_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shadow (length, position) on the ground by ray casts; angles in degrees, arrays (n,)."""
    th = np.atleast_1d(np.asarray(pendulum_angle, dtype=np.float64))
    ph = np.atleast_1d(np.asarray(light_angle, dtype=np.float64))
    th, ph = np.broadcast_arrays(th, ph)
    key = (th.tobytes(), ph.tobytes())
    if _last[0] == key:  # shadow_length and shadow_position are asked for the same inputs
        return _last[1]
    space, body, only_ground = _pendulum_world()
    n = th.shape[0]
    length = np.empty(n)
    position = np.empty(n)
    tip_local = (0.0, -SHADOW_ROD)
    for i, (t, p) in enumerate(zip(np.radians(th).tolist(), np.radians(ph).tolist(), strict=True)):
        body.angle = t
        direction = (-math.cos(p), -math.sin(p))  # from the sun toward the ground
        a = _ground_hit(space, body.position, direction, only_ground)
        b = _ground_hit(space, body.local_to_world(tip_local), direction, only_ground)
        length[i] = max(MIN_SHADOW, abs(a - b))
        position[i] = 0.5 * (a + b)
    _last[0], _last[1] = key, (length, position)
    return length, position


def shadow_length(pendulum_angle: np.ndarray, light_angle: np.ndarray) -> np.ndarray:
    """Length of the pendulum's shadow on the ground (drawing units, floored at 3)."""
    return pendulum_shadow(pendulum_angle, light_angle)[0]


def shadow_position(pendulum_angle: np.ndarray, light_angle: np.ndarray) -> np.ndarray:
    """x of the centre of the pendulum's shadow on the ground (drawing units)."""
    return pendulum_shadow(pendulum_angle, light_angle)[1]


def pendulum_shadow_closed_form(pendulum_angle: np.ndarray, light_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference's equations (REFERENCE.md), for tests and documentation."""
    th = np.radians(np.asarray(pendulum_angle, dtype=np.float64))
    ph = np.radians(np.asarray(light_angle, dtype=np.float64))

    def project(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x - (y - GROUND_Y) / np.tan(ph)

    a = project(np.float64(PIVOT[0]), np.float64(PIVOT[1]))
    b = project(PIVOT[0] + SHADOW_ROD * np.sin(th), PIVOT[1] - SHADOW_ROD * np.cos(th))
    return np.maximum(MIN_SHADOW, np.abs(a - b)), 0.5 * (a + b)
