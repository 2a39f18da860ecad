"""Learned graph figures of a run: |A| as a matrix beside the true graph, and as a drawn graph.

:func:`adjacency_figure` shows the learned |A| (grey scale, each cell's value printed; above 8
variables only the non-zero ones; a colour bar with the edge threshold marked) beside the true
adjacency, every cell outlined by its outcome (correct, missing, extra, reversed) in the house
palette, with a legend. :func:`learned_graph_figure` draws the learned graph over the true
graph's layers with the same four edge styles. Both read an evaluation record
(``evaluation.json``); a model without a causal layer gets the true graph alone, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from causalgen.figures.graph import EDGE_STYLES, classify, comparison_figure
from causalgen.figures.style import FONT_SIZE, style, wrap

OUTCOMES = ("correct", "missing", "extra", "reversed")


def _outcomes(predicted: np.ndarray, true: np.ndarray) -> dict[tuple[int, int], str]:
    """Outcome of each cell (row -> column) that is an edge of either graph."""
    out = {(i, j): kind for i, j, kind in classify(predicted, true)}
    P, T = np.asarray(predicted) != 0, np.asarray(true) != 0
    for i, j in zip(*np.nonzero(T & ~P), strict=True):  # a true edge learned backwards
        out.setdefault((int(i), int(j)), "missing")
    return out


def _matrix(ax: Any, M: np.ndarray, names: Sequence[str], cmap: str, vmax: float,
            values: bool, ylabels: bool) -> Any:
    n = len(names)
    im = ax.imshow(M, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
    ticks = [wrap(name, 18) for name in names]  # columns: turned upright, so they never collide
    ax.set_xticks(range(n), ticks, rotation=90, fontsize=FONT_SIZE - 2, linespacing=1.0)
    ax.set_yticks(range(n), ticks if ylabels else [""] * n, fontsize=FONT_SIZE - 2)
    ax.set_xlabel("effect (column)")
    if ylabels:
        ax.set_ylabel("cause (row)")
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(-0.5, n, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n, 1), minor=True)
    ax.grid(which="minor", color="#C8C8C8", lw=0.8)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if values:
        # above 8 variables "0.00" no longer fits a cell: only the non-zero cells get a value
        dense = n <= 8
        for i in range(n):
            for j in range(n):
                if not dense and round(float(M[i, j]), 2) == 0:
                    continue
                light = M[i, j] / vmax > 0.55 if vmax > 0 else False
                ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center",
                        fontsize=FONT_SIZE - (2.5 if dense else 3.5),
                        color="white" if light else "black")
    return im


def _outline(ax: Any, cells: dict[tuple[int, int], str]) -> None:
    from matplotlib.patches import Rectangle

    for (i, j), kind in cells.items():
        es = EDGE_STYLES[kind]
        ax.add_patch(Rectangle((j - 0.44, i - 0.44), 0.88, 0.88, fill=False, edgecolor=es.color,
                               lw=2.0, ls=es.linestyle if kind != "correct" else "-", zorder=3))


def adjacency_figure(result: dict[str, Any]) -> Any:
    """The figure described in the module docstring, from an evaluation record."""
    names = list(result["variables"])
    n = len(names)
    true = np.asarray(result["true_adjacency"], float)
    learned = result.get("learned_adjacency")
    side = max(1.8, min(2.9, 0.42 * n + 0.3))  # two panels fit a 7-inch page width
    with style() as plt:
        from matplotlib.lines import Line2D

        if learned is None:
            fig, ax_true = plt.subplots(figsize=(side + 0.6, side + 0.5))
            axes = [ax_true]
        else:
            # room above the panels' titles for the suptitle's two lines (it overlapped them)
            head = 0.65  # inches: two suptitle lines, the panel titles and their pads
            height = side + 0.5 + head
            fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1.6, height),
                                     gridspec_kw={"wspace": 0.12, "top": 1 - head / height})
            ax_true = axes[1]
        _matrix(ax_true, true, names, "Greys", 1.6, values=False, ylabels=learned is None)
        ax_true.set_title("true graph")
        if learned is None:
            ax_true.text(0.5, -0.3, "no learned graph: this model has no causal layer",
                         transform=ax_true.transAxes, ha="center", fontsize=FONT_SIZE - 1)
            fig.suptitle(result.get("model", ""), fontsize=FONT_SIZE + 1)
            return fig
        A = np.abs(np.asarray(learned, float))
        thr = float(result["threshold"]) if result.get("threshold") is not None else None
        pred = np.asarray(result["predicted_adjacency"]) if result.get("predicted_adjacency") \
            is not None else ((thr or 0) < A).astype(int)
        vmax = max(float(A.max()), thr or 0.0, 1e-9) * 1.05
        im = _matrix(axes[0], A, names, "Greys", vmax, values=n <= 12, ylabels=True)
        rule = {"model": "the model's rule", "default": "the default rule"}.get(
            result.get("threshold_rule") or "", "threshold")
        axes[0].set_title("learned |A|")
        cells = _outcomes(pred, true)
        _outline(axes[0], cells)
        _outline(ax_true, cells)
        cbar = fig.colorbar(im, ax=list(axes), fraction=0.035, pad=0.02)
        cbar.set_label("|A|" if thr is None else f"|A|   (orange line: threshold {thr:.3g})")
        if thr is not None:
            cbar.ax.axhline(thr, color="#D55E00", lw=2.5)
        kinds = [k for k in OUTCOMES if k in cells.values()]
        handles = [Line2D([], [], marker="s", markersize=9, markerfacecolor="none", ls="none",
                          markeredgecolor=EDGE_STYLES[k].color, markeredgewidth=2.0,
                          label=EDGE_STYLES[k].label) for k in kinds]
        shd = result.get("shd")
        title = f"{result.get('model', '')}: learned graph against the true graph"
        if shd is not None:
            title += f"\nSHD {shd}; an edge where |A| > {thr:.3g} ({rule})" if thr is not None \
                else f"\nSHD {shd}"
        fig.suptitle(title, fontsize=FONT_SIZE + 1)
        if handles:  # below the lowest tick label, whatever its length
            renderer = fig.canvas.get_renderer()
            low = min(a.get_tightbbox(renderer).y0 for a in axes) / fig.bbox.height
            fig.legend(handles=handles, loc="upper center", ncol=min(4, len(handles)),
                       bbox_to_anchor=(0.5, low - 0.01), title="cells outlined by outcome",
                       title_fontsize=FONT_SIZE - 1)
    return fig


def learned_graph_figure(result: dict[str, Any], units: Sequence[str] | None = None,
                         engine: str = "auto") -> Any:
    """The learned graph drawn over the true graph's layout (None without a learned graph)."""
    if result.get("predicted_adjacency") is None:
        return None
    names = list(result["variables"])
    title = f"{result.get('model', '')}: learned against true graph"
    if result.get("shd") is not None:
        title += f" (SHD\u00a0{result['shd']})"  # a no-break space: the wrap keeps it whole
    return comparison_figure(names, np.asarray(result["predicted_adjacency"]),
                             np.asarray(result["true_adjacency"]), units=units, title=title,
                             engine=engine)
