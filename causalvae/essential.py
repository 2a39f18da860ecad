"""Equivalence classes of DAGs: the CPDAG and the interventional essential graph.

Data do not identify a DAG, only its equivalence class: from observational data the Markov
equivalence class, drawn as a CPDAG (completed partially directed acyclic graph); from data that
also hold interventions with known targets, the smaller interventional Markov equivalence class
of Hauser & Buehlmann (JMLR 2012), drawn as the interventional essential graph. Both are built
the same way here: keep the DAG's skeleton, orient the edges of its v-structures and (with
targets) every edge that some target set cuts (exactly one endpoint intervened on), then close
under Meek's rules R1-R4. Tests check the result against a brute-force enumeration of the class.

Matrix conventions as in :mod:`causalvae.graph` (entry [i, j] = 1 is an edge i -> j, row ->
column), with one addition for partially directed graphs: an undirected edge i - j has both
[i, j] and [j, i] set. A target family is a list of sets of variable indices, one per
experimental regime; the empty set stands for observational samples.

``shd_cpdag`` is the structural Hamming distance between two classes: it counts the unordered
pairs {i, j} whose state (no edge, i -> j, j -> i, i - j) differs, so an undirected edge against
a directed one counts 1, like a reversal. A learned DAG is first replaced by its own class under
the same targets, so a DAG that the data cannot tell from the truth scores 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np

__all__ = [
    "class_name",
    "cpdag",
    "essential_graph",
    "meek_closure",
    "orient_colliders",
    "pair_shd",
    "pdag_colliders",
    "shd_cpdag",
    "target_family",
    "v_structures",
]

Targets = Sequence[Iterable[int]]  # a target family: one set of variable indices per regime


def _graph(a: np.ndarray, name: str) -> np.ndarray:
    g = np.asarray(a)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {g.shape}")
    if not np.all(np.isfinite(g.astype(np.float64))) or not np.all((g == 0) | (g == 1)):
        raise ValueError(f"{name} must be a 0/1 adjacency matrix")
    out = g.astype(np.int8)
    np.fill_diagonal(out, 0)
    return out


def _acyclic(d: np.ndarray) -> bool:
    """Kahn's algorithm on a 0/1 matrix (the same test as ``causalvae.graph.is_dag``)."""
    alive = np.ones(d.shape[0], dtype=bool)
    while alive.any():
        sources = np.flatnonzero(alive)[d[np.ix_(alive, alive)].sum(axis=0) == 0]
        if sources.size == 0:
            return False
        alive[sources] = False
    return True


def _check_dag(dag: np.ndarray, name: str) -> np.ndarray:
    d = _graph(dag, name)
    if not _acyclic(d):
        raise ValueError(f"{name} is not a DAG (it has a cycle)")
    return d


def pair_shd(a: np.ndarray, b: np.ndarray) -> int:
    """Unordered pairs {i, j} whose state (none, i -> j, j -> i, i - j) differs in a and b."""
    differs = (a != b) | (a.T != b.T)
    return int(np.count_nonzero(np.triu(differs, 1)))


def v_structures(dag: np.ndarray) -> list[tuple[int, int, int]]:
    """Every (a, b, c), a < c, with a -> b <- c and a, c not adjacent."""
    d = _graph(dag, "dag")
    adj = (d | d.T).astype(bool)
    out = []
    for b in range(d.shape[0]):
        parents = np.flatnonzero(d[:, b])
        out += [(int(a), b, int(c)) for a, c in combinations(parents, 2) if not adj[a, c]]
    return out


def _directed(g: np.ndarray, i: int, j: int) -> bool:
    return bool(g[i, j] and not g[j, i])


def _undirected(g: np.ndarray, i: int, j: int) -> bool:
    return bool(g[i, j] and g[j, i])


def _meek_orients(g: np.ndarray, adj: np.ndarray, a: int, b: int) -> bool:
    """True when one of Meek's rules orients the undirected edge a - b as a -> b."""
    n = g.shape[0]
    for c in range(n):
        if c in (a, b):
            continue
        if _directed(g, c, a) and not adj[c, b]:  # R1: c -> a - b, c and b not adjacent
            return True
        if _directed(g, a, c) and _directed(g, c, b):  # R2: a -> c -> b
            return True
    # R3: a - c -> b and a - d -> b with c, d not adjacent
    mids = [c for c in range(n) if c not in (a, b) and _undirected(g, a, c) and _directed(g, c, b)]
    if any(not adj[c, d] for c, d in combinations(mids, 2)):
        return True
    # R4: a - c -> d -> b with a adjacent to d and c, b not adjacent
    for c in range(n):
        if c in (a, b) or not _undirected(g, a, c) or adj[c, b]:
            continue
        for d in range(n):
            if d not in (a, b, c) and adj[a, d] and _directed(g, c, d) and _directed(g, d, b):
                return True
    return False


def meek_closure(pdag: np.ndarray) -> np.ndarray:
    """Apply Meek's rules R1-R4 to a partially directed graph until nothing changes."""
    g = _graph(pdag, "pdag").copy()
    adj = (g | g.T).astype(bool)
    changed = True
    while changed:
        changed = False
        for a, b in zip(*np.nonzero(np.triu(g & g.T, 1)), strict=True):
            for x, y in ((int(a), int(b)), (int(b), int(a))):
                if _undirected(g, x, y) and _meek_orients(g, adj, x, y):
                    g[y, x] = 0
                    changed = True
    return g


def target_family(intervened: np.ndarray | None) -> list[frozenset[int]]:
    """The distinct target sets of a file's ``intervened`` mask (N, V); [] when there is none.

    Each row is one sample's set of intervened variables; a row of zeros (an observational
    sample) contributes the empty set.
    """
    if intervened is None:
        return []
    m = np.asarray(intervened).astype(bool)
    rows = np.unique(m, axis=0) if len(m) else m
    return sorted((frozenset(int(j) for j in np.flatnonzero(r)) for r in rows),
                  key=lambda s: (len(s), sorted(s)))


def essential_graph(dag: np.ndarray, targets: Targets | None = None) -> np.ndarray:
    """The interventional essential graph of ``dag`` under a target family (its CPDAG without).

    Orients the v-structures and every edge with exactly one endpoint in some target set, as in
    the DAG, then applies Meek's rules. Directed edges are the ones every DAG of the class shares.
    """
    d = _check_dag(dag, "dag")
    g = (d | d.T).astype(np.int8)  # the skeleton, every edge undirected
    for a, b, c in v_structures(d):
        g[b, a] = g[b, c] = 0
    for t in targets or ():
        cut = set(int(x) for x in t)
        for i, j in zip(*np.nonzero(d), strict=True):
            if (int(i) in cut) != (int(j) in cut):
                g[j, i] = 0
    return meek_closure(g)


def cpdag(dag: np.ndarray) -> np.ndarray:
    """The CPDAG (observational essential graph) of a DAG."""
    return essential_graph(dag, None)


def class_name(targets: Targets | None) -> str:
    """'cpdag' without targets (or only the empty set), else 'interventional essential graph'."""
    return "interventional essential graph" if any(len(list(t)) for t in (targets or ())) else "cpdag"


def shd_cpdag(pred: np.ndarray, true: np.ndarray, targets: Targets | None = None,
              pred_is_class: bool = False) -> int:
    """SHD between the equivalence class of ``pred`` and that of the true DAG.

    ``pred`` is a DAG (replaced by its class under ``targets``) or, with ``pred_is_class``, an
    already partially directed graph (the output of PC or GES), compared as it is. Raises
    ValueError for a ``pred`` DAG with a cycle: the caller flags that graph instead.
    """
    t = essential_graph(true, targets)
    p = _graph(pred, "pred") if pred_is_class else essential_graph(pred, targets)
    if p.shape != t.shape:
        raise ValueError(f"pred and true differ in shape: {p.shape} vs {t.shape}")
    return pair_shd(p, t)


def pdag_colliders(graph: np.ndarray) -> list[tuple[int, int, int]]:
    """The unshielded colliders (i, k, j), i < j, of a partially directed ``graph`` (0/1, an
    undirected edge 1 both ways): i -> k <- j directed, i and j not adjacent."""
    g = np.asarray(graph) > 0
    adj = g | g.T  # an undirected edge makes its ends adjacent, though not parents
    return [(i, k, j) for i, k, j in v_structures((g & ~g.T).astype(np.int8)) if not adj[i, j]]


def orient_colliders(skeleton: np.ndarray, colliders: list[tuple[int, int, int]]
                     ) -> np.ndarray:
    """The CPDAG-like graph of ``skeleton`` (symmetric 0/1) with ``colliders`` oriented and
    Meek's rules applied."""
    skel = np.asarray(skeleton, np.int8)
    g = skel.copy()
    for i, k, j in colliders:
        g[k, i] = g[k, j] = 0
    g[(skel > 0) & (g == 0) & (g.T == 0)] = 1  # two colliders disagree: the edge stays undirected
    return meek_closure(g).astype(np.int8)
