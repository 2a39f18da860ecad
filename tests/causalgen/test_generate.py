"""The driver: determinism across workers and shards, merge, split, do and counterfactual data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from causalgen import scenes
from causalgen.errors import DatasetError, RenderRangeError, SpecError
from causalgen.generate import BLOCK_SIZE, generate, parse_shard
from causalgen.io import open_dataset
from causalgen.io.merge import merge_shards

N = 3 * BLOCK_SIZE + 77  # not a multiple of the block or the chunk


def digest(path: Path) -> dict[str, str]:
    out = {}
    with open_dataset(path) as d:
        arrays = {"images": d.images[...], "labels": d.labels, "noise": d.noise, "split": d.split}
        if d.counterfactual is not None:
            arrays["cf_images"] = d.counterfactual.images[...]
            arrays["cf_labels"] = d.counterfactual.labels
        for k, a in arrays.items():
            out[k] = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
        out["attrs"] = repr(sorted((k, str(v)) for k, v in d.attrs.items() if k != "shard"))
    return out


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("pendulum-v1", tmp_path_factory.mktemp("g") / "one.h5", n=N, seed=11, size=32,
                    workers=1, counterfactual={"pendulum_angle": 0.0})


def test_bytes_do_not_depend_on_workers(single: Path, tmp_path: Path) -> None:
    multi = generate("pendulum-v1", tmp_path / "multi.h5", n=N, seed=11, size=32, workers=2,
                     counterfactual={"pendulum_angle": 0.0})
    assert digest(multi) == digest(single)


def test_merged_shards_equal_one_run(single: Path, tmp_path: Path) -> None:
    parts = [generate("pendulum-v1", tmp_path / f"s{k}.h5", n=N, seed=11, size=32, workers=1,
                      shard=(k, 3), counterfactual={"pendulum_angle": 0.0}) for k in (1, 2, 3)]
    with open_dataset(parts[1]) as d:
        assert d.shard == {"index": 2, "count": 3, "start": BLOCK_SIZE, "stop": 2 * BLOCK_SIZE}
    merged = merge_shards(parts[::-1], tmp_path / "merged.h5")
    assert digest(merged) == digest(single)
    with pytest.raises(DatasetError, match="missing \\[2\\]"):
        merge_shards([parts[0], parts[2]], tmp_path / "m2.h5")
    other = generate("pendulum-v1", tmp_path / "o2.h5", n=N, seed=12, size=32, workers=1, shard=(2, 3))
    with pytest.raises(DatasetError, match="'seed'"):
        merge_shards([parts[0], other, parts[2]], tmp_path / "m3.h5")
    with pytest.raises(DatasetError, match="not a shard"):
        merge_shards([single], tmp_path / "m4.h5")


def test_file_contents(single: Path) -> None:
    scm = scenes.make("pendulum-v1").default_scm()
    with open_dataset(single) as d:
        assert d.n == N and d.images.shape == (N, 32, 32, 3)
        assert d.scene == "pendulum-v1" and d.seed == 11
        assert np.array_equal(d.adjacency, scm.adjacency())
        assert d.spec_json == scm.to_json()
        assert int(d.split.sum()) == round(0.2 * N)
        assert not np.array_equal(d.split[: N // 2], np.tile([0, 0, 0, 0, 1], N)[: N // 2])
        cf = d.counterfactual
        assert cf is not None and cf.intervention == {"pendulum_angle": 0.0}
        assert np.all(cf.labels[:, 0] == 0) and np.array_equal(cf.labels[:, 1], d.labels[:, 1])
        assert np.array_equal(cf.noise, d.noise)


def test_do_dataset_and_bad_requests(tmp_path: Path) -> None:
    p = generate("pendulum-v1", tmp_path / "do.h5", n=100, size=32, workers=1,
                 do={"light_angle": "uniform(80, 100)"})
    with open_dataset(p) as d:
        assert d.intervention == {"light_angle": "uniform(80, 100)"}
        assert d.labels[:, 1].min() >= 80 and d.labels[:, 1].max() <= 100
    with pytest.raises(SpecError, match="did you mean 'light_angle'"):
        generate("pendulum-v1", tmp_path / "x.h5", n=10, do={"light_angel": 1.0})
    with pytest.raises(RenderRangeError, match="light_angle"):
        generate("pendulum-v1", tmp_path / "x.h5", n=10, do={"light_angle": 10.0})
    assert not (tmp_path / "x.h5").exists()
    p = generate("pendulum-v1", tmp_path / "clip.h5", n=10, size=32, do={"light_angle": 10.0},
                 clip=True)
    with open_dataset(p) as d:
        assert np.all(d.labels[:, 1] == 40)


def test_parse_shard() -> None:
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "a/b", "3"):
        with pytest.raises(SpecError):
            parse_shard(bad)


def test_spec_file_generation(tmp_path: Path) -> None:
    from causalgen.scenes.files import load_spec

    spec = load_spec(Path(__file__).parents[2] / "data/scenes/pendulum-noisy.toml")
    p = generate(spec.scene_id, tmp_path / "noisy.h5", n=300, size=32, scm=spec.scm, workers=1)
    with open_dataset(p) as d:
        assert d.noise[:, 2].std() == pytest.approx(0.4, rel=0.2)
        assert "normal(0, 0.4)" in d.spec_json


def test_counterfactual_truth_matches_the_files_counterfactual_group(single: Path) -> None:
    from causalgen.truth import counterfactual_truth

    with open_dataset(single) as d:
        idx = np.array([400, 3, 77, 800])
        images, labels = counterfactual_truth(d, idx, {"pendulum_angle": 0.0})
        assert np.array_equal(images, d.counterfactual.images[np.sort(idx)][np.argsort(np.argsort(idx))])
        np.testing.assert_allclose(labels, d.counterfactual.labels[idx], atol=1e-4)
        # one value per sample: each row under its own intervention
        per = counterfactual_truth(d, idx, {"pendulum_angle": np.array([0.0, 0.0, 5.0, 0.0])})[1]
        assert per[2, 0] == 5.0 and np.array_equal(per[[0, 1, 3]], labels[[0, 1, 3]])


def test_intervention_mix_rows_are_counterfactuals(tmp_path: Path) -> None:
    p = generate("pendulum-v1", tmp_path / "mix.h5", n=600, seed=2, size=32, workers=1,
                 intervention_mix=0.5)
    obs = generate("pendulum-v1", tmp_path / "obs.h5", n=600, seed=2, size=32, workers=1)
    scm = scenes.make("pendulum-v1").default_scm()
    with open_dataset(p) as d, open_dataset(obs) as o:
        m = d.intervened
        assert m is not None and m.shape == (600, 4) and m.sum(1).max() == 1
        assert 0.4 < m.any(1).mean() < 0.6 and all(m[:, i].sum() > 30 for i in range(4))
        assert np.array_equal(d.noise, o.noise)  # same units
        untouched = ~m.any(1)
        assert np.array_equal(d.labels[untouched], o.labels[untouched])
        # a row intervened on pendulum_angle: descendants follow the mechanism, light_angle stays
        rows = np.flatnonzero(m[:, 0])
        assert np.array_equal(d.labels[rows, 1], o.labels[rows, 1])
        from causalgen.physics import pendulum_shadow_closed_form

        cl, cp = pendulum_shadow_closed_form(d.labels[rows, 0], d.labels[rows, 1])
        np.testing.assert_allclose(d.labels[rows, 2], cl, atol=1e-4)
        # a row intervened on a shadow: the shadow no longer follows the angles
        rows = np.flatnonzero(m[:, 3])
        cl, cp = pendulum_shadow_closed_form(d.labels[rows, 0], d.labels[rows, 1])
        assert np.mean(np.abs(d.labels[rows, 3] - cp) > 1e-3) > 0.9
        assert d.intervention_mix["fraction"] == 0.5
    assert scm.names == tuple(d.variable_names)
    with pytest.raises(SpecError, match="cannot be combined"):
        generate("pendulum-v1", tmp_path / "x.h5", n=10, intervention_mix=0.5,
                 counterfactual={"light_angle": 90.0})


@pytest.mark.parametrize("n", [256 + 10, 3, 600])
def test_last_block_shorter_than_a_chunk(tmp_path: Path, n: int) -> None:
    one = generate("pendulum-v1", tmp_path / "a.h5", n=n, size=32, workers=1, seed=4)
    two = generate("pendulum-v1", tmp_path / "b.h5", n=n, size=32, workers=2, seed=4)
    assert digest(one) == digest(two)
    with open_dataset(one) as d:
        scm = scenes.make("pendulum-v1").default_scm()
        last = scm.sample(n - (n - 1) // BLOCK_SIZE * BLOCK_SIZE,
                          np.random.default_rng([4, (n - 1) // BLOCK_SIZE]))
        img = scenes.make("pendulum-v1").render({k: v[-1:] for k, v in last.as_dict().items()}, 32)
        assert np.array_equal(d.images[n - 1], img[0])


def test_merge_refuses_shards_with_different_counterfactuals(tmp_path: Path) -> None:
    a = generate("pendulum-v1", tmp_path / "a.h5", n=600, size=32, workers=1, shard=(1, 2))
    b = generate("pendulum-v1", tmp_path / "b.h5", n=600, size=32, workers=1, shard=(2, 2),
                 counterfactual={"light_angle": 90.0})
    with pytest.raises(DatasetError, match="counterfactual"):
        merge_shards([a, b], tmp_path / "m.h5")
    with pytest.raises(SpecError, match="at least one variable"):
        generate("pendulum-v1", tmp_path / "x.h5", n=10, intervention_mix=0.5,
                 do={"pendulum_angle": 0.0, "light_angle": 90.0, "shadow_length": 3.0,
                     "shadow_position": 10.0})
