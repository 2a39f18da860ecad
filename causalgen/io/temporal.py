"""Writing temporal files: sequences of T frames, schema v1 with a time axis.

A temporal file holds ``images`` uint8 (N, T, H, W, 3), chunked by sequence: a chunk is
(1, min(T, FRAMES_PER_CHUNK), H, W, 3), so a chunk never spans two sequences and a sequence of
up to 64 frames is one chunk; ``labels`` and ``noise`` float32 (N, T, V); ``init`` float32
(N, V), the initial values read as ``x[t-1]`` at t = 0 (NaN for variables nothing reads
lagged); ``split`` uint8 (N,) per sequence; optional ``intervened`` uint8 (N, T, V), the
per-step do() targets; optional ``counterfactual/`` with images, labels, noise of the same
shapes. Attributes add ``steps`` (T) and ``lagged_adjacency`` (int8 (V, V), edge from the row
variable at t-1 to the column variable at t) to those of a still file; ``adjacency`` is the
instantaneous graph. :class:`TemporalWriter` is the still writer with these shapes; it keeps the
atomic rename and the ``complete`` flag written last.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from causalgen.io import schema as S
from causalgen.io.writer import DatasetWriter, _compression_kwargs

EncodedFrames = list[tuple[int, int, int, bytes]]  # (sequence row, first step, filter mask, bytes)
_memfile = itertools.count()


def frames_per_chunk(steps: int) -> int:
    return max(1, min(S.FRAMES_PER_CHUNK, steps))


def encode_frames(frames: np.ndarray, t0: int, chunk_frames: int,
                  compression: str) -> EncodedFrames:
    """Compress frames (b, w, H, W, 3) of steps [t0, t0 + w) of b sequences into stored chunks
    of (1, chunk_frames, H, W, 3); ``t0`` starts a chunk and ``w <= chunk_frames`` (a last,
    shorter window is padded with zeros, as HDF5 pads an edge chunk). Runs in worker processes;
    the parent writes the bytes as they are (``write_direct_chunk``)."""
    b, w = frames.shape[:2]
    with h5py.File(f"causalgen-t-{os.getpid()}-{next(_memfile)}", "w", driver="core",
                   backing_store=False) as h:
        d = h.create_dataset(S.IMAGES, shape=(b, chunk_frames, *frames.shape[2:]),
                             dtype=np.uint8, chunks=(1, chunk_frames, *frames.shape[2:]),
                             fillvalue=0, fletcher32=True, **_compression_kwargs(compression))
        d[:, :w] = frames
        origin = (0,) * (frames.ndim - 2)
        return [(i, t0, *d.id.read_direct_chunk((i, 0, *origin))) for i in range(b)]


class TemporalWriter(DatasetWriter):
    """Streams blocks of whole sequences into a new temporal schema-v1 file."""

    def __init__(self, path: str | os.PathLike, *, steps: int, init: bool = True,
                 **kwargs: Any) -> None:
        self.steps = int(steps)
        self._with_init = init
        super().__init__(path, **kwargs)

    def _create(self, image_shape, variables, attrs, compression, counterfactual,
                intervened) -> None:
        super()._create(image_shape, variables, attrs, compression, counterfactual, intervened)
        f, t, v = self._file, self.steps, self.v
        kw = _compression_kwargs(compression)
        chunk = (1, frames_per_chunk(t), *image_shape)
        rows = (max(1, min(self.n, S.ROWS_PER_CHUNK // t or 1)), t, v)
        groups = [f] + ([f[S.COUNTERFACTUAL]] if counterfactual is not None else [])
        for g in groups:  # replace the still datasets by their temporal shapes
            for key in (S.IMAGES, S.LABELS, S.NOISE):
                del g[key]
            g.create_dataset(S.IMAGES, shape=(self.n, t, *image_shape), dtype=np.uint8,
                             chunks=chunk, fletcher32=True, **kw)
            for key in (S.LABELS, S.NOISE):  # chunked with checksums, like every dataset
                g.create_dataset(key, shape=(self.n, t, v), dtype=np.float32, chunks=rows,
                                 fletcher32=True)
        if intervened:
            del f[self._intervened_key]
            f.create_dataset(self._intervened_key, shape=(self.n, t, v), dtype=np.uint8,
                             chunks=(max(1, min(self.n, 64)), t, v), compression="gzip",
                             fletcher32=True)
        if self._with_init:
            f.create_dataset(S.INIT, shape=(self.n, v), dtype=np.float32,
                             chunks=(max(1, min(self.n, S.ROWS_PER_CHUNK)), v), fletcher32=True)
        f.attrs[S.ATTR_STEPS] = t

    def write_sequences(self, start: int, images: EncodedFrames, labels: np.ndarray,
                        noise: np.ndarray, split: np.ndarray, init: np.ndarray | None = None,
                        counterfactual: tuple[EncodedFrames, np.ndarray, np.ndarray] | None = None,
                        intervened: np.ndarray | None = None) -> None:
        """Write sequences [start, start + len(labels)) of this file."""
        stop = start + len(labels)
        f = self._file
        groups = [(f, images, labels, noise)]
        if counterfactual is not None:
            groups.append((f[S.COUNTERFACTUAL], *counterfactual))
        for g, chunks, lab, noi in groups:
            dset = g[S.IMAGES]
            for row, t0, mask, data in chunks:
                dset.id.write_direct_chunk((start + row, t0, 0, 0, 0), data, mask)
            g[S.LABELS][start:stop] = lab
            g[S.NOISE][start:stop] = noi
        f[S.SPLIT][start:stop] = split
        if init is not None:
            f[S.INIT][start:stop] = init
        if intervened is not None:
            f[self._intervened_key][start:stop] = intervened


def temporal_attrs(steps: int, lagged_adjacency: np.ndarray) -> Mapping[str, Any]:
    return {S.ATTR_STEPS: int(steps),
            S.ATTR_LAGGED_ADJACENCY: np.asarray(lagged_adjacency, dtype=np.int8)}


def time_axis(ds: Any) -> dict[str, Any] | None:
    """What ``causalgen info`` says about an open file's time axis; None for a still file."""
    if ds.steps is None:
        return None
    names = ds.variable_names
    lagged = ds.lagged_adjacency if ds.lagged_adjacency is not None else np.zeros((0, 0))
    doc: dict[str, Any] = {
        "steps": ds.steps,
        "frames": ds.n * ds.steps,
        "lagged_edges": [f"{names[i]}[t-1] -> {names[j]}" for i, j in zip(*np.nonzero(lagged),
                                                                          strict=True)],
        "intervention_rate": ds.intervention_rate,
    }
    if ds.intervened is not None:
        doc["intervened_fraction_of_steps"] = float(ds.intervened.any(-1).mean())
        doc["intervened_per_variable"] = {n: int(ds.intervened[..., i].sum())
                                          for i, n in enumerate(names)}
    if ds.counterfactual is not None:
        attrs = ds.file[S.COUNTERFACTUAL].attrs
        doc["counterfactual_from"] = int(attrs.get(S.ATTR_COUNTERFACTUAL_FROM, 0))
    return doc
