"""Colours of custom-scene shapes: constants, or ``rgb(...)`` / ``hsv(...)`` over the variables.

A colour is text: a name (``"firebrick"``, any CSS / X11 name Pillow knows), ``"#rgb"``,
``"#rrggbb"``, ``"rgb(r, g, b)"`` with components in 0..255, or ``"hsv(h, s, v)"`` with the hue
in degrees (taken modulo 360) and saturation and value in 0..1. The components of ``rgb`` and
``hsv`` are expressions in the safe language of :mod:`causalgen.scm.expr` over the scene's
variables (no ``noise``), so a variable can drive a hue: ``"hsv(36 * mood, 0.8, 0.9)"``. A
constant component may also be a percentage, ``"hsv(120, 100%, 50%)"`` (as Pillow writes it).
Components are clipped to their ranges and rounded per image.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from PIL import ImageColor

from causalgen.errors import SpecError
from causalgen.scm.expr import Expression, compile_expression
from causalgen.scm.spec import did_you_mean

RGB = tuple[int, int, int]
_CALL = re.compile(r"^\s*(rgb|hsv)\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_PERCENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%(?=\s*(?:,|$))")
_HINT = ("use a colour name such as 'firebrick', '#rrggbb', 'rgb(r, g, b)' with 0..255 "
         "components, or 'hsv(h, s, v)' with h in degrees and s, v in 0..1")


class ColourError(SpecError):
    """A colour does not parse."""


@dataclass(frozen=True)
class Colour:
    """A parsed colour: ``constant`` when it names no variable, else per-sample components."""

    text: str
    constant: RGB | None
    model: str = "rgb"  # "rgb" or "hsv"
    parts: tuple[Expression | float, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        """Variables the colour reads."""
        return frozenset().union(*(p.names for p in self.parts if isinstance(p, Expression)))

    def evaluate(self, env: Mapping[str, np.ndarray], n: int) -> list[RGB]:
        """Colours of ``n`` samples, as (r, g, b) tuples of ints."""
        if self.constant is not None:
            return [self.constant] * n
        a, b, c = (np.broadcast_to(np.asarray(p(env, n) if isinstance(p, Expression) else p,
                                              dtype=np.float64), (n,)) for p in self.parts)
        rgb = _hsv_to_rgb(a, b, c) if self.model == "hsv" else np.stack([a, b, c], axis=1)
        rgb = np.clip(np.nan_to_num(np.rint(rgb)), 0, 255).astype(np.int64)  # (n, 3)
        return [tuple(row) for row in rgb.tolist()]  # type: ignore[misc]


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(n, 3) floats in 0..255 from hue in degrees and saturation, value in 0..1."""
    h = np.mod(h, 360.0) / 60.0
    s, v = np.clip(s, 0.0, 1.0), np.clip(v, 0.0, 1.0)
    sector = np.floor(h).astype(np.int64) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack(c, axis=1) for c in
                      ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return 255.0 * table[sector, np.arange(len(h))]


def _split_arguments(inner: str, text: str) -> list[str]:
    """The top-level comma-separated arguments of a call, via ``ast`` (never ``eval``)."""
    try:
        tree = ast.parse(f"f({inner})", mode="eval").body
    except SyntaxError:
        raise ColourError(f"colour {text!r} does not parse; {_HINT}") from None
    assert isinstance(tree, ast.Call)
    if tree.keywords or any(isinstance(a, ast.Starred) for a in tree.args):
        raise ColourError(f"colour {text!r}: components are positional expressions only")
    source = f"f({inner})"
    return [ast.get_source_segment(source, a) or "" for a in tree.args]


def parse_colour(text: object, variables: Iterable[str] = ()) -> Colour:
    """Parse a colour; ``variables`` are the names its components may read."""
    if not isinstance(text, str):
        raise ColourError(f"a colour must be text such as 'steelblue' or '#4682b4', got {text!r}")
    match = _CALL.match(text)
    if match is None:
        try:
            return Colour(text, ImageColor.getrgb(text.strip())[:3])  # type: ignore[arg-type]
        except ValueError:
            hint = did_you_mean(text.strip().lower(), ImageColor.colormap)
            raise ColourError(f"colour {text!r} does not parse{hint}; {_HINT}") from None
    model = match.group(1).lower()
    scale = "*2.55" if model == "rgb" else "/100"
    inner = _PERCENT.sub(lambda m: f"({m.group(1)}{scale})", match.group(2))
    args = _split_arguments(inner, text)
    if len(args) != 3:
        raise ColourError(f"colour {text!r}: {model}() takes 3 components, got {len(args)}")
    parts: list[Expression | float] = []
    for arg in args:
        try:
            expr = compile_expression(arg, variables, allow_noise=False)
        except SpecError as exc:
            raise ColourError(f"colour {text!r}: {exc}") from None
        parts.append(expr if expr.names else float(expr({}, 1)[0]))
    colour = Colour(text, None, model, tuple(parts))
    if not colour.names:
        return Colour(text, colour.evaluate({}, 1)[0], model, tuple(parts))
    return colour
