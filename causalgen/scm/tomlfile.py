"""TOML files of the SCM layer: reading them, and error messages that name file, line and key.

:func:`read_toml` reads and parses a file with clear errors for a missing file and bad syntax;
:class:`SpecFileError` prefixes a problem with ``file:line: key.path:``, the line found by
:func:`locate` from a table name and a key. Spec files of every kind (a spec over a registered
scene, a custom scene definition: :mod:`causalgen.scenes.files`) report their errors through it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from causalgen.errors import SpecError


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


__all__ = ["SpecFileError", "locate", "read_toml"]
