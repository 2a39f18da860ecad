"""Environments: a dataset made of several regimes of one SCM, and the text that describes them.

``--environments`` takes environments separated by ``;``, numbered from 0 in the order given.
Each is ``obs`` (observational) or one or more interventions joined by ``&``::

    obs; do(light_angle=uniform(40, 60)); shift(shadow_length, 2.0) & scale_noise(light_angle, 0.5);
    mechanism(shadow_length, 0.5 * pendulum_angle + noise)

``do(VAR=VALUE, ...)`` takes numbers or distributions; ``shift(VAR, DELTA)``,
``scale_noise(VAR, FACTOR)`` and ``mechanism(VAR, EXPR)`` are the soft interventions of
:mod:`causalgen.scm.interventions`. The text is read with ``ast`` (never evaluated); an error
points at its column in the whole text. ``per-variable`` means observational plus one
environment per variable, a stochastic do over as much of the variable's renderable range as
keeps every variable renderable (see :func:`per_variable`).
Rows are assigned to environments in contiguous runs, in order (environment 0 first), so the
assignment depends only on N and the sizes, never on workers or shards.
"""

from __future__ import annotations

import ast
import difflib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from causalgen.errors import CausalgenError, EnvironmentSpecError, SpecError
from causalgen.scm.interventions import (
    KINDS,
    Do,
    Intervention,
    Mechanism,
    ScaleNoise,
    Shift,
    apply_all,
    refuse_replaced_do,
    targets,
)
from causalgen.scm.noise import Uniform, parse_distribution

if TYPE_CHECKING:  # SCM's methods call into this module: no import back at run time
    from causalgen.scm.spec import SCM

OBSERVATIONAL = ("obs", "observational")
PER_VARIABLE = "per-variable"
MAX_ENVIRONMENTS = 1024


@dataclass(frozen=True)
class Environment:
    """One regime: its index and the interventions that define it (none: observational)."""

    index: int
    interventions: tuple[Intervention, ...] = ()

    @property
    def text(self) -> str:
        return " & ".join(iv.text() for iv in self.interventions) or "obs"

    @property
    def targets(self) -> tuple[str, ...]:
        return targets(self.interventions)

    def scm(self, base: SCM) -> SCM:
        """The SCM of this environment: ``base`` with the interventions applied in order.

        A do() on a variable that ``base`` (--do) or an earlier intervention here already sets is
        refused: it would silently replace the other (and the file would record both)."""
        try:
            refuse_replaced_do(self.interventions, base, "in this environment",
                               "a do() on the whole file (--do)")
            return apply_all(base, self.interventions)
        except SpecError as exc:
            raise type(exc)(f"environment {self.index}: {exc}") from None

    def record(self, base: SCM) -> dict[str, Any]:
        """The attribute record: text, interventions, targets and graph of the environment (its
        SCM is ``base`` with the interventions applied: :func:`causalgen.truth.environment_scms`)."""
        scm = self.scm(base)
        return {"index": self.index, "text": self.text,
                "interventions": [iv.to_dict() for iv in self.interventions],
                "targets": list(self.targets),
                "adjacency": scm.adjacency(mutilated=True).tolist()}


def _error(message: str, text: str, position: int, option: str = "--environments") -> EnvironmentSpecError:
    return EnvironmentSpecError(f"{option}: {message} (column {position})", text, position)


def _segments(text: str) -> list[tuple[int, str]]:
    """Split on ``;`` outside parentheses; (offset, segment) pairs, offsets 0-based."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise _error("unbalanced ')'", text, i + 1)
        elif ch == ";" and depth == 0:
            out.append((start, text[start:i]))
            start = i + 1
    if depth > 0:
        raise _error("unbalanced '(': a ')' is missing", text, len(text))
    out.append((start, text[start:]))
    return out


def _number(node: ast.expr, src: str) -> float | None:
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign, node = (-sign if isinstance(node.op, ast.USub) else sign), node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        return sign * float(node.value)
    return None


class _Reader:
    """Reads one environment segment; ``offset`` maps its columns into the whole text."""

    def __init__(self, text: str, offset: int, segment: str, option: str = "--environments") -> None:
        self.text, self.offset, self.src, self.option = text, offset, segment, option

    def fail(self, message: str, node: ast.AST | None = None, col: int = 0) -> EnvironmentSpecError:
        col = getattr(node, "col_offset", col) if node is not None else col
        return _error(message, self.text, self.offset + col + 1, self.option)

    def read(self) -> tuple[Intervention, ...]:
        stripped = self.src.strip()
        lead = len(self.src) - len(self.src.lstrip())
        self.offset += lead
        self.src = stripped
        if not stripped:
            raise self.fail("an empty environment (two ';' in a row, or a trailing ';'); "
                            "write 'obs' for the observational one")
        if stripped in OBSERVATIONAL:
            return ()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(stripped, mode="eval").body
        except SyntaxError as exc:
            raise self.fail(f"cannot read {stripped!r} ({exc.msg})", col=max(0, (exc.offset or 1) - 1)) from None
        calls: list[ast.expr] = []
        self._flatten(tree, calls)
        out: list[Intervention] = []
        for call in calls:
            out.extend(self._call(call))
        return tuple(out)

    def _flatten(self, node: ast.expr, out: list[ast.expr]) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            self._flatten(node.left, out)
            self._flatten(node.right, out)
        else:
            out.append(node)

    def _call(self, node: ast.expr) -> list[Intervention]:
        known = ", ".join(f"{k}(...)" for k in KINDS)
        if isinstance(node, ast.Name) and node.id in OBSERVATIONAL:
            raise self.fail("'obs' cannot be combined with interventions", node)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            raise self.fail(f"expected obs or an intervention ({known}), got "
                            f"{ast.get_source_segment(self.src, node)!r}", node)
        name = node.func.id
        if name not in KINDS:
            close = difflib.get_close_matches(name, list(KINDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(f"unknown intervention {name!r}{hint}; known: {known}", node)
        if name == "do":
            if node.args or not node.keywords or any(k.arg is None for k in node.keywords):
                raise self.fail("do() takes VAR=VALUE pairs, e.g. do(light_angle=60) or "
                                "do(light_angle=uniform(40, 60))", node)
            return [Do(k.arg, self._value(k.value)) for k in node.keywords]  # type: ignore[arg-type]
        params = {"shift": "delta", "scale_noise": "factor", "mechanism": "expression"}[name]
        args = list(node.args) + [k.value for k in node.keywords if k.arg == params]
        bad = [k.arg for k in node.keywords if k.arg != params]
        if bad or len(args) != 2 or not isinstance(args[0], ast.Name):
            raise self.fail(f"{name} takes (VAR, {params.upper()}), e.g. {_EXAMPLES[name]}", node)
        var = args[0].id
        if name == "mechanism":
            expr = args[1]
            if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
                return [Mechanism(var, expr.value)]
            return [Mechanism(var, ast.get_source_segment(self.src, expr) or "")]
        value = _number(args[1], self.src)
        if value is None or not math.isfinite(value):
            raise self.fail(f"{name}: {params} must be a number", args[1])
        try:
            return [Shift(var, value) if name == "shift" else ScaleNoise(var, value)]
        except SpecError as exc:
            raise self.fail(str(exc), node) from None

    def _value(self, node: ast.expr) -> Any:
        number = _number(node, self.src)
        if number is not None:
            return number
        text = ast.get_source_segment(self.src, node) or ""
        try:
            return parse_distribution(text)
        except SpecError as exc:
            raise self.fail(str(exc), node) from None


_EXAMPLES = {"shift": "shift(shadow_length, 2.0)", "scale_noise": "scale_noise(light_angle, 0.5)",
             "mechanism": "mechanism(shadow_length, 0.5 * pendulum_angle + noise)"}


def parse_interventions(text: str, option: str = "intervention") -> tuple[Intervention, ...]:
    """One intervention list such as ``"do(x=1) & shift(y, 2)"`` (``obs`` gives none)."""
    return _Reader(text, 0, text, option).read()


def parse_environments(text: str, scm: SCM | None = None) -> tuple[Environment, ...]:
    """Read an ``--environments`` text; with ``scm``, also check each environment against it."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError("--environments needs at least one environment, e.g. 'obs; do(x=1)'.")
    if text.strip() == PER_VARIABLE:
        if scm is None:
            raise SpecError("--environments per-variable needs the SCM to read the variables' ranges.")
        return per_variable(scm)
    envs = tuple(Environment(i, _Reader(text, off, seg).read())
                 for i, (off, seg) in enumerate(_segments(text)))
    if len(envs) > MAX_ENVIRONMENTS:
        raise SpecError(f"--environments: {len(envs)} environments; the limit is {MAX_ENVIRONMENTS}.")
    if scm is not None:
        for env in envs:
            env.scm(scm)  # raises naming the environment, the variable, the cycle
    return envs


PILOT = 4096  # samples of the pilot runs that choose per-variable ranges
_SHRINK = (1.0, 0.75, 0.5, 0.25, 0.1, 0.0)  # from the renderable range toward the observed one


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def per_variable(scm: SCM) -> tuple[Environment, ...]:
    """Observational, then one stochastic do(X = uniform(lo, hi)) per variable.

    [lo, hi] is the widest of the ranges from X's renderable range shrunk toward the range X
    takes observationally (100%, 75%, 50%, 25%, 10%, 0% of the way) whose pilot run (4,096
    samples, fixed seeds: the choice depends on the SCM only) keeps every variable renderable.
    """
    obs = scm.sample(PILOT, np.random.default_rng(0), check_range=False)
    envs = [Environment(0)]
    for i, v in enumerate(scm.variables):
        if v.name in scm.intervention:  # fixed by --do in every environment: nothing to vary
            continue
        lo_o, hi_o = float(obs.values[:, i].min()), float(obs.values[:, i].max())
        if v.mechanism == "noise" and all(map(math.isfinite, v.noise.support)):  # type: ignore[union-attr]
            lo_o, hi_o = v.noise.support  # type: ignore[union-attr]
        lo_r = v.low if math.isfinite(v.low) else lo_o
        hi_r = v.high if math.isfinite(v.high) else hi_o
        if not hi_o > lo_o:  # a constant variable: widen to its renderable range or a unit
            lo_o, hi_o = (lo_r, hi_r) if hi_r > lo_r else (lo_o - 0.5, lo_o + 0.5)
        chosen = None
        for t in _SHRINK:
            lo = max(lo_r, _round(lo_o + t * (lo_r - lo_o)))
            hi = min(hi_r, _round(hi_o + t * (hi_r - hi_o)))
            if not hi > lo:
                continue
            candidate = Do(v.name, Uniform(lo, hi))
            chosen = chosen or candidate
            try:
                candidate.apply(scm).sample(PILOT, np.random.default_rng(1))
            except CausalgenError:  # a descendant leaves its range, or a mechanism gives nan
                continue
            chosen = candidate
            break
        envs.append(Environment(len(envs), (chosen or Do(v.name, Uniform(lo_o, hi_o)),)))
    return tuple(envs)


def environment_sizes(n: int, count: int, sizes: Sequence[int] | str | None = None) -> list[int]:
    """Samples per environment: ``sizes`` (must add up to ``n``) or equal shares of ``n``.

    Equal shares give the first ``n % count`` environments one sample more.
    """
    if sizes is None or (isinstance(sizes, str) and not sizes.strip()):
        if n < count:
            raise SpecError(f"{count} environments need at least {count} samples; --n is {n}.")
        return [n // count + (1 if i < n % count else 0) for i in range(count)]
    if isinstance(sizes, str):
        try:
            sizes = [int(x) for x in sizes.replace(";", ",").split(",")]
        except ValueError:
            raise SpecError(f"--environment-sizes takes integers separated by commas, e.g. "
                            f"'500,500,1000', got {sizes!r}.") from None
    sizes = [int(x) for x in sizes]
    if len(sizes) != count:
        raise SpecError(f"--environment-sizes gives {len(sizes)} sizes for {count} environments.")
    if any(x < 1 for x in sizes):
        raise SpecError(f"--environment-sizes must all be >= 1, got {sizes}.")
    if sum(sizes) != n:
        raise SpecError(f"--environment-sizes add up to {sum(sizes)}, but --n is {n}; make them "
                        "add up to N (or leave --environment-sizes out for equal shares).")
    return sizes


def assignment(sizes: Sequence[int], start: int, stop: int) -> np.ndarray:
    """int32 (stop - start,): the environment of rows [start, stop) (contiguous runs, in order)."""
    bounds = np.cumsum(np.asarray(sizes, dtype=np.int64))
    return np.searchsorted(bounds, np.arange(start, stop), side="right").astype(np.int32)


__all__ = [
    "PER_VARIABLE",
    "Environment",
    "assignment",
    "environment_sizes",
    "parse_environments",
    "parse_interventions",
    "per_variable",
]
