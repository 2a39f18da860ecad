"""Disentanglement, completeness and informativeness (Eastwood & Williams 2018).

Follows disentanglement_lib's DCI: one gradient-boosted tree model per factor gives a column of
the importance matrix R (d latents x k factors, the model's feature importances);

* disentanglement = sum_i rho_i (1 - H_k(R[i, :] / sum R[i, :])), rho_i = sum R[i, :] / sum R,
* completeness = sum_j rho_j (1 - H_d(R[:, j] / sum R[:, j])), rho_j = sum R[:, j] / sum R,

with H_b the entropy in base b, and informativeness the models' mean test score.

Deviations, all because our factors are continuous physical labels: the default model is a
`GradientBoostingRegressor` per factor and informativeness is the test R^2 (it can be slightly
negative for useless latents), not classifier accuracy; "lasso" uses |coefficients| of a Lasso on
standardised latents and factors as importances (the original paper's linear variant);
"gbt_classifier" reproduces disentanglement_lib on discretised factors (codes as in
`mig.discretize_factors`, bins from the training split) with test accuracy. With a single factor
(or latent) the entropy base would be 1; disentanglement (completeness) is then 1 by convention.
An all-zero importance matrix (e.g. constant latents) gives disentanglement = completeness = 0.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import Lasso

from causalvae.metrics.arrays import as_table

__all__ = ["dci", "dci_scores"]

Model = Literal["gbt", "lasso", "gbt_classifier"]


def _specificity(p: np.ndarray, base: int) -> np.ndarray:
    """1 - entropy (base `base`) of each row of p (m, base), rows normalised; 0 rows give 0."""
    if base == 1:
        return np.ones(p.shape[0])
    sums = p.sum(axis=1, keepdims=True)
    q = np.divide(p, sums, out=np.zeros_like(p), where=sums > 0)
    logq = np.log(q, out=np.zeros_like(q), where=q > 0)
    h = -(q * logq).sum(axis=1) / np.log(base)
    return np.where(sums[:, 0] > 0, 1.0 - h, 0.0)


def dci_scores(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness) of an importance matrix (d latents, k factors), >= 0."""
    r = np.asarray(importance, dtype=np.float64)
    if r.ndim != 2 or not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError("importance must be a finite, non-negative (d, k) matrix")
    total = r.sum()
    if total == 0:
        return 0.0, 0.0
    d, k = r.shape
    disentanglement = float((_specificity(r, k) * r.sum(axis=1) / total).sum())
    completeness = float((_specificity(r.T, d) * r.sum(axis=0) / total).sum())
    return disentanglement, completeness


def _importances(values: np.ndarray) -> np.ndarray:
    """A fitted model's importances as DCI reads them: scikit-learn's tree importances can come
    out a rounding error below zero (-1.6e-16 was seen on a binary factor that one latent
    separates exactly), and NaN when no tree split reduced the impurity; both are taken as
    0, the value they stand for."""
    return np.clip(np.nan_to_num(np.asarray(values, np.float64), nan=0.0), 0.0, None)


def _factor_codes(train: np.ndarray, test: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Class codes of one factor: distinct values if <= bins, else equal-width train-range bins."""
    values = np.unique(train)
    if values.shape[0] <= bins:
        # A test value unseen in training gets the code of the nearest training value.
        nearest = np.abs(test[:, None] - values[None, :]).argmin(axis=1)  # (N_test,)
        return np.searchsorted(values, train), nearest
    lo, hi = train.min(), train.max()

    def code(v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((v - lo) / (hi - lo) * bins), 0, bins - 1).astype(np.int64)

    return code(train), code(test)


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def dci(
    latents_train: np.ndarray,
    factors_train: np.ndarray,
    latents_test: np.ndarray,
    factors_test: np.ndarray,
    regressor: Model = "gbt",
    alpha: float = 0.01,
    bins: int = 20,
    random_state: int = 0,
) -> dict:
    """DCI scores of latents (N, d) with respect to factors (N, k), train/test split given.

    regressor: "gbt" (GradientBoostingRegressor, default settings), "lasso" (Lasso with penalty
    `alpha` on standardised data) or "gbt_classifier" (disentanglement_lib's classifier on
    factors discretised into at most `bins` classes). Returns a JSON-ready dict:
    disentanglement, completeness, informativeness (mean test R^2, or accuracy for the
    classifier), informativeness_train, per_factor_informativeness, importance (d x k).
    """
    zs, zt = as_table(latents_train, "latents_train", 2), as_table(latents_test, "latents_test", 2)
    fs, ft = as_table(factors_train, "factors_train", 2), as_table(factors_test, "factors_test", 2)
    if zs.shape[0] != fs.shape[0] or zt.shape[0] != ft.shape[0]:
        raise ValueError("latents and factors differ in length within a split")
    if zs.shape[1] != zt.shape[1] or fs.shape[1] != ft.shape[1]:
        raise ValueError("train and test splits differ in their number of columns")
    if regressor not in ("gbt", "lasso", "gbt_classifier"):
        raise ValueError(f"regressor must be 'gbt', 'lasso' or 'gbt_classifier', got {regressor!r}")
    d, k = zs.shape[1], fs.shape[1]
    importance = np.zeros((d, k))
    train_scores, test_scores = np.zeros(k), np.zeros(k)
    if regressor == "lasso":
        zs, zt = _standardise(zs, zt)
        fs, ft = _standardise(fs, ft)
    for j in range(k):
        y_train, y_test = fs[:, j], ft[:, j]
        if regressor == "gbt":
            model = GradientBoostingRegressor(random_state=random_state).fit(zs, y_train)
            importance[:, j] = _importances(model.feature_importances_)
        elif regressor == "lasso":
            model = Lasso(alpha=alpha, random_state=random_state).fit(zs, y_train)
            importance[:, j] = np.abs(model.coef_)
        else:
            y_train, y_test = _factor_codes(y_train, y_test, bins)
            if np.unique(y_train).shape[0] < 2:  # a constant factor: nothing to classify
                train_scores[j] = test_scores[j] = 1.0
                continue
            model = GradientBoostingClassifier(random_state=random_state).fit(zs, y_train)
            importance[:, j] = _importances(model.feature_importances_)
        train_scores[j] = model.score(zs, y_train)
        test_scores[j] = model.score(zt, y_test)
    disentanglement, completeness = dci_scores(importance)
    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness": float(test_scores.mean()),
        "informativeness_train": float(train_scores.mean()),
        "per_factor_informativeness": test_scores.tolist(),
        "importance": importance.tolist(),
    }
