"""Hard, stochastic and soft interventions on an SCM, as values: apply them, record them, undo nothing.

An intervention is a frozen record naming one variable: :class:`Do` forces a value or a
distribution (the edges into the variable are cut); the soft ones keep the variable's parents
and change how it responds to them: :class:`Shift` adds ``delta`` to its mechanism,
:class:`ScaleNoise` scales its exogenous noise by ``factor`` about the noise's mean (the spread
changes, the location does not: the mechanism reads ``mean + factor * (noise - mean)``), and
:class:`Mechanism` replaces its mechanism by a new expression in the safe language (the graph
changes to the parents that expression names; a cycle is refused). ``apply`` returns a new SCM,
like :meth:`SCM.do`; the drawn noise is unchanged, so units keep their exogenous noise across
interventions (counterfactual twins). :func:`counterfactual` gives the same units under a list
of interventions, recomputing only the targets and their descendants from the recorded noise.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from causalgen.errors import SpecError
from causalgen.scm.expr import compile_expression
from causalgen.scm.noise import Constant, Distribution, parse_distribution
from causalgen.scm.variable import Samples, Variable, did_you_mean

if TYPE_CHECKING:  # SCM's methods call into this module: no import back at run time
    from causalgen.scm.spec import SCM


def _fmt(value: float) -> str:
    return repr(float(value))


@dataclass(frozen=True)
class Intervention:
    """Base record: the target ``variable``; subclasses hold their parameter."""

    variable: str
    kind: ClassVar[str] = ""
    hard: ClassVar[bool] = False  # cuts the edges into the target

    def text(self) -> str:
        """Canonical text, readable back by :func:`causalgen.scm.environments.parse_interventions`."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def apply(self, scm: SCM) -> SCM:
        """A new SCM with this intervention applied."""
        raise NotImplementedError

    def _target(self, scm: SCM) -> Variable:
        if self.variable not in scm.names:
            raise SpecError(f"{self.text()}: unknown variable {self.variable!r}"
                            f"{did_you_mean(self.variable, scm.names)}; known variables: "
                            f"{', '.join(scm.names)}.")
        if self.variable in scm.intervention:
            raise SpecError(f"{self.text()}: {self.variable!r} is already set by do(), so a soft "
                            "intervention on it would have no effect; drop one of the two.")
        return scm.variable(self.variable)


@dataclass(frozen=True)
class Do(Intervention):
    """do(variable = value): a number (hard) or a distribution (stochastic)."""

    value: float | Distribution = 0.0
    kind: ClassVar[str] = "do"
    hard: ClassVar[bool] = True

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, str):
            value = parse_distribution(value)
        if isinstance(value, Constant):
            value = value.value
        if not isinstance(value, Distribution):
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise SpecError(f"do({self.variable}=...): expected a number or a distribution, "
                                f"got {value!r}.")
            if not math.isfinite(value):
                raise SpecError(f"do({self.variable}={value}): the value must be finite.")
            value = float(value)
        object.__setattr__(self, "value", value)

    def value_text(self) -> str:
        return self.value.to_string() if isinstance(self.value, Distribution) else _fmt(self.value)

    def text(self) -> str:
        return f"do({self.variable}={self.value_text()})"

    def to_dict(self) -> dict[str, Any]:
        v = self.value.to_string() if isinstance(self.value, Distribution) else self.value
        return {"kind": self.kind, "variable": self.variable, "value": v}

    def apply(self, scm: SCM) -> SCM:
        if self.variable not in scm.names:
            raise SpecError(f"{self.text()}: unknown variable {self.variable!r}"
                            f"{did_you_mean(self.variable, scm.names)}.")
        return scm.do(**{self.variable: self.value})


def _wrap(fn: Callable[..., np.ndarray], before: Callable[[np.ndarray], np.ndarray] | None,
          after: Callable[[np.ndarray], np.ndarray] | None) -> Callable[..., np.ndarray]:
    """A Python mechanism with its noise transformed before, or its output after (trusted code)."""
    def mechanism(noise: np.ndarray, **parents: np.ndarray) -> np.ndarray:
        out = fn(before(noise) if before else noise, **parents)
        return after(np.asarray(out, dtype=np.float64)) if after else out
    mechanism.__qualname__ = f"{getattr(fn, '__qualname__', 'mechanism')}[soft]"
    mechanism.__module__ = getattr(fn, "__module__", "?")
    return mechanism


def _with_variable(scm: SCM, new: Variable) -> SCM:
    return replace(scm, variables=tuple(new if v.name == new.name else v for v in scm.variables))


@dataclass(frozen=True)
class Shift(Intervention):
    """shift(variable, delta): the mechanism's output plus ``delta`` (parents kept)."""

    delta: float = 0.0
    kind: ClassVar[str] = "shift"

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", _finite(self.delta, f"shift({self.variable}, ...)"))

    def text(self) -> str:
        return f"shift({self.variable}, {_fmt(self.delta)})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "variable": self.variable, "delta": self.delta}

    def apply(self, scm: SCM) -> SCM:
        v = self._target(scm)
        d = self.delta
        if callable(v.mechanism):
            return _with_variable(scm, replace(v, mechanism=_wrap(v.mechanism, None, lambda x: x + d)))
        return _with_variable(scm, replace(v, mechanism=f"({v.mechanism}) + ({_fmt(d)})", parents=None))


class _NoiseRewriter(ast.NodeTransformer):
    def __init__(self, replacement: ast.expr) -> None:
        self.replacement = replacement

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.replacement if node.id == "noise" else node


@dataclass(frozen=True)
class ScaleNoise(Intervention):
    """scale_noise(variable, factor): the noise enters as ``mean + factor * (noise - mean)``."""

    factor: float = 1.0
    kind: ClassVar[str] = "scale_noise"

    def __post_init__(self) -> None:
        factor = _finite(self.factor, f"scale_noise({self.variable}, ...)")
        if factor < 0:
            raise SpecError(f"scale_noise({self.variable}, {factor}): the factor must be >= 0.")
        object.__setattr__(self, "factor", factor)

    def text(self) -> str:
        return f"scale_noise({self.variable}, {_fmt(self.factor)})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "variable": self.variable, "factor": self.factor}

    def apply(self, scm: SCM) -> SCM:
        v = self._target(scm)
        mean, k = float(v.noise.mean), self.factor  # type: ignore[union-attr]
        if callable(v.mechanism):
            return _with_variable(scm, replace(v, mechanism=_wrap(
                v.mechanism, lambda u: mean + k * (u - mean), None)))
        new = ast.parse(f"({_fmt(mean)} + {_fmt(k)} * (noise - {_fmt(mean)}))", mode="eval").body
        tree = _NoiseRewriter(new).visit(ast.parse(" ".join(v.mechanism.split()), mode="eval"))
        return _with_variable(scm, replace(v, mechanism=ast.unparse(tree), parents=None))


@dataclass(frozen=True)
class Mechanism(Intervention):
    """mechanism(variable, expression): a new mechanism; its parents are the names it reads."""

    expression: str = "noise"
    kind: ClassVar[str] = "mechanism"

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str) or not self.expression.strip():
            raise SpecError(f"mechanism({self.variable}, ...): the mechanism must be a non-empty "
                            "expression text.")
        object.__setattr__(self, "expression", " ".join(self.expression.split()))

    def text(self) -> str:
        return f"mechanism({self.variable}, {self.expression})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "variable": self.variable, "expression": self.expression}

    def apply(self, scm: SCM) -> SCM:
        v = self._target(scm)
        try:
            return _with_variable(scm, replace(v, mechanism=self.expression, parents=None))
        except SpecError as exc:
            raise type(exc)(f"{self.text()}: {exc}") from None


KINDS: Mapping[str, type[Intervention]] = {c.kind: c for c in (Do, Shift, ScaleNoise, Mechanism)}


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not math.isfinite(value):
        raise SpecError(f"{where}: expected a finite number, got {value!r}.")
    return float(value)


def from_dict(d: Mapping[str, Any]) -> Intervention:
    """Rebuild an intervention from :meth:`Intervention.to_dict` (the file's records)."""
    cls = KINDS.get(str(d.get("kind")))
    if cls is None:
        raise SpecError(f"unknown intervention kind {d.get('kind')!r}; known: {', '.join(KINDS)}.")
    params = {k: v for k, v in d.items() if k != "kind"}
    try:
        return cls(**params)
    except TypeError:
        raise SpecError(f"intervention record {dict(d)} has the wrong fields for {cls.kind}.") from None


def refuse_replaced_do(interventions: Sequence[Intervention], base: SCM, scope: str,
                       base_do: str) -> None:
    """SpecError for a do() on a variable that an earlier intervention in ``interventions``
    (``scope``: where they come from) or a do() already in ``base`` (``base_do``) sets: applied
    in order, it would silently replace the other."""
    for i, iv in enumerate(interventions):
        if not isinstance(iv, Do):
            continue
        earlier = [e.text() for e in interventions[:i] if e.variable == iv.variable]
        if earlier or iv.variable in base.intervention:
            where = f"an earlier {earlier[0]} {scope}" if earlier else base_do
            raise SpecError(f"{iv.text()}: {iv.variable!r} already has {where}, which this do() "
                            "would silently replace; give each variable one intervention.")


def apply_all(scm: SCM, interventions: Iterable[Intervention]) -> SCM:
    """Apply ``interventions`` in order; each is checked against the SCM as it then stands."""
    for iv in interventions:
        scm = iv.apply(scm)
    return scm


def targets(interventions: Iterable[Intervention]) -> tuple[str, ...]:
    """The intervened variables, in first-mention order."""
    return tuple(dict.fromkeys(iv.variable for iv in interventions))


def _mechanism_column(scm: SCM, name: str, s: Samples) -> np.ndarray:
    """Evaluate ``name``'s mechanism of ``scm`` on the values and recorded noise of ``s``."""
    v, n = scm.variable(name), len(s)
    noise = s.noise[:, s.names.index(name)]
    env = {p: s[p] for p in v.parents or ()}
    if callable(v.mechanism):
        with np.errstate(all="ignore"):
            out = np.broadcast_to(np.asarray(v.mechanism(noise, **env), dtype=np.float64), (n,))
    else:
        out = compile_expression(v.mechanism, scm.names, scm.functions)({**env, "noise": noise}, n)
    if not np.isfinite(out).all():
        raise SpecError(f"the mechanism of {name!r} ({v.mechanism if isinstance(v.mechanism, str) else 'python'}) "
                        "gave non-finite values in the counterfactual; check divisions, logs and powers.")
    return np.array(out, dtype=np.float64)


def counterfactual(scm: SCM, samples: Samples, interventions: Sequence[Intervention],
                   rng: np.random.Generator | None = None, *, clip: bool = False,
                   check_range: bool = True) -> tuple[SCM, Samples]:
    """The units of ``samples`` (drawn from ``scm``) under ``interventions``, applied in order.

    Each step keeps the exogenous noise: a do forces its value; a soft intervention recomputes
    its target from the target's (current) parents and recorded noise under the changed
    mechanism; then the target's descendants are recomputed. Returns the intervened SCM and
    the counterfactual samples.
    """
    if not interventions:
        raise SpecError("a counterfactual needs at least one intervention.")
    current, s = scm, samples
    for iv in interventions:
        new = iv.apply(current)
        if isinstance(iv, Do):
            if isinstance(iv.value, Distribution):
                if rng is None:
                    raise SpecError(f"counterfactual {iv.text()} is stochastic; pass an rng.")
                col = iv.value.sample(rng, len(s))
            else:
                col = np.full(len(s), iv.value)
            s = current.counterfactual_columns(s, {iv.variable: col}, clip=clip, check_range=check_range)
        else:
            col = _mechanism_column(new, iv.variable, s)
            s = new.counterfactual_columns(s, {iv.variable: col}, clip=clip, check_range=check_range)
        current = new
    return current, s


__all__ = ["KINDS", "Do", "Intervention", "Mechanism", "ScaleNoise", "Shift", "apply_all",
           "counterfactual", "from_dict", "refuse_replaced_do", "targets"]
