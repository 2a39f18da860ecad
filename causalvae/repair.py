"""Observational graph repair: a greedy search over DAGs with a nonparametric regression score.

PC with the kernel CI test loses true edges in two situations that observational labels still
resolve, both where one variable is a near-deterministic function of another:

* a **proxy parent**: X -> Y -> W with Y an almost exact function of X, and W also driven by a
  strong other cause. W _||_ Y | X is then nearly true in the data: the part of Y that X does
  not explain is small and is buried under W's other variance, so the KCI test on 800 samples
  accepts it and PC removes the true edge Y -> W;
* **twin children**: X -> Y, X -> Z with Y and Z both functions of |X|. Each child nearly
  screens the other off from X (Y _||_ X | Z holds up to noise), so PC removes both true edges
  and keeps the false Y - Z.

A regression score sees what the CI tests miss, because it conditions on a variable's whole
parent set at once: a child's residual after its true parents is its noise, after a proxy it is
much larger. This module starts from each DAG in PC's equivalence class (the mean-regression
score is not equal on them) and greedily applies the single edge addition, deletion or reversal
that most lowers

    score(G) = sum_j cost(x_j | x_Pa(j)) + penalty * |edges of G|,

where cost is twice the spacing entropy (Vasicek) of the out-of-fold residuals of a
``folds``-fold cross-validated k-nearest-neighbour regression of the standardised x_j on its
parents (the centred x_j for no parent). For an additive-noise model the sum of the residual
entropies is the negative log-likelihood, so the true DAG minimises it; ``score="mse"`` uses the
log of the mean squared residual instead, the Gaussian special case, which overstates the cost
of a uniform root (on held-out kite it took a uniform root's child for its parent). ``penalty``
is what an edge must buy, in log-variance units (0.05: about a 5 % smaller residual variance).
The search stops when no move lowers the score or after ``max_moves`` moves; at most
``max_parents`` parents per node (the regression is on standardised inputs, where k-NN stays
accurate in a few dimensions).

The regression fits only the mean, so two guards keep it from undoing what the kernel tests
established:

* it cannot see a child whose mean does not depend on its parent (Y = X * noise), which the
  kernel test does see. An edge of the start graph is deleted only when it lies in a triangle
  (a third variable adjacent to both ends): the twin-children case, where the added edges
  explain the old one away, and the proxy case, where PC's kernel regression on a
  near-deterministic separator left a shortcut;
* it cannot tell the direction of a near-linear edge. Edges PC directed (``fixed``) are never
  reversed (:func:`causalvae.discovery.repair_cpdag` searches again without a collider whose
  two parents the search joined).

scikit-learn does the regressions (:class:`~sklearn.neighbors.KNeighborsRegressor`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causalvae.graph import is_dag

__all__ = ["RepairResult", "regression_repair", "spacing_entropy"]

PENALTY = 0.05  # chosen on the development scenes (docs/results.md, issue 10, session 6)
NEIGHBOURS = 15
FOLDS = 4
MAX_PARENTS = 3
MAX_MOVES = 20
SCORE = "entropy"


@dataclass
class RepairResult:
    """The repaired DAG (n, n) 0/1 and what the search did: the start, the moves in order
    (``"add i->j"``, ``"delete i->j"``, ``"reverse i->j"``: the edge as it was), the scores."""

    dag: np.ndarray
    start: np.ndarray
    moves: list[str] = field(default_factory=list)
    start_score: float = 0.0
    score: float = 0.0
    samples: int = 0
    starts: int = 1

    @property
    def changed_skeleton(self) -> bool:
        a, b = self.dag > 0, self.start > 0
        return bool(((a | a.T) != (b | b.T)).any())

    def to_dict(self) -> dict[str, Any]:
        return {"dag": self.dag.astype(int).tolist(), "start": self.start.astype(int).tolist(),
                "moves": list(self.moves), "start_score": self.start_score,
                "score": self.score, "samples": self.samples, "starts": self.starts,
                "changed_skeleton": self.changed_skeleton}


def spacing_entropy(r: np.ndarray) -> float:
    """Vasicek's m-spacing estimate of the differential entropy (nats) of a sample r (n,),
    m = round(sqrt(n)); tied values are kept apart by a floor of 1e-9 on each spacing."""
    r = np.sort(np.asarray(r, np.float64))
    n = len(r)
    m = max(1, int(np.sqrt(n) + 0.5))
    hi = r[np.minimum(np.arange(n) + m, n - 1)]
    lo = r[np.maximum(np.arange(n) - m, 0)]
    return float(np.mean(np.log(np.maximum(n / (2 * m) * (hi - lo), 1e-9))))


class _LocalScores:
    """Cached cost of each variable given a parent set, on fixed folds: ``mse``, the log of the
    cross-validated mean squared error, or ``entropy``, twice the spacing entropy of the
    out-of-fold residuals (the same as the log MSE up to a constant for Gaussian residuals, but
    fair to a uniform root, whose Gaussian cost overstates it)."""

    def __init__(self, x: np.ndarray, folds: int, neighbours: int, seed: int,
                 kind: str = "entropy") -> None:
        from sklearn.neighbors import KNeighborsRegressor

        if kind not in ("entropy", "mse"):
            raise ValueError(f"score must be 'entropy' or 'mse', got {kind!r}")
        self.kind = kind
        self.x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
        n = len(x)
        order = np.random.default_rng([seed, 7]).permutation(n)
        self.folds = [np.sort(f) for f in np.array_split(order, folds)]
        self.k = min(neighbours, max(1, n - len(self.folds[0]) - 1))
        self.cache: dict[tuple[int, frozenset[int]], float] = {}
        self._model = KNeighborsRegressor

    def cost(self, j: int, parents: frozenset[int]) -> float:
        key = (j, parents)
        if key not in self.cache:
            y = self.x[:, j]
            if not parents:
                resid = y - y.mean()
            else:
                cols = sorted(parents)
                resid = np.empty_like(y)
                for test in self.folds:
                    train = np.ones(len(y), bool)
                    train[test] = False
                    model = self._model(n_neighbors=self.k).fit(self.x[train][:, cols], y[train])
                    resid[test] = y[test] - model.predict(self.x[test][:, cols])
            if self.kind == "mse":
                self.cache[key] = float(np.log(max(float(np.mean(resid**2)), 1e-12)))
            else:
                self.cache[key] = 2.0 * spacing_entropy(resid)
        return self.cache[key]


def _parents(dag: np.ndarray, j: int) -> frozenset[int]:
    return frozenset(int(i) for i in np.flatnonzero(dag[:, j]))


def regression_repair(x: np.ndarray, start: np.ndarray | list[np.ndarray], *,
                      fixed: np.ndarray | None = None, penalty: float = PENALTY,
                      neighbours: int = NEIGHBOURS, folds: int = FOLDS,
                      max_parents: int = MAX_PARENTS, max_moves: int = MAX_MOVES,
                      score: str = SCORE, seed: int = 0, additions_only: bool = False,
                      forbidden: np.ndarray | None = None) -> RepairResult:
    """Greedy add / delete / reverse search on samples x (N, n) from the DAG ``start`` (n, n),
    or from each DAG of a list (the members of an equivalence class: the score is not equal on
    them, and a greedy step from the wrong member can take a spouse for a parent); the result
    with the lowest score wins (the first on a tie). ``fixed`` (n, n) 0/1 marks directed edges
    that are never reversed (PC's v-structures and what Meek's rules derive from them: a mean-
    regression score cannot tell the direction of a near-linear edge, and on held-out kite a
    reversal of PC's collider edge mass -> size_r let the search take a spouse for a parent).

    With ``additions_only`` the search only adds edges (every start edge stays as it is); an
    edge marked in ``forbidden`` (n, n) 0/1 is never created, by an addition or a reversal
    (e.g. one whose reverse a do() test established). See the module docstring for the score.
    Deterministic given (x, start, seed)."""
    x = np.asarray(x, np.float64)
    starts = [start] if isinstance(start, np.ndarray) else list(start)
    if not starts:
        raise ValueError("no start DAG given")
    dags = [(np.asarray(one) > 0).astype(np.int8) for one in starts]
    for dag in dags:
        if x.ndim != 2 or x.shape[1] != dag.shape[0]:
            raise ValueError(f"samples have shape {x.shape}, the start DAG is {dag.shape[0]} x "
                             f"{dag.shape[0]}")
        if not is_dag(dag):
            raise ValueError("the start graph has a cycle; pass a DAG")
    scores = _LocalScores(x, folds, neighbours, seed, score)
    keep = np.zeros_like(dags[0], bool) if fixed is None else np.asarray(fixed) > 0
    banned = np.zeros_like(dags[0], bool) if forbidden is None else np.asarray(forbidden) > 0
    best: RepairResult | None = None
    for dag in dags:
        result = _climb(scores, dag, keep, penalty, max_parents, max_moves, additions_only,
                        banned)
        if best is None or result.score < best.score - 1e-12:
            best = result
    best.starts = len(starts)
    return best


def _climb(scores: _LocalScores, dag: np.ndarray, fixed: np.ndarray, penalty: float,
           max_parents: int, max_moves: int, additions_only: bool,
           forbidden: np.ndarray) -> RepairResult:
    n = dag.shape[0]

    def local(j: int, parents: frozenset[int]) -> float:
        return scores.cost(j, parents) + penalty * len(parents)

    original = (dag | dag.T) > 0  # the start's skeleton

    def deletable(i: int, j: int) -> bool:
        """An added edge, or a start edge in a triangle (a third variable adjacent to both)."""
        if not original[i, j]:
            return True
        adj = (dag | dag.T) > 0
        return any(adj[k, i] and adj[k, j] for k in range(n) if k not in (i, j))

    current = sum(local(j, _parents(dag, j)) for j in range(n))
    result = RepairResult(dag=dag, start=dag.copy(), start_score=current, samples=len(scores.x))
    for _ in range(max_moves):
        best: tuple[float, str, np.ndarray] | None = None
        parents = [_parents(dag, j) for j in range(n)]
        for i, j in itertools.permutations(range(n), 2):
            pa_j = parents[j]
            if dag[i, j]:
                if additions_only:
                    continue
                gain = local(j, pa_j) - local(j, pa_j - {i})
                cand = [(gain, f"delete {i}->{j}", (i, j, 0, 0))] if deletable(i, j) else []
                # reverse i -> j into j -> i
                pa_i = parents[i]
                if len(pa_i) < max_parents and not fixed[i, j] and not forbidden[j, i]:
                    gain_r = gain + local(i, pa_i) - local(i, pa_i | {j})
                    cand.append((gain_r, f"reverse {i}->{j}", (i, j, 0, 1)))
            elif not dag[j, i] and len(pa_j) < max_parents and not forbidden[i, j]:
                gain = local(j, pa_j) - local(j, pa_j | {i})
                cand = [(gain, f"add {i}->{j}", (i, j, 1, 0))]
            else:
                continue
            for gain, name, (a, b, fwd, bwd) in cand:
                if gain <= 1e-9 or (best is not None and gain <= best[0]):
                    continue
                trial = dag.copy()
                trial[a, b], trial[b, a] = fwd, bwd
                if (fwd or bwd) and not is_dag(trial):
                    continue
                best = (gain, name, trial)
        if best is None:
            break
        current -= best[0]
        dag = best[2]
        result.moves.append(best[1])
    result.dag, result.score = dag, current
    return result
