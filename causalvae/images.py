"""Write image grids as PNG: the trainer's ``recon.png``, labelled with matplotlib when the
``figures`` extra is installed, and a plain Pillow grid otherwise."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor

__all__ = ["grid_array", "save_grid", "save_recon"]


def grid_array(rows: Sequence[Tensor], pad: int = 2) -> np.ndarray:
    """Rows of float images (N, 3, H, W) in [0, 1] -> one uint8 (R*(H+pad)+pad, ..., 3) array."""
    arrays = [r.detach().float().clamp(0, 1).cpu().numpy() for r in rows]
    n = max(a.shape[0] for a in arrays)
    h, w = arrays[0].shape[2:]
    out = np.full((len(arrays) * (h + pad) + pad, n * (w + pad) + pad, 3), 255, np.uint8)
    for r, arr in enumerate(arrays):
        for c, img in enumerate(arr):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            out[y:y + h, x:x + w] = np.round(img.transpose(1, 2, 0) * 255).astype(np.uint8)
    return out


def save_grid(path: str | os.PathLike, rows: Sequence[Tensor], pad: int = 2) -> Path:
    """Save rows of images (each (N, 3, H, W) in [0, 1]) as one PNG grid."""
    path = Path(path)
    Image.fromarray(grid_array(rows, pad)).save(path)
    return path


def save_recon(path: str | os.PathLike, x: Tensor, recon: Tensor, title: str) -> Path:
    """Inputs above reconstructions (each (N, 3, H, W) in [0, 1]) as a labelled figure, or as a
    plain grid without matplotlib. Called once, after training."""
    from causalgen.figures import have_matplotlib

    if not have_matplotlib():
        return save_grid(path, [x, recon])
    from causalgen.figures.style import save
    from causalvae.figures.recon import recon_grid

    xs = x.detach().float().clamp(0, 1).cpu().numpy()
    rs = recon.detach().float().clamp(0, 1).cpu().numpy()
    return save(recon_grid(xs, rs, [f"#{i}" for i in range(len(xs))], title), path, dpi=150)
