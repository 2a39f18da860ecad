"""Regressions found by the README walk-through (QA): long variable names keep `info`'s table
aligned; `causalvae figures` on a directory that is not a run exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli.causalgen import main as causalgen_main
from cli.causalvae import main as causalvae_main

LONG = "radiator_valve_opening_angle"  # 28 characters, wider than the old 18-character column

SPEC = f"""
name = "qa-long"
size = 16
[variables.{LONG}]
noise = "uniform(0, 10)"
unit = "deg"
low = 0
high = 10
[variables.y]
mechanism = "{LONG} + noise"
noise = "uniform(0, 1)"
low = 0
high = 11
[[shapes]]
kind = "circle"
x = "3 + {LONG}"
y = 8
radius = "1 + y / 4"
"""


def test_info_table_stays_aligned_with_long_names(tmp_path: Path) -> None:
    spec = tmp_path / "long.toml"
    spec.write_text(SPEC)
    out = tmp_path / "long.h5"
    r = CliRunner().invoke(causalgen_main, ["scene", str(spec), "--n", "40", "--size", "16",
                                            "--workers", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(causalgen_main, ["info", str(out)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("variable "))
    rows = lines[head:head + 3]  # header, the long name, y
    assert rows[1].startswith(LONG + " ") and rows[2].startswith("y ")
    # the unit and range columns start at the same place on every row
    assert rows[0].index("unit") == len(LONG) + 1 and rows[1][len(LONG) + 1:].startswith("deg")
    assert rows[0].index("range") == rows[1].index("[") == rows[2].index("[")


def test_figures_of_a_non_run_directory_exit_2_and_write_nothing(tmp_path: Path) -> None:
    d = tmp_path / "notarun"
    d.mkdir()
    (d / "foo.txt").write_text("x")
    r = CliRunner().invoke(causalvae_main, ["figures", str(d)])
    assert r.exit_code == 2, r.output
    assert "not a run directory" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(causalvae_main, ["intervene", str(d)])
    assert r.exit_code == 2 and "checkpoint" in r.output, r.output
    assert sorted(p.name for p in d.iterdir()) == ["foo.txt"]  # no figures/ left behind


def test_intervene_and_figures_on_a_temporal_run_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "seq.h5"
    r = CliRunner().invoke(causalgen_main, ["scene", "pendulum-dynamic-v1", "--steps", "3", "--n",
                                            "16", "--size", "32", "--workers", "1", "--out",
                                            str(data)])
    assert r.exit_code == 0, r.output
    run = tmp_path / "run"
    r = CliRunner().invoke(causalvae_main, ["train", str(data), "--epochs", "1", "--batch-size",
                                            "16", "--image-size", "32", "--device", "cpu",
                                            "--out", str(run)])
    assert r.exit_code == 0, r.output
    for args in (["intervene", str(run), "--out", str(tmp_path / "g.png")], ["evaluate", str(run)],
                 ["figures", str(run), "--only", "recon"]):
        r = CliRunner().invoke(causalvae_main, args)
        assert r.exit_code == 2 and "holds sequences" in r.output, (args, r.output, r.exception)
    assert not (tmp_path / "g.png").exists()
