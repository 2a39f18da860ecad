"""Figures of runs and experiments, in causalgen's figure style (the ``figures`` extra).

:mod:`~causalvae.figures.adjacency` (learned |A| beside the true graph; learned against true
graph), :mod:`~causalvae.figures.interventions` (model above truth), :mod:`~causalvae.figures.curves`
(training curves; experiment summary) and :mod:`~causalvae.figures.run` (every figure of a run or
an experiment, written into its ``figures/`` folder). Importing this package imports neither
matplotlib nor torch; drawing does.
"""

from __future__ import annotations
