"""The drawing surface of custom scenes: supersampled Pillow drawing over a baked background.

Like :class:`causalgen.render.Canvas`, a :class:`LayerCanvas` draws at ``supersample`` times the
output size and box-filters down only the regions that primitives touched (dirty boxes). Two
additions for custom scenes:

- a *base* image, the background with every drawable that does not depend on the variables
  already drawn (the ground, fixed shapes at the start of the drawing order). Dirty regions are
  restored from it after each image, so fixed shapes cost nothing per image;
- opacity: a primitive with ``alpha < 1`` is drawn in its colours on a layer and as coverage on
  a mask, and the layer is pasted through the mask scaled by ``alpha`` (Pillow's paste with a mask
  is exactly "source over" alpha compositing); the opaque case draws straight into the buffer.

Primitives are tuples (see :meth:`LayerCanvas.apply`) in supersampled pixel coordinates, y down.
Not thread-safe: one canvas per process and image size, images drawn one after another.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from causalgen.limits import MAX_TEXT_PIXELS

RGB = tuple[int, int, int]
Op = tuple[Any, ...]  # (primitive name, *arguments), see LayerCanvas.apply
FULL_REDUCE = 0.3  # reduce the whole image once dirty boxes cover more than this fraction


@functools.lru_cache(maxsize=64)
def font(pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``pixels`` size (cached per process)."""
    return ImageFont.load_default(size=max(1, pixels))


def _pick(colour: RGB | None, coverage: int | None) -> RGB | int | None:
    """The colour to draw with: the real one on the buffer, the coverage value on the mask."""
    if colour is None:
        return None
    return colour if coverage is None else coverage


def dirty_boxes(lo_x: np.ndarray, lo_y: np.ndarray, hi_x: np.ndarray, hi_y: np.ndarray,
                pad: np.ndarray | float, supersample: int) -> list[tuple[int, int, int, int]]:
    """Output-pixel boxes (not yet clipped to the image) covering supersampled extents (n,)
    plus ``pad``; a margin of one pixel absorbs the rasteriser's rounding."""
    s = float(supersample)
    with np.errstate(invalid="ignore"):
        box = np.stack([np.floor((lo_x - pad) / s) - 1, np.floor((lo_y - pad) / s) - 1,
                        np.ceil((hi_x + pad) / s) + 1, np.ceil((hi_y + pad) / s) + 1], axis=1)
    box = np.where(np.isfinite(box).all(axis=1, keepdims=True), box, 0.0)  # non-finite: empty
    return [tuple(b) for b in np.clip(box, -1e7, 1e7).astype(np.int64).tolist()]  # type: ignore[misc]


class LayerCanvas:
    """A ``size`` x ``size`` image drawn at ``supersample`` x over ``base`` (RGB, supersampled)."""

    def __init__(self, size: int, supersample: int, base: Image.Image) -> None:
        self.size = size
        self.ss = supersample
        self.w = size * supersample
        self.base = base
        self.base_out = base.reduce(supersample) if supersample > 1 else base.copy()
        self.image = base.copy()
        self.draw = ImageDraw.Draw(self.image)
        self.layer = Image.new("RGB", (self.w, self.w))
        self.layer_draw = ImageDraw.Draw(self.layer)
        self.mask = Image.new("L", (self.w, self.w), 0)
        self.mask_draw = ImageDraw.Draw(self.mask)
        self._dirty: list[tuple[int, int, int, int]] = []  # output-pixel boxes
        self._ops = {"ellipse": self._ellipse, "polygon": self._polygon, "line": self._line}

    # -- primitives ------------------------------------------------------------------------
    def apply(self, op: Op) -> None:
        """Draw one primitive:

        - ``("ellipse", box, (x0, y0, x1, y1), fill, outline, outline_px, alpha)``
        - ``("polygon", box, [(x, y), ...], fill, outline, outline_px, alpha)``
        - ``("line", box, [(x, y), ...], colour, width_px, alpha)``
        - ``("text", (x, y), text, font_px, angle_degrees, colour, alpha)`` (centred on x, y)

        ``box`` is the output-pixel box the primitive may touch, from :func:`dirty_boxes`;
        ``fill`` or ``outline`` may be None (not drawn); widths are supersampled pixels.
        """
        if op[0] == "text":
            self._text(*op[1:])
            return
        kind, (a, b, c, d), *args, alpha = op
        n = self.size
        box = (a if a > 0 else 0, b if b > 0 else 0, c if c < n else n, d if d < n else n)
        if box[0] >= box[2] or box[1] >= box[3]:
            return  # off the image
        draw_fn = self._ops[kind]
        if alpha >= 1.0:
            draw_fn(self.draw, None, *args)
            self._dirty.append(box)
            return
        coverage = round(255 * alpha)
        if coverage <= 0:
            return
        draw_fn(self.layer_draw, None, *args)
        draw_fn(self.mask_draw, coverage, *args)
        self._composite(box, self.layer)
        self._dirty.append(box)

    def _ellipse(self, draw: ImageDraw.ImageDraw, coverage: int | None, bbox: Sequence[float],
                 fill: RGB | None, outline: RGB | None, width: int) -> None:
        draw.ellipse(bbox, fill=_pick(fill, coverage), outline=_pick(outline, coverage),
                     width=width if outline is not None else 0)

    def _polygon(self, draw: ImageDraw.ImageDraw, coverage: int | None,
                 points: Sequence[tuple[float, float]], fill: RGB | None, outline: RGB | None,
                 width: int) -> None:
        draw.polygon(points, fill=_pick(fill, coverage), outline=_pick(outline, coverage),
                     width=max(1, width) if outline is not None else 1)

    def _line(self, draw: ImageDraw.ImageDraw, coverage: int | None,
              points: Sequence[tuple[float, float]], colour: RGB, width: int) -> None:
        draw.line(points, fill=_pick(colour, coverage), width=max(1, width))

    def _text(self, xy: tuple[float, float], text: str, font_px: int, angle: float, colour: RGB,
              alpha: float) -> None:
        f = font(font_px)
        # Pillow renders the whole text on one mask first (and refuses a huge one as a
        # decompression bomb), and turning the mask costs ~1 s per megapixel: text whose box
        # exceeds four canvases (at most MAX_TEXT_PIXELS) is drawn at the largest size that fits,
        # so a text shape's cost is bounded whatever its length and size.
        budget = min(MAX_TEXT_PIXELS, 4 * (self.size * self.ss) ** 2)
        left, top, right, bottom = f.getbbox(text)
        area = max(1.0, float(right - left)) * max(1.0, float(bottom - top))
        if area > budget:
            f = font(max(1, math.floor(font_px * math.sqrt(budget / area))))
        if alpha >= 1.0 and angle == 0.0:
            left, top, right, bottom = self.draw.textbbox(xy, text, font=f, anchor="mm")
            box = self._box((left, right), (top, bottom), 1)
            if box is not None:
                self.draw.text(xy, text, fill=colour, font=f, anchor="mm")
                self._dirty.append(box)
            return
        # Rotated or translucent: the text's coverage drawn on its own small mask, turned and
        # scaled by alpha, then the colour pasted through it.
        left, top, right, bottom = f.getbbox(text, anchor="lt")
        piece = Image.new("L", (max(1, math.ceil(right) + 2), max(1, math.ceil(bottom) + 2)), 0)
        ImageDraw.Draw(piece).text((1, 1), text, fill=255, font=f, anchor="lt")
        if angle:
            piece = piece.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        if alpha < 1.0:
            piece = piece.point([round(v * alpha) for v in range(256)])
        x0, y0 = round(xy[0] - piece.width / 2), round(xy[1] - piece.height / 2)
        box = self._box((x0, x0 + piece.width), (y0, y0 + piece.height), 1)
        if box is not None:
            self.image.paste(colour, (x0, y0), piece)
            self._dirty.append(box)

    # -- bookkeeping -----------------------------------------------------------------------
    def _box(self, xs: Sequence[float], ys: Sequence[float], pad: float) -> tuple[int, int, int, int] | None:
        """The output-pixel box covering supersampled extents plus ``pad``; None if off-image."""
        s, n = self.ss, self.size
        lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
        if not (math.isfinite(lo_x) and math.isfinite(hi_x) and math.isfinite(lo_y)
                and math.isfinite(hi_y)):
            return None
        a = max(0, math.floor((lo_x - pad) / s) - 1)
        b = max(0, math.floor((lo_y - pad) / s) - 1)
        c = min(n, math.ceil((hi_x + pad) / s) + 1)
        d = min(n, math.ceil((hi_y + pad) / s) + 1)
        return (a, b, c, d) if a < c and b < d else None

    def _composite(self, box: tuple[int, int, int, int], source: Image.Image) -> None:
        """Paste ``source`` through the mask inside ``box``, then clear the mask there."""
        s = self.ss
        big = (box[0] * s, box[1] * s, box[2] * s, box[3] * s)
        self.image.paste(source.crop(big), big, self.mask.crop(big))
        self.mask.paste(0, big)

    def finish(self) -> bytes:
        """The finished image as RGB bytes (size * size * 3); the buffer is restored to the base."""
        s, n = self.ss, self.size
        boxes = self._dirty
        if len(boxes) > 1:
            total = sum((c - a) * (d - b) for a, b, c, d in boxes)
            union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                     max(b[2] for b in boxes), max(b[3] for b in boxes))
            # One reduce over the union when it is no larger than the parts (overlapping boxes)
            # or when the parts cover most of the image anyway.
            if total > FULL_REDUCE * n * n:
                boxes = [(0, 0, n, n)]
            elif (union[2] - union[0]) * (union[3] - union[1]) <= total:
                boxes = [union]
        if boxes and boxes[0] == (0, 0, n, n):  # the whole image: no base to copy or paste into
            data = self.image.reduce(s).tobytes() if s > 1 else self.image.tobytes()
            self.image.im.paste(self.base.im, (0, 0, self.w, self.w))
            self._dirty.clear()
            return data
        out = self.base_out.copy()
        # The imaging core's reduce/paste skip Pillow's per-call Python checks, which cost more
        # than the pixel work on these small regions (as in causalgen.render).
        src, dst, base = self.image.im, out.im, self.base.im
        for a, b, c, d in boxes:
            big = (a * s, b * s, c * s, d * s)
            piece = src.reduce((s, s), big) if s > 1 else src.crop(big)
            dst.paste(piece, (a, b, c, d))
        for a, b, c, d in boxes:
            big = (a * s, b * s, c * s, d * s)
            src.paste(base.crop(big), big)
        self._dirty.clear()
        return out.tobytes()

    def reset(self) -> None:
        """Forget a half-drawn image: restore the whole buffer and clear the mask."""
        self.image.paste(self.base)
        self.mask.paste(0, (0, 0, self.w, self.w))
        self._dirty.clear()
