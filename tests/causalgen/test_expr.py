"""Tests of the safe expression language (causalgen.scm.expr)."""

from __future__ import annotations

import ast
import contextlib
import pickle
import re
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causalgen.errors import ExpressionError, SpecError
from causalgen.scm.expr import (
    BUILTIN_FUNCTIONS,
    CONSTANTS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    Expression,
    compile_expression,
    referenced_names,
)

N = 7
X = np.linspace(-3.0, 3.0, N)
Y = np.array([0.5, 1.0, 2.0, -1.0, 0.0, 3.0, -2.5])
NOISE = np.array([0.1, -0.2, 0.3, 0.0, 1.0, -1.0, 0.05])
ENV = {"x": X, "y": Y, "noise": NOISE}
VARS = ("x", "y")


def run(text: str, env: dict | None = None, n: int = N, **kwargs) -> np.ndarray:
    expression = compile_expression(text, kwargs.pop("variables", VARS), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # evaluation must be silent, not just exception-free
        return expression(ENV if env is None else env, n)


@pytest.mark.parametrize(("text", "expected"), [
    ("2.5 * x + noise", 2.5 * X + NOISE),
    ("x - y / 2", X - Y / 2),
    ("x ** 2 + -y", X**2 - Y),
    ("x // 2 + x % 2", X // 2 + X % 2),
    ("+x", X),
    ("sqrt(abs(x)) * sin(y) + exp(-x ** 2)", np.sqrt(np.abs(X)) * np.sin(Y) + np.exp(-X**2)),
    ("arctan2(y, x) + hypot(x, y) + mod(x, 2)", np.arctan2(Y, X) + np.hypot(X, Y) + np.mod(X, 2)),
    ("log1p(abs(x)) + log2(2) + log10(100) + cbrt(x)",
     np.log1p(np.abs(X)) + 1 + 2 + np.cbrt(X)),
    ("floor(x) + ceil(y) + round(x) + sign(y)", np.floor(X) + np.ceil(Y) + np.round(X) + np.sign(Y)),
    ("tanh(x) + cosh(y) + sinh(0.5) + tan(0.3) + cos(x)",
     np.tanh(X) + np.cosh(Y) + np.sinh(0.5) + np.tan(0.3) + np.cos(X)),
    ("arcsin(0.5) + arccos(0.5) + arctan(x) + expm1(y)",
     np.arcsin(0.5) + np.arccos(0.5) + np.arctan(X) + np.expm1(Y)),
    ("degrees(x) + radians(y) - rad2deg(x) - deg2rad(y)", np.zeros(N)),
    ("sigmoid(x) + softplus(y)", 1 / (1 + np.exp(-X)) + np.log1p(np.exp(Y))),
    ("clip(x, -1, 1)", np.clip(X, -1, 1)),
    ("min(x, y) + max(x, y, 0.5)", np.minimum(X, Y) + np.maximum(np.maximum(X, Y), 0.5)),
    ("where(x > 0, sqrt(x), 0)", np.where(X > 0, np.sqrt(np.abs(X)), 0.0)),
    ("x if x > y else y", np.maximum(X, Y)),
    ("pi * e + tau", np.full(N, np.pi * np.e + 2 * np.pi)),
    ("x < y", (X < Y).astype(float)),
    ("x <= y", (X <= Y).astype(float)),
    ("x >= 0", (X >= 0).astype(float)),
    ("x == 0", (X == 0).astype(float)),
    ("x != 0", (X != 0).astype(float)),
    ("-1 < x <= 1", ((X > -1) & (X <= 1)).astype(float)),
    ("0 < x < y < 5", ((X > 0) & (X < Y) & (Y < 5)).astype(float)),
    ("x > 0 and y > 0", ((X > 0) & (Y > 0)).astype(float)),
    ("x > 0 or y > 0 or noise > 0", ((X > 0) | (Y > 0) | (NOISE > 0)).astype(float)),
    ("not x", (X == 0).astype(float)),
])
def test_values_match_numpy(text: str, expected: np.ndarray) -> None:
    result = run(text)
    assert result.dtype == np.float64 and result.shape == (N,)
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


def test_scalars_broadcast_to_n() -> None:
    result = run("2 * x + noise", {"x": 3.0, "noise": 1}, n=4)
    assert result.dtype == np.float64 and result.shape == (4,)
    np.testing.assert_array_equal(result, np.full(4, 7.0))
    np.testing.assert_array_equal(run("1.5", {}, n=3), np.full(3, 1.5))
    np.testing.assert_array_equal(run("x + y", {"x": X, "y": 1.0}), X + 1.0)


def test_result_is_a_fresh_array() -> None:
    x = X.copy()
    result = run("x", {"x": x})
    result[:] = 99.0
    np.testing.assert_array_equal(x, X)


def test_metadata() -> None:
    expression = compile_expression("f(x, 2) + sqrt(noise) + pi * x", ["x", "y", "z"],
                                    {"f": lambda a, b: a * b})
    assert isinstance(expression, Expression)
    assert expression.names == frozenset({"x"})
    assert expression.uses_noise
    assert expression.functions_used == frozenset({"f", "sqrt"})
    assert expression.text == "f(x, 2) + sqrt(noise) + pi * x"
    plain = compile_expression("3 * y", VARS)
    assert plain.names == frozenset({"y"}) and not plain.uses_noise and not plain.functions_used


def test_scene_functions_are_callable_with_arrays() -> None:
    seen = []

    def shadow_length(angle: np.ndarray, light: np.ndarray) -> np.ndarray:
        seen.append((angle.shape, light.shape))
        return np.tan(angle) * light

    text = "shadow_length(pendulum_angle, 2) + noise"
    expression = compile_expression(text, ["pendulum_angle"], {"shadow_length": shadow_length})
    angle = np.linspace(0, 1, 5)
    result = expression({"pendulum_angle": angle, "noise": 0.0}, 5)
    np.testing.assert_allclose(result, np.tan(angle) * 2)
    assert seen == [((5,), (5,))]  # scalar arguments arrive broadcast to (n,)


def test_scene_function_arity_and_shadowing() -> None:
    with pytest.raises(ExpressionError, match=r"f\(\) takes arguments \(a, b\), got 1"):
        compile_expression("f(x)", VARS, {"f": lambda a, b: a + b})
    with pytest.raises(ExpressionError, match="builtin"):
        compile_expression("x", VARS, {"sqrt": np.sqrt})
    # A function may share a variable's name: called it is the function, read it is the variable.
    shared = compile_expression("y(x) + y", VARS, {"y": np.sqrt})
    assert shared.names == frozenset({"x", "y"}) and shared.functions_used == frozenset({"y"})
    np.testing.assert_allclose(shared({"x": np.array([4.0]), "y": np.array([1.0])}, 1), [3.0])
    compile_expression("g(x)", VARS, {"g": np.sqrt})  # a ufunc without a signature is fine


def test_noise_and_extra_names() -> None:
    with pytest.raises(ExpressionError, match="'noise' is not allowed"):
        compile_expression("x + noise", VARS, allow_noise=False)
    expression = compile_expression("x + t", VARS, extra_names=["t"])
    assert expression.names == frozenset({"x", "t"})
    np.testing.assert_allclose(expression({"x": X, "t": 1.0}, N), X + 1)


def _double(a: np.ndarray) -> np.ndarray:
    return 2 * a


def test_expressions_pickle_by_recompiling() -> None:
    expression = compile_expression("double(x) + t + noise", VARS, {"double": _double},
                                    allow_noise=True, extra_names=["t"])
    clone = pickle.loads(pickle.dumps(expression))
    assert clone == expression and clone.names == expression.names
    env = {"x": X, "t": 1.0, "noise": NOISE}
    np.testing.assert_array_equal(clone(env, N), expression(env, N))


def test_missing_environment_entry_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="'y'"):
        compile_expression("x + y", VARS)({"x": X}, N)


def test_referenced_names() -> None:
    text = "shadow_length(pendulum_angle, light_angle) + noise * pi + sqrt(size)"
    assert referenced_names(text) == frozenset({"pendulum_angle", "light_angle", "size"})
    with pytest.raises(ExpressionError):
        referenced_names("x.real")
    with pytest.raises(ExpressionError, match="clip"):
        referenced_names("clip(x, 1)")
    with pytest.raises(ExpressionError, match="not a function"):
        referenced_names("pi(2)")


@pytest.mark.parametrize(("text", "message", "column"), [
    ("__import__('os')", "'_'", 1),
    ("().__class__.__bases__", "attribute access", 13),
    ("x.real", "attribute access", 2),
    ("x[0]", "subscripting", 2),
    ("lambda: 1", "lambda", 1),
    ("[i for i in x]", "comprehension", 1),
    ("(i for i in x)", "generator", 1),
    ("'a'", "string", 1),
    ("b'a'", "bytes", 1),
    ("x + f'{x}'", "f-string", 5),
    ("(y := 1)", "walrus", 2),
    ("[x, y]", "list", 1),
    ("(x, y)", "tuple", 1),
    ("{1: 2}", "dict", 1),
    ("{x}", "set", 1),
    ("True + x", "boolean", 1),
    ("None", "None", 1),
    ("2j * x", "complex", 1),
    ("9 ** 9 ** 9", "exponent", 6),
    ("x ** 101", "exponent", 6),
    ("x ** -(50 * 3)", "exponent", 6),
    ("x ** (pi * 100)", "exponent", 7),
    ("eval('1')", "unknown function 'eval'", 1),
    ("open('f')", "unknown function 'open'", 1),
    ("exec('1')", "unknown function", 1),
    ("x + sqrtt(x)", "did you mean 'sqrt'", 5),
    ("(x + 1)(2)", "only named functions", 1),
    ("x(2)", "not a function", 1),
    ("sqrt(x=1)", "keyword", 6),
    ("sqrt(*x)", "starred", 6),
    ("max(x, **y)", "keyword", 8),
    ("clip(x, 1)", "clip() takes 3 arguments (x, low, high), got 2", 1),
    ("sqrt(x, y)", "sqrt() takes 1 argument", 1),
    ("max(x)", "at least 2", 1),
    ("x + xx", "did you mean 'x'", 5),
    ("y + nosie", "did you mean 'noise'", 5),
    ("sqrt + 1", "is a function", 1),
    ("_x + 1", "'_'", 1),
    ("x @ y", "'@'", 3),
    ("x  | y", "'|'", 4),
    ("x << 1", "'<<'", 3),
    ("~x", "'~'", 1),
    ("x in y", "'in'", 3),
    ("x is y", "'is'", 3),
    ("x +", "syntax error", 4),
    ("x * (y +", "never closed", 5),
    ("x ) + 1", "syntax error", 3),
    ("θ + z.y", "attribute access", 6),  # columns count characters, not UTF-8 bytes
])
def test_hostile_and_invalid_input_is_rejected(text: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, [*VARS, "θ", "z"])
    assert message in str(info.value)
    assert info.value.position == column
    assert isinstance(info.value, SpecError)


@pytest.mark.parametrize("text", [
    "",
    "   ",
    "x" * (MAX_LENGTH + 1),
    "x + " * 600 + "x",
    "+".join(["x"] * (MAX_NODES // 2 + 10)),  # more than MAX_NODES nodes, within MAX_LENGTH
    "(" * 5000 + "x" + ")" * 5000,
    "(" * 300 + "x" + ")" * 300,
    "sqrt(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5),
    "-" * (MAX_LENGTH - 1) + "x",
    "x\x00",
])
def test_oversized_deep_and_empty_input_is_rejected_quickly(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        compile_expression(text, VARS)
    assert time.perf_counter() - start < 1.0


def test_depth_error_points_into_the_text() -> None:
    text = "-" * (MAX_DEPTH + 3) + "x"
    with pytest.raises(ExpressionError, match="nested") as info:
        compile_expression(text, VARS)
    assert info.value.position == MAX_DEPTH + 1


def test_leading_blanks_and_line_breaks_are_spaces() -> None:
    np.testing.assert_allclose(run("  x +\n  (y *\t2)"), X + Y * 2)
    with pytest.raises(ExpressionError) as info:
        compile_expression("  x.real", VARS)
    assert info.value.position == 4


@pytest.mark.parametrize("text", [
    "exp(1000)", "10.0 ** 99 * 10.0 ** 99 * 10.0 ** 99 * 10.0 ** 99", "1 / 0", "x / 0",
    "0 / 0", "x // 0", "x % 0", "log(0) + log(-1)", "sqrt(-1)", "2 ** (x * 1000)",
    "1" + "0" * 400 + " * 10", "1e308 * 10", "(x * 1e10) ** 2 ** 5", "1" * 1999, "arcsin(2)", "x ** 100",
    "cosh(1000) - cosh(1000)", "(-8) ** (1/3)",
])
def test_overflow_gives_inf_or_nan_not_an_exception(text: str) -> None:
    result = run(text, {"x": X * 1000, "y": Y, "noise": NOISE})
    assert result.dtype == np.float64 and result.shape == (N,)
    assert not np.all(np.isfinite(result))


def test_constant_exponents_within_the_limit_are_fine() -> None:
    np.testing.assert_allclose(run("x ** 2 ** 3"), X**8)
    np.testing.assert_allclose(run("2 ** -100 * x"), 2.0**-100 * X)
    np.testing.assert_allclose(run("y ** x"), Y**X, equal_nan=True)


# Property tests: any text either compiles to something that evaluates to float64 (n,), or raises
# ExpressionError; never another exception, never slowly.

_ALPHABET = "xy0123456789.eE+-*/%<>=!()[]{},:'\" _abcdnoiqrstlmpw@&|^~#\n"
_TEXTS = st.one_of(
    st.text(alphabet=_ALPHABET, max_size=60),
    st.text(max_size=30),
    st.lists(st.sampled_from(["x", "y", "noise", "1", "2.5", "1e308", "+", "-", "*", "/", "**",
                              "//", "%", "<", "==", " and ", " or ", "not ", " if ", " else ",
                              "(", ")", ",", "sqrt(", "max(", "where(", "f(", "_", ".real",
                              "lambda:", "[0]", "9 ** 9 ** 9"]), max_size=25).map("".join),
)


def _names() -> st.SearchStrategy[ast.expr]:
    return st.sampled_from(["x", "y", "noise", "pi", "zz", "_x", "__import__", "sqrt",
                            "eval"]).map(lambda name: ast.Name(id=name, ctx=ast.Load()))


_LEAVES = st.one_of(
    _names(),
    st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False),
              st.sampled_from([True, None, "s", 1j, 10**400])).map(lambda v: ast.Constant(value=v)),
)
_BINOPS = [ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.FloorDiv(), ast.Mod(), ast.Pow(),
           ast.MatMult(), ast.BitOr(), ast.LShift()]
_CMPOPS = [ast.Lt(), ast.LtE(), ast.Gt(), ast.GtE(), ast.Eq(), ast.NotEq(), ast.In(), ast.Is()]
_FUNCS = [*BUILTIN_FUNCTIONS, "f", "eval", "open", "x"]


def _extend(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    load = ast.Load()
    return st.one_of(
        st.builds(ast.BinOp, children, st.sampled_from(_BINOPS), children),
        st.builds(ast.UnaryOp, st.sampled_from([ast.USub(), ast.UAdd(), ast.Not(), ast.Invert()]),
                  children),
        st.builds(lambda left, ops, rest: ast.Compare(left, ops, rest[:len(ops)] or [left]),
                  children, st.lists(st.sampled_from(_CMPOPS), min_size=1, max_size=3),
                  st.lists(children, min_size=3, max_size=3)),
        st.builds(lambda op, values: ast.BoolOp(op, values), st.sampled_from([ast.And(), ast.Or()]),
                  st.lists(children, min_size=2, max_size=3)),
        st.builds(ast.IfExp, children, children, children),
        st.builds(lambda name, args: ast.Call(ast.Name(name, load), args, []),
                  st.sampled_from(_FUNCS), st.lists(children, max_size=4)),
        st.builds(lambda value: ast.Attribute(value, "real", load), children),
        st.builds(lambda value: ast.Subscript(value, ast.Constant(0), load), children),
        st.builds(lambda items: ast.List(items, load), st.lists(children, max_size=2)),
        st.builds(lambda body: ast.Lambda(ast.arguments([], [], None, [], [], None, []), body),
                  children),
    )


_TREES = st.recursive(_LEAVES, _extend, max_leaves=25)
_SCENE = {"f": lambda a, b: a * b}


def _compile_and_evaluate(text: str) -> None:
    start = time.perf_counter()
    try:
        expression = compile_expression(text, VARS, _SCENE)
    except ExpressionError:
        pass
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = expression(ENV, N)
        assert result.dtype == np.float64 and result.shape == (N,)
    assert time.perf_counter() - start < 0.5


@settings(max_examples=400, deadline=1000)
@given(_TEXTS)
def test_random_text_compiles_or_raises_expression_error(text: str) -> None:
    _compile_and_evaluate(text)
    with contextlib.suppress(ExpressionError):
        referenced_names(text)


@settings(max_examples=400, deadline=1000)
@given(_TREES)
def test_random_trees_compile_or_raise_expression_error(tree: ast.expr) -> None:
    _compile_and_evaluate(ast.unparse(tree))


def test_public_tables() -> None:
    assert set(CONSTANTS) == {"pi", "e", "tau"}
    assert {"where", "clip", "min", "max", "sigmoid", "softplus", "mod"} <= set(BUILTIN_FUNCTIONS)
    with pytest.raises(TypeError):
        BUILTIN_FUNCTIONS["evil"] = eval  # type: ignore[index]


# -- lagged reads (temporal SCMs, issue 14) ------------------------------------------------------
def test_lagged_read_evaluates_from_the_previous_step() -> None:
    from causalgen.scm.expr import lag_key, referenced_lags

    e = compile_expression("0.9 * temp[t-1] + 0.3 * heater + noise", ["temp", "heater"],
                           lags=["temp", "heater"])
    assert e.names == {"heater"} and e.lagged == {"temp"}
    out = e({lag_key("temp"): np.array([10.0, 20.0]), "heater": 1.0, "noise": 0.5}, 2)
    np.testing.assert_allclose(out, [9.8, 18.8])
    assert referenced_names("0.9 * temp[t-1] + heater") == {"heater"}
    assert referenced_lags("0.9 * temp[t-1] + heater") == {"temp"}
    assert referenced_lags("temp[ t - 1 ]") == {"temp"}


@pytest.mark.parametrize(("text", "message"), [
    ("temp[t-2]", "only the previous step can be read: write temp[t-1]"),
    ("temp[t]", "only the previous step can be read"),
    ("temp[t+1]", "only the previous step can be read"),
    ("temp[0]", "subscripting is not allowed"),
    ("tmp[t-1]", "unknown variable 'tmp' in the lagged read 'tmp[t-1]'; did you mean 'temp'"),
    ("sin(temp)[t-1]", "subscripting is not allowed"),
])
def test_bad_lags_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        compile_expression(text, ["temp"], lags=["temp"])


def test_lagged_read_needs_a_temporal_scm() -> None:
    with pytest.raises(ExpressionError, match="only a temporal SCM has"):
        compile_expression("temp[t-1]", ["temp"])
