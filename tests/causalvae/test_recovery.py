"""End to end: data with per-sample interventions -> ``causalvae-int`` -> the generating graph.

The generator writes which variable do() set in each sample (``--intervention-mix``); the
``causalvae-int`` settings (interventional likelihood, Lipschitz label mechanisms, Gaussian label
likelihood, augmented-Lagrangian acyclicity) recover the pendulum's graph from such a file. The
images are small (32 px, narrow nets): the graph is learned from the labels and the mask, and the
VAE around it is trained as usual.
"""

from __future__ import annotations

import numpy as np
import pytest

from causalgen.generate import generate
from causalgen.io import open_dataset
from causalvae.config import RunConfig, apply_overrides
from causalvae.graph import graph_metrics
from causalvae.train import train

FAST = ["image_size=32", "conv_width=8", "hidden=32", "device=cpu", "checkpoint_every=1000",
        "recon_images=2", "batch_size=64"]


def _recover(scene: str, tmp_path, n: int, epochs: int, seed: int = 0) -> dict:
    data = generate(scene, tmp_path / f"{scene}.h5", n=n, seed=seed, size=32, workers=1,
                    intervention_mix=0.5)
    cfg = apply_overrides(RunConfig.default("causalvae-int"),
                          [*FAST, f"epochs={epochs}", f"seed={seed}"])
    cfg.train.out = str(tmp_path / "run")
    train(cfg, data)
    A = np.load(tmp_path / "run" / "A.npy")
    with open_dataset(data) as ds:
        assert ds.intervened is not None and ds.intervened.any()
        true = ds.adjacency
    return graph_metrics(A, true, threshold=cfg.model.edge_threshold())


def test_causalvae_int_recovers_the_pendulum_graph(tmp_path) -> None:
    metrics = _recover("pendulum-v1", tmp_path, n=2560, epochs=25)
    assert metrics["shd"] <= 1, metrics["learned_adjacency"]
    assert metrics["pred_is_dag"]


@pytest.mark.slow
def test_causalvae_int_recovers_the_flow_graph(tmp_path) -> None:
    metrics = _recover("flow-v1", tmp_path, n=2560, epochs=25)
    assert metrics["shd"] <= 1, metrics["learned_adjacency"]
