"""The structure stage of a label-supervised CausalVAE: A's support, and A fitted from the labels.

Runs once before training (:class:`causalvae.train.Trainer` calls :func:`prepare_structure` on a
fresh run). With ``structure_support`` = ``pc`` it asks :mod:`causalvae.discovery` which edges
the labelled training samples allow and writes them to the model's ``support`` buffer (``dataset``
copies the file's true graph, an oracle for studies). With ``structure_fit`` = ``labels-first``
it then fits A and the label mechanisms on the labelled samples alone, with the same objective
the training loop would use (label term under the interventional mask, acyclicity by the
augmented Lagrangian, l1), and leaves them frozen. Its batches are drawn from (seed, epoch), so
the fitted A is a function of the labels, the seed and the settings only.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from causalvae.errors import DataError

__all__ = ["prepare_structure"]

log = logging.getLogger(__name__)

STRUCTURE_STREAM = 3  # seeds the labels-first batches apart from the training loop's


def prepare_structure(model: Any, labels: torch.Tensor, intervened: torch.Tensor, *, seed: int,
                      batch_size: int, true_adjacency: np.ndarray | None = None,
                      lr: float = 1e-2) -> dict[str, Any]:
    """Set the support and (labels-first) fit A on the labelled rows; returns a record of what
    was done (for the run's ``structure.json``). ``labels`` (M, n) are standardised, NaN where
    a sample is unlabelled; ``intervened`` (M, n) is the do() mask."""
    cfg = model.config
    t0 = time.perf_counter()
    u = labels.detach().float().cpu()
    rows = ~torch.isnan(u).any(1)
    u, mask = u[rows], intervened.detach().float().cpu()[rows]
    if len(u) < 2:
        raise DataError("fewer than 2 labelled training samples: the graph cannot be learned; "
                        "raise --label-fraction")
    record: dict[str, Any] = {"labelled_samples": len(u),
                              "structure_support": cfg.structure_support,
                              "structure_fit": cfg.structure_fit}
    observational = not bool(mask.any())  # no do() targets among the labelled rows
    if cfg.structure_support == "pc":
        from causalvae.discovery import discover_support

        # without interventions PC is the only evidence: it may use a larger sample
        cap = (cfg.ci_samples_observational if cfg.ci_samples_observational > 0
               and observational else cfg.ci_samples)
        log.info("structure stage: PC (%s) on %s observational labels%s", cfg.ci_test,
                 f"up to {cap}" if cfg.ci_test == "kci" else "all",
                 " (the kernel test's cost grows with the cube of the samples: seconds to "
                 "minutes)" if cfg.ci_test == "kci" else "")
        found = discover_support(u.numpy(), mask.numpy(), test=cfg.ci_test, alpha=cfg.ci_alpha,
                                 max_samples=cap, jitter=cfg.ci_jitter, seed=seed,
                                 repair=cfg.structure_repair,
                                 repair_interventional=cfg.structure_repair_interventional,
                                 repair_colliders=cfg.structure_repair_colliders)
        model.support.copy_(torch.as_tensor(found.support, dtype=torch.float32))
        record["discovery"] = found.to_dict()
        log.info("support of A from PC (%s) on %d observational labels: %d allowed edges, %.1f s",
                 cfg.ci_test, found.n_observational, int(found.support.sum()), found.seconds)
    elif cfg.structure_support == "dataset":
        if true_adjacency is None:
            raise DataError("structure_support=dataset needs a file with an adjacency matrix")
        model.support.copy_(torch.as_tensor(np.asarray(true_adjacency) != 0, dtype=torch.float32))
    if cfg.structure_init > 0:
        record["structure_init"] = _start_on_support(model, cfg.structure_init)
    # without interventions the tests vetted every allowed edge: l1 only picks directions
    undirected_only = (cfg.structure_l1_undirected and cfg.structure_support == "pc"
                       and observational)
    if undirected_only:
        record["l1"] = "undirected pairs only"
    if model.structure_frozen:
        keep = 1.0 - mask if cfg.intervention_mask else None
        log.info("fitting A and the label mechanisms on %d labelled samples (%d steps)", len(u),
                 cfg.structure_steps)
        record["fit"] = _fit_labels_first(model, u, keep, seed=seed, batch_size=batch_size,
                                          lr=cfg.structure_lr or lr,
                                          undirected_only=undirected_only)
        if cfg.orient_in_class and cfg.structure_support == "pc" and observational:
            member = _class_member_refit(model, u, keep, seed=seed, batch_size=batch_size,
                                         lr=cfg.structure_lr or lr,
                                         undirected_only=undirected_only)
            if member is not None:
                record["class_member"] = member
    record["seconds"] = time.perf_counter() - t0
    return record


def _class_member_refit(model: Any, u: torch.Tensor, keep: torch.Tensor | None, *, seed: int,
                        batch_size: int, lr: float,
                        undirected_only: bool = False) -> dict[str, Any] | None:
    """Observational data: if the fitted graph orients the support's undirected edges into a
    collider the CPDAG excludes, restrict the support to the class member the fitted |A| prefers
    (:func:`causalvae.discovery.class_member`) and fit again. None when nothing was changed."""
    from causalvae.discovery import class_member
    from causalvae.graph import default_threshold

    a = model.learned_adjacency()
    support = model.support.detach().cpu().numpy()
    member = class_member(support, a)
    if member is None:
        return None
    cut = model.edge_threshold()
    fitted = np.abs(a) > (default_threshold(a) if cut is None else cut)
    if not (fitted & (member == 0)).any():  # the fit already is a member of the class
        return None
    model.support.copy_(torch.as_tensor(member, dtype=torch.float32))
    with torch.no_grad():  # the dropped directions restart from the fit's start
        raw = model.adjacency_raw
        raw[torch.as_tensor(member == 0, device=raw.device)] = 0.0
        if model.config.structure_init > 0:
            _start_on_support(model, model.config.structure_init)
    fit = _fit_labels_first(model, u, keep, seed=seed + 1, batch_size=batch_size, lr=lr,
                            undirected_only=undirected_only)
    return {"support": member.astype(int).tolist(), "fit": fit}


def _start_on_support(model: Any, value: float) -> int:
    """Set A's entries that are still zero to ``value`` wherever the support allows an edge (off
    the diagonal); returns how many were set."""
    with torch.no_grad():
        raw = model.adjacency_raw
        allowed = model.offdiag if model.support is None else model.offdiag * model.support
        start = (allowed > 0) & (raw == 0)
        raw[start] = float(value)
    return int(start.sum())


def _fit_labels_first(model: Any, u: torch.Tensor, keep: torch.Tensor | None, *, seed: int,
                      batch_size: int, lr: float,
                      undirected_only: bool = False) -> dict[str, Any]:
    """``structure_steps`` Adam steps on [A, label mechanisms] over batches of the labelled
    rows, Lagrangian updates after each pass; the parameters are frozen again afterwards."""
    cfg = model.config
    device = model.adjacency_raw.device
    params = model.structure_parameters()
    u, keep = u.to(device), None if keep is None else keep.to(device)
    batch = min(batch_size, len(u))
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    warm = cfg.structure_l1_warmup * cfg.structure_steps  # steps over which l1 ramps up from 0
    try:
        with torch.enable_grad():
            done, epoch = 0, 0
            while done < cfg.structure_steps:
                order = np.random.default_rng([seed, STRUCTURE_STREAM, epoch]).permutation(len(u))
                total, steps = 0.0, 0
                for start in range(0, len(u), batch):
                    if done == cfg.structure_steps:
                        break
                    idx = torch.as_tensor(order[start:start + batch], device=device)
                    label, _ = model.label_term(u[idx], None if keep is None else keep[idx])
                    dag, _ = model.dag_term()
                    ramp = min(1.0, done / warm) if warm > 0 else 1.0
                    loss = label + dag + ramp * cfg.l1 * _l1_term(model, undirected_only)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total, steps, done = total + float(loss.detach()), steps + 1, done + 1
                _lagrangian_update(model)
                history.append(total / max(steps, 1))
                epoch += 1
    finally:
        for p in params:
            p.requires_grad_(False)
            p.grad = None
    return {"steps": cfg.structure_steps, "passes": len(history), "batch_size": batch, "lr": lr,
            "l1_warmup_steps": int(warm), "loss_per_epoch": history}


def _l1_term(model: Any, undirected_only: bool) -> torch.Tensor:
    """sum |A|; with ``undirected_only``, the smaller |A| of each pair the support allows both
    ways, and nothing on an edge it allows one way: the CI tests have already chosen the edges,
    so l1 only has to pick a direction, and a vetted edge whose mechanism the label MLP is slow
    to learn (a V, a cosine) is no longer shrunk away before its likelihood gain shows."""
    a = model.adjacency.abs()
    if not undirected_only or model.support is None:
        return a.sum()
    both = torch.triu(model.support * model.support.T, diagonal=1)
    return (torch.minimum(a, a.T) * both).sum()


def _lagrangian_update(model: Any) -> None:
    """The model's per-epoch augmented-Lagrangian step, which it skips once A is frozen."""
    frozen, model.structure_frozen = model.structure_frozen, False
    try:
        model.epoch_end()
    finally:
        model.structure_frozen = frozen
