"""Read causalgen datasets, refusing anything that is not a complete schema-v1 file.

:func:`open_dataset` checks, in order: the file exists, is HDF5, was written by causalgen, is of
a schema this version reads, and was completed by its writer. Each refusal says what the file is
and what to do. Labels, noise and split are small and loaded eagerly; images stay on disk as an
``h5py.Dataset`` so that a 500k-image file opens instantly.

A file that passes those checks but was damaged or edited by hand (an attribute that is not
JSON, of the wrong type, a variable entry with unknown keys, an adjacency whose shape does not
match the variables, datasets of inconsistent shapes) is refused with a :class:`DatasetError`
naming the file, the attribute and the problem, never with a raw ``KeyError`` or ``ValueError``.
Data damaged on disk (a chunk whose fletcher32 checksum fails, bytes that do not decompress) is
refused when read, naming the dataset and its rows (:class:`CheckedDataset`), never a raw OSError.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from causalgen.errors import DatasetError
from causalgen.io import schema as S
from causalgen.io.checked import CheckedDataset

_FIX = "regenerate the file with causalgen, or restore the attribute from an intact copy"
_VARIABLE_KEYS = tuple(fld.name for fld in fields(S.VariableInfo))


def _damaged(path: Path, key: str, problem: str) -> DatasetError:
    """The error for a file whose attribute ``key`` is unusable: names file, attribute, fix."""
    return DatasetError(f"{path} is damaged: its attribute {key!r} {problem}; {_FIX}.")


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _describe(value: Any) -> str:
    """A short description of an attribute value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Attrs:
    """Typed access to the attributes of one HDF5 object; every failure is a DatasetError."""

    def __init__(self, obj: h5py.File | h5py.Group, path: Path, prefix: str = "") -> None:
        self.attrs = obj.attrs
        self.path = path
        self.prefix = prefix  # "counterfactual/" for the attributes of that group

    def error(self, key: str, problem: str) -> DatasetError:
        return _damaged(self.path, self.prefix + key, problem)

    def raw(self, key: str, default: Any = None, required: bool = True) -> Any:
        if key not in self.attrs:
            if required:
                raise self.error(key, "is missing")
            return default
        try:
            return self.attrs[key]
        except (OSError, TypeError, ValueError) as exc:  # unreadable / unsupported HDF5 type
            raise self.error(key, f"cannot be read ({exc})") from None

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw(key, default, required=default is None)
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, bytes):
            try:
                return value.decode()
            except UnicodeDecodeError:
                raise self.error(key, "is not valid UTF-8 text") from None
        if not isinstance(value, str):
            raise self.error(key, f"should be text but is {_describe(value)}")
        return value

    def json(self, key: str, kind: type, default: str | None = None) -> Any:
        text = self.text(key, default)
        try:
            value = json.loads(text)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise self.error(key, f"is not valid JSON ({exc}): {_describe(text)}") from None
        if not isinstance(value, kind):
            expected = {dict: "a JSON object", list: "a JSON list"}.get(kind, kind.__name__)
            raise self.error(key, f"should be {expected} but is {_describe(value)}")
        return value

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if not _is_integer(value):
            raise self.error(key, f"should be an integer but is {_describe(value)}")
        return int(value)


def _complete(value: Any) -> bool:
    try:
        return bool(value)
    except (TypeError, ValueError):  # e.g. an array: not the True the writer sets
        return False


def check_file(f: h5py.File, path: Path) -> None:
    """Raise DatasetError unless ``f`` is a complete causalgen file of a schema we read."""
    fmt = f.attrs.get(S.ATTR_FORMAT, "")
    fmt = fmt.decode(errors="replace") if isinstance(fmt, bytes) else fmt
    if not isinstance(fmt, str) or fmt != S.FORMAT_NAME:
        raise DatasetError(
            f"{path} is an HDF5 file but not a causalgen dataset (format attribute {fmt!r}); "
            "generate one with `causalgen pendulum --out FILE` or `causalgen scene SPEC.toml`."
        )
    version = f.attrs.get(S.ATTR_SCHEMA_VERSION, -1)
    version = int(version) if _is_integer(version) else -1
    if version > S.SCHEMA_VERSION:
        raise DatasetError(
            f"{path} uses schema version {version}, newer than the {S.SCHEMA_VERSION} this "
            "causalgen reads; upgrade causalgen (pip install -U causalgen)."
        )
    if version < 1:
        raise DatasetError(f"{path} has no valid schema_version attribute; regenerate it.")
    if not _complete(f.attrs.get(S.ATTR_COMPLETE, False)) or path.name.endswith(S.PARTIAL_SUFFIX):
        raise DatasetError(
            f"{path} is incomplete: its writer did not finish (interrupted or failed). "
            "Delete it and generate it again."
        )
    missing = [k for k in S.REQUIRED_ATTRS if k not in f.attrs]
    missing += [k for k in (S.IMAGES, S.LABELS, S.NOISE, S.SPLIT) if k not in f]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}; it is damaged. Regenerate it.")


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


_VARIABLE_TYPES = (("name", _is_text, "text"), ("unit", _is_text, "text"),
                   ("low", _is_number, "a number"), ("high", _is_number, "a number"))


def _variables(a: _Attrs) -> list[S.VariableInfo]:
    """The ``variables`` attribute: a JSON list of {"name", "unit", "low", "high"} objects."""
    out = []
    for i, entry in enumerate(a.json(S.ATTR_VARIABLES, list)):
        if not isinstance(entry, dict):
            raise a.error(S.ATTR_VARIABLES,
                          f"entry {i} should be a JSON object but is {_describe(entry)}")
        unknown = ", ".join(repr(k) for k in sorted(set(entry) - set(_VARIABLE_KEYS)))
        if unknown:
            raise a.error(S.ATTR_VARIABLES, f"entry {i} has unknown key(s) {unknown} "
                                             f"(allowed: {', '.join(_VARIABLE_KEYS)})")
        if "name" not in entry:
            raise a.error(S.ATTR_VARIABLES, f"entry {i} lacks the required key 'name'")
        for key, ok, kind in _VARIABLE_TYPES:
            if key in entry and not ok(entry[key]):
                raise a.error(S.ATTR_VARIABLES, f"entry {i} has {key} = "
                                                 f"{_describe(entry[key])}, which is not {kind}")
        out.append(S.VariableInfo(**entry))
    return out


def _adjacency(a: _Attrs, v: int, key: str = S.ATTR_ADJACENCY) -> np.ndarray:
    """The ``adjacency`` attribute (or ``key``): 0/1 integers of shape (V, V)."""
    raw = a.raw(key)
    value = np.asarray(raw)
    if value.dtype.kind not in "biu":
        raise a.error(key,
                      f"should be an integer (V, V) matrix but is {_describe(raw)}")
    if value.shape != (v, v):
        raise a.error(key, f"has shape {value.shape}, but the file has {v} variables, "
                                         f"so it should be {(v, v)}")
    if not np.isin(value, (0, 1)).all():
        raise a.error(key, "should hold only 0 and 1 (edge row -> column)")
    return value.astype(np.int8)


def _shard(a: _Attrs) -> dict:
    """The ``shard`` attribute: a JSON object with integer index, count, start and stop."""
    shard = a.json(S.ATTR_SHARD, dict)
    for key in ("index", "count", "start", "stop"):
        if not _is_integer(shard.get(key)):
            raise a.error(S.ATTR_SHARD, f"should have an integer {key!r} but has "
                                         f"{_describe(shard.get(key))}")
    return shard


def _damaged_dataset(path: Path, key: str, problem: str) -> DatasetError:
    """The error for a file whose dataset (or group) ``key`` is unusable."""
    return DatasetError(f"{path} is damaged: its dataset {key!r} {problem}; "
                        "regenerate the file with causalgen.")


def _bad_shape(path: Path, key: str, shape: tuple, expected: str) -> DatasetError:
    return _damaged_dataset(path, key, f"has shape {shape}, expected {expected}")


def _dataset(g: h5py.Group, key: str, path: Path, where: str = "") -> h5py.Dataset:
    """``g[key]`` as a dataset; a missing entry or a group in its place is a DatasetError."""
    obj = g.get(key)
    if not isinstance(obj, h5py.Dataset):
        raise _damaged_dataset(path, where + key,
                               "is missing" if obj is None else "is not a dataset")
    return obj


def _read(g: h5py.Group, key: str, path: Path, shape: tuple[int, ...],
          where: str = "") -> np.ndarray:
    """Load the small dataset ``g[key]``, checking its shape against the file's N and V."""
    d = _dataset(g, key, path, where)
    if d.shape != shape:
        raise _bad_shape(path, where + key, d.shape, str(shape))
    return CheckedDataset(d, path, where + key)[...]


@dataclass
class CounterfactualData:
    """The ``counterfactual/`` group: the same samples under ``intervention``."""

    images: CheckedDataset
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
            self._check_sources()
            self._load()
        except BaseException:
            self.file.close()
            raise

    def _check_sources(self) -> None:
        """A ``merge --virtual`` file reads its shards: refuse it when one is gone."""
        if S.ATTR_VIRTUAL not in self.file.attrs:
            return
        try:
            names = json.loads(self.file.attrs[S.ATTR_VIRTUAL])
        except (TypeError, ValueError):
            raise _damaged(self.path, S.ATTR_VIRTUAL, "is not a JSON list of shard paths") from None
        missing = [m for m in names if not (self.path.parent / m).exists()]
        if missing:
            raise DatasetError(
                f"{self.path} is a virtual merge over shard files, and {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing (paths are relative to "
                f"{self.path.parent}); put the shards back beside it, or merge without --virtual."
            )

    def _load(self) -> None:
        f, path = self.file, self.path
        a = _Attrs(f, path)
        self.variables = _variables(a)
        v = len(self.variables)
        self.adjacency: np.ndarray = _adjacency(a, v)
        # (N, H, W, 3) uint8, on disk; reads of a damaged chunk raise DatasetError
        self.images: CheckedDataset = CheckedDataset(_dataset(f, S.IMAGES, path), path, S.IMAGES)
        # Temporal files (a ``steps`` attribute) have a time axis: images (N, T, H, W, 3),
        # labels / noise / intervened (N, T, V); ``steps`` is None for still files.
        self.steps: int | None = a.integer(S.ATTR_STEPS) if S.ATTR_STEPS in f.attrs else None
        ndim, shape_text = (4, "(N, H, W, 3)") if self.steps is None else (5, "(N, T, H, W, 3)")
        if self.images.ndim != ndim or self.images.shape[-1] != 3 or (
                self.steps is not None and self.images.shape[1] != self.steps):
            raise _bad_shape(path, S.IMAGES, self.images.shape, shape_text)
        n = int(self.images.shape[0])
        lead = (n,) if self.steps is None else (n, self.steps)
        self.labels: np.ndarray = _read(f, S.LABELS, path, (*lead, v))  # (N, [T,] V) float32
        self.noise: np.ndarray = _read(f, S.NOISE, path, (*lead, v))  # (N, [T,] V) float32
        self.split: np.ndarray = _read(f, S.SPLIT, path, (n,))  # (N,) uint8
        # (N, [T,] V) uint8, 1 = intervened; None for files without per-sample interventions
        self.intervened: np.ndarray | None = (
            _read(f, S.INTERVENED, path, (*lead, v)) if S.INTERVENED in f else None
        )
        # (N,) int32 environment of each sample; None for single-regime files
        self.environment: np.ndarray | None = (
            _read(f, S.ENVIRONMENT, path, (n,)) if S.ENVIRONMENT in f else None
        )
        # one record per environment (with --hide-targets: index and size only; see hidden_targets)
        self.environments: list[dict] | None = (
            a.json(S.ATTR_ENVIRONMENTS, list) if S.ATTR_ENVIRONMENTS in f.attrs else None
        )
        self.targets_hidden: bool = S.HIDDEN in f
        # temporal only: initial values (N, V), lagged graph (V, V), per-step intervention rate
        self.init: np.ndarray | None = _read(f, S.INIT, path, (n, v)) if S.INIT in f else None
        self.lagged_adjacency: np.ndarray | None = (
            _adjacency(a, v, S.ATTR_LAGGED_ADJACENCY) if S.ATTR_LAGGED_ADJACENCY in f.attrs
            else None)
        self.intervention_rate: dict | None = (
            a.json(S.ATTR_INTERVENTION_RATE, dict) if S.ATTR_INTERVENTION_RATE in f.attrs
            else None)
        self.intervention_mix: dict | None = (
            a.json(S.ATTR_INTERVENTION_MIX, dict) if S.ATTR_INTERVENTION_MIX in f.attrs else None
        )
        self.scene = a.text(S.ATTR_SCENE)
        self.scene_entry = a.text(S.ATTR_SCENE_ENTRY, default=self.scene)
        self.scene_kwargs: dict = a.json(S.ATTR_SCENE_KWARGS, dict, default="{}")
        self.spec_json = a.text(S.ATTR_SCM)
        self.intervention: dict = a.json(S.ATTR_INTERVENTION, dict)
        self.seed = a.integer(S.ATTR_SEED)
        self.generator_version = a.text(S.ATTR_GENERATOR_VERSION)
        self.shard: dict | None = _shard(a) if S.ATTR_SHARD in f.attrs else None
        self.counterfactual: CounterfactualData | None = None
        if S.COUNTERFACTUAL in f:
            g = f[S.COUNTERFACTUAL]
            if not isinstance(g, h5py.Group):
                raise DatasetError(
                    f"{path} is damaged: {S.COUNTERFACTUAL!r} should be a group of datasets but "
                    "is not; regenerate the file with causalgen."
                )
            where = f"{S.COUNTERFACTUAL}/"
            images = CheckedDataset(_dataset(g, S.IMAGES, path, where), path, where + S.IMAGES)
            if images.shape != self.images.shape:
                raise _bad_shape(path, where + S.IMAGES, images.shape, str(self.images.shape))
            self.counterfactual = CounterfactualData(
                images=images,
                labels=_read(g, S.LABELS, path, (*lead, v), where),
                noise=_read(g, S.NOISE, path, (*lead, v), where),
                intervention=_Attrs(g, path, where).json(S.ATTR_INTERVENTION, dict),
            )

    def hidden_targets(self) -> tuple[np.ndarray | None, list[dict] | None]:
        """The targets a ``--hide-targets`` file keeps in ``hidden/``: the (N, V) ``intervened``
        mask and the full environment records. Files without hidden targets give the visible
        ones. Only evaluation (or a learner told to) should call this."""
        if not self.targets_hidden:
            return self.intervened, self.environments
        g = self.file[S.HIDDEN]
        if not isinstance(g, h5py.Group):
            raise _damaged_dataset(self.path, S.HIDDEN, "is not a group")
        where = f"{S.HIDDEN}/"
        mask = (_read(g, S.INTERVENED, self.path, (self.n, len(self.variables)), where)
                if S.INTERVENED in g else None)
        records = (_Attrs(g, self.path, where).json(S.ATTR_ENVIRONMENTS, list)
                   if S.ATTR_ENVIRONMENTS in g.attrs else self.environments)
        return mask, records

    @property
    def is_external(self) -> bool:
        """True for a file made by ``causalgen import``: no generator, no SCM, a declared graph."""
        return self.scene.startswith(S.EXTERNAL_PREFIX)

    @property
    def source(self) -> dict:
        """How an imported file was made (its ``source`` attribute); {} for generated files."""
        if S.ATTR_SOURCE not in self.file.attrs:
            return {}
        return _Attrs(self.file, self.path).json(S.ATTR_SOURCE, dict)

    @property
    def variable_names(self) -> list[str]:
        return [v.name for v in self.variables]

    @property
    def n(self) -> int:
        """Samples (still files) or sequences (temporal files)."""
        return int(self.images.shape[0])

    @property
    def is_temporal(self) -> bool:
        return self.steps is not None

    @property
    def frame_labels(self) -> np.ndarray:
        """Labels of every frame, (N * T, V) for temporal files (sequence-major), else (N, V)."""
        return self.labels.reshape(-1, self.labels.shape[-1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-2])

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
