"""The causalgen CLI: happy paths, and user mistakes exit 2 with a message and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.causalgen import main

ROOT = Path(__file__).parents[2]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_generate_info_show_merge(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    code, text = run("pendulum", "--n", "300", "--size", "32", "--out", str(out), "--workers", "1",
                     "--counterfactual", "light_angle=90", "--do", "pendulum_angle=uniform(-10, 10)")
    assert code == 0, text
    code, text = run("info", str(out), "--json")
    doc = json.loads(text)
    assert doc["n"] == 300 and doc["intervention"] == {"pendulum_angle": "uniform(-10, 10)"}
    assert doc["counterfactual"] == {"light_angle": 90.0}
    assert "pendulum_angle -> shadow_length" in doc["edges"]
    code, text = run("info", str(out))
    assert code == 0 and "shadow_position" in text
    code, text = run("show", str(out), "--out", str(tmp_path / "g.png"), "--counterfactual")
    assert code == 0 and (tmp_path / "g.png").stat().st_size > 1000
    for k in (1, 2):
        assert run("pendulum", "--n", "600", "--size", "32", "--shard", f"{k}/2", "--workers", "1",
                   "--out", str(tmp_path / f"s{k}.h5"))[0] == 0
    code, text = run("merge", str(tmp_path / "s1.h5"), str(tmp_path / "s2.h5"), "--out",
                     str(tmp_path / "m.h5"))
    assert code == 0, text
    code, text = run("list")
    assert "pendulum-v1" in text


def test_scene_command_with_spec(tmp_path: Path) -> None:
    spec = ROOT / "data/scenes/pendulum-noisy.toml"
    code, text = run("scene", str(spec), "--n", "50", "--size", "32", "--out", str(tmp_path / "n.h5"))
    assert code == 0, text
    code, text = run("pendulum", "--spec", str(spec), "--n", "50", "--size", "32", "--out",
                     str(tmp_path / "n2.h5"))
    assert code == 0, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pendulum", "--n", "10", "--do", "light_angel=3"], "did you mean 'light_angle'"),
        (["pendulum", "--n", "10", "--do", "light_angle=10"], "renderable range"),
        (["pendulum", "--n", "10", "--do", "light_angle"], "VAR=VALUE"),
        (["pendulum", "--n", "10", "--shard", "5/4"], "1 <= K <= N"),
        (["pendulum", "--n", "10", "--spec", "nope.toml"], "no such spec file"),
        (["pendulum", "--n", "0"], "--n"),
        (["pendulum", "--n", "10", "--intervention-mix", "nan"], "'nan' is not a finite number"),
        (["pendulum", "--n", "10", "--test-fraction", "inf"], "'inf' is not a finite number"),
        (["pendulum", "--n", "10", "--steps", "3", "--intervention-rate", "nan"], "not a finite"),
        (["pendulum", "--n", "10", "--out", "missing/dir/x.h5"], "does not exist"),
        (["info", "nope.h5"], "no such file"),
        (["merge", "nope.h5", "--out", "m.h5"], "no such file"),
    ],
)
def test_user_mistakes_exit_2_without_output_file(tmp_path: Path, args: list[str], message: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = run(*args)
    assert code == 2, text
    assert message in text
    assert "Traceback" not in text
    assert not list(tmp_path.glob("*.h5")) and not list(tmp_path.glob("*.partial"))


def test_bad_spec_file_names_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "bad.toml"
    spec.write_text('scene = "pendulum-v1"\n\n[variables.shadow_length]\nmechanism = "__import__(1)"\n')
    code, text = run("scene", str(spec), "--n", "10")
    assert code == 2 and "bad.toml:4: variables.shadow_length.mechanism" in text


def test_existing_output_refused_by_real_process(tmp_path: Path) -> None:
    out = tmp_path / "p.h5"
    cmd = [sys.executable, "-m", "cli.causalgen", "pendulum", "--n", "20", "--size", "32", "--out", str(out)]
    assert subprocess.run(cmd, capture_output=True, cwd=ROOT).returncode == 0
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "--overwrite" in proc.stderr and "Traceback" not in proc.stderr


def test_a_variable_set_twice_by_do_is_refused(tmp_path: Path) -> None:
    """--do x=1 --do x=2 used to keep the last value without a word."""
    out = tmp_path / "p.h5"
    result = CliRunner().invoke(main, ["pendulum", "--n", "4", "--out", str(out), "--do",
                                       "light_angle=100", "--do", "light_angle=110"])
    assert result.exit_code == 2 and "light_angle is set twice" in result.output
    assert "100.0" in result.output and "'110'" in result.output and not out.exists()
