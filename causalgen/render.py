"""Anti-aliased drawing with Pillow: a canvas in scene coordinates, supersampled then reduced.

Scenes describe geometry in their own drawing units (y pointing up, as in the reference's
matplotlib axes). :class:`Canvas` maps a drawing box onto a square image, draws at
``supersample`` times the output resolution and box-filters down, which gives smooth edges at
about 100 microseconds per 96x96 image. Drawing is deterministic: same calls, same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageColor, ImageDraw

RGB = tuple[int, int, int]
SUPERSAMPLE = 3


def color(spec: str | Sequence[int]) -> RGB:
    """An (r, g, b) tuple from a colour name, '#rrggbb', 'rgb(...)', 'hsv(...)' or a sequence."""
    if isinstance(spec, str):
        return ImageColor.getrgb(spec)[:3]  # type: ignore[return-value]
    r, g, b = (int(c) for c in spec[:3])
    return (r, g, b)


class Canvas:
    """A square image over the drawing box [x0, x1] x [y0, y1] (y up).

    Widths given in ``*_px`` arguments are in output pixels; everything else is in drawing units.
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
        x0, x1, y0, y1 = box
        self.x0, self.y1 = x0, y1
        self.sx = self.w / (x1 - x0)
        self.sy = self.w / (y1 - y0)
        self.image = Image.new("RGB", (self.w, self.w), background)
        self.draw = ImageDraw.Draw(self.image)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        """Drawing units to supersampled pixel coordinates."""
        return ((x - self.x0) * self.sx, (self.y1 - y) * self.sy)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB,
                outline: RGB | None = None, outline_px: float = 0.0) -> None:
        ax, ay = self.xy(cx - rx, cy + ry)
        bx, by = self.xy(cx + rx, cy - ry)
        w = round(outline_px * self.ss) if outline is not None else 0
        self.draw.ellipse((ax, ay, bx, by), fill=fill, outline=outline, width=w)

    def line(self, points: Sequence[tuple[float, float]], fill: RGB, width_px: float) -> None:
        pts = [self.xy(x, y) for x, y in points]
        self.draw.line(pts, fill=fill, width=max(1, round(width_px * self.ss)))

    def polygon(self, points: Sequence[tuple[float, float]], fill: RGB,
                outline: RGB | None = None, outline_px: float = 0.0) -> None:
        pts = [self.xy(x, y) for x, y in points]
        w = round(outline_px * self.ss) if outline is not None else 0
        self.draw.polygon(pts, fill=fill, outline=outline, width=max(w, 0) or 1)

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        ax, ay = self.xy(x0, y1)
        bx, by = self.xy(x1, y0)
        self.draw.rectangle((ax, ay, bx, by), fill=fill)

    def array(self) -> np.ndarray:
        """The finished image, uint8 (size, size, 3)."""
        img = self.image.reduce(self.ss) if self.ss > 1 else self.image
        return np.asarray(img)
