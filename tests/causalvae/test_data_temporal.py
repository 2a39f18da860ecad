"""CausalDataset over temporal files: independent frames, and consecutive-frame pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from causalgen.generate_temporal import generate_sequences
from causalgen.io import open_dataset
from causalvae.data import CausalDataset, EpochBatchSampler
from causalvae.errors import DataError


@pytest.fixture(scope="module")
def seq_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seq") / "c.h5"
    return generate_sequences("collision-v1", out, n=10, steps=7, seed=1, size=16, workers=1,
                              intervention_rate=0.3)


@pytest.mark.parametrize("budget", [2.0, 0.0])  # in memory, and streamed from the file
def test_frames_are_items(seq_file: Path, budget: float) -> None:
    ds = CausalDataset(seq_file, "train", memory_budget_gb=budget)
    with open_dataset(seq_file) as f:
        train = f.indices("train")
        assert len(ds) == len(train) * 7
        images, labels, mask = ds.__getitems__([0, 8, len(ds) - 1])
        seq, t = divmod(8, 7)
        np.testing.assert_array_equal(images[1].numpy(), f.images[train[seq], t])
        np.testing.assert_array_equal(images[2].numpy(), f.images[train[-1], 6])
        np.testing.assert_allclose(ds.label_stats.denormalise(labels[1].numpy()),
                                   f.labels[train[seq], t], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(mask[1].numpy(), f.intervened[train[seq], t])
    assert images.shape == (3, 16, 16, 3) and images.dtype == torch.uint8
    if budget == 0.0:
        groups = ds.chunk_groups()
        assert len(groups) == len(ds) and (np.diff(groups[::7]) > 0).all()
        assert len(list(EpochBatchSampler(len(ds), 8, seed=0, groups=groups))) == -(-len(ds) // 8)


def test_pairs_are_consecutive_frames_with_the_next_targets(seq_file: Path) -> None:
    ds = CausalDataset(seq_file, "test", pairs=True)
    with open_dataset(seq_file) as f:
        test = f.indices("test")
        assert len(ds) == len(test) * 6
        x_t, x_next, targets = ds.__getitems__([0, 5, 6])
        for k, (seq, t) in enumerate([(0, 0), (0, 5), (1, 0)]):
            np.testing.assert_array_equal(x_t[k].numpy(), f.images[test[seq], t])
            np.testing.assert_array_equal(x_next[k].numpy(), f.images[test[seq], t + 1])
            np.testing.assert_array_equal(targets[k].numpy(), f.intervened[test[seq], t + 1])


def test_pairs_need_a_temporal_file(tmp_path: Path) -> None:
    from causalgen.generate import generate

    still = generate("pendulum-v1", tmp_path / "p.h5", n=20, size=16, workers=1)
    with pytest.raises(DataError, match="pairs=True needs a temporal file"):
        CausalDataset(still, "train", pairs=True)
