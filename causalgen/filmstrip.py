"""Filmstrips of temporal files: one row of frames per sequence, each labelled with its values.

``causalgen show`` draws a temporal file this way: up to :data:`MAX_FRAMES` evenly spaced steps
of a few random sequences, the step number and every variable's value under each frame, and a
red frame with ``do(name)`` where a per-step intervention set a variable at that step. With
``counterfactual``, each sequence's counterfactual row follows it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from causalgen.errors import DatasetError
from causalgen.io.reader import Dataset

MAX_FRAMES = 10
MAX_ROWS = 8
SCALE_TO = 96
RED = (220, 30, 30)


def filmstrip(ds: Dataset, n: int = 4, seed: int = 0, counterfactual: bool = False,
              frames: int = MAX_FRAMES) -> Image.Image:
    """A labelled filmstrip of ``n`` (at most MAX_ROWS) random sequences of an open temporal file."""
    if ds.steps is None:
        raise DatasetError(f"{ds.path} has no time axis; `causalgen show` draws it as a grid.")
    if counterfactual and ds.counterfactual is None:
        raise DatasetError(
            f"{ds.path} has no counterfactual group; generate it with --counterfactual VAR=VALUE.")
    font = ImageFont.load_default()
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(ds.n, size=min(n, MAX_ROWS, ds.n), replace=False))
    steps = np.unique(np.linspace(0, ds.steps - 1, min(frames, ds.steps)).round().astype(int))
    names = ds.variable_names
    strips: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]] = []
    for r in rows.tolist():
        mask = ds.intervened[r][steps] if ds.intervened is not None else None
        strips.append((f"sequence {r}", ds.images[r][steps], ds.labels[r][steps], mask))
        if counterfactual and ds.counterfactual is not None:
            strips.append((f"sequence {r}, counterfactual do({ds.counterfactual.intervention})",
                           ds.counterfactual.images[r][steps], ds.counterfactual.labels[r][steps],
                           None))
    h = int(ds.images.shape[2])
    scale = max(1, -(-SCALE_TO // h))
    tile, line_h, pad = h * scale, 11, 6
    text_h = line_h * (len(names) + 1) + 4
    row_h = 14 + tile + text_h + pad
    width = pad + len(steps) * (tile + pad)
    sheet = Image.new("RGB", (max(width, 320), 18 + len(strips) * row_h), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 4), f"{Path(ds.path).name}: {ds.scene}, {ds.n} sequences x {ds.steps} steps",
              fill="black", font=font)
    for k, (title, images, labels, mask) in enumerate(strips):
        y0 = 18 + k * row_h
        draw.text((pad, y0), title, fill="black", font=font)
        for j, (t, img, lab) in enumerate(zip(steps.tolist(), images, labels, strict=True)):
            x, y = pad + j * (tile + pad), y0 + 14
            sheet.paste(Image.fromarray(np.asarray(img)).resize((tile, tile), Image.NEAREST), (x, y))
            hit = [] if mask is None else [names[i] for i in np.flatnonzero(mask[j])]
            draw.rectangle((x - 1, y - 1, x + tile, y + tile), outline=RED if hit else (200, 200, 200),
                           width=2 if hit else 1)
            head = f"t={t}" + (f" do({','.join(hit)})" if hit else "")
            draw.text((x, y + tile + 2), head, fill=RED if hit else "black", font=font)
            for i, (name, v) in enumerate(zip(names, lab.tolist(), strict=True)):
                draw.text((x, y + tile + 2 + (i + 1) * line_h), f"{name[:10]}={v:.3g}",
                          fill="black", font=font)
    return sheet
