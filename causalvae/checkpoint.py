"""Checkpoints: atomic writes, ``weights_only`` loads, RNG state capture, and loading a trained run.

A checkpoint is a dict of tensors and plain containers only, so ``torch.load(weights_only=True)``
reads it without unpickling objects: ``format``, ``version``, ``model``, ``optimizer``,
``scheduler`` (or None), ``config`` (RunConfig dict), ``epoch`` (completed epochs),
``batch_in_epoch`` (batches of the next epoch already done: non-zero after Ctrl-C),
``global_step``, ``finished``, ``rng`` (python, numpy, torch CPU and CUDA states),
``label_stats``, ``variable_names``, ``partial`` (term sums of an interrupted epoch).
Files are written to a temporary name in the same directory, fsynced, then renamed over the old
one, so a crash never leaves a torn checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from causalgen.io.safefs import pid_alive
from causalvae.config import RunConfig, apply_overrides
from causalvae.data import CausalDataset, LabelStats
from causalvae.errors import CheckpointError

log = logging.getLogger(__name__)

__all__ = [
    "CHECKPOINT_NAME",
    "LoadedRun",
    "apply_new_lr",
    "capture_rng",
    "check_resume_data",
    "check_run_dir",
    "load_checkpoint",
    "load_run",
    "load_weights",
    "record_resumes",
    "remove_stale_temporaries",
    "restore_rng",
    "resume_config",
    "save_checkpoint",
    "trim_metrics",
    "warn_if_no_targets",
]

FORMAT = "causalvae-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


def capture_rng() -> dict[str, Any]:
    """RNG states of python, numpy and torch (CPU and every CUDA device) as plain data."""
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)),
                  "pos": int(np_pos), "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    version, py_state, gauss = state["python"]
    random.setstate((version, tuple(py_state), gauss))
    npd = state["numpy"]
    np.random.set_state((npd["name"], npd["keys"].numpy().astype(np.uint32), npd["pos"],
                         npd["has_gauss"], npd["gauss"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Atomically write ``payload`` (plus format and version) to ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save({"format": FORMAT, "version": VERSION, **payload}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# key -> type every checkpoint holds (resuming needs all of them; loading a run the first five)
REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "model": dict, "config": dict, "label_stats": dict, "variable_names": list, "epoch": int,
    "optimizer": dict, "rng": dict, "global_step": int, "batch_in_epoch": int}


def _reason(exc: BaseException) -> str:
    """Why torch could not read a file, without torch's advice to turn ``weights_only`` off
    (that would execute whatever the file holds)."""
    text = str(exc)
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in text:
        return ("it holds Python objects that a safe load refuses; causalvae checkpoints never "
                "do, so it was not written by causalvae or has been tampered with. Do not load "
                "it by other means unless you trust its source")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"it is damaged or not a torch file: {first[:200]}"


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` onto the CPU; refuse foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a torn or foreign file
        raise CheckpointError(f"{path} is not a readable causalvae checkpoint: "
                              f"{_reason(exc)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a causalvae checkpoint")
    version = state.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{path} was written by a newer causalvae (checkpoint version "
                              f"{version!r} > {VERSION}); upgrade causalvae")
    bad = [f"{key!r}" for key, kind in REQUIRED_KEYS.items()
           if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool)]
    if bad:
        raise CheckpointError(f"{path} is damaged: it lacks {', '.join(bad)} (or holds the wrong "
                              "type there); train the run again or restore the checkpoint")
    return state


def load_weights(model: torch.nn.Module, weights: dict[str, Any], path: Path | str,
                 model_name: str) -> None:
    """``model.load_state_dict(weights)``, with a clear error when the weights belong to another
    model or configuration (missing, unexpected or mis-shaped tensors)."""
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, KeyError) as exc:
        detail = str(exc).strip().splitlines()
        missing = [line.strip()[:160] for line in detail if line.strip()][1:3]
        raise CheckpointError(
            f"{path}: its weights do not fit a {model_name} model with the run's config "
            f"({'; '.join(missing) or type(exc).__name__}): the checkpoint belongs to another model "
            "or configuration") from None


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete ``.checkpoint.pt.<pid>.tmp`` files left by processes that no longer run."""
    removed = []
    for tmp in run_dir.glob(f".{CHECKPOINT_NAME}.*.tmp"):
        pid = tmp.name[len(CHECKPOINT_NAME) + 2:-len(".tmp")]
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@dataclass
class LoadedRun:
    """A trained model with what is needed to feed it: config, label statistics, variables."""

    model: torch.nn.Module
    config: RunConfig
    label_stats: LabelStats
    variable_names: list[str]
    epoch: int
    state: dict[str, Any]


def load_run(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedRun:
    """Load a run directory (or a checkpoint file) into an eval-mode model on ``device``."""
    from causalvae.models import build_model

    path = Path(path)
    ckpt = path / CHECKPOINT_NAME if path.is_dir() else path
    state = load_checkpoint(ckpt)
    config = RunConfig.from_dict(state["config"], saved=True)
    model = build_model(config.train.model, config.model)
    load_weights(model, state["model"], ckpt, config.train.model)
    model.to(device).eval()
    return LoadedRun(model=model, config=config,
                     label_stats=LabelStats.from_dict(state["label_stats"]),
                     variable_names=list(state["variable_names"]), epoch=int(state["epoch"]),
                     state=state)


# -- run directories ---------------------------------------------------------------------------
def check_run_dir(out: Path, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from (``resume``), or None for a fresh run; refuses conflicts.

    Temporary checkpoint files of processes that died mid-write are removed first. A resumed
    checkpoint must be of the model the run directory's ``config.json`` names: a checkpoint
    copied in from another run is refused, not resumed as that other model.
    """
    if out.is_dir():
        remove_stale_temporaries(out)
    ckpt = out / CHECKPOINT_NAME
    if resume:
        if not ckpt.exists():
            raise CheckpointError(f"--resume: no checkpoint at {ckpt}; nothing to resume")
        state = load_checkpoint(ckpt)
        _check_same_model(out, state)
        return state
    if ckpt.exists():
        state = load_checkpoint(ckpt)
        what = ("a finished run" if state.get("finished")
                else f"an unfinished run (epoch {state['epoch']})")
        raise CheckpointError(f"{out} already holds {what}; pass --resume to continue it "
                              "(raise --epochs to train longer) or choose another --out")
    return None


def _check_same_model(out: Path, state: dict[str, Any]) -> None:
    saved = state["config"].get("train", {}).get("model") if isinstance(
        state["config"].get("train"), dict) else None
    config_file = out / "config.json"
    if not config_file.is_file():
        return
    try:
        recorded = json.loads(config_file.read_text()).get("train", {}).get("model")
    except (OSError, ValueError, RecursionError, AttributeError):
        return  # a damaged config.json: the checkpoint's own config is the truth
    if isinstance(recorded, str) and isinstance(saved, str) and recorded != saved:
        raise CheckpointError(
            f"{out / CHECKPOINT_NAME} holds a {saved!r} run, but {config_file} says this run "
            f"trains {recorded!r}: the checkpoint comes from another run. Restore this run's "
            "checkpoint, or train afresh in another --out")


def resume_config(saved: RunConfig, overrides: list[str], allowed: Collection[str]) -> RunConfig:
    """``saved`` with ``key=value`` overrides, which may change only the ``allowed`` keys."""
    config = apply_overrides(saved, overrides)
    old, new = saved.to_dict(), config.to_dict()
    if new["train"]["model"] != old["train"]["model"]:  # its config has other keys altogether
        raise CheckpointError(
            f"--resume cannot change the model: the run trains {old['train']['model']!r}, not "
            f"{new['train']['model']!r}; train {new['train']['model']!r} afresh in another --out")
    changed = [f"{sec}.{k}" for sec in ("train", "model") for k in old[sec]
               if k not in allowed and old[sec][k] != new[sec][k]]
    if changed:
        raise CheckpointError(
            f"--resume cannot change {', '.join(changed)} (the run was trained with other "
            f"values); only {', '.join(sorted(allowed))} may change on resume")
    return config


def apply_new_lr(optimizer: torch.optim.Optimizer, scheduler: Any, lr: float,
                 saved_lr: float) -> None:
    """A resume may lower ``lr`` (after a divergence): the loaded optimiser and scheduler hold
    the saved one, so the main parameter group's rate (and its schedule) are rescaled."""
    if lr == saved_lr or saved_lr <= 0:
        return
    group = optimizer.param_groups[0]
    group["lr"] = group["lr"] * lr / saved_lr
    group["initial_lr"] = lr
    if scheduler is not None:
        scheduler.base_lrs[0] = lr
    log.info("resumed with lr %g (the run had %g)", lr, saved_lr)


def record_resumes(out: Path, state: dict[str, Any] | None, config: RunConfig,
                   resumable: Collection[str]) -> list[dict]:
    """run.json's list of resumes, plus this one when it changed (``resumable``) settings of
    the saved run, e.g. a lower lr after a divergence; [] for a fresh run."""
    try:
        old = json.loads((out / "run.json").read_text()).get("resumes", [])
    except (OSError, ValueError, RecursionError, AttributeError):
        old = []
    old = old if isinstance(old, list) else []
    if state is None:
        return []
    saved = state["config"].get("train", {})
    new = config.to_dict()["train"]
    changed = {k: [saved.get(k), v] for k, v in new.items()
               if k in resumable and k != "out" and saved.get(k) != v}
    if changed:
        old.append({"epoch": int(state["epoch"]), "step": int(state["global_step"]),
                    "changed": changed})
    return old


def trim_metrics(path: Path, epochs: int) -> None:
    """Drop metric rows of epochs after the checkpoint (written before a crash), and rows that
    are not JSON objects with an integer epoch (a line torn by a kill, or edited): the
    checkpoint, not the log, is the run's truth."""
    if not path.exists():
        return
    kept, dropped = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            row = None
        epoch = row.get("epoch") if isinstance(row, dict) else None
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            dropped += 1
        elif epoch <= epochs:
            kept.append(line)
    if dropped:
        log.warning("%s: dropped %d damaged line(s) (not JSON rows with an epoch)", path, dropped)
    path.write_text("".join(line + "\n" for line in kept))


def check_resume_data(out: Path, data: Path) -> None:
    """Refuse to resume on another file than the run's recorded dataset while that file exists
    (a moved dataset is accepted: its variables are checked against the run's anyway)."""
    try:
        recorded = json.loads((out / "run.json").read_text()).get("data")
    except (OSError, ValueError, AttributeError):
        return
    if not recorded or not Path(recorded).exists():
        return
    if not data.exists() or not os.path.samefile(recorded, data):
        raise CheckpointError(
            f"{out} was trained on {recorded}, not on {data}; resume it with that file, or "
            "train on the new data into another --out"
        )


_warned_no_targets: set[str] = set()  # files already warned about, once per process


def warn_if_no_targets(config: RunConfig, data: CausalDataset) -> bool:
    """Warn (once per file and process) when the model reads intervention targets and the file
    has none; True if it warned."""
    wants = getattr(config.model, "intervention_mask", False)
    key = str(data.path)
    if not wants or data.has_interventions or key in _warned_no_targets:
        return False
    _warned_no_targets.add(key)
    log.warning(
        "%s records no intervention targets (it was generated without --intervention-mix): "
        "%s learns the edges and the directions that observational data identify; directions "
        "left open by them (chains, forks) are not identified from this file",
        data.path, config.train.model)
    return True
