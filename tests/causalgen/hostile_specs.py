"""Random hostile spec files, for the property tests and the soak (``bench/soak_hostile.py``).

:func:`hostile_spec` draws one spec file's bytes from a ``random.Random``: expressions with
exponent towers, deep nesting, huge literals and compatibility-Unicode names; custom scenes near
and beyond the documented limits (variables, shapes, text size, polygon points); TOML nested too
deeply, binary or non-UTF-8 bytes, oversized files; and random damage to the bundled specs. The
promise under test (:func:`run_spec`): loading the file and generating a few samples either works
or raises a :class:`~causalgen.errors.CausalgenError` -- never another exception, never a hang.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

from causalgen.errors import CausalgenError

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "data" / "scenes").glob("*.toml"))
NAMES = ["a", "b", "c", "x1", "ﬁ", "ℌ", "Ⅸ", "é", "e\u0301", "_x", "noise", "pi", "if", "a" * 80]
FUNCS = ["sin", "exp", "log", "sqrt", "sigmoid", "max", "min", "clip", "where", "hypot",
         "cosh", "__import__", "open", "getattr"]
LITERALS = ["0", "1", "2", "0.5", "-1", "1e308", "1e-308", "9" * 400, "1e999", "nan", "inf",
            "0x10", "1_000", "3j", "'s'", "True"]
DISTRIBUTIONS = ["uniform(0, 1)", "normal(0, 1)", "uniform(1, 0)", "normal(0, -1)",
                 "normal(0, 1e308)", "uniform(-1e308, 1e308)", "beta(0, 0)", "lognormal(0, 1e3)",
                 "truncnormal(0, 1, 5, 4)", "exponential(0)", "bernoulli(2)", "laplace(0, 1)",
                 "uniform(0, 1" + ")" * 50, "normal(" * 60, "constant(1e400)", "nope(1)", "7"]
KINDS = ["circle", "ellipse", "rectangle", "line", "polygon", "text", "triangle"]
GEOMETRY = ["x", "y", "radius", "rx", "ry", "width", "height", "angle", "x1", "y1", "x2", "y2",
            "font_size", "opacity", "outline_width"]


def expression(rnd: random.Random, names: list[str], depth: int = 0) -> str:
    """A random expression over ``names``: towers of ``**``, nesting, calls, odd literals."""
    roll = rnd.random()
    if depth > rnd.choice([2, 4, 8, 50]) or roll < 0.25:
        return rnd.choice(names + LITERALS) if names else rnd.choice(LITERALS)
    if roll < 0.35:  # an exponent tower, the classic exponential-time trap
        base = rnd.choice([*names, "2", "1", "0.5", "1.0001"])
        return "**".join([base] * rnd.randint(2, 60))
    if roll < 0.45:
        return "(" * (k := rnd.randint(1, 120)) + rnd.choice([*names, "1"]) + ")" * k
    if roll < 0.65:
        op = rnd.choice(["+", "-", "*", "/", "//", "%", "**", "<", "==", " and ", " or ", "@",
                         "<<", "|"])
        return f"({expression(rnd, names, depth + 1)}{op}{expression(rnd, names, depth + 1)})"
    if roll < 0.8:
        f = rnd.choice(FUNCS)
        args = ", ".join(expression(rnd, names, depth + 1) for _ in range(rnd.randint(0, 4)))
        return f"{f}({args})"
    if roll < 0.9:
        return (f"({expression(rnd, names, depth + 1)} if {expression(rnd, names, depth + 1)}"
                f" else {expression(rnd, names, depth + 1)})")
    return rnd.choice(["x.__class__", "[1][0]", "lambda: 1", "f'{a}'", "a[t-1]", "(a := 1)",
                       "-" * 500 + "1", "not " * 300 + "1", "a" * 5000])


def mild_expression(rnd: random.Random, names: list[str]) -> str:
    """A valid expression whose values may still be extreme (overflow, nan, huge sizes)."""
    a = rnd.choice(names) if names else "1"
    b = rnd.choice(names) if names else "2"
    return rnd.choice([
        f"{a} * {rnd.choice([1, 10, 1e6, 1e308, -1])} + {rnd.randint(0, 40)}",
        f"clip({a} * 40, 0, 64)", f"{a} ** {rnd.choice([0.5, 2, 30, 100])}",
        f"exp({a} * {rnd.choice([1, 800])})", f"log({a} - {b})", f"{a} / ({b} - {b})",
        f"where({a} > 0.5, {b}, 1e9)", f"sin({a}) * 20 + 32", f"max({a}, {b}) * 30",
        "**".join([a] * rnd.randint(2, 30)), f"{a} if {b} < 0.5 else -{a}",
        f"sqrt({a}) * 16 + 8",
    ])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scene_spec(rnd: random.Random) -> str:
    """A spec over a registered scene with random mechanisms and noises."""
    scene = rnd.choice(["pendulum-v1", "flow-v1", "pendulum-v9", "nope"])
    names = {"pendulum-v1": ["light_angle", "pendulum_angle", "shadow_length",
                             "shadow_position"],
             "flow-v1": ["ball_size", "water_height", "hole_height", "water_distance"]}.get(
                 scene, ["a"])
    lines = [f"scene = {_quote(scene)}"]
    for name in rnd.sample(names, rnd.randint(1, len(names))):
        lines.append(f"[variables.{name}]")
        if rnd.random() < 0.8:
            lines.append(f"mechanism = {_quote(expression(rnd, [*names, 'noise']))}")
        if rnd.random() < 0.5:
            lines.append(f"noise = {_quote(rnd.choice(DISTRIBUTIONS))}")
    return "\n".join(lines) + "\n"


REQUIRED_KEYS = {"circle": ["x", "y", "radius"], "ellipse": ["x", "y", "rx", "ry"],
                 "rectangle": ["x", "y", "width", "height"], "line": ["x1", "y1", "x2", "y2"],
                 "polygon": [], "text": ["x", "y"]}


def custom_spec(rnd: random.Random) -> str:
    """A custom scene: variables, shapes and text near and beyond the documented limits.

    Most (60 %) are "sane" (valid kinds with their required keys, valid noises): those reach sampling
    and rendering, where hostile expressions and sizes cost time and memory.
    """
    sane = rnd.random() < 0.6
    n_vars = rnd.choice([1, 2, 3, 5] if sane else [1, 2, 20, 199, 201, 400])
    names = [f"v{i}" for i in range(n_vars)]
    if rnd.random() < 0.1:
        names[0] = rnd.choice(NAMES)
    size = rnd.choice([16, 32] if sane else [16, 32, 64, 15, 1025, 2**40, "'big'"])
    lines = [f"size = {size}"]
    for i, name in enumerate(names):
        lines.append(f"[variables.{_quote(name)}]")
        lines.append(f"noise = {_quote(rnd.choice(DISTRIBUTIONS[:2] if sane else DISTRIBUTIONS))}")
        if i and rnd.random() < 0.5:
            make = mild_expression if sane and rnd.random() < 0.8 else expression
            lines.append(f"mechanism = {_quote(make(rnd, [*names[:i], 'noise']))}")
        if not sane and rnd.random() < 0.7:
            low = rnd.choice([0, -1e308, 1, "nan", "inf"])
            lines.append(f"low = {low}\nhigh = {rnd.choice([1, 100, 1e308, 0])}")
    n_shapes = rnd.choice([1, 3, 10] if sane else [0, 1, 3, 499, 501, 2000])
    for _ in range(n_shapes):
        kind = rnd.choice(list(REQUIRED_KEYS) if sane else KINDS)
        lines.append(f"[[shapes]]\nkind = {_quote(kind)}")
        optional = ["opacity"] if kind in ("circle", "line") else ["angle", "opacity"]
        keys = (REQUIRED_KEYS[kind] + rnd.sample(optional, rnd.randint(0, len(optional)))
                if sane else rnd.sample(GEOMETRY, rnd.randint(2, 6)))
        for key in keys:
            make = mild_expression if sane and rnd.random() < 0.8 else expression
            value = (rnd.choice([0, 1, 10, 1e9, -1e9, 1e308])
                     if rnd.random() < 0.4 else _quote(make(rnd, names)))
            lines.append(f"{key} = {value}")
        if kind == "text":
            lines.append(f"text = {_quote(rnd.choice(['W', 'x' * 200, 'x' * 201, 'é']))}")
            font_size = rnd.choice(["10", "500", "2000", "1e9", _quote(f"{names[0]} * 1e6")])
            lines.append(f"font_size = {font_size}")
        if kind == "polygon":
            k = rnd.choice([3, 50, 1000] if sane else [2, 3, 1000, 1001])
            lines.append("points = [" + ", ".join(f"[{i % 7}, {i % 5}]" for i in range(k)) + "]")
        if rnd.random() < 0.3:
            fills = ["red", f"hsv({names[0]} * 360, 1, 1)"] + ([] if sane else ["#zzz", "rgb("])
            lines.append(f"fill = {_quote(rnd.choice(fills))}")
    return "\n".join(lines) + "\n"


def raw_hostile(rnd: random.Random) -> bytes:
    """Files that are not sane TOML: deep nesting, binary, other encodings, oversize."""
    k = rnd.choice([31, 33, 1000, 100_000])
    return rnd.choice([
        lambda: ("x = " + "[" * k + "]" * k).encode(),
        lambda: ("x = " + "{a = " * k + "1" + "}" * k).encode(),
        lambda: ("[" + "a." * k + "b]\n").encode(),
        lambda: bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 4000))),
        lambda: 'scene = "pendulum-v1"\nname = "caf\xe9"\n'.encode("latin-1"),
        lambda: 'scene = "pendulum-v1"\n'.encode("utf-16"),
        lambda: b"x = 1\n" * 200_000,
        lambda: ("x = '" + "a" * 1_100_000 + "'").encode(),
    ])()


def damaged_bundled(rnd: random.Random) -> bytes:
    """A bundled spec with random bytes flipped, lines dropped or duplicated."""
    data = bytearray(rnd.choice(BUNDLED).read_bytes())
    for _ in range(rnd.randint(1, 5)):
        how = rnd.random()
        i = rnd.randrange(len(data))
        if how < 0.4:
            data[i] = rnd.randrange(256)
        elif how < 0.7:
            j = data.find(b"\n", i)
            del data[i:j if j > 0 else len(data)]
        else:
            data[i:i] = data[max(0, i - 200):i]
    return bytes(data)


def hostile_spec(rnd: random.Random) -> bytes:
    """One random hostile spec file, as bytes."""
    kind = rnd.random()
    if kind < 0.25:
        return scene_spec(rnd).encode("utf-8", errors="surrogatepass")
    if kind < 0.75:
        return custom_spec(rnd).encode("utf-8", errors="surrogatepass")
    if kind < 0.85:
        return raw_hostile(rnd)
    return damaged_bundled(rnd)


def run_spec(path: Path, out: Path, n: int = 8) -> str:
    """Load the spec at ``path`` and generate ``n`` samples (size capped at 32) into ``out``.

    Returns "ok" or the CausalgenError's class name; any other exception propagates.
    """
    from causalgen.generate import generate
    from causalgen.scenes.files import load_spec

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = load_spec(path)
            generate(spec.scene_id, out, n=n, scm=spec.scm, scene_kwargs=spec.scene_kwargs,
                     workers=1, size=None, overwrite=True)
    except CausalgenError as exc:
        return type(exc).__name__
    return "ok"
