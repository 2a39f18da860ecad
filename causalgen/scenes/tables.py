"""Typed reads of a custom scene definition's tables, each failure naming its key path.

:class:`TableReader` is the base of the definition parser (:mod:`causalgen.scenes.definition`):
it checks that a value is a table, a finite number, a string, a flag, a number-or-expression
over the declared variables (compiled by :mod:`causalgen.scm.expr`, never evaluated as Python)
or a colour, and turns every problem into a :class:`~causalgen.scenes.source.DefinitionError`
located by key path (``shapes[2].radius``), with a "did you mean" for unknown keys, including the
spellings people reach for (:data:`ALIASES`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from causalgen.errors import SpecError
from causalgen.scenes.colors import Colour, parse_colour
from causalgen.scenes.shapes import Value
from causalgen.scenes.source import DefinitionError, KeyPath, Source
from causalgen.scm.expr import compile_expression
from causalgen.scm.spec import did_you_mean

# Keys people reach for that are spelled otherwise here.
ALIASES = {"rotation": "angle", "rotate": "angle", "color": "fill", "colour": "fill",
           "r": "radius", "stroke": "outline", "alpha": "opacity", "line_width": "width",
           "size": "font_size", "type": "kind", "shape": "kind", "content": "text",
           "stroke_width": "outline_width", "cx": "x", "cy": "y", "shadow": "casts_shadow"}


class TableReader:
    """Reads values out of a definition document; ``names`` are the variables expressions may read."""

    def __init__(self, doc: Mapping[str, Any], source: Source) -> None:
        self.doc = doc
        self.src = source
        self.names: tuple[str, ...] = ()
        self.warnings: list[str] = []

    def fail(self, keypath: KeyPath, problem: str) -> DefinitionError:
        return self.src.error(keypath, problem)

    def unknown(self, keypath: KeyPath, key: str, allowed: Sequence[str], what: str) -> DefinitionError:
        hint = did_you_mean(key, allowed)
        if not hint and ALIASES.get(key) in allowed:
            hint = f" (did you mean {ALIASES[key]!r}?)"
        return self.fail([*keypath, key], f"unknown key{hint}; {what} takes {', '.join(allowed)}.")

    def table(self, value: Any, keypath: KeyPath, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(keypath, f"must be a table ({what}), got {value!r}.")
        return value

    def number(self, value: Any, keypath: KeyPath) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(keypath, f"must be a finite number, got {value!r}.")
        return float(value)

    def string(self, value: Any, keypath: KeyPath) -> str:
        if not isinstance(value, str):
            raise self.fail(keypath, f"must be a string, got {value!r}.")
        return value

    def flag(self, value: Any, keypath: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(keypath, f"must be true or false, got {value!r}.")
        return value

    def value(self, value: Any, keypath: KeyPath) -> Value:
        """A number, or an expression over the variables (no noise, built-in functions only)."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(keypath, f"must be a number or an expression string, got {value!r}.")
        if not isinstance(value, str):
            return self.number(value, keypath)
        try:
            expr = compile_expression(value, self.names, allow_noise=False)
        except SpecError as exc:
            raise self.fail(keypath, str(exc)) from None
        return expr if expr.names else float(expr({}, 1)[0])

    def colour(self, value: Any, keypath: KeyPath, constant: bool = False) -> Colour:
        try:
            colour = parse_colour(value, () if constant else self.names)
        except SpecError as exc:
            raise self.fail(keypath, str(exc)) from None
        return colour


__all__ = ["ALIASES", "TableReader"]
