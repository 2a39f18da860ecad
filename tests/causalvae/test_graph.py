"""Graph-recovery scores on hand-computed cases (row -> column adjacency convention)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causalvae.graph import (
    ancestor_aid,
    auroc,
    default_threshold,
    edge_precision_recall,
    graph_metrics,
    is_dag,
    shd,
    shd_curve,
    sid,
    threshold_adjacency,
)

# 0 -> 1 -> 2, 0 -> 2, 3 isolated
TRUE = np.array(
    [[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    dtype=np.int8,
)
CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.int8)  # 0 -> 1 -> 2


def _with(adj: np.ndarray, *edges: tuple[int, int], drop: tuple[tuple[int, int], ...] = ()):
    out = adj.copy()
    for i, j in edges:
        out[i, j] = 1
    for i, j in drop:
        out[i, j] = 0
    return out


# --- thresholding -------------------------------------------------------------------------


def test_threshold_adjacency_uses_magnitude_and_zeroes_diagonal():
    A = np.array([[5.0, -0.8, 0.1], [0.3, 2.0, 0.0], [0.0, 0.31, 0.0]])
    out = threshold_adjacency(A, 0.3)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_threshold_adjacency_rejects_bad_threshold(bad):
    with pytest.raises(ValueError, match="threshold"):
        threshold_adjacency(np.zeros((2, 2)), bad)


def test_default_threshold_is_relative_with_floor_and_ignores_diagonal():
    A = np.array([[100.0, 2.0], [-0.5, 100.0]])
    assert default_threshold(A) == pytest.approx(0.6)
    assert default_threshold(np.array([[0.0, 0.01], [0.02, 0.0]])) == 0.05
    assert default_threshold(np.zeros((1, 1))) == 0.05


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 3)), np.zeros(3), np.zeros((0, 0)), np.array([[0, np.nan], [0, 0]])]
)
def test_inputs_are_validated(bad):
    with pytest.raises(ValueError):
        default_threshold(bad)


def test_binary_inputs_are_validated():
    with pytest.raises(ValueError, match="binary"):
        shd(np.array([[0, 0.5], [0, 0]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        shd(np.zeros((2, 2)), np.zeros((3, 3)))


# --- SHD, precision, recall ---------------------------------------------------------------


def test_shd_hand_cases():
    assert shd(TRUE, TRUE) == 0
    assert shd(_with(TRUE, (1, 0), drop=((0, 1),)), TRUE) == 1  # reversed edge counts once
    assert shd(_with(TRUE, drop=((1, 2),)), TRUE) == 1  # missing
    assert shd(_with(TRUE, (2, 3)), TRUE) == 1  # extra
    assert shd(_with(TRUE, (1, 0)), TRUE) == 1  # 2-cycle against a single edge
    assert shd(np.zeros_like(TRUE), TRUE) == 3
    both = _with(TRUE, (1, 0), (3, 0), drop=((0, 1), (0, 2)))  # reversed + missing + extra
    assert shd(both, TRUE) == 3


def _random_dag(draw, n: int) -> np.ndarray:
    upper = draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))
    adj = np.triu(np.array(upper, dtype=np.int8).reshape(n, n), k=1)
    perm = np.array(draw(st.permutations(range(n))))
    return np.ascontiguousarray(adj[np.ix_(perm, perm)])


@st.composite
def dag_pairs(draw):
    n = draw(st.integers(2, 6))
    return _random_dag(draw, n), _random_dag(draw, n)


@settings(max_examples=60, deadline=None)
@given(dag_pairs())
def test_shd_is_symmetric_and_matches_gadjid(pair):
    gadjid = pytest.importorskip("gadjid")
    a, b = pair
    assert shd(a, b) == shd(b, a)
    assert shd(a, b) == gadjid.shd(b, a)[1]
    assert is_dag(a) and is_dag(b)


def test_precision_recall_hand_cases():
    pred = _with(TRUE, (1, 0), (2, 3), drop=((0, 1),))  # 0->1 reversed, 2->3 extra
    # pred edges: 1->0, 0->2, 1->2, 2->3 (tp = 2 of 4); true edges: 3 (2 recovered)
    assert edge_precision_recall(pred, TRUE) == pytest.approx((0.5, 2 / 3))
    assert edge_precision_recall(TRUE, TRUE) == (1.0, 1.0)
    empty = np.zeros_like(TRUE)
    assert edge_precision_recall(empty, TRUE) == (0.0, 0.0)
    assert edge_precision_recall(empty, empty) == (1.0, 1.0)
    assert edge_precision_recall(TRUE, empty) == (0.0, 1.0)


# --- AUROC and the SHD curve --------------------------------------------------------------


def test_auroc_perfect_inverted_tied_and_one_class():
    perfect = TRUE * 2.0 - 0.1 * (1 - TRUE)  # edges 2.0, non-edges -0.1 (|.| = 0.1)
    assert auroc(perfect, TRUE) == 1.0
    inverted = np.where(TRUE == 1, 0.1, 1.0)
    assert auroc(inverted, TRUE) == 0.0
    assert auroc(np.ones((4, 4)), TRUE) == 0.5  # all tied
    assert np.isnan(auroc(np.ones((4, 4)), np.zeros((4, 4))))


def test_auroc_random_is_near_half_and_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    n = 40
    true = np.triu((rng.uniform(size=(n, n)) < 0.2).astype(np.int8), k=1)
    A = np.round(rng.normal(size=(n, n)), 1)  # many ties
    off = ~np.eye(n, dtype=bool)
    expected = roc_auc_score(true[off], np.abs(A[off]))
    assert auroc(A, true) == pytest.approx(expected, abs=1e-12)
    assert 0.4 < auroc(A, true) < 0.6


def test_shd_curve_default_and_custom_thresholds():
    A = np.array([[0.0, 0.9, 0.2], [0.05, 0.0, 0.6], [0.0, 0.0, 0.0]])
    true = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    curve = shd_curve(A, true)
    assert [t for t, _ in curve] == [0.0, 0.05, 0.2, 0.6, 0.9]
    # >0: 0->1, 0->2, 1->0, 1->2; >0.05 drops 1->0; >0.2 drops 0->2; >0.6 drops 1->2; >0.9 empty
    assert [s for _, s in curve] == [2, 1, 0, 1, 2]
    assert shd_curve(A, true, thresholds=[0.7, 0.1]) == [(0.1, 1), (0.7, 1)]


# --- DAG check, SID, AID ------------------------------------------------------------------


def test_is_dag():
    assert is_dag(TRUE)
    assert is_dag(np.zeros((3, 3)))
    assert not is_dag(_with(CHAIN, (2, 0)))
    assert not is_dag(np.array([[1, 0], [0, 0]]))  # self-loop
    assert not is_dag(np.array([[0, 1], [1, 0]]))


def test_sid_hand_computed_cases():
    pytest.importorskip("gadjid")
    assert sid(CHAIN, CHAIN) == 0.0
    # Reversing 0->1: do(x0) adjusts for x1 (a descendant: wrong for x1 and x2), do(x1) adjusts
    # for nothing (wrong for x0); 3 of 6 ordered pairs.
    reversed_edge = _with(CHAIN, (1, 0), drop=((0, 1),))
    assert sid(reversed_edge, CHAIN) == 3.0
    assert sid(reversed_edge, CHAIN, normalized=True) == 0.5
    fork = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]])
    triangle = _with(fork, (1, 2))
    # A supergraph of the truth keeps every parent adjustment valid: SID 0 although SHD 1 ...
    assert sid(triangle, fork) == 0.0 and shd(triangle, fork) == 1
    # ... while dropping 1->2 makes do(x2) adjust for x0 only, wrongly implying x2 affects x1.
    assert sid(fork, triangle) == 1.0
    assert ancestor_aid(CHAIN, CHAIN) == 0.0
    assert ancestor_aid(reversed_edge, CHAIN) > 0


def test_sid_undefined_for_cyclic_prediction_and_without_gadjid(monkeypatch):
    pytest.importorskip("gadjid")
    assert sid(_with(CHAIN, (2, 0)), CHAIN) is None
    with pytest.raises(ValueError, match="not a DAG"):
        sid(CHAIN, _with(CHAIN, (2, 0)))
    assert sid(np.zeros((1, 1)), np.zeros((1, 1))) == 0.0
    monkeypatch.setitem(sys.modules, "gadjid", None)  # import now raises ImportError
    assert sid(CHAIN, CHAIN) is None
    assert ancestor_aid(CHAIN, CHAIN) is None


def test_graph_metrics_bundle_for_good_and_bad_estimates():
    import json

    A = TRUE * 1.2 + 0.01 * np.ones((4, 4))  # right graph, small noise
    good = graph_metrics(A, TRUE)
    json.dumps(good)  # JSON-ready
    assert good["threshold"] == pytest.approx(0.3 * 1.21)
    assert good["shd"] == 0 and good["precision"] == 1.0 and good["recall"] == 1.0
    assert good["auroc"] == 1.0
    assert good["n_edges_pred"] == good["n_edges_true"] == 3
    assert good["predicted_adjacency"] == TRUE.tolist()
    assert good["true_adjacency"] == TRUE.tolist()
    assert good["learned_adjacency"][0][1] == pytest.approx(1.21)
    assert good["pred_is_dag"]
    if good["sid"] is not None:
        assert good["sid"] == 0.0 and good["ancestor_aid"] == 0.0
    assert good["shd_curve"][0][0] == 0.0 and good["shd_curve"][-1] == [1.21, 3]

    bad = graph_metrics(TRUE.T * 1.0, TRUE, threshold=0.5)  # every edge reversed
    assert bad["threshold"] == 0.5
    assert bad["shd"] == 3 and bad["precision"] == 0.0 and bad["recall"] == 0.0
    assert bad["auroc"] < 0.5
    if bad["sid"] is not None:
        assert bad["sid"] > 0
