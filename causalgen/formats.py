"""Streamed exports to the formats other tools load: dSprites-like npz, HuggingFace, webdataset.

Each writer reads the source file's images in chunks of :data:`CHUNK` and writes them out before
reading more, so memory stays flat whatever the dataset's size.

- ``npz``: one zip of ``.npy`` members, loadable with ``numpy.load``: ``imgs`` uint8 (N, H, W, 3)
  and ``latents_values`` float32 (N, V) as in dSprites, ``latents_names`` (V,) text, and
  ``adjacency`` int8 (V, V) (row -> column), plus ``noise``, ``split`` (0 train, 1 test),
  ``units``, ``low``, ``high``, ``scene``, ``scm_json``, ``intervention`` and, when the file has
  them, ``intervened``, ``cf_imgs``, ``cf_latents_values``, ``cf_noise``, ``cf_intervention``; a
  temporal file keeps its time axis (``imgs`` (N, T, H, W, 3), labels (N, T, V)) and adds
  ``steps``, ``init`` and ``lagged_adjacency``. Members are
  deflated at level 1; ``imgs`` is streamed into its member chunk by chunk.
- ``hf``: a HuggingFace ``datasets`` directory (``DatasetDict.save_to_disk``) with a ``train``
  and a ``test`` split, an ``image`` column (PNG) and one float32 column per variable (plus
  ``index``, the sample's row in the source file). The dataset's ``description`` is JSON holding
  the scene, variables, adjacency, edges and the SCM spec (``json.loads(ds.info.description)``).
- ``webdataset``: tar shards ``train-000000.tar``, ``test-000000.tar``, ... of at most
  ``shard_size`` samples, each sample a ``KEY.png`` and a ``KEY.json`` (its index, split and
  labels by name), and ``dataset.json`` beside them with the variables, graph and spec.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from causalgen.errors import DatasetError
from causalgen.io.reader import Dataset

CHUNK = 256  # images read from the source at a time
SHARD_SIZE = 10_000  # samples per webdataset shard
Progress = Callable[[int], None] | None


def _chunks(images: Any, n: int) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, n, CHUNK):
        yield start, images[start:start + CHUNK]


def _npy_member(zf: zipfile.ZipFile, name: str, array: np.ndarray | None = None, *,
                source: Any = None, shape: tuple[int, ...] | None = None,
                dtype: Any = None, progress: Progress = None) -> None:
    """Write one ``NAME.npy`` member: ``array``, or ``source`` (an h5py dataset) chunk by chunk."""
    if array is not None:
        array = np.asarray(array, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        shape, dtype = array.shape, array.dtype
    dtype = np.dtype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": tuple(shape)}
    with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_2_0(f, header)
        if array is not None:
            f.write(array.tobytes())
            return
        for _start, block in _chunks(source, shape[0]):
            f.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
            if progress is not None:
                progress(len(block))


def _text(values: Sequence[str]) -> np.ndarray:
    return np.array(list(values), dtype=str)


def write_npz(ds: Dataset, idx: list[int], tmp: Path, progress: Progress = None) -> None:
    """The dSprites-like npz of ``ds`` restricted to the variables at ``idx``."""
    sel = np.ix_(idx, idx)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        _npy_member(zf, "imgs", source=ds.images, shape=ds.images.shape, dtype=np.uint8,
                    progress=progress)
        small = {
            "latents_values": ds.labels[..., idx],  # (N, V), or (N, T, V) for a temporal file
            "latents_names": _text([ds.variable_names[i] for i in idx]),
            "adjacency": ds.adjacency[sel],
            "noise": ds.noise[..., idx],
            "split": ds.split,
            "units": _text([ds.variables[i].unit for i in idx]),
            "low": np.array([ds.variables[i].low for i in idx]),
            "high": np.array([ds.variables[i].high for i in idx]),
            "scene": np.array(ds.scene),
            "scm_json": np.array(ds.spec_json),
            "intervention": np.array(json.dumps(ds.intervention, sort_keys=True)),
        }
        if ds.intervened is not None:
            small["intervened"] = ds.intervened[..., idx]
        if getattr(ds, "steps", None) is not None:  # temporal: the time axis stays
            small["steps"] = np.array(ds.steps)
            if ds.init is not None:
                small["init"] = ds.init[:, idx]
            if ds.lagged_adjacency is not None:
                small["lagged_adjacency"] = ds.lagged_adjacency[sel]
        for key, value in small.items():
            _npy_member(zf, key, value)
        cf = ds.counterfactual
        if cf is not None:
            _npy_member(zf, "cf_imgs", source=cf.images, shape=cf.images.shape, dtype=np.uint8)
            _npy_member(zf, "cf_latents_values", cf.labels[..., idx])
            _npy_member(zf, "cf_noise", cf.noise[..., idx])
            _npy_member(zf, "cf_intervention",
                        np.array(json.dumps(cf.intervention, sort_keys=True)))


def metadata(ds: Dataset, idx: list[int]) -> dict[str, Any]:
    """The graph, variables and spec of the export, as JSON-ready data."""
    names = [ds.variable_names[i] for i in idx]
    adj = ds.adjacency[np.ix_(idx, idx)]
    return {
        "source": str(ds.path), "scene": ds.scene, "n": ds.n,
        "variables": [ds.variables[i].to_dict() for i in idx],
        "adjacency": adj.astype(int).tolist(),
        "edges": [f"{names[i]} -> {names[j]}" for i, j in zip(*np.nonzero(adj), strict=True)],
        "scm": json.loads(ds.spec_json or "{}"),
        "intervention": ds.intervention,
        "split": {"train": int((ds.split == 0).sum()), "test": int((ds.split != 0).sum())},
    }


def _samples(ds: Dataset, idx: list[int], test: bool) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(row, image, labels) of one split, read chunk by chunk in file order."""
    for start, block in _chunks(ds.images, ds.n):
        for k in range(len(block)):
            row = start + k
            if bool(ds.split[row]) == test:
                yield row, block[k], ds.labels[row, idx]


def _hf_rows(path: str, columns: str, test: bool) -> Iterator[dict[str, Any]]:
    from causalgen.io import open_dataset

    idx = json.loads(columns)  # JSON text: `datasets` would shard the generator over a list
    with open_dataset(path) as ds:
        names = [ds.variable_names[i] for i in idx]
        for row, image, labels in _samples(ds, idx, test):
            yield {"index": row, "image": image,
                   **{n: float(v) for n, v in zip(names, labels, strict=True)}}


def write_hf(ds: Dataset, idx: list[int], tmp: Path, progress: Progress = None) -> None:
    """A HuggingFace ``datasets`` directory with train and test splits (see the module doc)."""
    try:
        import datasets
    except ImportError:
        raise DatasetError("--format hf needs the `datasets` library: pip install "
                           "'causalgen[export]'.") from None
    names = [ds.variable_names[i] for i in idx]
    clash = {"index", "image"} & set(names)
    if clash:
        raise DatasetError(f"variable(s) {', '.join(sorted(clash))} clash with the hf export's "
                           "own columns; leave them out with --variables.")
    features = datasets.Features({"index": datasets.Value("int64"), "image": datasets.Image(),
                                  **{n: datasets.Value("float32") for n in names}})
    info = json.dumps(metadata(ds, idx))
    cache = tmp.with_name(tmp.name + ".cache")
    splits = {}
    try:
        for split, test in (("train", False), ("test", True)):
            if not ((ds.split != 0) == test).any():
                continue
            part = datasets.Dataset.from_generator(
                _hf_rows, features=features, cache_dir=str(cache), keep_in_memory=False,
                gen_kwargs={"path": str(ds.path), "columns": json.dumps(list(idx)), "test": test},
                split=datasets.NamedSplit(split))
            part.info.description = info
            splits[split] = part
            if progress is not None:
                progress(len(part))
        datasets.DatasetDict(splits).save_to_disk(str(tmp))
    finally:
        import shutil

        shutil.rmtree(cache, ignore_errors=True)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image, "RGB").save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def write_webdataset(ds: Dataset, idx: list[int], tmp: Path, progress: Progress = None,
                     shard_size: int = SHARD_SIZE) -> None:
    """Tar shards of PNG + JSON per split, and ``dataset.json`` (see the module doc)."""
    try:
        import webdataset as wds
    except ImportError:
        raise DatasetError("--format webdataset needs the `webdataset` library: pip install "
                           "'causalgen[export]'.") from None
    names = [ds.variable_names[i] for i in idx]
    tmp.mkdir()
    meta = metadata(ds, idx)
    meta["shards"] = {}
    for split, test in (("train", False), ("test", True)):
        count = 0
        pattern = str(tmp / f"{split}-%06d.tar")
        with wds.ShardWriter(pattern, maxcount=shard_size, verbose=0) as sink:
            for row, image, labels in _samples(ds, idx, test):
                sink.write({"__key__": f"{row:09d}", "png": _png(image),
                            "json": json.dumps({"index": row, "split": split, "labels": dict(
                                zip(names, map(float, labels), strict=True))}).encode()})
                count += 1
                if progress is not None and count % CHUNK == 0:
                    progress(CHUNK)
        shards = sorted(p.name for p in tmp.glob(f"{split}-*.tar"))
        if not count:  # ShardWriter leaves an empty first shard: drop it
            for name in shards:
                (tmp / name).unlink()
            shards = []
        meta["shards"][split] = shards
    (tmp / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
