"""Graph recovery: score a learned weighted adjacency against the dataset's true DAG.

Conventions shared by every function here (they match the HDF5 file's `adjacency` attribute):
a matrix is (n, n), entry [i, j] != 0 means an edge i -> j (row -> column). A learned matrix A is
real-valued; it becomes a graph by thresholding |A|. The diagonal (self-loops) is never an edge:
`threshold_adjacency` zeroes it and the scores ignore it. Binary inputs must hold only 0 and 1.

SID and the ancestor adjustment identification distance come from the `gadjid` package when it
is installed (they are None otherwise, and for a predicted graph that is not a DAG, where they are
undefined).

Besides the SHD against the DAG, `graph_metrics` reports `shd_cpdag`, the SHD between the
equivalence classes that the data identify (:mod:`causalvae.essential`): the CPDAG for
observational data, the interventional essential graph when the data carry intervention targets.
A learned graph with a directed cycle still gets every score that needs no DAG (SHD, precision,
recall, AUROC); the others are None and ``graph_flags`` says why. `pdag_metrics` scores a
partially directed graph (the output of PC or GES) the same way; there an undirected edge i - j
is the pair state of its own: against a true i -> j it counts 1 in both SHDs (like a reversal),
and in precision / recall it is read as both directions (one true and one false positive).
"""

from __future__ import annotations

import logging

import numpy as np

from causalvae.essential import Targets, class_name, essential_graph, pair_shd

__all__ = [
    "ancestor_aid",
    "auroc",
    "default_threshold",
    "edge_precision_recall",
    "graph_metrics",
    "is_dag",
    "pdag_metrics",
    "shd",
    "shd_curve",
    "sid",
    "threshold_adjacency",
]

log = logging.getLogger(__name__)

RELATIVE_THRESHOLD = 0.3
ABSOLUTE_FLOOR = 0.05


def _square(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} must be a square (n, n) matrix with n >= 1, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _binary(a: np.ndarray, name: str) -> np.ndarray:
    """Validated 0/1 matrix as int8 with the diagonal zeroed."""
    f = _square(a, name)
    if not np.all((f == 0) | (f == 1)):
        raise ValueError(f"{name} must be a binary adjacency (0/1 entries); threshold it first")
    out = f.astype(np.int8)
    np.fill_diagonal(out, 0)
    return out


def _pair(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, t = _binary(pred, "pred"), _binary(true, "true")
    if p.shape != t.shape:
        raise ValueError(f"pred and true differ in shape: {p.shape} vs {t.shape}")
    return p, t


def _off_diagonal(a: np.ndarray) -> np.ndarray:
    """Off-diagonal entries of a square matrix, row-major, shape (n * (n - 1),)."""
    return a[~np.eye(a.shape[0], dtype=bool)]


def threshold_adjacency(A: np.ndarray, threshold: float) -> np.ndarray:
    """Binary graph int8 (n, n): 1 where |A| > threshold off the diagonal."""
    a = _square(A, "A")
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold}")
    out = (np.abs(a) > threshold).astype(np.int8)
    np.fill_diagonal(out, 0)
    return out


def default_threshold(A: np.ndarray) -> float:
    """max(0.3 * max |off-diagonal A|, 0.05).

    The scale of a learned A is arbitrary (it trades off against the decoder's weights), so the
    cut is relative to the strongest edge; the absolute floor of 0.05 keeps a matrix of pure
    near-zero noise from yielding edges, since edges of a well-trained CausalVAE are O(1).
    """
    a = _square(A, "A")
    if a.shape[0] < 2:
        return ABSOLUTE_FLOOR
    return float(max(RELATIVE_THRESHOLD * np.abs(_off_diagonal(a)).max(), ABSOLUTE_FLOOR))


def shd(pred: np.ndarray, true: np.ndarray) -> int:
    """Structural Hamming distance between two binary graphs (n, n).

    Counts the unordered node pairs {i, j} whose connection differs: an extra edge, a missing
    edge and a reversed edge each count 1 (a reversal is one error, not a deletion plus an
    insertion); so does a 2-cycle against a single edge. This equals `gadjid.shd` on DAGs.
    """
    p, t = _pair(pred, true)
    upper = np.triu(np.ones_like(p, dtype=bool), k=1)
    differs = (p != t) | (p.T != t.T)  # pair state (i->j, j->i) differs
    return int(np.count_nonzero(differs & upper))


def edge_precision_recall(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of the directed edges of pred against true (both binary (n, n)).

    A reversed edge is a false positive and a false negative. With no predicted edges, precision
    is 1.0 if the truth has no edges either, else 0.0; with no true edges, recall is 1.0.
    """
    p, t = _pair(pred, true)
    tp = int(np.count_nonzero((p == 1) & (t == 1)))
    n_pred, n_true = int(p.sum()), int(t.sum())
    precision = tp / n_pred if n_pred else (1.0 if n_true == 0 else 0.0)
    recall = tp / n_true if n_true else 1.0
    return float(precision), float(recall)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of x (m,), tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], sorted_x.shape[0]]
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(x.shape[0])
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auroc(A: np.ndarray, true: np.ndarray) -> float:
    """Area under the ROC curve of |A| as edge scores against the true directed edges.

    Uses the n(n-1) off-diagonal entries; AUROC = (sum of the positives' ranks - P(P+1)/2)/(P N)
    (Mann-Whitney), ties averaged. 1: every true edge outscores every non-edge; 0.5: chance;
    NaN when the truth has no edges or is complete (one class only).
    """
    a = _square(A, "A")
    t = _binary(true, "true")
    if a.shape != t.shape:
        raise ValueError(f"A and true differ in shape: {a.shape} vs {t.shape}")
    scores = np.abs(_off_diagonal(a))
    labels = _off_diagonal(t).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def shd_curve(
    A: np.ndarray, true: np.ndarray, thresholds: list[float] | np.ndarray | None = None
) -> list[tuple[float, int]]:
    """SHD of `threshold_adjacency(A, t)` against true for each threshold t, ascending.

    Default thresholds: 0 and every distinct off-diagonal |A| value (so the curve visits every
    graph the edge ranking can produce, ending with the empty graph).
    """
    a = _square(A, "A")
    if thresholds is None:
        thresholds = np.unique(np.r_[0.0, np.abs(_off_diagonal(a))])
    ts = np.sort(np.asarray(thresholds, dtype=np.float64).ravel())
    return [(float(th), shd(threshold_adjacency(a, float(th)), true)) for th in ts]


def is_dag(adj: np.ndarray) -> bool:
    """True when the graph (n, n), nonzero = edge row -> column, has no directed cycle.

    A nonzero diagonal entry is a self-loop, hence a cycle. Kahn's algorithm: repeatedly remove
    nodes without incoming edges; a DAG empties.
    """
    edges = _square(adj, "adj") != 0
    alive = np.ones(edges.shape[0], dtype=bool)
    while alive.any():
        indeg = edges[np.ix_(alive, alive)].sum(axis=0)  # (alive,)
        sources = np.flatnonzero(alive)[indeg == 0]
        if sources.size == 0:
            return False
        alive[sources] = False
    return True


def _gadjid_distance(
    name: str, pred: np.ndarray, true: np.ndarray, normalized: bool
) -> float | None:
    try:
        import gadjid
    except ImportError:
        return None
    p, t = _pair(pred, true)
    if not is_dag(t):
        raise ValueError("true adjacency is not a DAG")
    if not is_dag(p):
        log.debug("%s undefined: the predicted graph has a cycle", name)
        return None
    if p.shape[0] < 2:  # no ordered pairs to get wrong (and gadjid needs 2 nodes)
        return 0.0
    fn = getattr(gadjid, name)
    # gadjid takes (g_true, g_guess), contiguous int8, direction stated explicitly.
    frac, count = fn(
        np.ascontiguousarray(t), np.ascontiguousarray(p), edge_direction="from row to column"
    )
    return float(frac) if normalized else float(count)


def sid(pred: np.ndarray, true: np.ndarray, normalized: bool = False) -> float | None:
    """Structural intervention distance (Peters & Buhlmann 2015) of pred from true (binary DAGs).

    The number of ordered pairs (i, j), i != j, whose interventional distribution p(x_j | do(x_i))
    is inferred wrongly when adjusting for pred's parents of i; `normalized` divides by n(n-1).
    Not symmetric. None when gadjid is not installed or pred has a cycle (SID needs DAGs).
    """
    return _gadjid_distance("sid", pred, true, normalized)


def ancestor_aid(pred: np.ndarray, true: np.ndarray, normalized: bool = False) -> float | None:
    """Ancestor adjustment identification distance (Henckel et al. 2024, gadjid) of pred from true.

    Like SID but adjusting for pred's ancestors of i, which is valid in more cases. Count of
    wrongly identified pairs (or the fraction with `normalized`); None as for `sid`.
    """
    return _gadjid_distance("ancestor_aid", pred, true, normalized)


def _class_scores(pred: np.ndarray, t: np.ndarray, targets: Targets | None,
                  pred_is_class: bool) -> dict:
    """shd_cpdag and the class name, or None plus a flag for a cyclic prediction."""
    name = class_name(targets)
    if not pred_is_class and not is_dag(pred):
        return {"shd_cpdag": None, "equivalence_class": name, "graph_flags": [
            "the predicted graph has a directed cycle: shd_cpdag, sid and ancestor_aid need a "
            "DAG and are None; shd, precision, recall and auroc are computed"]}
    p = pred if pred_is_class else essential_graph(pred, targets)
    return {"shd_cpdag": pair_shd(p, essential_graph(t, targets)), "equivalence_class": name,
            "graph_flags": []}


def graph_metrics(A: np.ndarray, true: np.ndarray, threshold: float | None = None,
                  targets: Targets | None = None) -> dict:
    """Every graph-recovery score of a learned A (n, n) against the true binary DAG (n, n).

    threshold None uses `default_threshold(A)`; ``targets`` is the data's intervention target
    family (`essential.target_family`), None for observational data. Returns a JSON-ready dict:
    threshold, shd, shd_cpdag, equivalence_class, graph_flags, precision, recall, auroc (NaN
    with one class), sid / sid_normalized / ancestor_aid / ancestor_aid_normalized (None if
    unavailable or pred has a cycle), pred_is_dag, n_edges_pred, n_edges_true,
    learned_adjacency (floats), predicted_adjacency, true_adjacency (ints), shd_curve.
    """
    a = _square(A, "A")
    t = _binary(true, "true")
    if a.shape != t.shape:
        raise ValueError(f"A and true differ in shape: {a.shape} vs {t.shape}")
    if not is_dag(t):
        raise ValueError("true adjacency is not a DAG")
    th = default_threshold(a) if threshold is None else float(threshold)
    pred = threshold_adjacency(a, th)
    precision, recall = edge_precision_recall(pred, t)
    return {
        "threshold": th,
        "shd": shd(pred, t),
        **_class_scores(pred, t, targets, pred_is_class=False),
        "precision": precision,
        "recall": recall,
        "auroc": auroc(a, t),
        "sid": sid(pred, t),
        "sid_normalized": sid(pred, t, normalized=True),
        "ancestor_aid": ancestor_aid(pred, t),
        "ancestor_aid_normalized": ancestor_aid(pred, t, normalized=True),
        "pred_is_dag": is_dag(pred),
        "n_edges_pred": int(pred.sum()),
        "n_edges_true": int(t.sum()),
        "learned_adjacency": a.tolist(),
        "predicted_adjacency": pred.astype(int).tolist(),
        "true_adjacency": t.astype(int).tolist(),
        "shd_curve": [[th_i, s] for th_i, s in shd_curve(a, t)],
    }


def pdag_metrics(pdag: np.ndarray, true: np.ndarray, targets: Targets | None = None) -> dict:
    """Scores of a partially directed graph (n, n; i - j has both entries set) against the
    true DAG: shd (vs the DAG), shd_cpdag (vs the true class, compared as given), precision,
    recall, n_undirected, and the matrices. SID needs a DAG and is left out."""
    p, t = _pair(pdag, true)
    if not is_dag(t):
        raise ValueError("true adjacency is not a DAG")
    precision, recall = edge_precision_recall(p, t)
    return {
        "shd": shd(p, t),
        **_class_scores(p, t, targets, pred_is_class=True),
        "precision": precision,
        "recall": recall,
        "n_undirected": int(np.count_nonzero(np.triu(p & p.T, 1))),
        "predicted_adjacency": p.astype(int).tolist(),
        "true_adjacency": t.astype(int).tolist(),
    }
