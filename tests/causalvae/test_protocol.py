"""Bring-your-own-model evaluation with models that are not ours: oracle, PCA, random projection."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from causalgen.io import VariableInfo, open_dataset, write_arrays
from causalgen.truth import counterfactual_truth
from causalvae.errors import DataError
from causalvae.protocol import evaluate_latents, evaluate_model, load_graph
from causalvae.representation import REPRESENTATION_KEYS


def _key(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class Oracle:
    """Knows every image of the file: its true labels, and its true counterfactuals."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open_dataset(path) as ds:
            self.row = {_key(im): i for i, im in enumerate(ds.images[:])}
            self.labels = ds.labels[:].astype(np.float64)

    def _rows(self, images: np.ndarray) -> np.ndarray:
        return np.array([self.row[_key(im)] for im in images])

    def encode(self, images: np.ndarray) -> np.ndarray:
        return self.labels[self._rows(images)]

    def intervene(self, images: np.ndarray, variable: str, values: np.ndarray) -> np.ndarray:
        with open_dataset(self.path) as ds:
            return counterfactual_truth(ds, self._rows(images), {variable: values})[0]


class RandomProjection:
    def __init__(self, pixels: int, d: int = 6) -> None:
        self.w = np.random.default_rng(0).normal(size=(pixels, d))

    def encode(self, images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64) / 255 @ self.w


class PCA:
    def __init__(self, train_images: np.ndarray, d: int = 6) -> None:
        x = train_images.reshape(len(train_images), -1).astype(np.float64) / 255
        self.mean = x.mean(0)
        self.components = np.linalg.svd(x - self.mean, full_matrices=False)[2][:d]  # (d, P)

    def encode(self, images: np.ndarray) -> np.ndarray:
        x = images.reshape(len(images), -1).astype(np.float64) / 255
        return (x - self.mean) @ self.components.T


def test_oracle_scores_perfectly(pendulum_file):
    r = evaluate_model(Oracle(pendulum_file), pendulum_file, n_eval=120, n_cf=32)
    # 1 up to the few 32 px images that two label vectors render identically (the oracle
    # looks images up by their bytes)
    assert r["mcc"] == pytest.approx(1.0, abs=1e-5)
    assert r["mcc_spearman"] == pytest.approx(1.0, abs=1e-4)
    assert r["r2_linear"] == pytest.approx(1.0, abs=1e-4) and r["r2_nonlinear"] > 0.98
    assert r["mic"] == pytest.approx(1.0)
    cf = r["counterfactual"]
    for name, v in cf["per_concept"].items():
        assert v["pixel_mse"] == 0.0, name
        assert v["probe_rmse"] == pytest.approx(v["probe_rmse_truth"])
    assert cf["per_concept"]["light_angle"]["variables_changed"] == [
        "light_angle", "shadow_length", "shadow_position"]


class Identity(Oracle):
    """Offers the factual image as every counterfactual: it moves nothing."""

    def intervene(self, images: np.ndarray, variable: str, values: np.ndarray) -> np.ndarray:
        return images


def test_the_unchanged_image_is_the_do_nothing_reference(pendulum_file):
    """A model that moves nothing scores exactly the per-concept 'unchanged' reference, which is
    > 0 wherever do() changes the image (the oracle scores 0 there)."""
    r = evaluate_model(Identity(pendulum_file), pendulum_file, n_eval=120, n_cf=32)
    for name, v in r["counterfactual"]["per_concept"].items():
        assert v["pixel_mse"] == pytest.approx(v["pixel_mse_unchanged"], rel=1e-6), name
        assert v["probe_rmse"] == pytest.approx(v["probe_rmse_unchanged"], rel=1e-5), name
        assert v["pixel_mse_unchanged"] > 0


def test_foreign_models_are_scored_below_the_oracle(pendulum_file):
    with open_dataset(pendulum_file) as ds:
        train = ds.images[ds.indices("train")]
    random = evaluate_model(RandomProjection(train[0].size), pendulum_file, n_eval=120)
    pca = evaluate_model(PCA(train), pendulum_file, n_eval=120)
    for r in (random, pca):
        assert r["counterfactual"] is None  # no intervene(): nothing to compare
        for k in REPRESENTATION_KEYS:
            assert r[k] is None or np.isfinite(r[k]), k
        assert 0 <= r["mcc"] < 0.99 and r["r2_linear"] < 0.99
        assert set(r["per_factor"]) == {"pendulum_angle", "light_angle", "shadow_length",
                                        "shadow_position"}
    assert pca["r2_nonlinear"] > 0.3  # the top components of pendulum images track the angles


def test_evaluate_latents_rows_splits_and_graphs(pendulum_file, tmp_path):
    with open_dataset(pendulum_file) as ds:
        test_rows = ds.indices("test")
        labels = ds.labels[:].astype(np.float64)
        adj = ds.adjacency
    r = evaluate_latents(pendulum_file, labels[test_rows][:, ::-1], split="test",
                         graph=adj.T.astype(float), out=tmp_path / "ev")
    assert r["mcc"] == pytest.approx(1.0) and r["per_factor"]["light_angle"]["latent"] == 2
    assert r["shd"] == 4 and r["graph_input"] == "binary" and r["auroc"] is None
    saved = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert set(REPRESENTATION_KEYS) <= set(saved) and saved["shd_cpdag"] == r["shd_cpdag"]
    weighted = adj * 0.9 + 0.05
    r = evaluate_latents(pendulum_file, labels, graph=weighted)
    assert r["shd"] == 0 and r["auroc"] == 1.0 and r["graph_input"] == "weighted"
    with pytest.raises(DataError, match="rows"):
        evaluate_latents(pendulum_file, labels[:10])
    bad = labels.copy()
    bad[5, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        evaluate_latents(pendulum_file, bad, out=tmp_path / "nan")
    assert not (tmp_path / "nan").exists()


def test_graph_csv_reorders_by_name_and_names_mistakes(pendulum_file, tmp_path):
    with open_dataset(pendulum_file) as ds:
        names, adj = ds.variable_names, ds.adjacency
    order = names[::-1]
    csv = tmp_path / "g.csv"
    rows = [",".join(order)] + [",".join(str(adj[names.index(a), names.index(b)]) for b in order)
                                for a in order]
    csv.write_text("\n".join(rows) + "\n")
    assert np.array_equal(load_graph(csv, names), adj)
    named = tmp_path / "named.csv"
    named.write_text("," + ",".join(names) + "\n" + "\n".join(
        f"{n}," + ",".join(str(v) for v in adj[i]) for i, n in enumerate(names)) + "\n")
    assert np.array_equal(load_graph(named, names), adj)
    typo = tmp_path / "typo.csv"
    typo.write_text(csv.read_text().replace("light_angle", "light_angel"))
    with pytest.raises(DataError, match="did you mean 'light_angle'"):
        load_graph(typo, names)
    np.save(tmp_path / "small.npy", np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"\(4, 4\)"):
        load_graph(tmp_path / "small.npy", names)


def test_external_data_skip_counterfactuals_and_no_test_split_is_refused(tmp_path, caplog):
    rng = np.random.default_rng(0)
    n = 80
    labels = rng.uniform(0, 1, size=(n, 2)).astype(np.float32)
    images = (labels[:, :1, None, None] * 255 * np.ones((n, 16, 16, 3))).astype(np.uint8)
    images[:, :8, :, 1] = (labels[:, 1, None, None] * 255).astype(np.uint8)
    variables = [VariableInfo("a", "", 0.0, 1.0), VariableInfo("b", "", 0.0, 1.0)]
    adj = np.array([[0, 1], [0, 0]], np.int8)
    split = (np.arange(n) % 4 == 3).astype(np.uint8)
    ext = write_arrays(tmp_path / "ext.h5", images, labels, variables, adj, split=split,
                       scene="external/toy")

    class Model:
        def encode(self, x: np.ndarray) -> np.ndarray:
            return x[:, 12, 0, :2].astype(np.float64)

        def intervene(self, x, variable, values):  # never called: no generator
            raise AssertionError("intervene called on imported data")

    with caplog.at_level(logging.INFO, logger="causalvae.protocol"):
        r = evaluate_model(Model(), ext, n_eval=20)
    assert "skipped" in r["counterfactual"] and "no generator" in caplog.text
    no_test = write_arrays(tmp_path / "all-train.h5", images, labels, variables, adj,
                           split=np.zeros(n, np.uint8))
    with pytest.raises(DataError, match="no test split"):
        evaluate_model(Model(), no_test)


def test_label_probe_is_cached_on_disk_and_reloaded_identically(tiny_h5, tmp_path, monkeypatch):
    from causalvae import probe as P

    monkeypatch.setenv("CAUSALVAE_CACHE_DIR", str(tmp_path / "cache"))
    P._MEMO.clear()
    with open_dataset(tiny_h5) as ds:
        first = P.label_probe(ds, seed=0)
        images = ds.images[:8]
        P._MEMO.clear()  # a new process: only the disk cache is left
        again = P.label_probe(ds, seed=0)
    assert again is not first and list((tmp_path / "cache" / "probes").glob("*.pt"))
    assert np.array_equal(first.predict(images), again.predict(images))
    monkeypatch.setenv("CAUSALVAE_CACHE_DIR", "off")
    P._MEMO.clear()
    with open_dataset(tiny_h5) as ds:
        assert P._cache_path(ds, 0, 4000) is None
