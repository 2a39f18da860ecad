"""The recommended model's structure stage (support from PC, A fitted labels-first) and partial
labels (``label_fraction``, the missing-label flag)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from causalvae.data import CausalDataset, labelled_positions
from causalvae.errors import ConfigError
from causalvae.train import Trainer, train
from tests.causalvae.conftest import ADJ, NAMES, tiny_arrays


def test_support_and_labels_first_fit_happen_before_training(tiny_data, make_config,
                                                             tmp_path) -> None:
    trainer = Trainer(make_config("causalvae", "epochs=1", "ci_test=fisherz"), tiny_data,
                      run_dir=tmp_path)
    model = trainer.model
    assert not model.adjacency_raw.requires_grad  # frozen from the start: not in the optimiser
    assert all(p is not model.adjacency_raw for g in trainer.optimizer.param_groups
               for p in g["params"])
    trainer.fit()
    record = json.loads((tmp_path / "structure.json").read_text())
    support = np.asarray(record["discovery"]["support"])
    assert record["labelled_samples"] == 96 and support.shape == (3, 3)
    np.testing.assert_array_equal(model.support.numpy(), support)
    a = model.learned_adjacency()
    assert np.all(a[support == 0] == 0) and np.abs(a).sum() > 0  # fitted, on the support only
    # what training saw is what the labels-first fit left: A did not move during the epoch
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    torch.testing.assert_close(state["model"]["adjacency_raw"], model.adjacency_raw)
    assert "support" in state["model"]


def test_the_oracle_support_is_the_files_graph(tiny_data, make_config) -> None:
    trainer = Trainer(make_config("causalvae", "epochs=1", "structure_support=dataset"),
                      tiny_data)
    trainer.fit()
    np.testing.assert_array_equal(trainer.model.support.numpy(), ADJ)


def test_label_fraction_hides_a_seeded_recorded_subset(tiny_h5, make_config, tmp_path) -> None:
    cfg = make_config("causalvae", "epochs=1", "label_fraction=0.25", "ci_test=fisherz",
                      out=tmp_path / "run")
    train(cfg, tiny_h5)
    labelled = np.load(tmp_path / "run" / "labelled.npy")
    assert len(labelled) == 18  # round(0.25 * 72 train images)
    np.testing.assert_array_equal(labelled, labelled_positions(72, 0.25, 0))
    record = json.loads((tmp_path / "run" / "structure.json").read_text())
    assert record["labelled_samples"] == 18
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    raw = CausalDataset(tiny_h5, "train").raw_labels
    np.testing.assert_allclose(state["label_stats"]["mean"], raw[labelled].mean(0), rtol=1e-5)


def test_label_fraction_needs_a_model_that_knows_labels_are_missing(make_config) -> None:
    with pytest.raises(ConfigError, match="missing_flag"):
        make_config("causalvae-paper", "label_fraction=0.5")
    with pytest.raises(ConfigError, match="reads no labels"):
        make_config("betavae", "label_fraction=0.5")
    with pytest.raises(ConfigError, match="label_fraction"):
        make_config("causalvae", "label_fraction=0")


@pytest.mark.parametrize("model", ["causalvae", "conditionvae"])
def test_unlabelled_and_image_only_encoding(model: str, make_config) -> None:
    images, labels = tiny_arrays(48)
    data = CausalDataset.from_arrays(images, labels, NAMES, adjacency=ADJ)
    data.hide_labels(np.arange(0, 48, 2))  # every other image unlabelled
    extra = ["ci_test=fisherz"] if model == "causalvae" else []
    trainer = Trainer(make_config(model, "epochs=1", *extra), data)
    result = trainer.fit()
    assert all(np.isfinite(v) for row in result.history for v in row.values()
               if isinstance(v, float))
    net = trainer.model.eval()
    x = torch.rand(4, 3, 32, 32)
    alone = net.representation(x, None)  # no labels at all: the flag says so
    nan = net.representation(x, torch.full((4, 3), float("nan")))
    torch.testing.assert_close(alone, nan)
    fed = net.representation(x, torch.zeros(4, 3))
    assert alone.shape == fed.shape == (4, 12) and not torch.equal(alone, fed)


def test_labelled_share_batches_hold_that_share_and_replay_exactly() -> None:
    from causalvae.data import LabelledShareSampler

    labelled = labelled_positions(1000, 0.1, 3)
    s = LabelledShareSampler(1000, 128, labelled, 0.5, seed=3)
    batches = s.batches(0)
    assert len(batches) == len(s) == 8  # as many batches as a plain epoch
    assert all(len(b) == 128 and np.isin(b, labelled).sum() == 64 for b in batches)
    unl = np.concatenate([np.asarray(b)[~np.isin(b, labelled)] for b in batches])
    assert len(np.unique(unl)) == len(unl)  # unlabelled images: no repeat within an epoch
    assert s.batches(0) == LabelledShareSampler(1000, 128, labelled, 0.5, seed=3).batches(0)
    assert s.batches(1) != batches
    s.set_epoch(0, 3)
    assert list(iter(s)) == batches[3:] and len(s) == 5  # a mid-epoch resume skips what was done
    ranks = [LabelledShareSampler(1000, 128, labelled, 0.5, seed=3, rank=r, world_size=3)
             for r in range(3)]
    assert len({len(r) for r in ranks}) == 1  # every DDP rank takes as many steps


def test_label_fraction_below_the_share_draws_labelled_share_batches(tiny_data,
                                                                    make_config) -> None:
    from causalvae.data import EpochBatchSampler, LabelledShareSampler

    def sampler(*items: str) -> EpochBatchSampler:
        images, labels = tiny_arrays()
        data = CausalDataset.from_arrays(images, labels, NAMES, adjacency=ADJ)
        return Trainer(make_config("causalvae", "ci_test=fisherz", *items), data).sampler

    s = sampler("label_fraction=0.25", "labelled_share=0.5")
    assert isinstance(s, LabelledShareSampler) and s.per_batch == 8
    assert type(sampler("label_fraction=0.25", "labelled_share=0")) is EpochBatchSampler
    assert type(sampler("labelled_share=0.5")) is EpochBatchSampler  # every image labelled
    with pytest.raises(ConfigError, match="labelled_share"):
        make_config("causalvae", "labelled_share=1")


def test_a_saved_config_without_labelled_share_ran_without_it() -> None:
    from causalvae.config import RunConfig

    saved = RunConfig.from_dict({"version": 2,
                                 "train": {"model": "causalvae", "label_fraction": 0.1},
                                 "model": {"missing_flag": True}}, saved=True)
    assert saved.train.labelled_share == 0.0


def test_a_u_shaped_edge_survives_the_fit_only_from_a_non_zero_start(make_config) -> None:
    """y = 6 x^2 has no linear trace in x: from A = 0 the fit's gradient on A_xy is ~0 and l1
    keeps it there; started on the support with l1 ramped in, the edge is fitted (known answer:
    the oracle support x -> y, z independent)."""
    rng = np.random.default_rng(0)
    n = 4000
    half = rng.uniform(0, 1, n // 2)
    x = np.concatenate([half, -half])  # symmetric: no linear trace of x in y, even by chance
    y = 6 * x**2 + np.tile(rng.normal(0, 0.3, n // 2), 2)
    labels = np.stack([x, y, rng.uniform(0, 1, n)], 1)
    images = np.zeros((n, 32, 32, 3), np.uint8)
    adj = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])

    def fitted(*items: str) -> np.ndarray:
        data = CausalDataset.from_arrays(images, labels.astype(np.float32), NAMES, adjacency=adj)
        trainer = Trainer(make_config("causalvae", "structure_support=dataset",
                                      "structure_steps=1500", "batch_size=128", *items), data)
        record = trainer.prepare_structure()
        return np.abs(trainer.model.learned_adjacency()), record

    a0, _ = fitted("structure_init=0", "structure_l1_warmup=0")
    a1, record = fitted("structure_init=0.5", "structure_l1_warmup=0.5")
    assert a0[0, 1] < 0.1 < a1[0, 1]
    assert record["structure_init"] == 1 and record["fit"]["l1_warmup_steps"] == 750
    assert a1[1, 0] == a1[0, 2] == 0  # nothing off the support


def test_a_fit_that_makes_a_new_collider_is_refitted_inside_the_class(make_config) -> None:
    """Observational chain x -> y -> w: the support leaves x - y - w undirected. A fit that
    reads x -> y <- w (a collider the CPDAG excludes) is cut to the best class member and fitted
    again; the new graph has no such collider."""
    from causalvae.models.structure import _class_member_refit

    rng = np.random.default_rng(1)
    n = 600
    x = rng.uniform(-1, 1, n)
    y = np.tanh(2 * x) + 0.2 * rng.standard_normal(n)
    w = y**3 + 0.2 * rng.standard_normal(n)
    labels = np.stack([x, y, w], 1).astype(np.float32)
    data = CausalDataset.from_arrays(np.zeros((n, 32, 32, 3), np.uint8), labels, NAMES,
                                     adjacency=np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]))
    trainer = Trainer(make_config("causalvae", "structure_support=dataset",
                                  "structure_steps=600", "batch_size=128"), data)
    model = trainer.model
    und = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=torch.float32)
    model.support.copy_(und)
    with torch.no_grad():  # as if the fit had chosen x -> y <- w
        model.adjacency_raw.copy_(torch.tensor([[0, 1.0, 0], [0.05, 0, 0.02], [0, 0.8, 0]]))
    u = torch.as_tensor((labels - labels.mean(0)) / labels.std(0))
    record = _class_member_refit(model, u, None, seed=0, batch_size=128, lr=1e-2)
    assert record is not None
    member = np.asarray(record["support"])
    assert member[0, 1] + member[2, 1] <= 1  # no longer a collider at y
    assert member.sum() == 2 and (member + member.T).tolist() == und.int().tolist()
    a = np.abs(model.learned_adjacency())
    assert np.all(a[member == 0] == 0)
    # a fit that already is a class member is left alone
    assert _class_member_refit(model, u, None, seed=0, batch_size=128, lr=1e-2) is None


@pytest.mark.parametrize(("intervened", "cap"), [(False, 800), (True, 400)])
def test_pc_gets_the_larger_sample_only_when_it_is_the_only_evidence(
        make_config, monkeypatch, intervened: bool, cap: int) -> None:
    import causalvae.discovery as discovery

    seen = {}

    def fake(labels, mask, **kw):
        seen.update(kw)
        n = labels.shape[1]
        return discovery.SupportResult(np.ones((n, n), np.int8) - np.eye(n, dtype=np.int8),
                                       None, None, len(labels), kw["test"], kw["alpha"], 0.0)

    monkeypatch.setattr(discovery, "discover_support", fake)
    images, labels = tiny_arrays()
    data = CausalDataset.from_arrays(images, labels, NAMES, adjacency=ADJ)
    if intervened:
        data.intervened[:10, 0] = 1
    trainer = Trainer(make_config("causalvae", "structure_steps=10"), data)
    record = trainer.prepare_structure()
    assert seen["max_samples"] == cap
    assert seen["repair"] is True  # discovery repairs only a file without interventions
    assert seen["repair_interventional"] is True  # and adds missed edges only with them
    assert seen["repair_colliders"] is True  # and re-searches without colliders it shields
    assert ("l1" in record) is not intervened  # l1 on undirected pairs only without do()


def test_l1_falls_on_the_smaller_direction_of_undirected_pairs_only(make_config) -> None:
    from causalvae.models.structure import _l1_term

    images, labels = tiny_arrays()
    data = CausalDataset.from_arrays(images, labels, NAMES, adjacency=ADJ)
    model = Trainer(make_config("causalvae", "structure_steps=10"), data).model
    n = model.support.shape[0]
    support = torch.zeros(n, n)
    support[0, 1] = support[1, 0] = 1  # 0 - 1 undirected
    support[1, 2] = 1  # 1 -> 2 vetted one way
    model.support.copy_(support)
    with torch.no_grad():
        raw = torch.zeros(n, n)
        raw[0, 1], raw[1, 0], raw[1, 2] = 0.7, -0.2, 2.0
        model.adjacency_raw.copy_(raw)
    assert float(_l1_term(model, True)) == pytest.approx(0.2)  # min(|0.7|, |-0.2|); 1 -> 2 free
    assert float(_l1_term(model, False)) == pytest.approx(2.9)
