"""Typed errors of causalvae.

Every error a user can cause (a bad ``--set`` key, an unknown model, a batch larger than the
data, a run directory that already holds a run) derives from :class:`CausalvaeError`. The CLI turns
these, and causalgen's :class:`~causalgen.errors.CausalgenError`, into a one-paragraph message and
exit code 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class CausalvaeError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


class ConfigError(CausalvaeError):
    """A configuration value is unknown, of the wrong type or out of range."""


class ModelNotFoundError(ConfigError):
    """No model is registered under the requested name."""


class DataError(CausalvaeError):
    """A dataset cannot be used for this run (variables differ from the run, batch too large...)."""


class CheckpointError(CausalvaeError):
    """A run directory or checkpoint is missing, foreign, or would be overwritten."""


class DivergenceError(CausalvaeError):
    """Training produced a non-finite loss or weights; the last good checkpoint is kept."""


class InterventionError(CausalvaeError):
    """An intervention or traversal cannot be carried out (no causal layer, bad concept, cycle)."""
