"""CLI of environments, soft interventions, hidden targets, Dask and virtual merges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.causalgen import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_environments_info_show_and_virtual_merge(tmp_path: Path) -> None:
    out = tmp_path / "e.h5"
    code, text = run("pendulum", "--n", "300", "--size", "16", "--out", str(out), "--workers", "1",
                     "--environments", "obs; do(light_angle=uniform(40, 60)); "
                     "mechanism(shadow_length, 3 + 0.1 * light_angle)",
                     "--environment-sizes", "100,100,100",
                     "--counterfactual", "shift(shadow_length, 1)")
    assert code == 0, text
    code, text = run("info", str(out))
    assert code == 0
    assert "environments: 3" in text and "do(light_angle=uniform(40, 60))" in text
    assert "(targets: shadow_length); graph: pendulum_angle -> shadow_position" in text
    assert "counterfactual group: shift(shadow_length, 1.0)" in text
    doc = json.loads(run("info", str(out), "--json")[1])
    assert [r["size"] for r in doc["environments"]] == [100, 100, 100]
    code, text = run("show", str(out), "--out", str(tmp_path / "g.png"), "--counterfactual")
    assert code == 0 and (tmp_path / "g.png").stat().st_size > 1000
    for k in (1, 2):
        assert run("pendulum", "--n", "600", "--size", "16", "--shard", f"{k}/2", "--workers", "1",
                   "--out", str(tmp_path / f"s{k}.h5"), "--intervene", "shift(shadow_length, 1)",
                   "--hide-targets")[0] == 0
    code, text = run("merge", str(tmp_path / "s1.h5"), str(tmp_path / "s2.h5"), "--virtual",
                     "--out", str(tmp_path / "v.h5"))
    assert code == 0 and "virtual" in text, text
    code, text = run("info", str(tmp_path / "v.h5"))
    assert "600 images" in text and "targets hidden" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--environments", "obs; shfit(shadow_length, 2)"], "did you mean 'shift'"),
    (["--environments", "obs; do(light_angl=50)"], "did you mean 'light_angle'"),
    (["--environments", "obs; mechanism(pendulum_angle, shadow_length)"], "cycle"),
    (["--environments", "obs; obs", "--environment-sizes", "100,150"], "add up to 250"),
    (["--dask-scheduler", "tcp://127.0.0.1:1"], "cannot reach the Dask scheduler"),
    (["--intervene", "scale_noise(light_angle, -1)"], "must be >= 0"),
    (["--hide-targets"], "--hide-targets needs"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    code, text = run("pendulum", "--n", "300", "--size", "16", "--out", str(tmp_path / "x.h5"), *args)
    assert code == 2 and message in text, text
    assert list(tmp_path.iterdir()) == []
