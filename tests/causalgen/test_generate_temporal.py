"""Temporal files: layout, labels that follow the lagged mechanisms, targets, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from causalgen import generate_temporal as G
from causalgen import scenes
from causalgen.errors import SpecError
from causalgen.io import open_dataset
from causalgen.io import schema as S
from causalgen.io.merge import merge_shards
from causalgen.scm.temporal import step

SCENE = "pendulum-dynamic-v1"


@pytest.fixture(scope="module")
def pendulum_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("temporal") / "pd.h5"
    return G.generate_sequences(SCENE, out, n=12, steps=20, seed=3, size=32, workers=1,
                                intervention_rate=0.2, counterfactual={"light_angle": 90.0},
                                counterfactual_from=7)


def test_layout_of_a_temporal_file(pendulum_file: Path) -> None:
    with open_dataset(pendulum_file) as ds:
        assert ds.steps == 20 and ds.is_temporal and ds.n == 12 and ds.image_size == 32
        assert ds.images.shape == (12, 20, 32, 32, 3) and ds.images.chunks == (1, 20, 32, 32, 3)
        assert ds.labels.shape == ds.noise.shape == ds.intervened.shape == (12, 20, 5)
        assert ds.init.shape == (12, 5) and ds.split.shape == (12,)
        assert ds.counterfactual.images.shape == ds.images.shape
        assert ds.file[S.COUNTERFACTUAL].attrs[S.ATTR_COUNTERFACTUAL_FROM] == 7
        scm = scenes.make(SCENE).default_scm()
        np.testing.assert_array_equal(ds.adjacency, scm.adjacency())
        np.testing.assert_array_equal(ds.lagged_adjacency, scm.lagged_adjacency())
        assert ds.intervention_rate["rate"] == 0.2
        assert len({ds.images[i, t].tobytes() for i in range(3) for t in range(20)}) > 50


def test_labels_follow_the_lagged_mechanisms_and_targets_are_where_stored(pendulum_file: Path) -> None:
    with open_dataset(pendulum_file) as ds:
        scene, scm = scenes.from_dataset(ds)
        labels = ds.labels.astype(np.float64)
        mask = ds.intervened.astype(bool)
        assert 0 < mask.any(-1).mean() < 0.4 and mask.sum(-1).max() == 1
        previous = ds.init.astype(np.float64)
        for t in range(ds.steps):  # recompute each step from the stored previous step
            forced = np.where(mask[:, t], labels[:, t], np.nan)
            again = step(scm, ds.noise[:, t].astype(np.float64), previous, forced)
            np.testing.assert_allclose(again, labels[:, t], rtol=1e-4, atol=1e-3)
            previous = labels[:, t]
        natural = np.stack([step(scm, ds.noise[:, t].astype(np.float64),
                                 ds.init.astype(np.float64) if t == 0 else labels[:, t - 1],
                                 np.full(labels[:, t].shape, np.nan)) for t in range(ds.steps)], 1)
        # an intervened value mostly differs from what the mechanism gives (a donor's value can
        # coincide: shadow lengths sit on their floor of 3)
        assert (np.abs(natural - labels)[mask] > 1e-3).mean() > 0.7
        # the counterfactual leaves steps before 7 alone and sets the sun from step 7 on
        cf = ds.counterfactual.labels
        np.testing.assert_array_equal(cf[:, :7], ds.labels[:, :7])
        assert (cf[:, 7:, 2] == 90.0).all()
        img = ds.images[0]
        np.testing.assert_array_equal(scene.render({n: labels[0, :, i] for i, n in
                                                    enumerate(ds.variable_names)}, 32), img)


@pytest.mark.parametrize("scene", ["collision-v1", SCENE])
def test_bytes_do_not_depend_on_workers_or_shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  scene: str) -> None:
    monkeypatch.setattr(G, "FRAMES_PER_BLOCK", 12)  # 2 sequences per block: several blocks
    kw = dict(n=9, steps=6, seed=5, size=24, intervention_rate=0.3)
    one = G.generate_sequences(scene, tmp_path / "one.h5", workers=1, **kw)
    two = G.generate_sequences(scene, tmp_path / "two.h5", workers=2, **kw)
    parts = [G.generate_sequences(scene, tmp_path / f"s{k}.h5", workers=1,
                                  shard=(k, 2), **kw) for k in (1, 2)]
    merged = merge_shards(parts, tmp_path / "merged.h5")
    with open_dataset(one) as a:
        for other in (two, merged):
            with open_dataset(other) as b:
                for key in (S.IMAGES, S.LABELS, S.NOISE, S.INIT, S.INTERVENED, S.SPLIT):
                    np.testing.assert_array_equal(a.file[key][...], b.file[key][...], key)
                assert b.steps == 6
    assert one.read_bytes() == two.read_bytes()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": 0}, "--steps must be between 1"),
    ({"steps": 10**6}, "--steps must be between 1"),
    ({"intervention_rate": 1.5}, r"--intervention-rate must be a probability in \[0, 1\]"),
    ({"intervention_rate": 0.1, "intervention_targets_": ["lihgt_angle"]}, "did you mean"),
    ({"counterfactual": {"light_angle": 90.0}, "counterfactual_from": 40}, "--counterfactual-from"),
])
def test_bad_input_writes_nothing(tmp_path: Path, kwargs: dict, message: str) -> None:
    out = tmp_path / "x.h5"
    with pytest.raises(SpecError, match=message):
        G.generate_sequences(SCENE, out, n=2, size=16, workers=1, **kwargs)
    assert not list(tmp_path.iterdir())


def test_still_driver_refuses_a_temporal_scm(tmp_path: Path) -> None:
    from causalgen.generate import generate

    with pytest.raises(SpecError, match="generate sequences"):
        generate(SCENE, tmp_path / "x.h5", n=4, size=16, workers=1)
    assert not list(tmp_path.iterdir())
