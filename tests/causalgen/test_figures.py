"""Figures of causalgen: label wrapping, the layered graph layout, graph and sample-grid files."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from causalgen.errors import FigureError
from causalgen.figures.graph import classify, comparison_figure, graph_figure, text_size
from causalgen.figures.layout import Layout, layout
from causalgen.figures.style import save, wrap
from causalgen.generate import generate
from causalgen.graphviz import graph_of

DATA = Path(__file__).parent / "data"
GREENHOUSE = DATA / "greenhouse.toml"


def test_wrap_breaks_long_names_but_never_cuts_them() -> None:
    for name in ["shadow_cast_by_the_canopy_on_the_ground", "fruitCount", "a", "x" * 40,
                 "irrigation-water-volume-per-day", "pendulum_angle"]:
        text = wrap(name, 14)
        assert text.replace("\n", "") == name
        assert all(len(line) <= 14 for line in text.split("\n")) or "_" not in name
    assert wrap("shadow_cast_by_the_canopy_on_the_ground", 16).split("\n") == [
        "shadow_cast_by_", "the_canopy_on_", "the_ground"]
    assert wrap("a long title with words", 10).split() == ["a", "long", "title", "with", "words"]


def _random_dags(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        n = int(rng.integers(6, 10))
        adj = np.triu(rng.random((n, n)) < 0.35, 1).astype(int)
        perm = rng.permutation(n)
        out.append(adj[np.ix_(perm, perm)])
    return out


def _check_layout(lay: Layout, sizes: list[tuple[float, float]], inset: float) -> None:
    boxes = lay.boxes
    for (i, bi), (j, bj) in itertools.combinations(enumerate(boxes), 2):  # no overlaps
        assert bi[2] <= bj[0] or bj[2] <= bi[0] or bi[3] <= bj[1] or bj[3] <= bi[1], (i, j)
    for i, b in enumerate(boxes):  # the boxes have the requested sizes
        assert b[2] - b[0] == pytest.approx(sizes[i][0]) and b[3] - b[1] == pytest.approx(sizes[i][1])
    for k, (a, b) in enumerate(lay.edges):
        pts = lay.sampled(k)
        for node, (x0, y0, x1, y1) in enumerate(boxes):
            if node in (a, b):
                continue
            inside = ((pts[:, 0] > x0 + inset) & (pts[:, 0] < x1 - inset)
                      & (pts[:, 1] > y0 + inset) & (pts[:, 1] < y1 - inset))
            assert not inside.any(), f"edge {a}->{b} passes through node {node}"


def test_layered_layout_routes_no_edge_through_a_node() -> None:
    rng = np.random.default_rng(0)
    for adj in _random_dags(25, rng):
        n = len(adj)
        sizes = [(float(rng.uniform(40, 140)), float(rng.choice([20.0, 32.0, 44.0])))
                 for _ in range(n)]
        edges = [(int(i), int(j)) for i, j in zip(*np.nonzero(adj), strict=True)]
        lay = layout(sizes, edges, engine="layered")
        _check_layout(lay, sizes, inset=0.0)
        for k, (a, b) in enumerate(edges):  # each edge leaves a's bottom and enters b's top
            (sx, sy), (ex, ey) = lay.routes[k][0], lay.routes[k][-1]
            assert sy == pytest.approx(lay.boxes[a][1]) and lay.boxes[a][0] < sx < lay.boxes[a][2]
            assert ey == pytest.approx(lay.boxes[b][3]) and lay.boxes[b][0] < ex < lay.boxes[b][2]
        for node in range(n):  # arrowheads into one node land apart: they never merge
            ends = sorted(lay.routes[k][-1][0] for k, (_, b) in enumerate(edges) if b == node)
            assert all(q - p >= 5.0 for p, q in itertools.pairwise(ends))


def test_the_checks_catch_an_edge_through_a_node() -> None:
    sizes = [(40.0, 20.0)] * 3
    lay = layout(sizes, [(0, 1), (1, 2), (0, 2)], engine="layered")
    _check_layout(lay, sizes, inset=0.0)
    straight = (lay.boxes[0][0] + 20, lay.boxes[0][1])
    lay.routes[2] = [straight, straight, (lay.boxes[2][0] + 20, lay.boxes[2][3]),
                     (lay.boxes[2][0] + 20, lay.boxes[2][3])]  # straight down through node 1
    lay.boxes[1] = (lay.boxes[0][0], lay.boxes[1][1], lay.boxes[0][2], lay.boxes[1][3])
    lay.boxes[2] = (lay.boxes[0][0], lay.boxes[2][1], lay.boxes[0][2], lay.boxes[2][3])
    with pytest.raises(AssertionError, match="passes through node 1"):
        _check_layout(lay, sizes, inset=0.0)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_dot_layout_when_installed() -> None:
    rng = np.random.default_rng(1)
    for adj in _random_dags(5, rng):
        sizes = [(80.0, 30.0)] * len(adj)
        edges = [(int(i), int(j)) for i, j in zip(*np.nonzero(adj), strict=True)]
        lay = layout(sizes, edges, engine="dot")
        assert lay.engine == "dot"
        _check_layout(lay, sizes, inset=2.0)


def test_graph_files_by_extension_at_300_dpi_with_full_labels(tmp_path: Path) -> None:
    g = graph_of(GREENHOUSE)
    for suffix in (".png", ".pdf", ".svg"):
        g.write(tmp_path / f"g{suffix}")
    with Image.open(tmp_path / "g.png") as im:
        assert im.info["dpi"][0] == pytest.approx(300, abs=1)
        assert im.width > 600 and im.height > 900  # 7 nodes in 5 layers at print resolution
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    svg = (tmp_path / "g.svg").read_text()
    for name in g.names:  # text stays text in SVG: every piece of every full name is there
        for piece in wrap(name, 16).split("\n"):
            assert piece in svg
    assert (tmp_path / "g.dot").exists() is False
    with pytest.raises(Exception, match=r"\.png, \.pdf or \.svg"):
        g.write(tmp_path / "g.jpg")


def test_node_labels_fit_their_boxes() -> None:
    g = graph_of(GREENHOUSE)
    fig = graph_figure(g.names, g.adjacency, units=g.units, engine="layered")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if any(t.get_text().startswith(wrap(n, 16).split("\n")[0])
                                        for n in g.names)]
    assert len(texts) == len(g.names)
    boxes = [p.get_window_extent(renderer) for p in ax.patches if type(p).__name__ == "FancyBboxPatch"]
    for t in texts:
        tb = t.get_window_extent(renderer)
        assert any(b.x0 <= tb.x0 and tb.x1 <= b.x1 and b.y0 <= tb.y0 and tb.y1 <= b.y1
                   for b in boxes), t.get_text()
    w, h = text_size("shadow_cast_by_")
    assert 50 < w < 100 and h > 8


def test_classify_and_comparison_legend(tmp_path: Path) -> None:
    true = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    learned = np.array([[0, 1, 0], [0, 0, 0], [1, 1, 0]])
    kinds = {(i, j): k for i, j, k in classify(learned, true)}
    assert kinds == {(0, 1): "correct", (2, 0): "reversed", (2, 1): "reversed"}
    learned2 = np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]])
    kinds2 = {(i, j): k for i, j, k in classify(learned2, true)}
    assert kinds2 == {(1, 0): "reversed", (1, 2): "correct", (0, 2): "missing"}
    extra = classify(np.array([[0, 0, 1], [0, 0, 0], [0, 1, 0]]), np.array([[0, 0, 1], [0, 0, 0], [0, 0, 0]]))
    assert (2, 1, "extra") in extra
    fig = comparison_figure(["a_long_name", "b", "c"], learned, true, title="learned vs true")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("correct" in x for x in labels) and any("reversed" in x for x in labels)
    save(fig, tmp_path / "cmp.svg")
    assert "reversed" in (tmp_path / "cmp.svg").read_text()


def test_sample_grid_marks_interventions_and_counterfactual_tiles(tmp_path: Path) -> None:
    from causalgen.figures.samples import sample_grid

    mix = generate("pendulum-v1", tmp_path / "mix.h5", n=40, seed=0, size=32, workers=1,
                   intervention_mix=0.6)
    fig = sample_grid(mix, n=12, cols=4)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    marked = [t for t in titles if "do(" in t]
    assert marked and all(re.search(r"do\((pendulum_angle|light_angle|shadow_\w+)", t)
                          for t in marked)
    save(fig, tmp_path / "mix.png")
    cf = generate("pendulum-v1", tmp_path / "cf.h5", n=20, seed=0, size=32, workers=1,
                  counterfactual={"light_angle": 90.0}, do={"pendulum_angle": 10.0})
    fig = sample_grid(cf, n=3, counterfactual=True)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert [t.split()[0] for t in titles] == ["factual", "counterfactual"] * 3
    assert "do(light_angle\u00a0=\u00a090°)" in titles[1].replace("\n", "")
    assert "pendulum_angle" in fig.texts[0].get_text().replace("\n", "")  # title: dataset do()
    assert "{" not in fig.texts[0].get_text()  # no Python dict in a title


def test_missing_matplotlib_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("no matplotlib")
        return real(name, *args, **kwargs)

    from causalgen.figures import style

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(FigureError, match=r"pip install 'causalgen\[figures\]'"):
        style.pyplot()
