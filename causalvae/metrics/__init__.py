"""Representation metrics: MCC, R^2, MIC / TIC, MIG and DCI as pure array functions.

Each takes numpy arrays (samples in rows) and returns plain floats or JSON-ready dicts; the
dataset-level wrappers that sample representations live with the experiment code. Graph-recovery
scores are in `causalvae.graph`.
"""

from __future__ import annotations

from causalvae.metrics.dci import dci, dci_scores
from causalvae.metrics.mcc import correlation_matrix, match_latents, mcc
from causalvae.metrics.mic import characteristic_matrix, concept_mic_tic, mic, mic_matrix, mic_tic
from causalvae.metrics.mig import discretize, discretize_factors, mig, mutual_info_matrix
from causalvae.metrics.r2 import r2_scores

__all__ = [
    "characteristic_matrix",
    "concept_mic_tic",
    "correlation_matrix",
    "dci",
    "dci_scores",
    "discretize",
    "discretize_factors",
    "match_latents",
    "mcc",
    "mic",
    "mic_matrix",
    "mic_tic",
    "mig",
    "mutual_info_matrix",
    "r2_scores",
]
