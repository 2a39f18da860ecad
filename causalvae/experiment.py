"""End-to-end identifiability experiments: generate, train every model on every seed, evaluate.

``run_experiment`` makes one dataset per seed (cached under ``OUT/data`` by a hash of the spec,
size, N, intervention mix and seed), trains each model on it into ``OUT/runs/MODEL/seedS``,
evaluates each run against the generating truth, and aggregates the results into
``OUT/report.json`` and ``OUT/report.md`` (mean, spread, per-seed SHD). A rerun skips finished
runs and evaluations and resumes an interrupted training from its checkpoint, so an experiment
can be stopped and continued at any point.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from causalgen import scenes
from causalgen.errors import CausalgenError
from causalgen.generate import generate
from causalgen.io import open_dataset
from causalgen.scm.files import load_spec
from causalvae.checkpoint import CHECKPOINT_NAME, load_checkpoint
from causalvae.config import RunConfig, apply_overrides
from causalvae.errors import CausalvaeError, ConfigError
from causalvae.evaluate import EVALUATION_NAME, EVALUATION_VERSION, evaluate
from causalvae.models import list_models
from causalvae.train import train

log = logging.getLogger(__name__)
DEFAULT_MODELS = ("causalvae-int", "causalvae", "conditionvae", "betavae")


@dataclass
class ExperimentConfig:
    """What to run. ``overrides`` are ``key=value`` for every model that has the key, or
    ``MODEL.key=value`` for one model."""

    target: str  # a registered scene id or a spec file
    out: str
    n: int = 10_240
    seeds: int = 5
    models: tuple[str, ...] = DEFAULT_MODELS
    epochs: int = 20
    image_size: int = 64
    batch_size: int = 128
    intervention_mix: float = 0.5
    device: str = "auto"
    workers: int | None = None
    overrides: tuple[str, ...] = field(default_factory=tuple)
    n_eval: int = 1000
    n_cf: int = 256

    def validate(self) -> None:
        unknown = [m for m in self.models if m not in list_models()]
        if unknown:
            raise CausalvaeError(f"unknown model(s) {unknown}; known: {', '.join(list_models())}")
        if self.seeds < 1 or self.n < 100 or self.epochs < 1:
            raise CausalvaeError("need --seeds >= 1, --n >= 100 and --epochs >= 1")


def _scene_and_scm(target: str) -> tuple[str, Any, dict[str, Any], str]:
    """(scene registry id, SCM, scene kwargs, short name) of a scene id or a spec file."""
    path = Path(target)
    if path.suffix == ".toml" or path.exists():
        spec = load_spec(path)
        return spec.scene_id, spec.scm, spec.scene_kwargs, path.stem
    scene = scenes.make(target)
    return target, scene.default_scm(), {}, target.rsplit("-v", 1)[0]


def dataset_for_seed(cfg: ExperimentConfig, seed: int) -> Path:
    """The cached dataset of ``seed``, generated on first use."""
    scene_id, scm, kwargs, name = _scene_and_scm(cfg.target)
    key = hashlib.sha256(json.dumps(
        [scene_id, kwargs, scm.to_json(), cfg.n, cfg.image_size, cfg.intervention_mix, seed],
        sort_keys=True).encode()).hexdigest()[:10]
    path = Path(cfg.out) / "data" / f"{name}-n{cfg.n}-s{cfg.image_size}-seed{seed}-{key}.h5"
    if path.exists():
        try:
            open_dataset(path).close()
            return path
        except CausalgenError:
            path.unlink()  # an unreadable cache entry is regenerated
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info("generating %s", path)
    return generate(scene_id, path, n=cfg.n, seed=seed, size=cfg.image_size, scm=scm,
                    scene_kwargs=kwargs, workers=cfg.workers,
                    intervention_mix=cfg.intervention_mix)


def run_config(cfg: ExperimentConfig, model: str, seed: int, out: Path) -> RunConfig:
    """The RunConfig of one (model, seed) run, with the experiment's overrides applied."""
    config = RunConfig.default(model)
    items = [f"epochs={cfg.epochs}", f"seed={seed}", f"image_size={cfg.image_size}",
             f"batch_size={cfg.batch_size}", f"device={cfg.device}"]
    config = apply_overrides(config, items)
    for item in cfg.overrides:
        key, _, value = item.partition("=")
        scope, dot, bare = key.partition(".")
        if dot and scope in list_models():
            if scope == model:
                config = apply_overrides(config, [f"{bare}={value}"])
            continue
        try:
            config = apply_overrides(config, [item])
        except ConfigError:
            # another model's key: skip it here; a bad value for a key this model has is an error
            if _has_key(model, key) or not any(_accepts(m, item) for m in cfg.models):
                raise
    config.train.out = str(out)
    return config


def _has_key(model: str, key: str) -> bool:
    d = RunConfig.default(model).to_dict()
    bare = key.split(".", 1)[-1]
    return any(bare in section for section in d.values())


def _accepts(model: str, item: str) -> bool:
    try:
        apply_overrides(RunConfig.default(model), [item])
        return True
    except ConfigError:
        return False


# runtime keys may differ on a rerun; n_concepts is resolved from the data when training starts
RUNTIME_KEYS = ("out", "device", "threads", "num_workers", "compile", "n_concepts")


def _run_state(run_dir: Path, wanted: RunConfig, data: Path) -> str:
    """'new', 'finished' or 'interrupted'; refuses a run trained under another config or on
    another dataset (a changed --n, mix, size or target gives another cached data file)."""
    ckpt = run_dir / CHECKPOINT_NAME
    if not ckpt.exists():
        return "new"
    info = run_dir / "run.json"
    recorded = json.loads(info.read_text()).get("data") if info.exists() else None
    if recorded and Path(recorded).resolve() != Path(data).resolve():
        raise CausalvaeError(
            f"{run_dir} was trained on {recorded}, not on this experiment's {data}; use a new "
            "--out for the changed experiment, or delete that run to retrain it"
        )
    state = load_checkpoint(ckpt)
    saved = RunConfig.from_dict(state["config"], saved=True).to_dict()
    want = wanted.to_dict()
    diff = [f"{sec}.{k}: {saved[sec].get(k)!r} -> {want[sec][k]!r}" for sec in want
            for k in want[sec] if k not in RUNTIME_KEYS and saved[sec].get(k) != want[sec][k]]
    if diff:
        raise CausalvaeError(
            f"{run_dir} holds a run trained with another config ({'; '.join(diff[:4])}); use a "
            "new --out for the changed experiment, or delete that run to retrain it"
        )
    return "finished" if state.get("finished") else "interrupted"


def run_experiment(cfg: ExperimentConfig, argv: Sequence[str] | None = None,
                   on_run: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or continue) the experiment; returns the aggregated report."""
    cfg.validate()
    _scene_and_scm(cfg.target)  # an unknown scene or a bad spec fails before any file is written
    out = Path(cfg.out)
    for model in cfg.models:  # so does a bad --set, for every model
        run_config(cfg, model, 0, out / "runs" / model / "seed0")
    out.mkdir(parents=True, exist_ok=True)
    (out / "experiment.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    rows: list[dict[str, Any]] = []
    for seed in range(cfg.seeds):
        t0 = time.perf_counter()
        data = dataset_for_seed(cfg, seed)
        data_s = time.perf_counter() - t0
        for model in cfg.models:
            run_dir = out / "runs" / model / f"seed{seed}"
            config = run_config(cfg, model, seed, run_dir)
            state = _run_state(run_dir, config, data)
            t1 = time.perf_counter()
            if state != "finished":
                if on_run:
                    on_run(f"train {model} seed {seed} ({state})")
                train(config, data, resume=state == "interrupted")
            train_s = time.perf_counter() - t1
            t2 = time.perf_counter()
            ev_path = run_dir / EVALUATION_NAME
            ev = json.loads(ev_path.read_text()) if ev_path.exists() else {}
            # an evaluation made by another version of the metrics is redone
            if state != "finished" or ev.get("evaluation_version") != EVALUATION_VERSION:
                if on_run:
                    on_run(f"evaluate {model} seed {seed}")
                ev = evaluate(run_dir, data, n_eval=cfg.n_eval, n_cf=cfg.n_cf, seed=seed,
                              device="cpu")
            timing = {"data_s": data_s, "train_s": train_s, "eval_s": time.perf_counter() - t2}
            timing_path = run_dir / "timing.json"
            if state != "finished" or not timing_path.exists():
                timing_path.write_text(json.dumps(timing) + "\n")
            rows.append({"model": model, "seed": seed, "run": str(run_dir), "data": str(data),
                         **_summary(ev), "timing": json.loads(timing_path.read_text())})
    report = aggregate(cfg, rows, argv)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown_report(report))
    return report


def _summary(ev: dict[str, Any]) -> dict[str, Any]:
    cf = ev["counterfactual"]
    return {
        "shd": ev.get("shd"), "precision": ev.get("precision"), "recall": ev.get("recall"),
        "auroc": ev.get("auroc"), "sid": ev.get("sid"), "shd_default_rule": ev.get("shd_default_rule"),
        "mic": ev["mic"], "tic": ev["tic"],
        "mig": ev["mig"], "dci_d": ev["dci"]["disentanglement"],
        "dci_c": ev["dci"]["completeness"], "dci_i": ev["dci"]["informativeness"],
        "cf_pixel_mse": cf["mean_pixel_mse"], "cf_probe_rmse": cf["mean_probe_rmse"],
        "recon_mse": cf["recon_mse_floor"],
        "cf_per_concept": {k: v["pixel_mse"] for k, v in cf["per_concept"].items()},
        "cf_probe_per_concept": {k: v["probe_rmse"] for k, v in cf["per_concept"].items()},
    }


METRICS = ("shd", "shd_default_rule", "precision", "recall", "auroc", "mic", "tic", "mig", "dci_d", "dci_c", "dci_i",
           "cf_pixel_mse", "cf_probe_rmse", "recon_mse")


def aggregate(cfg: ExperimentConfig, rows: list[dict[str, Any]],
              argv: Sequence[str] | None) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for model in cfg.models:
        mine = [r for r in rows if r["model"] == model]
        stats: dict[str, Any] = {}
        for m in METRICS:
            vals = [r[m] for r in mine if r[m] is not None]
            if vals:
                stats[m] = {"mean": statistics.fmean(vals),
                            "sd": statistics.stdev(vals) if len(vals) > 1 else 0.0}
        shds = [r["shd"] for r in mine]
        stats["shd_per_seed"] = shds
        stats["seeds_shd0"] = sum(1 for s in shds if s == 0) if None not in shds else None
        stats["cf_per_concept"] = {  # per intervened concept, mean over seeds
            c: {"pixel_mse": statistics.fmean(r["cf_per_concept"][c] for r in mine),
                "probe_rmse": statistics.fmean(r["cf_probe_per_concept"][c] for r in mine)}
            for c in (mine[0]["cf_per_concept"] if mine else {})}
        stats["seconds_per_seed"] = statistics.fmean(
            sum(r["timing"].values()) for r in mine) if mine else None
        models[model] = stats
    command = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv))
    return {"config": asdict(cfg), "command": command, "models": models, "runs": rows}


def _fmt(stat: dict[str, float] | None, digits: int = 3) -> str:
    if not stat:
        return "-"
    return f"{stat['mean']:.{digits}g} ± {stat['sd']:.2g}"


def markdown_report(report: dict[str, Any]) -> str:
    cfg = report["config"]
    lines = [
        f"# Experiment: {cfg['target']}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"N = {cfg['n']} images ({cfg['image_size']} px), {cfg['seeds']} seeds, {cfg['epochs']} "
        f"epochs, batch {cfg['batch_size']}, intervention mix {cfg['intervention_mix']}, "
        f"overrides: {', '.join(cfg['overrides']) or 'none'}.",
        "",
        "| model | SHD | seeds with SHD 0 | SHD, default rule | precision | recall | AUROC | MIC | "
        "TIC | MIG | DCI D / C / I | CF pixel MSE | CF probe RMSE | recon MSE (floor) | s / seed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, s in report["models"].items():
        seeds0 = "-" if s["seeds_shd0"] is None else f"{s['seeds_shd0']} / {len(s['shd_per_seed'])}"
        dci = " / ".join(f"{s[k]['mean']:.2f}" if k in s else "-" for k in ("dci_d", "dci_c", "dci_i"))
        lines.append(
            f"| {model} | {_fmt(s.get('shd'))} | {seeds0} | {_fmt(s.get('shd_default_rule'))} | "
            f"{_fmt(s.get('precision'))} | "
            f"{_fmt(s.get('recall'))} | {_fmt(s.get('auroc'))} | {_fmt(s.get('mic'))} | "
            f"{_fmt(s.get('tic'))} | {_fmt(s.get('mig'))} | {dci} | {_fmt(s.get('cf_pixel_mse'))} | "
            f"{_fmt(s.get('cf_probe_rmse'))} | {_fmt(s.get('recon_mse'))} | "
            f"{s['seconds_per_seed']:.0f} |")
    concepts = next((list(s["cf_per_concept"]) for s in report["models"].values()
                     if s.get("cf_per_concept")), [])
    if concepts:
        lines += ["", "Counterfactual error per intervened concept, pixel MSE / probe RMSE (mean "
                  "over seeds):", "",
                  "| model | " + " | ".join(f"do({c})" for c in concepts) + " |",
                  "|---|" + "---|" * len(concepts)]
        for model, s in report["models"].items():
            per = s.get("cf_per_concept", {})
            cells = [f"{per[c]['pixel_mse']:.4f} / {per[c]['probe_rmse']:.3f}" if c in per else "-"
                     for c in concepts]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines += ["", "SHD per seed:", ""]
    for model, s in report["models"].items():
        lines.append(f"- {model}: {s['shd_per_seed']}")
    lines += [
        "",
        "Metrics: SHD, precision, recall and AUROC compare the learned A with the generating "
        "graph (models without a causal layer have none). The threshold is the model's own rule "
        "where it declares one (causalvae-int: |A| > graph_threshold) and otherwise "
        "`causalvae.graph.default_threshold` (0.3 x max |A|, at least 0.05); the default-rule SHD "
        "is shown for every causal model. MIC / TIC: each concept's latent against its own label. CF: "
        "counterfactual fidelity against ground-truth renders of the same units under "
        "do(u_i = another held-out sample's value), averaged over concepts; recon MSE is the "
        "model's plain reconstruction error, the floor a counterfactual can reach.",
        "",
        "Figures: each run's `adjacency.png` (learned |A| beside the true graph) and "
        "`recon.png` are in `runs/MODEL/seedS/`.",
        "",
    ]
    return "\n".join(lines)
