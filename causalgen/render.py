"""Anti-aliased drawing with Pillow: the one canvas every scene draws on, supersampled then reduced.

A :class:`Canvas` draws at ``supersample`` times the output size and box-filters down only the
regions that primitives touched (dirty boxes; Pillow's ``reduce`` with a box), pasting them onto
the background and afterwards restoring just those regions, so the supersampled buffer is reused
by the next image. The result is identical to reducing the whole buffer: boxes are aligned to the
supersampling grid and everything outside them is background. Same calls, same pixels.

Two ways to address it. Registered scenes (pendulum, flow) give a drawing ``box`` in their own
units (y up, as in the reference's matplotlib axes), draw with :meth:`Canvas.ellipse`,
:meth:`~Canvas.line`, :meth:`~Canvas.polygon`, :meth:`~Canvas.rectangle` (widths in output pixels)
on a plain background, and call :meth:`Canvas.array` once per image. Custom scenes keep one canvas
per image size over a *base* image (the background with every drawable that does not depend on
the variables already drawn, restored into dirty regions after each image), send primitives as
tuples in supersampled pixels, y down (:meth:`Canvas.apply`: opacity and text too) and call
:meth:`Canvas.finish` per image. A primitive with ``alpha < 1`` is drawn in its colours on a
layer and as coverage on a mask, and the layer is pasted through the mask scaled by ``alpha``
(Pillow's paste with a mask is exactly "source over"). Not thread-safe: buffers are shared per
process and image size, images drawn one after another.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from causalgen.limits import MAX_TEXT_PIXELS

RGB = tuple[int, int, int]
Op = tuple[Any, ...]  # (primitive name, *arguments), see Canvas.apply
SUPERSAMPLE = 3
FULL_REDUCE = 0.3  # reduce the whole image once dirty boxes cover more than this fraction
_buffers: dict[tuple[int, RGB], tuple[Image.Image, ImageDraw.ImageDraw]] = {}
_scratch: dict[int, tuple[Image.Image, ImageDraw.ImageDraw, Image.Image, ImageDraw.ImageDraw]] = {}


def color(spec: str | Sequence[int]) -> RGB:
    """An (r, g, b) tuple from a colour name, '#rrggbb', 'rgb(...)', 'hsv(...)' or a sequence."""
    if isinstance(spec, str):
        return ImageColor.getrgb(spec)[:3]  # type: ignore[return-value]
    r, g, b = (int(c) for c in spec[:3])
    return (r, g, b)


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


def _buffer(w: int, background: RGB) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A cleared supersampled buffer, one per (width, background) and process."""
    key = (w, background)
    if key not in _buffers:
        img = Image.new("RGB", (w, w), background)
        _buffers[key] = (img, ImageDraw.Draw(img))
    return _buffers[key]


def _layers(w: int) -> tuple[Image.Image, ImageDraw.ImageDraw, Image.Image, ImageDraw.ImageDraw]:
    """The colour layer and the (cleared) coverage mask of translucent primitives, per width."""
    if w not in _scratch:
        layer, mask = Image.new("RGB", (w, w)), Image.new("L", (w, w), 0)
        _scratch[w] = (layer, ImageDraw.Draw(layer), mask, ImageDraw.Draw(mask))
    return _scratch[w]


class Canvas:
    """A ``size`` x ``size`` image drawn at ``supersample`` x, over a plain ``background`` or
    over ``base`` (an RGB image of the supersampled size, kept unchanged).

    ``box`` = (x0, x1, y0, y1) maps that drawing box (y up) onto the image for the scene-unit
    methods; without it, drawing units are supersampled pixels, y down.
    """

    def __init__(
        self,
        size: int,
        box: tuple[float, float, float, float] | None = None,
        background: RGB = (255, 255, 255),
        supersample: int = SUPERSAMPLE,
        base: Image.Image | None = None,
    ) -> None:
        self.size = size
        self.ss = supersample
        self.w = size * supersample
        self.background = background
        x0, x1, y0, y1 = box if box is not None else (0.0, self.w, self.w, 0.0)
        self.x0, self.y1 = x0, y1
        self.sx = self.w / (x1 - x0)
        self.sy = self.w / (y1 - y0)
        self.base = base
        if base is None:  # a plain background: the process's shared buffer
            self.image, self.draw = _buffer(self.w, background)
            self.base_out: Image.Image | None = None
        else:
            self.base_out = base.reduce(supersample) if supersample > 1 else base.copy()
            self.image = base.copy()
            self.draw = ImageDraw.Draw(self.image)
        self._dirty: list[tuple[int, int, int, int]] = []  # output-pixel boxes

    # -- scene units (registered scenes) -----------------------------------------------------
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
        """The finished image, uint8 (size, size, 3); the buffer is restored for reuse."""
        return np.frombuffer(self.finish(), dtype=np.uint8).reshape(self.size, self.size, 3)

    # -- primitives in supersampled pixels (custom scenes) -------------------------------------
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
        draw_fn = getattr(self, "_" + kind)  # _ellipse, _polygon, _line
        if alpha >= 1.0:
            draw_fn(self.draw, None, *args)
            self._dirty.append(box)
            return
        coverage = round(255 * alpha)
        if coverage <= 0:
            return
        layer, layer_draw, _, mask_draw = _layers(self.w)
        draw_fn(layer_draw, None, *args)
        draw_fn(mask_draw, coverage, *args)
        self._composite(box, layer)
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
        # exceeds the canvas's area (at most MAX_TEXT_PIXELS) is drawn at the largest size that
        # fits, so a text shape's cost is bounded whatever its length and size.
        budget = min(MAX_TEXT_PIXELS, (self.size * self.ss) ** 2)
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

    # -- bookkeeping ---------------------------------------------------------------------------
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
        mask = _layers(self.w)[2]
        big = (box[0] * s, box[1] * s, box[2] * s, box[3] * s)
        self.image.paste(source.crop(big), big, mask.crop(big))
        mask.paste(0, big)

    def _restore(self, big: tuple[int, int, int, int]) -> None:
        """Put the background (or the base) back into a supersampled region of the buffer."""
        if self.base is None:
            self.image.im.paste(self.background, big)
        else:
            self.image.im.paste(self.base.im.crop(big), big)

    def finish(self) -> bytes:
        """The finished image as RGB bytes (size * size * 3); the buffer is restored for reuse."""
        s, n = self.ss, self.size
        boxes = self._dirty
        # Merging pays off over a base image (restoring it is a copy); on a plain background
        # the separate small regions are cheaper (pendulum: 1.3x).
        if len(boxes) > 1 and self.base is not None:
            total = sum((c - a) * (d - b) for a, b, c, d in boxes)
            union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                     max(b[2] for b in boxes), max(b[3] for b in boxes))
            # One reduce over the union when it is no larger than the parts (overlapping boxes)
            # or when the parts cover most of the image anyway.
            if total > FULL_REDUCE * n * n:
                boxes = [(0, 0, n, n)]
            elif (union[2] - union[0]) * (union[3] - union[1]) <= total:
                boxes = [union]
        if boxes and boxes[0] == (0, 0, n, n):  # the whole image: no background to paste into
            data = self.image.reduce(s).tobytes() if s > 1 else self.image.tobytes()
            self._restore((0, 0, self.w, self.w))
            self._dirty.clear()
            return data
        out = (Image.new("RGB", (n, n), self.background) if self.base_out is None
               else self.base_out.copy())
        # The imaging core's reduce/paste skip Pillow's per-call Python checks (~7 us each),
        # which cost more than the pixel work on these small regions.
        src, dst = self.image.im, out.im
        for a, b, c, d in boxes:
            big = (a * s, b * s, c * s, d * s)
            piece = src.reduce((s, s), big) if s > 1 else src.crop(big)
            dst.paste(piece, (a, b, c, d))
        for a, b, c, d in boxes:
            self._restore((a * s, b * s, c * s, d * s))
        self._dirty.clear()
        return out.tobytes()

    def reset(self) -> None:
        """Forget a half-drawn image: restore the whole buffer and clear the mask."""
        self._restore((0, 0, self.w, self.w))
        _layers(self.w)[2].paste(0, (0, 0, self.w, self.w))
        self._dirty.clear()


__all__ = ["FULL_REDUCE", "RGB", "SUPERSAMPLE", "Canvas", "Op", "color", "dirty_boxes", "font"]
