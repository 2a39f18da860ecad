"""Reads of HDF5 datasets that turn damage on disk into a clear :class:`DatasetError`.

Every dataset causalgen writes carries a fletcher32 checksum per chunk, so a flipped byte or a
torn chunk fails to read instead of returning wrong data. h5py reports that as a bare
``OSError`` ("filter returned failure during read"); :class:`CheckedDataset` wraps a dataset so
that the failure names the file, the dataset and the rows of the damaged chunk, with the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from causalgen.errors import DatasetError


def damaged_rows(d: h5py.Dataset, lo: int, hi: int) -> tuple[int, int] | None:
    """The rows [a, b] of the first chunk of ``d`` within rows [lo, hi) that cannot be read
    (checksum mismatch, undecodable bytes), or None when every chunk there reads."""
    step = d.chunks[0] if d.chunks else max(1, hi - lo)
    first = lo - lo % step
    for a in range(first, hi, step):
        b = min(a + step, d.shape[0])
        try:
            d[a:b]
        except (OSError, ValueError, RuntimeError):
            return a, b - 1
    return None


class CheckedDataset:
    """An ``h5py.Dataset`` whose reads turn HDF5 damage into a :class:`DatasetError`.

    Indexing works as on the dataset; a read that fails (a chunk whose fletcher32 checksum does
    not match, bytes the decompressor refuses) raises "damaged at rows a-b, regenerate" with the
    rows of the first bad chunk in the selection. Other attributes pass through.
    """

    def __init__(self, dataset: h5py.Dataset, path: Path, key: str) -> None:
        self.dataset = dataset
        self.path = path
        self.key = key

    def __getitem__(self, index: Any) -> np.ndarray:
        try:
            rows = _sorted_rows(index)
            if rows is not None and self.dataset.shape:
                if rows[0] < 0 or rows[-1] >= self.dataset.shape[0]:  # not damage: a bad index
                    raise IndexError(f"rows {rows[0]}..{rows[-1]} of {self.key!r}: the dataset "
                                     f"has {self.dataset.shape[0]} rows")
                taken = _take_by_blocks(self.dataset, rows)
                if taken is not None:
                    return taken
            return self.dataset[index]
        except (OSError, RuntimeError) as exc:
            raise self.damage(index, exc) from None

    def damage(self, index: Any, exc: BaseException) -> DatasetError:
        lo, hi = _row_span(index, self.dataset.shape[0] if self.dataset.shape else 1)
        rows = damaged_rows(self.dataset, lo, hi) if self.dataset.shape else None
        where = f"at rows {rows[0]}-{rows[1]}" if rows else f"in rows {lo}-{hi - 1}"
        return DatasetError(
            f"{self.path} is damaged {where} of its dataset {self.key!r} (a checksum does not "
            f"match or the stored bytes cannot be decoded: {exc}); regenerate the file.")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self[...]
        return data if dtype is None else data.astype(dtype)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f"CheckedDataset({self.dataset!r})"


BLOCK_ROWS = 1024  # rows per contiguous read of a row selection
MAX_OVERREAD = 16  # read blocks only while they hold at most this many rows per selected row


def _sorted_rows(index: Any) -> np.ndarray | None:
    """``index`` as increasing row numbers when it is a 1-D integer selection (what h5py's
    fancy indexing accepts), else None."""
    if isinstance(index, slice | tuple | int | np.integer) or index is Ellipsis:
        return None
    rows = np.asarray(index)
    if rows.ndim != 1 or rows.size == 0 or rows.dtype.kind not in "iu":
        return None
    return rows.astype(np.int64) if bool(np.all(np.diff(rows) > 0)) else None


def _take_by_blocks(d: h5py.Dataset, rows: np.ndarray) -> np.ndarray | None:
    """``d[rows]`` read as contiguous blocks of rows (h5py's point selection costs ~1 ms per
    row: 3 s for 4,000 images), or None when the blocks would read far more rows than asked."""
    n = d.shape[0]
    step = max(BLOCK_ROWS, d.chunks[0] if d.chunks else 1)
    starts = np.unique(rows // step) * step
    if len(starts) * step > MAX_OVERREAD * len(rows):
        return None
    out = np.empty((len(rows), *d.shape[1:]), d.dtype)
    for a in starts.tolist():
        lo, hi = np.searchsorted(rows, [a, a + step])
        block = d[a:min(a + step, n)]
        out[lo:hi] = block[rows[lo:hi] - a]
    return out


def _row_span(index: Any, n: int) -> tuple[int, int]:
    """The rows [lo, hi) that an index on axis 0 touches (all rows when unsure)."""
    first = index[0] if isinstance(index, tuple) and index else index
    if isinstance(first, slice):
        lo, hi, _ = first.indices(n)
        return lo, max(lo + 1, hi)
    if isinstance(first, (int, np.integer)):
        i = int(first) % n if n else 0
        return i, i + 1
    try:
        rows = np.asarray(first)
        if rows.dtype.kind in "iu" and rows.size:
            return int(rows.min()), int(rows.max()) + 1
        if rows.dtype == bool and rows.any():
            hit = np.flatnonzero(rows)
            return int(hit[0]), int(hit[-1]) + 1
    except (TypeError, ValueError):
        pass
    return 0, n


__all__ = ["CheckedDataset", "damaged_rows"]
