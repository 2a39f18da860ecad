"""Typed errors of causalgen.

Every error a user can cause (a bad spec, an unknown scene, a foreign file) derives from
:class:`CausalgenError`. The CLI turns these into a one-paragraph message and exit code 2; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class CausalgenError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


class SpecError(CausalgenError):
    """An SCM spec is invalid: a cycle, an unknown variable, a bad key in a spec file."""


class ExpressionError(SpecError):
    """A mechanism or attribute expression does not parse or is not allowed.

    ``position`` is the 1-based column in the expression text where the problem starts, when known.
    """

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.text = text
        self.position = position
        if text and position is not None:
            pointer = " " * (position - 1) + "^"
            message = f"{message}\n    {text}\n    {pointer}"
        super().__init__(message)


class EnvironmentSpecError(ExpressionError):
    """An ``--environments`` or intervention text does not parse; ``position`` is its column."""


class SchedulerError(CausalgenError):
    """A Dask scheduler cannot be reached (or dask is not installed)."""


class DistributionError(SpecError):
    """A noise distribution is unknown or has invalid parameters."""


class SceneNotFoundError(CausalgenError):
    """No scene is registered under the requested id."""


class RenderRangeError(CausalgenError):
    """Variable values fall outside the range a scene can render."""


class DatasetError(CausalgenError):
    """A dataset file is missing, incomplete, foreign, from a newer schema, or would be overwritten."""


class ImportDataError(CausalgenError):
    """External images or labels cannot be imported: a missing column, an image that does not
    decode, a label row that matches no image, a declared graph that is not a DAG."""


class NoGeneratorError(SceneNotFoundError):
    """The file was imported (``scene = "external/NAME"``): no generator or SCM stands behind it,
    so nothing that needs one (ground-truth counterfactuals, re-rendering) can be computed.

    A subclass of :class:`SceneNotFoundError`, so callers that already skip ground truth when a
    file's scene is not installed skip it for imported files too."""


class FigureError(CausalgenError):
    """A figure cannot be drawn: matplotlib is not installed, or the file type is not supported."""
