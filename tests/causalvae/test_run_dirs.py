"""Damaged and foreign run directories give one clear CheckpointError / ConfigError, never a
traceback; a resume after a divergence may lower lr and set grad_clip (recorded in run.json)."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from causalvae.checkpoint import CHECKPOINT_NAME, load_checkpoint, load_run
from causalvae.errors import CheckpointError, ConfigError
from causalvae.models.causal import load_adjacency
from causalvae.train import train


@pytest.fixture(scope="module")
def runs(tiny_h5: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from conftest import small_config

    root = tmp_path_factory.mktemp("runs")
    out = {}
    for model in ("betavae", "conditionvae"):
        out[model] = root / model
        train(small_config(model, "epochs=1", out=out[model]), tiny_h5)
    return out


def _copy(run: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in run.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_a_checkpoint_of_another_model_is_not_resumed_as_that_model(
        runs: dict[str, Path], tiny_h5: Path, make_config, tmp_path: Path) -> None:
    run = _copy(runs["betavae"], tmp_path / "run")
    (run / CHECKPOINT_NAME).write_bytes((runs["conditionvae"] / CHECKPOINT_NAME).read_bytes())
    with pytest.raises(CheckpointError, match=r"holds a 'conditionvae' run, but .* says this run "
                                              r"trains 'betavae'"):
        train(make_config("betavae", "epochs=2", out=run), tiny_h5, resume=True)


def test_weights_of_another_model_are_a_clear_error(runs: dict[str, Path], tmp_path: Path) -> None:
    state = torch.load(runs["betavae"] / CHECKPOINT_NAME, weights_only=True)
    other = torch.load(runs["conditionvae"] / CHECKPOINT_NAME, weights_only=True)
    state["model"] = other["model"]
    torch.save(state, tmp_path / "mixed.pt")
    with pytest.raises(CheckpointError, match="weights do not fit a betavae model"):
        load_run(tmp_path / "mixed.pt")


@pytest.mark.parametrize("key", ["model", "config", "epoch", "rng", "label_stats"])
def test_a_checkpoint_missing_a_key_is_a_clear_error(
        runs: dict[str, Path], tmp_path: Path, key: str) -> None:
    state = torch.load(runs["betavae"] / CHECKPOINT_NAME, weights_only=True)
    del state[key]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match=f"damaged: it lacks '{key}'"):
        load_checkpoint(tmp_path / "partial.pt")


class _Payload:
    def __reduce__(self):  # what an attacker's checkpoint holds: code to run on load
        return (os.system, ("echo pwned",))


def test_an_unsafe_checkpoint_is_refused_without_torchs_weights_only_advice(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"format": "causalvae-checkpoint", "x": _Payload()}, fh)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "safe load refuses" in message and "weights_only" not in message
    assert "pwned" not in message


def test_a_torn_checkpoint_is_a_clear_error(runs: dict[str, Path], tmp_path: Path) -> None:
    data = (runs["betavae"] / CHECKPOINT_NAME).read_bytes()
    (tmp_path / "torn.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="not a readable causalvae checkpoint"):
        load_checkpoint(tmp_path / "torn.pt")


def test_a_damaged_metrics_log_does_not_stop_a_resume(
        runs: dict[str, Path], tiny_h5: Path, make_config, tmp_path: Path) -> None:
    run = _copy(runs["betavae"], tmp_path / "run")
    good = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(good + '{"epoch": 1, "loss": \n[[[[\n\x00\xff garbage\n')
    result = train(make_config("betavae", "epochs=2", out=run), tiny_h5, resume=True,
                   overrides=["epochs=2"])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert result.epochs == 2 and [r["epoch"] for r in rows] == [1, 2]


def test_stale_checkpoint_temporaries_of_dead_processes_are_removed(
        runs: dict[str, Path], tiny_h5: Path, make_config, tmp_path: Path) -> None:
    run = _copy(runs["betavae"], tmp_path / "run")
    dead = run / f".{CHECKPOINT_NAME}.999999999.tmp"  # no such pid
    live = run / f".{CHECKPOINT_NAME}.{os.getppid()}.tmp"  # a live process
    dead.write_bytes(b"torn")
    live.write_bytes(b"being written")
    train(make_config("betavae", "epochs=2", out=run), tiny_h5, resume=True, overrides=["epochs=2"])
    assert not dead.exists() and live.exists()


def test_resume_may_lower_lr_and_set_grad_clip_and_records_it(
        runs: dict[str, Path], tiny_h5: Path, make_config, tmp_path: Path) -> None:
    run = _copy(runs["betavae"], tmp_path / "run")
    result = train(make_config("betavae", out=run), tiny_h5, resume=True,
                   overrides=["epochs=2", "lr=0.0001", "grad_clip=1.0"])
    assert result.epochs == 2
    assert result.history[-1]["lr"] == pytest.approx(1e-4)  # the optimiser runs at the new rate
    record = json.loads((run / "run.json").read_text())
    assert record["resumes"] == [{"epoch": 1, "step": record["resumes"][0]["step"], "changed": {
        "epochs": [1, 2], "lr": [0.001, 0.0001], "grad_clip": [100000.0, 1.0]}}]
    assert json.loads((run / "config.json").read_text())["train"]["lr"] == 1e-4


def test_a_deeply_nested_a_init_json_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_adjacency(str(path), 3)
    path.write_text('[[0, 1], [0]]')
    with pytest.raises(ConfigError, match="cannot read"):
        load_adjacency(str(path), 2)
    np.testing.assert_array_equal(load_adjacency("zero", 2), np.zeros((2, 2)))


def test_the_cli_gives_one_message_for_a_tampered_checkpoint(
        runs: dict[str, Path], tiny_h5: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli.causalvae import main

    run = _copy(runs["betavae"], tmp_path / "run")
    with open(run / CHECKPOINT_NAME, "wb") as fh:
        pickle.dump({"format": "causalvae-checkpoint", "x": _Payload()}, fh)
    for args in (["train", str(tiny_h5), "--out", str(run), "--resume"],
                 ["evaluate", str(run), "--data", str(tiny_h5)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "safe load refuses" in result.output
        assert "Traceback" not in result.output and "weights_only" not in result.output
