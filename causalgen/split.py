"""The train/test split of a dataset, drawn block by block without materialising all N rows.

A dataset of ``total`` samples has exactly ``round(test_fraction * total)`` test samples, a
uniformly random subset drawn from the seed's split stream. Up to :data:`WHOLE_SPLIT_MAX` samples
the subset is drawn at once, as causalgen always did (so the bytes of every dataset of that size
are unchanged). Above it, the count of test samples in each block is found by descending a
binary tree over the blocks: a node's count is split between its halves by a hypergeometric draw
seeded from (seed, node), which is exactly how a uniform subset falls into the halves; then the
block's own test rows are drawn from (seed, block). The split of one block thus costs
O(block + log blocks), whatever N, and depends only on (seed, total, fraction, block).
"""

from __future__ import annotations

import numpy as np

from causalgen.errors import SpecError
from causalgen.io import schema as S

SPLIT_STREAM = 2**32 - 1  # the split's RNG stream; blocks use streams 0, 1, 2, ...
WHOLE_SPLIT_MAX = 2**24  # up to this many samples the split is drawn at once (<= ~150 MB)
MAX_SAMPLES = 1_900_000_000  # numpy's hypergeometric takes populations below 10**9 per side


def split_membership(seed: int, total: int, test_fraction: float) -> np.ndarray:
    """uint8 (total,): 1 for the round(test_fraction * total) test samples, chosen at random."""
    split = np.zeros(total, dtype=np.uint8)
    n_test = round(test_fraction * total)
    if n_test:
        rng = np.random.default_rng([int(seed), SPLIT_STREAM])
        split[rng.choice(total, n_test, replace=False)] = S.SPLIT_TEST
    return split


class SplitPlan:
    """Split membership of any range of rows of a dataset, drawn without holding all N rows."""

    def __init__(self, seed: int, total: int, test_fraction: float, block_size: int) -> None:
        if total > MAX_SAMPLES:
            raise SpecError(f"--n {total} is above the limit of {MAX_SAMPLES} samples per "
                            "dataset; generate several datasets with different seeds.")
        self.seed, self.total, self.block_size = int(seed), int(total), int(block_size)
        self.n_test = round(test_fraction * total)
        self.blocks = -(-self.total // self.block_size)
        self._path: list[tuple[int, int, int]] = []  # (lo, hi, k_left) of the last descent
        self._whole = (split_membership(seed, total, test_fraction)
                       if total <= WHOLE_SPLIT_MAX else None)

    def rows(self, start: int, count: int) -> np.ndarray:
        """uint8 (count,) membership of rows [start, start + count)."""
        if self._whole is not None:
            return self._whole[start:start + count]
        out = np.empty(count, dtype=np.uint8)
        b0 = start // self.block_size
        b1 = -(-(start + count) // self.block_size)
        for b in range(b0, b1):
            lo = b * self.block_size
            block = self.block(b)
            a, z = max(start, lo), min(start + count, lo + len(block))
            out[a - start:z - start] = block[a - lo:z - lo]
        return out

    def block(self, b: int) -> np.ndarray:
        """uint8 membership of the rows of block ``b``."""
        size = min(self.block_size, self.total - b * self.block_size)
        k = self._count(b)
        out = np.zeros(size, dtype=np.uint8)
        if k:
            rng = np.random.default_rng([self.seed, SPLIT_STREAM, 1, b])
            out[rng.choice(size, k, replace=False)] = S.SPLIT_TEST
        return out

    def _count(self, b: int) -> int:
        """Test samples in block ``b``: descend the tree over blocks from its root. The last
        path is kept, so consecutive blocks redraw only the levels where their paths part."""
        lo, hi, k = 0, self.blocks, self.n_test
        level = 0
        while hi - lo > 1 and k:
            mid = (lo + hi) // 2
            if level < len(self._path) and self._path[level][:2] == (lo, hi):
                k_left = self._path[level][2]
            else:
                rng = np.random.default_rng([self.seed, SPLIT_STREAM, 0, lo, hi])
                k_left = int(rng.hypergeometric(self._rows(lo, mid), self._rows(mid, hi), k))
                del self._path[level:]
                self._path.append((lo, hi, k_left))
            lo, hi, k = (lo, mid, k_left) if b < mid else (mid, hi, k - k_left)
            level += 1
        return k

    def _rows(self, b0: int, b1: int) -> int:
        return min(b1 * self.block_size, self.total) - b0 * self.block_size


__all__ = ["MAX_SAMPLES", "SPLIT_STREAM", "WHOLE_SPLIT_MAX", "SplitPlan", "split_membership"]
