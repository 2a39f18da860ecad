"""The compiler of the safe expression language: limits, whitelists, checked parsing, closures.

:func:`parse_checked` bounds a text's size, parses it with ``ast.parse(mode="eval")`` and bounds
its node count and nesting; :class:`Compiler` walks the tree against the whitelists below
(operators, the numpy functions of :data:`BUILTIN_FUNCTIONS`, :data:`CONSTANTS`, the lag syntax
``x[t-1]``) and turns it into a tree of closures over float64 numpy arithmetic, naming any
refused construct and its column. The public face (``compile_expression``, ``Expression``) and the
grammar's description are in :mod:`causalgen.scm.expr`.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np

from causalgen.errors import ExpressionError

MAX_LENGTH = 2000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_EXPONENT = 100.0

LAG_SUFFIX = "[t-1]"  # the environment key of a lagged read: lag_key("temp") == "temp[t-1]"

_Env = Mapping[str, "np.ndarray | float"]
_Eval = Callable[[_Env, int], Any]  # a compiled node: (env, n) -> float64 array or scalar


# name -> (function, min args, max args or None, signature shown in arity errors)
_BUILTINS: dict[str, tuple[Callable[..., Any], int, int | None, str]] = {
    **{name: (getattr(np, name), 1, 1, "x") for name in (
        "abs", "sqrt", "cbrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos",
        "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "floor", "ceil", "round",
        "sign", "deg2rad", "rad2deg", "radians", "degrees")},
    "arctan2": (np.arctan2, 2, 2, "y, x"),
    "hypot": (np.hypot, 2, 2, "x, y"),
    "mod": (np.mod, 2, 2, "x, y"),
    # 1 / (1 + inf) == 0 is the right limit, so the plain sigmoid is safe under errstate.
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), 1, 1, "x"),
    "softplus": (lambda x: np.logaddexp(0.0, x), 1, 1, "x"),
    "where": (lambda cond, a, b: np.where(cond != 0, a, b), 3, 3, "cond, a, b"),
    "clip": (lambda x, low, high: np.minimum(np.maximum(x, low), high), 3, 3, "x, low, high"),
    "min": (lambda *args: functools.reduce(np.minimum, args), 2, None, "a, b, ..."),
    "max": (lambda *args: functools.reduce(np.maximum, args), 2, None, "a, b, ..."),
}
BUILTIN_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {name: spec[0] for name, spec in _BUILTINS.items()})
CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": np.pi, "e": np.e, "tau": 2 * np.pi})

_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
           ast.FloorDiv: np.floor_divide, ast.Mod: np.mod, ast.Pow: np.power}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater,
            ast.GtE: np.greater_equal, ast.Eq: np.equal, ast.NotEq: np.not_equal}
_OPERATOR_TEXT = {ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
                  ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Is: "is",
                  ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_FOLDABLE = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop,
             ast.expr_context)
_FORBIDDEN = {  # node type -> what the error message calls it
    ast.Attribute: "attribute access", ast.Subscript: "subscripting", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "':=' (walrus)", ast.List: "a list",
    ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.Starred: "a starred argument",
    ast.Slice: "a slice", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}


def _as_float(value: Any) -> Any:
    return np.asarray(value, dtype=np.float64)


def _truth(value: Any) -> Any:
    return np.not_equal(value, 0.0)


class _Compiler:
    """Walks a checked AST and builds closures. With ``strict=False`` every plain name counts
    as a variable and any called name as a function (used by :func:`referenced_names`)."""

    def __init__(self, source: str, functions: Mapping[str, Callable[..., Any]],
                 names: frozenset[str], allow_noise: bool, strict: bool,
                 lags: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.lags = lags
        self.lagged: set[str] = set()
        self.encoded = source.encode("utf-8")
        self.functions = functions
        self.allowed_names = names
        self.allow_noise = allow_noise
        self.strict = strict
        self.names_used: set[str] = set()
        self.functions_used: set[str] = set()
        self.uses_noise = False

    def error(self, message: str, node: ast.AST | None = None, offset: int | None = None) -> NoReturn:
        if node is not None:
            offset = node.col_offset  # type: ignore[attr-defined]
        position = None if offset is None else _column(self.encoded, offset)
        raise ExpressionError(message, self.source, position)

    def after(self, node: ast.AST) -> int:
        """Byte offset of the first non-blank character after ``node`` (an operator, '.', '[')."""
        end = node.end_col_offset or 0  # type: ignore[attr-defined]
        return end + len(self.encoded[end:]) - len(self.encoded[end:].lstrip())

    def visit(self, node: ast.AST) -> _Eval:
        handler = getattr(self, f"visit_{type(node).__name__}", None)
        if handler is None:
            what = _FORBIDDEN.get(type(node), f"a '{type(node).__name__}' expression")
            if isinstance(node, ast.Attribute | ast.Subscript):
                self.error(f"{what} is not allowed", offset=self.after(node.value))
            self.error(f"{what} is not allowed", node)
        return handler(node)

    def visit_Subscript(self, node: ast.Subscript) -> _Eval:
        """The lag syntax ``name[t-1]``: the variable's value at the previous step."""
        where = self.after(node.value)
        if not isinstance(node.value, ast.Name):
            self.error("subscripting is not allowed (only a lagged read such as x[t-1])",
                       offset=where)
        name, index = node.value.id, node.slice
        lag = (isinstance(index, ast.BinOp) and isinstance(index.op, ast.Sub)
               and isinstance(index.left, ast.Name) and index.left.id == "t"
               and isinstance(index.right, ast.Constant) and type(index.right.value) is int)
        if not lag or index.right.value != 1:  # type: ignore[union-attr]
            shown = ast.get_source_segment(self.source, node) or f"{name}[...]"
            if not (isinstance(index, ast.BinOp | ast.Name) and "t" in
                    {n.id for n in ast.walk(index) if isinstance(n, ast.Name)}):
                self.error(f"subscripting is not allowed: '{shown}' (the only subscript is a "
                           f"lagged read, {name}[t-1])", offset=where)
            self.error(f"only the previous step can be read: write {name}[t-1], not '{shown}' "
                       "(a temporal SCM has lag 1)", offset=where)
        if name.startswith("_"):
            self.error(f"names starting with '_' are not allowed: '{name}'", node)
        if self.strict and name not in self.lags:
            if not self.lags:
                self.error(f"'{name}[t-1]' reads the previous step, which only a temporal SCM "
                           "has", node)
            self.error(f"unknown variable '{name}' in the lagged read '{name}[t-1]'"
                       f"{_suggest(name, self.lags)}", node)
        self.lagged.add(name)
        key = lag_key(name)
        return lambda env, n: _lookup(env, key)

    def visit_Constant(self, node: ast.Constant) -> _Eval:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = {str: "a string", bytes: "a bytes literal", complex: "a complex number",
                    bool: "a boolean (write 1 or 0)"}.get(type(value), f"the literal {value!r}")
            self.error(f"{kind} is not allowed", node)
        try:
            number = np.float64(float(value))
        except OverflowError:  # an integer literal beyond float64
            number = np.float64(np.inf)
        return lambda env, n: number

    def visit_Name(self, node: ast.Name) -> _Eval:
        name = node.id
        if name.startswith("_"):
            self.error(f"names starting with '_' are not allowed: '{name}'", node)
        if name in self.allowed_names or (not self.strict and name not in ("noise", *CONSTANTS)):
            self.names_used.add(name)
            return lambda env, n: _lookup(env, name)
        if name == "noise":
            if not self.allow_noise:
                self.error("'noise' is not allowed in this expression", node)
            self.uses_noise = True
            return lambda env, n: _lookup(env, "noise")
        if name in CONSTANTS:
            value = np.float64(CONSTANTS[name])
            return lambda env, n: value
        if name in self.functions:
            self.error(f"'{name}' is a function; call it as {name}(...)", node)
        candidates = [*self.allowed_names, *CONSTANTS] + (["noise"] if self.allow_noise else [])
        self.error(f"unknown name '{name}'{_suggest(name, candidates)}", node)

    def visit_BinOp(self, node: ast.BinOp) -> _Eval:
        ufunc = _BINARY.get(type(node.op))
        if ufunc is None:
            symbol = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            self.error(f"operator '{symbol}' is not allowed", offset=self.after(node.left))
        if isinstance(node.op, ast.Pow) and _foldable(node.right):
            # The exponent is compiled once and its folded value checked: re-visiting it inside
            # the check made a chain like 1**1**...**1 cost 2**depth visits.
            right = self.visit(node.right)
            self.check_exponent(node.right, right)
            left = self.visit(node.left)
        else:
            left, right = self.visit(node.left), self.visit(node.right)
        return lambda env, n: ufunc(left(env, n), right(env, n))

    def check_exponent(self, node: ast.expr, compiled: _Eval) -> None:
        # A literal-only exponent is folded in float64 (cheap, cannot hang) and bounded.
        with np.errstate(all="ignore"):
            value = float(compiled({}, 1))
        if not abs(value) <= MAX_EXPONENT:
            self.error(f"constant exponent {value:g} is too large "
                       f"(|exponent| must be <= {MAX_EXPONENT:g})", node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Eval:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda env, n: np.negative(operand(env, n))
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return lambda env, n: _as_float(np.logical_not(_truth(operand(env, n))))
        self.error("operator '~' is not allowed", node)

    def visit_BoolOp(self, node: ast.BoolOp) -> _Eval:
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        parts = [self.visit(value) for value in node.values]
        return lambda env, n: _as_float(
            functools.reduce(combine, (_truth(part(env, n)) for part in parts)))

    def visit_Compare(self, node: ast.Compare) -> _Eval:
        for op, left in zip(node.ops, [node.left, *node.comparators], strict=False):
            if type(op) not in _COMPARE:
                self.error(f"operator '{_OPERATOR_TEXT[type(op)]}' is not allowed",
                           offset=self.after(left))
        ufuncs = [_COMPARE[type(op)] for op in node.ops]
        operands = [self.visit(node.left), *(self.visit(c) for c in node.comparators)]

        def compare(env: _Env, n: int) -> Any:
            values = [operand(env, n) for operand in operands]
            result = functools.reduce(np.logical_and, (
                ufunc(a, b) for ufunc, a, b in zip(ufuncs, values, values[1:], strict=False)))
            return _as_float(result)
        return compare

    def visit_IfExp(self, node: ast.IfExp) -> _Eval:
        test, body, orelse = self.visit(node.test), self.visit(node.body), self.visit(node.orelse)
        return lambda env, n: np.where(_truth(test(env, n)), body(env, n), orelse(env, n))

    def visit_Call(self, node: ast.Call) -> _Eval:
        if not isinstance(node.func, ast.Name):
            self.error("only named functions can be called", node)
        name = node.func.id
        if name.startswith("_"):
            self.error(f"names starting with '_' are not allowed: '{name}'", node)
        if name not in self.functions:
            if name in self.allowed_names or name in CONSTANTS or name == "noise":
                self.error(f"'{name}' is not a function", node)
            if self.strict:
                allowed = sorted(self.functions)
                self.error(f"unknown function '{name}'{_suggest(name, allowed)}; allowed "
                           f"functions: {', '.join(allowed)}", node)
        if node.keywords:
            self.error(f"keyword arguments are not allowed in {name}()", node.keywords[0])
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.error("a starred argument is not allowed", arg)
        self.check_arity(name, node)
        args = [self.visit(arg) for arg in node.args]
        self.functions_used.add(name)
        if name in _BUILTINS:
            function = _BUILTINS[name][0]
            return lambda env, n: function(*(arg(env, n) for arg in args))
        function = self.functions.get(name)  # None in lenient mode: never evaluated

        def call_scene_function(env: _Env, n: int) -> Any:
            values = [np.broadcast_to(_as_float(arg(env, n)), (n,)) for arg in args]
            return _as_float(function(*values))  # type: ignore[misc]
        return call_scene_function

    def check_arity(self, name: str, node: ast.Call) -> None:
        count = len(node.args)
        if name in _BUILTINS:
            _, low, high, signature = _BUILTINS[name]
            if count < low or (high is not None and count > high):
                wanted = (f"at least {low} arguments" if high is None
                          else f"{low} argument{'s' if low != 1 else ''}")
                self.error(f"{name}() takes {wanted} ({signature}), got {count}", node)
        elif name in self.functions:
            try:
                scene_signature = inspect.signature(self.functions[name])
            except (TypeError, ValueError):  # builtins and ufuncs may not expose a signature
                return
            try:
                scene_signature.bind(*range(count))
            except TypeError:
                self.error(f"{name}() takes arguments {scene_signature}, got {count}", node)


def lag_key(name: str) -> str:
    """The environment key under which an expression reads ``name`` at the previous step."""
    return name + LAG_SUFFIX


def _foldable(node: ast.expr) -> bool:
    """True when ``node`` holds only literals, constants and arithmetic (it can be folded)."""
    return all(isinstance(sub, _FOLDABLE) and getattr(sub, "id", "pi") in CONSTANTS
               for sub in ast.walk(node))


def _lookup(env: _Env, name: str) -> Any:
    try:
        return _as_float(env[name])
    except KeyError:
        raise KeyError(f"the expression needs {name!r}, which the environment lacks") from None


def _column(encoded: bytes, offset: int) -> int:
    """1-based character column of a UTF-8 byte offset (what ast reports)."""
    return len(encoded[:offset].decode("utf-8", errors="ignore")) + 1


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _parse(text: str) -> tuple[str, ast.expr]:
    """Check size, parse, and bound node count and depth; returns (source shown in errors, tree)."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; "
                              f"the limit is {MAX_LENGTH}")
    source = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if not source.strip():
        raise ExpressionError("empty expression", text)
    lead = len(source) - len(source.lstrip())  # eval mode refuses leading blanks
    try:
        with warnings.catch_warnings():  # e.g. SyntaxWarning for `1 is 1`; it is refused anyway
            warnings.simplefilter("ignore")
            tree = ast.parse(source[lead:], mode="eval").body
    except SyntaxError as exc:
        offset = exc.offset or len(source) - lead + 1  # 0: the text ended too early
        position = None if exc.offset is None else min(offset + lead, len(source) + 1)
        raise ExpressionError(f"syntax error: {exc.msg}", source, position) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ExpressionError("expression is too deeply nested or malformed", source) from None
    if lead:
        for node in ast.walk(tree):
            if isinstance(node, ast.expr):
                node.col_offset += lead
                node.end_col_offset = (node.end_col_offset or 0) + lead
    count, stack = 0, [(tree, 1)]
    while stack:  # iterative, so hostile input cannot exhaust the Python stack here
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression has more than {MAX_NODES} nodes", source)
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep",
                                  source, _column(source.encode("utf-8"), node.col_offset))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if isinstance(child, ast.expr | ast.keyword))
    return source, tree




Compiler = _Compiler
parse_checked = _parse
