"""Representation metrics: MIC / TIC, MIG and DCI as pure array functions.

Each takes numpy arrays (samples in rows) and returns plain floats or JSON-ready dicts; the
dataset-level wrappers that sample representations live with the experiment code. Graph-recovery
scores are in `causalvae.graph`.
"""

from __future__ import annotations

from causalvae.metrics.dci import dci, dci_scores
from causalvae.metrics.mic import characteristic_matrix, concept_mic_tic, mic, mic_matrix, mic_tic
from causalvae.metrics.mig import discretize, discretize_factors, mig, mutual_info_matrix

__all__ = [
    "characteristic_matrix",
    "concept_mic_tic",
    "dci",
    "dci_scores",
    "discretize",
    "discretize_factors",
    "mic",
    "mic_matrix",
    "mic_tic",
    "mig",
    "mutual_info_matrix",
]
