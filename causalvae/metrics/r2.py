"""R^2 of each true factor predicted from all latents, linear and nonlinear, out of sample.

The identification score of causal-representation-learning papers: factors (N, k) regressed on
latents (N, d). Every score is held out: K-fold cross-validation (shuffled with ``seed``), each
sample predicted by the model fitted on the other folds, R^2 = 1 - SSE / SST over the pooled
out-of-fold predictions (it can be slightly negative for useless latents). Latents are
standardised with each training fold's statistics.

* linear: ordinary least squares with an intercept;
* kernel: RBF kernel ridge regression, approximated by ridge regression on 300 random Fourier
  features (seeded); per factor and fold the bandwidth (0.5 to 4 times the median heuristic,
  gamma = 1 / median squared distance between training latents) and the ridge penalty (a log
  grid) are chosen by the closed-form leave-one-out error on the training fold, one eigendecomposition
  of the feature Gram matrix per bandwidth serving every penalty and factor. At most ``max_samples`` rows (a seeded
  subsample) enter the kernel model.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

from causalvae.metrics.arrays import as_table

__all__ = ["r2_scores"]

Model = Literal["linear", "kernel"]
PENALTIES = np.logspace(-6, 1, 8)
BANDWIDTHS = (0.5, 1.0, 2.0, 4.0)  # multiples of the median-heuristic gamma
FEATURES = 300


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def _linear(zs: np.ndarray, ys: np.ndarray, zt: np.ndarray) -> np.ndarray:
    design = np.c_[np.ones(len(zs)), zs]  # (m, d + 1)
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)  # (d + 1, k)
    return np.c_[np.ones(len(zt)), zt] @ coef  # (t, k)


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def _kernel(zs: np.ndarray, ys: np.ndarray, zt: np.ndarray, rng: np.random.Generator,
            features: int = FEATURES) -> np.ndarray:
    """RBF ridge regression on random Fourier features; bandwidth and penalty chosen per factor
    by the closed-form leave-one-out error (one D x D eigendecomposition per bandwidth serves
    every penalty)."""
    m, d = zs.shape
    sub = zs[rng.choice(m, size=min(m, 300), replace=False)]
    d2 = _sq_dist(sub, sub)
    med = float(np.median(d2[np.triu_indices(len(sub), 1)])) if len(sub) > 1 else 1.0
    base = 1.0 / med if med > 0 else 1.0
    w0 = rng.normal(size=(d, features))  # (d, D) shared by every bandwidth
    b0 = rng.uniform(0, 2 * np.pi, size=features)
    mean = ys.mean(0)
    yc = ys - mean
    best_err = np.full(ys.shape[1], np.inf)
    pred = np.zeros((len(zt), ys.shape[1]))
    for scale in BANDWIDTHS:
        w = w0 * np.sqrt(2.0 * base * scale)  # exp(-gamma |x - y|^2) has frequencies N(0, 2 gamma)
        phi = np.sqrt(2.0 / features) * np.cos(zs @ w + b0)  # (m, D)
        phi_t = np.sqrt(2.0 / features) * np.cos(zt @ w + b0)  # (t, D)
        s2, v = np.linalg.eigh(phi.T @ phi)  # Phi^T Phi = V diag(s2) V^T, (D,), (D, D)
        s2 = np.maximum(s2, 0.0)
        pv = phi @ v  # (m, D)
        proj = pv.T @ yc  # (D, k)
        for lam in PENALTIES:
            inv = 1.0 / (s2 + lam)  # hat matrix H = Phi V diag(inv) V^T Phi^T
            fitted = pv @ (inv[:, None] * proj)  # (m, k)
            h_diag = (pv**2) @ inv  # (m,)
            loo = (yc - fitted) / np.maximum(1.0 - h_diag, 1e-12)[:, None]
            err = (loo**2).mean(0)  # (k,)
            better = err < best_err
            if better.any():
                coef = v @ (inv[:, None] * proj)  # (D, k)
                pred[:, better] = (phi_t @ coef)[:, better]
                best_err[better] = err[better]
    return mean + pred


def _fit_folds(z: np.ndarray, f: np.ndarray, fold_of: np.ndarray, folds: int, model: Model,
               rng: np.random.Generator, pred: np.ndarray) -> None:
    for k in range(folds):
        test = fold_of == k
        zs, zt = _standardise(z[~test], z[test])
        pred[test] = (_linear(zs, f[~test], zt) if model == "linear"
                      else _kernel(zs, f[~test], zt, rng))


def r2_scores(latents: np.ndarray, factors: np.ndarray, model: Model = "linear", folds: int = 5,
              seed: int = 0, max_samples: int | None = 1000) -> dict:
    """Held-out R^2 of each factor (N, k) from the latents (N, d).

    Returns a JSON-ready dict: r2 (mean over factors), per_factor (list), model, folds,
    n_samples. A constant factor has R^2 NaN (nothing to explain) and is left out of the mean.
    """
    z, f = as_table(latents, "latents"), as_table(factors, "factors")
    if z.shape[0] != f.shape[0]:
        raise ValueError(f"latents and factors differ in length: {z.shape[0]} vs {f.shape[0]}")
    if model not in ("linear", "kernel"):
        raise ValueError(f"model must be 'linear' or 'kernel', got {model!r}")
    rng = np.random.default_rng(seed)
    if model == "kernel" and max_samples is not None and len(z) > max_samples:
        keep = np.sort(rng.choice(len(z), size=max_samples, replace=False))
        z, f = z[keep], f[keep]
    folds = int(min(folds, len(z)))
    if folds < 2:
        raise ValueError(f"R^2 needs at least 2 samples and 2 folds, got {len(z)} samples")
    fold_of = rng.permutation(len(z)) % folds
    pred = np.zeros_like(f)
    # small matrices: extra BLAS threads only contend (measured 30x slower on a busy 2-core box)
    with threadpool_limits(1):
        _fit_folds(z, f, fold_of, folds, model, rng, pred)
    sst = ((f - f.mean(0)) ** 2).sum(0)
    sse = ((f - pred) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.nan)
    valid = ~np.isnan(per)
    return {"r2": float(per[valid].mean()) if valid.any() else float("nan"),
            "per_factor": per.tolist(), "model": model, "folds": folds, "n_samples": len(z)}
