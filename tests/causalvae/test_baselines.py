"""Label-only baselines: PC / GES recover the class of a linear-Gaussian SCM; indicators orient."""

from __future__ import annotations

import json
from graphlib import TopologicalSorter

import numpy as np
import pytest

from causalvae.baselines import BaselineSettings, discover, list_baselines, run_baseline
from causalvae.errors import ConfigError
from causalvae.essential import cpdag, essential_graph

FISHERZ = BaselineSettings(ci_test="fisherz")


def _linear_gaussian(adj: np.ndarray, n: int, seed: int, do: dict[int, np.ndarray] | None = None,
                     ) -> np.ndarray:
    """Samples of x_j = sum_i w_ij x_i + e_j in topological order; do[j] overrides x_j."""
    rng = np.random.default_rng(seed)
    w = adj * rng.uniform(0.8, 1.5, size=adj.shape) * rng.choice([-1, 1], size=adj.shape)
    x = np.zeros((n, adj.shape[0]))
    order = TopologicalSorter({j: set(np.flatnonzero(adj[:, j])) for j in range(len(adj))})
    for j in order.static_order():
        x[:, j] = x @ w[:, j] + rng.normal(size=n)
        if do and j in do:
            x[:, j] = np.where(np.isnan(do[j]), x[:, j], do[j])
    return x


# 0 -> 1 -> 2, 3 -> 2, 2 -> 4: a chain into a collider, then a chain out of it
GRAPH = np.zeros((5, 5), np.int8)
for i, j in [(0, 1), (1, 2), (3, 2), (2, 4)]:
    GRAPH[i, j] = 1


@pytest.mark.parametrize("name", ["pc", "ges"])
def test_pc_and_ges_recover_the_cpdag_of_a_large_linear_gaussian_sample(name):
    x = _linear_gaussian(GRAPH, 5000, seed=0)
    pdag, _ = discover(name, x, None, FISHERZ)
    assert np.array_equal(pdag, cpdag(GRAPH))


def test_indicators_orient_what_observational_pc_cannot():
    chain = np.zeros((3, 3), np.int8)
    chain[2, 1] = chain[1, 0] = 1  # 2 -> 1 -> 0: one undirected class without interventions
    n = 4000
    rng = np.random.default_rng(1)
    hit = rng.random(n) < 0.5
    do = {2: np.where(hit, rng.normal(3, 1, size=n), np.nan)}  # a mean shift Fisher-z sees
    x = _linear_gaussian(chain, n, seed=2, do=do)
    mask = np.zeros((n, 3), np.uint8)
    mask[:, 2] = hit
    plain, _ = discover("pc", x, mask, FISHERZ)
    assert np.array_equal(plain, cpdag(chain))  # both edges undirected
    oriented, info = discover("pc-int", x, mask, FISHERZ)
    assert info["indicators"] == [2]
    assert np.array_equal(oriented, essential_graph(chain, [set(), {2}]))
    assert np.array_equal(oriented, chain)


def test_registry_and_settings():
    assert {"pc", "ges", "pc-int"} <= set(list_baselines())
    with pytest.raises(ConfigError, match="unknown baseline"):
        discover("pcc", np.zeros((30, 2)), None)
    with pytest.raises(ConfigError, match="ci_test"):
        BaselineSettings().with_items(["ci_test=chi2"])
    with pytest.raises(ConfigError, match="unknown baseline setting"):
        BaselineSettings().with_items(["lr=1"])
    assert BaselineSettings().with_items(["alpha=0.05"]).alpha == 0.05


def test_run_baseline_on_a_file_writes_scores(tiny_h5, tmp_path):
    rec = run_baseline("ges", tiny_h5, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert saved["shd"] == rec["shd"] and rec["shd_cpdag"] is not None
    assert rec["kind"] == "label-only baseline" and rec["discovery_s"] >= 0
    other = run_baseline("pc", tiny_h5, tmp_path / "run", FISHERZ)  # not ges's record again
    assert other["model"] == "pc" and other["settings"]["ci_test"] == "fisherz"
