"""TensorBoard event files of a run: loss terms per step, metrics per epoch, images per epoch.

:class:`RunLog` writes into the run directory when ``tensorboard`` is installed (the ``logging``
extra) and does nothing otherwise, so training never depends on it. Per step it adds each loss
term as ``train/NAME``; per epoch each metric of the epoch's ``metrics.jsonl`` row as
``epoch/NAME`` (the test-split loss among them), a reconstruction grid (``recon``: inputs on the
top row, reconstructions beneath) and, for causal models, the learned ``|A|`` as a heatmap
(``adjacency``, white = the largest entry). Images are written once per epoch only, so logging
costs a few milliseconds an epoch; the scalars go through TensorBoard's background writer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)
CELL = 24  # pixels per entry of the |A| heatmap


def _writer(run_dir: Path) -> Any | None:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: metrics.jsonl only
        log.debug("tensorboard is not installed; no event files")
        return None
    return SummaryWriter(log_dir=str(run_dir), flush_secs=30)


def adjacency_heatmap(a: np.ndarray) -> np.ndarray:
    """float32 (1, n CELL, n CELL): |A| scaled to [0, 1], each entry a CELL x CELL square."""
    m = np.abs(np.asarray(a, dtype=np.float32))
    m = m / m.max() if m.max() > 0 else m
    return np.kron(m, np.ones((CELL, CELL), np.float32))[None]


class RunLog:
    """TensorBoard logging of one run (a no-op without tensorboard or without a run dir)."""

    def __init__(self, run_dir: Path | None) -> None:
        self._w = _writer(run_dir) if run_dir is not None else None

    @property
    def enabled(self) -> bool:
        return self._w is not None

    def steps(self, first_step: int, names: Sequence[str], rows: Sequence[Sequence[float]]) -> None:
        """Loss terms of consecutive steps ``first_step``, ``first_step + 1``, ..."""
        if self._w is None:
            return
        for k, row in enumerate(rows):
            for name, value in zip(names, row, strict=True):
                self._w.add_scalar(f"train/{name}", value, first_step + k)

    def epoch(self, step: int, row: Mapping[str, Any], grid: np.ndarray | None = None,
              adjacency: np.ndarray | None = None) -> None:
        """The epoch's metrics (numbers of its metrics.jsonl row) and images, at ``step``:
        ``grid`` uint8 (H, W, 3), ``adjacency`` the learned (n, n) matrix."""
        if self._w is None:
            return
        for key, value in row.items():
            if key not in ("epoch", "step") and isinstance(value, (int, float)):
                self._w.add_scalar(f"epoch/{key}", value, step)
        if grid is not None:
            self._w.add_image("recon", grid, step, dataformats="HWC")
        if adjacency is not None:
            self._w.add_image("adjacency", adjacency_heatmap(adjacency), step, dataformats="CHW")
        self._w.flush()

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None


def _eval_batches(trainer: Any, count: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """(x, u, intervened) of the first ``count`` test samples (train if no test split) of a
    :class:`~causalvae.train.Trainer`, in batches, the model in eval mode and the RNG state
    restored afterwards (exact resume: later steps draw the same numbers as without this)."""
    from causalvae.checkpoint import capture_rng, restore_rng

    data = trainer.test_data if trainer.test_data is not None and len(trainer.test_data) else \
        trainer.train_data
    count = min(count, len(data))
    rng = capture_rng()
    trainer.model.eval()
    try:
        bs = trainer.config.train.batch_size
        for s in range(0, count, bs):
            yield trainer._inputs(data.__getitems__(list(range(s, min(count, s + bs)))))
    finally:
        trainer.model.train()
        restore_rng(rng)


@torch.no_grad()
def epoch_test_loss(trainer: Any, most: int) -> float | None:
    """Mean loss over the first ``most`` test samples (rank 0 only; None without a test split)."""
    if not trainer.rt.is_main or trainer.test_data is None or not len(trainer.test_data):
        return None
    total, count = 0.0, 0
    for x, u, m in _eval_batches(trainer, most):
        total += float(trainer._forward(trainer.model, x, u, m).loss) * len(u)
        count += len(u)
    return total / count


@torch.no_grad()
def log_epoch(trainer: Any, row: Mapping[str, Any]) -> None:
    """The epoch's TensorBoard record of a trainer: metrics, a reconstruction grid, |A|."""
    if not trainer.tb.enabled:
        return
    from causalvae.images import grid_array
    from causalvae.runtime import autocast

    tc = trainer.config.train
    for x, u, _ in _eval_batches(trainer, tc.recon_images):
        with autocast(trainer.device, tc.amp, tc.cpu_amp):
            recon = trainer.model.reconstruct(x, u)
        break
    adjacency = (trainer.model.learned_adjacency()
                 if getattr(trainer.model, "has_causal_layer", False) else None)
    trainer.tb.epoch(row["step"], row, grid_array([x, recon]), adjacency)
