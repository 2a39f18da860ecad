"""An imported CelebA-layout file through train, evaluate, intervene and experiment (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causalgen.external import import_images
from causalgen.external.sample import write_celeba_like
from causalgen.io import open_dataset
from causalgen.truth import counterfactual_truth, truth_unavailable
from tests.cli.clirun import invoke

COLS = "Smiling,Mouth_Slightly_Open,Male,Eyeglasses"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("imported")
    celeba = write_celeba_like(root / "celeba", n=160, seed=2)
    graph = root / "g.toml"
    graph.write_text('edges = ["Smiling -> Mouth_Slightly_Open"]\n')
    data = import_images(celeba, root / "c.h5", fmt="celeba", columns=COLS.split(","),
                         graph=graph, size=32, workers=1).path
    code, text = invoke("train", str(data), "--epochs", "1", "--batch-size", "32", "--image-size",
                        "32", "--device", "cpu", "--out", str(root / "run"))
    assert code == 0, text
    return data, root / "run"


def test_truth_refused_with_a_typed_error(imported: tuple[Path, Path]) -> None:
    from causalgen.errors import NoGeneratorError

    with open_dataset(imported[0]) as ds:
        assert ds.is_external and ds.source["graph_declared"] is True
        assert "imported" in (truth_unavailable(ds) or "")
        with pytest.raises(NoGeneratorError):
            counterfactual_truth(ds, [0], {"Smiling": 1.0})


def test_evaluate_against_declared_graph_and_labels(imported: tuple[Path, Path]) -> None:
    _, run = imported
    code, text = invoke("evaluate", str(run), "--n-eval", "40", "--n-cf", "16")
    assert code == 0, text
    assert text.count("counterfactual fidelity skipped") == 1 and "SHD" in text
    r = json.loads((run / "evaluation.json").read_text())
    assert r["true_adjacency"][0] == [0, 1, 0, 0] and r["graph_source"] == "declared"
    assert 0 <= r["mic"] <= 1 and isinstance(r["shd"], int)
    assert "imported" in r["counterfactual"]["skipped"]
    assert r["counterfactual"]["recon_mse_floor"] > 0


def test_intervene_without_truth_rows(imported: tuple[Path, Path], tmp_path: Path) -> None:
    _, run = imported
    code, text = invoke("intervene", str(run), "--out", str(tmp_path / "g.png"), "--steps", "3")
    assert code == 0, text
    assert (tmp_path / "g.png").exists() and "no ground-truth rows" in text


def test_experiment_on_the_file(imported: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = imported
    out = tmp_path / "exp"
    code, text = invoke("experiment", str(data), "--seeds", "1", "--epochs", "1", "--models",
                        "causalvae-int", "--image-size", "32", "--device", "cpu", "--out",
                        str(out))
    assert code == 0, text
    assert text.count("Counterfactual fidelity skipped") == 1
    md = (out / "report.md").read_text()
    assert "Counterfactual fidelity skipped" in md and "N = 160 images" in md
    assert not (out / "data").exists()  # the file itself is the data of every seed
    code, text = invoke("experiment", str(tmp_path / "missing.h5"), "--out", str(out))
    assert code == 2 and "no such file" in text
