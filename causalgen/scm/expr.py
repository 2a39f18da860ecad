"""A small, safe expression language for SCM mechanisms, evaluated vectorised with numpy.

Mechanisms arrive as text from untrusted spec files (``"2.5 * ball_size + noise"``), so the text is
never handed to ``eval``: it is parsed with ``ast.parse(mode="eval")``, checked node by node against
a whitelist and compiled into a tree of closures over float64 numpy arithmetic. The grammar:
int/float literals; names (declared variables, ``noise`` where allowed, the constants ``pi``, ``e``,
``tau``); binary ``+ - * / // % **``; unary ``+ -`` and ``not``; comparisons ``< <= > >= == !=``
including chains; ``and`` / ``or``; ``a if cond else b``; and calls, with positional arguments
only, of the whitelisted numpy functions in :data:`BUILTIN_FUNCTIONS` or of scene functions passed
by the caller. Truth values are 1.0 / 0.0 and every operation is elementwise (both branches of a
conditional are evaluated). In a temporal SCM a mechanism may also read a variable at the previous
step with the lag syntax ``temp[t-1]`` (only ``t-1``; see :data:`LAG_SUFFIX`); every other
subscript is refused. Line breaks and tabs count as spaces. Everything is float64 under
``np.errstate(all="ignore")``, so overflow and division by zero give inf / nan (the caller checks
finiteness) and nothing can hang; size, node count, nesting and constant exponents are bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causalgen.errors import ExpressionError
from causalgen.scm.compiler import (
    BUILTIN_FUNCTIONS,
    CONSTANTS,
    LAG_SUFFIX,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NODES,
    Compiler,
    _as_float,
    _Eval,
    lag_key,
    parse_checked,
)


@dataclass(frozen=True)
class Expression:
    """A compiled expression; call it with an environment of arrays to evaluate it."""

    text: str
    names: frozenset[str]
    uses_noise: bool
    functions_used: frozenset[str]
    _evaluate: _Eval = field(repr=False, compare=False)
    _compiled_from: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    lagged: frozenset[str] = frozenset()  # variables read at the previous step (``x[t-1]``)

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures do not pickle; workers recompile from the text (scene functions must pickle).
        return (_recompile, self._compiled_from)

    def __call__(self, env: Mapping[str, np.ndarray | float], n: int) -> np.ndarray:
        """Evaluate over ``n`` samples; ``env`` holds arrays of shape (n,) or scalars."""
        with np.errstate(all="ignore"):
            result = _as_float(self._evaluate(env, n))
        try:  # np.array copies: a fresh array the caller may modify
            return np.array(np.broadcast_to(result, (n,)), dtype=np.float64)
        except ValueError:
            raise ValueError(f"expression {self.text!r} evaluated to shape {result.shape}, "
                             f"expected ({n},) or a scalar") from None


def compile_expression(text: str, variables: Iterable[str],
                       functions: Mapping[str, Callable[..., Any]] | None = None, *,
                       allow_noise: bool = True, extra_names: Iterable[str] = (),
                       lags: Iterable[str] = ()) -> Expression:
    """Compile ``text`` into an :class:`Expression`.

    ``variables`` and ``extra_names`` are the plain names it may read (both end up in
    ``Expression.names`` when read); ``functions`` are extra vectorised callables (scene physics)
    callable by name besides :data:`BUILTIN_FUNCTIONS`; ``noise`` may be read when
    ``allow_noise``; ``lags`` are the variables it may read at the previous step as ``x[t-1]``
    (evaluated from the environment key :func:`lag_key`; ``Expression.lagged`` lists those read).
    Raises :class:`ExpressionError` naming the problem and its column.
    """
    lags = frozenset(lags)
    extra_names = frozenset(extra_names)
    allowed = frozenset(variables) | extra_names
    extra = dict(functions or {})
    for name in extra:
        # A scene function may share a variable's name (the pendulum's shadow_length is both):
        # called, the name is the function; read plainly, it is the variable.
        clash = ("a builtin function" if name in BUILTIN_FUNCTIONS
                 else "a constant" if name in CONSTANTS or name == "noise"
                 else "not allowed" if name.startswith("_") or not name.isidentifier() else None)
        if clash:
            raise ExpressionError(f"scene function name '{name}' is {clash}", text)
    source, tree = parse_checked(text)
    compiler = Compiler(source, {**BUILTIN_FUNCTIONS, **extra}, allowed, allow_noise, True,
                         lags)
    evaluate = compiler.visit(tree)
    return Expression(text=text, names=frozenset(compiler.names_used),
                      uses_noise=compiler.uses_noise,
                      functions_used=frozenset(compiler.functions_used), _evaluate=evaluate,
                      _compiled_from=(text, allowed - extra_names, extra, allow_noise,
                                      extra_names, lags),
                      lagged=frozenset(compiler.lagged))


def _recompile(text: str, variables: frozenset[str], functions: dict[str, Callable[..., Any]],
               allow_noise: bool, extra_names: frozenset[str],
               lags: frozenset[str] = frozenset()) -> Expression:
    return compile_expression(text, variables, functions, allow_noise=allow_noise,
                              extra_names=extra_names, lags=lags)


def referenced_names(text: str) -> frozenset[str]:
    """The plain names ``text`` reads (not ``noise``, constants or called names), after checking
    its syntax and constructs; lets a spec derive parents before every variable is known."""
    source, tree = parse_checked(text)
    compiler = Compiler(source, BUILTIN_FUNCTIONS, frozenset(), True, False)
    compiler.visit(tree)
    return frozenset(compiler.names_used)


def referenced_lags(text: str) -> frozenset[str]:
    """The variables ``text`` reads at the previous step (``x[t-1]``), after the same checks as
    :func:`referenced_names` (which leaves them out: a lagged read is not an instantaneous
    parent)."""
    source, tree = parse_checked(text)
    compiler = Compiler(source, BUILTIN_FUNCTIONS, frozenset(), True, False)
    compiler.visit(tree)
    return frozenset(compiler.lagged)


# The limits, whitelists and lag key live in causalgen.scm.compiler; importable from here too.
__all__ = ["BUILTIN_FUNCTIONS", "CONSTANTS", "LAG_SUFFIX", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH",
           "MAX_NODES", "Expression", "compile_expression", "lag_key", "referenced_lags",
           "referenced_names"]
