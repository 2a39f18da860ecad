"""Exogenous noise distributions of an SCM, and their canonical text form.

Each variable of a structural causal model draws its exogenous noise from one of these frozen
distributions. A spec file writes a distribution as a call, ``"normal(0, 1)"`` or
``"beta(a=2, b=5, low=-1, high=1)"``, or as a bare number meaning ``constant(value)``;
:func:`parse_distribution` reads that text with ``ast`` (numeric literals, unary minus and the
constants ``pi``, ``e``, ``tau`` only; never ``eval``) and :meth:`Distribution.to_string` writes
the canonical text back, so specs round-trip exactly. Parameters are validated on construction
with a :class:`~causalgen.errors.DistributionError` that names the parameter, its value and the
rule. Sampling takes an explicit ``numpy.random.Generator`` and returns float64 arrays of shape (n,).
"""

from __future__ import annotations

import ast
import difflib
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import numpy as np

from causalgen.errors import DistributionError
from causalgen.scm.truncnormal import pdf, tail, truncated_standard_normal

_REGISTRY: dict[str, type[Distribution]] = {}
DISTRIBUTIONS: Mapping[str, type[Distribution]] = MappingProxyType(_REGISTRY)
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_TEXT = 1000
MIN_TRUNCATED_MASS = 1e-9

_D = TypeVar("_D", bound="Distribution")


def _fmt(value: float) -> str:
    """Shortest text that reads back as the same float; integers without a trailing '.0'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _register(name: str) -> Callable[[type[_D]], type[_D]]:
    def decorate(cls: type[_D]) -> type[_D]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return decorate


@dataclass(frozen=True)
class Distribution:
    """Base class: subclasses declare their parameters as float fields, in signature order."""

    name: ClassVar[str] = ""
    positive: ClassVar[tuple[str, ...]] = ()  # parameters that must be > 0
    lower: ClassVar[float] = -math.inf  # support bound when there is no `low` parameter

    def __post_init__(self) -> None:
        for f in fields(self):
            raw = getattr(self, f.name)
            try:
                if isinstance(raw, bool | np.bool_ | str):
                    raise TypeError
                value = float(raw)
            except (TypeError, ValueError, OverflowError):
                raise DistributionError(f"{self.name}: {f.name} must be a number, "
                                        f"got {raw!r}") from None
            object.__setattr__(self, f.name, value)
        for f in fields(self):
            self._require(math.isfinite(getattr(self, f.name)), f.name, "finite")
        for parameter in self.positive:
            self._require(getattr(self, parameter) > 0, parameter, "> 0")
        low, high = self.support
        if "low" in self.__dataclass_fields__:
            self._require(low < high, "low", f"< high ({_fmt(high)})")
            self._require(math.isfinite(high - low), "high", "a finite distance from low")
        self._validate()

    def _validate(self) -> None:
        """Check the parameter rules of the subclass with :meth:`_require`."""

    def _require(self, ok: bool, parameter: str, rule: str) -> None:
        if not ok:
            raise DistributionError(f"{self.to_string()}: {parameter} must be {rule}, "
                                    f"got {_fmt(getattr(self, parameter))}")

    @classmethod
    def signature(cls) -> str:
        params = [f.name if f.default is MISSING else f"{f.name}={_fmt(f.default)}"
                  for f in fields(cls)]
        return f"{cls.name}({', '.join(params)})"

    def to_string(self) -> str:
        """Canonical text; trailing parameters at their default are left out."""
        params = list(fields(self))
        while params and params[-1].default is not MISSING \
                and _fmt(getattr(self, params[-1].name)) == _fmt(params[-1].default):
            params.pop()
        return f"{self.name}({', '.join(_fmt(getattr(self, f.name)) for f in params)})"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` float64 samples from ``rng``."""
        raise NotImplementedError

    @property
    def support(self) -> tuple[float, float]:
        """(low, high) bounds of the samples; +-inf where unbounded."""
        return (getattr(self, "low", self.lower), getattr(self, "high", math.inf))

    @property
    def mean(self) -> float:
        raise NotImplementedError


@_register("normal")
@dataclass(frozen=True)
class Normal(Distribution):
    positive = ("sigma",)
    mu: float
    sigma: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mu, self.sigma, n)

    @property
    def mean(self) -> float:
        return self.mu


@_register("uniform")
@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return self.low / 2 + self.high / 2


@_register("truncnormal")
@dataclass(frozen=True)
class TruncNormal(Distribution):
    positive = ("sigma",)
    mu: float
    sigma: float
    low: float
    high: float

    def _standard_bounds(self) -> tuple[float, float]:
        # Python floats overflow to +-inf here without raising; the sampler handles infinities.
        return (self.low - self.mu) / self.sigma, (self.high - self.mu) / self.sigma

    def _mass(self) -> float:
        a, b = self._standard_bounds()
        if a >= 0:
            return tail(a) - tail(b)
        if b <= 0:
            return tail(-b) - tail(-a)
        return 1.0 - tail(-a) - tail(b)

    def _validate(self) -> None:
        mass = self._mass()
        if mass < MIN_TRUNCATED_MASS:
            raise DistributionError(
                f"{self.to_string()}: the interval [low, high] holds {mass:.3g} of the normal's "
                f"mass; it must hold at least {MIN_TRUNCATED_MASS:g} (move mu or widen sigma)")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a, b = self._standard_bounds()
        z = truncated_standard_normal(rng, n, a, b, self._mass())
        return np.clip(self.mu + self.sigma * z, self.low, self.high)  # clip float rounding

    @property
    def mean(self) -> float:
        a, b = self._standard_bounds()
        # pdf(a) - pdf(b), factored around the larger density so narrow intervals keep precision
        near, far, sign = (a, b, 1.0) if abs(a) <= abs(b) else (b, a, -1.0)
        if math.isinf(far):
            difference = sign * pdf(near)
        else:
            difference = -sign * pdf(near) * math.expm1((near - far) * (near + far) / 2)
        return self.mu + self.sigma * difference / self._mass()


@_register("lognormal")
@dataclass(frozen=True)
class LogNormal(Distribution):
    positive = ("sigma",)
    lower = 0.0
    mu: float
    sigma: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, n)

    @property
    def mean(self) -> float:
        try:
            return math.exp(self.mu + self.sigma**2 / 2)
        except OverflowError:
            return math.inf


@_register("beta")
@dataclass(frozen=True)
class Beta(Distribution):
    positive = ("a", "b")
    a: float
    b: float
    low: float = 0.0
    high: float = 1.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.clip(self.low + (self.high - self.low) * rng.beta(self.a, self.b, n),
                       self.low, self.high)

    @property
    def mean(self) -> float:
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)


@_register("constant")
@dataclass(frozen=True)
class Constant(Distribution):
    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value, dtype=np.float64)

    @property
    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    @property
    def mean(self) -> float:
        return self.value


@_register("exponential")
@dataclass(frozen=True)
class Exponential(Distribution):
    positive = ("scale",)
    lower = 0.0
    scale: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.scale, n)

    @property
    def mean(self) -> float:
        return self.scale


@_register("bernoulli")
@dataclass(frozen=True)
class Bernoulli(Distribution):
    p: float

    def _validate(self) -> None:
        self._require(0 <= self.p <= 1, "p", "between 0 and 1")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return (rng.random(n) < self.p).astype(np.float64)

    @property
    def support(self) -> tuple[float, float]:
        return (0.0, 1.0)

    @property
    def mean(self) -> float:
        return self.p


@_register("laplace")
@dataclass(frozen=True)
class Laplace(Distribution):
    positive = ("scale",)
    mu: float
    scale: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.laplace(self.mu, self.scale, n)

    @property
    def mean(self) -> float:
        return self.mu


def _number(node: ast.expr, text: str) -> float:
    """A numeric literal or named constant, under any number of unary signs."""
    sign, inner = 1.0, node
    while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub | ast.UAdd):
        sign, inner = (-sign if isinstance(inner.op, ast.USub) else sign), inner.operand
    if isinstance(inner, ast.Name) and inner.id in CONSTANTS:
        return sign * CONSTANTS[inner.id]
    if isinstance(inner, ast.Constant) and isinstance(inner.value, int | float) \
            and not isinstance(inner.value, bool):
        try:
            return sign * float(inner.value)  # float first, so "-0" reads back as -0.0
        except OverflowError:
            return sign * math.inf  # refused as not finite by the distribution
    found = ast.get_source_segment(text, node) or type(node).__name__
    raise DistributionError(f"{text!r}: expected a number (a literal, optionally negative, "
                            f"or pi / e / tau), got {found!r}")


def parse_distribution(text: str | float | int) -> Distribution:
    """Read ``"normal(0, 1)"``, ``"normal(mu=0, sigma=1)"`` or a bare number (a constant)."""
    if isinstance(text, int | float | np.integer | np.floating) and not isinstance(text, bool):
        return Constant(text)  # type: ignore[arg-type]  # converted and checked on construction
    if not isinstance(text, str):
        raise DistributionError(f"a distribution must be text or a number, got {text!r}")
    if len(text) > MAX_TEXT:
        raise DistributionError(f"distribution text is {len(text)} characters; "
                                f"the limit is {MAX_TEXT}")
    source = " ".join(text.split())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError, ValueError, OverflowError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else "malformed"
        raise DistributionError(f"cannot parse distribution {text!r} ({reason}); "
                                "expected a call like 'normal(0, 1)' or a number") from None
    if not isinstance(tree, ast.Call):
        if not isinstance(tree, ast.Constant | ast.UnaryOp | ast.Name):
            raise DistributionError(f"cannot read {text!r} as a distribution; expected a call "
                                    "like 'normal(0, 1)' or a number")
        return Constant(_number(tree, source))
    if not isinstance(tree.func, ast.Name):
        raise DistributionError(f"{text!r}: expected a distribution name before '('")
    cls = DISTRIBUTIONS.get(tree.func.id)
    if cls is None:
        close = difflib.get_close_matches(tree.func.id, list(DISTRIBUTIONS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DistributionError(f"unknown distribution '{tree.func.id}'{hint}; known "
                                f"distributions: {', '.join(sorted(DISTRIBUTIONS))}")
    params = [f.name for f in fields(cls)]
    required = [f.name for f in fields(cls) if f.default is MISSING]

    def wrong(problem: str) -> DistributionError:
        return DistributionError(f"{text!r}: {problem}; the signature is {cls.signature()}")

    if any(isinstance(arg, ast.Starred) for arg in tree.args):
        raise wrong("starred arguments are not allowed")
    if len(tree.args) > len(params):
        raise wrong(f"{len(tree.args)} arguments given, at most {len(params)} accepted")
    values: dict[str, Any] = {p: _number(a, source) for p, a in zip(params, tree.args, strict=False)}
    for keyword in tree.keywords:
        if keyword.arg not in params:
            raise wrong(f"unknown parameter '{keyword.arg or '**'}'")
        if keyword.arg in values:
            raise wrong(f"parameter '{keyword.arg}' given twice")
        values[keyword.arg] = _number(keyword.value, source)
    missing = [p for p in required if p not in values]
    if missing:
        raise wrong(f"missing {', '.join(missing)}")
    return cls(**values)
