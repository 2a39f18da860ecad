"""Torch datasets over causalgen HDF5 files and the on-device image transform (the samplers are
in :mod:`causalvae.sampling`, re-exported here).

:class:`CausalDataset` serves one split (``train`` or ``test``) of a file opened through
:func:`causalgen.io.open_dataset`, so it refuses exactly the files that reader refuses. Images stay
uint8 (B, H, W, 3) until :func:`to_model_input` converts them on the device. Labels are
standardised with the mean and std of the *train* split (:class:`LabelStats`), which a run stores
and passes back when it resumes or evaluates. A split whose file fits under the memory budget is
read into memory once; a larger one is streamed from the file in whole chunks, which is fast only
if batches are chunk-local: :class:`EpochBatchSampler` then shuffles the order of chunks and the
order inside each chunk. The h5py handle is opened lazily in each DataLoader worker.

Batches are fetched through ``__getitems__`` (one indexing operation per batch) and need
:func:`collate_batch` as the DataLoader's ``collate_fn``. A batch is (uint8 images (B, H, W, 3),
standardised labels (B, V), intervention mask (B, V)): the mask is float 0/1, 1 where do() set
that variable in that sample (the file's ``intervened``; all zeros for files without it).

Temporal files (sequences, images (N, T, H, W, 3)) are read as independent frames: an item is
one frame, the split is per sequence (every frame of a test sequence is a test item), labels
and the do() mask are the frame's, so every model trains on them unchanged. With
``pairs=True`` an item is instead a pair of consecutive frames of one sequence and a batch is
(uint8 x_t (B, H, W, 3), uint8 x_t+1 (B, H, W, 3), do() mask of step t+1 (B, V)): the input of
temporal methods (CITRIS-style), whose targets are the variables intervened on at t+1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from causalvae.errors import DataError
from causalvae.sampling import EpochBatchSampler, LabelledShareSampler, epoch_sampler

__all__ = [
    "CausalDataset",
    "EpochBatchSampler",  # re-exported from causalvae.sampling
    "LabelStats",
    "LabelledShareSampler",
    "collate_batch",
    "epoch_sampler",
    "labelled_positions",
    "to_model_input",
]

LABEL_STREAM = 11  # seeds the choice of labelled images apart from every other stream


def labelled_positions(n: int, fraction: float, seed: int) -> np.ndarray:
    """The sorted positions of the round(fraction * n) (at least 1) labelled items of a split of
    n, drawn from (seed, ``LABEL_STREAM``): ``--label-fraction``."""
    count = min(n, max(1, round(fraction * n)))
    rng = np.random.default_rng([int(seed), LABEL_STREAM])
    return np.sort(rng.choice(n, count, replace=False))

GiB = 1024**3


def _check_finite(path: Any, labels: np.ndarray, rows: np.ndarray, names: Sequence[str]) -> None:
    """A NaN or infinite label would turn the split's statistics, and so every label, into
    NaN; name the first such file row and variable instead."""
    bad = ~np.isfinite(labels)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{path}: {int(bad.any(1).sum())} row(s) of this split have a label "
                        f"that is not a finite number (first: row {int(rows[i])}, "
                        f"{names[j]!r} = {labels[i, j]}); causalvae needs every label: drop "
                        "or fill those rows (`causalgen import` refuses them)")


@dataclass(frozen=True)
class LabelStats:
    """Per-variable mean and std of the train split's labels (physical units)."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def compute(cls, labels: np.ndarray, names: Sequence[str]) -> LabelStats:
        if len(labels) == 0:
            raise DataError("the train split is empty: label statistics cannot be computed")
        values = np.asarray(labels, np.float64)
        std = values.std(0)
        std = np.where(std > 1e-8, std, 1.0)  # a constant label stays constant (0) after scaling
        return cls(tuple(names), tuple(values.mean(0).tolist()), tuple(std.tolist()))

    def normalise(self, labels: np.ndarray) -> np.ndarray:
        return ((np.asarray(labels, np.float64) - self.mean) / self.std).astype(np.float32)

    def denormalise(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, np.float64) * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict[str, list]:
        return {"names": list(self.names), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelStats:
        return cls(tuple(data["names"]), tuple(map(float, data["mean"])),
                   tuple(map(float, data["std"])))


def collate_batch(batch: Any) -> Any:
    """DataLoader collate_fn for datasets whose ``__getitems__`` already returns a batch."""
    return batch


def to_model_input(images: Tensor, device: torch.device, image_size: int,
                   channels_last: bool = False) -> Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, S, S) in [0, 1] on ``device``, resized if H != S."""
    x = images.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)  # (B,3,H,W)
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True,
                          align_corners=False)  # (B, 3, S, S)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return x.contiguous(memory_format=fmt)


class CausalDataset(Dataset):
    """One split of a causalgen file: items are (uint8 image (H, W, 3), standardised labels (V,),
    intervention mask (V,): 1.0 where do() set that variable in that sample, zeros if the file
    records no per-sample interventions).

    ``label_stats``: statistics to standardise with (default: computed on this file's train
    split). ``expect_variables``: the variable names of a run being resumed or evaluated; a file
    with other variables is refused. ``memory_budget_gb``: files whose images fit are loaded whole.
    ``read_hidden_targets``: also read the targets a ``--hide-targets`` file keeps in its
    ``hidden/`` group (by default such a file looks observational to the learner: zero mask).
    """

    def __init__(self, path: str | os.PathLike, split: str = "train", *,
                 label_stats: LabelStats | None = None,
                 expect_variables: Sequence[str] | None = None,
                 memory_budget_gb: float = 2.0, read_hidden_targets: bool = False,
                 pairs: bool = False) -> None:
        from causalgen.io import open_dataset  # the reader decides what a valid file is

        if split not in ("train", "test"):
            raise DataError(f"unknown split {split!r}; use 'train' or 'test'")
        self.path: Path | None = Path(path)
        self.split = split
        self._reader: Any = None
        self._reader_pid = -1
        with open_dataset(path) as ds:
            self.variable_names = list(ds.variable_names)
            if expect_variables is not None and list(expect_variables) != self.variable_names:
                raise DataError(
                    f"{path} has variables {self.variable_names}, but the run was trained on "
                    f"{list(expect_variables)}; use a dataset of the same scene and variables"
                )
            self.adjacency = np.asarray(ds.adjacency, np.int8)
            self.scene = ds.scene
            self.file_image_size = int(ds.images.shape[-2])
            self.steps: int | None = ds.steps
            if pairs and ds.steps is None:
                raise DataError(f"{path} holds still images; pairs=True needs a temporal file "
                                "(generated with --steps T)")
            if pairs and ds.steps < 2:
                raise DataError(f"{path} has sequences of 1 step: no consecutive frames to pair")
            frames = _Frames(ds.images) if ds.steps is not None else ds.images
            labels, intervened = ds.labels, ds.intervened
            if ds.steps is not None:  # frames are items: sequence-major rows of (N * T, ...)
                labels = labels.reshape(-1, labels.shape[-1])
                intervened = None if intervened is None else intervened.reshape(labels.shape)
            self.rows = _frame_rows(ds.indices(split), ds.steps)  # (M,) file rows, increasing
            self.raw_labels = np.asarray(labels[self.rows], np.float32)  # (M, V)
            _check_finite(path, self.raw_labels, self.rows, self.variable_names)
            if label_stats is None and split == "train":  # the rows just read and checked
                label_stats = LabelStats.compute(self.raw_labels, self.variable_names)
            elif label_stats is None:
                train_rows = _frame_rows(ds.indices("train"), ds.steps)
                train_labels = np.asarray(labels[train_rows], np.float32)
                _check_finite(path, train_labels, train_rows, self.variable_names)
                label_stats = LabelStats.compute(train_labels, self.variable_names)
            self.label_stats = label_stats
            # a --hide-targets file keeps its targets in hidden/: read only when asked
            targets = ds.hidden_targets()[0] if read_hidden_targets else ds.intervened
            if targets is not None and ds.steps is not None:
                targets = targets.reshape(labels.shape)
            self.has_interventions = targets is not None
            mask = (targets[self.rows] if targets is not None
                    else np.zeros(self.raw_labels.shape, np.uint8))
            # (M,) environment of each sample (files made with --environments), else None
            self.environment = (np.asarray(ds.environment[self.rows], np.int64)
                                if ds.environment is not None and ds.steps is None else None)
            self.chunk_rows = (int(frames.chunks[0]) if frames.chunks else 32)
            in_memory = ds.images.size <= memory_budget_gb * GiB
            self.images: Tensor | None = _read_rows(frames, self.rows) if in_memory else None
        # pairs: positions p of this split's items whose next item is the same sequence's t + 1
        self.pair_index: np.ndarray | None = None
        if pairs:
            self.pair_index = np.flatnonzero(self.rows % self.steps != self.steps - 1)
        self.labels = torch.from_numpy(self.label_stats.normalise(self.raw_labels))  # (M, V)
        self.intervened = torch.from_numpy(np.asarray(mask, np.float32))  # (M, V) 0/1

    @classmethod
    def from_arrays(cls, images: np.ndarray | Tensor, labels: np.ndarray,
                    variable_names: Sequence[str], *, adjacency: np.ndarray | None = None,
                    label_stats: LabelStats | None = None,
                    intervened: np.ndarray | None = None) -> CausalDataset:
        """An in-memory dataset without a file (tests, benchmarks). Stats default to ``labels``';
        ``intervened`` (M, V) 0/1 marks do()-set variables (default: none)."""
        self = cls.__new__(cls)
        self.path, self.split, self._reader, self._reader_pid = None, "train", None, -1
        self.steps, self.pair_index = None, None
        self.variable_names = list(variable_names)
        v = len(self.variable_names)
        self.adjacency = (np.zeros((v, v), np.int8) if adjacency is None
                          else np.asarray(adjacency, np.int8))
        self.scene = "arrays"
        self.images = torch.as_tensor(np.asarray(images, np.uint8))  # (M, H, W, 3)
        self.file_image_size = int(self.images.shape[1])
        self.rows = np.arange(len(self.images))
        self.raw_labels = np.asarray(labels, np.float32)
        self.label_stats = label_stats or LabelStats.compute(self.raw_labels, self.variable_names)
        self.chunk_rows = 32
        self.labels = torch.from_numpy(self.label_stats.normalise(self.raw_labels))
        self.has_interventions = intervened is not None
        self.environment = None
        mask = np.zeros(self.raw_labels.shape) if intervened is None else intervened
        self.intervened = torch.from_numpy(np.asarray(mask, np.float32))
        if self.intervened.shape != self.labels.shape:
            raise DataError(f"intervened has shape {tuple(self.intervened.shape)}, labels "
                            f"{tuple(self.labels.shape)}")
        return self

    def set_label_stats(self, stats: LabelStats) -> None:
        """Standardise the labels with ``stats`` instead (e.g. those of the labelled subset)."""
        self.label_stats = stats
        self.labels = torch.from_numpy(stats.normalise(self.raw_labels)).to(self.labels.device)

    def hide_labels(self, labelled: np.ndarray) -> None:
        """Keep the labels of the ``labelled`` positions only: the others become NaN (unlabelled
        images; models with a missing-label flag mask them)."""
        hidden = np.ones(len(self), bool)
        hidden[np.asarray(labelled, np.int64)] = False
        self.labels[torch.from_numpy(hidden).to(self.labels.device)] = float("nan")

    def to(self, device: torch.device | str) -> CausalDataset:
        """Move an in-memory split (uint8 images and labels) to ``device``, e.g. a GPU, so that
        batches are gathered there; a streamed split stays on disk. Returns self."""
        if self.images is not None:
            self.images = self.images.to(device)
            self.labels = self.labels.to(device)
            self.intervened = self.intervened.to(device)
        return self

    @property
    def in_memory(self) -> bool:
        return self.images is not None

    def chunk_groups(self) -> np.ndarray | None:
        """Chunk id of each item when streaming (for chunk-aligned shuffling), else None."""
        if self.in_memory:
            return None
        rows = self.rows if self.pair_index is None else self.rows[self.pair_index]
        if self.steps is None:
            return rows // self.chunk_rows
        seq, t = np.divmod(rows, self.steps)  # a temporal chunk: a window of one sequence
        return seq * -(-self.steps // self.chunk_rows) + t // self.chunk_rows

    def __len__(self) -> int:
        return len(self.rows) if self.pair_index is None else len(self.pair_index)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        first, second, third = self.__getitems__([index])
        return first[0], second[0], third[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor, Tensor]:
        """A batch: uint8 images (B, H, W, 3), standardised labels (B, V), do() mask (B, V);
        with ``pairs``: uint8 x_t (B, H, W, 3), uint8 x_t+1 (B, H, W, 3), do() mask of t+1."""
        if self.pair_index is not None:
            now = self.pair_index[np.asarray(indices, np.int64)]
            x_t, _, _ = self._items(now)
            x_next, _, targets = self._items(now + 1)
            return x_t, x_next, targets
        return self._items(np.asarray(indices, np.int64))

    def _items(self, positions: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        indices = positions
        idx = torch.as_tensor(np.asarray(indices, np.int64))
        if self.images is not None:
            idx = idx.to(self.images.device)
            return self.images[idx], self.labels[idx], self.intervened[idx]
        return (self._stream(np.asarray(indices, np.int64)), self.labels[idx],
                self.intervened[idx])

    def _stream(self, positions: np.ndarray) -> Tensor:
        rows = self.rows[positions]
        unique, inverse = np.unique(rows, return_inverse=True)
        images = self._h5_images()
        lo, hi = int(unique[0]), int(unique[-1]) + 1
        # a chunk-local batch is one contiguous read; a scattered one an h5py fancy read
        local = hi - lo <= 4 * len(unique)
        block = images[lo:hi][unique - lo] if local else images[unique]
        return torch.from_numpy(np.ascontiguousarray(block[inverse]))  # (B, H, W, 3)

    def _h5_images(self) -> Any:
        if self._reader is None or self._reader_pid != os.getpid():  # new worker process
            from causalgen.io import open_dataset

            self._reader = open_dataset(self.path)
            self._reader_pid = os.getpid()
        images = self._reader.images
        return images if self.steps is None else _Frames(images)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_reader"], state["_reader_pid"] = None, -1  # h5py handles do not pickle
        return state

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _frame_rows(sequences: np.ndarray, steps: int | None) -> np.ndarray:
    """File rows of the items of ``sequences``: the sequences themselves for a still file, every
    frame of each (sequence-major, seq * T + t) for a temporal one."""
    if steps is None:
        return sequences
    return (np.asarray(sequences, np.int64)[:, None] * steps + np.arange(steps)).ravel()


class _Frames:
    """An h5py (N, T, H, W, 3) dataset seen as (N * T, H, W, 3) frames, sequence-major; supports
    what the readers here use: ``shape``, ``size``, ``chunks``, slices and increasing index
    arrays (whole sequences are read, then the frames picked)."""

    def __init__(self, images: Any) -> None:
        self.images = images
        n, self.steps = images.shape[:2]
        self.shape = (n * self.steps, *images.shape[2:])
        self.size = images.size
        self.chunks = (images.chunks[1], *images.chunks[2:]) if images.chunks else None

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        t = self.steps
        if isinstance(key, slice):
            lo, hi, _ = key.indices(self.shape[0])
            s0 = lo // t
            block = self.images[s0:-(-hi // t)].reshape(-1, *self.shape[1:])
            return block[lo - s0 * t:hi - s0 * t]
        key = np.asarray(key, np.int64)
        seqs = np.unique(key // t)
        block = self.images[seqs].reshape(-1, *self.shape[1:])  # (len(seqs) * T, H, W, 3)
        return block[np.searchsorted(seqs, key // t) * t + key % t]


def _read_rows(images: Any, rows: np.ndarray) -> Tensor:
    """The given increasing rows of the file's images -> uint8 tensor (the reader,
    :class:`causalgen.io.checked.CheckedDataset`, reads a row selection block by block)."""
    if len(rows) == 0:
        return torch.empty((0, *images.shape[1:]), dtype=torch.uint8)
    return torch.from_numpy(np.ascontiguousarray(images[np.asarray(rows, np.int64)], np.uint8))
