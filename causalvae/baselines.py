"""Label-only causal-discovery baselines: what the labels alone say about the graph.

A reviewer's first question of an image model that learns a causal graph is what the images add
over a standard causal-discovery algorithm run on the labels. These baselines answer it inside
the experiment report: they read exactly what the VAEs are trained on (the labels of the train
split, in physical units, and the file's ``intervened`` mask of those rows), run a maintained
algorithm from causal-learn, and are scored like a learned graph. They are "models" of
``causalvae experiment --models`` but train nothing; they live in their own registry
(:data:`BASELINES`, filled by :func:`register_baseline`) beside the VAE registry.

* ``pc``: PC (alpha 0.01); CI test KCI (kernel, nonparametric) on a seeded subsample of at most
  ``kci_max_samples`` rows (its cost is cubic in the sample size), or Fisher-z on every row with
  ``ci_test=fisherz``.
* ``ges``: GES with the linear-Gaussian BIC score, every row.
* ``pc-int``: PC over the labels plus one intervention indicator per intervened variable
  (context variables in the sense of joint causal inference), with the background knowledge
  that an indicator has no parents; then the label part of the graph. An indicator orients the
  edges around its target when the intervention changes the target's distribution; causalgen's
  ``--intervention-mix`` draws the forced value from the target's own marginal, so there the
  indicators are marginally independent of every variable and orient little (measured on a
  chain in docs/results.md). Without interventions in the file it is plain PC.

Labels are standardised and given a small seeded jitter (``jitter`` standard deviations, 1e-2 by
default): some labels are deterministic functions of others (pendulum's shadows), which makes
the CI tests' covariance matrices singular, and with too little jitter KCI's kernel regression
leaves residual dependence between the shadows (measured on pendulum-v1: jitter 1e-3 with 800
rows added a shadow_length - shadow_position edge on 5 of 5 seeds; 1e-2 did not). Output graphs are partially directed (PC and GES
estimate a class, not a DAG): ``i - j`` sets both entries; a bidirected edge, which PC can
produce from conflicting v-structures, is read as undirected.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from causalgen.io import open_dataset
from causalvae.errors import ConfigError, DataError
from causalvae.essential import target_family
from causalvae.graph import pdag_metrics

__all__ = [
    "BASELINES",
    "BaselineSettings",
    "discover",
    "list_baselines",
    "register_baseline",
    "run_baseline",
    "settings_for",
]

log = logging.getLogger(__name__)
BASELINE_VERSION = 1  # bumped when a baseline's algorithm or settings change


@dataclass(frozen=True)
class BaselineSettings:
    """Settings every baseline reads (set with ``--set NAME.KEY=VALUE`` in an experiment)."""

    alpha: float = 0.01  # significance level of the CI tests
    ci_test: str = "kci"  # kci (on a subsample) or fisherz (every row)
    kci_max_samples: int = 800  # 400 missed edges on pendulum with --intervention-mix 0.5
    jitter: float = 1e-2  # standard deviations of seeded noise added to standardised labels
    seed: int = 0

    def validate(self) -> None:
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.ci_test not in ("kci", "fisherz"):
            raise ConfigError(f"ci_test must be 'kci' or 'fisherz', got {self.ci_test!r}")
        if self.kci_max_samples < 20:
            raise ConfigError(f"kci_max_samples must be >= 20, got {self.kci_max_samples}")
        if self.jitter < 0:
            raise ConfigError(f"jitter must be >= 0, got {self.jitter}")

    def with_items(self, items: list[str]) -> BaselineSettings:
        """A copy with ``key=value`` items applied (types from the field defaults)."""
        known = {f.name: type(f.default) for f in fields(self)}
        out = self
        for item in items:
            key, eq, value = item.partition("=")
            if not eq or key not in known:
                raise ConfigError(f"unknown baseline setting {key!r}; known: {', '.join(known)}")
            try:
                out = replace(out, **{key: known[key](value)})
            except ValueError:
                raise ConfigError(f"{key} takes a {known[key].__name__}, got {value!r}") from None
        out.validate()
        return out


Discover = Callable[[np.ndarray, "np.ndarray | None", BaselineSettings], tuple[np.ndarray, dict]]


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    fn: Discover


BASELINES: dict[str, Baseline] = {}


def register_baseline(name: str, description: str) -> Callable[[Discover], Discover]:
    """Decorator: register ``fn(labels, intervened, settings) -> (pdag (V, V), info)``."""

    def decorate(fn: Discover) -> Discover:
        if name in BASELINES:
            raise RuntimeError(f"baseline {name!r} is registered twice")
        BASELINES[name] = Baseline(name, description, fn)
        return fn

    return decorate


def list_baselines() -> list[str]:
    return sorted(BASELINES)


def _prepared(labels: np.ndarray, settings: BaselineSettings) -> np.ndarray:
    x = np.asarray(labels, dtype=np.float64)
    std = x.std(0)
    x = (x - x.mean(0)) / np.where(std > 0, std, 1.0)
    rng = np.random.default_rng(settings.seed)
    return x + settings.jitter * rng.normal(size=x.shape)  # (N, V)


def _pdag(graph: np.ndarray) -> np.ndarray:
    """causal-learn's endpoint matrix -> 0/1 PDAG (i -> j: [i, j]; i - j or i <-> j: both)."""
    g = np.asarray(graph)
    n = g.shape[0]
    out = np.zeros((n, n), dtype=np.int8)
    for i in range(n):
        for j in range(n):
            if i == j or g[i, j] == 0:
                continue
            if g[i, j] == -1 and g[j, i] == 1:  # tail at i, arrow at j: i -> j
                out[i, j] = 1
            elif g[i, j] == g[j, i]:  # i - j (both tails) or i <-> j (both arrows)
                out[i, j] = out[j, i] = 1
    return out


def _pc(x: np.ndarray, settings: BaselineSettings, background: Any = None) -> tuple[np.ndarray, dict]:
    from causallearn.search.ConstraintBased.PC import pc

    info: dict[str, Any] = {"ci_test": settings.ci_test, "alpha": settings.alpha}
    if settings.ci_test == "kci" and len(x) > settings.kci_max_samples:
        rng = np.random.default_rng(settings.seed + 1)
        x = x[np.sort(rng.choice(len(x), size=settings.kci_max_samples, replace=False))]
    info["n_samples"] = len(x)
    cg = pc(x, settings.alpha, settings.ci_test, background_knowledge=background,
            show_progress=False)
    return _pdag(cg.G.graph), info


@register_baseline("pc", "PC on the labels (causal-learn; KCI on a subsample, or Fisher-z)")
def pc_labels(labels: np.ndarray, intervened: np.ndarray | None,
              settings: BaselineSettings) -> tuple[np.ndarray, dict]:
    return _pc(_prepared(labels, settings), settings)


@register_baseline("ges", "GES on the labels (causal-learn, linear-Gaussian BIC score)")
def ges_labels(labels: np.ndarray, intervened: np.ndarray | None,
               settings: BaselineSettings) -> tuple[np.ndarray, dict]:
    from causallearn.search.ScoreBased.GES import ges

    x = _prepared(labels, settings)
    record = ges(x, score_func="local_score_BIC")
    return _pdag(record["G"].graph), {"score": "local_score_BIC", "n_samples": len(x)}


@register_baseline("pc-int", "PC on the labels plus intervention indicators (no parents)")
def pc_interventions(labels: np.ndarray, intervened: np.ndarray | None,
                     settings: BaselineSettings) -> tuple[np.ndarray, dict]:
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    x = _prepared(labels, settings)
    v = x.shape[1]
    mask = np.zeros(x.shape, bool) if intervened is None else np.asarray(intervened).astype(bool)
    cols = [j for j in range(v) if 0 < mask[:, j].sum() < len(mask)]  # indicators that vary
    if not cols:
        pdag, info = _pc(x, settings)
        return pdag, {**info, "indicators": []}
    rng = np.random.default_rng(settings.seed + 2)
    ind = mask[:, cols].astype(np.float64)
    ind = (ind - ind.mean(0)) / ind.std(0) + settings.jitter * rng.normal(size=ind.shape)
    data = np.c_[x, ind]  # (N, V + |cols|)
    nodes = [GraphNode(f"X{i + 1}") for i in range(data.shape[1])]  # causal-learn's node names
    bk = BackgroundKnowledge()
    for k in range(v, data.shape[1]):
        for i in range(data.shape[1]):
            if i != k:
                bk.add_forbidden_by_node(nodes[i], nodes[k])  # nothing causes an indicator
    pdag, info = _pc(data, settings, bk)
    return pdag[:v, :v], {**info, "indicators": cols}


def settings_for(name: str, overrides: tuple[str, ...] | list[str], seed: int) -> BaselineSettings:
    """The settings of baseline ``name`` in an experiment: its ``NAME.key=value`` overrides
    (other items belong to the VAEs and are ignored) and the experiment's seed."""
    items = [item.split(".", 1)[1] for item in overrides if item.split("=", 1)[0].startswith(f"{name}.")]
    return BaselineSettings(seed=seed).with_items(items)


def discover(name: str, labels: np.ndarray, intervened: np.ndarray | None,
             settings: BaselineSettings | None = None) -> tuple[np.ndarray, dict]:
    """Run the baseline ``name`` on labels (N, V) and an optional intervention mask (N, V)."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; known: {', '.join(list_baselines())}")
    settings = settings or BaselineSettings()
    settings.validate()
    return BASELINES[name].fn(labels, intervened, settings)


def run_baseline(name: str, data: str | os.PathLike, run_dir: str | os.PathLike,
                 settings: BaselineSettings | None = None) -> dict[str, Any]:
    """Run a baseline on the train split of ``data``; writes ``run_dir/evaluation.json``.

    The record holds the graph scores of :func:`causalvae.graph.pdag_metrics` (shd against the
    DAG, shd_cpdag against the class the file identifies), the wall time of the discovery alone
    (``discovery_s``) and the settings; representation metrics are None (no latents).
    """
    settings = settings or BaselineSettings()
    out = Path(run_dir)
    done = out / "evaluation.json"
    if done.exists():  # a rerun of an experiment reuses a finished baseline of the same settings
        try:
            old = json.loads(done.read_text())
        except json.JSONDecodeError:
            old = {}
        if (old.get("baseline_version") == BASELINE_VERSION and old.get("model") == name
                and old.get("data") == str(data) and old.get("settings") == asdict(settings)):
            return old
    with open_dataset(data) as ds:
        rows = ds.indices("train")
        if len(rows) < 20:
            raise DataError(f"{data} has {len(rows)} training samples; a baseline needs >= 20")
        labels = ds.labels[rows].astype(np.float64)
        mask = ds.intervened[rows] if ds.intervened is not None else None
        names, true_adj = ds.variable_names, ds.adjacency
        targets = target_family(ds.intervened)
    t0 = time.perf_counter()
    pdag, info = discover(name, labels, mask, settings)
    seconds = time.perf_counter() - t0
    scores = pdag_metrics(pdag, true_adj, targets)
    record = {
        "baseline_version": BASELINE_VERSION, "model": name, "kind": "label-only baseline",
        "data": str(data), "variables": names, "n_train": len(rows), "discovery_s": seconds,
        "settings": asdict(settings), "info": info, **scores,
        "mic": None, "tic": None, "mig": None, "dci": None, "counterfactual": None,
    }
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "evaluation.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(out / "evaluation.json")
    log.info("%s: shd %s, shd_cpdag %s in %.2f s", name, scores["shd"], scores["shd_cpdag"],
             seconds)
    return record
