"""Hostile spec files: every one is refused clearly (a CausalgenError) or works, at bounded cost.

Known answers for each kind (exponent towers, deep TOML, binary and non-UTF-8 files, oversize
files, the variable and shape limits, names that Unicode normalisation changes, text that would
trip Pillow's decompression-bomb guard), then a property test over random hostile specs from
:mod:`hostile_specs` (the soak, ``bench/soak_hostile.py``, runs 1,000 of them).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
from hostile_specs import hostile_spec, run_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causalgen.errors import ExpressionError, SpecError
from causalgen.limits import (
    MAX_SHAPES,
    MAX_SPEC_BYTES,
    MAX_TEXT_SHAPES,
    MAX_TOML_NESTING,
    MAX_VARIABLES,
)
from causalgen.scenes.files import load_spec
from causalgen.scm.expr import MAX_DEPTH, compile_expression
from causalgen.scm.spec import SCM
from causalgen.scm.tomlfile import read_toml
from causalgen.scm.variable import Variable

CIRCLE = '[[shapes]]\nkind = "circle"\nx = 8\ny = 8\nradius = "v0"\n'


def _write(tmp_path: Path, data: str | bytes, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")
    return p


def _variables(k: int) -> str:
    return "".join(f'[variables.v{i}]\nnoise = "uniform(0, 1)"\nlow = 0\nhigh = 1\n'
                   for i in range(k))


@pytest.mark.parametrize("base", ["1", "0.5", "x"])
def test_an_exponent_tower_compiles_in_linear_time(base: str) -> None:
    # Each level used to re-visit the exponent below it: 2**depth visits (18 levels took 3.6 s).
    text = "**".join([base] * (MAX_DEPTH - 2))
    t0 = time.perf_counter()
    expr = compile_expression(text, ["x"])
    assert time.perf_counter() - t0 < 0.5
    assert np.all(expr({"x": np.full(4, 0.9)}, 4) <= 1.0)


def test_a_constant_exponent_tower_beyond_the_bound_is_refused() -> None:
    with pytest.raises(ExpressionError, match="constant exponent 65536 is too large"):
        compile_expression("2**2**2**2**2", [])


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a = " * 3000 + "1" + "}" * 3000])
def test_deeply_nested_toml_is_a_clear_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(SpecError, match=f"nested more than {MAX_TOML_NESTING} levels"):
        read_toml(_write(tmp_path, f"x = {value}\n"))


def test_a_key_of_many_dotted_parts_is_refused_before_tomllib(tmp_path: Path) -> None:
    # tomllib's dotted keys are quadratic: 100,000 parts took 17 s.
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match="dotted parts"):
        read_toml(_write(tmp_path, "[" + "a." * 100_000 + "b]\n"))
    assert time.perf_counter() - t0 < 2


def test_nesting_inside_strings_and_comments_is_not_counted(tmp_path: Path) -> None:
    text = 'a = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["  # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n'
    text += "b = '''\n" + "[" * 40 + "\n'''\n" + "c = [[1, [2]], {d = {e = 1}}]\n"
    _, _, doc = read_toml(_write(tmp_path, text))
    assert doc["c"] == [[1, [2]], {"d": {"e": 1}}]


@pytest.mark.parametrize(("data", "message"), [
    (b"\x00\xff\xfe\x89PNG\r\n", "is a binary file"),
    ('scene = "pendulum-v1"\nname = "caf\xe9"\n'.encode("latin-1"), r":2: not UTF-8 text"),
    (b"x = 1\n" + b"#" * MAX_SPEC_BYTES, f"larger than {MAX_SPEC_BYTES} bytes"),
])
def test_files_that_are_not_utf8_text_or_too_large_are_clear_errors(
        tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(_write(tmp_path, data))


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    # Windows editors save UTF-8 with a BOM; tomllib called it "Invalid statement" at line 1
    text = (Path(__file__).parents[2] / "data" / "scenes" / "chain.toml").read_text()
    plain = load_spec(_write(tmp_path, text.encode(), "plain.toml"))
    marked = load_spec(_write(tmp_path, b"\xef\xbb\xbf" + text.encode(), "bom.toml"))
    assert marked.scm.to_json() == plain.scm.to_json()
    from causalgen.external.graph import read_graph  # an import's --graph file, likewise

    graph = _write(tmp_path, b"\xef\xbb\xbf" + b'edges = ["a -> b"]\n', "graph.toml")
    assert read_graph(graph, ["a", "b"]).tolist() == [[0, 1], [0, 0]]


def test_the_variable_limit_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path, _variables(MAX_VARIABLES + 1) + CIRCLE)
    with pytest.raises(SpecError, match=f"{MAX_VARIABLES + 1} variables; the limit is "
                                        f"{MAX_VARIABLES}"):
        load_spec(path)
    with pytest.raises(SpecError, match="the limit is"):  # the same limit for Python SCMs
        SCM([Variable(f"v{i}", noise="uniform(0, 1)") for i in range(MAX_VARIABLES + 1)])


def test_the_shape_limit_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path, _variables(1) + CIRCLE * (MAX_SHAPES + 1))
    with pytest.raises(SpecError, match=f"{MAX_SHAPES + 1} shapes; the limit is {MAX_SHAPES}"):
        load_spec(path)


def test_text_shapes_are_limited_and_the_largest_allowed_scene_renders_quickly(
        tmp_path: Path) -> None:
    text = ('[[shapes]]\nkind = "text"\ntext = "' + "W" * 200 + '"\nx = 8\ny = 8\n'
            'font_size = 2000\nangle = "v0 * 90 + 1"\nopacity = 0.5\n')
    with pytest.raises(SpecError, match=f"{MAX_TEXT_SHAPES + 1} text shapes; the limit is"):
        load_spec(_write(tmp_path, _variables(1) + text * (MAX_TEXT_SHAPES + 1)))
    spec = load_spec(_write(tmp_path, "size = 16\n" + _variables(1) + text * MAX_TEXT_SHAPES))
    t0 = time.perf_counter()
    assert run_spec(spec.path, tmp_path / "out.h5", n=1) == "ok"  # + the 1-sample dry run
    assert time.perf_counter() - t0 < 20


@pytest.mark.parametrize(("name", "normal"), [("ﬁ", "fi"), ("ℌ", "H"), ("e\u0301", "é")])
def test_a_name_that_unicode_normalisation_changes_is_refused(
        tmp_path: Path, name: str, normal: str) -> None:
    # Python identifiers are NFKC-normalised by ast: an expression naming 'ℌ' reads 'H'.
    text = (f'[variables."{name}"]\nnoise = "uniform(0, 1)"\nlow = 0\nhigh = 1\n'
            f'[variables.H]\nmechanism = "1 + noise"\nnoise = "uniform(0, 1)"\n'
            + CIRCLE.replace("v0", "H"))
    with pytest.raises(SpecError, match=f"changes under Unicode normalisation.*'{normal}'"):
        load_spec(_write(tmp_path, text))


def test_a_normalised_unicode_name_works(tmp_path: Path) -> None:
    text = '[variables."é"]\nnoise = "uniform(1, 2)"\n' + CIRCLE.replace("v0", "é")
    assert load_spec(_write(tmp_path, text)).scm.names == ("é",)


def test_huge_text_is_drawn_without_tripping_the_decompression_bomb_guard(tmp_path: Path) -> None:
    # 200 characters at the largest font size used to ask Pillow for a 551-megapixel mask.
    text = ("size = 16\n" + _variables(1) + '[[shapes]]\nkind = "text"\ntext = "' + "W" * 200
            + '"\nx = 8\ny = 8\nfont_size = 2000\nangle = "30 * v0"\n' + CIRCLE)
    spec = load_spec(_write(tmp_path, text))
    assert run_spec(spec.path, tmp_path / "out.h5", n=2) == "ok"


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_random_hostile_specs_are_refused_clearly_or_work(tmp_path: Path, seed: int) -> None:
    path = _write(tmp_path, hostile_spec(random.Random(seed)))
    t0 = time.perf_counter()
    outcome = run_spec(path, tmp_path / "out.h5")  # any other exception fails the test
    assert outcome == "ok" or outcome.endswith("Error")
    assert time.perf_counter() - t0 < 30
