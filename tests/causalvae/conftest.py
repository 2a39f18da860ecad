"""Fixtures for causalvae tests: tiny in-memory and on-disk datasets, small configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from causalgen.io import VariableInfo, write_arrays
from causalvae.config import RunConfig, apply_overrides
from causalvae.data import CausalDataset

NAMES = ["size", "pos", "shade"]
ADJ = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], np.int8)  # size -> pos -> shade, size -> shade


def tiny_arrays(n: int = 96, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images of a grey square whose size, position and shade follow a small causal chain."""
    rng = np.random.default_rng(seed)
    sq = rng.uniform(4, 10, n)
    pos = 0.5 * sq + rng.uniform(2, 12, n)
    shade = 0.3 * sq + 0.2 * pos + rng.uniform(0, 2, n)
    images = np.full((n, size, size, 3), 255, np.uint8)
    for i in range(n):
        s, p = int(sq[i]), int(pos[i])
        images[i, p:p + s, 6:6 + s] = int(40 + 20 * shade[i]) % 256
    labels = np.stack([sq, pos, shade], 1).astype(np.float32)
    return images, labels


def write_tiny(path: Path, n: int = 96, size: int = 32, names: list[str] | None = None) -> Path:
    images, labels = tiny_arrays(n, size)
    split = (np.arange(n) % 4 == 3).astype(np.uint8)  # every 4th sample is test
    variables = [VariableInfo(name, "", 0.0, 30.0) for name in (names or NAMES)]
    return write_arrays(path, images, labels, variables, ADJ, split=split, scene="tiny-v0")


@pytest.fixture(scope="session")
def tiny_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 samples (72 train, 24 test) at 32 px, 3 variables, chunks of 32 images."""
    return write_tiny(tmp_path_factory.mktemp("tiny") / "tiny.h5")


@pytest.fixture
def tiny_data() -> CausalDataset:
    images, labels = tiny_arrays()
    return CausalDataset.from_arrays(images, labels, NAMES, adjacency=ADJ)


def small_config(model: str = "causalvae", *items: str, out: Path | None = None) -> RunConfig:
    """A fast config: 32 px, narrow nets, CPU, small batches."""
    base = ["image_size=32", "conv_width=8", "hidden=32", "batch_size=16", "epochs=2",
            "device=cpu", "checkpoint_every=1", "recon_images=4"]
    cfg = apply_overrides(RunConfig.default(model), [*base, *items])
    if out is not None:
        cfg.train.out = str(out)
    return cfg


@pytest.fixture
def make_config():
    """Factory fixture: ``make_config(model, "key=value", ..., out=path)``."""
    return small_config


@pytest.fixture
def write_dataset():
    """Factory fixture: ``write_dataset(path, n=96, size=32, names=None)``."""
    return write_tiny
