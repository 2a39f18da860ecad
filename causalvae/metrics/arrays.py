"""The array check every metric shares: latents and factors as finite float64 (N, k) tables.

Each metric module used to carry its own copy of this check with a different minimum of rows;
they now call :func:`as_table` with the minimum they need (MCC and DCI correlate or regress, so
they need two rows; MIG, R² and MIC check their own minimum later).
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_table"]


def as_table(a: np.ndarray, name: str, min_rows: int = 1) -> np.ndarray:
    """``a`` as a finite float64 (N, k) array with N >= ``min_rows`` and k >= 1 (a 1-D array is
    one column); a ValueError naming ``name`` otherwise."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < min_rows or a.shape[1] == 0:
        raise ValueError(f"{name} must be an (N, k) array with N >= {min_rows} and k >= 1, "
                         f"got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a
