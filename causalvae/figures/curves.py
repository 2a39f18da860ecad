"""Training curves of a run and the summary figure of an experiment.

:func:`curves_figure` reads ``metrics.jsonl`` (one JSON line per epoch) and draws one small panel
per loss term against the epoch: the training value, and the test value where the log holds one
(a key ``test_TERM``, ``test/TERM``, ``val_TERM`` or ``TERM_test``; a log without test values
draws training alone and says so). :func:`summary_figure` draws, for each model of an aggregated
experiment report, SHD, MIC, MCC and counterfactual error as mean and spread over seeds with the
seeds as dots; a model without a metric (no causal layer, a label-only baseline) gets "n/a" in
that panel instead of a bar.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from causalgen.figures.style import CYCLE, FONT_SIZE, GREY, OKABE_ITO, style, wrap
from causalvae.errors import CausalvaeError

NOT_LOSSES = {"epoch", "step", "images_per_s", "lr", "time"}
TEST_FORMS = ("test_{}", "test/{}", "val_{}", "{}_test", "eval_{}")


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` (lines that do not parse are skipped: a line being written
    when training stopped)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "epoch" in row:
            rows.append(row)
    return rows


def split_terms(rows: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """Each training term -> (its key, the key of its test value or None)."""
    keys = list(dict.fromkeys(k for r in rows for k, v in r.items()
                              if k not in NOT_LOSSES and isinstance(v, (int, float))))
    test_keys = {form.format(k): k for k in keys for form in TEST_FORMS}
    out: dict[str, tuple[str, str | None]] = {}
    for k in keys:
        if k in test_keys and test_keys[k] != k:
            continue  # a test value: drawn with its training term
        test = next((form.format(k) for form in TEST_FORMS if form.format(k) in keys), None)
        out[k] = (k, test)
    return out


def curves_figure(metrics: str | os.PathLike, title: str | None = None) -> Any:
    """One panel per loss term of the log at ``metrics`` (see the module docstring)."""
    rows = read_metrics(metrics)
    if not rows:
        raise CausalvaeError(f"{metrics} holds no epoch yet; train first")
    terms = split_terms(rows)
    n = len(terms)
    cols = min(4, n)
    nrows = math.ceil(n / cols)
    any_test = any(t is not None for _, t in terms.values())
    with style() as plt:
        fig, axes = plt.subplots(nrows, cols, figsize=(1.7 * cols + 0.3, 1.5 * nrows + 0.6),
                                 squeeze=False, constrained_layout=True)
        for ax, (name, (key, test)) in zip(axes.flat, terms.items(), strict=False):
            ep = [r["epoch"] for r in rows if key in r]
            ys = [r[key] for r in rows if key in r]
            ax.plot(ep, ys, color=OKABE_ITO["blue"], marker="o" if len(ep) < 12 else None,
                    markersize=3, label="train")
            if test:
                te = [(r["epoch"], r[test]) for r in rows if test in r]
                ax.plot([e for e, _ in te], [v for _, v in te], color=OKABE_ITO["vermillion"],
                        ls="--", marker="s" if len(te) < 12 else None, markersize=3, label="test")
            vals = np.array([v for v in ys if v is not None], float)
            if len(vals) and vals.min() > 0 and vals.max() / vals.min() > 100:
                ax.set_yscale("log")
            ax.set_title(wrap("total loss" if name == "loss" else name, 22), fontsize=FONT_SIZE)
            ax.set_xlabel("epoch", fontsize=FONT_SIZE - 1)
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3, lw=0.5)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        note = "" if any_test else " (the log holds no test values)"
        fig.suptitle((title or "training curves") + note, fontsize=FONT_SIZE + 1)
        if any_test:
            fig.legend(handles, labels, loc="outside lower center", ncol=2)
    return fig


# -- experiment summary ------------------------------------------------------------------------

PANELS = (("shd", "SHD (lower is better)"), ("mic", "MIC (higher is better)"),
          ("mcc", "MCC (higher is better)"),
          ("cf_pixel_mse", "counterfactual pixel MSE (lower is better)"))
UNIT_RANGE = frozenset({"mic", "mcc"})  # scores in [0, 1]: the whole scale, so panels compare


def _x_axis(ax: Any, key: str) -> None:
    """From 0 with ~8 % room beyond the largest value, so a bar or dot at the maximum is not cut
    by the frame and the last tick label does not run into the next panel's first; few, short
    tick labels (``%g``: 0.0005, not 0.0005000)."""
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    if key in UNIT_RANGE:
        ax.set_xlim(0, 1.08)
        ax.set_xticks([0.0, 0.5, 1.0])
    else:
        top = ax.get_xlim()[1]
        if key == "shd":  # whole edges, and a visible scale when every SHD is 0
            top = max(1.0, top)
        ax.set_xlim(0, top * 1.08)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=key == "shd"))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))


def summary_figure(report: dict[str, Any]) -> Any:
    """Per model: SHD, MIC, MCC, counterfactual error; bars at the mean over seeds, error bars
    one standard deviation, dots the seeds."""
    models = list(report["models"])
    runs = report.get("runs", [])
    m = len(models)
    with style() as plt:
        fig, axes = plt.subplots(1, len(PANELS), figsize=(1.75 * len(PANELS) + 0.4,
                                                          0.9 + 0.28 * m + 1.1),
                                 constrained_layout=True, sharey=True)
        ypos = np.arange(m)[::-1]
        for ax, (key, label) in zip(axes, PANELS, strict=True):
            for k, (model, y) in enumerate(zip(models, ypos, strict=True)):
                stat = report["models"][model].get(key)
                colour = CYCLE[k % len(CYCLE)]
                if not stat:
                    ax.text(0.02, y, "n/a", transform=ax.get_yaxis_transform(), va="center",
                            ha="left", fontsize=FONT_SIZE - 1.5, color=GREY)
                    continue
                ax.barh(y, stat["mean"], height=0.6, color=colour, alpha=0.35, edgecolor=colour)
                ax.errorbar(stat["mean"], y, xerr=stat.get("sd", 0.0), color="black", capsize=2.5,
                            lw=0.9)
                seeds = [r.get(key) for r in runs if r.get("model") == model
                         and r.get(key) is not None]
                if seeds:
                    jitter = np.linspace(-0.15, 0.15, len(seeds)) if len(seeds) > 1 else [0.0]
                    ax.scatter(seeds, y + np.asarray(jitter), s=9, color=colour, zorder=3,
                               edgecolor="white", lw=0.4)
            ax.set_title(wrap(label, 18), fontsize=FONT_SIZE)
            _x_axis(ax, key)
            ax.grid(axis="x", alpha=0.3, lw=0.5)
            ax.tick_params(axis="y", length=0)
        axes[0].set_yticks(ypos, [wrap(x, 16) for x in models])
        axes[0].set_ylim(-0.6, m - 0.4)
        seeds = report.get("config", {}).get("seeds")
        target = report.get("config", {}).get("target", "")
        name = os.path.basename(str(target))
        fig.suptitle(f"{name}: one seed" if seeds == 1 else
                     f"{name}: mean ± sd over {seeds} seeds (dots: seeds)" if seeds else name,
                     fontsize=FONT_SIZE + 1)
    return fig
