"""The causalgen CLI on temporal scenes: generate, info, show, export; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli.causalgen import main

ROOT = Path(__file__).parents[2]
THERMOSTAT = ROOT / "data/scenes/temporal/thermostat.toml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_scene_id_steps_info_show_export(tmp_path: Path) -> None:
    out = tmp_path / "pd.h5"
    code, text = run("scene", "pendulum-dynamic-v1", "--steps", "12", "--n", "6", "--size", "24",
                     "--workers", "1", "--out", str(out), "--intervention-rate", "0.2",
                     "--counterfactual", "light_angle=90", "--counterfactual-from", "4")
    assert code == 0, text
    assert "6 sequences x 12 steps" in text
    code, text = run("info", str(out))
    assert code == 0 and "time axis: 6 sequences x 12 steps = 72 frames" in text
    assert "lagged graph: pendulum_angle[t-1] -> pendulum_angle" in text
    assert "counterfactual applied from step 4" in text
    doc = json.loads(run("info", str(out), "--json")[1])
    assert doc["time"]["steps"] == 12 and doc["image_shape"] == [12, 24, 24, 3]
    code, text = run("graph", str(out))
    assert '"pendulum_angle" -> "shadow_length";' in text
    assert '"light_angle" -> "light_angle" [style=dashed, label="t-1"' in text
    code, text = run("show", str(out), "--out", str(tmp_path / "f.png"), "--counterfactual")
    assert code == 0 and (tmp_path / "f.png").stat().st_size > 1000
    code, text = run("export", str(out), "--format", "npz", "--out", str(tmp_path / "x.npz"))
    assert code == 0, text
    with np.load(tmp_path / "x.npz") as z:
        assert z["imgs"].shape == (6, 12, 24, 24, 3) and z["latents_values"].shape == (6, 12, 5)
        assert z["intervened"].shape == (6, 12, 5) and int(z["steps"]) == 12
        assert z["cf_latents_values"].shape == (6, 12, 5) and z["init"].shape == (6, 5)
    code, text = run("export", str(out), "--out", str(tmp_path / "folders"))
    assert code == 2 and "--format npz" in text


def test_temporal_scene_defaults_to_40_steps_and_custom_toml_scenes(tmp_path: Path) -> None:
    code, text = run("collision", "--n", "2", "--size", "16", "--workers", "1",
                     "--out", str(tmp_path / "c.h5"))
    assert code == 0 and "2 sequences x 40 steps" in text, text
    code, text = run("scene", str(THERMOSTAT), "--steps", "30", "--n", "3", "--size", "16",
                     "--workers", "1", "--out", str(tmp_path / "t.h5"), "--intervention-rate", "0.5",
                     "--intervention-targets", "heater")
    assert code == 0, text
    code, text = run("validate", str(THERMOSTAT))
    assert code == 0 and "lagged graph (2 edges): temp[t-1] -> heater, temp[t-1] -> temp" in text
    assert "init uniform(14, 24)" in text
    code, text = run("info", str(tmp_path / "t.h5"))
    assert "lagged graph: temp[t-1] -> heater, temp[t-1] -> temp" in text
    assert "(heater " in text and "temp 0)" in text
    code, text = run("pendulum", "--n", "4", "--steps", "3", "--size", "16", "--workers", "1",
                     "--out", str(tmp_path / "still-as-sequences.h5"))
    assert code == 0 and "4 sequences x 3 steps" in text  # a still scene: i.i.d. frames


LAG2 = """
scene = "pendulum-dynamic-v1"
[variables.light_angle]
mechanism = "light_angle[t-2] + 1"
"""
UNKNOWN_LAG = """
scene = "pendulum-dynamic-v1"
[variables.light_angle]
mechanism = "light_angel[t-1] + 1"
"""


@pytest.mark.parametrize(("args", "message"), [
    (["scene", "pendulum-dynamic-v1", "--steps", "0"], "--steps must be between 1"),
    (["scene", "pendulum-dynamic-v1", "--steps", "100000000"], "--steps must be between 1"),
    (["scene", "pendulum-dynamic-v1", "--intervention-rate", "1.5"], "in [0, 1]"),
    (["scene", "pendulum-dynamic-v1", "--intervention-rate", "-0.1"], "in [0, 1]"),
    (["pendulum", "--intervention-rate", "0.1"], "need --steps T"),
    (["scene", "pendulum-dynamic-v1", "--intervention-mix", "0.5"], "--intervention-rate"),
    (["scene", "pendulum-dynamc-v1"], "did you mean 'pendulum-dynamic-v1'"),
    (["scene", "LAG2"], "only the previous step can be read"),
    (["scene", "UNKNOWN_LAG"], "did you mean 'light_angle'"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    for name, text in (("LAG2", LAG2), ("UNKNOWN_LAG", UNKNOWN_LAG)):
        if name in args:
            spec = tmp_path / f"{name}.toml"
            spec.write_text(text)
            args = [str(spec) if a == name else a for a in args]
    out = tmp_path / "out.h5"
    code, text = run(*args, "--n", "2", "--size", "16", "--workers", "1", "--out", str(out))
    assert code == 2, text
    assert message in text and "Traceback" not in text
    assert not out.exists() and not list(tmp_path.glob("*.h5*"))
