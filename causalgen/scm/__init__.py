"""Structural causal models: the safe expression language, noise distributions, SCM specs."""

from __future__ import annotations

from causalgen.scm.expr import Expression, compile_expression
from causalgen.scm.noise import Distribution, parse_distribution
from causalgen.scm.spec import SCM, Samples, Variable

__all__ = ["SCM", "Distribution", "Expression", "Samples", "Variable", "compile_expression",
           "parse_distribution"]
