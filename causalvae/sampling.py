"""Training batches as pure functions of (seed, epoch): exact resume, DDP slices, and a labelled
share per batch for partial labels.

:class:`EpochBatchSampler` shuffles positions (or chunks, then positions inside each chunk, so
a streamed split reads whole chunks); :class:`LabelledShareSampler` fills every batch with a
fixed share of labelled images when few carry labels; :func:`epoch_sampler` picks between them
for the Trainer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from torch.utils.data import Sampler

from causalvae.errors import DataError

if TYPE_CHECKING:
    from causalvae.data import CausalDataset

__all__ = ["EpochBatchSampler", "LabelledShareSampler", "epoch_sampler"]


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of dataset positions whose order is a pure function of (seed, epoch).

    Deriving each epoch's shuffle from (seed, epoch), not from a global RNG stream, makes the data
    order of a resumed run identical to that of an uninterrupted one; ``set_epoch(e, skip)`` also
    skips the batches a mid-epoch checkpoint already consumed. With ``groups`` (chunk ids), chunks
    are shuffled and then positions within each chunk, so streamed batches read whole chunks. With
    ``world_size`` > 1 each rank takes a contiguous slice of the (padded) order, as
    DistributedSampler does with striding; contiguous slices keep chunk locality per rank.
    """

    def __init__(self, n: int, batch_size: int, *, seed: int, shuffle: bool = True,
                 groups: np.ndarray | None = None, rank: int = 0, world_size: int = 1) -> None:
        if n <= 0:
            raise DataError("cannot sample batches from an empty dataset")
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.groups = groups
        self.rank, self.world_size = rank, world_size
        self.per_rank = -(-n // world_size)
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    def order(self, epoch: int) -> np.ndarray:
        """This rank's positions for ``epoch``, (per_rank,)."""
        if not self.shuffle:
            order = np.arange(self.n)
        else:
            rng = np.random.default_rng([self.seed, epoch])
            if self.groups is None:
                order = rng.permutation(self.n)
            else:
                ids, inverse = np.unique(self.groups, return_inverse=True)
                rank_of_chunk = np.empty(len(ids), np.int64)
                rank_of_chunk[rng.permutation(len(ids))] = np.arange(len(ids))
                jitter = rng.random(self.n)  # shuffles within a chunk
                order = np.lexsort((jitter, rank_of_chunk[inverse]))
        total = self.per_rank * self.world_size
        if total > self.n:  # pad by wrapping so every rank gets as many items
            order = np.concatenate([order, order[: total - self.n]])
        return order[self.rank * self.per_rank:(self.rank + 1) * self.per_rank]

    def batches(self, epoch: int) -> list[list[int]]:
        order = self.order(epoch).tolist()
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches(self.epoch)[self.skip:]

    def __len__(self) -> int:
        return max(0, -(-self.per_rank // self.batch_size) - self.skip)


class LabelledShareSampler(EpochBatchSampler):
    """Batches with at least ``share`` labelled images when few images carry labels.

    With ``--label-fraction`` F < ``share``, a plain shuffle gives each batch about F labelled
    images, so the label-tied prior reaches few images per step. Here each batch takes
    round(share * batch_size) positions from ``labelled`` (a fresh permutation of them per pass,
    repeated as often as the epoch needs) and fills the rest from the unlabelled positions (one
    permutation per epoch, wrapped if short). An epoch keeps the plain sampler's number of
    batches, so its cost is the same; it then shows each unlabelled image about
    (1 - share) / (1 - F) times. Batches are a pure function of (seed, epoch), as
    :class:`EpochBatchSampler`'s, so resume is exact; with ``world_size`` > 1 rank r takes
    batches r, r + world_size, ... Positions are drawn at random, not chunk by chunk (meant for
    an in-memory train split).
    """

    def __init__(self, n: int, batch_size: int, labelled: np.ndarray, share: float, *, seed: int,
                 rank: int = 0, world_size: int = 1) -> None:
        super().__init__(n, batch_size, seed=seed, rank=rank, world_size=world_size)
        self.labelled = np.asarray(labelled, np.int64)
        hidden = np.ones(n, bool)
        hidden[self.labelled] = False
        self.unlabelled = np.flatnonzero(hidden)
        if not 0 < len(self.labelled) < n:
            raise DataError("LabelledShareSampler needs both labelled and unlabelled positions")
        self.per_batch = min(batch_size, max(1, round(share * batch_size)))
        plain = math.ceil(n / batch_size)  # the batches of a plain epoch
        self.n_batches = math.ceil(plain / world_size) * world_size  # as many on every rank

    @staticmethod
    def _stream(rng: np.random.Generator, items: np.ndarray, count: int) -> np.ndarray:
        """``count`` items: whole permutations of ``items`` one after another."""
        reps = -(-count // len(items)) if count else 0
        return np.concatenate([rng.permutation(items) for _ in range(reps)] or
                              [np.empty(0, np.int64)])[:count]

    def batches(self, epoch: int) -> list[list[int]]:
        m, rest = self.per_batch, self.batch_size - self.per_batch
        lab = self._stream(np.random.default_rng([self.seed, epoch, 1]), self.labelled,
                           self.n_batches * m)
        unl = self._stream(np.random.default_rng([self.seed, epoch, 2]), self.unlabelled,
                           self.n_batches * rest)
        out = [[*lab[i * m:(i + 1) * m].tolist(), *unl[i * rest:(i + 1) * rest].tolist()]
               for i in range(self.n_batches)]
        return out[self.rank::self.world_size]

    def __len__(self) -> int:
        return max(0, self.n_batches // self.world_size - self.skip)


def epoch_sampler(data: CausalDataset, batch_size: int, *, seed: int,
                  labelled: np.ndarray | None = None, labelled_share: float = 0.0,
                  rank: int = 0, world_size: int = 1) -> EpochBatchSampler:
    """The training batches: :class:`LabelledShareSampler` when only ``labelled`` positions
    carry labels and they are fewer than ``labelled_share`` of the split, else chunk-aware
    :class:`EpochBatchSampler` batches."""
    n = len(data)
    if labelled is not None and 0 < len(labelled) < labelled_share * n:
        return LabelledShareSampler(n, batch_size, labelled, labelled_share, seed=seed,
                                    rank=rank, world_size=world_size)
    return EpochBatchSampler(n, batch_size, seed=seed, groups=data.chunk_groups(), rank=rank,
                             world_size=world_size)
