"""Read causalgen datasets, refusing anything that is not a complete schema-v1 file.

:func:`open_dataset` checks, in order: the file exists, is HDF5, was written by causalgen, is of
a schema this version reads, and was completed by its writer. Each refusal says what the file is
and what to do. Labels, noise and split are small and loaded eagerly; images stay on disk as an
``h5py.Dataset`` so that a 500k-image file opens instantly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from causalgen.errors import DatasetError
from causalgen.io import schema as S


def _attr_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def check_file(f: h5py.File, path: Path) -> None:
    """Raise DatasetError unless ``f`` is a complete causalgen file of a schema we read."""
    fmt = _attr_str(f.attrs.get(S.ATTR_FORMAT, ""))
    if fmt != S.FORMAT_NAME:
        raise DatasetError(
            f"{path} is an HDF5 file but not a causalgen dataset (format attribute {fmt!r}); "
            "generate one with `causalgen pendulum --out FILE` or `causalgen scene SPEC.toml`."
        )
    version = int(f.attrs.get(S.ATTR_SCHEMA_VERSION, -1))
    if version > S.SCHEMA_VERSION:
        raise DatasetError(
            f"{path} uses schema version {version}, newer than the {S.SCHEMA_VERSION} this "
            "causalgen reads; upgrade causalgen (pip install -U causalgen)."
        )
    if version < 1:
        raise DatasetError(f"{path} has no valid schema_version attribute; regenerate it.")
    if not bool(f.attrs.get(S.ATTR_COMPLETE, False)) or path.name.endswith(S.PARTIAL_SUFFIX):
        raise DatasetError(
            f"{path} is incomplete: its writer did not finish (interrupted or failed). "
            "Delete it and generate it again."
        )
    missing = [k for k in S.REQUIRED_ATTRS if k not in f.attrs]
    missing += [k for k in (S.IMAGES, S.LABELS, S.NOISE, S.SPLIT) if k not in f]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}; it is damaged. Regenerate it.")


@dataclass
class CounterfactualData:
    """The ``counterfactual/`` group: the same samples under ``intervention``."""

    images: h5py.Dataset
    labels: np.ndarray
    noise: np.ndarray
    intervention: dict


class Dataset:
    """An open causalgen file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DatasetError(f"no such file: {self.path}")
        if self.path.is_dir():
            raise DatasetError(f"{self.path} is a directory, not a causalgen .h5 file.")
        if not h5py.is_hdf5(self.path):
            raise DatasetError(
                f"{self.path} is not an HDF5 file; causalgen datasets are .h5 files written by "
                "`causalgen`."
            )
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as exc:
            raise DatasetError(
                f"{self.path} cannot be opened as HDF5 ({exc}); it is damaged or incomplete "
                "(a writer that was killed mid-way?). Delete it and generate it again."
            ) from None
        try:
            check_file(self.file, self.path)
            self._load()
        except BaseException:
            self.file.close()
            raise

    def _load(self) -> None:
        f = self.file
        self.images: h5py.Dataset = f[S.IMAGES]  # (N, H, W, 3) uint8, on disk
        self.labels: np.ndarray = f[S.LABELS][...]  # (N, V) float32
        self.noise: np.ndarray = f[S.NOISE][...]  # (N, V) float32
        self.split: np.ndarray = f[S.SPLIT][...]  # (N,) uint8
        # (N, V) uint8, 1 = intervened; None for files without per-sample interventions
        self.intervened: np.ndarray | None = f[S.INTERVENED][...] if S.INTERVENED in f else None
        mix = f.attrs.get(S.ATTR_INTERVENTION_MIX)
        self.intervention_mix: dict | None = json.loads(_attr_str(mix)) if mix is not None else None
        self.variables = [S.VariableInfo(**v) for v in json.loads(_attr_str(f.attrs[S.ATTR_VARIABLES]))]
        self.adjacency: np.ndarray = np.asarray(f.attrs[S.ATTR_ADJACENCY], dtype=np.int8)
        self.scene = _attr_str(f.attrs[S.ATTR_SCENE])
        self.scene_entry = _attr_str(f.attrs.get(S.ATTR_SCENE_ENTRY, self.scene))
        self.scene_kwargs: dict = json.loads(_attr_str(f.attrs.get(S.ATTR_SCENE_KWARGS, "{}")))
        self.spec_json = _attr_str(f.attrs[S.ATTR_SCM])
        self.intervention: dict = json.loads(_attr_str(f.attrs[S.ATTR_INTERVENTION]))
        self.seed = int(f.attrs[S.ATTR_SEED])
        self.generator_version = _attr_str(f.attrs[S.ATTR_GENERATOR_VERSION])
        shard = f.attrs.get(S.ATTR_SHARD)
        self.shard: dict | None = json.loads(_attr_str(shard)) if shard is not None else None
        self.counterfactual: CounterfactualData | None = None
        if S.COUNTERFACTUAL in f:
            g = f[S.COUNTERFACTUAL]
            self.counterfactual = CounterfactualData(
                images=g[S.IMAGES],
                labels=g[S.LABELS][...],
                noise=g[S.NOISE][...],
                intervention=json.loads(_attr_str(g.attrs[S.ATTR_INTERVENTION])),
            )

    @property
    def variable_names(self) -> list[str]:
        return [v.name for v in self.variables]

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    @property
    def attrs(self) -> dict[str, Any]:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.file.attrs.items()}

    def indices(self, split: str) -> np.ndarray:
        """Sample indices of the ``"train"`` or ``"test"`` split (``"all"`` for every sample)."""
        if split == "all":
            return np.arange(self.n)
        codes = {"train": S.SPLIT_TRAIN, "test": S.SPLIT_TEST}
        if split not in codes:
            raise DatasetError(f"unknown split {split!r}; use 'train', 'test' or 'all'.")
        return np.flatnonzero(self.split == codes[split])

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_dataset(path: str | os.PathLike) -> Dataset:
    """Open a complete causalgen file for reading; raises DatasetError otherwise."""
    return Dataset(path)
