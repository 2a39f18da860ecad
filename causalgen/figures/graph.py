"""Causal-graph figures: one graph, or a learned graph against the true one.

:func:`graph_figure` draws a DAG in layers (see :mod:`causalgen.figures.layout`), each node a
rounded box holding the variable's full name (wrapped) and unit; latent variables dashed;
variables set by an intervention filled and labelled with their ``do()`` value, and the edges
into them drawn as cut. :func:`comparison_figure` draws the true graph's layout with the learned
graph's edges classified as correct, missing, extra or reversed, each in its own colour and line
style, with a legend. Both return a matplotlib Figure; :func:`save` writes it by extension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from causalgen.figures.layout import Layout, layout
from causalgen.figures.style import (
    FONT_SIZE,
    GREY,
    NODE_EDGE,
    NODE_FACE,
    OKABE_ITO,
    fmt_value,
    style,
    wrap,
)

PAD_X, PAD_Y, LINE = 7.0, 5.0, 1.22  # points; line spacing in font sizes
MARGIN = 10.0


@dataclass(frozen=True)
class EdgeStyle:
    label: str
    color: str
    linestyle: Any
    width: float


EDGE_STYLES = {
    "edge": EdgeStyle("edge", "#303030", "-", 1.2),
    "cut": EdgeStyle("edge cut by the intervention", GREY, (0, (2.0, 2.0)), 1.0),
    "correct": EdgeStyle("correct", OKABE_ITO["blue"], "-", 1.5),
    "missing": EdgeStyle("missing (in the true graph only)", OKABE_ITO["vermillion"],
                         (0, (4.0, 2.0)), 1.5),
    "extra": EdgeStyle("extra (learned only)", OKABE_ITO["orange"], (0, (1.0, 1.3)), 1.8),
    "reversed": EdgeStyle("reversed (learned direction shown)", OKABE_ITO["purple"],
                          (0, (6.0, 1.5, 1.0, 1.5)), 1.8),
}


def node_label(name: str, unit: str | None = None, note: str | None = None) -> str:
    """The text of a node: the full name wrapped, then the unit, then a note (e.g. do())."""
    lines = [wrap(name, 16)]
    if unit and unit != "1":
        lines.append(f"({unit})")
    if note:
        lines.append(note)
    return "\n".join(lines)


def text_size(text: str, size: float = FONT_SIZE) -> tuple[float, float]:
    """Width and height in points of a (multi-line) label in the house font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    prop = FontProperties(family="DejaVu Sans", size=size)
    lines = text.split("\n")
    width = max(TextPath((0, 0), line or " ", size=size, prop=prop).get_extents().width
                for line in lines)
    return width, size * LINE * len(lines)


def classify(learned: np.ndarray, true: np.ndarray) -> list[tuple[int, int, str]]:
    """Edges of the union of two graphs, each (i, j, kind): i -> j ``correct`` (in both),
    ``missing`` (true only), ``extra`` (learned only, no true edge either way) or ``reversed``
    (learned i -> j where the truth is j -> i)."""
    L, T = np.asarray(learned) != 0, np.asarray(true) != 0
    out = []
    for i, j in zip(*np.nonzero(L | T), strict=True):
        i, j = int(i), int(j)
        if L[i, j] and T[i, j]:
            out.append((i, j, "correct"))
        elif L[i, j]:
            out.append((i, j, "reversed" if T[j, i] else "extra"))
        elif not L[j, i]:  # a true edge learned backwards is already drawn as reversed
            out.append((i, j, "missing"))
    return out


def _topological_rank(adj: np.ndarray) -> list[int]:
    n = len(adj)
    indeg = (adj != 0).sum(0).tolist()
    ready = [i for i in range(n) if indeg[i] == 0]
    rank = [0] * n
    k = 0
    while ready:
        i = ready.pop(0)
        rank[i] = k
        k += 1
        for j in np.flatnonzero(adj[i]).tolist():
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(j)
    if k < n:
        raise ValueError("the graph has a cycle; it cannot be drawn in layers")
    return rank


def _draw(labels: Sequence[str], styled: Sequence[tuple[int, int, str]], order_adj: np.ndarray,
          node_kind: Sequence[str], title: str | None, engine: str) -> Any:
    """Draw nodes and styled edges; layers follow the DAG ``order_adj`` (every drawn edge is
    laid out along its topological order, so edges against it are routed too)."""
    rank = _topological_rank(order_adj)
    lay_edges = [(i, j) if rank[i] < rank[j] else (j, i) for i, j, _ in styled]
    sizes = [(w + 2 * PAD_X, h + 2 * PAD_Y) for w, h in map(text_size, labels)]
    lay = layout(sizes, lay_edges, engine=engine)
    x0, y0, x1, y1 = lay.extent
    w, h = x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN
    with style() as plt:
        from matplotlib.lines import Line2D
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
        from matplotlib.path import Path as MPath

        fig = plt.figure(figsize=(max(w, 60) / 72, h / 72))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(x0 - MARGIN - (max(w, 60) - w) / 2, x1 + MARGIN + (max(w, 60) - w) / 2)
        ax.set_ylim(y0 - MARGIN, y1 + MARGIN)
        ax.set_aspect("equal")
        ax.axis("off")
        for k, ((i, j, kind), pair) in enumerate(zip(styled, lay_edges, strict=True)):
            _edge(ax, lay, k, downward=(i, j) == pair, es=EDGE_STYLES[kind],
                  FancyArrowPatch=FancyArrowPatch, MPath=MPath)
        for i, label in enumerate(labels):
            bx0, by0, bx1, by1 = lay.boxes[i]
            kind = node_kind[i]
            face = {"latent": "#F2F2F2", "intervened": "#FCE3C4"}.get(kind, NODE_FACE)
            edge = {"latent": GREY, "intervened": OKABE_ITO["vermillion"]}.get(kind, NODE_EDGE)
            ax.add_patch(FancyBboxPatch((bx0, by0), bx1 - bx0, by1 - by0,
                                        boxstyle="round,pad=0,rounding_size=5", facecolor=face,
                                        edgecolor=edge, lw=1.6 if kind == "intervened" else 1.0,
                                        ls=(0, (3, 2)) if kind == "latent" else "-", zorder=3))
            ax.text((bx0 + bx1) / 2, (by0 + by1) / 2, label, ha="center", va="center",
                    fontsize=FONT_SIZE, linespacing=LINE, zorder=4)
        if title:
            title = wrap(title, max(24, int(w / (0.62 * (FONT_SIZE + 1)))))  # no wider than the graph
            ax.text((x0 + x1) / 2, y1 + MARGIN + 4, title, ha="center", va="bottom",
                    fontsize=FONT_SIZE + 1, fontweight="bold")
        present = {kind for _, _, kind in styled}
        kinds = [k for k in EDGE_STYLES if k in present]  # one legend order in every figure
        handles = [Line2D([], [], color=EDGE_STYLES[k].color, ls=EDGE_STYLES[k].linestyle,
                          lw=EDGE_STYLES[k].width, label=EDGE_STYLES[k].label)
                   for k in kinds if k != "edge"]
        if "intervened" in node_kind:
            from matplotlib.patches import Patch

            handles.append(Patch(facecolor="#FCE3C4", edgecolor=OKABE_ITO["vermillion"],
                                 label="variable set by do()"))
        if handles:
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                      ncol=1 if w < 300 else 2, handlelength=2.6, borderaxespad=0.2)
        fig.graph_layout = lay  # for checks: the geometry that was drawn
    return fig


def _edge(ax: Any, lay: Layout, k: int, downward: bool, es: EdgeStyle, FancyArrowPatch: Any,
          MPath: Any) -> None:
    """The edge's curve in its line style, and a solid arrowhead at its head end (a dashed
    head would look broken), pointing along the curve's tangent there."""
    pts = np.asarray(lay.routes[k], float)
    codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(pts) - 1)
    ax.add_patch(FancyArrowPatch(path=MPath(pts, codes), arrowstyle="-", color=es.color,
                                 lw=es.width, ls=es.linestyle, shrinkA=0, shrinkB=0, zorder=2))
    tip, before = (pts[-1], pts[-2]) if downward else (pts[0], pts[1])
    if np.allclose(tip, before):
        before = pts[-4] if downward else pts[3]
    direction = (tip - before) / max(float(np.hypot(*(tip - before))), 1e-9)
    ax.add_patch(FancyArrowPatch(tuple(tip - direction * 6.0), tuple(tip), arrowstyle="-|>",
                                 mutation_scale=9, color=es.color, lw=es.width, ls="-",
                                 shrinkA=0, shrinkB=0, zorder=2))


def graph_figure(names: Sequence[str], adjacency: np.ndarray, *,
                 units: Sequence[str | None] | None = None, title: str | None = None,
                 latent: frozenset[str] | set[str] = frozenset(),
                 intervention: Mapping[str, object] | None = None, engine: str = "auto") -> Any:
    """A layered drawing of the DAG ``adjacency[i, j] != 0`` for i -> j. ``intervention`` maps
    variables set by ``do()`` to their value (number or distribution text): those are marked and
    the edges into them drawn as cut (the graph shown is the one before the intervention)."""
    adj = np.asarray(adjacency) != 0
    intervention = dict(intervention or {})
    units = list(units) if units is not None else [None] * len(names)
    labels, kinds = [], []
    for name, unit in zip(names, units, strict=True):
        note = None
        if name in intervention:
            value = intervention[name]
            note = (f"do = {fmt_value(value, unit)}" if isinstance(value, (int, float))
                    else f"do ~ {value}")
        elif name in latent:
            note = "(latent)"
        labels.append(node_label(name, unit, note))
        kinds.append("intervened" if name in intervention else "latent" if name in latent else "")
    styled = [(int(i), int(j), "cut" if names[int(j)] in intervention else "edge")
              for i, j in zip(*np.nonzero(adj), strict=True)]
    return _draw(labels, styled, adj, kinds, title, engine)


def comparison_figure(names: Sequence[str], learned: np.ndarray, true: np.ndarray, *,
                      units: Sequence[str | None] | None = None, title: str | None = None,
                      engine: str = "auto") -> Any:
    """The learned graph against the true one, laid out by the true graph's layers: correct,
    missing, extra and reversed edges in distinct styles, with a legend."""
    units = list(units) if units is not None else [None] * len(names)
    labels = [node_label(n, u) for n, u in zip(names, units, strict=True)]
    styled = classify(learned, true)
    fig = _draw(labels, styled, np.asarray(true) != 0, [""] * len(names), title, engine)
    return fig
