"""Merge shards without copying: an HDF5 virtual dataset file that maps every dataset onto them.

``causalgen merge --virtual`` writes a small file whose ``images``, ``labels``, ... are HDF5
virtual datasets over the shards' own datasets, with the attributes of a merged file; h5py and
every HDF5 reader see one file of N samples. The shards are referred to by paths relative to the
virtual file, so move the folder as a whole. The reader refuses a virtual file whose shards are
missing (HDF5 itself would silently read zeros). Written atomically, ``complete`` last.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import h5py

from causalgen.errors import DatasetError
from causalgen.io import schema as S
from causalgen.io.merge import _check
from causalgen.io.reader import Dataset, open_dataset
from causalgen.io.writer import check_output_path

_SKIP_ATTRS = (S.ATTR_SHARD, S.ATTR_COMPLETE)


def _dataset_keys(f: h5py.File) -> list[str]:
    keys: list[str] = []
    f.visititems(lambda name, obj: keys.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(keys)


def merge_virtual(paths: Sequence[str | os.PathLike], out: str | os.PathLike,
                  overwrite: bool = False) -> Path:
    """Write ``out`` as virtual datasets over all N shards of one generation (no copy)."""
    if not paths:
        raise DatasetError("give the shard files to merge.")
    if any(Path(p).resolve() == Path(out).resolve() for p in paths):
        # replacing a shard by a file that points into it loses its data (and readers crash)
        raise DatasetError(f"--out {out} is one of the shards; the virtual file only points at "
                           "the shards, so it needs a name of its own.")
    out = check_output_path(out, overwrite)
    opened: list[Dataset] = []
    tmp = out.with_name(f"{out.name}.{os.getpid()}{S.PARTIAL_SUFFIX}")
    try:
        for p in paths:
            opened.append(open_dataset(p))
        shards = _check(opened)
        first = shards[0]
        total = int(first.file.attrs[S.ATTR_TOTAL])
        here = out.parent.resolve()
        with h5py.File(tmp, "w") as f:
            for key in _dataset_keys(first.file):
                src = first.file[key]
                layout = h5py.VirtualLayout(shape=(total, *src.shape[1:]), dtype=src.dtype)
                for d in shards:
                    start = d.shard["start"]  # type: ignore[index]
                    rel = os.path.relpath(d.path.resolve(), here)
                    layout[start:start + d.n] = h5py.VirtualSource(rel, key, shape=d.file[key].shape)
                f.create_virtual_dataset(key, layout, fillvalue=0)
            for name, obj in [("", first.file)] + [(g, first.file[g]) for g in (S.COUNTERFACTUAL, S.HIDDEN)
                                                   if g in first.file]:
                target = f[name] if name else f
                for k, v in obj.attrs.items():
                    if k not in _SKIP_ATTRS:
                        target.attrs[k] = v
            f.attrs[S.ATTR_VIRTUAL] = json.dumps([os.path.relpath(d.path.resolve(), here) for d in shards])
            f.attrs[S.ATTR_COMPLETE] = True
        os.replace(tmp, out)
        return out
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for d in opened:
            d.close()


__all__ = ["merge_virtual"]
