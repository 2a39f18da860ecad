"""The trainer: one generic loop for every registered model, on CPU, CUDA or under torchrun.

:class:`Trainer` reads only ``output.loss`` (and logs ``output.terms``). Around the loop: a one-batch
sanity pass (forward and backward, finite loss, well-formed output record; it leaves weights,
gradients and RNG state as they were), bf16 autocast on CUDA, DDP when launched by ``torchrun``,
optional ``torch.compile``, a NaN/inf guard that stops with :class:`DivergenceError` without
writing the diverged weights, checkpoints every N epochs and at the end, Ctrl-C (SIGINT) that
finishes the current step and saves a checkpoint, and one JSON line of metrics per epoch.

Exact resume: each epoch's data order is a function of (seed, epoch) and each step's random
numbers are drawn after seeding from (seed, epoch, batch, rank), so a resumed run, also one
resumed mid-epoch after Ctrl-C, replays the same steps as an uninterrupted run.

:func:`train` wraps it for a file and a run directory (``config.json``, ``checkpoint.pt``,
``metrics.jsonl``, ``A.npy`` for causal models, ``recon.png``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from causalvae.checkpoint import (
    CHECKPOINT_NAME,
    apply_new_lr,
    capture_rng,
    check_resume_data,
    check_run_dir,
    load_weights,
    record_resumes,
    restore_rng,
    resume_config,
    save_checkpoint,
    trim_metrics,
    warn_if_no_targets,
)
from causalvae.config import RunConfig
from causalvae.data import (
    CausalDataset,
    LabelStats,
    collate_batch,
    epoch_sampler,
    labelled_positions,
)
from causalvae.data import to_model_input as _to_input
from causalvae.errors import CheckpointError, DataError, DivergenceError
from causalvae.models import build_model, get_model_class
from causalvae.models.base import VAEOutput
from causalvae.models.causal import load_adjacency
from causalvae.runtime import ProgressBar, autocast, graceful_sigint, setup_runtime
from causalvae.tblog import RunLog, epoch_test_loss, log_epoch
from causalvae.trainingdata import make_optimizer, structure_stage, training_split

__all__ = ["RESUMABLE_KEYS", "TrainResult", "Trainer", "train", "training_split"]

log = logging.getLogger(__name__)
TEST_LOSS_MAX = 512  # test samples in each epoch's test loss (the first ones): ~2 % of an epoch

# Settings a resumed run may change (the numerics stay bit-identical only if device, amp,
# cpu_amp, threads and compile stay as they were); anything else is refused.
RESUMABLE_KEYS = frozenset({"epochs", "device", "num_workers", "checkpoint_every", "threads",
                            "memory_budget_gb", "compile", "amp", "recon_images", "out",
                            "tune_malloc", "cpu_amp", "data_on_device",
                            # after a divergence: a lower lr / a gradient clip (recorded in
                            # run.json under "resumes")
                            "lr", "grad_clip"})


@dataclass
class TrainResult:
    run_dir: Path | None
    epochs: int  # completed epochs
    global_step: int
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics rows of this call
    step_losses: list[float] = field(default_factory=list)  # every step's loss in this call
    interrupted: bool = False


def _step_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0] >> 1)


def _ignore_sigint(_: int) -> None:  # DataLoader workers: Ctrl-C is the main process's business
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Trainer:
    """Train ``config.train.model`` on in-memory or file-backed :class:`CausalDataset` splits.

    On CUDA an in-memory ``train_data`` is moved to the GPU (``data_on_device``). ``run_dir``
    None trains without writing anything; ``resume_state`` is a loaded checkpoint.
    """

    def __init__(self, config: RunConfig, train_data: CausalDataset,
                 test_data: CausalDataset | None = None, *, run_dir: str | Path | None = None,
                 resume_state: dict[str, Any] | None = None) -> None:
        tc = config.train
        n_vars = len(train_data.variable_names)
        if config.model.n_concepts not in (0, n_vars):
            raise DataError(f"n_concepts={config.model.n_concepts} but the dataset has {n_vars} "
                            f"label variables {train_data.variable_names}")
        model_cfg = dataclasses.replace(config.model, n_concepts=n_vars)
        self.config = RunConfig(train=tc, model=model_cfg).validate()
        if tc.batch_size > len(train_data):
            raise DataError(f"batch size {tc.batch_size} is larger than the train split "
                            f"({len(train_data)} images); pass a smaller --batch-size")
        self.train_data, self.test_data = train_data, test_data
        self.labelled: np.ndarray | None = None
        if tc.label_fraction < 1.0:  # unlabelled images carry NaN labels
            self.labelled = labelled_positions(len(train_data), tc.label_fraction, tc.seed)
            train_data.hide_labels(self.labelled)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.state = resume_state
        self.rt = setup_runtime(tc.device, tc.threads, tc.tune_malloc)
        self.device = self.rt.device
        torch.manual_seed(tc.seed)
        kwargs: dict[str, Any] = {}
        if get_model_class(tc.model).has_causal_layer and resume_state is None:
            kwargs["initial_adjacency"] = load_adjacency(model_cfg.a_init, n_vars,
                                                         train_data.adjacency)
        self.model = build_model(tc.model, model_cfg, **kwargs).to(self.device)
        self.channels_last = tc.channels_last and model_cfg.arch == "conv"
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.forward_module: torch.nn.Module = self.model
        if self.rt.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward_module = torch.nn.parallel.DistributedDataParallel(self.model,
                                                                            device_ids=ids)
        if tc.compile:
            self.forward_module = torch.compile(self.forward_module)
        self.optimizer = self._make_optimizer()
        self.scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, tc.epochs)
                          if tc.lr_schedule == "cosine" else None)
        self.sampler = epoch_sampler(train_data, tc.batch_size, seed=tc.seed,
                                     labelled=self.labelled, labelled_share=tc.labelled_share,
                                     rank=self.rt.rank, world_size=self.rt.world_size)
        workers = tc.num_workers
        on_gpu = self.device.type == "cuda"
        if on_gpu and tc.data_on_device and train_data.in_memory and workers == 0:
            train_data.to(self.device)  # gather batches on the GPU: no copies, no pinning
        host_data = train_data.images is None or train_data.images.device.type == "cpu"
        self.loader = DataLoader(
            train_data, batch_sampler=self.sampler, collate_fn=collate_batch,
            num_workers=workers, pin_memory=on_gpu and host_data,
            persistent_workers=workers > 0, worker_init_fn=_ignore_sigint if workers else None,
            generator=torch.Generator().manual_seed(tc.seed))
        self.sync_every = 1 if self.device.type == "cpu" else 20
        self._stop_requested = False
        self.tb = RunLog(self.run_dir if self.rt.is_main else None)  # no-op without tensorboard

    def _make_optimizer(self) -> torch.optim.Optimizer:
        return make_optimizer(self.model, self.config)

    # -- one step --------------------------------------------------------------------------
    def _inputs(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """(x (B, 3, S, S), u (B, V), intervened (B, V)) on the device."""
        images, labels, intervened = batch
        x = _to_input(images, self.device, self.config.model.image_size,
                      self.channels_last)  # (B, 3, S, S)
        return (x, labels.to(self.device, non_blocking=True),
                intervened.to(self.device, non_blocking=True))

    def _forward(self, module: torch.nn.Module, x: torch.Tensor, u: torch.Tensor,
                 intervened: torch.Tensor | None = None) -> VAEOutput:
        """``module(x, u)``, or ``module(x, u, intervened)`` for models that read the do() mask."""
        tc = self.config.train
        with autocast(self.device, tc.amp, tc.cpu_amp):
            if intervened is not None and getattr(self.model, "accepts_interventions", False):
                return module(x, u, intervened)
            return module(x, u)

    def _train_step(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """One optimisation step; returns the detached [loss, *terms] vector."""
        x, u, m = self._inputs(batch)
        out = self._forward(self.forward_module, x, u, m)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if self.config.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.grad_clip)
        self.optimizer.step()
        return torch.stack([out.loss.detach().float(),
                            *(t.detach().float() for t in out.terms.values())])

    def sanity_check(self, epoch: int) -> list[str]:
        """Forward and backward on one batch; checks the record; changes nothing. Term names."""
        batch = self.train_data.__getitems__(self.sampler.batches(epoch)[0])
        rng = capture_rng()
        try:
            x, u, m = self._inputs(batch)
            self.model.train()
            out = self._forward(self.model, x, u, m)
            if not isinstance(out, VAEOutput) or out.loss.dim() != 0:
                raise TypeError(f"{self.config.train.model}.forward must return a VAEOutput with "
                                f"a scalar loss, got {type(out).__name__}")
            bad = [k for k, v in {"loss": out.loss, **out.terms}.items()
                   if v.dim() != 0 or not torch.isfinite(v)]
            if bad:
                raise DivergenceError(
                    f"sanity pass: non-finite or non-scalar {bad} on the first batch, before any "
                    "training step; check the data (NaN labels?) and the settings")
            out.loss.backward()
            if not all(torch.isfinite(p.grad).all() for p in self.model.parameters()
                       if p.grad is not None):
                raise DivergenceError("sanity pass: non-finite gradients on the first batch")
            return list(out.terms)
        finally:
            self.optimizer.zero_grad(set_to_none=True)
            restore_rng(rng)

    # -- the loop --------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        tc, st = self.config.train, self.state
        epoch, skip, step = 0, 0, 0
        partial: list[float] | None = None
        if st is not None:
            load_weights(self.model, st["model"], self.run_dir or "the checkpoint", tc.model)
            try:
                self.optimizer.load_state_dict(st["optimizer"])
                if self.scheduler is not None and st.get("scheduler"):
                    self.scheduler.load_state_dict(st["scheduler"])
            except (RuntimeError, ValueError, KeyError, TypeError) as exc:
                raise CheckpointError(f"{self.run_dir}: the checkpoint's optimiser state does not "
                                      f"fit this model ({exc}); train afresh") from None
            apply_new_lr(self.optimizer, self.scheduler, tc.lr,
                         float(st["config"].get("train", {}).get("lr", tc.lr)))
            restore_rng(st["rng"])
            epoch, skip, step = int(st["epoch"]), int(st["batch_in_epoch"]), int(st["global_step"])
            partial = st.get("partial")
        result = TrainResult(self.run_dir, epoch, step)
        try:
            if epoch >= tc.epochs:
                log.info("the run already has %d of %d epochs; nothing to train", epoch, tc.epochs)
                return result
            if st is None:
                self.prepare_structure()
                if self.labelled is not None and self.rt.is_main and self.run_dir is not None:
                    np.save(self.run_dir / "labelled.npy", self.labelled)  # train positions
            names = ["loss", *self.sanity_check(epoch)]
            if self.rt.is_main and self.run_dir is not None:
                (self.run_dir / "config.json").write_text(self.config.to_json())
            with graceful_sigint(self._request_stop):
                for e in range(epoch, tc.epochs):
                    self._run_epoch(e, skip, names, partial, result)
                    skip, partial = 0, None
                    if self._stop_requested:
                        result.interrupted = True
                        return result
                    result.epochs = e + 1
            self._save(result.epochs, 0, result.global_step, finished=True)
            self._write_artefacts()
            return result
        finally:
            self.tb.close()
            self.rt.close()

    def _run_epoch(self, epoch: int, skip: int, names: list[str], partial: list[float] | None,
                   result: TrainResult) -> None:
        tc = self.config.train
        self.model.train()
        if hasattr(self.model, "set_epoch"):
            self.model.set_epoch(epoch, tc.epochs)  # e.g. a KL warm-up's weight
        self.sampler.set_epoch(epoch, skip)
        # sums[0] counts batches, sums[1:] add up [loss, *terms]; kept on the device between syncs
        sums = torch.zeros(len(names) + 1, dtype=torch.float64, device=self.device)
        if partial:  # an epoch resumed after Ctrl-C keeps the sums of its first part
            sums += torch.tensor(partial, dtype=torch.float64, device=self.device)
        pending: list[torch.Tensor] = []
        total = len(self.sampler) + skip
        bar = ProgressBar(total, f"epoch {epoch + 1}/{tc.epochs}", enabled=self.rt.is_main)
        t0, images, done = time.perf_counter(), 0, skip
        for batch in self.loader:
            torch.manual_seed(_step_seed(tc.seed, epoch, done, self.rt.rank))
            pending.append(self._train_step(batch))
            done, images = done + 1, images + len(batch[1])
            result.global_step += 1
            if len(pending) >= self.sync_every or done == total:
                self._flush(pending, sums, names, epoch, result)
                rate = images / max(time.perf_counter() - t0, 1e-9)
                bar.update(done, dict(zip(names, (sums[1:] / sums[0]).tolist(), strict=True)),
                           rate)
                if self._stop_agreed():
                    break
        bar.close()
        if self._stop_requested:
            self._save(epoch, done, result.global_step, partial=sums.tolist())
            log.info("interrupted at epoch %d, batch %d: checkpoint saved; continue with --resume",
                     epoch + 1, done)
            return
        elapsed = time.perf_counter() - t0
        totals = self.rt.all_reduce_sum(torch.cat([sums, sums.new_tensor([images])]))
        means = (totals[1:-1] / totals[0]).tolist()
        row = {"epoch": epoch + 1, "step": result.global_step,
               **dict(zip(names, means, strict=True)),
               "images_per_s": float(totals[-1]) / max(elapsed, 1e-9),
               "lr": self.optimizer.param_groups[0]["lr"], "time": elapsed}
        test_loss = epoch_test_loss(self, TEST_LOSS_MAX)
        if test_loss is not None:
            row["test_loss"] = test_loss
        result.history.append(row)
        self._log_row(row)
        log_epoch(self, row)
        if hasattr(self.model, "epoch_end"):
            self.model.epoch_end()
        if self.scheduler is not None:
            self.scheduler.step()
        if (epoch + 1) % tc.checkpoint_every == 0 and epoch + 1 < tc.epochs:
            self._save(epoch + 1, 0, result.global_step)

    def prepare_structure(self) -> dict[str, Any]:
        """A causal model's support and labels-first fit, before anything trains (``fit`` calls
        it on a fresh run): :func:`causalvae.trainingdata.structure_stage`."""
        run_dir = self.run_dir if self.rt.is_main else None
        return structure_stage(self.model, self.config, self.train_data, run_dir)

    def _request_stop(self) -> None:
        self._stop_requested = True
        log.warning("Ctrl-C: finishing the current step, then saving a checkpoint "
                    "(press again to abort without saving)")

    def _stop_agreed(self) -> bool:
        """Whether any rank got Ctrl-C; every rank asks at the same steps, so all stop together."""
        if self.rt.distributed:
            flag = torch.tensor([float(self._stop_requested)], device=self.device)
            self._stop_requested = bool(self.rt.all_reduce_sum(flag).item() > 0)
        return self._stop_requested

    def _flush(self, pending: list[torch.Tensor], sums: torch.Tensor, names: list[str],
               epoch: int, result: TrainResult) -> None:
        """Sync the steps since the last flush: NaN guard, running sums, per-step losses."""
        stacked = torch.stack(pending)  # (s, T)
        pending.clear()
        if not torch.isfinite(stacked).all():
            bad_row = stacked[(~torch.isfinite(stacked)).any(1)][0]
            self._diverged(epoch, result.global_step,
                           dict(zip(names, bad_row.tolist(), strict=True)))
        sums[0] += len(stacked)
        sums[1:] += stacked.double().sum(0)
        result.step_losses += stacked[:, 0].tolist()
        if self.tb.enabled:
            self.tb.steps(result.global_step - len(stacked) + 1, names, stacked.tolist())

    def _diverged(self, epoch: int, step: int, terms: dict[str, float]) -> None:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in terms.items())
        kept = (f"the last good checkpoint {self.run_dir / CHECKPOINT_NAME} is kept unchanged"
                if self.run_dir is not None and (self.run_dir / CHECKPOINT_NAME).exists()
                else "no checkpoint was written")
        raise DivergenceError(
            f"training diverged at epoch {epoch + 1}, step {step}: non-finite loss ({shown}); "
            f"{kept}. Lower --lr, set grad_clip (--set grad_clip=1), or check the data"
            + ("; continue from that checkpoint with --resume --lr LOWER --set grad_clip=1"
               if "is kept" in kept else ""))

    # -- checkpoints, metrics, artefacts ----------------------------------------------------
    def _log_row(self, row: dict[str, Any]) -> None:
        if not self.rt.is_main:
            return
        log.info("epoch %d  %s  %.0f img/s", row["epoch"], "  ".join(
            f"{k} {v:.4g}" for k, v in row.items()
            if k not in ("epoch", "step", "images_per_s", "lr", "time")), row["images_per_s"])
        if self.run_dir is not None:
            with open(self.run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")

    def _save(self, epoch: int, batch_in_epoch: int, step: int, *, finished: bool = False,
              partial: list[float] | None = None) -> None:
        if not self.rt.is_main or self.run_dir is None:
            return
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise DivergenceError("the weights are non-finite; the last good checkpoint is kept")
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "config": self.config.to_dict(), "epoch": epoch, "batch_in_epoch": batch_in_epoch,
            "global_step": step, "finished": finished, "rng": capture_rng(),
            "label_stats": self.train_data.label_stats.to_dict(),
            "variable_names": list(self.train_data.variable_names), "partial": partial,
        })
        if getattr(self.model, "has_causal_layer", False):
            np.save(self.run_dir / "A.npy", self.model.learned_adjacency())

    @torch.no_grad()
    def _write_artefacts(self) -> None:
        if not self.rt.is_main or self.run_dir is None:
            return
        from causalvae.images import save_recon

        data = self.test_data if self.test_data is not None and len(self.test_data) else \
            self.train_data
        count = min(self.config.train.recon_images, len(data))
        x, u, _ = self._inputs(data.__getitems__(list(range(count))))
        self.model.eval()
        with autocast(self.device, self.config.train.amp, self.config.train.cpu_amp):
            recon = self.model.reconstruct(x, u)
        save_recon(self.run_dir / "recon.png", x, recon,
                   f"{self.config.train.model}: {'test' if data is self.test_data else 'train'} "
                   "reconstructions")


def train(config: RunConfig, data_path: str | os.PathLike, *, resume: bool = False,
          overrides: list[str] | None = None) -> TrainResult:
    """Train on a causalgen file into ``config.train.out`` (resuming from its checkpoint).

    With ``resume``, the run's saved config is the base and ``overrides`` (``key=value``) may
    change only :data:`RESUMABLE_KEYS`; ``config`` supplies the run directory.
    """
    out = Path(config.train.out or "runs/run")
    state = check_run_dir(out, resume)
    stats, names = None, None
    if state is not None:
        config = resume_config(RunConfig.from_dict(state["config"], saved=True),
                               list(overrides or []),
                               RESUMABLE_KEYS)
        config.train.out = str(out)
        stats, names = LabelStats.from_dict(state["label_stats"]), state["variable_names"]
        check_resume_data(out, Path(data_path))
    budget = config.train.memory_budget_gb
    train_ds = training_split(config, data_path, stats, names)
    test_ds = CausalDataset(data_path, "test", label_stats=train_ds.label_stats,
                            memory_budget_gb=budget)
    warn_if_no_targets(config, train_ds)
    trainer = Trainer(config, train_ds, test_ds, run_dir=out, resume_state=state)
    # every check has passed: only now touch the run directory (rank 0 alone under torchrun)
    if trainer.rt.is_main:
        if state is None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "metrics.jsonl").unlink(missing_ok=True)
        else:
            trim_metrics(out / "metrics.jsonl", int(state["epoch"]))
        # where the data came from (or moved to), so `causalvae evaluate RUN_DIR` finds it;
        # and each resume that changed a setting (lr, grad_clip, epochs, ...)
        record = {"data": str(Path(data_path).resolve()),
                  "resumes": record_resumes(out, state, config, RESUMABLE_KEYS)}
        (out / "run.json").write_text(json.dumps(record) + "\n")
    return trainer.fit()
