"""Labelled preview grids of a dataset: images with their variable values printed beneath."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from causalgen.errors import DatasetError
from causalgen.io.reader import open_dataset

SCALE_TO = 128  # thumbnails are enlarged to at least this size so the labels fit


def _label_lines(names: list[str], values: np.ndarray) -> list[str]:
    return [f"{n[:16]}={v:.3g}" for n, v in zip(names, values.tolist(), strict=True)]


def preview_grid(path: str | os.PathLike, n: int = 16, cols: int = 4, seed: int = 0,
                 counterfactual: bool = False) -> Image.Image:
    """A grid of ``n`` random samples of the file at ``path`` with their labels.

    With ``counterfactual``, each factual image is followed by its counterfactual twin. A
    temporal file is drawn as filmstrips of min(n, 4) sequences (:mod:`causalgen.filmstrip`).
    """
    font = ImageFont.load_default()
    with open_dataset(path) as ds:
        if ds.steps is not None:  # a temporal file: a filmstrip per sequence
            from causalgen.filmstrip import filmstrip

            return filmstrip(ds, n=min(n, 4), seed=seed, counterfactual=counterfactual)
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(ds.n, size=min(n, ds.n), replace=False))
        images = ds.images[idx]  # (n, H, W, 3)
        labels = ds.labels[idx]
        names = ds.variable_names
        title = f"{Path(path).name}: {ds.scene}, {ds.n} images"
        if ds.intervention:
            title += f", do({', '.join(f'{k}={v}' for k, v in ds.intervention.items())})"
        if ds.environment is not None:  # the environment of each tile, as an extra label line
            names = [*names, "environment"]
            labels = np.concatenate([labels, ds.environment[idx, None].astype(labels.dtype)], axis=1)
            title += f", {len(ds.environments or [])} environments"
        tiles = [(img, lab) for img, lab in zip(images, labels, strict=True)]
        if counterfactual and ds.counterfactual is None:
            raise DatasetError(
                f"{path} has no counterfactual group; generate it with --counterfactual VAR=VALUE."
            )
        if counterfactual and ds.counterfactual is not None:
            cf_img = ds.counterfactual.images[idx]
            cf_lab = ds.counterfactual.labels[idx]
            if ds.environment is not None:
                cf_lab = np.concatenate([cf_lab, ds.environment[idx, None].astype(cf_lab.dtype)], axis=1)
            tiles = [t for pair in zip(tiles, zip(cf_img, cf_lab, strict=True), strict=True) for t in pair]
            title += f"; counterfactual do({ds.counterfactual.intervention}) after each"
    h = images.shape[1]
    scale = max(1, -(-SCALE_TO // h))
    tile = h * scale
    line_h = 11
    text_h = line_h * len(names) + 4
    rows = -(-len(tiles) // cols)
    grid = Image.new("RGB", (cols * (tile + 6) + 6, 18 + rows * (tile + text_h + 6)), "white")
    draw = ImageDraw.Draw(grid)
    draw.text((6, 4), title, fill="black", font=font)
    for k, (img, lab) in enumerate(tiles):
        r, c = divmod(k, cols)
        x, y = 6 + c * (tile + 6), 18 + r * (tile + text_h + 6)
        grid.paste(Image.fromarray(np.asarray(img)).resize((tile, tile), Image.NEAREST), (x, y))
        draw.rectangle((x - 1, y - 1, x + tile, y + tile), outline=(200, 200, 200))
        for j, text in enumerate(_label_lines(names, lab)):
            draw.text((x, y + tile + 2 + j * line_h), text, fill="black", font=font)
    return grid
