"""`causalgen validate | graph | export` and custom scenes through `causalgen scene`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from causalgen.io import open_dataset
from cli.causalgen import main

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "data/scenes").glob("*.toml"))
SUN = ROOT / "data/scenes/sun-ball-panel.toml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_validate_every_example(path: Path) -> None:
    code, text = run("validate", str(path))
    assert code == 0, text
    assert "valid" in text and "graph (" in text and "variables (" in text
    assert text.rstrip().endswith("ok (0 warnings)")


def test_validate_summary_of_a_custom_scene() -> None:
    code, text = run("validate", str(SUN))
    assert code == 0
    assert "custom scene 'custom/sun-ball-panel'" in text
    assert "shapes (6, in drawing order)" in text
    assert "shadow_length_ball(light_angle, ball_size, ball_x)" in text
    assert "light_angle -> shadow_length" in text


def test_validate_reports_warnings_and_errors(tmp_path: Path) -> None:
    spec = tmp_path / "w.toml"
    spec.write_text('[variables.a]\nnoise = "uniform(1, 2)"\n[variables.b]\nnoise = 1\n\n'
                    '[[shapes]]\nkind = "circle"\nx = 5\ny = 5\nradius = "a"\n')
    code, text = run("validate", str(spec))
    assert code == 0 and "warning:" in text and "variables.b: no shape draws" in text
    assert "ok (1 warning)" in text
    spec.write_text('[variables.a]\nnoise = "uniform(1, 2)"\n\n[[shapes]]\nkind = "circel"\n')
    code, text = run("validate", str(spec))
    assert code == 2 and f"{spec}:5: shapes[0].kind" in text and "did you mean 'circle'" in text
    assert "Traceback" not in text
    spec.write_text('[variables.a]\nnoise = "uniform(1, 2)"\nhigh = 1.5\n\n'
                    '[[shapes]]\nkind = "circle"\nx = 5\ny = 5\nradius = "a"\n')
    code, text = run("validate", str(spec))  # sampling falls outside the renderable range
    assert code == 2 and "renderable range" in text
    spec.write_text("not = [toml")
    code, text = run("validate", str(spec))
    assert code == 2 and "not valid TOML" in text
    code, text = run("validate", str(tmp_path / "missing.toml"))
    assert code == 2 and "no such spec file" in text


def test_graph_outputs(tmp_path: Path) -> None:
    code, text = run("graph", str(SUN))
    assert code == 0 and text.startswith('digraph "sun-ball-panel"')
    assert '"ball_size" -> "ball_hue";' in text
    code, text = run("graph", "pendulum-v1", "--out", str(tmp_path / "g.png"))
    assert code == 0
    img = Image.open(tmp_path / "g.png")
    assert img.size[0] > 100 and img.size[1] > 100
    code, text = run("graph", str(ROOT / "data/scenes/collider-confounded.toml"), "--out",
                     str(tmp_path / "g.dot"))
    assert code == 0 and "season (latent)" in (tmp_path / "g.dot").read_text()
    for args, message in ((["pendulm"], "did you mean 'pendulum-v1'"),  # (pendulum: the latest)
                          ([str(SUN), "--out", str(tmp_path / "g.jpg")], ".png, .pdf or .svg"),
                          ([str(tmp_path / "none.toml")], "no such spec file"),
                          (["pendulum-v1", "--out", str(tmp_path / "no/g.png")], "does not exist")):
        code, text = run("graph", *args)
        assert code == 2 and message in text and "Traceback" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.png"]


def test_custom_scene_generate_intervene_show_export_graph(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = run("scene", str(SUN), "--n", "120", "--size", "48", "--workers", "2",
                     "--do", "shadow_length=30", "--counterfactual", "ball_x=20", "--out", "s.h5")
    assert code == 0, text
    with open_dataset(tmp_path / "s.h5") as ds:
        assert ds.scene == "custom/sun-ball-panel" and ds.intervention == {"shadow_length": 30.0}
        assert np.all(ds.labels[:, ds.variable_names.index("shadow_length")] == 30)
    assert run("show", "s.h5", "--out", "p.png", "--counterfactual")[0] == 0
    code, text = run("graph", "s.h5")
    assert code == 0 and "shadow_position" in text
    code, text = run("export", "s.h5", "--out", "folders")
    assert code == 0, text
    names = os.listdir(tmp_path / "folders" / "train") + os.listdir(tmp_path / "folders" / "test")
    assert len(names) == 120
    assert all(len(n[:-4].split("_")) == 8 for n in names)  # index + 7 labels
    info = json.loads((tmp_path / "folders" / "encoding.json").read_text())
    assert info["image"] == {"size": 96, "mode": "RGBA", "alpha": 255, "stored_size": 48,
                             "resample": "lanczos"}
    code, text = run("export", "s.h5", "--out", "folders")
    assert code == 2 and "--overwrite" in text and "Traceback" not in text
    code, text = run("export", "s.h5", "--format", "npz", "--out", "s.npz",
                     "--variables", "ball_x,ball_size")
    assert code == 0
    with np.load(tmp_path / "s.npz") as d:
        assert list(d["latents_names"]) == ["ball_x", "ball_size"]


@pytest.mark.parametrize(("args", "message"), [
    (["export", "nope.h5", "--out", "o"], "no such file"),
    (["export", "s.h5", "--out", "o", "--variables", "bal_x"], "did you mean 'ball_x'"),
    (["export", "s.h5", "--out", "missing/o"], "does not exist"),
    (["export", "s.h5", "--out", "o", "--format", "csv"], "Invalid value"),
])
def test_export_mistakes_exit_2_without_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("scene", str(SUN), "--n", "20", "--size", "32", "--workers", "1",
               "--out", "s.h5")[0] == 0
    code, text = run(*args)
    assert code == 2 and message in text and "Traceback" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]


def test_bad_custom_spec_exits_2_with_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "bad.toml"
    spec.write_text('[variables.a]\nnoise = "uniform(1, 2)"\n\n[[shapes]]\nkind = "circle"\n'
                    'x = 5\ny = 5\nradius = "a.__class__"\n')
    code, text = run("scene", str(spec), "--n", "10")
    assert code == 2 and "bad.toml:8: shapes[0].radius: attribute access is not allowed" in text
    assert not list(tmp_path.glob("*.h5")) and not list(tmp_path.glob("*partial"))
