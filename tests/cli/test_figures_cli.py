"""Figure commands of causalgen: info's intervention mix, show and graph by file type."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from causalgen.generate import generate
from cli.causalgen import main


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_info_reports_the_intervention_mix_and_the_graph_before_it(tmp_path: Path) -> None:
    mix = generate("pendulum-v1", tmp_path / "mix.h5", n=80, seed=0, size=16, workers=1,
                   intervention_mix=0.5)
    code, text = run("info", str(mix))
    assert code == 0
    doc = json.loads(run("info", str(mix), "--json")[1])
    per = doc["intervention_mix"]["per_variable"]
    assert 0 < doc["intervention_mix"]["samples"] == sum(per.values()) < 80  # one target each
    line = next(ln for ln in text.splitlines() if ln.startswith("per-sample interventions"))
    assert f"{doc['intervention_mix']['samples']} of 80 samples" in line
    assert all(f"{k} {v}" in line for k, v in per.items())
    assert "graph (before any intervention): pendulum_angle -> shadow_length" in text
    do = generate("pendulum-v1", tmp_path / "do.h5", n=20, seed=0, size=16, workers=1,
                  do={"light_angle": 90.0}, counterfactual={"pendulum_angle": 10.0})
    code, text = run("info", str(do))
    assert "intervention on every sample: do(light_angle = 90)" in text
    assert "counterfactual group: do(pendulum_angle = 10)" in text and "{" not in text
    assert json.loads(run("info", str(do), "--json")[1])["intervention_mix"] is None


def test_show_and_graph_write_each_file_type(tmp_path: Path) -> None:
    data = generate("pendulum-v1", tmp_path / "d.h5", n=20, seed=0, size=16, workers=1,
                    do={"shadow_length": 10.0})
    for suffix in ("png", "pdf", "svg"):
        assert run("show", str(data), "--n", "4", "--out", str(tmp_path / f"s.{suffix}"))[0] == 0
        assert run("graph", str(data), "--out", str(tmp_path / f"g.{suffix}"))[0] == 0
    with Image.open(tmp_path / "s.png") as im:
        assert round(im.info["dpi"][0]) == 300
    svg = (tmp_path / "g.svg").read_text()
    assert "do = 10\u00a0drawing\u00a0units" in svg and "edge cut by the intervention" in svg
    for command in ("show", "graph"):
        code, text = run(command, str(data), "--out", str(tmp_path / "x.jpg"))
        assert code == 2 and ".png, .pdf or .svg" in text and "Traceback" not in text
    assert not (tmp_path / "x.jpg").exists()
