"""Spec files: TOML that names a base scene and overrides variables' mechanisms and noise.

A spec over a built-in scene::

    scene = "pendulum-v1"
    name = "noisy shadows"          # optional
    [variables.shadow_length]
    mechanism = "shadow_length(pendulum_angle, light_angle) + noise"
    noise = "normal(0, 0.3)"

A variable left out keeps the scene's default. A spec without ``scene`` defines a scene of its
own (shapes bound to variables; see ``docs/scenes.md``) and is handed to the custom-scene
builder. Every error names the file, the line and the key path.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from causalgen.errors import CausalgenError, SpecError
from causalgen.scm.expr import compile_expression
from causalgen.scm.noise import parse_distribution
from causalgen.scm.spec import SCM, did_you_mean

TOP_KEYS = ("scene", "name", "description", "variables")
VARIABLE_KEYS = ("mechanism", "noise", "description")


@dataclass(frozen=True)
class LoadedSpec:
    """What a spec file describes: the scene to build (id and kwargs) and the SCM to sample."""

    scene_id: str
    scm: SCM
    scene_kwargs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def locate(text: str, table: str | None, key: str | None = None) -> int | None:
    """1-based line of ``key`` inside ``[table]`` (or of the table header), or None."""
    lines = text.splitlines()
    start = 0
    if table is not None:
        header = re.compile(r"^\s*\[+\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]+")
        hits = [i for i, line in enumerate(lines) if header.match(line)]
        if not hits:
            return None
        start = hits[0]
        if key is None:
            return start + 1
        start += 1
    pattern = re.compile(r"^\s*" + re.escape(key or "") + r"\s*=")
    for i in range(start, len(lines)):
        if table is not None and i > start and re.match(r"^\s*\[", lines[i]):
            break
        if pattern.match(lines[i]):
            return i + 1
    return None


class SpecFileError(SpecError):
    """A spec-file problem, prefixed with ``file:line: key.path:``."""

    def __init__(self, path: Path, text: str, table: str | None, key: str | None, problem: str):
        line = locate(text, table, key) or (locate(text, table) if table else None)
        where = f"{path}:{line}" if line else str(path)
        keypath = ".".join(p for p in (table, key) if p)
        super().__init__(f"{where}: {keypath + ': ' if keypath else ''}{problem}")


def read_toml(path: str | os.PathLike) -> tuple[Path, str, dict[str, Any]]:
    """Read and parse a TOML file, with clear errors for a missing file and bad syntax."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"no such spec file: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        return path, text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None


def load_spec(path: str | os.PathLike) -> LoadedSpec:
    """Load a spec file: a built-in scene with overrides, or a custom scene definition."""
    path, text, doc = read_toml(path)
    if "scene" not in doc:
        from causalgen.scenes import custom  # a scene defined by the file itself

        return custom.load_custom(path, text, doc)
    return _scene_spec(path, text, doc)


def _scene_spec(path: Path, text: str, doc: dict[str, Any]) -> LoadedSpec:
    from causalgen import scenes

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
                    compile_expression(str(value), names, scene.functions)
                elif key == "noise":
                    parse_distribution(value)
            except SpecError as exc:
                raise SpecFileError(path, text, where, key, str(exc)) from None
            changes[key] = str(value) if key != "noise" else value
        i = names.index(name)
        variables[i] = replace(variables[i], parents=None, **changes)
    try:
        scm = replace(base, variables=tuple(variables),
                      name=str(doc.get("name", base.name)))
    except SpecError as exc:
        raise SpecFileError(path, text, "variables", None, str(exc)) from None
    return LoadedSpec(scene.id, scm, {}, path)
