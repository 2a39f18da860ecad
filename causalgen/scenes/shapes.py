"""Shapes of custom scenes: the kinds, their keys, vectorised geometry, silhouettes, draw ops.

A :class:`Shape` holds its attributes as numbers or compiled expressions over the scene's
variables. For a batch of samples it evaluates every attribute once, vectorised
(:meth:`Shape.evaluate`), and turns each sample's geometry into a drawing primitive of
:class:`causalgen.render.Canvas` (:meth:`Shape.ops`). Coordinates are pixels of the
scene's default size, y pointing down; angles are degrees, counter-clockwise as seen on screen.

Geometry per kind (see ``docs/scenes.md``): a circle's and an ellipse's ``x, y`` are the centre;
a rectangle's ``x, y`` its top-left corner before rotation, and it turns about its centre; a
polygon's ``points`` are relative to ``x, y`` and turn about it; a line runs from ``x1, y1`` to
``x2, y2``; a text is centred on ``x, y`` and turns about it. Sizes at or below zero draw nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from causalgen import shadows
from causalgen.render import SUPERSAMPLE, Op, dirty_boxes, font
from causalgen.scenes.colors import RGB, Colour
from causalgen.scm.expr import Expression

Value = float | Expression
REQUIRED = None
# kind -> geometry keys and their defaults (REQUIRED: must be given)
KINDS: dict[str, dict[str, float | None]] = {
    "circle": {"x": REQUIRED, "y": REQUIRED, "radius": REQUIRED},
    "ellipse": {"x": REQUIRED, "y": REQUIRED, "rx": REQUIRED, "ry": REQUIRED, "angle": 0.0},
    "rectangle": {"x": REQUIRED, "y": REQUIRED, "width": REQUIRED, "height": REQUIRED,
                  "angle": 0.0},
    "line": {"x1": REQUIRED, "y1": REQUIRED, "x2": REQUIRED, "y2": REQUIRED, "width": 1.0},
    "polygon": {"x": 0.0, "y": 0.0, "angle": 0.0},  # and `points`
    "text": {"x": REQUIRED, "y": REQUIRED, "font_size": 10.0, "angle": 0.0},  # and `text`
}
OUTLINED = frozenset({"circle", "ellipse", "rectangle", "polygon"})
COMMON_KEYS = ("kind", "name", "fill", "opacity", "casts_shadow", "shadow_length",
               "shadow_position")
OUTLINE_KEYS = ("outline", "outline_width")
EXTRA_KEYS = {"polygon": ("points",), "text": ("text", "value", "decimals")}
ELLIPSE_POINTS = 64  # vertices of a turned ellipse's outline
COORDINATE_LIMIT = 1e6  # supersampled pixels; farther points are clamped (Pillow takes C ints)
# Supersampled pixels: widths and font sizes are clipped to this; an ellipse with a larger radius
# is drawn as a fine polygon (Pillow's ellipse costs grow with the square of the radius).
MAX_PIXELS = 4096
MAX_ELLIPSE_POINTS = 8192
_T = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_POINTS, endpoint=False)


def keys_of(kind: str) -> tuple[str, ...]:
    """Every key a shape of ``kind`` takes."""
    return (*COMMON_KEYS, *KINDS[kind], *EXTRA_KEYS.get(kind, ()),
            *(OUTLINE_KEYS if kind in OUTLINED else ()))


def values(value: Value, env: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """A number or an expression evaluated over ``n`` samples: float64 (n,)."""
    if isinstance(value, Expression):
        return value(env, n)
    return np.full(n, float(value))


def names_of(value: Value | Colour | None) -> frozenset[str]:
    if isinstance(value, Expression | Colour):
        return value.names
    return frozenset()


def _turn(dx: np.ndarray, dy: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (n, m) turned counter-clockwise on screen (y down) by ``angle`` (n,) degrees."""
    a = np.radians(angle)[:, None]
    cos, sin = np.cos(a), np.sin(a)
    return dx * cos + dy * sin, -dx * sin + dy * cos


@dataclass(frozen=True)
class Shape:
    """One shape of a custom scene (attributes already checked and compiled)."""

    index: int  # position in the file's drawing order, from 0
    kind: str
    name: str
    attrs: Mapping[str, Value]  # geometry keys of the kind
    fill: Colour | None
    points: tuple[tuple[Value, Value], ...] = ()
    outline: Colour | None = None
    outline_width: Value = 1.0
    opacity: Value = 1.0
    casts_shadow: bool = False
    shadow_length: Value | None = None
    shadow_position: Value | None = None
    text: str = ""
    value: Value | None = None
    decimals: int = 0
    _geometry_names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = [*self.attrs.values(), *(c for p in self.points for c in p), self.value]
        object.__setattr__(self, "_geometry_names", frozenset().union(*map(names_of, parts)))

    @property
    def geometry_names(self) -> frozenset[str]:
        """Variables that move, size or turn the shape (the arguments of its shadow)."""
        return self._geometry_names

    @property
    def names(self) -> frozenset[str]:
        """Every variable the shape reads, its shadow bindings included."""
        style = (self.fill, self.outline, self.outline_width, self.opacity, self.shadow_length,
                 self.shadow_position)
        return self._geometry_names.union(*map(names_of, style))

    @property
    def static(self) -> bool:
        """True when no variable changes how the shape is drawn."""
        return not (self.names - names_of(self.shadow_length) - names_of(self.shadow_position))

    # -- geometry --------------------------------------------------------------------------
    def evaluate(self, env: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """Geometry arrays (n,) by key; a polygon adds ``px``, ``py`` (n, m) vertices."""
        geo = {key: values(v, env, n) for key, v in self.attrs.items()}
        if self.kind == "polygon":
            dx = np.stack([values(x, env, n) for x, _ in self.points], axis=1)
            dy = np.stack([values(y, env, n) for _, y in self.points], axis=1)
            tx, ty = _turn(dx, dy, geo["angle"])
            geo["px"], geo["py"] = geo["x"][:, None] + tx, geo["y"][:, None] + ty
        if self.kind == "text":
            geo["label"] = self._labels(env, n)  # type: ignore[assignment]
        return geo

    def _labels(self, env: Mapping[str, np.ndarray], n: int) -> list[str]:
        if self.value is None:
            return [self.text] * n
        return [self.text.replace("{}", f"{v:.{self.decimals}f}")
                for v in values(self.value, env, n).tolist()]

    def outline_points(self, geo: Mapping[str, np.ndarray], points: int = ELLIPSE_POINTS) -> np.ndarray:
        """(n, m, 2) vertices of the shape's outline (an ellipse as a ``points``-gon)."""
        k = self.kind
        if k == "polygon":
            return np.stack([geo["px"], geo["py"]], axis=-1)
        if k == "rectangle":
            hw, hh = 0.5 * geo["width"][:, None], 0.5 * geo["height"][:, None]
            cx, cy = geo["x"][:, None] + hw, geo["y"][:, None] + hh
            tx, ty = _turn(np.concatenate([-hw, hw, hw, -hw], 1),
                           np.concatenate([-hh, -hh, hh, hh], 1), geo["angle"])
            return np.stack([cx + tx, cy + ty], axis=-1)
        if k == "line":
            dx, dy = geo["x2"] - geo["x1"], geo["y2"] - geo["y1"]
            length = np.hypot(dx, dy)
            half = 0.5 * np.maximum(geo["width"], 0.0) / np.where(length > 0, length, 1.0)
            nx, ny = -dy * half, dx * half  # half the width, across the line
            xs = np.stack([geo["x1"] + nx, geo["x2"] + nx, geo["x2"] - nx, geo["x1"] - nx], 1)
            ys = np.stack([geo["y1"] + ny, geo["y2"] + ny, geo["y2"] - ny, geo["y1"] - ny], 1)
            return np.stack([xs, ys], axis=-1)
        if k == "text":
            sizes = [font(max(1, round(s))).getbbox(t, anchor="mm")
                     for s, t in zip(geo["font_size"].tolist(), geo["label"], strict=True)]
            box = np.array(sizes, dtype=np.float64).reshape(-1, 4)
            tx, ty = _turn(box[:, [0, 2, 2, 0]], box[:, [1, 1, 3, 3]], geo["angle"])
            return np.stack([geo["x"][:, None] + tx, geo["y"][:, None] + ty], axis=-1)
        rx, ry = self._radii(geo)
        t = _T if points == ELLIPSE_POINTS else np.linspace(0.0, 2.0 * np.pi, points,
                                                             endpoint=False)
        tx, ty = _turn(rx[:, None] * np.cos(t), ry[:, None] * np.sin(t), geo.get(
            "angle", np.zeros_like(rx)))
        return np.stack([geo["x"][:, None] + tx, geo["y"][:, None] + ty], axis=-1)

    def _radii(self, geo: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "circle":
            return geo["radius"], geo["radius"]
        return geo["rx"], geo["ry"]

    def silhouette(self, geo: Mapping[str, np.ndarray], light: shadows.Light) -> np.ndarray:
        """(n, k, 2) points whose shadows bound the shape's shadow under ``light``."""
        if self.kind in ("circle", "ellipse"):
            rx, ry = self._radii(geo)
            return shadows.ellipse_silhouette(geo["x"], geo["y"], np.maximum(rx, 0.0),
                                              np.maximum(ry, 0.0),
                                              geo.get("angle", np.zeros_like(rx)), light)
        return self.outline_points(geo)

    # -- drawing ---------------------------------------------------------------------------
    def ops(self, env: Mapping[str, np.ndarray], n: int, scale: float) -> list[Op | None]:
        """One drawing primitive per sample (None: nothing to draw); ``scale`` is supersampled
        pixels per default-size pixel."""
        geo = self.evaluate(env, n)
        alpha = np.clip(values(self.opacity, env, n), 0.0, 1.0)
        visible = alpha * 255.0 >= 0.5
        for key, arr in geo.items():
            if isinstance(arr, np.ndarray) and key not in ("px", "py"):
                visible &= np.isfinite(arr)
        fills = self.fill.evaluate(env, n) if self.fill is not None else [None] * n
        alphas = alpha.tolist()
        if self.kind == "text":
            return self._text_ops(geo, fills, alphas, visible, scale)
        if self.kind == "line":
            width = np.clip(geo["width"] * scale, 0.0, MAX_PIXELS)
            visible &= width > 0
            pts = np.clip(np.stack([geo["x1"], geo["y1"], geo["x2"], geo["y2"]], 1) * scale,
                          -COORDINATE_LIMIT, COORDINATE_LIMIT)  # (n, 4)
            widths = np.maximum(np.rint(width), 1)
            boxes = dirty_boxes(np.minimum(pts[:, 0], pts[:, 2]), np.minimum(pts[:, 1], pts[:, 3]),
                                np.maximum(pts[:, 0], pts[:, 2]), np.maximum(pts[:, 1], pts[:, 3]),
                                widths, SUPERSAMPLE)
            return [("line", b, [(r[0], r[1]), (r[2], r[3])], c, w, a) if ok else None
                    for b, r, c, w, a, ok in zip(boxes, pts.tolist(), fills,
                                                 widths.astype(int).tolist(), alphas,
                                                 visible.tolist(), strict=True)]
        outlines = self.outline.evaluate(env, n) if self.outline is not None else [None] * n
        owidth = np.clip(np.rint(np.maximum(values(self.outline_width, env, n), 0.0) * scale),
                         1, MAX_PIXELS)
        if self.outline is None:
            owidth = np.zeros(n)
        widths = owidth.astype(int).tolist()
        if self.kind in ("circle", "ellipse"):
            return self._ellipse_ops(geo, fills, outlines, owidth, alphas, visible, scale)
        if self.kind == "rectangle":
            visible &= (geo["width"] > 0) & (geo["height"] > 0)
        else:
            visible &= np.isfinite(geo["px"]).all(1) & np.isfinite(geo["py"]).all(1)
        polys, boxes = self._polygons(geo, scale, owidth)
        return [("polygon", b, p, f, o, w, a) if ok else None
                for b, p, f, o, w, a, ok in zip(boxes, polys, fills, outlines, widths, alphas,
                                                visible.tolist(), strict=True)]

    def _ellipse_ops(self, geo: Mapping[str, np.ndarray], fills: list[RGB | None],
                     outlines: list[RGB | None], owidth: np.ndarray, alphas: list[float],
                     visible: np.ndarray, scale: float) -> list[Op | None]:
        rx, ry = self._radii(geo)
        visible &= (rx > 0) & (ry > 0)
        angle = geo.get("angle", np.zeros(len(rx)))
        # a quarter turn swaps the axes of Pillow's axis-aligned ellipse
        hx, hy = np.where(np.mod(angle, 180.0) != 0.0, ry, rx), np.where(
            np.mod(angle, 180.0) != 0.0, rx, ry)
        box = np.clip(np.stack([geo["x"] - hx, geo["y"] - hy, geo["x"] + hx, geo["y"] + hy], 1)
                      * scale, -COORDINATE_LIMIT, COORDINATE_LIMIT)  # (n, 4)
        radius = np.maximum(rx, ry) * scale
        polygon = visible & ((np.mod(angle, 90.0) != 0.0) | (radius > MAX_PIXELS))
        polys: list[list[tuple[float, float]]] = []
        poly_boxes: list[tuple[int, int, int, int]] = []
        if polygon.any():  # fine enough that the outline is off by < 1/4 pixel
            big = float(radius[polygon].max())
            points = int(np.clip(np.ceil(np.pi / np.arccos(max(-1.0, 1.0 - 0.25 / big))),
                                 ELLIPSE_POINTS, MAX_ELLIPSE_POINTS))
            polys, poly_boxes = self._polygons(geo, scale, owidth, points)
        boxes = dirty_boxes(box[:, 0], box[:, 1], box[:, 2], box[:, 3], owidth, SUPERSAMPLE)
        widths = owidth.astype(int).tolist()
        ops: list[Op | None] = []
        for i, (ok, turned, bbox) in enumerate(zip(visible.tolist(), polygon.tolist(),
                                                   box.tolist(), strict=True)):
            if not ok:
                ops.append(None)
            elif turned:
                ops.append(("polygon", poly_boxes[i], polys[i], fills[i], outlines[i], widths[i],
                            alphas[i]))
            else:
                ops.append(("ellipse", boxes[i], bbox, fills[i], outlines[i], widths[i],
                            alphas[i]))
        return ops

    def _polygons(self, geo: Mapping[str, np.ndarray], scale: float, pad: np.ndarray,
                  points: int = ELLIPSE_POINTS) -> tuple[list[list[tuple[float, float]]],
                                                         list[tuple[int, int, int, int]]]:
        """Outline vertices in supersampled pixels, and each outline's dirty box."""
        pts = np.nan_to_num(np.clip(self.outline_points(geo, points) * scale, -COORDINATE_LIMIT,
                                    COORDINATE_LIMIT))  # (n, m, 2)
        lo, hi = pts.min(axis=1), pts.max(axis=1)
        boxes = dirty_boxes(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1], pad, SUPERSAMPLE)
        return [[(x, y) for x, y in poly] for poly in pts.tolist()], boxes

    def _text_ops(self, geo: Mapping[str, np.ndarray], fills: list[RGB | None],
                  alphas: list[float], visible: np.ndarray, scale: float) -> list[Op | None]:
        size = np.rint(geo["font_size"] * scale)
        visible &= size >= 1
        size = np.where(visible, np.minimum(size, MAX_PIXELS // 2), 1).astype(int).tolist()
        xy = np.clip(np.stack([geo["x"], geo["y"]], 1) * scale, -COORDINATE_LIMIT,
                     COORDINATE_LIMIT).tolist()
        return [("text", (p[0], p[1]), t, s, a, f, al) if ok and f is not None else None
                for p, t, s, a, f, al, ok in zip(xy, geo["label"], size, geo["angle"].tolist(),
                                                 fills, alphas, visible.tolist(), strict=True)]
