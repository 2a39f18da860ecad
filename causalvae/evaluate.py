"""Evaluate a trained run against the truth that generated its data, like any other model.

A run is scored through the same protocol as a model that is not ours
(:mod:`causalvae.protocol`): its representation is what ``encode(images)`` returns from the
image alone, scored by :func:`causalvae.representation.representation_metrics` (MCC, R^2, MIC /
TIC, DCI, MIG). Label-fed encoders h(x, u) (``uses_labels``: causalvae, causalvae-int,
conditionvae) are given no labels: one trained with the missing-label flag (``missing_flag``,
the recommended causalvae) is told every label is missing, the input it learned for unlabelled
images; any other has u *marginalised*: the posterior mean averaged over ``marginal_samples``
label vectors drawn from the training split (seeded, the same for every image). No score can come
from copying the labels fed. Their scores with the image's own labels fed are shown beside, under
``label_fed``. Besides that, the generator's ground truth gives:

- graph recovery: the learned A against the file's DAG (``shd``) and against the equivalence
  class the data identify (``shd_cpdag``), :mod:`causalvae.graph`; a cyclic graph is flagged;
- counterfactual fidelity: for held-out observational samples and each concept i, the scene
  renders the true counterfactual under do(u_i = v) with the sample's own noise; the model
  produces its own (CausalVAE: encode, set z_i, propagate through the mask layer, decode; models
  without a causal layer: set the latent matched to u_i and decode); both are compared by pixel
  MSE and by the error of a label probe (:mod:`causalvae.probe`) trained on real images, next to
  the model's plain reconstruction error as the floor. Counterfactuals of label-fed models are
  computed with the unit's factual labels fed (the unit is known; only its image changes).

Intervention values are mapped into latent units by a per-concept linear calibration
(latent = a + b * label) fitted on the evaluation samples in the space do() writes to (the
decoder's input: the mask layer's output for ``decoder_input="mask"``), the same rule for every
model. Concept i's latents are block i of a model with concept blocks, else the latent dimension
the one-to-one |correlation| matching gives label i. Only test samples are scored; a file
without a test split is refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from causalgen.io import open_dataset
from causalgen.truth import truth_unavailable
from causalvae.checkpoint import LoadedRun, load_run
from causalvae.counterfactual import (  # noqa: F401  (re-exported: figures, protocol, tests)
    Calibration,
    EvalBatch,
    MakeCounterfactual,
    _to_float_images,
    calibrate,
    counterfactual_fidelity,
    counterfactual_scores,
    model_counterfactual,
)
from causalvae.data import to_model_input
from causalvae.errors import CausalvaeError, ConfigError, DataError, InterventionError
from causalvae.essential import class_name, target_family
from causalvae.graph import graph_metrics
from causalvae.metrics import correlation_matrix, match_latents
from causalvae.probe import LabelProbe, label_probe  # noqa: F401  (LabelProbe re-exported)
from causalvae.representation import representation_metrics

log = logging.getLogger(__name__)
EVALUATION_NAME = "evaluation.json"
# bumped when a metric changes, so `causalvae experiment` redoes older evaluations
# (2: the label probe became a CNN; 3: shd_cpdag; 4: MCC / R2, image-only encoding, test split;
# 5: an encoder with the missing-label flag encodes an image alone with its labels marked missing)
EVALUATION_VERSION = 5
# evaluation keys settable with `--set KEY=VALUE` (evaluate, intervene): name -> (type, default)
EVAL_SETTINGS: dict[str, tuple[type, Any]] = {
    "graph_threshold": (float, None),  # cut |A| here instead of the model's rule / the default
    "marginal_samples": (int, 8),  # label vectors averaged over to withhold u from an encoder
}


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


def select_samples(ds: Any, n: int, seed: int, observational: bool) -> EvalBatch:
    """Up to ``n`` random test samples in file order; with ``observational``, only samples no
    variable of which was intervened on (counterfactuals start from a unit's factual values)."""
    idx = ds.indices("test")
    if len(idx) == 0:
        raise DataError(
            f"{ds.path} has no test split; evaluation scores held-out samples only (training "
            "images would flatter every model). Generate the file with --test-fraction > 0"
        )
    # the evaluator is the oracle: it sees targets a --hide-targets file keeps from learners
    mask = ds.hidden_targets()[0] if hasattr(ds, "hidden_targets") else ds.intervened
    if observational and mask is not None:
        idx = idx[~mask[idx].any(1)]
        if len(idx) == 0:
            raise DataError(
                f"{ds.path} has no observational test samples to evaluate on (every one was "
                "intervened); generate it with --intervention-mix below 1"
            )
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
    return EvalBatch(idx, ds.images[idx], ds.labels[idx].astype(np.float64))


def _select(ds: Any, n: int, seed: int) -> EvalBatch:
    """Observational test samples for the figures (interventions, recon); refuses a temporal
    file as ``evaluate`` does (it raised an IndexError on the (N, T, V) targets)."""
    if getattr(ds, "steps", None) is not None:
        raise CausalvaeError(
            f"{ds.path} holds sequences ({ds.steps} steps): a frame's counterfactual "
            "depends on the previous steps, which this evaluation does not model yet; "
            "evaluate on a still file of the same scene (generated without --steps)"
        )
    return select_samples(ds, n, seed, observational=True)


def eval_settings(items: list[str] | tuple[str, ...] | dict[str, Any] | None) -> dict[str, Any]:
    """Evaluation settings from ``KEY=VALUE`` items (or a dict), defaults filled in."""
    out = {k: default for k, (_, default) in EVAL_SETTINGS.items()}
    pairs = items.items() if isinstance(items, dict) else (
        tuple(i.partition("=")[::2]) for i in (items or ()))
    for key, value in pairs:
        if key not in EVAL_SETTINGS:
            raise ConfigError(f"unknown evaluation key {key!r}; known: {', '.join(EVAL_SETTINGS)}")
        kind = EVAL_SETTINGS[key][0]
        try:
            out[key] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} takes a {kind.__name__}, got {value!r}") from None
    if out["graph_threshold"] is not None and not out["graph_threshold"] >= 0:
        raise ConfigError(f"graph_threshold must be >= 0, got {out['graph_threshold']}")
    if out["marginal_samples"] < 1:
        raise ConfigError(f"marginal_samples must be >= 1, got {out['marginal_samples']}")
    return out


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
        self.marginal_u: np.ndarray | None = None  # (K, n) physical labels that stand in for u
        # an encoder that reads a missing-label flag encodes an image alone with u marked missing
        self.labels_missing = bool(self.model.uses_labels
                                   and getattr(run.config.model, "missing_flag", False))

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
        """Posterior-mean representation with ``labels`` fed (label-fed models) (m, z_dim)."""
        out = [self.model.representation(x, u).float().cpu().numpy()
               for _, (x, u) in self._batches(images, labels)]
        return np.concatenate(out)  # (m, z_dim)

    @torch.no_grad()
    def encode(self, images: np.ndarray) -> np.ndarray:
        """The representation from the image alone (m, z_dim): the protocol's ``encode``.

        A label-fed encoder trained with the missing-label flag (``missing_flag``) is told that
        every label is missing, the input it learned for unlabelled images; any other label-fed
        encoder gets each of the ``marginal_u`` label vectors in turn and the posterior means are
        averaged (u marginalised over the training labels)."""
        if not self.model.uses_labels:
            blank = np.zeros((len(images), self.n))
            return self.representation(images, blank)
        if self.labels_missing:
            return self.representation(images, np.full((len(images), self.n), np.nan))
        if self.marginal_u is None:
            raise CausalvaeError("set ModelView.marginal_u before encoding a label-fed model")
        total = np.zeros((len(images), self.model.z_dim))
        for u in self.marginal_u:
            total += self.representation(images, np.broadcast_to(u, (len(images), self.n)))
        return total / len(self.marginal_u)

    @torch.no_grad()
    def decoder_latents(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """What the decoder reads, and do() writes to (m, z_dim)."""
        out = [self.model.decoder_latents(x, u).float().cpu().numpy()
               for _, (x, u) in self._batches(images, labels)]
        return np.concatenate(out)

    @torch.no_grad()
    def reconstruct(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(model input images, reconstructions), both float (m, 3, S, S) in [0, 1]."""
        xs, rs = [], []
        for _, (x, u) in self._batches(images, labels):
            xs.append(x.float().cpu().numpy())
            rs.append(self.model.reconstruct(x, u).float().cpu().numpy())
        return np.concatenate(xs), np.concatenate(rs)


def concept_latents(latents: np.ndarray, labels: np.ndarray, k: int | None) -> tuple[np.ndarray, list[list[int]]]:
    """Scalar latent per concept (m, n) and the latent dimensions each one reads: block i, or
    the dimension the one-to-one |Pearson| matching gives label i (Hungarian algorithm)."""
    n = labels.shape[1]
    if k is not None and latents.shape[1] == n * k:
        dims = [list(range(i * k, (i + 1) * k)) for i in range(n)]
        return np.stack([latents[:, d].mean(1) for d in dims], 1), dims
    matching = match_latents(correlation_matrix(latents, labels))
    if any(m is None for m in matching):
        raise CausalvaeError(f"{latents.shape[1]} latent dimensions cannot be matched one to one "
                             f"to {n} labels")
    dims = [[int(m)] for m in matching]  # type: ignore[arg-type]
    return np.stack([latents[:, d[0]] for d in dims], 1), dims


def apply_settings(run: LoadedRun, opts: dict[str, Any]) -> None:
    """A ``graph_threshold`` setting also becomes the graph the model's do() follows."""
    th = opts.get("graph_threshold")
    config = run.model.config
    if th is not None and hasattr(config, "graph_threshold"):
        run.model.config = dataclasses.replace(config, graph_threshold=th)


def named_error(exc: InterventionError, names: list[str]) -> str:
    """The message of ``exc`` with concept indices replaced by variable names."""
    concepts = getattr(exc, "concepts", None)
    if not concepts:
        return str(exc)
    return (f"the learned graph has a cycle through {', '.join(names[i] for i in concepts)}; "
            "raise graph_threshold (--set graph_threshold=VALUE) or train longer so that H(A) "
            "reaches zero")


def _encoding(view: ModelView) -> str:
    """How a view encodes an image alone, in words (``evaluation.json``'s ``encoding``)."""
    if not view.model.uses_labels:
        return "image only"
    if view.labels_missing:
        return "image only, every label marked missing (the model's missing-label flag)"
    k = 0 if view.marginal_u is None else len(view.marginal_u)
    return f"image only, u marginalised over {k} training labels"


def _marginal_labels(ds: Any, k: int, seed: int) -> np.ndarray:
    rows = ds.indices("train")
    pick = np.random.default_rng(seed + 7).choice(rows, size=min(k, len(rows)), replace=False)
    return ds.labels[np.sort(pick)].astype(np.float64)  # (K, V)


def evaluate(run_dir: str | os.PathLike, data: str | os.PathLike | None = None, *,
             n_eval: int = 1000, n_cf: int = 256, seed: int = 0, device: str = "cpu",
             write: bool = True, settings: list[str] | dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """Evaluate the run in ``run_dir``; writes ``evaluation.json`` there (the CLI and
    the experiment draw ``figures/adjacency.png`` from it: figures sit above this module).

    ``settings``: evaluation keys (:data:`EVAL_SETTINGS`) as ``KEY=VALUE`` items or a dict.
    """
    opts = eval_settings(settings)
    run_dir = Path(run_dir)
    run = load_run(run_dir, device)
    apply_settings(run, opts)
    data_path = resolve_data(run_dir, data)
    view = ModelView(run, device)
    names = run.variable_names
    with open_dataset(data_path) as ds:
        if ds.variable_names != names:
            raise CausalvaeError(
                f"{data_path} has variables {ds.variable_names}, but the run was trained on "
                f"{names}; pass the run's dataset with --data"
            )
        if getattr(ds, "steps", None) is not None:
            raise CausalvaeError(
                f"{data_path} holds sequences ({ds.steps} steps): a frame's counterfactual "
                "depends on the previous steps, which this evaluation does not model yet; "
                "evaluate on a still file of the same scene (generated without --steps)"
            )
        batch = select_samples(ds, n_eval, seed, observational=False)
        concept_dims = ([list(range(i * view.blocks, (i + 1) * view.blocks)) for i in range(view.n)]
                        if view.blocks else None)
        view.marginal_u = _marginal_labels(ds, opts["marginal_samples"], seed)
        log.info("encoding %d held-out images (%s)", len(batch.indices), _encoding(view))
        rep = representation_metrics(view.encode(batch.images), batch.labels, names,
                                     concept_dims=concept_dims, seed=seed)
        label_fed = None
        if run.model.uses_labels:
            fed = representation_metrics(view.representation(batch.images, batch.labels),
                                         batch.labels, names, concept_dims=concept_dims, seed=seed,
                                         full=False)
            label_fed = {k: fed[k] for k in ("mcc", "mcc_spearman", "r2_linear", "mic", "tic",
                                             "tic_norm")}
        cf, cf_flag = None, None
        no_truth = truth_unavailable(ds)
        if no_truth is not None:  # an imported file: no generator, so no ground-truth
            log.info("counterfactual fidelity skipped: %s", no_truth)
            m = min(n_cf, len(batch.indices))
            x_in, recon = view.reconstruct(batch.images[:m], batch.labels[:m])
            cf = {"skipped": no_truth, "recon_mse_floor": float(np.mean((recon - x_in) ** 2)),
                  "n": m}
        else:
            cf_batch = select_samples(ds, n_cf, seed + 1, observational=True)
            dec = view.decoder_latents(batch.images, batch.labels)  # the space do() writes to
            _, dims = concept_latents(dec, batch.labels, view.blocks)
            calib = calibrate(dec, batch.labels, dims)
            log.info("training the label probe on real training images")
            probe = label_probe(ds, seed)
            try:
                cf = counterfactual_fidelity(view, ds, cf_batch, dims, calib, probe, seed)
            except InterventionError as exc:  # a cyclic learned graph: do() has no order
                cf_flag = named_error(exc, names)
                cf = {"skipped": cf_flag, "n": len(cf_batch.indices)}
                log.warning("counterfactual fidelity skipped: %s", cf_flag)
        true_adj = ds.adjacency
        # imported files: the graph is the one declared at import (none declared: no edges)
        graph_source = ("generator" if not ds.is_external else
                        "declared" if ds.source.get("graph_declared") else "none declared")
        targets = target_family(ds.intervened)
    result: dict[str, Any] = {
        "evaluation_version": EVALUATION_VERSION,
        "run": str(run_dir), "data": str(data_path), "model": run.model.name,
        "variables": names, "epoch": run.epoch, "n_eval": len(batch.indices),
        "encoding": _encoding(view),
        **rep,
        "mic_per_concept": {k: v["mic"] for k, v in rep["per_factor"].items()},
        "dci": {"disentanglement": rep["dci_d"], "completeness": rep["dci_c"],
                "informativeness": rep["dci_i"]},
        "label_fed": label_fed,
        "counterfactual": cf,
        "counterfactual_flag": cf_flag,
        "true_adjacency": true_adj.astype(int).tolist(),
        "graph_source": graph_source,
        "settings": opts,
    }
    result.update(_graph_part(run.model, true_adj, targets, opts["graph_threshold"]))
    if write:
        write_json(run_dir / EVALUATION_NAME, result)
    return result


def _graph_part(model: Any, true_adj: np.ndarray, targets: list, threshold: float | None
                ) -> dict[str, Any]:
    if not getattr(model, "has_causal_layer", False):
        return {"shd": None, "shd_cpdag": None, "equivalence_class": class_name(targets),
                "graph_flags": [], "precision": None, "recall": None, "auroc": None,
                "threshold": None, "learned_adjacency": None, "predicted_adjacency": None,
                "sid": None, "threshold_rule": None, "shd_default_rule": None}
    A = model.learned_adjacency()
    # a model may declare its own rule (causalvae-int: |A| > graph_threshold, since its |A| is a
    # mechanism's slope bound); otherwise default_threshold; --set graph_threshold overrides both
    rule = getattr(model, "edge_threshold", lambda: None)()
    chosen = threshold if threshold is not None else rule
    g = graph_metrics(A, true_adj, threshold=chosen, targets=targets)
    out = {k: g[k] for k in ("shd", "shd_cpdag", "equivalence_class", "graph_flags", "precision",
                             "recall", "auroc", "threshold", "learned_adjacency",
                             "predicted_adjacency", "shd_curve", "sid")}
    out["threshold_rule"] = ("setting" if threshold is not None
                             else "model" if rule is not None else "default")
    out["shd_default_rule"] = (g["shd"] if chosen is None
                               else graph_metrics(A, true_adj, targets=targets)["shd"])
    return out


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` atomically (a temporary name, then a rename); numpy values as numbers
    and lists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=_jsonable) + "\n")
    tmp.replace(path)


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

