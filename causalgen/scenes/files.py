"""Spec files: TOML that names a base scene and overrides variables' mechanisms and noise.

A spec over a built-in scene::

    scene = "pendulum-v1"
    name = "noisy shadows"          # optional
    [variables.shadow_length]
    mechanism = "shadow_length(pendulum_angle, light_angle) + noise"
    noise = "normal(0, 0.3)"

A variable left out keeps the scene's default. A spec without ``scene`` defines a scene of its
own (shapes bound to variables; see ``docs/scenes.md``) and is handed to the custom-scene
builder (:func:`load_custom`). Every error names the file, the line and the key path. This is
the scenes layer's loader (it builds scenes); the TOML reading and error locating below it live in
:mod:`causalgen.scm.tomlfile`.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from causalgen import scenes
from causalgen.errors import CausalgenError, SpecError
from causalgen.scenes.custom import ENTRY, CustomScene, SceneWarning, stored_form
from causalgen.scenes.source import Source
from causalgen.scm.expr import compile_expression
from causalgen.scm.noise import parse_distribution
from causalgen.scm.spec import SCM, did_you_mean
from causalgen.scm.tomlfile import SpecFileError, read_toml

TOP_KEYS = ("scene", "name", "description", "variables")
VARIABLE_KEYS = ("mechanism", "noise", "description", "init")


@dataclass(frozen=True)
class LoadedSpec:
    """What a spec file describes: the scene to build (id and kwargs) and the SCM to sample."""

    scene_id: str
    scm: SCM
    scene_kwargs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def load_spec(path: str | os.PathLike) -> LoadedSpec:
    """Load a spec file: a built-in scene with overrides, or a custom scene definition."""
    path, text, doc = read_toml(path)
    if "scene" not in doc:  # a scene defined by the file itself
        return load_custom(path, text, doc)
    return _scene_spec(path, text, doc)


def load_custom(path: Path, text: str, doc: dict[str, Any]) -> LoadedSpec:
    """A spec file without ``scene = ...``: check it (errors name file:line and key path; doubts
    are :class:`SceneWarning` s) and return the scene to build and its SCM."""
    if "name" not in doc:  # the name goes into the stored definition, so workers agree on it
        doc = {"name": re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem).lstrip("_.-") or "custom", **doc}
    scene = CustomScene(doc, source=Source(path, text))
    for message in scene.compiled.warnings:
        warnings.warn(message, SceneWarning, stacklevel=2)
    return LoadedSpec(ENTRY, scene.default_scm(), {"definition": stored_form(doc)}, path)


def _scene_spec(path: Path, text: str, doc: dict[str, Any]) -> LoadedSpec:
    for key in doc:
        if key not in TOP_KEYS:
            raise SpecFileError(path, text, None, key,
                                f"unknown key{did_you_mean(key, TOP_KEYS)}; a spec over a scene "
                                f"takes {', '.join(TOP_KEYS)}.")
    scene_id = doc["scene"]
    if not isinstance(scene_id, str):
        raise SpecFileError(path, text, None, "scene", "must be a scene id string like 'pendulum-v1'.")
    try:
        scene = scenes.make(scene_id)
    except CausalgenError as exc:
        raise SpecFileError(path, text, None, "scene", str(exc)) from None
    base = scene.default_scm()
    overrides = doc.get("variables", {})
    if not isinstance(overrides, dict):
        raise SpecFileError(path, text, None, "variables", "must be a table of [variables.NAME] tables.")
    variables = list(base.variables)
    names = base.names
    for name, table in overrides.items():
        where = f"variables.{name}"
        if name not in names:
            raise SpecFileError(path, text, where, None,
                                f"{scene_id} has no variable {name!r}{did_you_mean(name, names)}; "
                                f"its variables are {', '.join(names)}.")
        if not isinstance(table, dict):
            raise SpecFileError(path, text, None, where, "must be a table with mechanism / noise keys.")
        changes: dict[str, Any] = {}
        for key, value in table.items():
            if key not in VARIABLE_KEYS:
                raise SpecFileError(path, text, where, key,
                                    f"unknown key{did_you_mean(key, VARIABLE_KEYS)}; a variable "
                                    f"takes {', '.join(VARIABLE_KEYS)} (ranges belong to the scene).")
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise SpecFileError(path, text, where, key, f"must be a string, got {value!r}.")
            try:
                if key == "mechanism":
                    compile_expression(str(value), names, scene.functions, lags=names)
                elif key in ("noise", "init"):
                    parse_distribution(value)
            except SpecError as exc:
                raise SpecFileError(path, text, where, key, str(exc)) from None
            changes[key] = str(value) if key not in ("noise", "init") else value
        i = names.index(name)
        variables[i] = replace(variables[i], parents=None, **changes)
    try:
        scm = replace(base, variables=tuple(variables),
                      name=str(doc.get("name", base.name)))
    except SpecError as exc:
        raise SpecFileError(path, text, "variables", None, str(exc)) from None
    return LoadedSpec(scene.id, scm, {}, path)


__all__ = ["LoadedSpec", "SpecFileError", "load_custom", "load_spec", "read_toml"]
