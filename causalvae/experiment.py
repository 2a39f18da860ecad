"""End-to-end identifiability experiments: generate, train every model on every seed, evaluate.

``run_experiment`` makes one dataset per seed (cached under ``OUT/data`` by a hash of the spec,
size, N, intervention mix and seed), trains each model on it into ``OUT/runs/MODEL/seedS``,
evaluates each run against the generating truth, and aggregates the results into
``OUT/report.json`` and ``OUT/report.md`` (written by :mod:`causalvae.report`). A rerun skips finished
runs and evaluations and resumes an interrupted training from its checkpoint, so an experiment
can be stopped and continued at any point.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from causalgen import scenes
from causalgen.bundled import bundled_spec, resolve_spec
from causalgen.errors import CausalgenError, SceneNotFoundError
from causalgen.generate import generate
from causalgen.io import open_dataset
from causalgen.scenes.files import load_spec
from causalvae.baselines import BASELINES, list_baselines, run_baseline, settings_for
from causalvae.checkpoint import CHECKPOINT_NAME, load_checkpoint
from causalvae.config import RunConfig, apply_overrides
from causalvae.errors import CausalvaeError, ConfigError
from causalvae.evaluate import EVALUATION_NAME, EVALUATION_VERSION, evaluate
from causalvae.models import ALIASES, canonical_name, get_model_class, list_models
from causalvae.report import aggregate, final_kl, run_summary, write_report
from causalvae.train import train

log = logging.getLogger(__name__)
# the recommended model and the baselines (cli/causalvae.py's --models default says the same)
DEFAULT_MODELS = ("causalvae", "conditionvae", "betavae")


@dataclass
class ExperimentConfig:
    """What to run. ``overrides`` are ``key=value`` for every model that has the key, or
    ``MODEL.key=value`` for one model."""

    target: str  # a registered scene id or a spec file
    out: str
    n: int = 10_240
    seeds: int = 5
    first_seed: int = 0  # seeds first_seed .. first_seed + seeds - 1 (e.g. 100: development)
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
    label_fraction: float = 1.0  # labelled share of the training images, for label-fed models

    def validate(self) -> None:
        if not self.models:  # it generated the data and wrote an empty report
            raise CausalvaeError("--models names no model; give at least one, e.g. "
                                 f"--models {','.join(DEFAULT_MODELS)}")
        twice = [m for i, m in enumerate(self.models)
                 if canonical_name(m) in map(canonical_name, self.models[:i])]
        if twice:
            raise CausalvaeError(f"--models names {twice[0]!r} twice (or under two names); "
                                 "give each model once")
        known = list_models() + list_baselines()
        unknown = [m for m in self.models if canonical_name(m) not in known]
        if unknown:
            raise CausalvaeError(f"unknown model(s) {unknown}; known: {', '.join(known)} "
                                 f"(label-only baselines: {', '.join(list_baselines())})")
        if not 0.0 < self.label_fraction <= 1.0:  # also false for NaN
            raise CausalvaeError(f"--label-fraction {self.label_fraction!r} must be in (0, 1]")
        if not 0.0 <= self.intervention_mix <= 1.0:
            raise CausalvaeError(f"--intervention-mix {self.intervention_mix!r} must be in "
                                 "[0, 1]")
        if self.seeds < 1 or self.n < 100 or self.epochs < 1 or self.first_seed < 0:
            raise CausalvaeError("need --seeds >= 1, --first-seed >= 0, --n >= 100 and "
                                 "--epochs >= 1")

    @property
    def seed_list(self) -> range:
        """The seeds this experiment runs."""
        return range(self.first_seed, self.first_seed + self.seeds)


def data_file(target: str) -> Path | None:
    """The target as a dataset file (.h5: an imported or generated file used for every seed),
    else None (a scene id or a spec file)."""
    path = Path(target)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        return None
    open_dataset(path).close()  # a missing, foreign or incomplete file: a DatasetError now
    return path


def _scene_and_scm(target: str) -> tuple[str, Any, dict[str, Any], str]:
    """(scene registry id, SCM, scene kwargs, short name) of a scene id or a spec file."""
    path = Path(target)
    if path.suffix == ".toml" or path.exists():
        spec = load_spec(resolve_spec(path))  # a file, or a bundled spec's name: chain.toml
        return spec.scene_id, spec.scm, spec.scene_kwargs, path.stem
    try:
        scene_id = scenes.resolve(target)  # "pendulum": the latest version, said in the log
    except SceneNotFoundError:
        bundled = bundled_spec(target)  # "chain": data/scenes/chain.toml
        if bundled is None:
            raise
        spec = load_spec(bundled)
        return spec.scene_id, spec.scm, spec.scene_kwargs, bundled.stem
    scene = scenes.make(scene_id)
    return scene_id, scene.default_scm(), {}, scene_id.rsplit("-v", 1)[0]


def dataset_for_seed(cfg: ExperimentConfig, seed: int) -> Path:
    """The cached dataset of ``seed``, generated on first use (a file target: that file)."""
    if (path := data_file(cfg.target)) is not None:
        return path
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
    if cfg.label_fraction < 1.0 and get_model_class(model).uses_labels:
        items.append(f"label_fraction={cfg.label_fraction}")  # label-free models see no labels
    config = apply_overrides(config, items)
    for item in cfg.overrides:
        key, _, value = item.partition("=")
        scope, dot, bare = key.partition(".")
        if dot and scope in BASELINES:
            continue  # a baseline's own setting (see causalvae.baselines.settings_for)
        if dot and (scope in list_models() or scope in ALIASES):
            if canonical_name(scope) == canonical_name(model):
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
    return any(bare in d[section] for section in ("train", "model"))


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
    diff = [f"{sec}.{k}: {saved[sec].get(k)!r} -> {want[sec][k]!r}" for sec in ("train", "model")
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
    if (path := data_file(cfg.target)) is not None:  # the file's own size and mix
        with open_dataset(path) as ds:
            mix = ds.intervention_mix.get("fraction", 0.0) if ds.intervention_mix else 0.0
            cfg = replace(cfg, n=ds.n, intervention_mix=float(mix))
    if data_file(cfg.target) is None:  # an unknown scene or a bad spec fails before any file
        _scene_and_scm(cfg.target)
    out = Path(cfg.out)
    for model in cfg.models:  # so does a bad --set, for every model
        if model in BASELINES:
            settings_for(model, cfg.overrides, 0)
        else:
            run_config(cfg, model, cfg.first_seed, out / "runs" / model / "seed0")
    out.mkdir(parents=True, exist_ok=True)
    (out / "experiment.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    rows: list[dict[str, Any]] = []
    try:
        for seed in cfg.seed_list:
            t0 = time.perf_counter()
            data = dataset_for_seed(cfg, seed)
            data_s = time.perf_counter() - t0
            for model in cfg.models:
                row = _one_run(cfg, model, seed, out, data, data_s, on_run)
                rows.append(row)
                if not row["complete"]:  # Ctrl-C in training: its checkpoint is saved
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        # Stop here: report what is done, marking the runs that are not, and let the caller
        # exit as interrupted. A rerun of the same command resumes from the checkpoints.
        done = {(r["model"], r["seed"]) for r in rows}
        rows += [{"model": m, "seed": s, "run": str(out / "runs" / m / f"seed{s}"),
                  "complete": False, "epochs_done": _epochs_done(out / "runs" / m / f"seed{s}")}
                 for s in cfg.seed_list for m in cfg.models if (m, s) not in done]
    report = aggregate(asdict(cfg), [r for r in rows if r["complete"]], argv)
    report["runs"] = rows
    report["incomplete"] = [{"model": r["model"], "seed": r["seed"],
                             "epochs_done": r.get("epochs_done", 0), "epochs": cfg.epochs}
                            for r in rows if not r["complete"]]
    # figures read every run's metrics: drawn once the experiment is complete
    report["figures"] = None if report["incomplete"] else _figures(out, report)
    write_report(out, report)
    return report


def _figures(out: Path, report: dict[str, Any]) -> dict[str, Any] | None:
    """The summary figure and each model's figures, after all training (None without the
    figures extra: the report is written either way)."""
    from causalgen.figures import have_matplotlib

    if not have_matplotlib():
        log.warning("matplotlib is not installed: the report has no figures "
                    "(pip install 'causalgen[figures]')")
        return None
    from causalvae.figures.run import write_experiment_figures

    return write_experiment_figures(out, report)


def _epochs_done(run_dir: Path) -> int:
    """Completed epochs of a run directory's checkpoint (0 without one)."""
    try:
        return int(load_checkpoint(run_dir / CHECKPOINT_NAME)["epoch"])
    except CausalvaeError:
        return 0


def _one_run(cfg: ExperimentConfig, model: str, seed: int, out: Path, data: Path, data_s: float,
             on_run: Callable[[str], None] | None) -> dict[str, Any]:
    """Train (or resume) and evaluate one (model, seed) run; its row of the report."""
    run_dir = out / "runs" / model / f"seed{seed}"
    if model in BASELINES:  # label-only: discovery on the train labels, no training
        if on_run:
            on_run(f"baseline {model} seed {seed}")
        ev = run_baseline(model, data, run_dir, settings_for(model, cfg.overrides, seed))
        return {"model": model, "seed": seed, "run": str(run_dir), "data": str(data),
                "complete": True, **run_summary(ev), "timing": {"discovery_s": ev["discovery_s"]}}
    config = run_config(cfg, model, seed, run_dir)
    state = _run_state(run_dir, config, data)
    t1 = time.perf_counter()
    if state != "finished":
        if on_run:
            on_run(f"train {model} seed {seed} ({state})")
        result = train(config, data, resume=state == "interrupted")
        if result.interrupted:
            return {"model": model, "seed": seed, "run": str(run_dir), "data": str(data),
                    "complete": False, "epochs_done": result.epochs}
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
    return {"model": model, "seed": seed, "run": str(run_dir), "data": str(data),
            "complete": True, **run_summary(ev), "kl": final_kl(_last_epoch(run_dir)),
            "timing": json.loads(timing_path.read_text())}


def _last_epoch(run_dir: Path) -> dict[str, Any] | None:
    """The last row of a run's ``metrics.jsonl`` (None without one)."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return None
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    try:
        return json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
