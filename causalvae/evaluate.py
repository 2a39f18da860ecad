"""Evaluate a trained run against the truth that generated its data.

The generator knows the graph, the mechanisms and every sample's exogenous noise, so besides the
usual representation metrics this module asks it for ground truth:

- graph recovery: the learned A against the file's adjacency (:mod:`causalvae.graph`);
- MIC / TIC between each concept's latent and its label, as the CausalVAE paper reports them;
- DCI and MIG of the full latent vector against the labels;
- counterfactual fidelity: for held-out samples and each concept i, the scene renders the true
  counterfactual under do(u_i = v) with the sample's own noise; the model produces its own
  (CausalVAE: encode, set z_i, propagate through the mask layer, decode; models without a causal
  layer: a traversal of the latent most tied to u_i); both are compared by pixel MSE and by the
  error of a label probe trained on real images, next to the model's plain reconstruction error
  as the floor.

Concept latents: models with concept blocks (n concepts x k dims) use the mean of block i as the
scalar latent of concept i. Models without blocks (beta-VAE, CHyVAE) use, for each label, the
latent dimension with the largest |correlation| to it (each dimension used once, greedily).
Intervention values are mapped into latent units by a per-concept linear calibration fitted on
the evaluation samples (latent = a + b * label), the same rule for every model.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from causalgen.io import open_dataset
from causalgen.truth import counterfactual_truth, truth_unavailable
from causalvae.checkpoint import LoadedRun, load_run
from causalvae.data import to_model_input
from causalvae.errors import CausalvaeError
from causalvae.essential import class_name, target_family
from causalvae.graph import graph_metrics
from causalvae.metrics import concept_mic_tic, dci, mig

log = logging.getLogger(__name__)
EVALUATION_NAME = "evaluation.json"
# bumped when a metric changes, so `causalvae experiment` redoes older evaluations
# (2: the label probe became a CNN; 3: shd_cpdag)
EVALUATION_VERSION = 3
PROBE_SIZE = 32  # label probes read images downsampled to this size


def resolve_data(run_dir: Path, data: str | os.PathLike | None) -> Path:
    """The dataset of a run: ``data`` if given, else the path the run recorded."""
    if data is not None:
        return Path(data)
    info = run_dir / "run.json"
    if info.exists():
        try:
            recorded = json.loads(info.read_text()).get("data")
        except (json.JSONDecodeError, AttributeError):
            recorded = None
        if recorded:
            return Path(recorded)
    raise CausalvaeError(f"{run_dir} does not record its dataset; pass --data FILE.h5")


@dataclass
class EvalBatch:
    """Evaluation samples: images (m, H, W, 3) uint8, labels (m, n) physical, indices into file."""

    indices: np.ndarray
    images: np.ndarray
    labels: np.ndarray


def _select(ds: Any, n: int, seed: int) -> EvalBatch:
    """Up to ``n`` random test samples; observational ones only in a file with interventions
    (their labels are a unit's factual values, which counterfactuals start from)."""
    idx = ds.indices("test")
    if len(idx) == 0:
        idx = ds.indices("all")
    # the evaluator is the oracle: it sees targets a --hide-targets file keeps from learners
    mask = ds.hidden_targets()[0] if hasattr(ds, "hidden_targets") else ds.intervened
    if mask is not None:
        idx = idx[~mask[idx].any(1)]
    if len(idx) == 0:
        raise CausalvaeError(
            f"{ds.path} has no observational test samples to evaluate on (every one was "
            "intervened); generate it with --intervention-mix below 1"
        )
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
    return EvalBatch(idx, ds.images[idx], ds.labels[idx].astype(np.float64))


class ModelView:
    """A loaded run seen through the evaluation's needs: batches, latents, counterfactuals."""

    def __init__(self, run: LoadedRun, device: str | torch.device, batch: int = 256) -> None:
        self.run = run
        self.model = run.model
        self.device = torch.device(device)
        self.size = run.config.model.image_size
        self.batch = batch
        self.n = len(run.variable_names)
        self.blocks = self.model.k if self.model.concept_blocks else None

    def _inputs(self, images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_model_input(torch.from_numpy(np.ascontiguousarray(images)), self.device, self.size)
        u = torch.as_tensor(self.run.label_stats.normalise(labels), dtype=torch.float32,
                            device=self.device)
        return x, u

    def _batches(self, images: np.ndarray, labels: np.ndarray):
        for s in range(0, len(images), self.batch):
            yield s, self._inputs(images[s:s + self.batch], labels[s:s + self.batch])

    @torch.no_grad()
    def representation(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        out = [self.model.representation(x, u).float().cpu().numpy()
               for _, (x, u) in self._batches(images, labels)]
        return np.concatenate(out)  # (m, z_dim)

    @torch.no_grad()
    def reconstruct(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(model input images, reconstructions), both float (m, 3, S, S) in [0, 1]."""
        xs, rs = [], []
        for _, (x, u) in self._batches(images, labels):
            xs.append(x.float().cpu().numpy())
            rs.append(self.model.reconstruct(x, u).float().cpu().numpy())
        return np.concatenate(xs), np.concatenate(rs)


def concept_latents(latents: np.ndarray, labels: np.ndarray, k: int | None) -> tuple[np.ndarray, list[list[int]]]:
    """Scalar latent per concept (m, n) and the latent dimensions each one reads."""
    n = labels.shape[1]
    if k is not None and latents.shape[1] == n * k:
        dims = [list(range(i * k, (i + 1) * k)) for i in range(n)]
        return np.stack([latents[:, d].mean(1) for d in dims], 1), dims
    corr = np.nan_to_num(np.abs(_corr(latents, labels)))  # (z_dim, n)
    dims, used = [], set()
    for i in np.argsort(-corr.max(0)):  # labels with the strongest match choose first
        order = [d for d in np.argsort(-corr[:, i]) if d not in used]
        dims.append((int(i), [int(order[0])]))
        used.add(int(order[0]))
    dims_sorted = [d for _, d in sorted(dims)]
    return np.stack([latents[:, d[0]] for d in dims_sorted], 1), dims_sorted


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = (a - a.mean(0)) / (a.std(0) + 1e-12)
    b = (b - b.mean(0)) / (b.std(0) + 1e-12)
    return a.T @ b / len(a)  # (da, db)


Calibration = list[tuple[np.ndarray, np.ndarray]]  # per concept: a (d,), b (d,)


def calibrate(latents: np.ndarray, labels: np.ndarray, dims: list[list[int]]) -> Calibration:
    """Per concept, least squares latents[:, dims_i] (m, d) ~ a + b * label_i."""
    out = []
    for i, d in enumerate(dims):
        design = np.stack([np.ones(len(labels)), labels[:, i]], 1)  # (m, 2)
        coef, *_ = np.linalg.lstsq(design, latents[:, d], rcond=None)  # (2, d)
        out.append((coef[0], coef[1]))
    return out


class LabelProbe:
    """A small CNN from images to standardised labels, trained on real images of the dataset.

    Images are resized to ``PROBE_SIZE`` (area averaging); three stride-2 3x3 convolutions and
    two linear layers; Adam, mean squared error on labels standardised with the training set's
    statistics. Seeded, so a probe is the same for every model evaluated on the same file on
    the same machine and thread count (CPU convolutions are not bit-stable across thread
    counts). ``error`` on the ground-truth counterfactual images (``probe_rmse_truth``) is the
    probe's own floor.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, epochs: int = 12,
                 seed: int = 0) -> None:
        self.mean, self.std = labels.mean(0), labels.std(0) + 1e-12
        n = labels.shape[1]
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = torch.nn.Sequential(
                torch.nn.Conv2d(3, 16, 3, 2, 1), torch.nn.SiLU(),
                torch.nn.Conv2d(16, 32, 3, 2, 1), torch.nn.SiLU(),
                torch.nn.Conv2d(32, 32, 3, 2, 1), torch.nn.SiLU(),
                torch.nn.Flatten(), torch.nn.Linear(32 * (PROBE_SIZE // 8) ** 2, 64),
                torch.nn.SiLU(), torch.nn.Linear(64, n),
            )
        x = self.features(images)  # (m, 3, P, P)
        y = torch.as_tensor((labels - self.mean) / self.std, dtype=torch.float32)  # (m, n)
        opt = torch.optim.Adam(self.net.parameters(), lr=3e-3)
        steps_per_epoch = max(1, len(x) // 64)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
        self.net.train()
        with torch.enable_grad():  # also when the caller is under torch.no_grad()
            for _ in range(epochs):
                order = torch.randperm(len(x), generator=generator)
                for s in range(steps_per_epoch):
                    idx = order[s * 64:(s + 1) * 64]
                    loss = torch.nn.functional.mse_loss(self.net(x[idx]), y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
        self.net.eval()

    @staticmethod
    def features(images: np.ndarray) -> torch.Tensor:
        """uint8 (m, H, W, 3) or float (m, 3, S, S) in [0, 1] -> (m, 3, PROBE_SIZE, PROBE_SIZE)."""
        x = torch.as_tensor(images)
        x = x.permute(0, 3, 1, 2).float() / 255.0 if x.dtype == torch.uint8 else x.float()
        return torch.nn.functional.interpolate(x, size=(PROBE_SIZE, PROBE_SIZE), mode="area")

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """Standardised label predictions (m, n)."""
        x = self.features(images)
        return torch.cat([self.net(x[s:s + 512]) for s in range(0, len(x), 512)]).numpy()

    def error(self, images: np.ndarray, labels: np.ndarray) -> float:
        """RMSE over all labels, in train standard deviations."""
        target = (labels - self.mean) / self.std
        return float(np.sqrt(np.mean((self.predict(images) - target) ** 2)))


def _to_float_images(uint8_images: np.ndarray, size: int) -> np.ndarray:
    return to_model_input(torch.from_numpy(np.ascontiguousarray(uint8_images)), torch.device("cpu"),
                          size).numpy()


@torch.no_grad()
def model_counterfactual(view: ModelView, images: np.ndarray, labels: np.ndarray, concept: int,
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


def counterfactual_fidelity(view: ModelView, ds: Any, batch: EvalBatch, dims: list[list[int]],
                            calib: Calibration, probe: LabelProbe, n_cf: int,
                            seed: int) -> dict[str, Any]:
    """Per-concept pixel MSE and probe error of the model's counterfactuals against the truth."""
    rng = np.random.default_rng(seed + 1)
    m = min(n_cf, len(batch.indices))
    pick = np.sort(rng.choice(len(batch.indices), size=m, replace=False))
    idx, images, labels = batch.indices[pick], batch.images[pick], batch.labels[pick]
    x_in, recon = view.reconstruct(images, labels)
    floor = float(np.mean((recon - x_in) ** 2))
    per: dict[str, Any] = {}
    names = view.run.variable_names
    for i, name in enumerate(names):
        values = labels[rng.permutation(m), i]  # another held-out sample's value: in range
        truth_u8, truth_labels = counterfactual_truth(ds, idx, {name: values}, size=view.size)
        truth = _to_float_images(truth_u8, view.size)
        mine = model_counterfactual(view, images, labels, i, values, dims, calib)
        changed = truth_labels[:, :] != labels
        per[name] = {
            "pixel_mse": float(np.mean((mine - truth) ** 2)),
            "probe_rmse": probe.error(mine, truth_labels),
            "probe_rmse_truth": probe.error(truth_u8, truth_labels),
            "variables_changed": [names[j] for j in np.flatnonzero(changed.any(0))],
        }
    return {"per_concept": per, "recon_mse_floor": floor, "n": m,
            "mean_pixel_mse": float(np.mean([v["pixel_mse"] for v in per.values()])),
            "mean_probe_rmse": float(np.mean([v["probe_rmse"] for v in per.values()]))}


def evaluate(run_dir: str | os.PathLike, data: str | os.PathLike | None = None, *,
             n_eval: int = 1000, n_cf: int = 256, seed: int = 0, device: str = "cpu",
             write: bool = True) -> dict[str, Any]:
    """Evaluate the run in ``run_dir``; writes ``evaluation.json`` and ``figures/adjacency.png``."""
    run_dir = Path(run_dir)
    run = load_run(run_dir, device)
    data_path = resolve_data(run_dir, data)
    view = ModelView(run, device)
    with open_dataset(data_path) as ds:
        if ds.variable_names != run.variable_names:
            raise CausalvaeError(
                f"{data_path} has variables {ds.variable_names}, but the run was trained on "
                f"{run.variable_names}; pass the run's dataset with --data"
            )
        if getattr(ds, "steps", None) is not None:
            raise CausalvaeError(
                f"{data_path} holds sequences ({ds.steps} steps): a frame's counterfactual "
                "depends on the previous steps, which this evaluation does not model yet; "
                "evaluate on a still file of the same scene (generated without --steps)"
            )
        batch = _select(ds, n_eval, seed)
        latents = view.representation(batch.images, batch.labels)  # (m, z_dim)
        concept_lat, dims = concept_latents(latents, batch.labels, view.blocks)
        mic = concept_mic_tic(concept_lat, batch.labels)
        half = len(latents) // 2
        dci_scores = dci(latents[:half], batch.labels[:half], latents[half:], batch.labels[half:])
        mig_scores = mig(latents, batch.labels)
        train_idx = np.sort(np.random.default_rng(seed).choice(
            ds.indices("train"), size=min(4000, len(ds.indices("train"))), replace=False))
        calib = calibrate(latents, batch.labels, dims)
        no_truth = truth_unavailable(ds)
        if no_truth is None:
            probe = LabelProbe(ds.images[train_idx], ds.labels[train_idx])
            cf = counterfactual_fidelity(view, ds, batch, dims, calib, probe, n_cf, seed)
        else:  # an imported file: no generator, so no ground-truth counterfactuals
            log.debug("counterfactual fidelity skipped: %s", no_truth)
            m = min(n_cf, len(batch.indices))
            x_in, recon = view.reconstruct(batch.images[:m], batch.labels[:m])
            cf = {"skipped": no_truth, "recon_mse_floor": float(np.mean((recon - x_in) ** 2)),
                  "n": m}
        true_adj = ds.adjacency
        # imported files: the graph is the one declared at import (none declared: no edges)
        graph_source = ("generator" if not ds.is_external else
                        "declared" if ds.source.get("graph_declared") else "none declared")
        targets = target_family(ds.intervened)
    result: dict[str, Any] = {
        "evaluation_version": EVALUATION_VERSION,
        "run": str(run_dir), "data": str(data_path), "model": run.model.name,
        "variables": run.variable_names, "epoch": run.epoch, "n_eval": len(latents),
        "mic": float(mic["mic"]), "tic": float(mic["tic"]), "tic_norm": float(mic["tic_norm"]),
        "mic_per_concept": dict(zip(run.variable_names, (float(p["mic"]) for p in mic["per_concept"]),
                                    strict=True)),
        "dci": {k: v for k, v in dci_scores.items() if k != "importance"},
        "mig": float(mig_scores["mig"]),
        "counterfactual": cf,
        "true_adjacency": true_adj.astype(int).tolist(),
        "graph_source": graph_source,
    }
    if getattr(run.model, "has_causal_layer", False):
        A = run.model.learned_adjacency()
        # a model may declare its own rule (causalvae-int: |A| > graph_threshold, since its |A|
        # is a mechanism's slope bound); otherwise default_threshold. Both SHDs are reported.
        rule = getattr(run.model, "edge_threshold", lambda: None)()
        g = graph_metrics(A, true_adj, threshold=rule, targets=targets)
        result.update({k: g[k] for k in ("shd", "shd_cpdag", "equivalence_class", "graph_flags",
                                          "precision", "recall", "auroc", "threshold",
                                          "learned_adjacency", "predicted_adjacency", "shd_curve")})
        result["sid"] = g.get("sid")
        result["threshold_rule"] = "model" if rule is not None else "default"
        result["shd_default_rule"] = g["shd"] if rule is None else graph_metrics(A, true_adj)["shd"]
    else:
        result.update({"shd": None, "shd_cpdag": None, "equivalence_class": class_name(targets),
                       "graph_flags": [], "precision": None, "recall": None, "auroc": None,
                       "threshold": None, "learned_adjacency": None, "predicted_adjacency": None,
                       "sid": None, "threshold_rule": None, "shd_default_rule": None})
    if write:
        (run_dir / EVALUATION_NAME).write_text(json.dumps(result, indent=2, default=_jsonable))
        _adjacency_png(run_dir, result)
    return result


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _adjacency_png(run_dir: Path, result: dict[str, Any]) -> None:
    """RUN/figures/adjacency.png (learned |A| beside the true graph), if matplotlib is there."""
    from causalgen.figures import have_matplotlib

    if not have_matplotlib():
        log.warning("matplotlib is not installed: no adjacency figure (pip install "
                    "'causalgen[figures]')")
        return
    from causalvae.figures.run import write_run_figures

    write_run_figures(run_dir, which=("adjacency",))
