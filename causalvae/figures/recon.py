"""Reconstruction figures: inputs above reconstructions, labelled, with each image's error.

Light on imports (numpy and the figure style only), so the trainer can draw its ``recon.png``
once training has finished without loading the evaluation code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from causalgen.figures.style import FONT_SIZE, GREY, style


def framed_image(ax: Any, image: np.ndarray, frame: str, linewidth: float | None = None) -> Any:
    """Draw a float (3, S, S) image in [0, 1] on ``ax`` without ticks, framed in ``frame``
    (matplotlib's default line width unless ``linewidth``)."""
    ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor(frame)
        if linewidth is not None:
            spine.set_linewidth(linewidth)
    return ax


def recon_grid(x: np.ndarray, r: np.ndarray, heads: Sequence[str], title: str) -> Any:
    """Inputs (top row) above reconstructions (bottom row), float (n, 3, S, S) in [0, 1], with
    each image's pixel MSE and the mean in the title."""
    mse = ((x - r) ** 2).mean(axis=(1, 2, 3))
    tile = 0.7
    with style() as plt:
        fig, axes = plt.subplots(2, len(x), figsize=(1.3 + tile * len(x), 2 * tile + 0.75),
                                 squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.12})
        for c in range(len(x)):
            for row, img in ((0, x[c]), (1, r[c])):
                framed_image(axes[row, c], img, GREY)
            axes[1, c].set_xlabel(f"MSE {mse[c]:.4f}", fontsize=FONT_SIZE - 2.5)
            axes[0, c].set_title(heads[c], fontsize=FONT_SIZE - 2.5, pad=2)
        axes[0, 0].set_ylabel("input", fontsize=FONT_SIZE - 1)
        axes[1, 0].set_ylabel("reconstruction", fontsize=FONT_SIZE - 1)
        fig.suptitle(f"{title}, mean pixel MSE {mse.mean():.4f}", fontsize=FONT_SIZE)
    return fig
