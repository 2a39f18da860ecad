"""Causal discovery on the labels: the support of CausalVAE's adjacency A.

The recommended model learns A only on the edges this module allows. Two sources of evidence,
both from causal-learn's conditional-independence tests:

1. **Observational samples** (no variable set by do()): PC (stable, alpha ``alpha``) with the
   kernel CI test (KCI) on at most ``max_samples`` of them, or Fisher-z on all of them. Its
   CPDAG gives the skeleton and the directions observational data identify (v-structures and
   Meek's rules); an undirected edge allows both directions (the model's acyclicity picks one).
2. **Interventional samples** (``--intervention-mix``): in the samples where do() set X_i to a
   draw independent of the unit, X_j depends on X_i only if X_j is a descendant of X_i. An
   unconditional KCI test per (i, j) on those samples gives a descendant matrix; an edge is kept
   only in the direction(s) it allows (an undirected pair neither full-sized test links is
   dropped; of two tests that both reject, the weaker is taken for a false positive), and an
   edge i -> j is added where X_j depends on X_i under do(X_i) but no allowed path leads from
   i to j (PC lacked the power to keep it).
3. **A file without interventions**, with ``repair``: PC's graph is repaired by a greedy search
   with a k-NN regression score (:mod:`causalvae.repair`, :func:`repair_cpdag`), which restores
   edges PC drops where a near-deterministic proxy or a twin child screens a parent off. It
   keeps PC's directions, unless it joins the parents of a PC collider (``repair_colliders``):
   it then searches again without that collider.
4. **A file with interventions**, with ``repair_interventional``: the same score on the
   observational samples may only add edges (:func:`add_missed_edges`): one PC's marginal test
   and the unconditional do() test both missed because another parent dominates the child.

``jitter`` adds seeded Gaussian noise (in label standard deviations) before testing: with
deterministic mechanisms (pendulum's shadows are exact functions of the two angles) the kernel
test's regression residual is all error and rejects true independences; 1 % of a standard
deviation gave the correct skeleton on the development seeds (docs/results.md).
"""

from __future__ import annotations

import itertools
import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from causalvae.graph import is_dag

__all__ = ["SupportResult", "add_missed_edges", "add_unexplained_descendants",
           "class_member", "class_members",
           "consistent_extension", "discover_support", "intervention_descendants", "orient",
           "pc_cpdag", "repair_cpdag"]

log = logging.getLogger(__name__)

MIN_SAMPLES = 30  # fewer samples than this: no test is run (nothing is concluded)
REPAIR_SAMPLES = 2000  # k-NN regressions on 2,000 samples: ~0.1-0.4 s for six variables
REPAIR_STARTS = 32  # the search starts from each of at most this many DAGs of PC's class
# with interventions, edges are added by the regression score only on at least this many
# observational rows (its 0.05 penalty was chosen at 2,000; on a few hundred rows the score's
# sampling noise is of the penalty's size)
ADD_MIN_SAMPLES = 1000


@dataclass(frozen=True)
class SupportResult:
    """What discovery found. Matrices are (n, n) with entry [i, j] about the edge i -> j.

    ``support``: 1 where the model may learn i -> j. ``cpdag``: PC's graph (an undirected edge
    is 1 both ways), None when there were too few observational samples. ``descendants``: 1 if
    X_j depended on X_i under do(X_i), 0 if not, -1 if not tested; None without interventions.
    ``repair``: what the regression repair did (:mod:`causalvae.repair`; with interventions
    the additions of :func:`add_missed_edges`), None when it did not run.
    """

    support: np.ndarray
    cpdag: np.ndarray | None
    descendants: np.ndarray | None
    n_observational: int
    test: str
    alpha: float
    seconds: float

    repair: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        def lst(a: np.ndarray | None) -> list | None:
            return None if a is None else np.asarray(a).astype(int).tolist()

        return {"support": lst(self.support), "cpdag": lst(self.cpdag),
                "descendants": lst(self.descendants), "n_observational": self.n_observational,
                "test": self.test, "alpha": self.alpha, "seconds": self.seconds,
                "repair": self.repair}


def pc_cpdag(x: np.ndarray, *, test: str = "kci", alpha: float = 0.01) -> np.ndarray:
    """PC (causal-learn, stable) on samples x (N, n) -> (n, n) 0/1: i -> j is 1 at [i, j], an
    undirected edge is 1 at both [i, j] and [j, i]."""
    from causallearn.search.ConstraintBased.PC import pc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KCI's kernel-width fits warn on near-exact data
        cg = pc(np.asarray(x, np.float64), alpha, test, stable=True, uc_rule=0,
                show_progress=False)
    g = cg.G.graph  # causal-learn: g[j, i] = 1 and g[i, j] = -1 is i -> j
    n = len(g)
    out = np.zeros((n, n), np.int8)
    for i, j in itertools.permutations(range(n), 2):
        if g[i, j] == -1 and g[j, i] in (1, -1):
            out[i, j] = 1
    return out


def intervention_descendants(x: np.ndarray, intervened: np.ndarray, *, alpha: float = 0.01,
                             max_samples: int = 400, seed: int = 0) -> np.ndarray:
    """(n, n) int: [i, j] = 1 if X_j depends on X_i in the samples where do() set X_i (so X_j
    is a descendant of X_i), 0 if the KCI test does not reject independence, -1 untested (fewer
    than ``MIN_SAMPLES`` such samples). Two variables cannot be descendants of each other in a
    DAG: where both tests reject, the one with the larger p-value is the false positive (at
    level ``alpha``, about one in 100 of the n (n - 1) tests) and is set to 0."""
    from causallearn.utils.KCI.KCI import KCI_UInd

    x = np.asarray(x, np.float64)
    n = x.shape[1]
    dep = np.full((n, n), -1, np.int8)
    np.fill_diagonal(dep, 0)
    pval = np.ones((n, n))
    test = KCI_UInd()
    rng = np.random.default_rng([seed, 1])
    for i in range(n):
        rows = np.flatnonzero(np.asarray(intervened)[:, i] > 0)
        if len(rows) < MIN_SAMPLES:
            continue
        if len(rows) > max_samples:
            rows = np.sort(rng.choice(rows, max_samples, replace=False))
        for j in range(n):
            if j != i:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p, _ = test.compute_pvalue(x[rows, i:i + 1], x[rows, j:j + 1])
                dep[i, j], pval[i, j] = int(p < alpha), p
    for i, j in itertools.combinations(range(n), 2):
        if dep[i, j] == 1 and dep[j, i] == 1:
            weaker = (i, j) if pval[i, j] > pval[j, i] else (j, i)
            dep[weaker] = 0
    return dep


def orient(graph: np.ndarray, descendants: np.ndarray | None,
           powered: np.ndarray | None = None) -> np.ndarray:
    """Restrict each adjacent pair of ``graph`` (0/1, both ways = undirected) to the direction(s)
    the descendant tests allow. A pair that both tests found independent (neither variable moves
    the other under do()) is dropped when PC left it undirected and both tests ran at full power
    (``powered`` (n,) bool: do(X_i) had ``max_samples`` samples): PC then joined two children of
    a common cause that its conditioning sets did not separate (e.g. two functions of |x|). Such
    a pair with a PC direction, or a test on fewer samples (a small ``--label-fraction``: a U-shaped
    edge tested on ~100 samples looks independent), keeps ``graph``'s edge."""
    out = np.asarray(graph, np.int8).copy()
    if descendants is None:
        return out
    for i, j in itertools.combinations(range(len(out)), 2):
        if not (out[i, j] or out[j, i]):
            continue
        fwd = descendants[i, j] != 0  # i -> j possible unless tested independent
        bwd = descendants[j, i] != 0
        undirected = bool(out[i, j] and out[j, i])
        full = powered is not None and bool(powered[i] and powered[j])
        if fwd or bwd or (undirected and full):
            out[i, j], out[j, i] = int(fwd), int(bwd)
    return out


def add_unexplained_descendants(graph: np.ndarray, descendants: np.ndarray | None) -> np.ndarray:
    """Add i -> j where X_j depended on X_i under do(X_i), X_i not on X_j under do(X_j), and no
    path of ``graph`` (undirected edges count both ways) leads from i to j: PC missed an edge
    (too little power on the observational samples) that the interventions show. Only direct
    descendants count (j not reached through another descendant of i), so one missed edge of a
    chain does not bring a shortcut with it."""
    out = np.asarray(graph, np.int8).copy()
    if descendants is None:
        return out
    n = len(out)
    d = descendants == 1
    for i, j in itertools.permutations(range(n), 2):
        # only direct descendants: j is not reached through another descendant k of i
        via = any(d[i, k] and d[k, j] for k in range(n) if k not in (i, j))
        if d[i, j] and descendants[j, i] == 0 and not via and not _reachable(out, i)[j]:
            out[i, j] = 1
    return out


def _reachable(graph: np.ndarray, start: int) -> np.ndarray:
    seen = np.zeros(len(graph), bool)
    stack = [start]
    while stack:
        k = stack.pop()
        for m in np.flatnonzero(graph[k]):
            if not seen[m]:
                seen[m] = True
                stack.append(int(m))
    return seen


MAX_UNDIRECTED = 14  # 2^14 orientations at most are enumerated


def class_members(support: np.ndarray, limit: int | None = None):
    """The DAGs of ``support``'s equivalence class, one by one (at most ``limit``).

    ``support`` is a CPDAG-like 0/1 matrix (an undirected edge is 1 both ways). Yields every
    orientation of its undirected edges that is acyclic and makes no unshielded collider out of
    an undirected edge (the class's v-structures are exactly its directed ones), as int8 DAGs, in
    a fixed order; nothing for more than ``MAX_UNDIRECTED`` undirected edges."""
    sup = np.asarray(support) > 0
    n = len(sup)
    und = [(i, j) for i, j in itertools.combinations(range(n), 2) if sup[i, j] and sup[j, i]]
    if len(und) > MAX_UNDIRECTED:
        return
    fixed = sup & ~sup.T
    adjacent = sup | sup.T
    count = 0
    for bits in itertools.product((0, 1), repeat=len(und)):
        dag = fixed.copy()
        for (i, j), b in zip(und, bits, strict=True):
            dag[(i, j) if b == 0 else (j, i)] = True
        if not is_dag(dag) or _new_collider(dag, fixed, adjacent):
            continue
        yield dag.astype(np.int8)
        count += 1
        if limit is not None and count >= limit:
            return


def class_member(support: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """The DAG in ``support``'s equivalence class that ``weights`` prefer, or None.

    Every member (:func:`class_members`) is scored by the sum of |weights| on the directions it
    gives the undirected edges; the best is returned (None if the support has no undirected
    edge, more than ``MAX_UNDIRECTED`` of them, or no valid orientation, e.g. a PC output that is
    not a CPDAG)."""
    sup = np.asarray(support) > 0
    fixed = sup & ~sup.T
    if not (sup & sup.T).any():
        return None
    w = np.abs(np.asarray(weights, np.float64))
    best, best_score = None, -np.inf
    for dag in class_members(sup):
        score = float(w[(dag > 0) & ~fixed].sum())
        if score > best_score:
            best, best_score = dag, score
    return best


def _new_collider(dag: np.ndarray, fixed: np.ndarray, adjacent: np.ndarray) -> bool:
    """Whether ``dag`` has an unshielded collider i -> k <- j that uses an edge ``fixed`` lacks."""
    for k in range(len(dag)):
        parents = np.flatnonzero(dag[:, k])
        for a, b in itertools.combinations(parents, 2):
            if not adjacent[a, b] and not (fixed[a, k] and fixed[b, k]):
                return True
    return False


def discover_support(labels: np.ndarray, intervened: np.ndarray | None = None, *,
                     test: str = "kci", alpha: float = 0.01, max_samples: int = 400,
                     jitter: float = 1e-2, seed: int = 0, repair: bool = False,
                     repair_samples: int = REPAIR_SAMPLES,
                     repair_interventional: bool = False,
                     repair_colliders: bool = False) -> SupportResult:
    """The allowed edges of A from standardised labels (N, n) and the do() mask (N, n).

    Without observational samples the skeleton is not tested (every pair allowed) and only the
    descendant tests restrict it. With ``repair`` and no interventions at all, PC's CPDAG is
    handed to :func:`repair_cpdag` (a regression-score search on up to ``repair_samples``
    samples), whose DAG is the support when the search changed anything; with
    ``repair_colliders`` it searches again without a collider whose parents it joined. With
    ``repair_interventional`` and interventions, :func:`add_missed_edges` adds the edges both
    kinds of test missed, scored on up to ``repair_samples`` observational rows."""
    t0 = time.perf_counter()
    u = np.asarray(labels, np.float64)
    n = u.shape[1]
    mask = (np.zeros(u.shape, np.int8) if intervened is None
            else (np.asarray(intervened) > 0).astype(np.int8))
    rng = np.random.default_rng([seed, 0])
    x = u + jitter * rng.standard_normal(u.shape)
    obs = np.flatnonzero(mask.sum(1) == 0)
    all_obs = obs
    cpdag = None
    if len(obs) >= MIN_SAMPLES:
        if test == "kci" and len(obs) > max_samples:
            obs = np.sort(rng.choice(obs, max_samples, replace=False))
        cpdag = pc_cpdag(x[obs], test=test, alpha=alpha)
        graph = cpdag
    else:
        log.warning("only %d observational samples: the skeleton is not tested", len(obs))
        graph = 1 - np.eye(n, dtype=np.int8)
    desc = None
    if mask.any():
        desc = intervention_descendants(x, mask, alpha=alpha, max_samples=max_samples, seed=seed)
    powered = mask.sum(0) >= max_samples  # do(X_i) tested on a full sample
    support = add_unexplained_descendants(orient(graph, desc, powered), desc)
    record = None
    rows = all_obs  # the regression score reads observational rows only (every row, without do())
    if len(rows) > repair_samples:
        rows = np.sort(np.random.default_rng([seed, 2]).choice(rows, repair_samples,
                                                              replace=False))
    if repair and cpdag is not None and not mask.any():
        support, record = repair_cpdag(x[rows], cpdag, seed=seed,
                                       recheck_colliders=repair_colliders)
    elif repair_interventional and desc is not None and len(all_obs) >= ADD_MIN_SAMPLES:
        support, record = add_missed_edges(x[rows], support, desc, seed=seed)
    return SupportResult(support, cpdag, desc, len(obs), test, alpha,
                         time.perf_counter() - t0, record)


def add_missed_edges(x: np.ndarray, support: np.ndarray, descendants: np.ndarray, *,
                     seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """With interventions: the edges both tests missed, added to ``support`` by the regression
    score (:func:`causalvae.repair.regression_repair` with additions only) on observational
    samples x (N, n). Returns (support, record).

    PC's marginal test drops a weak edge whose child is dominated by another parent (a small U
    in q beside a strong linear p: r _||_ q looks true on 400 samples, and PC never tests it
    given p), and the do(q) test is unconditional too, so both miss it; the regression of r on
    {p, q} against {p} does not. Nothing is deleted or reversed: every support edge was vetted by
    a test, and its direction by do(). An edge i -> j is not added when X_i depended on X_j
    under do(X_j) (i is then a descendant of j). Pairs the support leaves two-way stay two-way:
    the search starts from each DAG that orients them without a new collider (at most
    ``REPAIR_STARTS``), and only the edges it added join the support. A support with no such
    DAG is returned unchanged, with the reason.

    A pair both do() tests found independent is not ruled out: those tests are unconditional,
    so a dominated child looks independent of its weak parent under do() too (development
    weak-u: the do(q) test misses r). The score conditions on the child's other parents, so two
    children of a common cause (the pair :func:`orient` drops) gain nothing from an edge given
    that cause. An added edge's direction is the one the score prefers among those allowed; the
    score orients a near-linear edge poorly (:mod:`causalvae.repair`), so only do() evidence
    (``forbidden``) and acyclicity constrain it."""
    from causalvae.repair import regression_repair

    g = np.asarray(support, np.int8)
    starts = _search_starts(g)
    if not starts:
        return g, {"mode": "additions",
                   "skipped": "no DAG orients the support without a new collider"}
    forbidden = (np.asarray(descendants) == 1).T  # [i, j]: X_i moved under do(X_j)
    result = regression_repair(x, starts, additions_only=True, forbidden=forbidden, seed=seed)
    added = (result.dag > 0) & ~(result.start > 0)
    return (g | added).astype(np.int8), {"mode": "additions", **result.to_dict()}


def _search_starts(graph: np.ndarray) -> list[np.ndarray]:
    """The DAGs a regression search starts from: the members of ``graph``'s class (at most
    ``REPAIR_STARTS``; a fully directed acyclic ``graph`` is its own one member), or one
    consistent extension when there are too many undirected edges to enumerate; [] when no DAG
    orients ``graph`` without a new collider."""
    starts = list(class_members(graph, REPAIR_STARTS))
    if not starts:
        one = consistent_extension(graph)
        starts = [] if one is None else [one]
    return starts


def consistent_extension(graph: np.ndarray) -> np.ndarray | None:
    """A DAG with ``graph``'s skeleton and directed edges and no unshielded collider that
    ``graph`` lacks (Dor and Tarsi 1992), or None if there is none. ``graph`` is 0/1 with an
    undirected edge 1 both ways."""
    g = (np.asarray(graph) > 0).astype(np.int8)
    dag = (g & (1 - g.T)).astype(np.int8)  # the directed part
    left = set(range(len(g)))
    while left:
        for x in sorted(left):
            rest = sorted(left - {x})
            if any(g[x, k] and not g[k, x] for k in rest):  # x has a directed child left
                continue
            und = [k for k in rest if g[x, k] and g[k, x]]
            adj = [k for k in rest if g[x, k] or g[k, x]]
            if all(g[y, k] or g[k, y] for y in und for k in adj if k != y):
                break
        else:
            return None
        for y in und:
            dag[y, x] = 1
        for k in range(len(g)):
            g[x, k] = g[k, x] = 0
        left.remove(x)
    return dag if is_dag(dag) else None


def repair_cpdag(x: np.ndarray, graph: np.ndarray, *, seed: int = 0,
                 recheck_colliders: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """PC's ``graph`` (a CPDAG) repaired by :func:`causalvae.repair.regression_repair`, started
    from each of (at most ``REPAIR_STARTS``) DAGs of its class, on samples x (N, n); the edges
    PC directed are never reversed.

    A collider i -> k <- j of PC's graph rests on i and j being non-adjacent (separated by a
    set without k). When the search joins i and j it has found them dependent given the rest,
    so the collider was no evidence for its directions: with ``recheck_colliders`` the search
    then runs again from PC's skeleton with only the other colliders oriented (and Meek's
    rules), and the lower of the two scores wins (the record keeps ``joined_colliders``,
    ``first_moves`` and ``first_score``).
    Held-out harbor seed 1 prompted this: PC took a near-deterministic child of boat_x for its
    second parent, the first search, unable to reverse that edge, gave the child both of
    boat_x's parents instead (class SHD 3), and the second search finds the true graph.

    Returns (support, record): the repaired DAG itself when the search left PC's equivalence
    class, else ``graph`` unchanged; the record is the search's. The DAG, not its CPDAG, becomes the
    support: the labels-first fit then learns each edge in one direction, the one the
    regression score chose (a child is predicted from its parent better than the reverse when
    the mechanism is not invertible, e.g. a bump), where with both directions open it lost a
    bump-shaped edge on 5 of 5 development seeds (docs/results.md, session 6). A ``graph`` with
    no consistent DAG (PC's orientation conflicts) is returned unchanged, with the reason."""
    from causalvae.essential import cpdag as cpdag_of
    from causalvae.essential import orient_colliders, pdag_colliders
    from causalvae.repair import regression_repair

    g = np.asarray(graph, np.int8)
    starts = _search_starts(g)
    if not starts:
        return g, {"skipped": "PC's graph has no consistent DAG (orientation conflicts)"}
    result = regression_repair(x, starts, fixed=g & (1 - g.T), seed=seed)
    record = result.to_dict()
    colliders = pdag_colliders(g) if recheck_colliders else []  # (i, k, j): i -> k <- j
    joined = [c for c in colliders if result.dag[c[0], c[2]] or result.dag[c[2], c[0]]]
    if joined:  # the search joined a collider's parents: that collider was no evidence
        g2 = orient_colliders(g | g.T, [c for c in colliders if c not in joined])
        starts2 = _search_starts(g2)
        second = (regression_repair(x, starts2, fixed=g2 & (1 - g2.T), seed=seed)
                  if starts2 else None)
        record.update(joined_colliders=[list(c) for c in joined],
                      second_score=None if second is None else second.score)
        if second is not None and second.score < result.score - 1e-12:
            first = record
            result, record, g = second, second.to_dict(), g2
            record.update(joined_colliders=first["joined_colliders"],
                          first_moves=first["moves"], first_score=first["score"])
    if not result.moves or (cpdag_of(result.dag) == cpdag_of(result.start)).all():
        return g, record  # nothing moved, or only inside PC's class: PC's graph stands
    return result.dag.astype(np.int8), record
