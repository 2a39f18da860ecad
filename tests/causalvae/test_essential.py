"""Equivalence classes: known graphs, and a brute-force enumeration of random classes."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from causalvae.essential import (
    class_name,
    cpdag,
    essential_graph,
    shd_cpdag,
    target_family,
    v_structures,
)
from causalvae.graph import is_dag, shd


def _adj(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    a = np.zeros((n, n), dtype=np.int8)
    for i, j in edges:
        a[i, j] = 1
    return a


CHAIN = _adj(3, [(0, 1), (1, 2)])
REVERSED = _adj(3, [(2, 1), (1, 0)])


def test_chain_cpdag_is_undirected_and_reversal_costs_nothing():
    c = cpdag(CHAIN)
    assert np.array_equal(c, c.T) and c.sum() == 4  # 0 - 1 - 2
    assert shd(REVERSED, CHAIN) == 2  # the DAG SHD counts both reversals
    assert shd_cpdag(REVERSED, CHAIN) == 0  # the data cannot tell them apart


def test_intervention_on_the_root_orients_the_chain():
    targets = [frozenset(), frozenset({0})]
    assert np.array_equal(essential_graph(CHAIN, targets), CHAIN)  # cut 0 -> 1, then Meek R1
    assert shd_cpdag(REVERSED, CHAIN, targets) == 2
    assert class_name(targets) == "interventional essential graph"
    assert class_name([frozenset()]) == class_name(None) == "cpdag"


def test_collider_is_fully_oriented():
    pendulum = _adj(4, [(0, 2), (0, 3), (1, 2), (1, 3)])  # two angles -> two shadows
    assert np.array_equal(cpdag(pendulum), pendulum)
    assert v_structures(pendulum) == [(0, 2, 1), (0, 3, 1)]


def test_undirected_edge_counts_one_against_a_directed_truth():
    pdag = CHAIN.copy()
    pdag[1, 0] = 1  # 0 - 1 undirected, 1 -> 2
    truth_class = essential_graph(CHAIN, [frozenset(), frozenset({0})])  # fully directed
    assert shd_cpdag(pdag, CHAIN, [frozenset(), frozenset({0})], pred_is_class=True) == 1
    assert shd_cpdag(cpdag(CHAIN), CHAIN, pred_is_class=True) == 0
    assert truth_class.sum() == 2


def test_target_family_reads_distinct_rows():
    mask = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 1]], dtype=np.uint8)
    assert target_family(mask) == [frozenset(), frozenset({0}), frozenset({1, 2})]
    assert target_family(None) == []


def test_cyclic_prediction_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        shd_cpdag(_adj(3, [(0, 1), (1, 2), (2, 0)]), CHAIN)


def _brute_force_class(dag: np.ndarray, targets: list[frozenset[int]]) -> np.ndarray:
    """Union of every DAG on the skeleton that is interventionally Markov equivalent to dag
    (Hauser & Buehlmann 2012, Theorem 10: same skeleton and v-structures of D and of each
    D^(I), the DAG with the edges into I removed)."""
    edges = list(zip(*np.nonzero(dag), strict=True))

    def signature(d: np.ndarray) -> list:
        sig = [v_structures(d)]
        for t in targets:
            cut = d.copy()
            cut[:, sorted(t)] = 0
            sig += [(cut | cut.T).tolist(), v_structures(cut)]
        return sig

    want = signature(dag)
    union = np.zeros_like(dag)
    for flips in product((False, True), repeat=len(edges)):
        d = np.zeros_like(dag)
        for (i, j), f in zip(edges, flips, strict=True):
            d[(j, i) if f else (i, j)] = 1
        if is_dag(d) and signature(d) == want:
            union |= d
    return union


def _random_dag(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    order = rng.permutation(n)
    upper = np.triu(rng.random((n, n)) < p, 1).astype(np.int8)
    return upper[np.ix_(np.argsort(order), np.argsort(order))]


@pytest.mark.parametrize("seed", range(40))
def test_essential_graph_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 7))
    dag = _random_dag(rng, n, float(rng.uniform(0.3, 0.7)))
    targets = [frozenset()]
    if seed % 2:  # half of the cases carry single- or two-variable interventions
        targets += [frozenset(int(x) for x in rng.choice(n, size=int(rng.integers(1, 3)),
                                                         replace=False))
                    for _ in range(int(rng.integers(1, 3)))]
    if int(dag.sum()) > 10:
        pytest.skip("too many edges to enumerate quickly")
    assert np.array_equal(essential_graph(dag, targets), _brute_force_class(dag, targets))


def test_graph_metrics_report_both_shds_and_flag_a_cycle():
    from causalvae.graph import graph_metrics, pdag_metrics

    g = graph_metrics(REVERSED.astype(float), CHAIN, threshold=0.5)
    assert (g["shd"], g["shd_cpdag"], g["equivalence_class"], g["graph_flags"]) == (2, 0, "cpdag", [])
    g = graph_metrics(REVERSED.astype(float), CHAIN, threshold=0.5, targets=[set(), {0}])
    assert g["shd_cpdag"] == 2 and g["equivalence_class"] == "interventional essential graph"
    cyclic = _adj(3, [(0, 1), (1, 2), (2, 0)]).astype(float)
    g = graph_metrics(cyclic, CHAIN, threshold=0.5)
    assert g["shd"] == 1 and g["shd_cpdag"] is None and g["sid"] is None
    assert "cycle" in g["graph_flags"][0] and g["precision"] == pytest.approx(2 / 3)
    p = pdag_metrics(cpdag(CHAIN), CHAIN)  # PC's answer on a chain: both edges undirected
    assert (p["shd"], p["shd_cpdag"], p["n_undirected"]) == (2, 0, 2)
    assert (p["precision"], p["recall"]) == (0.5, 1.0)
