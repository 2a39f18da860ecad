"""Variables of a structural causal model, and the samples drawn from one.

A :class:`Variable` is a frozen record of a name, unit, renderable range, mechanism (an
expression in :mod:`causalgen.scm.expr`, or a trusted Python callable with declared parents) and
a noise distribution; it derives its parents from the expression and round-trips through JSON.
:class:`Samples` holds n sampled values and the exogenous noise behind them, columns in the SCM's
variable order. :func:`did_you_mean` is the "did you mean" hint every layer's errors share.
"""

from __future__ import annotations

import difflib
import keyword
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causalgen.errors import SpecError
from causalgen.scm.expr import referenced_names
from causalgen.scm.noise import Distribution, parse_distribution

RESERVED = frozenset({"noise", "pi", "e", "tau"})


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Variable:
    """One variable: name, unit, renderable range [low, high], mechanism, noise.

    ``mechanism`` is an expression text (parents derived from it) or, for trusted Python code, a
    callable ``f(noise, **parents) -> array`` with ``parents`` declared explicitly. ``init`` is
    the distribution of the initial value a temporal SCM reads as ``name[t-1]`` at t = 0 (None:
    the noise distribution; see :mod:`causalgen.scm.temporal`).
    """

    name: str
    mechanism: str | Callable[..., np.ndarray] = "noise"
    noise: Distribution | str | float = 0.0
    unit: str = ""
    low: float = float("-inf")
    high: float = float("inf")
    parents: tuple[str, ...] | None = None
    description: str = ""
    init: Distribution | str | float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier() or keyword.iskeyword(self.name):
            raise SpecError(f"variable name {self.name!r} is not a valid identifier (letters, digits, _).")
        normal = unicodedata.normalize("NFKC", self.name)
        if normal != self.name:  # Python (and so the expression parser) reads names as NFKC
            raise SpecError(f"variable name {self.name!r} changes under Unicode normalisation "
                            f"(expressions read it as {normal!r}); name it {normal!r}.")
        if self.name in RESERVED or self.name.startswith("_"):
            raise SpecError(f"variable name {self.name!r} is reserved; rename the variable.")
        if not isinstance(self.noise, Distribution):
            object.__setattr__(self, "noise", parse_distribution(self.noise))
        if self.init is not None and not isinstance(self.init, Distribution):
            object.__setattr__(self, "init", parse_distribution(self.init))
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        if not self.low < self.high:
            raise SpecError(f"variable {self.name!r}: range low={self.low} must be < high={self.high}.")
        if callable(self.mechanism):
            if self.parents is None:
                raise SpecError(
                    f"variable {self.name!r}: a Python callable mechanism needs parents=(...) declared."
                )
            object.__setattr__(self, "parents", tuple(self.parents))
        elif isinstance(self.mechanism, str):
            object.__setattr__(self, "parents", tuple(sorted(referenced_names(self.mechanism))))
        else:
            raise SpecError(f"variable {self.name!r}: mechanism must be an expression string.")

    def to_dict(self) -> dict[str, Any]:
        mech = self.mechanism
        if callable(mech):
            mech = {"python": f"{getattr(mech, '__module__', '?')}:{getattr(mech, '__qualname__', '?')}",
                    "parents": list(self.parents or ())}
        out = {
            "name": self.name,
            "unit": self.unit,
            "low": None if np.isinf(self.low) else self.low,
            "high": None if np.isinf(self.high) else self.high,
            "mechanism": mech,
            "noise": self.noise.to_string(),
            "description": self.description,
        }
        if self.init is not None:  # only temporal specs carry it: still files' JSON is unchanged
            out["init"] = self.init.to_string()  # type: ignore[union-attr]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Variable:
        mech = d.get("mechanism", "noise")
        if isinstance(mech, dict):
            raise SpecError(
                f"variable {d.get('name')!r} has a Python mechanism ({mech.get('python')}); it can "
                "only be rebuilt by the scene that registered it, not from JSON."
            )
        low, high = d.get("low"), d.get("high")
        return cls(
            name=d["name"],
            mechanism=mech,
            noise=d.get("noise", 0.0),
            unit=d.get("unit", ""),
            low=float("-inf") if low is None else low,
            high=float("inf") if high is None else high,
            description=d.get("description", ""),
            init=d.get("init"),
        )


@dataclass(frozen=True)
class Samples:
    """Values and exogenous noise of n samples, columns in the SCM's variable order."""

    names: tuple[str, ...]
    values: np.ndarray  # (n, V) float64
    noise: np.ndarray  # (n, V) float64

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {n: self.values[:, i] for i, n in enumerate(self.names)}


__all__ = ["RESERVED", "Samples", "Variable", "did_you_mean"]
