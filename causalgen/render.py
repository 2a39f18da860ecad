"""Anti-aliased drawing with Pillow: a canvas in scene coordinates, supersampled then reduced.

Scenes describe geometry in their own drawing units (y pointing up, as in the reference's
matplotlib axes). :class:`Canvas` maps a drawing box onto a square image, draws at
``supersample`` times the output resolution and box-filters down, which gives smooth edges.

Speed: most of a scene image is background, so the canvas records the box each primitive
touches and box-filters only those regions (Pillow's ``reduce`` with a box), pasting them onto a
plain background; afterwards it clears just those regions so the supersampled buffer is reused
by the next image. The result is identical to reducing the whole buffer: boxes are aligned to the
supersampling grid and everything outside them is background. Same calls, same pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageColor, ImageDraw

RGB = tuple[int, int, int]
SUPERSAMPLE = 3
_buffers: dict[tuple[int, RGB], tuple[Image.Image, ImageDraw.ImageDraw]] = {}


def color(spec: str | Sequence[int]) -> RGB:
    """An (r, g, b) tuple from a colour name, '#rrggbb', 'rgb(...)', 'hsv(...)' or a sequence."""
    if isinstance(spec, str):
        return ImageColor.getrgb(spec)[:3]  # type: ignore[return-value]
    r, g, b = (int(c) for c in spec[:3])
    return (r, g, b)


def _buffer(w: int, background: RGB) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A cleared supersampled buffer, one per (width, background) and process."""
    key = (w, background)
    if key not in _buffers:
        img = Image.new("RGB", (w, w), background)
        _buffers[key] = (img, ImageDraw.Draw(img))
    return _buffers[key]


class Canvas:
    """A square image over the drawing box [x0, x1] x [y0, y1] (y up).

    Widths given in ``*_px`` arguments are in output pixels; everything else is in drawing units.
    Call :meth:`array` exactly once to get the image; it also releases the shared buffer.
    """

    def __init__(
        self,
        size: int,
        box: tuple[float, float, float, float],
        background: RGB = (255, 255, 255),
        supersample: int = SUPERSAMPLE,
    ) -> None:
        self.size = size
        self.ss = supersample
        self.w = size * supersample
        self.background = background
        x0, x1, y0, y1 = box
        self.x0, self.y1 = x0, y1
        self.sx = self.w / (x1 - x0)
        self.sy = self.w / (y1 - y0)
        self.image, self.draw = _buffer(self.w, background)
        self._dirty: list[tuple[int, int, int, int]] = []  # output-pixel boxes

    def xy(self, x: float, y: float) -> tuple[float, float]:
        """Drawing units to supersampled pixel coordinates."""
        return ((x - self.x0) * self.sx, (self.y1 - y) * self.sy)

    def _touch(self, xs: Sequence[float], ys: Sequence[float], pad: float) -> None:
        """Record the output-pixel box covering supersampled extents plus ``pad``."""
        s, n = self.ss, self.size
        a = max(0, math.floor((min(xs) - pad) / s) - 1)
        b = max(0, math.floor((min(ys) - pad) / s) - 1)
        c = min(n, math.ceil((max(xs) + pad) / s) + 1)
        d = min(n, math.ceil((max(ys) + pad) / s) + 1)
        if a < c and b < d:
            self._dirty.append((a, b, c, d))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB,
                outline: RGB | None = None, outline_px: float = 0.0) -> None:
        ax, ay = self.xy(cx - rx, cy + ry)
        bx, by = self.xy(cx + rx, cy - ry)
        w = round(outline_px * self.ss) if outline is not None else 0
        if bx < ax or by < ay:
            return
        self.draw.ellipse((ax, ay, bx, by), fill=fill, outline=outline, width=w)
        self._touch((ax, bx), (ay, by), w)

    def line(self, points: Sequence[tuple[float, float]], fill: RGB, width_px: float) -> None:
        pts = [self.xy(x, y) for x, y in points]
        w = max(1, round(width_px * self.ss))
        self.draw.line(pts, fill=fill, width=w)
        self._touch([p[0] for p in pts], [p[1] for p in pts], w)

    def polygon(self, points: Sequence[tuple[float, float]], fill: RGB | None,
                outline: RGB | None = None, outline_px: float = 0.0) -> None:
        pts = [self.xy(x, y) for x, y in points]
        w = max(1, round(outline_px * self.ss)) if outline is not None else 1
        self.draw.polygon(pts, fill=fill, outline=outline, width=w)
        self._touch([p[0] for p in pts], [p[1] for p in pts], w)

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        ax, ay = self.xy(x0, y1)
        bx, by = self.xy(x1, y0)
        if bx < ax or by < ay:
            return
        self.draw.rectangle((ax, ay, bx, by), fill=fill)
        self._touch((ax, bx), (ay, by), 1)

    def array(self) -> np.ndarray:
        """The finished image, uint8 (size, size, 3); the shared buffer is cleared for reuse."""
        s = self.ss
        out = Image.new("RGB", (self.size, self.size), self.background)
        # The imaging core's reduce/paste skip Pillow's per-call Python checks (~7 us each),
        # which cost more than the pixel work on these small regions.
        src, dst = self.image.im, out.im
        for a, b, c, d in self._dirty:
            piece = src.reduce((s, s), (a * s, b * s, c * s, d * s)) if s > 1 else src.crop((a, b, c, d))
            dst.paste(piece, (a, b, c, d))
        for a, b, c, d in self._dirty:
            src.paste(self.background, (a * s, b * s, c * s, d * s))
        self._dirty.clear()
        return np.frombuffer(out.tobytes(), dtype=np.uint8).reshape(self.size, self.size, 3)
