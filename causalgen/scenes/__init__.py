"""The scene registry: versioned ids (``pendulum-v1``) mapped to lazily imported scene classes.

``make(id, **kwargs)`` builds a scene; ``list_scenes()`` lists the ids. Entry points are
``"module:attribute"`` strings imported on first use, so listing scenes imports nothing heavy.
Installed packages add scenes through the ``causalgen.scenes`` entry-point group: each entry
point names a callable that is called once, and registers its scenes with :func:`register`.
Bump a scene's version whenever its output distribution changes.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from causalgen.errors import NoGeneratorError, SceneNotFoundError, SpecError
from causalgen.io.schema import EXTERNAL_PREFIX
from causalgen.scenes.base import Scene
from causalgen.scm.spec import did_you_mean

log = logging.getLogger(__name__)
_ID = re.compile(r"^[a-z][a-z0-9_.-]*-v[0-9]+$")


@dataclass(frozen=True)
class SceneEntry:
    """A registered scene: its id, how to build it, default keyword arguments, a summary."""

    id: str
    entry_point: str | Callable[..., Scene]
    kwargs: dict[str, Any] = field(default_factory=dict)
    summary: str = ""

    def load(self) -> Callable[..., Scene]:
        if callable(self.entry_point):
            return self.entry_point
        module, _, attr = self.entry_point.partition(":")
        return getattr(importlib.import_module(module), attr)


_REGISTRY: dict[str, SceneEntry] = {}
_plugins_loaded = False


def register(id: str, entry_point: str | Callable[..., Scene], summary: str = "",
             override: bool = False, **kwargs: Any) -> None:
    """Register a scene under a versioned id such as ``my-scene-v1``."""
    if not _ID.match(id):
        raise SpecError(
            f"scene id {id!r} must be lower-case and end in a version, like 'my-scene-v1'."
        )
    if id in _REGISTRY and not override:
        raise SpecError(f"scene {id!r} is already registered; bump its version or pass override=True.")
    _REGISTRY[id] = SceneEntry(id, entry_point, dict(kwargs), summary)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="causalgen.scenes"):
        try:
            ep.load()()
        except Exception as exc:  # a broken plugin must not break the built-in scenes
            log.warning("scene plugin %s failed to load: %s", ep.name, exc)


def list_scenes() -> list[str]:
    """Registered scene ids, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def _version(sid: str) -> int:
    stem, _, v = sid.rpartition("-v")
    return int(v) if stem and v.isdigit() else -1


_announced: set[str] = set()


def resolve(id: str) -> str:
    """The registered id of ``id``: ``id`` itself, or for an unversioned name (``pendulum``) the
    latest version registered under it (``pendulum-v1``), said once per process in the log."""
    _load_plugins()
    if id in _REGISTRY:
        return id
    versions = sorted((k for k in _REGISTRY if k.rpartition("-v")[0] == id and _version(k) >= 0),
                      key=_version)
    if versions:
        if id not in _announced:
            _announced.add(id)
            log.warning("scene %r: using %s, its latest version", id, versions[-1])
        return versions[-1]
    raise SceneNotFoundError(
        f"no scene {id!r}{did_you_mean(id, _REGISTRY)}; registered scenes: "
        f"{', '.join(sorted(_REGISTRY))}."
    )


def entry(id: str) -> SceneEntry:
    """The registry entry of ``id`` (an unversioned name resolves to its latest version)."""
    return _REGISTRY[resolve(id)]


def make(id: str, **kwargs: Any) -> Scene:
    """Build the scene registered under ``id``."""
    e = entry(id)
    scene = e.load()(**{**e.kwargs, **kwargs})
    return scene


def from_dataset(ds: Any) -> tuple[Scene, Any]:
    """The scene and the observational SCM that generated an open dataset (``causalgen.io``).

    Lets evaluation ask the generator for ground truth: render counterfactuals of the file's
    samples with the same exogenous noise. Raises SceneNotFoundError when the scene that wrote
    the file is not installed here, and its subclass NoGeneratorError for an imported file
    (``scene = "external/NAME"``), which has no generator behind it.
    """
    if str(ds.scene).startswith(EXTERNAL_PREFIX):
        raise NoGeneratorError(
            f"{ds.path} was imported ({ds.scene}): it has no generator or SCM, so ground-truth "
            "counterfactuals and re-renders cannot be made for it.")
    scene = make(ds.scene_entry, **ds.scene_kwargs)
    return scene, scene.scm_from_json(ds.spec_json)


register("pendulum-v1", "causalgen.scenes.pendulum:Pendulum",
         "a pendulum lit by a sun; its shadow on the ground (the CausalVAE reference scene)")
register("flow-v1", "causalgen.scenes.flow:Flow",
         "a tank with a ball and a hole; the jet's landing distance (Torricelli)")
register("pendulum-dynamic-v1", "causalgen.scenes.pendulum_dynamic:PendulumDynamic",
         "a damped pendulum swinging under a moving sun, its shadow frame by frame (temporal)")
register("collision-v1", "causalgen.scenes.collision:Collision",
         "two balls on a track; the elastic collision sets where the second goes (temporal)")
register("custom-v1", "causalgen.scenes.custom:CustomScene",
         "a scene defined by a TOML file or a Python dict (docs/scenes.md)")

__all__ = ["Scene", "SceneEntry", "entry", "from_dataset", "list_scenes", "make", "register",
           "resolve"]
