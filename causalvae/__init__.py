"""causalvae: train CausalVAE and its baselines on causalgen datasets and check the learned graph."""

from __future__ import annotations

__version__ = "0.1.0"
