"""Drawing a block of images on one canvas: the same pixels as one canvas per image, faster.

:class:`BlockCanvas` is a :class:`~causalgen.render.Canvas` on a plain background that draws
``n`` images one after another and reduces each into its place in one tall output image: its
ellipses and two-point lines call Pillow's core directly with cached inks (the same core calls
and the same float arithmetic as ``Canvas``, without ``ImageDraw``'s per-call checks), its dirty
boxes are merged where they overlap, and the block's bytes are read in one encoder call. A scene
whose images are all plain-background primitives overrides ``Scene.render`` with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from causalgen.render import RGB, SUPERSAMPLE, Canvas


def merge_boxes(boxes: Sequence[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Overlapping boxes replaced by their bounding box, until none overlap. Reducing the
    merged boxes gives the same pixels (boxes stay on the supersampling grid; what they add is
    background) with fewer calls."""
    out: list[tuple[int, int, int, int]] = []
    for a0, b0, c0, d0 in boxes:
        i = 0
        while i < len(out):
            a, b, c, d = out[i]
            if a0 < c and a < c0 and b0 < d and b < d0:
                a0, b0, c0, d0 = min(a0, a), min(b0, b), max(c0, c), max(d0, d)
                out.pop(i)
                i = 0
            else:
                i += 1
        out.append((a0, b0, c0, d0))
    return out


class BlockCanvas(Canvas):
    """``n`` images drawn one after another on one canvas and reduced into one tall image.

    Draw image ``i`` with the :class:`Canvas` methods, call :meth:`next_image`, and after the
    last one :meth:`arrays` gives uint8 (n, size, size, 3), pixel for pixel what ``n`` separate
    canvases give, without a new image, a ``tobytes`` and a copy per image.
    """

    def __init__(self, n: int, size: int, box: tuple[float, float, float, float],
                 background: RGB = (255, 255, 255), supersample: int = SUPERSAMPLE) -> None:
        super().__init__(size, box, background, supersample)
        self.n = n
        self.block = Image.new("RGB", (size, size * n), background)
        self._row = 0
        self._core = self.draw.draw  # Pillow's ImagingDraw
        self._inks: dict[RGB, int] = {}

    # Fast paths for the plain primitives: the same Pillow core calls and the same float
    # arithmetic as Canvas's (so the same pixels) without ImageDraw's per-call checks.
    def _ink(self, colour: RGB) -> int:
        ink = self._inks.get(colour)
        if ink is None:
            ink = self._inks[colour] = self._core.draw_ink(colour)
        return ink

    def _touch2(self, lo_x: float, hi_x: float, lo_y: float, hi_y: float, pad: float) -> None:
        s, n = self.ss, self.size
        a = math.floor((lo_x - pad) / s) - 1
        b = math.floor((lo_y - pad) / s) - 1
        c = math.ceil((hi_x + pad) / s) + 1
        d = math.ceil((hi_y + pad) / s) + 1
        a, b = (a if a > 0 else 0), (b if b > 0 else 0)
        c, d = (c if c < n else n), (d if d < n else n)
        if a < c and b < d:
            self._dirty.append((a, b, c, d))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB,
                outline: RGB | None = None, outline_px: float = 0.0) -> None:
        if outline is not None:
            super().ellipse(cx, cy, rx, ry, fill, outline, outline_px)
            return
        x0, y1, sx, sy = self.x0, self.y1, self.sx, self.sy
        ax, ay = (cx - rx - x0) * sx, (y1 - (cy + ry)) * sy
        bx, by = (cx + rx - x0) * sx, (y1 - (cy - ry)) * sy
        if bx < ax or by < ay:
            return
        self._core.draw_ellipse((ax, ay, bx, by), self._ink(fill), 1)
        self._touch2(ax, bx, ay, by, 0)

    def line(self, points: Sequence[tuple[float, float]], fill: RGB, width_px: float) -> None:
        if len(points) != 2:
            super().line(points, fill, width_px)
            return
        x0, y1, sx, sy = self.x0, self.y1, self.sx, self.sy
        (p, q), (r, t) = points
        pts = [((p - x0) * sx, (y1 - q) * sy), ((r - x0) * sx, (y1 - t) * sy)]
        w = max(1, round(width_px * self.ss))
        self._core.draw_lines(pts, self._ink(fill), w)
        (ax, ay), (bx, by) = pts
        self._touch2(ax if ax < bx else bx, bx if ax < bx else ax,
                     ay if ay < by else by, by if ay < by else ay, w)

    def next_image(self) -> None:
        """Reduce the image just drawn into its place in the block; clear the buffer."""
        s, top = self.ss, self._row * self.size
        src, dst = self.image.im, self.block.im
        boxes = merge_boxes(self._dirty)
        for a, b, c, d in boxes:
            piece = src.reduce((s, s), (a * s, b * s, c * s, d * s)) if s > 1 else src.crop((a, b, c, d))
            dst.paste(piece, (a, b + top, c, d + top))
        for a, b, c, d in boxes:  # restore the plain background for the next image
            src.paste(self.background, (a * s, b * s, c * s, d * s))
        self._dirty.clear()
        self._row += 1

    def arrays(self) -> np.ndarray:
        """The block's images, uint8 (n, size, size, 3)."""
        if self._row != self.n:
            raise ValueError(f"{self._row} of {self.n} images drawn")
        return np.frombuffer(_rgb_bytes(self.block), dtype=np.uint8).reshape(self.n, self.size,
                                                                            self.size, 3)


def _rgb_bytes(image: Image.Image) -> bytes:
    """The RGB bytes of ``image`` in one encoder call: ``tobytes`` encodes a tall image in 64 KB
    pieces and joins them, which costs ~7x more for a block of 256 images."""
    size = image.width * image.height * 3
    try:
        encoder = Image._getencoder("RGB", "raw", "RGB")  # what tobytes uses
    except AttributeError:  # pragma: no cover - a Pillow without it
        return image.tobytes()
    try:
        encoder.setimage(image.im, (0, 0, *image.size))
        _, status, data = encoder.encode(size)
    finally:
        encoder.cleanup()
    return data if status == 1 and len(data) == size else image.tobytes()


__all__ = ["BlockCanvas", "merge_boxes"]
