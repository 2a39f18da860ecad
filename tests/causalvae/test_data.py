"""CausalDataset, the epoch sampler, and the on-device image transform."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from causalgen.errors import DatasetError
from causalvae.data import (
    CausalDataset,
    EpochBatchSampler,
    LabelStats,
    collate_batch,
    to_model_input,
)
from causalvae.errors import DataError


def test_splits_and_label_standardisation(tiny_h5) -> None:
    train = CausalDataset(tiny_h5, "train")
    test = CausalDataset(tiny_h5, "test", label_stats=train.label_stats)
    assert (len(train), len(test)) == (72, 24)
    assert train.in_memory and train.variable_names == ["size", "pos", "shade"]
    images, labels, intervened = train.__getitems__([0, 5, 3])
    assert images.dtype == torch.uint8 and images.shape == (3, 32, 32, 3)
    assert labels.dtype == torch.float32 and labels.shape == (3, 3)
    assert intervened.shape == (3, 3) and not intervened.any()  # a file without interventions
    np.testing.assert_allclose(train.labels.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(train.labels.std(0, unbiased=False), 1, atol=1e-4)
    # the test split is scaled with the train statistics, and un-scaling restores the labels
    np.testing.assert_allclose(test.label_stats.denormalise(test.labels.numpy()),
                               test.raw_labels, rtol=1e-5, atol=1e-4)
    img, lab, mask = train[4]
    assert img.shape == (32, 32, 3) and lab.shape == (3,) and mask.shape == (3,)


def test_label_stats_round_trip_and_constant_labels() -> None:
    stats = LabelStats.compute(np.array([[1.0, 5.0], [3.0, 5.0]]), ["a", "b"])
    assert stats.std == (1.0, 1.0)  # a constant column keeps std 1, not 0
    assert LabelStats.from_dict(stats.to_dict()) == stats
    with pytest.raises(DataError, match="empty"):
        LabelStats.compute(np.zeros((0, 2)), ["a", "b"])


def test_streaming_matches_in_memory(tiny_h5) -> None:
    memory = CausalDataset(tiny_h5, "train")
    stream = CausalDataset(tiny_h5, "train", memory_budget_gb=0)
    assert not stream.in_memory and stream.chunk_groups() is not None
    for idx in ([0, 1, 2], [70, 3, 40, 3], list(range(72))):
        a, la, ma = memory.__getitems__(idx)
        b, lb, mb = stream.__getitems__(idx)
        assert torch.equal(a, b) and torch.equal(la, lb) and torch.equal(ma, mb)


@pytest.mark.parametrize("budget", [2.0, 0.0])
def test_dataloader_workers(tiny_h5, budget: float) -> None:
    ds = CausalDataset(tiny_h5, "train", memory_budget_gb=budget)
    sampler = EpochBatchSampler(len(ds), 16, seed=1, groups=ds.chunk_groups())
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_batch, num_workers=2,
                        multiprocessing_context="spawn")
    got = torch.cat([imgs for imgs, _, _ in loader])
    want = torch.cat([ds.__getitems__(b)[0] for b in sampler.batches(0)])
    assert torch.equal(got, want)


def test_refuses_foreign_files_and_other_variables(tmp_path, tiny_h5, write_dataset) -> None:
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["images"] = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(DatasetError, match="not a causalgen dataset"):
        CausalDataset(foreign)
    with pytest.raises(DatasetError, match="no such file"):
        CausalDataset(tmp_path / "missing.h5")
    other = write_dataset(tmp_path / "other.h5", names=["a", "b", "c"])
    with pytest.raises(DataError, match=r"has variables \['a', 'b', 'c'\].*trained on"):
        CausalDataset(other, expect_variables=["size", "pos", "shade"])
    CausalDataset(tiny_h5, expect_variables=["size", "pos", "shade"])  # the same: accepted


def test_sampler_order_is_a_function_of_seed_and_epoch() -> None:
    s = EpochBatchSampler(50, 8, seed=3)
    assert sorted(s.order(0).tolist()) == list(range(50))
    assert np.array_equal(s.order(2), EpochBatchSampler(50, 8, seed=3).order(2))
    assert not np.array_equal(s.order(0), s.order(1))
    assert not np.array_equal(s.order(0), EpochBatchSampler(50, 8, seed=4).order(0))
    s.set_epoch(1, skip_batches=2)
    assert list(s) == s.batches(1)[2:] and len(s) == len(s.batches(1)) - 2


def test_sampler_chunk_locality_and_ranks() -> None:
    groups = np.arange(96) // 32
    s = EpochBatchSampler(96, 16, seed=0, groups=groups)
    for b in s.batches(0):
        assert len(set(groups[b])) == 1  # a batch of half a chunk never straddles chunks
    assert sorted(s.order(0).tolist()) == list(range(96))
    ranks = [EpochBatchSampler(10, 2, seed=0, rank=r, world_size=3).order(5) for r in range(3)]
    assert all(len(r) == 4 for r in ranks)
    assert set(np.concatenate(ranks).tolist()) == set(range(10))


def test_to_model_input_converts_and_resizes() -> None:
    images = torch.full((2, 48, 48, 3), 255, dtype=torch.uint8)
    images[:, :, :, 0] = 0
    x = to_model_input(images, torch.device("cpu"), 32)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32 and x.is_contiguous()
    assert torch.allclose(x[:, 0], torch.zeros(())) and torch.allclose(x[:, 1], torch.ones(()))
    same = to_model_input(images, torch.device("cpu"), 48, channels_last=True)
    assert same.shape == (2, 3, 48, 48)
    assert same.is_contiguous(memory_format=torch.channels_last)


def test_intervention_mask_is_read_from_the_file(tmp_path) -> None:
    from causalgen.generate import generate

    path = generate("pendulum-v1", tmp_path / "mix.h5", n=256, seed=0, size=32, workers=1,
                    intervention_mix=0.5)
    from causalgen.io import open_dataset

    with open_dataset(path) as ds:
        want = ds.intervened[ds.indices("train")].astype(np.float32)
    for budget in (2.0, 0.0):
        train = CausalDataset(path, "train", memory_budget_gb=budget)
        assert train.has_interventions
        _, _, mask = train.__getitems__(list(range(len(train))))
        assert mask.dtype == torch.float32
        np.testing.assert_array_equal(mask.numpy(), want)
    assert 0 < want.sum(1).mean() < 1 and want.sum(1).max() == 1  # one target per do() sample


def test_from_arrays_carries_an_intervention_mask() -> None:
    images = np.zeros((4, 32, 32, 3), np.uint8)
    labels = np.arange(8, dtype=np.float32).reshape(4, 2)
    plain = CausalDataset.from_arrays(images, labels, ["a", "b"])
    assert not plain.has_interventions and not plain.intervened.any()
    mask = np.array([[0, 0], [1, 0], [0, 1], [0, 0]])
    ds = CausalDataset.from_arrays(images, labels, ["a", "b"], intervened=mask)
    assert torch.equal(ds.__getitems__([1, 2])[2], torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(DataError, match="intervened"):
        CausalDataset.from_arrays(images, labels, ["a", "b"], intervened=mask[:, :1])
