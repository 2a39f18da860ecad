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
