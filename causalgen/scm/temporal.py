"""Temporal SCMs: sequences of T steps in which mechanisms also read the previous step.

A mechanism may read a variable at the previous step with the lag syntax ``temp[t-1]``
(:mod:`causalgen.scm.expr`); its plain names are its instantaneous parents, as in a still SCM.
The instantaneous graph must be a DAG; lagged edges may form any pattern (``x[t-1] -> x`` is
how a variable keeps state). Each step is evaluated in the instantaneous topological order,
vectorised over the sequences of a block.

**Initial values.** At t = 0 a lagged read ``x[t-1]`` reads ``x``'s *initial value*, drawn once
per sequence from ``x``'s ``init`` distribution, or from its noise distribution when it
declares none. The mechanisms hold at every step, t = 0 included; the initial values are stored
(``init``, (N, V), NaN for variables that nothing reads lagged) so that every label can be
recomputed from the file.

**Randomness**, per block, in this order: initial values (variables read lagged, declaration
order), then for each step: the noise of every variable (declaration order), the values of
stochastic do() interventions (sorted by name), and, with an intervention rate P > 0, the
per-step random interventions: each sequence is intervened on at that step with probability P,
on one target chosen uniformly (among ``targets``, default every variable that do() does not
fix), set to that target's value in another random sequence of the block at the same step
(a draw from the variable's marginal at that step, independent of the unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from causalgen.errors import SpecError
from causalgen.scm.expr import lag_key
from causalgen.scm.noise import Distribution
from causalgen.scm.variable import Samples

if TYPE_CHECKING:  # spec.SCM.sample calls into this module: no import back at run time
    from causalgen.scm.spec import SCM

MAX_STEPS = 10_000  # a sequence longer than this is refused (memory per block grows with T)


@dataclass(frozen=True)
class Sequences:
    """Values, noise and targets of n sequences of T steps (columns in the SCM's order)."""

    names: tuple[str, ...]
    values: np.ndarray  # (n, T, V) float64
    noise: np.ndarray  # (n, T, V) float64
    init: np.ndarray  # (n, V) float64, the state read as x[t-1] at t = 0; NaN where unused
    forced: np.ndarray  # (n, T, V) float64, the do() value at that step, NaN where none
    intervened: np.ndarray  # (n, T, V) uint8, 1 where a per-step random do() set the variable

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def steps(self) -> int:
        return int(self.values.shape[1])

    def frame(self, t: int) -> Samples:
        """Step ``t`` of every sequence as still samples."""
        return Samples(self.names, self.values[:, t], self.noise[:, t])


def check_steps(steps: int) -> int:
    """``steps`` as an int in [1, MAX_STEPS], else a SpecError saying so."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise SpecError(f"--steps must be a whole number, got {steps!r}.")
    if not 1 <= steps <= MAX_STEPS:
        raise SpecError(f"--steps must be between 1 and {MAX_STEPS:,} (steps per sequence), "
                        f"got {steps}.")
    return int(steps)


def check_rate(rate: float) -> float:
    if not (isinstance(rate, int | float | np.floating) and 0.0 <= float(rate) <= 1.0):
        raise SpecError(f"--intervention-rate must be a probability in [0, 1], got {rate}.")
    return float(rate)


def lagged_names(scm: SCM) -> frozenset[str]:
    """Variables that some mechanism reads at the previous step."""
    out: set[str] = set()
    for v in scm.variables:
        out |= scm.lagged_parents(v.name)
    return frozenset(out)


def intervention_targets(scm: SCM, targets: Sequence[str] | None) -> list[int]:
    """Column indices of the variables per-step interventions may set."""
    names = scm.names
    if targets is None:
        free = [i for i, name in enumerate(names) if name not in scm.intervention]
    else:
        free = []
        for name in targets:
            scm.variable(name)  # an unknown name gets a "did you mean"
            if name in scm.intervention:
                raise SpecError(f"--intervention-targets: {name!r} is already fixed by --do.")
            free.append(names.index(name))
    if not free:
        raise SpecError("per-step interventions need at least one variable that --do does not fix.")
    return sorted(set(free))


def _draw_init(scm: SCM, n: int, rng: np.random.Generator) -> np.ndarray:
    init = np.full((n, len(scm.variables)), np.nan)
    lagged = lagged_names(scm)
    for i, v in enumerate(scm.variables):
        if v.name in lagged:
            dist = v.init if v.init is not None else v.noise
            init[:, i] = dist.sample(rng, n)
    return init


def _global_forced(scm: SCM, n: int, rng: np.random.Generator) -> np.ndarray:
    forced = np.full((n, len(scm.variables)), np.nan)
    for name, value in sorted(scm.intervention.items()):
        i = scm.names.index(name)
        forced[:, i] = value.sample(rng, n) if isinstance(value, Distribution) else value
    return forced


def step(scm: SCM, noise: np.ndarray, previous: np.ndarray, forced: np.ndarray, *,
         clip: bool = False, check_range: bool = True) -> np.ndarray:
    """One step of m sequences: (m, V) values from the step's noise, the previous step's values
    (``init`` at t = 0) and do() values (NaN where a variable follows its mechanism)."""
    m = noise.shape[0]
    lagged = lagged_names(scm)
    env: dict[str, np.ndarray] = {lag_key(name): previous[:, i]
                                  for i, name in enumerate(scm.names) if name in lagged}
    values = np.empty_like(noise)
    for i in scm._order:  # type: ignore[attr-defined]
        v = scm.variables[i]
        mask = ~np.isnan(forced[:, i])
        if mask.all():
            col = forced[:, i].copy()
        else:
            col = scm._mechanism(v, env, noise[:, i], m)
            if mask.any():
                col = np.where(mask, forced[:, i], col)
        values[:, i] = scm._range(v, col, clip, check_range)
        env[v.name] = values[:, i]
    return values


def sample_sequences(scm: SCM, n: int, steps: int, rng: np.random.Generator, *,
                     clip: bool = False, check_range: bool = True, rate: float = 0.0,
                     targets: Sequence[str] | None = None) -> Sequences:
    """Draw ``n`` sequences of ``steps`` steps (the RNG order is in the module docstring)."""
    steps, rate = check_steps(steps), check_rate(rate)
    v = len(scm.variables)
    free = np.asarray(intervention_targets(scm, targets)) if rate > 0 else None
    init = _draw_init(scm, n, rng)
    values = np.empty((n, steps, v))
    noise = np.empty((n, steps, v))
    forced = np.full((n, steps, v), np.nan)
    intervened = np.zeros((n, steps, v), dtype=np.uint8)
    previous = init
    for t in range(steps):
        noise[:, t] = scm.sample_noise(n, rng)
        forced[:, t] = _global_forced(scm, n, rng)
        values[:, t] = step(scm, noise[:, t], previous, forced[:, t], clip=clip,
                            check_range=check_range)
        if free is not None:
            chosen = rng.random(n) < rate
            target = free[rng.integers(0, len(free), n)]
            donor = rng.permutation(n)
            rows = np.flatnonzero(chosen)
            if len(rows):
                forced[rows, t, target[rows]] = values[donor[rows], t, target[rows]]
                intervened[rows, t, target[rows]] = 1
                values[rows, t] = step(scm, noise[rows, t], previous[rows], forced[rows, t],
                                       clip=clip, check_range=check_range)
        previous = values[:, t]
    return Sequences(scm.names, values, noise, init, forced, intervened)


def counterfactual_sequences(scm: SCM, seqs: Sequences, intervention: Mapping[str, object],
                             start: int = 0, rng: np.random.Generator | None = None, *,
                             clip: bool = False, check_range: bool = True) -> Sequences:
    """The same sequences (same initial values, noise and per-step interventions) with
    ``intervention`` applied at every step from ``start`` on; steps before it are unchanged."""
    if not intervention:
        raise SpecError("a counterfactual needs at least one intervention, e.g. x=1.0.")
    if not 0 <= start < seqs.steps:
        raise SpecError(f"--counterfactual-from must be a step in [0, {seqs.steps - 1}], "
                        f"got {start}.")
    if seqs.names != scm.names:
        raise SpecError("sequences do not belong to this SCM (variable names differ).")
    new = scm.do(**intervention)  # type: ignore[arg-type]
    n = len(seqs)
    values = seqs.values.copy()
    forced = seqs.forced.copy()
    previous = seqs.init if start == 0 else seqs.values[:, start - 1]
    for t in range(start, seqs.steps):
        for name in sorted(intervention):
            value = new.intervention[name]
            if isinstance(value, Distribution):
                if rng is None:
                    raise SpecError(f"counterfactual do({name}={value.to_string()}) is "
                                    "stochastic; pass an rng.")
                value = value.sample(rng, n)
            forced[:, t, scm.names.index(name)] = value
        values[:, t] = step(scm, seqs.noise[:, t], previous, forced[:, t], clip=clip,
                            check_range=check_range)
        previous = values[:, t]
    return Sequences(scm.names, values, seqs.noise, seqs.init, forced, seqs.intervened)


__all__ = ["MAX_STEPS", "Sequences", "check_rate", "check_steps", "counterfactual_sequences",
           "intervention_targets", "lagged_names", "sample_sequences", "step"]
