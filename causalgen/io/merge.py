"""Merge the shards of a ``--shard K/N`` generation into one file identical to a single run.

Every shard of a generation holds a contiguous range of whole blocks, and blocks are a multiple
of the image chunk, so the shards' compressed chunks are copied as they are (HDF5 direct chunk
I/O: nothing is decompressed) into a new file written atomically. The result is a plain file
that does not depend on the shards afterwards (unlike HDF5 virtual datasets).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from causalgen.errors import DatasetError
from causalgen.io import schema as S
from causalgen.io.reader import Dataset, open_dataset
from causalgen.io.temporal import TemporalWriter
from causalgen.io.writer import DatasetWriter

# Attributes that must agree across shards (everything but the shard's own position).
_SAME = (S.ATTR_SCENE, S.ATTR_SCENE_ENTRY, S.ATTR_SCENE_KWARGS, S.ATTR_SCM, S.ATTR_INTERVENTION, S.ATTR_SEED, S.ATTR_BLOCK_SIZE,
         S.ATTR_IMAGE_SIZE, S.ATTR_TOTAL, S.ATTR_TEST_FRACTION, S.ATTR_CLIP, S.ATTR_VARIABLES,
         S.ATTR_GENERATOR_VERSION, S.ATTR_INTERVENTION_MIX, S.ATTR_ENVIRONMENTS, S.ATTR_STEPS,
         S.ATTR_INTERVENTION_RATE)


def _check(shards: list[Dataset]) -> list[Dataset]:
    for d in shards:
        if d.shard is None:
            raise DatasetError(f"{d.path} is not a shard (it has no shard attribute); nothing to merge.")
    count = shards[0].shard["count"]  # type: ignore[index]
    ref = shards[0].file.attrs
    for d in shards:
        for key in _SAME:
            a, b = ref.get(key), d.file.attrs.get(key)
            if not np.array_equal(np.asarray(a), np.asarray(b)):
                raise DatasetError(
                    f"{d.path} differs from {shards[0].path} in {key!r}; shards must come from the "
                    "same generation command (same scene, spec, seed, size and N)."
                )
        cf_a = shards[0].counterfactual.intervention if shards[0].counterfactual else None
        cf_b = d.counterfactual.intervention if d.counterfactual else None
        if cf_a != cf_b:
            raise DatasetError(
                f"{d.path} has counterfactual {cf_b}, {shards[0].path} has {cf_a}; shards must "
                "come from the same generation command."
            )
        if d.shard["count"] != count:  # type: ignore[index]
            raise DatasetError(f"{d.path} is a shard of {d.shard['count']}, not {count}.")  # type: ignore[index]
    index = sorted(d.shard["index"] for d in shards)  # type: ignore[index]
    if index != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(index))
        dup = sorted({i for i in index if index.count(i) > 1})
        raise DatasetError(
            f"need each of shards 1..{count} exactly once; missing {missing or 'none'}, "
            f"repeated {dup or 'none'}."
        )
    ordered = sorted(shards, key=lambda d: d.shard["index"])  # type: ignore[index]
    _check_coverage(ordered)
    return ordered


def _check_coverage(shards: list[Dataset]) -> None:
    """The shards' rows must tile 0..total exactly: each shard's [start, stop) follows the one
    before, holds stop - start samples, and the last ends at the file's total (an edited shard
    attribute must not yield a complete-looking file with rows of zeros)."""
    total = shards[0].file.attrs.get(S.ATTR_TOTAL)
    if not isinstance(total, (int, np.integer)) or isinstance(total, (bool, np.bool_)) or total < 1:
        raise DatasetError(f"{shards[0].path} is damaged: its attribute {S.ATTR_TOTAL!r} is "
                           f"{total!r}, not a positive sample count; regenerate the shard.")
    cursor = 0
    for d in shards:
        start, stop = d.shard["start"], d.shard["stop"]  # type: ignore[index]
        problem = None
        if start != cursor:
            problem = f"starts at row {start}, but the shards before it end at row {cursor}"
        elif not start < stop <= total:
            problem = f"claims rows {start}..{stop} of a {total}-sample dataset"
        elif d.n != stop - start:
            problem = f"claims rows {start}..{stop} but holds {d.n} samples"
        if problem:
            raise DatasetError(f"{d.path} (shard {d.shard['index']}/{d.shard['count']}) "  # type: ignore[index]
                               f"{problem}; the shards do not cover 0..{total} exactly. "
                               "Regenerate that shard with the same command.")
        cursor = stop
    if cursor != total:
        raise DatasetError(f"the shards cover rows 0..{cursor} of {total}; regenerate the "
                           "missing shards with the same command.")


def _copy_images(src: h5py.Dataset, dst: h5py.Dataset, offset: int) -> None:
    chunk = src.chunks[0] if src.chunks else 0
    if (src.chunks and src.chunks == dst.chunks and offset % chunk == 0
            and src.compression == dst.compression and src.fletcher32 == dst.fletcher32):
        for piece in src.iter_chunks():  # (N, ...) still or (N, T, ...) temporal chunks
            origin = tuple(sl.start for sl in piece)
            mask, data = src.id.read_direct_chunk(origin)
            dst.id.write_direct_chunk((offset + origin[0], *origin[1:]), data, mask)
        return
    rows = max(1, 1024 // max(1, int(np.prod(src.shape[1:-3]))))  # ~1024 images in memory
    for i in range(0, src.shape[0], rows):  # different chunking: copy through memory
        part = src[i:i + rows]
        dst[offset + i:offset + i + len(part)] = part


def merge_shards(paths: Sequence[str | os.PathLike], out: str | os.PathLike,
                 overwrite: bool = False) -> Path:
    """Merge all N shards of one generation into ``out``; returns the path written."""
    if not paths:
        raise DatasetError("give the shard files to merge.")
    opened: list[Dataset] = []
    try:
        for p in paths:
            opened.append(open_dataset(p))
        shards = _check(opened)
        first = shards[0]
        total = int(first.file.attrs[S.ATTR_TOTAL])
        attrs = {k: v for k, v in first.file.attrs.items()
                 if k not in (S.ATTR_SHARD, S.ATTR_COMPLETE, S.ATTR_FORMAT, S.ATTR_SCHEMA_VERSION,
                              S.ATTR_GENERATOR_VERSION, S.ATTR_VARIABLES)}
        cf = first.counterfactual.intervention if first.counterfactual is not None else None
        comp = first.images.compression or "none"
        mask, hidden_records = first.hidden_targets()
        kwargs = dict(n=total, variables=first.variables, attrs=attrs, compression=comp,
                      counterfactual=cf, intervened=mask is not None, overwrite=overwrite,
                      environment=first.environment is not None,
                      hide_targets=first.targets_hidden)
        if first.steps is None:
            writer = DatasetWriter(out, image_shape=first.images.shape[1:], **kwargs)
        else:  # sequences: the time axis and the initial values come along
            writer = TemporalWriter(out, steps=first.steps, init=first.init is not None,
                                    image_shape=first.images.shape[2:], **kwargs)
        with writer as w:
            if first.targets_hidden and hidden_records is not None:
                w.file.require_group(S.HIDDEN).attrs[S.ATTR_ENVIRONMENTS] = \
                    first.file[S.HIDDEN].attrs[S.ATTR_ENVIRONMENTS]
            if cf is not None and first.steps is not None:
                w.file[S.COUNTERFACTUAL].attrs[S.ATTR_COUNTERFACTUAL_FROM] = \
                    first.file[S.COUNTERFACTUAL].attrs.get(S.ATTR_COUNTERFACTUAL_FROM, 0)
            for d in shards:
                start = d.shard["start"]  # type: ignore[index]
                f = w.file
                stop = start + d.n
                f[S.LABELS][start:stop] = d.labels
                f[S.NOISE][start:stop] = d.noise
                f[S.SPLIT][start:stop] = d.split
                if d.environment is not None:
                    f[S.ENVIRONMENT][start:stop] = d.environment
                mask = d.hidden_targets()[0]
                if mask is not None:
                    f[w.intervened_key][start:stop] = mask
                if d.init is not None:
                    f[S.INIT][start:stop] = d.init
                _copy_images(d.images, f[S.IMAGES], start)
                if d.counterfactual is not None:
                    g = f[S.COUNTERFACTUAL]
                    g[S.LABELS][start:stop] = d.counterfactual.labels
                    g[S.NOISE][start:stop] = d.counterfactual.noise
                    _copy_images(d.counterfactual.images, g[S.IMAGES], start)
        return Path(out)
    finally:
        for d in opened:
            d.close()

