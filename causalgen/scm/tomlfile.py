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
from causalgen.limits import MAX_SPEC_BYTES, MAX_TOML_NESTING


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


def read_toml(path: str | os.PathLike, kind: str = "spec") -> tuple[Path, str, dict[str, Any]]:
    """Read and parse a TOML file, with clear errors for a missing file and bad syntax.

    ``kind`` names the file in those errors ("spec", "graph").

    The cost is bounded before ``tomllib`` runs: the file's size, its encoding (UTF-8 text, not
    binary) and the nesting depth of its values are checked first (``tomllib`` recurses once per
    nested array or inline table, so a deep value would exhaust the Python stack).
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"no such {kind} file: {path}")
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read the {kind} file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"{path} is larger than {MAX_SPEC_BYTES} bytes, the limit for a {kind} file; "
                        f"is it really a {kind}?")
    text = decode_text(path, data, kind)
    check_nesting(path, text)
    try:
        return path, text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # a safety net: check_nesting should have refused it
        raise SpecError(f"{path}: not valid TOML: nested too deeply") from None


def decode_text(path: Path, data: bytes, kind: str = "spec") -> str:
    """``data`` as UTF-8 text; a binary or otherwise encoded file is refused naming its line.

    A leading byte-order mark (what Windows editors write) is dropped: tomllib rejects it with a
    bare "Invalid statement" at line 1."""
    if b"\x00" in data:
        raise SpecError(f"{path} is a binary file (it holds NUL bytes), not a TOML {kind} file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SpecError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                        f"{exc.start}); save the {kind} file as UTF-8.") from None


_SPECIAL = re.compile(r"[\n#\"'\[\]{}=,.]")


def check_nesting(path: Path, text: str) -> None:
    """Refuse values nested deeper than MAX_TOML_NESTING and keys of more parts than that.

    Both cost ``tomllib`` dearly: it recurses once per nested array or inline table (a deep
    value exhausts the Python stack) and its dotted-key parsing is quadratic in the number of
    parts (``[a.a.a...]``). A linear scan that skips strings and comments counts both first.
    """
    stack: list[str] = []  # the open '[' / '{' of values
    i, n, line = 0, len(text), 1
    in_key, header, parts = True, False, 0
    while i < n:
        found = _SPECIAL.search(text, i)  # jump to the next character that matters
        if found is None:
            break
        i = found.start()
        c = text[i]
        if c == "\n":
            line += 1
            if not stack:
                in_key, header, parts = True, False, 0
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            i = _skip_string(text, i)
            line += text.count("\n", found.start(), i)
            continue
        elif c == "." and in_key:
            parts += 1
            if parts >= MAX_TOML_NESTING:
                raise SpecError(f"{path}:{line}: a key of more than {MAX_TOML_NESTING} dotted "
                                "parts; flatten the tables.")
        elif c == "=" and not header:
            in_key = False
        elif c == "[" and in_key and not stack:
            header = True  # a table header, [a.b] or [[a.b]]
        elif c in "[{" and not header:
            stack.append(c)
            if len(stack) > MAX_TOML_NESTING:
                raise SpecError(f"{path}:{line}: arrays or tables nested more than "
                                f"{MAX_TOML_NESTING} levels deep; flatten the value.")
            if c == "{":
                in_key, parts = True, 0
        elif c == "," and stack and stack[-1] == "{":
            in_key, parts = True, 0
        elif c in "]}" and stack and not header:
            stack.pop()
        i += 1


def _skip_string(text: str, i: int) -> int:
    """The index just past the TOML string starting at ``text[i]`` (or at its line's end)."""
    c, n = text[i], len(text)
    quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
    j = i + len(quote)
    while j < n:
        if text[j] == "\\" and c == '"':
            j += 2
            continue
        if text.startswith(quote, j):
            return j + len(quote)
        if len(quote) == 1 and text[j] == "\n":
            return j  # an unterminated string: tomllib reports it
        j += 1
    return n


__all__ = ["SpecFileError", "check_nesting", "decode_text", "locate", "read_toml"]
