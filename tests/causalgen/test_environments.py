"""Environments and soft interventions: the text, the SCM changes, the labels each regime writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from causalgen import physics, scenes
from causalgen.errors import EnvironmentSpecError, RenderRangeError, SpecError
from causalgen.generate import BLOCK_SIZE, generate
from causalgen.io import open_dataset
from causalgen.io.merge import merge_shards
from causalgen.scenes.files import load_spec
from causalgen.scm import SCM, Variable
from causalgen.scm.environments import (
    assignment,
    environment_sizes,
    parse_environments,
    parse_interventions,
)
from causalgen.scm.interventions import Do, Mechanism, ScaleNoise, Shift, counterfactual
from causalgen.truth import counterfactual_truth

SPEC = ("obs; do(light_angle=uniform(40, 60)); shift(shadow_length, 2.0); "
        "mechanism(shadow_length, 0.25 * pendulum_angle + 12 + noise)")
N = 2 * BLOCK_SIZE + 101  # environments straddle block boundaries


def chain() -> SCM:
    return SCM((Variable("a", "noise", "normal(1, 2)"), Variable("b", "2 * a + noise", "normal(0, 1)"),
                Variable("c", "b - a + noise", "uniform(-1, 1)")))


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with h5py.File(path) as f:
        keys: list[str] = []
        f.visititems(lambda k, o: keys.append(k) if isinstance(o, h5py.Dataset) else None)
        for k in sorted(keys):
            h.update(k.encode() + np.ascontiguousarray(f[k][...]).tobytes())
        h.update(repr(sorted((k, str(v)) for k, v in f.attrs.items() if k != "shard")).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("pendulum-v1", tmp_path_factory.mktemp("env") / "env.h5", n=N, seed=5, size=16,
                    workers=1, environments=SPEC, environment_sizes=[200, 200, 200, N - 600],
                    counterfactual={"pendulum_angle": 10.0})


# -- the text ------------------------------------------------------------------------------------
def test_parse_environments_in_order() -> None:
    envs = parse_environments(SPEC + "; scale_noise(light_angle, 0.5) & do(pendulum_angle=3)")
    assert [e.index for e in envs] == [0, 1, 2, 3, 4]
    assert envs[0].interventions == ()
    assert envs[2].interventions == (Shift("shadow_length", 2.0),)
    assert envs[3].interventions == (Mechanism("shadow_length", "0.25 * pendulum_angle + 12 + noise"),)
    assert envs[4].interventions == (ScaleNoise("light_angle", 0.5), Do("pendulum_angle", 3.0))
    assert envs[1].text == "do(light_angle=uniform(40, 60))"
    assert parse_interventions(envs[4].text) == envs[4].interventions  # the text round-trips


@pytest.mark.parametrize(("text", "match", "column"), [
    ("obs; shfit(shadow_length, 2)", "did you mean 'shift'", 6),
    ("obs;; do(light_angle=50)", "empty environment", 5),
    ("obs; shift(shadow_length 2)", "cannot read", None),
    ("obs; do(light_angle=unifrm(1, 2))", "did you mean 'uniform'", 21),
    ("obs; shift(shadow_length, 2", "missing", None),
    ("obs; shift(shadow_length, light_angle)", "must be a number", 27),
])
def test_bad_syntax_names_the_column(text: str, match: str, column: int | None) -> None:
    with pytest.raises(EnvironmentSpecError, match=match) as info:
        parse_environments(text)
    if column is not None:
        assert info.value.position == column
        assert f"(column {column})" in str(info.value)


def test_bad_variables_and_cycles_are_named() -> None:
    scm = scenes.make("pendulum-v1").default_scm()
    with pytest.raises(SpecError, match="did you mean 'light_angle'"):
        parse_environments("obs; do(light_angl=50)", scm)
    with pytest.raises(SpecError, match=r"environment 1: .*cycle: pendulum_angle -> shadow_length"):
        parse_environments("obs; mechanism(pendulum_angle, shadow_length + noise)", scm)
    with pytest.raises(SpecError, match="did you mean 'pendulum_angle'"):
        parse_environments("mechanism(shadow_length, 0.5 * pendulum_angel)", scm)
    with pytest.raises(SpecError, match="already set by do"):
        parse_environments("do(light_angle=50) & shift(light_angle, 1)", scm)


def test_a_second_do_on_one_variable_is_refused() -> None:
    # it replaced the first without a word: --do a=2 with do(a=1) wrote a = 1 under a file
    # that records do(a = 2); per-variable overrode --do's value in the variable's environment
    scm = chain()
    for text in ["do(a=1) & do(a=2)", "do(a=1, a=2)", "shift(a, 1) & do(a=2)"]:
        with pytest.raises(SpecError, match=r"'a' already has an earlier .* give each variable"):
            parse_environments(text, scm)
    with pytest.raises(SpecError, match=r"environment 1: do\(a=1.0\): 'a' already has a do\(\) on the whole"):
        parse_environments("obs; do(a=1)", scm.do(a=2.0))
    envs = parse_environments("per-variable", scm.do(a=2.0))
    assert [e.targets for e in envs] == [(), ("b",), ("c",)]
    assert parse_environments("do(a=1) & shift(b, 1) & shift(b, 2)", scm)[0].targets == ("a", "b")


def test_scm_intervene_refuses_a_do_that_replaces_another() -> None:
    # SCM.intervene applied the list in order, so the second do() on a variable (or a do() over
    # a soft intervention, or over the SCM's own do) won without a word
    scm = chain()
    for text in ["do(a=1) & do(a=2)", "shift(a, 1) & do(a=2)"]:
        with pytest.raises(SpecError, match=r"'a' already has an earlier .* in this list"):
            scm.intervene(text)
    with pytest.raises(SpecError, match=r"'a' already has a do\(\) on this SCM,"):
        scm.do(a=2.0).intervene("do(a=1)")
    assert scm.do(a=2.0).do(a=1.0).intervention == {"a": 1.0}  # do() itself replaces on purpose
    out = scm.intervene("do(a=1) & shift(b, 2)")  # distinct targets are fine
    assert out.intervention == {"a": 1.0}


def test_sizes_and_assignment() -> None:
    assert environment_sizes(10, 3) == [4, 3, 3]
    assert environment_sizes(10, 2, "3,7") == [3, 7]
    with pytest.raises(SpecError, match="add up to 9, but --n is 10"):
        environment_sizes(10, 2, [3, 6])
    with pytest.raises(SpecError, match="2 sizes for 3"):
        environment_sizes(10, 3, [3, 7])
    assert assignment([4, 3, 3], 0, 10).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert assignment([4, 3, 3], 3, 6).tolist() == [0, 1, 1]


# -- the SCM changes -----------------------------------------------------------------------------
def test_soft_interventions_change_mechanism_graph_and_noise() -> None:
    scm = chain()
    rng = np.random.default_rng(0)
    base = scm.sample(2000, np.random.default_rng(1))
    shifted = Shift("b", 3.0).apply(scm).sample(2000, np.random.default_rng(1))
    np.testing.assert_allclose(shifted["b"], base["b"] + 3.0)
    np.testing.assert_allclose(shifted["c"], base["c"] + 3.0)  # c = b - a + u: the shift flows on
    np.testing.assert_array_equal(shifted.noise, base.noise)  # same units
    scaled = ScaleNoise("a", 0.5).apply(scm).sample(2000, np.random.default_rng(1))
    np.testing.assert_allclose(scaled["a"], 1.0 + 0.5 * (base["a"] - 1.0))  # about the mean 1
    np.testing.assert_allclose(scaled["b"], 2 * scaled["a"] + base.noise[:, 1])
    new = Mechanism("c", "a * a + noise").apply(scm)
    assert new.adjacency().tolist() == [[0, 1, 1], [0, 0, 0], [0, 0, 0]]  # b -> c gone
    np.testing.assert_allclose(new.sample(5, rng)["c"].shape, (5,))
    with pytest.raises(SpecError, match=r"cycle: (a -> c -> a|c -> a -> c)"):
        Mechanism("a", "c + noise").apply(new)


def test_soft_counterfactual_keeps_the_units() -> None:
    scm = chain()
    s = scm.sample(50, np.random.default_rng(2))
    _, cf = counterfactual(scm, s, [Shift("b", 1.0)])
    np.testing.assert_allclose(cf["a"], s["a"])
    np.testing.assert_allclose(cf["b"], s["b"] + 1.0)
    np.testing.assert_allclose(cf["c"], s["c"] + 1.0)
    _, cf = counterfactual(scm, s, [Mechanism("b", "-a"), Do("a", 2.0)])
    np.testing.assert_allclose(cf["b"], -2.0)
    np.testing.assert_allclose(cf["c"], -4.0 + s.noise[:, 2])


# -- generated files -----------------------------------------------------------------------------
def test_labels_follow_each_environment(env_file: Path) -> None:
    with open_dataset(env_file) as ds:
        env = ds.environment
        assert env.dtype == np.int32 and np.bincount(env).tolist() == [200, 200, 200, N - 600]
        assert np.all(np.diff(env) >= 0)  # contiguous runs, in order
        pa, la, sl, sp = ds.labels.astype(np.float64).T
        ref_len, ref_pos = physics.shadow_length(pa, la), physics.shadow_position(pa, la)
        tol = 1e-4
        for e in (0, 1, 2, 3):
            rows = env == e
            np.testing.assert_allclose(sp[rows], ref_pos[rows], atol=tol)
        np.testing.assert_allclose(sl[env <= 1], ref_len[env <= 1], atol=tol)
        np.testing.assert_allclose(sl[env == 2], ref_len[env == 2] + 2.0, atol=tol)
        np.testing.assert_allclose(sl[env == 3], 0.25 * pa[env == 3] + 12, atol=tol)
        assert la[env == 1].min() >= 40 and la[env == 1].max() <= 60
        assert la[env == 0].min() >= 54  # the observational root
        mask = ds.intervened
        names = ds.variable_names
        assert mask[env == 0].sum() == 0
        assert mask[env == 1].sum(0).tolist() == [0, 200, 0, 0]
        assert mask[env == 3][:, names.index("shadow_length")].all()
        recs = ds.environments
        assert [r["text"] for r in recs][2] == "shift(shadow_length, 2.0)"
        assert recs[3]["adjacency"][names.index("light_angle")][names.index("shadow_length")] == 0
        assert [(r["start"], r["stop"]) for r in recs][1] == (200, 400)
        # the counterfactual group: do(pendulum_angle=10) in each unit's own environment
        cf = ds.counterfactual.labels.astype(np.float64)
        np.testing.assert_allclose(cf[env == 3, 2], 0.25 * 10 + 12, atol=tol)
        np.testing.assert_allclose(cf[env == 2, 2], physics.shadow_length(
            np.full((env == 2).sum(), 10.0), la[env == 2]) + 2.0, atol=tol)
        # truth answers each unit under its environment's SCM, soft counterfactuals included
        idx = np.arange(0, N, 5)
        _, v = counterfactual_truth(ds, idx, {"pendulum_angle": 10.0}, clip=False)
        np.testing.assert_allclose(v, cf[idx], atol=tol)
        _, v = counterfactual_truth(ds, idx, "shift(shadow_length, 1.5)", clip=False)
        np.testing.assert_allclose(v[:, 2], ds.labels[idx, 2] + 1.5, atol=tol)


def test_bytes_independent_of_workers_and_shards(env_file: Path, tmp_path: Path) -> None:
    kw = dict(n=N, seed=5, size=16, environments=SPEC, environment_sizes=[200, 200, 200, N - 600],
              counterfactual={"pendulum_angle": 10.0})
    multi = generate("pendulum-v1", tmp_path / "multi.h5", workers=2, **kw)
    assert digest(multi) == digest(env_file)
    parts = [generate("pendulum-v1", tmp_path / f"s{k}.h5", workers=1, shard=(k, 3), **kw)
             for k in (1, 2, 3)]
    assert digest(merge_shards(parts, tmp_path / "merged.h5")) == digest(env_file)


def test_flow_reference_per_variable(tmp_path: Path) -> None:
    spec = load_spec(Path(__file__).parents[2] / "data" / "scenes" / "flow-reference.toml")
    out = generate("flow-v1", tmp_path / "flow.h5", n=500, seed=1, size=16, workers=1, scm=spec.scm,
                   environments="obs; do(hole_height=uniform(6, 15)); shift(water_height, 1.5); "
                                "mechanism(water_flow, 0.5 * water_height + hole_height)")
    with open_dataset(out) as ds:
        env = ds.environment
        bs, wh, hh, wf = ds.labels.astype(np.float64).T
        ref = np.sqrt(1.96 * wh * (hh - 1.5))
        np.testing.assert_allclose(wf[env <= 2], ref[env <= 2], rtol=1e-5)
        np.testing.assert_allclose(wf[env == 3], 0.5 * wh[env == 3] + hh[env == 3], rtol=1e-5)
        u = ds.noise[:, 1].astype(np.float64)
        np.testing.assert_allclose(wh[env == 2], bs[env == 2] ** 3 / 9 + u[env == 2] + 1.5, rtol=1e-5)
        np.testing.assert_allclose(wh[env == 0], bs[env == 0] ** 3 / 9 + u[env == 0], rtol=1e-5)
    envs = parse_environments("per-variable", spec.scm)
    assert [e.targets for e in envs] == [(), *((v.name,) for v in spec.scm.variables)]
    # hole_height below 1.5 makes the flow's sqrt negative: its range is shrunk away from it
    hole = envs[3].interventions[0].value
    assert 1.5 < hole.low < 6 and 15 < hole.high <= 21.5
    assert envs[4].text == "do(water_flow=uniform(0, 32))"  # a leaf: its whole renderable range
    out = generate("flow-v1", tmp_path / "pv.h5", n=500, seed=1, size=16, workers=1, scm=spec.scm,
                   environments="per-variable")  # every environment renders without --clip
    with open_dataset(out) as ds:
        assert np.bincount(ds.environment).tolist() == [100] * 5


def test_hidden_targets(tmp_path: Path) -> None:
    from causalvae.data import CausalDataset

    out = generate("pendulum-v1", tmp_path / "hidden.h5", n=300, seed=2, size=16, workers=1,
                   environments="obs; do(light_angle=60)", hide_targets=True)
    with open_dataset(out) as ds:
        assert ds.intervened is None and ds.targets_hidden
        assert ds.environments == [{"index": 0, "size": 150, "start": 0, "stop": 150},
                                   {"index": 1, "size": 150, "start": 150, "stop": 300}]
        mask, records = ds.hidden_targets()
        assert mask.sum(0).tolist() == [0, 150, 0, 0]
        assert records[1]["text"] == "do(light_angle=60.0)"
    assert CausalDataset(out, "train").intervened.sum() == 0  # the learner sees no targets
    assert CausalDataset(out, "train", read_hidden_targets=True).intervened.sum() > 0
    with pytest.raises(SpecError, match="--hide-targets needs"):
        generate("pendulum-v1", tmp_path / "h2.h5", n=300, size=16, hide_targets=True)


def test_mix_inside_environments_and_errors(tmp_path: Path) -> None:
    out = generate("pendulum-v1", tmp_path / "mix.h5", n=300, seed=2, size=16, workers=1,
                   environments="obs; shift(shadow_length, 1)", intervention_mix=0.5)
    with open_dataset(out) as ds:
        assert ds.intervened[ds.environment == 1, 2].all()
        assert 0 < ds.intervened[ds.environment == 0].any(1).mean() < 1
    with pytest.raises(RenderRangeError, match=r"environment 1 .*shadow_length"):
        generate("pendulum-v1", tmp_path / "bad.h5", n=300, size=16,
                 environments="obs; shift(shadow_length, 40)")
    assert not (tmp_path / "bad.h5").exists()


def test_scm_methods_return_new_scms() -> None:
    scm = chain()
    s0 = scm.sample(100, np.random.default_rng(4))
    shifted = scm.shift("b", 2.0)
    assert shifted is not scm and scm.variable("b").mechanism == "2 * a + noise"
    np.testing.assert_allclose(shifted.sample(100, np.random.default_rng(4))["b"], s0["b"] + 2)
    np.testing.assert_allclose(scm.scale_noise("a", 0.0).sample(100, np.random.default_rng(4))["a"], 1.0)
    assert scm.replace_mechanism("c", "a + noise").parents("c") == ("a",)
    both = scm.intervene("shift(b, 2) & do(a=0)")
    np.testing.assert_allclose(both.sample(100, np.random.default_rng(4))["b"], s0.noise[:, 1] + 2)
    assert both.intervention == {"a": 0.0}
    with pytest.raises(SpecError, match="did you mean 'b'"):
        scm.shift("bb", 1.0)


def test_too_many_environment_records_is_refused(tmp_path: Path) -> None:
    text = "; ".join(["obs"] + [f"mechanism(shadow_length, 3 + 0.0001 * {i} + pendulum_angle * 0)"
                                for i in range(300)])
    with pytest.raises(SpecError, match="HDF5 attribute holds"):
        generate("pendulum-v1", tmp_path / "many.h5", n=400, size=16, workers=1, environments=text)
    assert list(tmp_path.iterdir()) == []
