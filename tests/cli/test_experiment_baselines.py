"""Label-only baselines as rows of `causalvae experiment` (no training: seconds)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.clirun import invoke


def test_baselines_are_report_rows_and_reruns_reuse_them(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    args = ["experiment", "pendulum-v1", "--n", "300", "--seeds", "1", "--models", "pc,ges,pc-int",
            "--image-size", "32", "--intervention-mix", "0.5", "--set", "pc.ci_test=fisherz",
            "--set", "pc-int.ci_test=fisherz", "--set", "beta=4", "--out", str(out)]
    code, text = invoke(*args)
    assert code == 0, text
    report = json.loads((out / "report.json").read_text())
    assert set(report["models"]) == {"pc", "ges", "pc-int"}
    for name in ("pc", "ges", "pc-int"):
        ev = json.loads((out / "runs" / name / "seed0" / "evaluation.json").read_text())
        assert ev["kind"] == "label-only baseline" and ev["n_train"] == 240
        assert ev["equivalence_class"] == "interventional essential graph"
        assert isinstance(ev["shd"], int) and isinstance(ev["shd_cpdag"], int)
        assert report["models"][name]["shd"]["mean"] == ev["shd"]
        assert report["models"][name]["seconds_per_seed"] == ev["discovery_s"]
    assert json.loads((out / "runs" / "pc" / "seed0" / "evaluation.json").read_text())[
        "settings"]["ci_test"] == "fisherz"
    md = (out / "report.md").read_text()
    assert "| pc-int |" in md and "Label-only baselines" in md and "SHD vs class" in md
    stamp = (out / "runs" / "pc" / "seed0" / "evaluation.json").stat().st_mtime
    assert invoke(*args)[0] == 0
    assert (out / "runs" / "pc" / "seed0" / "evaluation.json").stat().st_mtime == stamp


def test_bad_baseline_setting_exits_2_before_work(tmp_path: Path) -> None:
    code, text = invoke("experiment", "pendulum-v1", "--models", "pc", "--set", "pc.alpha=2",
                        "--out", str(tmp_path / "bad"))
    assert code == 2 and "alpha" in text and not (tmp_path / "bad").exists()
    code, text = invoke("experiment", "pendulum-v1", "--models", "pcx", "--out", str(tmp_path / "b"))
    assert code == 2 and "label-only baselines: ges, pc, pc-int" in text


def test_first_seed_runs_those_seeds_and_the_report_says_which(tmp_path: Path) -> None:
    """--first-seed 100 --seeds 2 runs seeds 100 and 101 (development seeds kept apart from the
    reported 0, 1, ...): their own data files, run directories and report rows."""
    out = tmp_path / "dev"
    code, text = invoke("experiment", "pendulum-v1", "--n", "200", "--seeds", "2",
                        "--first-seed", "100", "--models", "ges", "--image-size", "32",
                        "--out", str(out))
    assert code == 0, text
    assert sorted(p.name for p in (out / "runs" / "ges").iterdir()) == ["seed100", "seed101"]
    assert sorted(f.name.split("-")[3] for f in (out / "data").glob("*.h5")) == \
        ["seed100", "seed101"]
    report = json.loads((out / "report.json").read_text())
    assert [r["seed"] for r in report["runs"]] == [100, 101]
    assert report["config"]["first_seed"] == 100
    assert "2 seeds (100-101)" in (out / "report.md").read_text()
    code, text = invoke("experiment", "pendulum-v1", "--first-seed", "-1", "--out",
                        str(tmp_path / "bad"))
    assert code == 2 and "--first-seed" in text
