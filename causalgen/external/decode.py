"""Decode, centre-crop and resize image files in parallel, in order, with flat memory.

:func:`load_image` opens one JPEG or PNG (or anything Pillow reads), converts it to RGB (alpha
dropped, grey expanded), takes the centred square of side ``crop`` source pixels (default: the
largest centred square) and resizes it to ``size`` x ``size`` with Pillow's antialiased bilinear
filter. For JPEGs it first asks the decoder for a DCT-domain downscale (Pillow's draft mode) to
the smallest power-of-two reduction still at least as large as the crop needs: the decoder then
skips most of the work, with no visible cost at the target size.

:func:`decode_batches` runs batches of files through a process pool, keeping at most
``2 x workers`` batches in flight and yielding them in input order, so memory stays flat however
many images there are. A file that fails to decode is reported in its batch (index and reason),
never raised: the caller decides whether to skip it or refuse.
"""

from __future__ import annotations

import math
import multiprocessing as mp
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from causalgen.io.writer import EncodedChunks, encode_chunks
from causalgen.workers import die_with_parent

BATCH = 64  # files per task: large enough to amortise the inter-process transfer


class BadImage(Exception):
    """One file could not be turned into an image (the message says why)."""


def load_image(path: str, size: int, crop: int | None = None) -> np.ndarray:
    """uint8 (size, size, 3): the centred ``crop`` square of ``path`` resized to ``size``."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            side = min(w, h) if crop is None else crop
            if side > min(w, h):
                raise BadImage(f"{w}x{h} pixels, smaller than --crop {crop}")
            if im.format == "JPEG":
                # Request a reduced decode no smaller than the crop needs at the target size.
                im.draft("RGB", (math.ceil(w * size / side), math.ceil(h * size / side)))
            dw, dh = im.size  # ceil(w / r), ceil(h / r) after a draft reduction r of 2, 4, 8
            sx, sy = side * dw / w, side * dh / h
            x0, y0 = max(0.0, (dw - sx) / 2), max(0.0, (dh - sy) / 2)
            box = (x0, y0, min(float(dw), x0 + sx), min(float(dh), y0 + sy))
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            out = rgb.resize((size, size), Image.Resampling.BILINEAR, box=box)
            return np.asarray(out, dtype=np.uint8)
    except BadImage:
        raise
    except FileNotFoundError:
        raise BadImage("file not found") from None
    except UnidentifiedImageError:
        raise BadImage("not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImage(f"cannot be decoded ({exc})") from None


@dataclass
class Batch:
    """Decoded images of files [start, start + len) of the input, in input order."""

    start: int
    images: np.ndarray  # (k, size, size, 3) uint8: the files that decoded, in order
    ok: np.ndarray  # (k,) int64 input indices of those files
    bad: list[tuple[int, str]]  # (input index, reason) of the files that did not
    chunks: EncodedChunks | None = None  # ``images`` as stored HDF5 chunks, when asked for


def decode_batch(paths: Sequence[str], start: int, size: int, crop: int | None,
                 encode: tuple[int, str] | None = None) -> Batch:
    """Decode ``paths`` (input indices start, start + 1, ...) into one :class:`Batch`.

    ``encode = (rows, compression)`` also compresses the images into HDF5 chunks of ``rows``
    images (:func:`~causalgen.io.writer.encode_chunks`) when every file decoded, so that the
    writing process only copies bytes.
    """
    images = np.empty((len(paths), size, size, 3), np.uint8)
    ok: list[int] = []
    bad: list[tuple[int, str]] = []
    for k, path in enumerate(paths):
        try:
            images[len(ok)] = load_image(path, size, crop)
            ok.append(start + k)
        except BadImage as exc:
            bad.append((start + k, str(exc)))
    chunks = encode_chunks(images, *encode) if encode is not None and not bad else None
    return Batch(start, images[: len(ok)], np.array(ok, np.int64), bad, chunks)


def _context() -> mp.context.BaseContext:
    # fork starts workers in milliseconds; Pillow and numpy are safe to fork before any threads.
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def decode_batches(paths: Sequence[str], size: int, crop: int | None = None,
                   workers: int = 1, encode: tuple[int, str] | None = None) -> Iterator[Batch]:
    """Yield :class:`Batch` es of ``paths`` in order; a pool of ``workers`` processes if > 1.

    With ``encode``, the workers also compress each batch (see :func:`decode_batch`); a batch
    holds a whole number of chunks when ``BATCH`` is a multiple of ``encode[0]``.
    """
    starts = range(0, len(paths), BATCH)
    if workers <= 1 or len(starts) <= 1:
        for s in starts:  # one process: h5py compresses on write, no encoding ahead
            yield decode_batch(paths[s:s + BATCH], s, size, crop)
        return
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=die_with_parent) as pool:
        pending: deque[Future[Batch]] = deque()
        try:
            for s in starts:
                pending.append(pool.submit(decode_batch, paths[s:s + BATCH], s, size, crop, encode))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
