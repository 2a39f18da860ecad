"""Mutual information gap (Chen et al. 2018) with disentanglement_lib's conventions.

Latents are discretised per dimension into equal-width histogram bins (20 by default) spanning
the dimension's observed range, as disentanglement_lib's histogram discretiser does. Factors are
used as discrete codes when a factor has at most `bins` distinct values; our labels are
continuous physical quantities, so a factor with more distinct values is discretised into
`bins` equal-width bins as well (disentanglement_lib assumes discrete factors). Mutual
information comes from contingency tables (natural log; the gap is a ratio, so the base cancels).
"""

from __future__ import annotations

import numpy as np

from causalvae.metrics.arrays import as_table

__all__ = ["discretize", "discretize_factors", "mig", "mutual_info_matrix"]


def discretize(x: np.ndarray, bins: int = 20) -> np.ndarray:
    """Equal-width histogram codes 0..bins-1 per column of x (N, d) -> int64 (N, d).

    Bin edges span each column's [min, max]; the maximum falls in the last bin; a constant
    column maps to bin 0.
    """
    x = as_table(x, "x")
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    lo, hi = x.min(axis=0), x.max(axis=0)  # (d,)
    span = np.where(hi > lo, hi - lo, 1.0)
    codes = np.floor((x - lo) / span * bins).astype(np.int64)  # (N, d)
    return np.clip(codes, 0, bins - 1)


def discretize_factors(factors: np.ndarray, bins: int = 20) -> np.ndarray:
    """Integer codes (N, k) of factors: their distinct values if at most `bins`, else histogram bins."""
    f = as_table(factors, "factors")
    codes = np.empty(f.shape, dtype=np.int64)
    for j in range(f.shape[1]):
        values, inverse = np.unique(f[:, j], return_inverse=True)
        codes[:, j] = inverse if values.shape[0] <= bins else discretize(f[:, j], bins)[:, 0]
    return codes


def _entropy(codes: np.ndarray) -> float:
    p = np.bincount(codes) / codes.shape[0]
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats of two integer code vectors (N,) from their contingency table."""
    nb = int(b.max()) + 1
    joint = np.bincount(a * nb + b, minlength=(int(a.max()) + 1) * nb).reshape(-1, nb)
    joint = joint / a.shape[0]  # (|a|, |b|)
    pa, pb = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return float(max((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum(), 0.0))


def mutual_info_matrix(latent_codes: np.ndarray, factor_codes: np.ndarray) -> np.ndarray:
    """I(latent_i; factor_j) in nats for integer codes (N, d) and (N, k) -> (d, k)."""
    out = np.empty((latent_codes.shape[1], factor_codes.shape[1]))
    for i in range(latent_codes.shape[1]):
        for j in range(factor_codes.shape[1]):
            out[i, j] = _mutual_info(latent_codes[:, i], factor_codes[:, j])
    return out


def mig(latents: np.ndarray, factors: np.ndarray, bins: int = 20) -> dict:
    """Mutual information gap of latents (N, d) with respect to factors (N, k).

    For factor j: gap_j = (I_(1) - I_(2)) / H(factor_j), I_(1) >= I_(2) the two largest mutual
    informations of factor j with any single latent. MIG = mean over factors of gap_j, in [0, 1]:
    1 when each factor is captured by exactly one latent, 0 when none or two latents capture it.
    A constant factor (H = 0) has gap NaN and is left out of the mean (MIG is NaN if all are).
    Returns a JSON-ready dict: mig, per_factor (gaps), mutual_info (d x k, nats),
    factor_entropy (k, nats).
    """
    z = as_table(latents, "latents")
    f = as_table(factors, "factors")
    if z.shape[0] != f.shape[0]:
        raise ValueError(f"latents and factors differ in length: {z.shape[0]} vs {f.shape[0]}")
    if z.shape[1] < 2:
        raise ValueError(f"MIG needs at least 2 latent dimensions, got {z.shape[1]}")
    z_codes, f_codes = discretize(z, bins), discretize_factors(f, bins)  # (N, d), (N, k)
    mi = mutual_info_matrix(z_codes, f_codes)  # (d, k)
    entropy = np.array([_entropy(f_codes[:, j]) for j in range(f.shape[1])])  # (k,)
    top = -np.sort(-mi, axis=0)  # (d, k) descending per factor
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(entropy > 0, (top[0] - top[1]) / entropy, np.nan)
    valid = ~np.isnan(gaps)
    return {
        "mig": float(gaps[valid].mean()) if valid.any() else float("nan"),
        "per_factor": gaps.tolist(),
        "mutual_info": mi.tolist(),
        "factor_entropy": entropy.tolist(),
    }
