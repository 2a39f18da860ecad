"""Models, registered by name: ``causalvae``, ``causalvae-int`` (CausalVAE with the settings for
interventional data), ``causalvae-unsup``, ``conditionvae``, ``betavae``, ``chyvae``. Importing this package registers all of them in :data:`MODELS`."""

from __future__ import annotations

from causalvae.models import betavae, causal, chyvae, conditionvae  # noqa: F401  (registration)
from causalvae.models.base import BaseVAE, VAEOutput
from causalvae.models.registry import MODELS, build_model, get_model_class, list_models, register

__all__ = ["MODELS", "BaseVAE", "VAEOutput", "build_model", "get_model_class", "list_models",
           "register"]
