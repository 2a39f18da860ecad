"""A label probe: a small CNN that reads the labels off images, trained on a file's real images.

Counterfactual fidelity asks whether a model's counterfactual image shows the intended values;
the probe answers for any image source the same way, so its error on the ground-truth renders
(``probe_rmse_truth``) is the floor a perfect counterfactual reaches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)
PROBE_SIZE = 32  # label probes read images downsampled to this size
PROBE_VERSION = 1  # bumped when the probe's architecture or training changes (cache key)


def _network(n: int, seed: int) -> torch.nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, 2, 1), torch.nn.SiLU(),
            torch.nn.Conv2d(16, 32, 3, 2, 1), torch.nn.SiLU(),
            torch.nn.Conv2d(32, 32, 3, 2, 1), torch.nn.SiLU(),
            torch.nn.Flatten(), torch.nn.Linear(32 * (PROBE_SIZE // 8) ** 2, 64),
            torch.nn.SiLU(), torch.nn.Linear(64, n),
        )


class LabelProbe:
    """A small CNN from images to standardised labels, trained on real images of the dataset.

    Images are resized to ``PROBE_SIZE`` (area averaging); three stride-2 3x3 convolutions and
    two linear layers; Adam, mean squared error on labels standardised with the training set's
    statistics. Seeded, so a probe is the same for every model evaluated on the same file on
    the same machine and thread count (CPU convolutions are not bit-stable across thread
    counts). ``error`` on the ground-truth counterfactual images (``probe_rmse_truth``) is the
    probe's own floor.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, epochs: int = 12,
                 seed: int = 0) -> None:
        self.mean, self.std = labels.mean(0), labels.std(0) + 1e-12
        n = labels.shape[1]
        generator = torch.Generator().manual_seed(seed)
        self.net = _network(n, seed)
        x = self.features(images)  # (m, 3, P, P)
        y = torch.as_tensor((labels - self.mean) / self.std, dtype=torch.float32)  # (m, n)
        opt = torch.optim.Adam(self.net.parameters(), lr=3e-3)
        steps_per_epoch = max(1, len(x) // 64)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
        self.net.train()
        with torch.enable_grad():  # also when the caller is under torch.no_grad()
            for _ in range(epochs):
                order = torch.randperm(len(x), generator=generator)
                for s in range(steps_per_epoch):
                    idx = order[s * 64:(s + 1) * 64]
                    loss = torch.nn.functional.mse_loss(self.net(x[idx]), y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
        self.net.eval()

    @staticmethod
    def features(images: np.ndarray) -> torch.Tensor:
        """uint8 (m, H, W, 3) or float (m, 3, S, S) in [0, 1] -> (m, 3, PROBE_SIZE, PROBE_SIZE)."""
        x = torch.as_tensor(images)
        x = x.permute(0, 3, 1, 2).float() / 255.0 if x.dtype == torch.uint8 else x.float()
        return torch.nn.functional.interpolate(x, size=(PROBE_SIZE, PROBE_SIZE), mode="area")

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """Standardised label predictions (m, n)."""
        x = self.features(images)
        return torch.cat([self.net(x[s:s + 512]) for s in range(0, len(x), 512)]).numpy()

    def error(self, images: np.ndarray, labels: np.ndarray) -> float:
        """RMSE over all labels, in train standard deviations."""
        return self.rmse(self.predict(images), labels)

    def rmse(self, predicted: np.ndarray, labels: np.ndarray) -> float:
        """:meth:`error` from predictions already made by :meth:`predict`."""
        target = (labels - self.mean) / self.std
        return float(np.sqrt(np.mean((predicted - target) ** 2)))


def _cache_path(ds: Any, seed: int, n: int) -> Path | None:
    root = os.environ.get("CAUSALVAE_CACHE_DIR") or str(Path.home() / ".cache" / "causalvae")
    if root in ("", "0", "off"):
        return None
    try:
        st = Path(ds.path).resolve().stat()
    except OSError:
        return None
    key = json.dumps([str(Path(ds.path).resolve()), st.st_size, st.st_mtime_ns, seed, n,
                      PROBE_VERSION, torch.get_num_threads(), torch.__version__])
    return Path(root) / "probes" / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.pt"


_MEMO: dict[Path, LabelProbe] = {}


def label_probe(ds: Any, seed: int, n: int = 4000) -> LabelProbe:
    """A probe trained on up to ``n`` random training images of the open file ``ds``.

    Training one is the slowest step of an evaluation, and it is the same for every model on a
    file, so a trained probe is kept in memory and on disk (``$CAUSALVAE_CACHE_DIR``, default
    ``~/.cache/causalvae``, ``off`` disables it), keyed by the file's path, size and mtime, the
    seed, the torch version and thread count; weights are loaded with ``weights_only=True``.
    """
    path = _cache_path(ds, seed, n)
    if path is not None and path in _MEMO:
        return _MEMO[path]
    probe = _load(path, len(ds.variable_names)) if path is not None else None
    if probe is None:
        rows = ds.indices("train")
        pick = np.sort(np.random.default_rng(seed).choice(rows, size=min(n, len(rows)),
                                                          replace=False))
        probe = LabelProbe(ds.images[pick], ds.labels[pick])
        if path is not None:
            _save(probe, path)
    if path is not None:
        _MEMO[path] = probe
    return probe


def _save(probe: LabelProbe, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        torch.save({"net": probe.net.state_dict(), "mean": torch.as_tensor(probe.mean),
                    "std": torch.as_tensor(probe.std)}, tmp)
        tmp.replace(path)
    except OSError as exc:  # a read-only home: the probe is simply not cached
        log.debug("label probe not cached: %s", exc)


def _load(path: Path, n: int) -> LabelProbe | None:
    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=True)
        probe = LabelProbe.__new__(LabelProbe)
        probe.net = _network(n, 0)
        probe.net.load_state_dict(state["net"])
        probe.net.eval()
        probe.mean, probe.std = state["mean"].numpy(), state["std"].numpy()
        return probe
    except Exception as exc:  # a damaged or foreign cache entry is retrained
        log.debug("label probe cache %s unreadable (%s); retraining", path, exc)
        return None
