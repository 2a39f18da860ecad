"""Counterfactual fidelity: a model's images under do() against the generator's ground truth.

For held-out observational units and each variable i, the scene renders the true counterfactual
under do(u_i = v) with the unit's own exogenous noise (:mod:`causalgen.truth`); a model makes its
own; both are compared by pixel MSE and by a label probe (:mod:`causalvae.probe`). The same
:func:`counterfactual_scores` serves our runs (:func:`counterfactual_fidelity`, through
:func:`model_counterfactual` and a linear calibration of label values to latent values) and any
model's ``intervene`` (:mod:`causalvae.protocol`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from causalgen.truth import counterfactual_truth
from causalvae.data import to_model_input
from causalvae.probe import LabelProbe

log = logging.getLogger(__name__)


@dataclass
class EvalBatch:
    """Evaluation samples: images (m, H, W, 3) uint8, labels (m, n) physical, indices into file."""

    indices: np.ndarray
    images: np.ndarray
    labels: np.ndarray


Calibration = list[tuple[np.ndarray, np.ndarray]]  # per concept: a (d,), b (d,)


def calibrate(latents: np.ndarray, labels: np.ndarray, dims: list[list[int]]) -> Calibration:
    """Per concept, least squares latents[:, dims_i] (m, d) ~ a + b * label_i."""
    out = []
    for i, d in enumerate(dims):
        design = np.stack([np.ones(len(labels)), labels[:, i]], 1)  # (m, 2)
        coef, *_ = np.linalg.lstsq(design, latents[:, d], rcond=None)  # (2, d)
        out.append((coef[0], coef[1]))
    return out


def _to_float_images(uint8_images: np.ndarray, size: int) -> np.ndarray:
    return to_model_input(torch.from_numpy(np.ascontiguousarray(uint8_images)), torch.device("cpu"),
                          size).numpy()


@torch.no_grad()
def model_counterfactual(view: Any, images: np.ndarray, labels: np.ndarray, concept: int,
                         values: np.ndarray, dims: list[list[int]], calib: Calibration) -> np.ndarray:
    """The model's images under do(u_concept = values): float (m, 3, S, S) in [0, 1]."""
    model = view.model
    a, b = calib[concept]
    target = a[None, :] + b[None, :] * values[:, None]  # (m, |dims|)
    out = []
    for s, (x, u) in view._batches(images, labels):
        block = torch.as_tensor(target[s:s + len(x)], dtype=torch.float32, device=view.device)
        if getattr(model, "has_causal_layer", False):
            out.append(model.do(x, u, {concept: block}).float().cpu().numpy())
            continue
        z = model.decoder_latents(x, u).clone()  # (B, z_dim)
        z[:, dims[concept]] = block
        out.append(model.to_image(model.decode(z)).float().cpu().numpy())
    return np.concatenate(out)


# (images uint8 (m, H, W, 3), labels (m, V), concept, values (m,)) -> float (m, 3, S, S) in [0, 1]
MakeCounterfactual = Callable[[np.ndarray, np.ndarray, int, np.ndarray], np.ndarray]


def counterfactual_scores(ds: Any, batch: EvalBatch, make_cf: MakeCounterfactual,
                          probe: LabelProbe, seed: int, size: int | None = None) -> dict[str, Any]:
    """Per-concept pixel MSE and probe error of ``make_cf``'s counterfactuals against the truth
    rendered at ``size`` (the file's by default), each concept set to another sample's value."""
    rng = np.random.default_rng(seed + 1)
    size = size or ds.image_size
    m = len(batch.indices)
    per: dict[str, Any] = {}
    names = ds.variable_names
    # the do-nothing reference offers the factual images as every concept's counterfactual
    factual = _to_float_images(batch.images, size)
    factual_pred = probe.predict(batch.images)
    for i, name in enumerate(names):
        log.info("counterfactuals: do(%s) on %d held-out samples", name, m)
        values = batch.labels[rng.permutation(m), i]  # another held-out sample's value: in range
        truth_u8, truth_labels = counterfactual_truth(ds, batch.indices, {name: values}, size=size)
        truth = _to_float_images(truth_u8, size)
        mine = make_cf(batch.images, batch.labels, i, values)
        changed = truth_labels != batch.labels
        per[name] = {
            "pixel_mse": float(np.mean((mine - truth) ** 2)),
            "probe_rmse": probe.error(mine, truth_labels),
            "probe_rmse_truth": probe.error(truth_u8, truth_labels),
            # the do-nothing reference: the factual image itself offered as the counterfactual
            # (a model that moves nothing scores about this; a small change of the image, such
            # as a shadow's shift, makes its pixel MSE small and its probe error large)
            "pixel_mse_unchanged": float(np.mean((factual - truth) ** 2)),
            "probe_rmse_unchanged": probe.rmse(factual_pred, truth_labels),
            "variables_changed": [names[j] for j in np.flatnonzero(changed.any(0))],
        }
    return {"per_concept": per, "n": m,
            "mean_pixel_mse": float(np.mean([v["pixel_mse"] for v in per.values()])),
            "mean_probe_rmse": float(np.mean([v["probe_rmse"] for v in per.values()]))}


def counterfactual_fidelity(view: Any, ds: Any, batch: EvalBatch, dims: list[list[int]],
                            calib: Calibration, probe: LabelProbe, seed: int) -> dict[str, Any]:
    """:func:`counterfactual_scores` of a run (at its image size), with its reconstruction floor."""
    x_in, recon = view.reconstruct(batch.images, batch.labels)

    def make_cf(images: np.ndarray, labels: np.ndarray, concept: int,
                values: np.ndarray) -> np.ndarray:
        return model_counterfactual(view, images, labels, concept, values, dims, calib)

    out = counterfactual_scores(ds, batch, make_cf, probe, seed, size=view.size)
    return {**out, "recon_mse_floor": float(np.mean((recon - x_in) ** 2))}
