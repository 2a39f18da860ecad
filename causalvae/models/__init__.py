"""Models, registered by name: ``causalvae`` (the recommended CausalVAE; alias ``causalvae-int``),
``causalvae-paper`` (the paper's formulation), ``causalvae-unsup``, ``conditionvae``, ``betavae``,
``chyvae``.

Importing this package imports every built-in model module, which registers it in :data:`MODELS`
(``@register(name, ConfigClass)`` in the module); the look-ups below therefore see all of them.
A new model is one module (its config dataclass and its class) plus its import line here.
"""

from __future__ import annotations

import difflib
from typing import Any

from causalvae.errors import ModelNotFoundError
from causalvae.models import betavae, causal, chyvae, conditionvae  # noqa: F401  (registration)
from causalvae.models.base import BaseVAE, VAEOutput
from causalvae.models.config import ModelConfig
from causalvae.models.registry import ALIASES, MODELS, register

__all__ = ["ALIASES", "MODELS", "BaseVAE", "ModelConfig", "VAEOutput", "build_model",
           "canonical_name", "get_model_class", "list_models", "register"]


def list_models() -> list[str]:
    """The registered names (aliases not included; see :data:`ALIASES`)."""
    return sorted(MODELS)


def canonical_name(name: str) -> str:
    """The registered name of ``name`` (an alias resolves; other names pass through)."""
    return ALIASES.get(name, name)


def get_model_class(name: str) -> type[BaseVAE]:
    try:
        return MODELS[canonical_name(name)]
    except KeyError:
        close = difflib.get_close_matches(name, [*MODELS, *ALIASES], n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ModelNotFoundError(
            f"unknown model {name!r}{hint} (registered: {', '.join(sorted(MODELS))})"
        ) from None


def build_model(name: str, config: ModelConfig, **kwargs: Any) -> BaseVAE:
    """Instantiate the model registered as ``name`` (``config.n_concepts`` must be resolved)."""
    return get_model_class(name)(config, **kwargs)
