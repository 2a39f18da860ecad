"""Ground truth on demand: counterfactual labels and images of a dataset's own samples.

The generator knows every sample's exogenous noise, so it can answer "what would this image have
looked like under do(v = value)?" exactly: the same noise, the mechanisms re-evaluated
downstream of ``v``, the same renderer. Evaluation compares a model's counterfactuals with these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from causalgen import scenes
from causalgen.io.reader import Dataset
from causalgen.scm.spec import SCM, Samples


def dataset_scm(ds: Dataset) -> tuple[scenes.Scene, SCM]:
    """The scene and the SCM the file's samples were drawn from (its intervention applied)."""
    scene, scm = scenes.from_dataset(ds)
    return scene, (scm.do(**ds.intervention) if ds.intervention else scm)


def counterfactual_truth(ds: Dataset, indices: Sequence[int] | np.ndarray,
                         intervention: Mapping[str, float | np.ndarray], size: int | None = None,
                         clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Counterfactual (images uint8 (m, S, S, 3), labels float64 (m, V)) of samples ``indices``.

    ``intervention`` maps variable names to a value or to one value per sample. Values are clipped
    to the renderable range by default so that any model-chosen value can be rendered.
    """
    scene, scm = dataset_scm(ds)
    idx = np.asarray(indices)
    order = np.argsort(idx)
    inverse = np.argsort(order)
    sorted_idx = idx[order]  # h5py reads need increasing indices
    factual = Samples(scm.names, ds.labels[sorted_idx].astype(np.float64),
                      ds.noise[sorted_idx].astype(np.float64))
    m = len(idx)
    # one value per sample, reordered like the rows; with clip, the SCM clips forced values too
    forced = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (m,))[order]
              for k, v in intervention.items()}
    values = scm.counterfactual_columns(factual, forced, clip=clip).values
    images = scene.render(dict(zip(scm.names, values.T, strict=True)), size or ds.image_size)
    return images[inverse], values[inverse]
