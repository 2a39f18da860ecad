"""Temporal SCMs: lagged mechanisms, the initial-value rule, per-step interventions, counterfactuals."""

from __future__ import annotations

import numpy as np
import pytest

from causalgen import scenes
from causalgen.errors import SpecError
from causalgen.scm.spec import SCM, Variable
from causalgen.scm.temporal import (
    MAX_STEPS,
    counterfactual_sequences,
    sample_sequences,
)


def heater_scm() -> SCM:
    return SCM((
        Variable("heater", "noise", "bernoulli(0.5)"),
        Variable("temp", "0.9 * temp[t-1] + 0.3 * heater + noise", "normal(0, 0.1)",
                 init="uniform(10, 20)"),
        Variable("light", "0.5 * temp - heater[t-1] + noise", "normal(0, 1)"),
    ), name="heater")


def test_graphs_instantaneous_and_lagged() -> None:
    scm = heater_scm()
    assert scm.is_dynamic and not scenes.make("pendulum-v1").default_scm().is_dynamic
    names = scm.names
    inst, lag = scm.adjacency(), scm.lagged_adjacency()
    assert {(names[i], names[j]) for i, j in zip(*np.nonzero(inst), strict=True)} == {
        ("heater", "temp"), ("temp", "light")}
    assert {(names[i], names[j]) for i, j in zip(*np.nonzero(lag), strict=True)} == {
        ("temp", "temp"), ("heater", "light")}


def test_labels_follow_the_lagged_mechanisms_exactly() -> None:
    scm = heater_scm()
    s = sample_sequences(scm, 50, 30, np.random.default_rng(0))
    h, temp, light = (s.values[..., i] for i in range(3))
    nz = s.noise
    prev_temp = np.concatenate([s.init[:, 1:2], temp[:, :-1]], axis=1)
    np.testing.assert_allclose(temp, 0.9 * prev_temp + 0.3 * h + nz[..., 1], atol=1e-12)
    # heater is read lagged, so it has an initial value too, drawn from its noise (no init)
    prev_h = np.concatenate([s.init[:, 0:1], h[:, :-1]], axis=1)
    np.testing.assert_allclose(light, 0.5 * temp - prev_h + nz[..., 2], atol=1e-12)
    assert set(np.unique(s.init[:, 0])) <= {0.0, 1.0}
    assert (s.init[:, 1] >= 10).all() and (s.init[:, 1] <= 20).all()
    assert np.isnan(s.init[:, 2]).all()  # light is never read lagged
    assert not s.intervened.any()


def test_cycles_are_refused_only_among_instantaneous_edges() -> None:
    SCM((Variable("x", "y[t-1] + noise", "normal(0, 1)"),
         Variable("y", "x[t-1] + noise", "normal(0, 1)")))  # a lagged 2-cycle is fine
    with pytest.raises(SpecError, match="cycle"):
        SCM((Variable("x", "x[t-1] + z", "normal(0, 1)"), Variable("z", "x", "normal(0, 1)")))


@pytest.mark.parametrize(("mechanism", "message"), [
    ("temp[t-2] + noise", "only the previous step can be read"),
    ("tmep[t-1] + noise", "unknown variable 'tmep' in the lagged read"),
])
def test_bad_lags_name_the_problem(mechanism: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        SCM((Variable("temp", mechanism, "normal(0, 1)"),))


def test_interventions_at_the_stored_steps_and_only_there() -> None:
    scm = heater_scm()
    rate = 0.3
    s = sample_sequences(scm, 200, 25, np.random.default_rng(1), rate=rate)
    per_step = s.intervened.sum(-1)
    assert per_step.max() == 1  # at most one target per sequence and step
    assert abs(per_step.mean() - rate) < 0.03
    forced = ~np.isnan(s.forced)
    assert np.array_equal(forced, s.intervened.astype(bool))
    assert np.array_equal(s.values[forced], s.forced[forced])  # the stored value was set
    # wherever nothing was set, the mechanism holds exactly
    temp, h = s.values[..., 1], s.values[..., 0]
    prev_temp = np.concatenate([s.init[:, 1:2], temp[:, :-1]], axis=1)
    natural = 0.9 * prev_temp + 0.3 * h + s.noise[..., 1]
    free = ~forced[..., 1]
    np.testing.assert_allclose(temp[free], natural[free], atol=1e-12)
    assert not np.allclose(temp[forced[..., 1]], natural[forced[..., 1]])


def test_listed_targets_only() -> None:
    s = sample_sequences(heater_scm(), 100, 10, np.random.default_rng(2), rate=0.5,
                         targets=["heater"])
    assert s.intervened[..., 0].any() and not s.intervened[..., 1:].any()
    with pytest.raises(SpecError, match="did you mean 'heater'"):
        sample_sequences(heater_scm(), 4, 3, np.random.default_rng(2), rate=0.5, targets=["heatr"])


def test_counterfactual_from_a_step_on() -> None:
    scm = heater_scm()
    s = sample_sequences(scm, 20, 12, np.random.default_rng(3), rate=0.2)
    cf = counterfactual_sequences(scm, s, {"heater": 1.0}, start=5)
    assert np.array_equal(cf.values[:, :5], s.values[:, :5])
    assert (cf.values[:, 5:, 0] == 1.0).all()
    np.testing.assert_array_equal(cf.noise, s.noise)
    temp = cf.values[..., 1]
    free = np.isnan(s.forced[:, 5:, 1])
    natural = 0.9 * temp[:, 4:-1] + 0.3 + s.noise[:, 5:, 1]
    np.testing.assert_allclose(temp[:, 5:][free], natural[free], atol=1e-12)
    with pytest.raises(SpecError, match="--counterfactual-from"):
        counterfactual_sequences(scm, s, {"heater": 1.0}, start=12)


def test_determinism_and_bad_input() -> None:
    a = sample_sequences(heater_scm(), 10, 8, np.random.default_rng(4), rate=0.1)
    b = sample_sequences(heater_scm(), 10, 8, np.random.default_rng(4), rate=0.1)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.intervened, b.intervened)
    for steps in (0, -1, MAX_STEPS + 1):
        with pytest.raises(SpecError, match="--steps must be between 1"):
            sample_sequences(heater_scm(), 2, steps, np.random.default_rng(0))
    for rate in (-0.1, 1.5):
        with pytest.raises(SpecError, match=r"--intervention-rate must be a probability in \[0, 1\]"):
            sample_sequences(heater_scm(), 2, 2, np.random.default_rng(0), rate=rate)


def test_init_round_trips_and_still_json_is_unchanged() -> None:
    scm = heater_scm()
    assert SCM.from_json(scm.to_json()).to_json() == scm.to_json()
    assert '"init":"uniform(10, 20)"' in scm.to_json()
    assert "init" not in scenes.make("pendulum-v1").default_scm().to_json()


def test_pendulum_dynamic_swings_and_its_shadow_follows() -> None:
    from causalgen import physics, physics_dynamic

    scene = scenes.make("pendulum-dynamic-v1")
    scm = scene.default_scm()
    s = sample_sequences(scm, 6, 40, np.random.default_rng(5))
    angle = s.values[..., 0]
    times = np.arange(41) / physics_dynamic.DEFAULT_FPS
    for i in range(6):  # from the initial state (angle, velocity 0), 40 frames follow the ODE
        ref = physics_dynamic.damped_pendulum_ode(s.init[i, 0], s.init[i, 1], times)[1:]
        assert np.abs(angle[i] - ref).max() < 1.0
    big = np.abs(s.init[:, 0]) > 10
    assert (np.sign(angle[big].min(1)) != np.sign(angle[big].max(1))).all()  # it swings across
    length, position = physics.pendulum_shadow(angle.ravel(), s.values[..., 2].ravel())
    np.testing.assert_allclose(s.values[..., 3].ravel(), length)
    np.testing.assert_allclose(s.values[..., 4].ravel(), position)
    sun = s.values[..., 2]
    step = np.diff(sun, axis=1)
    assert np.median(step) == pytest.approx(0.8, abs=0.05)  # the sun moves along its arc


def test_collision_mass_and_speed_set_where_the_second_ball_goes() -> None:
    scm = scenes.make("collision-v1").default_scm()
    s = sample_sequences(scm, 30, 40, np.random.default_rng(6))
    ma, mb, va = s.init[:, 0], s.init[:, 1], s.init[:, 3]
    vb = s.values[..., 5]
    hit = np.abs(vb).max(1) > 0
    first = vb[hit][np.arange(hit.sum()), np.argmax(np.abs(vb[hit]) > 0, axis=1)]
    np.testing.assert_allclose(first, 2 * ma[hit] * va[hit] / (ma[hit] + mb[hit]), rtol=0.03)
    assert (s.values[..., 0] == ma[:, None]).all()  # a mass keeps its value
