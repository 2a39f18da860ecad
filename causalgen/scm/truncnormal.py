"""The standard normal restricted to an interval: tail probabilities, density, a fast sampler.

Pure numeric helpers behind :class:`causalgen.scm.noise.TruncNormal`: :func:`tail` (P(Z > x),
accurate far into the tail), :func:`pdf`, and :func:`truncated_standard_normal`, a vectorised
rejection sampler that picks whichever proposal accepts enough of its draws (the normal itself,
a uniform on the interval, or Robert's shifted exponential far in a tail). Deterministic given
the ``numpy.random.Generator`` passed in; no state of its own.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["pdf", "tail", "truncated_standard_normal"]


def tail(x: float) -> float:
    """P(Z > x) for a standard normal Z, accurate far into the tail."""
    return 0.5 * math.erfc(x / math.sqrt(2))


def pdf(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def truncated_standard_normal(rng: np.random.Generator, n: int, a: float, b: float,
                               mass: float) -> np.ndarray:
    """Standard normal restricted to [a, b] by vectorised rejection, from whichever proposal
    accepts at least ~20% of its draws: the normal itself, a uniform on [a, b], or (far in a
    tail) Robert's (1995) shifted exponential. Deterministic given ``rng``."""
    sign = 1.0
    if mass < 0.3 and b <= 0:  # mirror a left-tail interval onto the right
        a, b, sign = -b, -a, -1.0
    rate = (a + math.sqrt(a * a + 4)) / 2 if a >= 0 else 0.0

    def propose(m: int) -> np.ndarray:
        if mass >= 0.3:
            z = rng.standard_normal(m)
            return z[(z >= a) & (z <= b)]
        if a < 0 or rate * (b - a) < 1:  # a narrow interval: the density is nearly flat on it
            z = rng.uniform(a, b, m)
            peak = 0.0 if a < 0 else a * a
            return z[rng.random(m) <= np.exp((peak - z * z) / 2)]
        z = a + rng.exponential(1 / rate, m)
        return z[(z <= b) & (rng.random(m) <= np.exp(-((z - rate) ** 2) / 2))]

    chunks, need = [], n
    while need > 0:
        accepted = propose(2 * need + 64)[:need]
        chunks.append(accepted)
        need -= accepted.size
    return sign * np.concatenate(chunks) if chunks else np.empty(0)
