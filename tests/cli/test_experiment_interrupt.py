"""Ctrl-C during `causalvae experiment`: it stops after saving the current run, exits 130, and
its report marks the runs that are not finished; rerunning the command completes it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from click.testing import CliRunner

from causalvae.train import Trainer
from cli.causalvae import main

ARGS = ["experiment", "pendulum-v1", "--n", "120", "--seeds", "1", "--models", "betavae,conditionvae",
        "--epochs", "2", "--image-size", "32", "--batch-size", "32", "--device", "cpu"]


def test_ctrl_c_stops_the_experiment_and_its_report_marks_incomplete_runs(
        tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "exp"
    original = Trainer._train_step
    calls = []

    def interrupting_step(self, batch):
        calls.append(1)
        if len(calls) == 4:  # in epoch 2 of the first run (3 steps per epoch)
            signal.raise_signal(signal.SIGINT)
        return original(self, batch)

    monkeypatch.setattr(Trainer, "_train_step", interrupting_step)
    result = CliRunner().invoke(main, [*ARGS, "--out", str(out)])
    monkeypatch.undo()
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Traceback" not in result.output
    assert len(calls) == 4  # stopped: no evaluation, the second model not trained
    report = json.loads((out / "report.json").read_text())
    assert report["incomplete"] == [
        {"model": "betavae", "seed": 0, "epochs_done": 1, "epochs": 2},
        {"model": "conditionvae", "seed": 0, "epochs_done": 0, "epochs": 2}]
    assert "mic" not in report["models"].get("betavae", {})  # no metrics of a cut run
    md = (out / "report.md").read_text()
    assert "Incomplete (interrupted)" in md and "betavae seed 0 (1/2 epochs)" in md
    assert not (out / "runs" / "betavae" / "seed0" / "evaluation.json").exists()
    # the same command resumes and completes it
    result = CliRunner().invoke(main, [*ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["incomplete"] == [] and "mic" in report["models"]["conditionvae"]
    assert "Incomplete" not in (out / "report.md").read_text()
