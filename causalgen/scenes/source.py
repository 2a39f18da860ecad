"""Where a custom scene definition came from, to name the file, line and key path of a problem.

A :class:`Source` is a spec file (path and text) or a label for a definition built in Python.
:meth:`Source.message` formats ``file:line: key.path: problem``; the line is found from the key
path in the TOML text: ``[variables.NAME]`` tables, the i-th ``[[shapes]]`` (or ``[[variables]]``)
table, ``[light]`` / ``[ground]`` keys, top-level keys. Key paths are sequences of keys and
0-based array indices, shown as ``shapes[2].radius``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from causalgen.errors import SpecError
from causalgen.scm.tomlfile import SpecFileError, locate

KeyPath = Sequence[str | int]


class DefinitionError(SpecFileError):
    """A custom scene definition is invalid: ``file:line: key.path: problem``."""

    def __init__(self, message: str) -> None:  # located by Source.error
        SpecError.__init__(self, message)


def keypath_text(keypath: KeyPath) -> str:
    out = ""
    for part in keypath:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True)
class Source:
    """Where a definition came from, to locate errors: a file (path and text) or Python."""

    path: Path | None = None
    text: str | None = None
    label: str = "custom scene"

    def message(self, keypath: KeyPath, problem: str) -> str:
        """``file:line: key.path: problem`` (``label: key.path: problem`` without a file)."""
        line = self.line(keypath) if self.text is not None else None
        where = f"{self.path}:{line}" if line and self.path else str(self.path or self.label)
        path = keypath_text(keypath)
        return f"{where}: {path + ': ' if path else ''}{problem}"

    def error(self, keypath: KeyPath, problem: str) -> DefinitionError:
        return DefinitionError(self.message(keypath, problem))

    def line(self, keypath: KeyPath) -> int | None:
        text = self.text or ""
        parts = list(keypath)
        if len(parts) >= 2 and parts[0] in ("shapes", "variables") and isinstance(parts[1], int):
            key = next((p for p in parts[2:3] if isinstance(p, str)), None)
            return _array_line(text, str(parts[0]), parts[1], key) or locate(text, None, str(parts[0]))
        if len(parts) >= 2 and parts[0] == "variables":
            table = f"variables.{parts[1]}"
            line = locate(text, table, str(parts[2])) if len(parts) >= 3 else None
            return (line or locate(text, table) or locate(text, "variables", str(parts[1]))
                    or locate(text, "variables"))
        if len(parts) == 2:
            table = str(parts[0])
            return locate(text, table, str(parts[1])) or locate(text, table)
        if len(parts) == 1:
            return (locate(text, None, str(parts[0])) or locate(text, str(parts[0]))
                    or _first_header(text, str(parts[0])))
        return None


def _first_header(text: str, table: str) -> int | None:
    """1-based line of the first ``[table.<anything>]`` header."""
    header = re.compile(r"^\s*\[+\s*" + re.escape(table) + r"\s*[.\]]")
    return next((i + 1 for i, line in enumerate(text.splitlines()) if header.match(line)), None)


def _array_line(text: str, array: str, index: int, key: str | None) -> int | None:
    """1-based line of ``key`` in the index-th ``[[array]]`` table (or of its header)."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\[\s*" + re.escape(array) + r"\s*\]\]")
    headers = [i for i, line in enumerate(lines) if header.match(line)]
    if index >= len(headers):
        return None
    start = headers[index]
    if key is None:
        return start + 1
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(start + 1, len(lines)):
        if re.match(r"^\s*\[", lines[i]):
            break
        if pattern.match(lines[i]):
            return i + 1
    return start + 1
