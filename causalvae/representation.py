"""The representation scores of one latents array against the true factors, for any model.

``representation_metrics`` is the one place where a representation (N, d) meets the labels
(N, V): every evaluation (our runs, a latents file, a foreign model's ``encode``) calls it, so
every model is scored by the same rule. It computes

* ``mcc`` / ``mcc_spearman``: mean |correlation| after the optimal one-to-one matching of latent
  dimensions to factors (:mod:`causalvae.metrics.mcc`);
* ``r2_linear`` / ``r2_nonlinear``: held-out R^2 of each factor from all latents, 5-fold, least
  squares and RBF ridge (:mod:`causalvae.metrics.r2`);
* ``mic`` / ``tic`` (raw sum, as minepy's default) / ``tic_norm`` (divided by the cell count,
  minepy's ``norm=True``): each factor against one scalar latent, its concept block's mean when
  the model declares blocks (``concept_dims``), otherwise the latent the Spearman matching gave
  it (a factor left without one scores 0);
* ``dci_d`` / ``dci_c`` / ``dci_i`` (gradient-boosted trees, first half fits, second half
  scores) and ``mig`` (20-bin histograms; needs d >= 2, else None);

plus ``per_factor`` scores keyed by variable name. At most ``max_samples`` rows (a seeded
subsample) are used, since MIC and DCI cost grows quickly with N.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from causalvae.errors import DataError
from causalvae.metrics import concept_mic_tic, dci, mcc, mig, r2_scores

__all__ = ["REPRESENTATION_KEYS", "check_latents", "representation_metrics"]

log = logging.getLogger(__name__)
REPRESENTATION_KEYS = ("mcc", "mcc_spearman", "r2_linear", "r2_nonlinear", "mic", "tic_norm",
                       "dci_d", "dci_c", "dci_i", "mig")


def check_latents(latents: Any, n_rows: int, what: str = "latents") -> np.ndarray:
    """latents as float64 (n_rows, d), or a DataError naming the problem."""
    z = np.asarray(latents)
    if z.dtype.kind not in "fiub":
        raise DataError(f"{what} must be a numeric array, got dtype {z.dtype}")
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2 or z.shape[1] == 0:
        raise DataError(f"{what} must be a 2-D (N, d) array, got shape {z.shape}")
    if z.shape[0] != n_rows:
        raise DataError(f"{what} has {z.shape[0]} rows but the evaluated samples are {n_rows}; "
                        "row i must hold the latents of sample i")
    z = z.astype(np.float64)
    bad = ~np.isfinite(z)
    if bad.any():
        rows = np.flatnonzero(bad.any(1))
        raise DataError(f"{what} holds NaN or infinite values in {len(rows)} rows (first: row "
                        f"{rows[0]}); a representation must be finite")
    return z


def _scalar_latents(z: np.ndarray, matching: Sequence[int | None],
                    concept_dims: Sequence[Sequence[int]] | None) -> np.ndarray:
    if concept_dims is not None:
        return np.stack([z[:, list(d)].mean(1) for d in concept_dims], 1)  # (N, V)
    cols = [z[:, m] if m is not None else np.zeros(len(z)) for m in matching]
    return np.stack(cols, 1)  # (N, V)


def _none_scores(k: int) -> dict[str, Any]:
    return {"r2": None, "per_factor": [None] * k}


def representation_metrics(latents: np.ndarray, labels: np.ndarray, names: Sequence[str], *,
                           concept_dims: Sequence[Sequence[int]] | None = None, seed: int = 0,
                           max_samples: int = 2000, full: bool = True) -> dict[str, Any]:
    """Every representation score of latents (N, d) against labels (N, V); see the module.

    ``full=False`` computes only the cheap scores (MCC, linear R^2, MIC / TIC); the others are
    None (used for the side-by-side scores of label-fed encoders).
    """
    z = check_latents(latents, len(labels))
    u = np.asarray(labels, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if len(z) > max_samples:
        keep = np.sort(rng.choice(len(z), size=max_samples, replace=False))
        z, u = z[keep], u[keep]
    if len(z) < 10:
        raise DataError(f"{len(z)} samples are too few to score a representation (need >= 10)")
    pearson, spearman = mcc(z, u, "pearson"), mcc(z, u, "spearman")
    lin = r2_scores(z, u, "linear", seed=seed)
    ker = r2_scores(z, u, "kernel", seed=seed) if full else _none_scores(u.shape[1])
    mic = concept_mic_tic(_scalar_latents(z, spearman["matching"], concept_dims), u, seed=seed)
    order = rng.permutation(len(z))  # DCI: a random half fits, the other half scores
    half = len(z) // 2
    a, b = order[:half], order[half:]
    d = (dci(z[a], u[a], z[b], u[b], random_state=seed) if full else
         {"disentanglement": None, "completeness": None, "informativeness": None,
          "per_factor_informativeness": [None] * u.shape[1]})
    g = mig(z, u) if z.shape[1] >= 2 and full else None
    per = {
        name: {
            "mcc": pearson["per_factor"][j], "mcc_spearman": spearman["per_factor"][j],
            "r2_linear": lin["per_factor"][j], "r2_nonlinear": ker["per_factor"][j],
            "mic": mic["per_concept"][j]["mic"], "tic": mic["per_concept"][j]["tic"],
            "tic_norm": mic["per_concept"][j]["tic_norm"],
            "dci_informativeness": d["per_factor_informativeness"][j],
            "mig": None if g is None else g["per_factor"][j],
            "latent": spearman["matching"][j] if concept_dims is None else list(concept_dims[j]),
        }
        for j, name in enumerate(names)
    }
    return {
        "mcc": pearson["mcc"], "mcc_spearman": spearman["mcc"],
        "r2_linear": lin["r2"], "r2_nonlinear": ker["r2"],
        "mic": mic["mic"], "tic": mic["tic"], "tic_norm": mic["tic_norm"],
        "dci_d": d["disentanglement"], "dci_c": d["completeness"], "dci_i": d["informativeness"],
        "mig": None if g is None else g["mig"],
        "per_factor": per, "n_samples": len(z), "latent_dim": int(z.shape[1]),
        "concept_rule": "concept blocks (mean)" if concept_dims is not None else "spearman matching",
    }
