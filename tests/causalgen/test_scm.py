"""SCM semantics: sampling statistics, do, counterfactuals, graph validation, JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest

from causalgen.errors import RenderRangeError, SpecError
from causalgen.scm.noise import Uniform
from causalgen.scm.spec import SCM, Variable


def chain() -> SCM:
    return SCM((
        Variable("a", "noise", "normal(1, 2)"),
        Variable("b", "3 * a + noise", "normal(0, 1)"),
        Variable("c", "b - a + noise", "uniform(-1, 1)"),
        Variable("d", "noise", "uniform(0, 4)"),
    ))


def test_sampling_statistics_follow_the_mechanisms() -> None:
    s = chain().sample(200_000, np.random.default_rng(0))
    a, b, c, d = (s[k] for k in "abcd")
    assert a.mean() == pytest.approx(1, abs=0.02) and a.std() == pytest.approx(2, rel=0.01)
    assert b.mean() == pytest.approx(3, abs=0.05)
    assert b.var() == pytest.approx(9 * 4 + 1, rel=0.02)  # Var(3a + n) = 9 Var(a) + 1
    assert np.allclose(c - (b - a), s.noise[:, 2])  # the recorded noise is what c received
    assert d.min() >= 0 and d.max() <= 4
    assert np.corrcoef(a, d)[0, 1] == pytest.approx(0, abs=0.01)


def test_graph_parents_order_and_adjacency() -> None:
    scm = chain()
    assert scm.parents("c") == ("a", "b")
    assert scm.order.index("a") < scm.order.index("b") < scm.order.index("c")
    adj = scm.adjacency()
    assert adj.dtype == np.int8
    expected = np.zeros((4, 4), np.int8)
    expected[0, 1] = expected[1, 2] = expected[0, 2] = 1
    assert np.array_equal(adj, expected)
    assert scm.descendants(["a"]) == {"b", "c"}
    assert np.array_equal(scm.do(b=1).adjacency(mutilated=True)[:, 1], [0, 0, 0, 0])


def test_cycle_is_named() -> None:
    with pytest.raises(SpecError, match=r"cycle: (x -> y -> x|y -> x -> y)"):
        SCM((Variable("x", "y + noise"), Variable("y", "x * 2")))
    with pytest.raises(SpecError, match="self-loop"):
        SCM((Variable("x", "x + 1"),))


def test_unknown_parent_gets_did_you_mean() -> None:
    with pytest.raises(SpecError, match="did you mean 'alpha'"):
        SCM((Variable("alpha", "noise"), Variable("b", "alpah + 1")))


def test_do_hard_changes_only_descendants_distribution() -> None:
    scm = chain()
    rng = np.random.default_rng(1)
    s = scm.do(b=5.0).sample(50_000, rng)
    assert np.all(s["b"] == 5.0)
    assert s["a"].mean() == pytest.approx(1, abs=0.05)  # a is upstream: unchanged
    assert s["c"].mean() == pytest.approx(5 - 1, abs=0.05)  # c = b - a + n


def test_same_seed_shares_noise_across_interventions() -> None:
    scm = chain()
    obs = scm.sample(100, np.random.default_rng(7))
    inter = scm.do(b=2.0).sample(100, np.random.default_rng(7))
    assert np.array_equal(obs.noise, inter.noise)
    assert np.array_equal(obs["a"], inter["a"]) and np.array_equal(obs["d"], inter["d"])


def test_stochastic_intervention() -> None:
    s = chain().do(a="uniform(10, 11)").sample(10_000, np.random.default_rng(2))
    assert s["a"].min() >= 10 and s["a"].max() <= 11
    assert isinstance(chain().do(a="uniform(10, 11)").intervention["a"], Uniform)


def test_counterfactual_keeps_non_descendants_and_noise() -> None:
    scm = chain()
    s = scm.sample(1000, np.random.default_rng(3))
    cf = scm.counterfactual(s, b=0.0)
    assert np.array_equal(cf.noise, s.noise)
    assert np.array_equal(cf["a"], s["a"]) and np.array_equal(cf["d"], s["d"])
    assert np.all(cf["b"] == 0.0)
    np.testing.assert_allclose(cf["c"], 0.0 - s["a"] + s.noise[:, 2])
    # intervening on a root recomputes all its descendants with the same noise
    cf2 = scm.counterfactual(s, a=0.0)
    np.testing.assert_allclose(cf2["b"], s.noise[:, 1])
    with pytest.raises(SpecError, match="stochastic"):
        scm.counterfactual(s, a="normal(0, 1)")


def test_do_rejects_unknown_variables_and_bad_values() -> None:
    with pytest.raises(SpecError, match="did you mean 'b'"):
        chain().do(bb=1)
    with pytest.raises(SpecError, match="finite"):
        chain().do(b=float("nan"))


def test_non_finite_mechanism_is_reported() -> None:
    scm = SCM((Variable("x", "noise", "uniform(-1, 1)"), Variable("y", "log(x - 5)")))
    with pytest.raises(SpecError, match=r"'y'.*non-finite"):
        scm.sample(10, np.random.default_rng(0))


def test_renderable_range_error_and_clip() -> None:
    scm = SCM((Variable("x", "noise", "normal(0, 1)", low=-1, high=1),
               Variable("y", "x * 2")))
    with pytest.raises(RenderRangeError, match=r"of 'x' fall outside .*--clip"):
        scm.sample(1000, np.random.default_rng(0))
    s = scm.sample(1000, np.random.default_rng(0), clip=True)
    assert s["x"].min() == -1 and s["x"].max() == 1
    np.testing.assert_allclose(s["y"], 2 * s["x"])  # descendants see the clipped value


def test_json_round_trip_is_canonical() -> None:
    scm = chain().do(d=1.5, a="uniform(0, 1)")
    text = scm.to_json()
    back = SCM.from_json(text)
    assert back.to_json() == text
    assert back == scm
    with pytest.raises(SpecError, match="format"):
        SCM.from_json('{"variables": []}')


def test_python_callable_mechanism() -> None:
    scm = SCM((Variable("x", "noise", "uniform(0, 1)"),
               Variable("y", lambda noise, x: x ** 2 + noise, parents=("x",))))
    s = scm.sample(100, np.random.default_rng(0))
    np.testing.assert_allclose(s["y"], s["x"] ** 2)
    with pytest.raises(SpecError, match="parents"):
        Variable("z", lambda noise: noise)
