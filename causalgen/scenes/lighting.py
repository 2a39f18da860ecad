"""Light, ground and shadows of custom scenes; the shadow functions mechanisms can call.

A shape named ``ball`` with ``casts_shadow = true`` exports two functions to the scene's
mechanisms, ``shadow_length_ball(...)`` and ``shadow_position_ball(...)`` (the shadow's length
and the x of its centre on the ground, in pixels of the default size). Their arguments are the
variables that move, size or turn the shape or move the light, in the order the file declares
them (``causalgen validate`` prints each signature), so that the mechanism's parents are exactly
the causes of the shadow and the graph is right. Both are computed by pymunk ray casts
(:mod:`causalgen.shadows`).

A shadow is drawn as a band along the ground from ``position - length / 2`` to
``position + length / 2``. Its length and position come from the shape's ``shadow_length`` /
``shadow_position`` expressions when given (bind them to the shadow's variables so that an
intervention on a shadow variable shows in the image), else from the geometry.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causalgen import shadows
from causalgen.render import SUPERSAMPLE, Op, dirty_boxes
from causalgen.scenes.colors import Colour
from causalgen.scenes.shapes import COORDINATE_LIMIT, MAX_PIXELS, Shape, Value, names_of, values


@dataclass(frozen=True)
class LightSpec:
    """``[light]``: directional (``angle``, degrees of elevation seen from the right; 90 =
    overhead) or point (``x``, ``y``, pixels)."""

    kind: str
    angle: Value = 90.0
    x: Value = 0.0
    y: Value = 0.0

    @property
    def names(self) -> frozenset[str]:
        if self.kind == "directional":
            return names_of(self.angle)
        return names_of(self.x) | names_of(self.y)

    def evaluate(self, env: Mapping[str, np.ndarray], n: int) -> shadows.Light:
        if self.kind == "directional":
            return shadows.Light("directional", angle=values(self.angle, env, n))
        return shadows.Light("point", x=values(self.x, env, n), y=values(self.y, env, n))


@dataclass(frozen=True)
class GroundSpec:
    """``[ground]``: the line ``y`` (pixels), its fill below, and how shadows are drawn on it."""

    y: float
    fill: Colour | None = None
    shadow_fill: Colour | None = None
    shadow_width: Value = 2.0
    shadow_opacity: Value = 1.0

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*map(names_of, (self.fill, self.shadow_fill, self.shadow_width,
                                                 self.shadow_opacity)))


class ShadowCaster:
    """The shadow of one shape: computed from the geometry, for mechanisms and for drawing."""

    def __init__(self, shape: Shape, light: LightSpec, ground: GroundSpec,
                 arguments: tuple[str, ...]) -> None:
        self.shape = shape
        self.light = light
        self.ground = ground
        self.arguments = arguments  # the variables the shadow depends on, in declaration order
        self._last: tuple[Any, tuple[np.ndarray, np.ndarray]] | None = None

    def compute(self, env: Mapping[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(length, position) of the shadow for ``n`` samples of the variables in ``env``."""
        key = (n, *(np.asarray(env[a], dtype=np.float64).tobytes() for a in self.arguments))
        if self._last is not None and self._last[0] == key:  # length, then position, same inputs
            return self._last[1]
        geo = self.shape.evaluate(env, n)
        light = self.light.evaluate(env, n)
        result = shadows.shadow_interval(self.shape.silhouette(geo, light), light, self.ground.y)
        self._last = (key, result)
        return result


class ShadowFunction:
    """``shadow_length_<name>`` or ``shadow_position_<name>``: a vectorised scene function."""

    def __init__(self, caster: ShadowCaster, quantity: str) -> None:
        self.caster = caster
        self.index = 0 if quantity == "length" else 1
        self.__name__ = f"shadow_{quantity}_{caster.shape.name}"
        # The expression compiler checks calls against this signature.
        self.__signature__ = inspect.Signature([
            inspect.Parameter(a, inspect.Parameter.POSITIONAL_ONLY) for a in caster.arguments])

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        arrays = tuple(np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in arrays)
        n = max((len(a) for a in arrays), default=1)
        env = {name: np.broadcast_to(a, (n,)) for name, a in zip(self.caster.arguments, arrays,
                                                                 strict=True)}
        return self.caster.compute(env, n)[self.index]

    def __repr__(self) -> str:
        return f"{self.__name__}({', '.join(self.caster.arguments)})"


class ShadowDrawable:
    """Draws one shape's shadow on the ground, from its bound variables or its geometry."""

    def __init__(self, caster: ShadowCaster) -> None:
        self.caster = caster
        shape = caster.shape
        self.bound = (shape.shadow_length is not None, shape.shadow_position is not None)
        depends = (caster.ground.names | names_of(shape.shadow_length)
                   | names_of(shape.shadow_position))
        if not all(self.bound):
            depends = depends | shape.geometry_names | caster.light.names
        self.static = not depends

    def ops(self, env: Mapping[str, np.ndarray], n: int, scale: float) -> list[Op | None]:
        shape, ground = self.caster.shape, self.caster.ground
        length = position = None
        if shape.shadow_length is not None:
            length = values(shape.shadow_length, env, n)
        if shape.shadow_position is not None:
            position = values(shape.shadow_position, env, n)
        if length is None or position is None:
            computed = self.caster.compute(env, n)
            length = computed[0] if length is None else length
            position = computed[1] if position is None else position
        half = 0.5 * np.maximum(length, 0.0)
        ends = np.nan_to_num(np.clip(np.stack([position - half, position + half], 1) * scale,
                                     -COORDINATE_LIMIT, COORDINATE_LIMIT))  # (n, 2)
        y = ground.y * scale
        width = np.maximum(values(ground.shadow_width, env, n), 0.0)
        widths = np.clip(np.rint(width * scale), 1, MAX_PIXELS)
        alpha = np.clip(values(ground.shadow_opacity, env, n), 0.0, 1.0)
        visible = (half > 0) & (width > 0) & (alpha * 255 >= 0.5) & np.isfinite(half) \
            & np.isfinite(position)
        colours = (ground.shadow_fill.evaluate(env, n) if ground.shadow_fill is not None
                   else [(0, 0, 0)] * n)
        boxes = dirty_boxes(ends[:, 0], np.full(n, y), ends[:, 1], np.full(n, y), widths,
                            SUPERSAMPLE)
        return [("line", b, [(e[0], y), (e[1], y)], c, w, a) if ok else None
                for b, e, c, w, a, ok in zip(boxes, ends.tolist(), colours,
                                             widths.astype(int).tolist(), alpha.tolist(),
                                             visible.tolist(), strict=True)]
