"""evaluate / intervene / experiment end to end on a tiny run (CPU, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from causalgen.generate import generate
from tests.cli.clirun import invoke


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    data = generate("pendulum-v1", root / "p.h5", n=400, size=32, workers=1, seed=1)
    code, text = invoke("train", str(data), "--epochs", "1", "--batch-size", "32", "--image-size",
                        "32", "--device", "cpu", "--out", str(root / "run"))
    assert code == 0, text
    return data, root / "run"


def test_evaluate_writes_everything(tiny_run: tuple[Path, Path]) -> None:
    _, run = tiny_run
    code, text = invoke("evaluate", str(run), "--n-eval", "60", "--n-cf", "16")
    assert code == 0, text
    assert "SHD" in text and "do(light_angle)" in text
    r = json.loads((run / "evaluation.json").read_text())
    for key in ("shd", "precision", "recall", "auroc", "mic", "tic", "dci", "mig", "counterfactual",
                "learned_adjacency", "true_adjacency", "threshold"):
        assert key in r, key
    assert r["true_adjacency"] == [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert 0 <= r["mic"] <= 1 and isinstance(r["shd"], int)
    cf = r["counterfactual"]
    assert set(cf["per_concept"]) == {"pendulum_angle", "light_angle", "shadow_length",
                                      "shadow_position"}
    # intervening on a root changes its descendants in the truth, on a leaf only itself
    assert cf["per_concept"]["light_angle"]["variables_changed"] == [
        "light_angle", "shadow_length", "shadow_position"]
    assert cf["per_concept"]["shadow_length"]["variables_changed"] == ["shadow_length"]
    assert all(np.isfinite(v["pixel_mse"]) for v in cf["per_concept"].values())
    assert (run / "figures" / "adjacency.png").stat().st_size > 500


def test_intervene_grid(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run = tiny_run
    code, text = invoke("intervene", str(run), "--out", str(tmp_path / "g.png"), "--steps", "3")
    assert code == 0, text
    from PIL import Image

    img = Image.open(tmp_path / "g.png")
    assert img.width > 3 * 32 and img.height > 8 * 32  # 4 concepts x (model + truth) rows
    assert img.info["dpi"][0] == pytest.approx(300, abs=1)


def test_figures_of_a_run_by_format(tiny_run: tuple[Path, Path]) -> None:
    _, run = tiny_run
    code, text = invoke("figures", str(run), "--format", "svg", "--only", "curves,recon,graph")
    assert code == 0, text
    assert {p.name for p in (run / "figures").glob("*.svg")} >= {"curves.svg", "recon.svg"}
    svg = (run / "figures" / "curves.svg").read_text()
    assert "total loss" in svg and "no test values" not in svg  # the log has test_loss per epoch
    code, text = invoke("figures", str(run), "--only", "nonsense")
    assert code == 2 and "adjacency, graph" in text


def test_evaluate_mistakes_exit_2(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run = tiny_run
    other = generate("flow-v1", tmp_path / "f.h5", n=50, size=32, workers=1)
    code, text = invoke("evaluate", str(run), "--data", str(other))
    assert code == 2 and "variables" in text and "Traceback" not in text
    empty = tmp_path / "empty"
    empty.mkdir()
    code, text = invoke("evaluate", str(empty))
    assert code == 2 and "Traceback" not in text


def test_experiment_runs_resumes_and_reports(tmp_path: Path) -> None:
    args = ["experiment", "pendulum-v1", "--n", "300", "--seeds", "1", "--models",
            "causalvae,betavae", "--epochs", "1", "--image-size", "32", "--batch-size", "32",
            "--device", "cpu", "--set", "betavae.beta=2", "--out", str(tmp_path / "exp")]
    code, text = invoke(*args)
    assert code == 0, text
    report = json.loads((tmp_path / "exp" / "report.json").read_text())
    assert set(report["models"]) == {"causalvae", "betavae"}
    assert report["models"]["betavae"]["seeds_shd0"] is None  # no causal layer, no graph
    assert isinstance(report["models"]["causalvae"]["shd_per_seed"][0], int)
    md = (tmp_path / "exp" / "report.md").read_text()
    assert "| causalvae |" in md and "Command:" in md
    per = report["models"]["betavae"]["cf_per_concept"]
    ev = json.loads((tmp_path / "exp" / "runs" / "betavae" / "seed0" / "evaluation.json").read_text())
    assert per["light_angle"] == {k: ev["counterfactual"]["per_concept"]["light_angle"][k]
                                  for k in ("pixel_mse", "probe_rmse")}  # one seed: the mean
    assert "| do(pendulum_angle) |" in md and "| do(light_angle) |" in md  # a row per concept
    assert "![Summary" in md and (tmp_path / "exp" / "figures" / "summary.png").exists()
    assert (tmp_path / "exp" / "runs" / "causalvae" / "seed0" / "figures" / "graph.png").exists()
    assert "\\toprule" in (tmp_path / "exp" / "report.tex").read_text()
    before = (tmp_path / "exp" / "runs" / "causalvae" / "seed0" / "checkpoint.pt").stat().st_mtime
    code, text = invoke(*args)  # a rerun skips the finished runs
    assert code == 0
    after = (tmp_path / "exp" / "runs" / "causalvae" / "seed0" / "checkpoint.pt").stat().st_mtime
    assert before == after
    # an evaluation made by an older version of the metrics is redone, the training is not
    ev_path = tmp_path / "exp" / "runs" / "betavae" / "seed0" / "evaluation.json"
    old = json.loads(ev_path.read_text())
    ev_path.write_text(json.dumps({**old, "evaluation_version": 1, "mic": -1.0}))
    code, text = invoke(*args)
    assert code == 0 and "evaluate betavae seed 0" in text and "train betavae" not in text
    assert json.loads(ev_path.read_text())["mic"] == old["mic"]
    code, text = invoke("experiment", "pendulum-v1", "--models", "nope", "--out", str(tmp_path / "x"))
    assert code == 2 and "unknown model" in text


def test_experiment_refuses_a_run_with_another_config(tmp_path: Path) -> None:
    base = ["experiment", "pendulum-v1", "--n", "200", "--seeds", "1", "--models", "betavae",
            "--epochs", "1", "--image-size", "32", "--batch-size", "32", "--device", "cpu",
            "--out", str(tmp_path / "exp")]
    assert invoke(*base)[0] == 0
    code, text = invoke(*base, "--set", "betavae.beta=8")
    assert code == 2 and "another config" in text and "beta" in text


def test_experiment_refuses_runs_of_other_data_and_bad_set_before_work(tmp_path: Path) -> None:
    base = ["experiment", "pendulum-v1", "--seeds", "1", "--models", "betavae", "--epochs", "1",
            "--image-size", "32", "--batch-size", "32", "--device", "cpu",
            "--out", str(tmp_path / "exp")]
    assert invoke(*base, "--n", "200")[0] == 0
    code, text = invoke(*base, "--n", "300")  # another dataset: the old run must not be reused
    assert code == 2 and "was trained on" in text
    code, text = invoke("experiment", "pendulum-v1", "--set", "nosuch=1", "--out",
                        str(tmp_path / "bad"))
    assert code == 2 and not (tmp_path / "bad").exists()


def test_intervene_index_out_of_range(tiny_run: tuple[Path, Path]) -> None:
    _, run = tiny_run
    code, text = invoke("intervene", str(run), "--index", "99999")
    assert code == 2 and "outside" in text and "Traceback" not in text


def test_label_probe_reads_labels_from_real_images_and_nothing_from_noise(
        tmp_path: Path) -> None:
    """Known answers: held-out pendulum images give a small RMSE (in label standard
    deviations); labels shuffled against the images cannot be predicted (RMSE near 1)."""
    from causalgen.io import open_dataset
    from causalvae.evaluate import LabelProbe

    data = generate("pendulum-v1", tmp_path / "p.h5", n=1600, size=32, workers=1, seed=2)
    with open_dataset(data) as ds:
        images, labels = ds.images[:], ds.labels[:].astype(np.float64)
    train, test = slice(0, 1200), slice(1200, None)
    probe = LabelProbe(images[train], labels[train], epochs=15)
    assert probe.error(images[test], labels[test]) < 0.3
    shuffled = labels[np.random.default_rng(0).permutation(len(labels))]
    blind = LabelProbe(images[train], shuffled[train], epochs=15)
    assert blind.error(images[test], shuffled[test]) > 0.85
    again = LabelProbe(images[train], labels[train], epochs=15)  # seeded: the same probe
    np.testing.assert_array_equal(probe.predict(images[test]), again.predict(images[test]))


def test_image_only_encoding_marks_labels_missing(tiny_run: tuple[Path, Path]) -> None:
    """The recommended causalvae reads a missing-label flag, so an image alone is encoded with
    every label marked missing: the result depends on the image only (not on marginal_u), and
    evaluation.json says so."""
    from causalgen.io import open_dataset
    from causalvae.checkpoint import load_run
    from causalvae.evaluate import ModelView

    data, run = tiny_run
    view = ModelView(load_run(run), "cpu")
    assert view.labels_missing
    with open_dataset(data) as ds:
        images, labels = ds.images[:20], ds.labels[:20]
    alone = view.encode(images)
    np.testing.assert_array_equal(alone, view.representation(images, np.full((20, 4), np.nan)))
    view.marginal_u = labels[:3]  # ignored: no label vector stands in for the missing ones
    np.testing.assert_array_equal(view.encode(images), alone)
    assert not np.allclose(view.representation(images, labels), alone)  # labels do matter
    if not (run / "evaluation.json").exists():
        assert invoke("evaluate", str(run), "--n-eval", "60", "--n-cf", "16")[0] == 0
    r = json.loads((run / "evaluation.json").read_text())
    assert "marked missing" in r["encoding"] and r["evaluation_version"] == 5
