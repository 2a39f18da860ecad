"""Shadows of shapes on a flat ground, cast by a point or a directional light: pymunk ray casts.

Used by custom scenes (:mod:`causalgen.scenes.custom`). Coordinates are image pixels of the
scene's default size with y pointing down; the ground is the line ``y = ground_y``. A shape gives
its *silhouette points*: the points whose shadows bound its shadow (the tangent points of an
ellipse seen from the light, the corners of a polygon). A ray from the light through each point
is cast onto a ground segment in a pymunk space built once per process and ground height
(``functools.cache``, never shared across processes, like :mod:`causalgen.physics`); the shadow
is the interval its hits cover: ``length = max - min``, ``position = (max + min) / 2``.

A ray that never reaches the ground (a point at or above a point light, a light at or below the
horizon) is taken to hit it at :data:`EXTENT` pixels out, on the side the ray runs to.

Lights are given per sample as arrays: a directional light by its elevation ``angle`` in degrees
seen from the scene's right (90 = overhead; below 90 the light comes from the right and shadows
fall to the left), a point light by its position ``(x, y)``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pymunk

EXTENT = 1e5  # half-width of the ground segment; the farthest a shadow reaches
_RAY = 1e7  # rays run this far past (and, for directional light, before) their point
_GROUND = 0b1


@dataclass(frozen=True)
class Light:
    """One light per sample: ``kind`` "directional" (``angle``) or "point" (``x``, ``y``)."""

    kind: str
    angle: np.ndarray | None = None  # (n,) degrees
    x: np.ndarray | None = None  # (n,) pixels
    y: np.ndarray | None = None  # (n,) pixels

    def direction(self) -> np.ndarray:
        """(n, 2) unit vectors along which a directional light travels (y down)."""
        a = np.radians(np.asarray(self.angle, dtype=np.float64))
        return np.stack([-np.cos(a), np.sin(a)], axis=-1)

    def position(self) -> np.ndarray:
        """(n, 2) positions of a point light."""
        return np.stack([np.asarray(self.x, dtype=np.float64),
                         np.asarray(self.y, dtype=np.float64)], axis=-1)


@functools.cache
def _ground(ground_y: float) -> tuple[pymunk.Space, pymunk.ShapeFilter]:
    space = pymunk.Space()
    segment = pymunk.Segment(space.static_body, (-EXTENT, ground_y), (EXTENT, ground_y), 0.0)
    segment.filter = pymunk.ShapeFilter(categories=_GROUND)
    space.add(segment)
    return space, pymunk.ShapeFilter(mask=_GROUND)


def ground_hits(points: np.ndarray, light: Light, ground_y: float) -> np.ndarray:
    """x where the light's ray through each point meets the ground: (n, k, 2) -> (n, k)."""
    space, only_ground = _ground(float(ground_y))
    n, k = points.shape[:2]
    if light.kind == "directional":
        d = np.broadcast_to(light.direction()[:, None, :], (n, k, 2))
        starts = points - d * _RAY
        ends = points + d * _RAY
    else:
        origin = np.broadcast_to(light.position()[:, None, :], (n, k, 2))
        offset = points - origin
        norm = np.hypot(offset[..., 0], offset[..., 1])[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(norm > 0, offset / norm, 0.0)
        starts, ends = origin, origin + d * _RAY
    hits = np.empty((n, k))
    flat_hits = hits.reshape(-1)
    for j, (sx, sy, ex, ey, px) in enumerate(zip(
            starts[..., 0].ravel().tolist(), starts[..., 1].ravel().tolist(),
            ends[..., 0].ravel().tolist(), ends[..., 1].ravel().tolist(),
            points[..., 0].ravel().tolist(), strict=True)):
        if not (math.isfinite(sx) and math.isfinite(sy) and math.isfinite(ex) and math.isfinite(ey)):
            flat_hits[j] = px
            continue
        hit = space.segment_query_first((sx, sy), (ex, ey), 0.0, only_ground)
        if hit is not None:
            flat_hits[j] = hit.point.x
        elif ex != sx:  # the ray misses the ground: its shadow runs out to the far end
            flat_hits[j] = math.copysign(EXTENT, ex - sx)
        else:
            flat_hits[j] = px
    return hits


def shadow_interval(points: np.ndarray, light: Light, ground_y: float) -> tuple[np.ndarray, np.ndarray]:
    """(length, position) of the shadow of each sample's silhouette points (n, k, 2)."""
    hits = ground_hits(points, light, ground_y)  # (n, k)
    lo, hi = hits.min(axis=1), hits.max(axis=1)
    return hi - lo, 0.5 * (hi + lo)


def ellipse_silhouette(cx: np.ndarray, cy: np.ndarray, rx: np.ndarray, ry: np.ndarray,
                       angle: np.ndarray, light: Light) -> np.ndarray:
    """(n, 2, 2) tangent points of rotated ellipses seen from ``light``.

    The ellipse is the unit circle under the affine map ``p = c + M q`` (``M`` = rotation by
    ``angle`` degrees counter-clockwise on screen, times diag(rx, ry)); tangency survives affine
    maps, so the tangent points are found on the unit circle and mapped back. A point light inside
    the ellipse gives the four ends of its axes instead.
    """
    rx = np.maximum(np.asarray(rx, dtype=np.float64), 1e-9)
    ry = np.maximum(np.asarray(ry, dtype=np.float64), 1e-9)
    a = np.radians(np.asarray(angle, dtype=np.float64))
    cos, sin = np.cos(a), np.sin(a)
    # M = [[cos, sin], [-sin, cos]] @ diag(rx, ry) in y-down coordinates (counter-clockwise on screen)
    m00, m01, m10, m11 = cos * rx, sin * ry, -sin * rx, cos * ry
    det = m00 * m11 - m01 * m10

    def inverse(vx: np.ndarray, vy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (m11 * vx - m01 * vy) / det, (-m10 * vx + m00 * vy) / det

    if light.kind == "directional":
        d = light.direction()
        ux, uy = inverse(d[:, 0], d[:, 1])
        norm = np.hypot(ux, uy)
        qx = np.stack([-uy / norm, uy / norm], axis=1)  # (n, 2): the two tangent points
        qy = np.stack([ux / norm, -ux / norm], axis=1)
    else:
        lp = light.position()
        lx, ly = inverse(lp[:, 0] - cx, lp[:, 1] - cy)
        dist = np.hypot(lx, ly)
        phi = np.arctan2(ly, lx)
        beta = np.arccos(np.clip(1.0 / np.maximum(dist, 1.0), -1.0, 1.0))
        qx = np.stack([np.cos(phi + beta), np.cos(phi - beta)], axis=1)
        qy = np.stack([np.sin(phi + beta), np.sin(phi - beta)], axis=1)
        inside = (dist <= 1.0)[:, None]
        if inside.any():  # no tangent from inside: the ends of the axes instead
            qx = np.where(inside, [[1.0, -1.0, 0.0, 0.0]], np.concatenate([qx, qx], axis=1))
            qy = np.where(inside, [[0.0, 0.0, 1.0, -1.0]], np.concatenate([qy, qy], axis=1))
    px = cx[:, None] + m00[:, None] * qx + m01[:, None] * qy
    py = cy[:, None] + m10[:, None] * qx + m11[:, None] * qy
    return np.stack([px, py], axis=-1)
