"""The observational regression repair of PC's graph: known answers on planted failures."""

from __future__ import annotations

import numpy as np
import pytest

from causalvae.discovery import consistent_extension, discover_support, repair_cpdag
from causalvae.essential import cpdag
from causalvae.repair import regression_repair


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / x.std(0)


def _dag(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    d = np.zeros((n, n), np.int8)
    for i, j in edges:
        d[i, j] = 1
    return d


def _twin_children(n: int, rng: np.random.Generator) -> np.ndarray:
    """x -> y, x -> z with y and z both even in x: each child screens the other off from x."""
    x = rng.uniform(-1, 1, n)
    y = x**2 + 0.03 * rng.standard_normal(n)
    z = np.cos(2.5 * x) + 0.03 * rng.standard_normal(n)
    return _standardise(np.stack([x, y, z], 1))


def _proxy_parent(n: int, rng: np.random.Generator) -> np.ndarray:
    """a -> b -> c <- d: b is almost a function of a, and c is dominated by d."""
    a = rng.uniform(0, 1, n)
    b = np.exp(2 * a) + 0.15 * rng.standard_normal(n)
    d = rng.uniform(-1, 1, n)
    c = 0.5 * b + 6 * d**2 + 0.2 * rng.standard_normal(n)
    return _standardise(np.stack([a, b, c, d], 1))


def test_twin_children_get_their_parent_back_and_lose_the_false_edge() -> None:
    x = _twin_children(2000, np.random.default_rng(0))
    start = _dag(3, [(1, 2)])  # what PC keeps: y - z, x isolated
    res = regression_repair(x, start, seed=0)
    truth = _dag(3, [(0, 1), (0, 2)])
    assert (cpdag(res.dag) == cpdag(truth)).all(), res.moves
    assert res.changed_skeleton and res.score < res.start_score


def test_a_proxy_parent_edge_is_restored() -> None:
    x = _proxy_parent(2000, np.random.default_rng(1))
    start = _dag(4, [(0, 1), (3, 2)])  # PC lost b -> c (c _||_ b | a looked true)
    res = regression_repair(x, start, seed=0)
    truth = _dag(4, [(0, 1), (1, 2), (3, 2)])
    assert (cpdag(res.dag) == cpdag(truth)).all(), res.moves


def test_a_correct_chain_is_left_alone() -> None:
    rng = np.random.default_rng(2)
    a = rng.uniform(-2, 2, 2000)
    b = np.tanh(a) + 0.3 * rng.standard_normal(2000)
    c = b**2 + 0.3 * rng.standard_normal(2000)
    x = _standardise(np.stack([a, b, c], 1))
    start = _dag(3, [(0, 1), (1, 2)])
    res = regression_repair(x, start, seed=0)
    assert not res.changed_skeleton, res.moves  # no shortcut a -> c


def test_an_edge_the_mean_cannot_see_is_not_deleted() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal(2000)
    b = a * rng.standard_normal(2000)  # E[b | a] = 0: only the spread depends on a
    x = _standardise(np.stack([a, b], 1))
    res = regression_repair(x, _dag(2, [(0, 1)]), seed=0)
    assert res.dag[0, 1] + res.dag[1, 0] == 1  # the kernel test's edge stays


def test_the_search_is_deterministic_and_checks_its_input() -> None:
    x = _twin_children(800, np.random.default_rng(4))
    one = regression_repair(x, _dag(3, [(1, 2)]), seed=3)
    two = regression_repair(x, _dag(3, [(1, 2)]), seed=3)
    assert one.moves == two.moves and one.score == two.score
    with pytest.raises(ValueError, match="cycle"):
        regression_repair(x, _dag(3, [(0, 1), (1, 2), (2, 0)]))
    with pytest.raises(ValueError, match="shape"):
        regression_repair(x[:, :2], _dag(3, [(1, 2)]))


def test_consistent_extension_stays_in_the_class() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(3, 8))
        perm = rng.permutation(n)
        d = np.triu((rng.random((n, n)) < 0.4).astype(np.int8), 1)[perm][:, perm]
        ext = consistent_extension(cpdag(d))
        assert ext is not None and (cpdag(ext) == cpdag(d)).all()
    square = np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]])
    assert consistent_extension(square) is None  # an undirected 4-cycle has no DAG without a
    # new collider
    graph, record = repair_cpdag(np.zeros((50, 4)), square)
    assert (graph == square).all() and "skipped" in record


def test_discover_support_repairs_only_observational_files() -> None:
    x = _twin_children(3000, np.random.default_rng(5))
    plain = discover_support(x, test="kci", max_samples=400, seed=0)
    fixed = discover_support(x, test="kci", max_samples=400, seed=0, repair=True)
    truth = cpdag(_dag(3, [(0, 1), (0, 2)]))
    assert plain.repair is None
    assert (cpdag(fixed.support) == truth).all(), fixed.repair
    assert fixed.to_dict()["repair"]["moves"]
    mask = np.zeros(x.shape, np.int8)
    mask[:300, 0] = 1  # one do() target: the descendant tests decide, no repair
    assert discover_support(x, mask, test="kci", max_samples=300, seed=0,
                            repair=True).repair is None


def test_a_fixed_direction_is_never_reversed() -> None:
    """y = x^2: the score prefers x -> y by far (y is a function of x, x given y is two-valued),
    so a start y -> x is reversed unless that direction is fixed (as PC's v-structures are)."""
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, 2000)
    y = x**2 + 0.02 * rng.standard_normal(2000)
    data = _standardise(np.stack([x, y], 1))
    wrong = _dag(2, [(1, 0)])
    free = regression_repair(data, wrong, seed=0)
    assert free.dag[0, 1] == 1 and free.moves == ["reverse 1->0"]
    held = regression_repair(data, wrong, fixed=wrong, seed=0)
    assert held.dag.tolist() == wrong.tolist() and held.moves == []


def test_spacing_entropy_matches_known_entropies() -> None:
    from causalvae.repair import spacing_entropy

    rng = np.random.default_rng(0)
    assert abs(spacing_entropy(rng.uniform(0, 1, 5000))) < 0.03  # log(1) = 0
    assert spacing_entropy(rng.standard_normal(5000)) == pytest.approx(
        0.5 * np.log(2 * np.pi * np.e), abs=0.03)
    assert spacing_entropy(3 * rng.standard_normal(5000)) == pytest.approx(
        0.5 * np.log(2 * np.pi * np.e * 9), abs=0.03)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_entropy_score_orients_a_uniform_cause_that_mse_cannot(seed: int) -> None:
    """y = x + Gaussian noise with x uniform: both regressions explain the same variance, so the
    Gaussian (mse) cost cannot tell the directions apart; the residual entropy can (the reverse
    residual is not Gaussian and costs more)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, 2000)
    data = _standardise(np.stack([x, x + 0.15 * rng.standard_normal(2000)], 1))
    backwards = _dag(2, [(1, 0)])
    assert regression_repair(data, backwards, seed=0).dag.tolist() == [[0, 1], [0, 0]]
    assert regression_repair(data, backwards, score="mse", seed=0).moves == []
    with pytest.raises(ValueError, match="score"):
        regression_repair(data, backwards, score="likelihood")


def _weak_u(n: int, rng: np.random.Generator, do_q: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """p -> r <- q, r -> s: r is dominated by the linear p and U-shaped in q (r's mean does not
    move with q's sign, so marginal tests miss q -> r). The last ``do_q`` rows set q by do()
    (drawn from its marginal, as causalgen does); returns (standardised x, do() mask)."""
    p = rng.uniform(0, 1, n)
    q = rng.uniform(-1, 1, n)
    r = 20 * p + 6 * q**2 + 1.2 * rng.standard_normal(n)
    s = 0.015 * r + 0.03 * rng.standard_normal(n)
    mask = np.zeros((n, 4), np.int8)
    if do_q:
        mask[n - do_q:, 1] = 1
    return _standardise(np.stack([p, q, r, s], 1)), mask


def test_missed_edges_are_added_and_nothing_else_moves() -> None:
    from causalvae.discovery import add_missed_edges

    x, _ = _weak_u(2000, np.random.default_rng(7))
    missed = _dag(4, [(0, 2), (2, 3)])  # what both tests kept: q -> r lost
    untested = np.full((4, 4), -1, np.int8)
    support, record = add_missed_edges(x, missed, untested, seed=0)
    assert support.tolist() == _dag(4, [(0, 2), (1, 2), (2, 3)]).tolist(), record
    assert record["mode"] == "additions" and record["moves"] == ["add 1->2"]
    # the true graph gets nothing added
    truth = _dag(4, [(0, 2), (1, 2), (2, 3)])
    again, record = add_missed_edges(x, truth, untested, seed=0)
    assert again.tolist() == truth.tolist() and record["moves"] == []
    # an edge whose reverse do() established (q moved under do(r)) is never added
    established = untested.copy()
    established[2, 1] = 1
    held, _ = add_missed_edges(x, missed, established, seed=0)
    assert held[1, 2] == 0
    # a pair left two-way stays two-way; the missed edge is still found
    two_way = missed.copy()
    two_way[3, 2] = 1
    both, record = add_missed_edges(x, two_way, untested, seed=0)
    assert both.tolist() == (two_way | _dag(4, [(1, 2)])).tolist(), record
    # a support no DAG orients (an undirected 4-cycle) is left as it is
    square = _dag(4, [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 0), (0, 3)])
    same, record = add_missed_edges(x, square, untested, seed=0)
    assert same.tolist() == square.tolist() and "skipped" in record


def test_additions_only_never_deletes_or_reverses() -> None:
    x = _twin_children(2000, np.random.default_rng(0))
    start = _dag(3, [(1, 2)])
    assert regression_repair(x, start, seed=0).dag[1, 2] == 0  # the full search deletes y -> z
    res = regression_repair(x, start, additions_only=True, seed=0)
    assert res.moves and all(m.startswith("add ") for m in res.moves)
    assert res.dag[1, 2] == 1 and res.dag[2, 1] == 0  # kept, not reversed
    # a forbidden edge is not created by a reversal either
    data = _standardise(np.stack([x[:, 0], x[:, 0] ** 2 + 0.02 * x[:, 1]], 1))
    wrong = _dag(2, [(1, 0)])
    assert regression_repair(data, wrong, seed=0).moves == ["reverse 1->0"]
    ban = _dag(2, [(0, 1)])
    assert regression_repair(data, wrong, forbidden=ban, seed=0).moves == []


def test_discover_support_adds_missed_edges_only_with_enough_observational_rows() -> None:
    x, mask = _weak_u(1600, np.random.default_rng(8), do_q=400)
    base = dict(test="kci", max_samples=400, seed=0)
    found = discover_support(x, mask, repair_interventional=True, **base)
    plain = discover_support(x, mask, **base)  # off unless asked
    assert plain.repair is None and plain.support[1, 2] == 0  # both tests missed q -> r
    assert found.repair is not None and found.repair["mode"] == "additions"
    assert "add 1->2" in found.repair["moves"], found.to_dict()
    assert ((found.support - plain.support) == _dag(4, [(1, 2)])).all()
    few = discover_support(x[-900:], mask[-900:], repair_interventional=True, **base)
    assert few.repair is None  # 500 observational rows: below ADD_MIN_SAMPLES


def _harbor_like(n: int, rng: np.random.Generator) -> np.ndarray:
    """t -> b <- w, b -> h: h is a near-deterministic proxy of b (the PC failure of held-out
    harbor seed 1, where PC took h for a second parent of b)."""
    t = rng.uniform(0, 1, n)
    w = rng.uniform(-1.5, 1.5, n)
    b = 14 * t + 8 * np.sin(1.5 * w) + 1.5 * rng.standard_normal(n)
    h = 4 * b + 8 * rng.standard_normal(n)
    return _standardise(np.stack([t, w, b, h], 1))


def test_a_collider_whose_parents_the_search_joins_is_searched_again_without_it() -> None:
    x = _harbor_like(2000, np.random.default_rng(11))
    truth = _dag(4, [(0, 2), (1, 2), (2, 3)])
    wrong = _dag(4, [(0, 2), (3, 2)])  # PC: t -> b <- h (lost w -> b, oriented a false collider)
    first = regression_repair(x, wrong, fixed=wrong, seed=0)
    assert first.dag[0, 3] or first.dag[3, 0], first.moves  # the search joins t and h
    support, record = repair_cpdag(x, wrong, seed=0)
    assert record["joined_colliders"] == [[0, 2, 3]]
    assert record["score"] < record["first_score"] and record["first_moves"] == first.moves
    assert support.tolist() == truth.tolist(), record["moves"]


def test_a_collider_the_search_leaves_unshielded_is_not_searched_again() -> None:
    x = _harbor_like(2000, np.random.default_rng(12))
    right = _dag(4, [(0, 2), (1, 2), (2, 3)])
    pc_graph = cpdag(right)
    support, record = repair_cpdag(x, pc_graph, seed=0)
    assert "joined_colliders" not in record and support.tolist() == pc_graph.tolist()


def test_the_collider_re_search_is_off_when_asked_and_handles_disagreeing_colliders() -> None:
    from causalvae.essential import orient_colliders as _orient_colliders
    from causalvae.essential import pdag_colliders

    x = _harbor_like(2000, np.random.default_rng(11))
    wrong = _dag(4, [(0, 2), (3, 2)])
    support, record = repair_cpdag(x, wrong, seed=0, recheck_colliders=False)
    assert "joined_colliders" not in record and support[3, 2] == 1  # the old, wrong direction
    # 0 -> 1 <- 2 and 1 -> 2 <- 3 (on 0-1-2-3) disagree about 1 - 2: the edge is kept (left to
    # Meek's rules, which orient 1 -> 2 from 0 -> 1), not lost
    chain = _dag(4, [(0, 1), (1, 2), (2, 3)])
    skel = chain | chain.T
    assert pdag_colliders(_dag(4, [(0, 1), (2, 1), (3, 2)])) == [(0, 1, 2)]
    both = _orient_colliders(skel, [(0, 1, 2), (1, 2, 3)])
    assert ((both | both.T) == skel).all()
    assert both.tolist() == _dag(4, [(0, 1), (1, 2), (3, 2)]).tolist()
