"""Structural causal models: variables, mechanisms, noise; sampling, do and counterfactuals.

An :class:`SCM` is a frozen tuple of :class:`Variable` s (defined in :mod:`causalgen.scm.variable`).
A variable's mechanism is an expression in the safe language of :mod:`causalgen.scm.expr` (or,
from trusted Python code, a callable with declared parents); its parents are the variables the
expression names, and the graph they form must be a DAG. Each variable receives exogenous noise
from its own distribution; noise is drawn for every variable in declaration order, so the same
seed gives the same noise whatever is intervened on: an interventional dataset and an
observational one with the same seed are counterfactual twins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from causalgen.errors import RenderRangeError, SpecError
from causalgen.limits import MAX_VARIABLES
from causalgen.scm.expr import Expression, compile_expression
from causalgen.scm.noise import Constant, Distribution, parse_distribution
from causalgen.scm.variable import RESERVED, Samples, Variable, did_you_mean

InterventionValue = float | Distribution
def _normalise_intervention(value: Any, name: str) -> InterventionValue:
    if isinstance(value, Distribution):
        return value
    if isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise SpecError(f"do({name}={value}): the value must be finite.")
        return float(value)
    if isinstance(value, str):
        dist = parse_distribution(value)
        return dist.value if isinstance(dist, Constant) else dist
    raise SpecError(f"do({name}=...): expected a number or a distribution, got {value!r}.")


def intervention_to_json(intervention: Mapping[str, InterventionValue]) -> dict[str, Any]:
    return {k: (v.to_string() if isinstance(v, Distribution) else float(v)) for k, v in intervention.items()}


@dataclass(frozen=True)
class SCM:
    """A validated structural causal model over ``variables`` (a DAG)."""

    variables: tuple[Variable, ...]
    functions: Mapping[str, Callable[..., np.ndarray]] = field(default_factory=dict, compare=False, repr=False)
    scene: str | None = None
    name: str = ""
    intervention: Mapping[str, InterventionValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", tuple(self.variables))
        names = [v.name for v in self.variables]
        if not names:
            raise SpecError("an SCM needs at least one variable.")
        if len(names) > MAX_VARIABLES:
            raise SpecError(f"an SCM has {len(names)} variables; the limit is {MAX_VARIABLES}.")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"variable names must be unique; repeated: {', '.join(dup)}.")
        # A name may be both a variable and a function: called, it is the function.
        compiled: dict[str, Expression | Callable] = {}
        for v in self.variables:
            for p in v.parents or ():
                if p not in names:
                    raise SpecError(
                        f"variable {v.name!r}: its mechanism names unknown variable {p!r}"
                        f"{did_you_mean(p, names)}; known variables: {', '.join(names)}."
                    )
            if v.name in (v.parents or ()):
                raise SpecError(f"variable {v.name!r}: its mechanism reads itself (a self-loop).")
            if isinstance(v.mechanism, str):
                # x[t-1] may read any variable: a temporal SCM (causalgen.scm.temporal)
                compiled[v.name] = compile_expression(v.mechanism, names, self.functions,
                                                      lags=names)
            else:
                compiled[v.name] = v.mechanism
        inter = {}
        for k, val in dict(self.intervention).items():
            if k not in names:
                raise SpecError(f"cannot intervene on unknown variable {k!r}{did_you_mean(k, names)}.")
            inter[k] = _normalise_intervention(val, k)
        object.__setattr__(self, "intervention", inter)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_order", self._toposort())

    # -- structure ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise SpecError(f"unknown variable {name!r}{did_you_mean(name, self.names)}.")

    def parents(self, name: str) -> tuple[str, ...]:
        return tuple(self.variable(name).parents or ())

    def lagged_parents(self, name: str) -> frozenset[str]:
        """Variables that ``name``'s mechanism reads at the previous step (``x[t-1]``)."""
        self.variable(name)
        return getattr(self._compiled[name], "lagged", frozenset())  # type: ignore[attr-defined]

    @property
    def is_dynamic(self) -> bool:
        """True when some mechanism reads the previous step: sample it as sequences."""
        return any(self.lagged_parents(n) for n in self.names)

    def lagged_adjacency(self, mutilated: bool = False) -> np.ndarray:
        """int8 (V, V), L[i, j] = 1 for an edge from variable i at t-1 to variable j at t."""
        names = self.names
        adj = np.zeros((len(names), len(names)), dtype=np.int8)
        for j, v in enumerate(self.variables):
            if mutilated and v.name in self.intervention:
                continue
            for p in self.lagged_parents(v.name):
                adj[names.index(p), j] = 1
        return adj

    def _toposort(self) -> tuple[int, ...]:
        """Kahn's algorithm, stable in declaration order; a cycle is named in the error."""
        idx = {n: i for i, n in enumerate(self.names)}
        indeg = [len(v.parents or ()) for v in self.variables]
        children: list[list[int]] = [[] for _ in self.variables]
        for j, v in enumerate(self.variables):
            for p in v.parents or ():
                children[idx[p]].append(j)
        ready = [i for i, d in enumerate(indeg) if d == 0]
        order: list[int] = []
        while ready:
            i = min(ready)
            ready.remove(i)
            order.append(i)
            for j in children[i]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    ready.append(j)
        if len(order) < len(self.variables):
            raise SpecError(f"the graph has a cycle: {' -> '.join(self._find_cycle(set(order)))}.")
        return tuple(order)

    def _find_cycle(self, done: set[int]) -> list[str]:
        left = {v.name: [p for p in v.parents or () if self.names.index(p) not in done]
                for i, v in enumerate(self.variables) if i not in done}
        node, path = next(iter(left)), []
        while node not in path:
            path.append(node)
            node = left[node][0]
        cycle = [*path[path.index(node):], node]
        return cycle[::-1]  # parent -> child order

    @property
    def order(self) -> tuple[str, ...]:
        """Variable names in a topological order (parents before children)."""
        return tuple(self.names[i] for i in self._order)  # type: ignore[attr-defined]

    def adjacency(self, mutilated: bool = False) -> np.ndarray:
        """int8 (V, V), A[i, j] = 1 for an edge i -> j; ``mutilated`` cuts edges into do-targets."""
        names = self.names
        adj = np.zeros((len(names), len(names)), dtype=np.int8)
        for j, v in enumerate(self.variables):
            if mutilated and v.name in self.intervention:
                continue
            for p in v.parents or ():
                adj[names.index(p), j] = 1
        return adj

    def descendants(self, targets: Iterable[str]) -> set[str]:
        """Strict descendants of ``targets`` in the (unmutilated) graph."""
        children: dict[str, list[str]] = {n: [] for n in self.names}
        for v in self.variables:
            for p in v.parents or ():
                children[p].append(v.name)
        seen: set[str] = set()
        stack = list(targets)
        while stack:
            for c in children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    # -- interventions -----------------------------------------------------------------------
    def do(self, **values: float | Distribution | str) -> SCM:
        """A new SCM with ``values`` forced: a number (hard) or a distribution (stochastic)."""
        return replace(self, intervention={**self.intervention, **values})

    def observational(self) -> SCM:
        """This SCM without any intervention (hard ones; soft ones live in the mechanisms)."""
        return replace(self, intervention={})

    # Soft interventions (causalgen.scm.interventions, imported late: it builds on this module).
    def shift(self, name: str, delta: float) -> SCM:
        """A new SCM where ``name``'s mechanism gives its value plus ``delta`` (parents kept)."""
        from causalgen.scm.interventions import Shift

        return Shift(name, delta).apply(self)

    def scale_noise(self, name: str, factor: float) -> SCM:
        """A new SCM where ``name``'s noise enters as ``mean + factor * (noise - mean)``."""
        from causalgen.scm.interventions import ScaleNoise

        return ScaleNoise(name, factor).apply(self)

    def replace_mechanism(self, name: str, expression: str) -> SCM:
        """A new SCM where ``name`` follows ``expression``; its parents are the names it reads."""
        from causalgen.scm.interventions import Mechanism

        return Mechanism(name, expression).apply(self)

    def intervene(self, interventions: Any) -> SCM:
        """A new SCM under intervention records or their text, e.g.
        ``"shift(y, 2) & do(x=uniform(0, 1))"``, applied in order. A do() on a variable that an
        earlier one in the list, or a do() this SCM already has, sets is refused (it would
        silently replace it); :meth:`do` is the way to replace a value on purpose."""
        from causalgen.scm.environments import parse_interventions
        from causalgen.scm.interventions import apply_all, refuse_replaced_do

        ivs = parse_interventions(interventions) if isinstance(interventions, str) else interventions
        ivs = list(ivs)
        refuse_replaced_do(ivs, self, "in this list", "a do() on this SCM")
        return apply_all(self, ivs)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Canonical dict: format tag, name, scene, variables in order, intervention."""
        return {
            "format": "causalgen-scm",
            "version": 1,
            "name": self.name,
            "scene": self.scene,
            "variables": [v.to_dict() for v in self.variables],
            "intervention": intervention_to_json(self.intervention),
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace; equal SCMs give equal strings."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any],
                  functions: Mapping[str, Callable[..., np.ndarray]] | None = None,
                  defaults: SCM | None = None) -> SCM:
        """Rebuild from :meth:`to_dict`. Python mechanisms cannot be stored; they are taken from
        the same-named variable of ``defaults`` (the scene's own SCM) when its callable matches."""
        if d.get("format") != "causalgen-scm":
            raise SpecError("not a causalgen SCM document (missing format 'causalgen-scm').")
        if int(d.get("version", 0)) > 1:
            raise SpecError(f"SCM document version {d.get('version')} is newer than this causalgen reads.")
        variables = []
        for v in d["variables"]:
            mech = v.get("mechanism")
            if isinstance(mech, dict) and defaults is not None and v.get("name") in defaults.names:
                default = defaults.variable(v["name"])
                if default.to_dict()["mechanism"] == mech:
                    variables.append(replace(Variable.from_dict({**v, "mechanism": "noise"}),
                                             mechanism=default.mechanism, parents=default.parents))
                    continue
            variables.append(Variable.from_dict(v))
        return cls(
            variables=tuple(variables),
            functions=dict(functions or {}),
            scene=d.get("scene"),
            name=d.get("name", ""),
            intervention=dict(d.get("intervention") or {}),
        )

    @classmethod
    def from_json(cls, text: str,
                  functions: Mapping[str, Callable[..., np.ndarray]] | None = None,
                  defaults: SCM | None = None) -> SCM:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"SCM JSON does not parse: {exc}") from None
        return cls.from_dict(d, functions, defaults)

    # -- sampling ----------------------------------------------------------------------------
    def sample_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Exogenous noise (n, V), drawn variable by variable in declaration order."""
        if n < 0:
            raise SpecError(f"the number of samples must be >= 0, got {n}.")
        noise = np.empty((n, len(self.variables)))
        for i, v in enumerate(self.variables):
            noise[:, i] = v.noise.sample(rng, n)
        return noise

    def sample(self, n: int, rng: np.random.Generator, *, clip: bool = False,
               check_range: bool = True) -> Samples:
        """Draw n samples. Intervention values that are distributions are drawn after all noise.

        A temporal SCM (:attr:`is_dynamic`) gives its first step, t = 0, whose lagged reads take
        the initial values (:func:`causalgen.scm.temporal.sample_sequences` with one step)."""
        if self.is_dynamic:
            from causalgen.scm.temporal import sample_sequences  # temporal builds on this module

            return sample_sequences(self, n, 1, rng, clip=clip, check_range=check_range).frame(0)
        noise = self.sample_noise(n, rng)
        forced = {k: (v.sample(rng, n) if isinstance(v, Distribution) else np.full(n, v))
                  for k, v in sorted(self.intervention.items())}
        values = self._evaluate(noise, forced, recompute=None, factual=None, clip=clip,
                                check_range=check_range)
        return Samples(self.names, values, noise)

    def counterfactual(self, samples: Samples, rng: np.random.Generator | None = None, *,
                       clip: bool = False, check_range: bool = True,
                       **intervention: float | Distribution | str) -> Samples:
        """The same units (same exogenous noise) under ``intervention``.

        Variables that are not descendants of the intervened ones keep their factual values;
        descendants are recomputed by their mechanisms with their own recorded noise.
        """
        if not intervention:
            raise SpecError("a counterfactual needs at least one intervention, e.g. x=1.0.")
        new = self.do(**intervention)
        n = len(samples)
        forced: dict[str, np.ndarray] = {}
        for k in sorted(intervention):
            v = new.intervention[k]
            if isinstance(v, Distribution):
                if rng is None:
                    raise SpecError(f"counterfactual do({k}={v.to_string()}) is stochastic; pass an rng.")
                forced[k] = v.sample(rng, n)
            else:
                forced[k] = np.full(n, v)
        return self.counterfactual_columns(samples, forced, clip=clip, check_range=check_range)

    def counterfactual_columns(self, samples: Samples, forced: Mapping[str, np.ndarray], *,
                               clip: bool = False, check_range: bool = True) -> Samples:
        """Counterfactual with one forced value per sample: ``forced`` maps names to (n,) arrays."""
        if samples.names != self.names:
            raise SpecError("samples do not belong to this SCM (variable names differ).")
        for k in forced:
            self.variable(k)  # names an unknown variable clearly
        n = len(samples)
        cols = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for k, v in forced.items()}
        recompute = self.descendants(cols) - set(self.intervention)
        values = self._evaluate(samples.noise, cols, recompute=recompute, factual=samples.values,
                                clip=clip, check_range=check_range)
        return Samples(self.names, values, samples.noise)

    def _evaluate(self, noise: np.ndarray, forced: Mapping[str, np.ndarray], *,
                  recompute: set[str] | None, factual: np.ndarray | None, clip: bool,
                  check_range: bool) -> np.ndarray:
        n = noise.shape[0]
        values = np.empty_like(noise) if factual is None else factual.astype(np.float64, copy=True)
        env: dict[str, np.ndarray] = {}
        for i in self._order:  # type: ignore[attr-defined]
            v = self.variables[i]
            if v.name in forced:
                col = forced[v.name]
            elif recompute is not None and v.name not in recompute:
                col = values[:, i]
            else:
                col = self._mechanism(v, env, noise[:, i], n)
            col = self._range(v, col, clip, check_range)
            values[:, i] = col
            env[v.name] = values[:, i]
        return values

    def _mechanism(self, v: Variable, env: dict[str, np.ndarray], noise: np.ndarray, n: int) -> np.ndarray:
        fn = self._compiled[v.name]  # type: ignore[attr-defined]
        if isinstance(fn, Expression):
            out = fn({**env, "noise": noise}, n)
        else:
            with np.errstate(all="ignore"):
                out = np.broadcast_to(np.asarray(fn(noise, **{p: env[p] for p in v.parents or ()}),
                                                 dtype=np.float64), (n,))
        bad = ~np.isfinite(out)
        if bad.any():
            raise SpecError(
                f"the mechanism of {v.name!r} ({v.mechanism if isinstance(v.mechanism, str) else 'python'}) "
                f"gave {int(bad.sum())} non-finite values out of {n}; check divisions, logs and powers."
            )
        return out

    @staticmethod
    def _range(v: Variable, col: np.ndarray, clip: bool, check_range: bool) -> np.ndarray:
        if not check_range or (np.isinf(v.low) and np.isinf(v.high)):
            return col
        if clip:
            return np.clip(col, v.low, v.high)
        out = (col < v.low) | (col > v.high)
        if out.any():
            raise RenderRangeError(
                f"{int(out.sum())} of {len(col)} samples of {v.name!r} fall outside its renderable "
                f"range [{v.low:g}, {v.high:g}] (seen {col.min():.4g} .. {col.max():.4g}); narrow its "
                "noise or mechanism, or pass --clip to clip values to the range."
            )
        return col


# Variable, Samples and did_you_mean live in causalgen.scm.variable; importable from here too.
__all__ = ["RESERVED", "SCM", "InterventionValue", "Samples", "Variable", "did_you_mean",
           "intervention_to_json"]
