"""Every figure of a run, and of an experiment, written on request or after training.

:func:`write_run_figures` writes a run's figures into ``RUN/figures/``: ``adjacency`` (learned
|A| beside the true graph) and ``graph`` (learned against true graph) from ``evaluation.json``,
``interventions`` (model above truth), ``curves`` (from ``metrics.jsonl``) and ``recon``
(inputs above reconstructions, labelled). :func:`write_experiment_figures` writes
``OUT/figures/summary`` and the figures of each model's first seed. A figure whose inputs are
missing (no evaluation yet, a model without a causal layer, a scene not installed) is skipped
with a log line; nothing here runs during generation or training.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from causalgen.errors import CausalgenError
from causalgen.figures.style import SUFFIXES, save
from causalgen.io import open_dataset
from causalvae.checkpoint import CHECKPOINT_NAME, load_run
from causalvae.errors import CausalvaeError, CheckpointError
from causalvae.evaluate import EVALUATION_NAME, ModelView, _select, resolve_data
from causalvae.figures.recon import recon_grid

log = logging.getLogger(__name__)
RUN_FIGURES = ("adjacency", "graph", "interventions", "curves", "recon")
FIGURES_DIR = "figures"


def recon_figure(run_dir: str | os.PathLike, data: str | os.PathLike | None = None, n: int = 8,
                 seed: int = 0, device: str = "cpu") -> Any:
    """Held-out inputs (top row) above the model's reconstructions (bottom row), with the
    per-image and mean pixel MSE."""
    run_dir = Path(run_dir)
    run = load_run(run_dir, device)
    view = ModelView(run, device)
    with open_dataset(resolve_data(run_dir, data)) as ds:
        batch = _select(ds, n, seed)
        x, r = view.reconstruct(batch.images, batch.labels)  # (n, 3, S, S) each
    return recon_grid(x, r, [f"#{int(i)}" for i in batch.indices],
                      f"{run.model.name} ({run_dir.parent.name}/{run_dir.name}): held-out "
                      "reconstructions")


def _units(run_dir: Path, data: str | os.PathLike | None) -> list[str] | None:
    try:
        with open_dataset(resolve_data(run_dir, data)) as ds:
            return [v.unit for v in ds.variables]
    except (CausalgenError, CausalvaeError, OSError):
        return None


def write_run_figures(run_dir: str | os.PathLike, data: str | os.PathLike | None = None, *,
                      which: Sequence[str] = RUN_FIGURES, suffix: str = ".png",
                      out: str | os.PathLike | None = None, steps: int = 7,
                      device: str = "cpu") -> list[Path]:
    """Write the named figures of the run into ``out`` (default ``RUN/figures``); returns the
    paths written."""
    from causalvae.figures.adjacency import adjacency_figure, learned_graph_figure
    from causalvae.figures.curves import curves_figure
    from causalvae.figures.interventions import intervention_rows, interventions_figure

    unknown = [w for w in which if w not in RUN_FIGURES]
    if unknown or suffix not in SUFFIXES:
        raise CausalvaeError(f"unknown figure(s) {unknown} or type {suffix!r}; figures: "
                             f"{', '.join(RUN_FIGURES)}; types: {', '.join(SUFFIXES)}")
    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_NAME).is_file():  # refuse before anything is drawn or made
        raise CheckpointError(f"{run_dir} is not a run directory (no {CHECKPOINT_NAME}); "
                              "pass a directory written by `causalvae train` or an experiment's")
    dest = Path(out) if out is not None else run_dir / FIGURES_DIR  # made with its first figure
    ev_path = run_dir / EVALUATION_NAME
    ev = json.loads(ev_path.read_text()) if ev_path.exists() else None
    written: list[Path] = []

    def put(name: str, fig: Any) -> None:
        if fig is not None:
            dest.mkdir(parents=True, exist_ok=True)
            written.append(save(fig, dest / f"{name}{suffix}"))

    for name in which:
        if name in ("adjacency", "graph") and ev is None:
            log.info("%s: no %s yet; skipping the %s figure", run_dir, EVALUATION_NAME, name)
        elif name == "adjacency":
            put(name, adjacency_figure(ev))
        elif name == "graph":
            put(name, learned_graph_figure(ev, units=_units(run_dir, data)))
        elif name == "curves":
            metrics = run_dir / "metrics.jsonl"
            if metrics.exists():
                put(name, curves_figure(metrics, title=f"{run_dir.parent.name}/{run_dir.name}: "
                                        "training curves"))
        elif name == "interventions":
            put(name, interventions_figure(intervention_rows(run_dir, data, steps=steps,
                                                             device=device)))
        elif name == "recon":
            put(name, recon_figure(run_dir, data, device=device))
    return written


def write_experiment_figures(out: str | os.PathLike, report: dict[str, Any],
                             suffix: str = ".png") -> dict[str, Any]:
    """``OUT/figures/summary`` and the figures of each model's first run; returns the paths
    (relative to ``out``) by model, for the report to embed."""
    from causalvae.figures.curves import summary_figure

    out = Path(out)
    (out / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {"summary": str(save(summary_figure(report), out / FIGURES_DIR /
                                                 f"summary{suffix}").relative_to(out)),
                             "models": {}}
    for model in report["models"]:
        runs = [r for r in report.get("runs", []) if r.get("model") == model and r.get("run")]
        if not runs or not (Path(runs[0]["run"]) / "checkpoint.pt").exists():
            continue  # a label-only baseline has no run directory
        run_dir = Path(runs[0]["run"])
        try:
            files = write_run_figures(run_dir, runs[0].get("data"), suffix=suffix)
        except (CausalgenError, CausalvaeError) as exc:
            log.warning("figures of %s: %s", run_dir, exc)
            continue
        paths["models"][model] = [os.path.relpath(p, out) for p in files]
    return paths
