"""TensorBoard event files and the per-epoch test loss of a training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from causalvae.tblog import adjacency_heatmap
from causalvae.train import train


def test_event_files_hold_steps_epochs_and_images(tiny_h5, make_config, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    result = train(make_config("causalvae", out=out), tiny_h5)  # 2 epochs of 72 / 16 -> 5 steps
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(np.isfinite(r["test_loss"]) for r in rows)
    events = list(out.glob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(out), size_guidance={"images": 0, "scalars": 0}).Reload()
    steps = [e.step for e in acc.Scalars("train/loss")]
    assert steps == list(range(1, result.global_step + 1))
    np.testing.assert_allclose([e.value for e in acc.Scalars("train/loss")], result.step_losses,
                               rtol=1e-6)
    assert [e.value for e in acc.Scalars("epoch/test_loss")] == pytest.approx(
        [r["test_loss"] for r in rows], rel=1e-6)
    assert "train/kl_z" in acc.Tags()["scalars"]
    assert {"recon", "adjacency"} <= set(acc.Tags()["images"])
    assert len(acc.Images("recon")) == 2


def test_adjacency_heatmap_scales_to_the_largest_entry() -> None:
    h = adjacency_heatmap(np.array([[0.0, -2.0], [0.5, 0.0]]))
    assert h.shape == (1, 48, 48) and h.max() == 1.0 and h[0, 0, 30] == 1.0
    assert h[0, 30, 0] == pytest.approx(0.25) and h[0, 0, 0] == 0.0
