"""Shared fixtures: small generated datasets, cached per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from causalgen.generate import generate


@pytest.fixture(autouse=True, scope="session")
def _probe_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Label probes cached by evaluations go to a temporary folder, not the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CAUSALVAE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def pendulum_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600-sample pendulum dataset at 32 px with a counterfactual group."""
    out = tmp_path_factory.mktemp("data") / "pendulum.h5"
    return generate("pendulum-v1", out, n=600, seed=3, size=32, workers=1,
                    counterfactual={"light_angle": 90.0})
