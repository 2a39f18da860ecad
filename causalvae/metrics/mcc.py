"""Mean correlation coefficient (MCC) between learned latents and true factors.

The score causal-representation-learning papers report (iVAE, CITRIS, Causal Chambers): the
absolute correlation matrix between latent dimensions (N, d) and factors (N, k) is matched one to
one by the Hungarian algorithm (`scipy.optimize.linear_sum_assignment`, maximising the total
|correlation|) and MCC is the mean over factors of the matched |correlation|. Pearson measures
linear identification; Spearman correlates ranks, so any monotone transform of a factor still
scores 1. A factor left without a latent (d < k) scores 0, so a representation cannot gain by
being small. A constant column has correlation 0 with everything.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

from causalvae.metrics.arrays import as_table

__all__ = ["correlation_matrix", "match_latents", "mcc"]

Method = Literal["pearson", "spearman"]




def correlation_matrix(latents: np.ndarray, factors: np.ndarray,
                       method: Method = "pearson") -> np.ndarray:
    """Correlations (d, k) of every latent column with every factor column (0 for constants)."""
    z, f = as_table(latents, "latents", 2), as_table(factors, "factors", 2)
    if z.shape[0] != f.shape[0]:
        raise ValueError(f"latents and factors differ in length: {z.shape[0]} vs {f.shape[0]}")
    if method == "spearman":
        z, f = rankdata(z, axis=0), rankdata(f, axis=0)
    elif method != "pearson":
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    z = z - z.mean(0)
    f = f - f.mean(0)
    sz, sf = np.sqrt((z**2).sum(0)), np.sqrt((f**2).sum(0))  # (d,), (k,)
    denom = np.outer(sz, sf)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(denom > 0, z.T @ f / np.where(denom > 0, denom, 1.0), 0.0)  # (d, k)
    return np.clip(corr, -1.0, 1.0)


def match_latents(corr: np.ndarray) -> list[int | None]:
    """For each factor, the latent index the maximal one-to-one |corr| matching gives it."""
    rows, cols = linear_sum_assignment(np.abs(corr), maximize=True)
    matched: list[int | None] = [None] * corr.shape[1]
    for r, c in zip(rows, cols, strict=True):
        matched[int(c)] = int(r)
    return matched


def mcc(latents: np.ndarray, factors: np.ndarray, method: Method = "pearson") -> dict:
    """MCC of latents (N, d) against factors (N, k).

    Returns a JSON-ready dict: mcc (mean over factors, in [0, 1]), per_factor (matched
    |correlation| of each factor, 0 when unmatched), matching (latent index per factor or None),
    method.
    """
    corr = correlation_matrix(latents, factors, method)
    matching = match_latents(corr)
    per = [abs(float(corr[m, j])) if m is not None else 0.0 for j, m in enumerate(matching)]
    return {"mcc": float(np.mean(per)), "per_factor": per, "matching": matching, "method": method}
