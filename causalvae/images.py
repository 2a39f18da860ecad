"""Write image grids (reconstructions, traversals, interventions) as PNG with Pillow."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor

__all__ = ["grid_array", "save_grid"]


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
