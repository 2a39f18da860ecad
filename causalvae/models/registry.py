"""The model registry: one dict from name to model class, filled by the :func:`register` decorator.

Each registered class carries its config dataclass (``config_class``), so a name resolves to both
the model and the settings it accepts. A model module registers itself on import; the package
:mod:`causalvae.models` imports every built-in model and offers the look-ups (``get_model_class``,
with a "did you mean" for unknown names, ``list_models``, ``build_model``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from causalvae.models.config import ModelConfig

if TYPE_CHECKING:
    from causalvae.models.base import BaseVAE

__all__ = ["ALIASES", "MODELS", "register"]

MODELS: dict[str, type[BaseVAE]] = {}
ALIASES: dict[str, str] = {}  # another accepted name -> the registered name

T = TypeVar("T")


def register(name: str, config_class: type[ModelConfig],
             aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
    """Class decorator: register a model under ``name`` with its config dataclass; each of
    ``aliases`` resolves to ``name`` (configs record the registered name)."""

    def decorate(cls: Any) -> Any:
        for key in (name, *aliases):
            if key in MODELS or key in ALIASES:
                raise RuntimeError(f"model {key!r} is registered twice")
        cls.name = name
        cls.config_class = config_class
        MODELS[name] = cls
        ALIASES.update(dict.fromkeys(aliases, name))
        return cls

    return decorate
