"""The model registry: one dict from name to model class, filled by the :func:`register` decorator.

Each registered class carries its config dataclass (``config_class``), so a name resolves to both
the model and the settings it accepts. Unknown names get a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from causalvae.errors import ModelNotFoundError

if TYPE_CHECKING:
    from causalvae.config import ModelConfig
    from causalvae.models.base import BaseVAE

__all__ = ["MODELS", "build_model", "get_model_class", "list_models", "register"]

MODELS: dict[str, type[BaseVAE]] = {}

T = TypeVar("T")


def register(name: str, config_class: type[ModelConfig]) -> Callable[[T], T]:
    """Class decorator: register a model under ``name`` with its config dataclass."""

    def decorate(cls: Any) -> Any:
        if name in MODELS:
            raise RuntimeError(f"model {name!r} is registered twice")
        cls.name = name
        cls.config_class = config_class
        MODELS[name] = cls
        return cls

    return decorate


def _ensure_loaded() -> None:
    import causalvae.models  # noqa: F401  (importing the package registers every model)


def list_models() -> list[str]:
    _ensure_loaded()
    return sorted(MODELS)


def get_model_class(name: str) -> type[BaseVAE]:
    _ensure_loaded()
    try:
        return MODELS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(MODELS), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ModelNotFoundError(
            f"unknown model {name!r}{hint} (registered: {', '.join(sorted(MODELS))})"
        ) from None


def build_model(name: str, config: ModelConfig, **kwargs: Any) -> BaseVAE:
    """Instantiate the model registered as ``name`` (``config.n_concepts`` must be resolved)."""
    return get_model_class(name)(config, **kwargs)
