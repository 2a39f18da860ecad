"""Intervention grids: a model's do-operations next to the generator's ground truth.

One row per concept: the concept swept over its range (5th to 95th percentile of the test
labels) for one held-out sample, through the model's do-operation (or, for models without a
causal layer, a traversal of the latent tied to that concept). Beneath each model row, when the
file's scene is installed, the ground-truth counterfactual row rendered by the generator from
the same sample's exogenous noise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from causalgen.errors import CausalgenError
from causalgen.io import open_dataset
from causalgen.truth import counterfactual_truth
from causalvae.checkpoint import load_run
from causalvae.errors import CausalvaeError
from causalvae.evaluate import (
    ModelView,
    _select,
    _to_float_images,
    calibrate,
    concept_latents,
    model_counterfactual,
    resolve_data,
)


def _tile(img: np.ndarray, scale: int) -> Image.Image:
    """float (3, S, S) in [0, 1] -> an enlarged PIL image."""
    arr = (np.clip(img.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
    pil = Image.fromarray(arr)
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)


@torch.no_grad()
def intervention_grid(run_dir: str | os.PathLike, data: str | os.PathLike | None = None, *,
                      index: int | None = None, steps: int = 7, seed: int = 0,
                      device: str = "cpu") -> Image.Image:
    """The grid described in the module docstring, as a PIL image."""
    run_dir = Path(run_dir)
    run = load_run(run_dir, device)
    view = ModelView(run, device)
    names = run.variable_names
    with open_dataset(resolve_data(run_dir, data)) as ds:
        if index is not None and not 0 <= index < ds.n:
            raise CausalvaeError(f"--index {index} is outside the file's 0..{ds.n - 1}")
        batch = _select(ds, 500, seed)
        pos = 0 if index is None else int(np.searchsorted(batch.indices, index))
        if index is not None and (pos >= len(batch.indices) or batch.indices[pos] != index):
            batch.indices = np.append(batch.indices, index)
            batch.images = np.concatenate([batch.images, ds.images[index:index + 1]])
            batch.labels = np.concatenate([batch.labels, ds.labels[index:index + 1].astype(float)])
            pos = len(batch.indices) - 1
        latents = view.representation(batch.images, batch.labels)
        _, dims = concept_latents(latents, batch.labels, view.blocks)
        calib = calibrate(latents, batch.labels, dims)
        rows: list[tuple[str, np.ndarray]] = []
        for i, name in enumerate(names):
            lo, hi = np.percentile(batch.labels[:, i], [5, 95])
            values = np.linspace(lo, hi, steps)
            images = np.repeat(batch.images[pos:pos + 1], steps, 0)
            labels = np.repeat(batch.labels[pos:pos + 1], steps, 0)
            mine = model_counterfactual(view, images, labels, i, values, dims, calib)
            kind = "do" if getattr(run.model, "has_causal_layer", False) else "traverse"
            rows.append((f"model {kind}({name})", mine))
            try:
                truth, _ = counterfactual_truth(ds, np.full(steps, batch.indices[pos]),
                                                {name: values}, size=view.size)
                rows.append((f"truth do({name})", _to_float_images(truth, view.size)))
            except CausalgenError:
                pass  # the scene that wrote the file is not installed here
    scale = max(1, 96 // view.size)
    tile = view.size * scale
    label_w = 150
    font = ImageFont.load_default()
    gap = 10  # between one concept's rows and the next concept's
    height = 18 + len(rows) * (tile + 4) + gap * len(names)
    grid = Image.new("RGB", (label_w + steps * (tile + 2), height), "white")
    draw = ImageDraw.Draw(grid)
    draw.text((4, 2), f"{run_dir.name}: {run.model.name}, sample {int(batch.indices[pos])}",
              fill="black", font=font)
    y = 18
    for title, imgs in rows:
        if title.startswith("model") and y > 18:
            y += gap
        draw.text((4, y + tile // 2 - 6), title[:26], fill="black", font=font)
        for c in range(steps):
            grid.paste(_tile(imgs[c], scale), (label_w + c * (tile + 2), y))
        y += tile + 4
    return grid
