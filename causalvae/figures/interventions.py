"""Intervention grids: a model's do-operations above the generator's ground truth.

:func:`intervention_rows` computes, for one held-out sample, each concept swept over its range
(5th to 95th percentile of the test labels) through the model's do-operation (or, for models
without a causal layer, a traversal of the latent tied to that concept) and, when the file's
scene is installed, the ground-truth counterfactual row rendered by the generator from the same
sample's exogenous noise. :func:`interventions_figure` draws them: per concept, the intervened
values with units above the columns, the model's row above the truth row, framed tiles, full row
labels, and beside each model row its pixel MSE against the truth row (and the held-out mean from
the run's evaluation, where there is one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from causalgen.errors import CausalgenError
from causalgen.figures.style import FONT_SIZE, GREY, OKABE_ITO, fmt_value, style, wrap
from causalgen.io import open_dataset
from causalgen.truth import counterfactual_truth
from causalvae.checkpoint import load_run
from causalvae.errors import CausalvaeError, InterventionError
from causalvae.evaluate import (
    EVALUATION_NAME,
    ModelView,
    _select,
    _to_float_images,
    apply_settings,
    calibrate,
    concept_latents,
    eval_settings,
    model_counterfactual,
    named_error,
    resolve_data,
)
from causalvae.figures.recon import framed_image

TILE = 0.62  # inches: seven steps fit a 7.5-inch width
LABEL_W, ERR_W = 1.55, 1.25


@dataclass
class ConceptRow:
    name: str
    unit: str
    kind: str  # "do" or "traverse"
    values: np.ndarray  # (steps,)
    model: np.ndarray  # (steps, 3, S, S) float in [0, 1]
    truth: np.ndarray | None  # idem, None when the scene is not installed
    held_out_mse: float | None = None


@dataclass
class InterventionGrid:
    run: str
    model: str
    index: int
    rows: list[ConceptRow] = field(default_factory=list)


@torch.no_grad()
def intervention_rows(run_dir: str | os.PathLike, data: str | os.PathLike | None = None, *,
                      index: int | None = None, steps: int = 7, seed: int = 0,
                      device: str = "cpu", settings: list[str] | None = None) -> InterventionGrid:
    """The model and truth rows of every concept for one sample (see the module docstring);
    ``settings`` are evaluation keys (``graph_threshold=0.2``: the graph do() follows)."""
    run_dir = Path(run_dir)
    opts = eval_settings(settings)
    run = load_run(run_dir, device)
    apply_settings(run, opts)
    view = ModelView(run, device)
    names = run.variable_names
    ev_path = run_dir / EVALUATION_NAME
    per = json.loads(ev_path.read_text()).get("counterfactual", {}).get("per_concept", {}) \
        if ev_path.exists() else {}
    with open_dataset(resolve_data(run_dir, data)) as ds:
        if index is not None and not 0 <= index < ds.n:
            raise CausalvaeError(f"--index {index} is outside the file's 0..{ds.n - 1}")
        units = {v.name: v.unit for v in ds.variables}
        batch = _select(ds, 500, seed)
        pos = 0 if index is None else int(np.searchsorted(batch.indices, index))
        if index is not None and (pos >= len(batch.indices) or batch.indices[pos] != index):
            batch.indices = np.append(batch.indices, index)
            batch.images = np.concatenate([batch.images, ds.images[index:index + 1]])
            batch.labels = np.concatenate([batch.labels, ds.labels[index:index + 1].astype(float)])
            pos = len(batch.indices) - 1
        latents = view.decoder_latents(batch.images, batch.labels)  # the space do() writes to
        _, dims = concept_latents(latents, batch.labels, view.blocks)
        calib = calibrate(latents, batch.labels, dims)
        kind = "do" if getattr(run.model, "has_causal_layer", False) else "traverse"
        grid = InterventionGrid(f"{run_dir.parent.name}/{run_dir.name}", run.model.name, int(batch.indices[pos]))
        for i, name in enumerate(names):
            lo, hi = np.percentile(batch.labels[:, i], [5, 95])
            values = np.linspace(lo, hi, steps)
            images = np.repeat(batch.images[pos:pos + 1], steps, 0)
            labels = np.repeat(batch.labels[pos:pos + 1], steps, 0)
            try:
                mine = model_counterfactual(view, images, labels, i, values, dims, calib)
            except InterventionError as exc:
                raise InterventionError(named_error(exc, names)) from None
            try:
                truth_u8, _ = counterfactual_truth(ds, np.full(steps, batch.indices[pos]),
                                                   {name: values}, size=view.size)
                truth = _to_float_images(truth_u8, view.size)
            except CausalgenError:
                truth = None  # the scene that wrote the file is not installed here
            held = per.get(name, {}).get("pixel_mse")
            grid.rows.append(ConceptRow(name, units.get(name, ""), kind, values, mine, truth,
                                        None if held is None else float(held)))
    return grid


def _tile(fig: Any, box: tuple[float, float, float, float], image: np.ndarray, frame: str) -> Any:
    return framed_image(fig.add_axes(box), image, frame, 1.0)


def interventions_figure(grid: InterventionGrid) -> Any:
    """The grid drawn as described in the module docstring."""
    steps = max(len(r.values) for r in grid.rows)
    gap_x, title_h, block_gap, row_gap = 0.06, 0.34, 0.22, 0.05
    block_h = [title_h + TILE + (row_gap + TILE if r.truth is not None else 0) for r in grid.rows]
    head = 0.42
    width = LABEL_W + steps * (TILE + gap_x) + ERR_W
    height = head + sum(block_h) + block_gap * (len(grid.rows) - 1) + 0.1
    with style() as plt:
        fig = plt.figure(figsize=(width, height))

        def at(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
            return (x / width, 1 - (y + h) / height, w / width, h / height)  # y from the top

        fig.text(0.5 / width, 1 - 0.08 / height,
                 f"{grid.model} ({grid.run}): interventions on held-out sample #{grid.index}",
                 ha="left", va="top", fontsize=FONT_SIZE + 1, fontweight="bold")
        y = head
        for r in grid.rows:
            verb = "do" if r.kind == "do" else "latent traversal for"
            unit = f" [{r.unit}]" if r.unit and r.unit != "1" else ""
            # short units beside each value; a long one ("drawing units") once, in the heading
            short_unit = r.unit if len(r.unit) <= 4 or r.unit.startswith("deg") else None
            for c, v in enumerate(r.values):  # the intervened values above the model's row
                fig.text((LABEL_W + c * (TILE + gap_x) + TILE / 2) / width,
                         1 - (y + title_h - 0.03) / height, fmt_value(float(v), short_unit),
                         ha="center", va="bottom", fontsize=FONT_SIZE - 1.5)
            fig.text(LABEL_W / width, 1 - (y + 0.02) / height, wrap(f"{r.name}{unit}", 60),
                     ha="left", va="top", fontsize=FONT_SIZE - 1, fontweight="bold")
            y += title_h
            label = wrap(f"model: {verb}({r.name})" if r.kind == "do" else
                         f"model: {verb} {r.name}", 22)
            fig.text(0.05 / width, 1 - (y + TILE / 2) / height, label, ha="left", va="center",
                     fontsize=FONT_SIZE - 1.5, color=OKABE_ITO["blue"])
            for c in range(len(r.values)):
                _tile(fig, at(LABEL_W + c * (TILE + gap_x), y, TILE, TILE), r.model[c],
                      OKABE_ITO["blue"])
            err = []
            if r.truth is not None:
                err.append(f"pixel MSE vs truth\nthis sample: {np.mean((r.model - r.truth) ** 2):.4f}")
            if r.held_out_mse is not None:
                err.append(f"held-out mean: {r.held_out_mse:.4f}")
            fig.text((width - ERR_W + 0.08) / width, 1 - (y + TILE / 2) / height,
                     "\n".join(err) or "no ground truth\n(scene not installed)", ha="left",
                     va="center", fontsize=FONT_SIZE - 2)
            y += TILE
            if r.truth is not None:
                y += row_gap
                fig.text(0.05 / width, 1 - (y + TILE / 2) / height,
                         wrap(f"truth: do({r.name})", 22) + "\n(generator)", ha="left",
                         va="center", fontsize=FONT_SIZE - 1.5)
                for c in range(len(r.values)):
                    _tile(fig, at(LABEL_W + c * (TILE + gap_x), y, TILE, TILE), r.truth[c], GREY)
                y += TILE
            y += block_gap
    return fig
