"""Sample grids of a dataset (``causalgen show``): images with their labels, interventions marked.

Each tile is a sample's image, framed, with every variable's full name (wrapped), value and unit
beneath it. A sample of an ``--intervention-mix`` file whose variable was set by ``do()`` gets a
vermillion frame and a ``do(NAME)`` header, and that variable's line is marked; a file generated
under a dataset-wide ``--do`` says so in the title. With ``counterfactual``, each factual tile is
followed by its counterfactual twin, framed in blue and headed "factual" and "counterfactual
do(...)", and the values the intervention changed are marked in blue.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from causalgen.errors import DatasetError
from causalgen.figures.style import FONT_SIZE, GREY, OKABE_ITO, fmt_value, style, wrap
from causalgen.io.reader import open_dataset

MARK = OKABE_ITO["vermillion"]
TILE_IN = 1.25  # inches per image
TEXT_PT = 6.5


def describe_do(assignments: Mapping[str, Any], units: Mapping[str, str] | None = None) -> str:
    """``do(a = 30°, b ~ uniform(0, 1))`` of an intervention's assignments."""
    if "text" in assignments:  # a soft or mechanism intervention records its own text
        return str(assignments["text"])
    units = units or {}
    parts = [f"{k}\u00a0=\u00a0{fmt_value(v, units.get(k))}" if isinstance(v, (int, float))
             else f"{k}\u00a0~ {v}" for k, v in assignments.items()]
    return f"do({', '.join(parts)})"


def _value_lines(names: Sequence[str], units: Sequence[str], values: np.ndarray,
                 marked: set[int], width: int = 26) -> list[tuple[str, bool]]:
    """One entry per variable: its ``name = value unit`` text and whether it is marked. A long
    name wraps at its underscores; the value follows on the name's last line where it fits, and
    on a line of its own (indented) where it does not: it is never split."""
    out = []
    for i, (name, unit, v) in enumerate(zip(names, units, values.tolist(), strict=True)):
        lines = wrap(name, width).split("\n")
        value = "=\u00a0" + fmt_value(v, unit)
        if len(lines[-1]) + 1 + len(value) <= width:
            lines[-1] += " " + value
        else:
            lines.append("  " + value)
        out.append(("\n".join(lines), i in marked))
    return out


def sample_grid(path: str | os.PathLike, n: int = 16, cols: int = 4, seed: int = 0,
                counterfactual: bool = False) -> Any:
    """A figure of ``n`` random samples of the file at ``path`` (see the module docstring); a
    temporal file is drawn as the filmstrips of :mod:`causalgen.filmstrip`."""
    with open_dataset(path) as ds:
        if getattr(ds, "steps", None) is not None:
            from causalgen.filmstrip import filmstrip

            return image_figure(np.asarray(filmstrip(ds, n=min(n, 4), seed=seed,
                                                     counterfactual=counterfactual)))
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(ds.n, size=min(n, ds.n), replace=False))
        images = ds.images[idx]  # (n, H, W, 3)
        labels = ds.labels[idx]
        names = list(ds.variable_names)
        units = [v.unit for v in ds.variables]
        unit_of = dict(zip(names, units, strict=True))
        mask = ds.intervened[idx] if ds.intervened is not None else np.zeros(labels.shape, bool)
        title = f"{os.path.basename(path)}: {ds.scene}, {ds.n} images"
        env = getattr(ds, "environment", None)
        if env is not None:  # the environment of each tile, as an extra label line
            names = [*names, "environment"]
            units = [*units, ""]
            labels = np.concatenate([labels, env[idx, None].astype(labels.dtype)], axis=1)
            title += f", {len(ds.environments or [])} environments"
        if ds.intervention:
            title += f"; every sample under {describe_do(ds.intervention, unit_of)}"
        if counterfactual and ds.counterfactual is None:
            raise DatasetError(
                f"{path} has no counterfactual group; generate it with --counterfactual VAR=VALUE."
            )
        tiles: list[dict[str, Any]] = []
        cf_text = None
        if counterfactual and ds.counterfactual is not None:
            cf_text = describe_do(ds.counterfactual.intervention, unit_of)
            cf_img, cf_lab = ds.counterfactual.images[idx], ds.counterfactual.labels[idx]
            if env is not None:
                cf_lab = np.concatenate([cf_lab, env[idx, None].astype(cf_lab.dtype)], axis=1)
        set_everywhere = {names.index(k) for k in ds.intervention if k in names}  # --do
        for k, i in enumerate(idx):
            did = {int(j) for j in np.flatnonzero(mask[k])}
            head = f"factual #{int(i)}" if cf_text is not None else f"sample #{int(i)}"
            if did:
                head += "\n" + wrap("do(" + ", ".join(names[j] for j in sorted(did)) + ")", 26)
            tiles.append({"image": images[k], "head": head, "marked": did | set_everywhere,
                          "values": labels[k],
                          "frame": MARK if did else GREY})
            if cf_text is not None:
                changed = {int(j) for j in np.flatnonzero(~np.isclose(cf_lab[k], labels[k]))}
                tiles.append({"image": cf_img[k],
                              "head": f"counterfactual #{int(i)}\n{wrap(cf_text, 26)}",
                              "marked": changed, "values": cf_lab[k], "frame": OKABE_ITO["blue"],
                              "mark": OKABE_ITO["blue"]})
    if cf_text is not None:
        title += f"; each sample is followed by its counterfactual under {cf_text}"
        cols = max(2, cols - cols % 2)  # a factual tile and its twin side by side
    return _draw(tiles, names, units, cols, title, counterfactual=cf_text is not None)


def image_figure(image: np.ndarray, dpi: float = 150.0) -> Any:
    """A figure showing an RGB array pixel for pixel (at ``dpi``), for drawings made elsewhere."""
    h, w = image.shape[:2]
    with style() as plt:
        fig = plt.figure(figsize=(w / dpi, h / dpi))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(image, interpolation="nearest")
        ax.axis("off")
    return fig


def _draw(tiles: list[dict[str, Any]], names: list[str], units: list[str], cols: int,
          title: str, counterfactual: bool) -> Any:
    rows = -(-len(tiles) // cols)
    cols = min(cols, len(tiles))
    line_in = TEXT_PT * 1.25 / 72
    text_lines = max(sum(t.count("\n") + 1 for t, _ in _value_lines(names, units, tile["values"],
                                                                    set()))
                     for tile in tiles)
    head_lines = max(tile["head"].count("\n") + 1 for tile in tiles)
    head_in = head_lines * line_in + 0.04
    cell_h = head_in + TILE_IN + 0.06 + text_lines * line_in + 0.12
    cell_w = TILE_IN + 0.35
    title_lines = wrap(title, int(cols * cell_w * 72 / (FONT_SIZE * 0.55)))
    title_in = (title_lines.count("\n") + 1) * FONT_SIZE * 1.3 / 72 + 0.1
    width, height = cols * cell_w, rows * cell_h + title_in
    with style() as plt:
        fig = plt.figure(figsize=(width, height))
        fig.text(0.5, 1 - 0.05 / height, title_lines, ha="center", va="top", fontsize=FONT_SIZE)
        for k, tile in enumerate(tiles):
            r, c = divmod(k, cols)
            left = (c * cell_w + (cell_w - TILE_IN) / 2) / width
            top = height - title_in - r * cell_h - head_in
            ax = fig.add_axes((left, (top - TILE_IN) / height, TILE_IN / width, TILE_IN / height))
            ax.imshow(np.asarray(tile["image"]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_edgecolor(tile["frame"])
                spine.set_linewidth(2.0 if tile["frame"] != GREY else 0.8)
            marked_head = "\ndo(" in tile["head"] and not tile["head"].startswith("counterfactual")
            ax.set_title(tile["head"], fontsize=TEXT_PT + 0.5, pad=2, loc="left", linespacing=1.15,
                         color=MARK if marked_head else "black",
                         fontweight="bold" if counterfactual or marked_head else "normal")
            y = (top - TILE_IN - 0.06) / height
            for text, marked in _value_lines(names, units, tile["values"], tile["marked"]):
                for line in text.split("\n"):  # one call per line: an even line pitch
                    fig.text(left, y, line, ha="left", va="top", fontsize=TEXT_PT,
                             color=tile.get("mark", MARK) if marked else "black",
                             fontweight="bold" if marked else "normal")
                    y -= line_in / height
    return fig
