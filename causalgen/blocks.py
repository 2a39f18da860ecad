"""Blocks of a dataset: the plain-data job a worker receives, and how it makes one block.

A :class:`Job` holds everything a worker needs as plain data (the SCM as JSON, interventions
and environments as records), so it travels to worker processes and Dask workers alike. Block
``b`` draws from an RNG seeded with ``(seed, b)`` only; with environments its rows come from
their environments' SCMs in environment order. :func:`run_block` is the task an executor runs.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from causalgen import scenes
from causalgen.errors import CausalgenError
from causalgen.io import schema as S
from causalgen.io.writer import EncodedChunks, encode_chunks
from causalgen.scenes.base import Scene
from causalgen.scm.environments import assignment
from causalgen.scm.interventions import apply_all, from_dict
from causalgen.scm.interventions import counterfactual as soft_counterfactual
from causalgen.scm.spec import SCM, Samples

BLOCK_SIZE = 256  # part of what fixes a dataset's bytes: changing it changes every dataset
assert BLOCK_SIZE % S.IMAGES_PER_CHUNK == 0, "blocks must start on chunk boundaries"

@dataclass(frozen=True)
class Job:
    """Everything a worker needs, as plain data (sent to worker processes once)."""

    scene_id: str
    scene_kwargs: dict[str, Any]
    scm_json: str  # the observational SCM
    intervention: dict[str, Any]
    counterfactual: dict[str, Any] | None
    total: int
    seed: int
    size: int
    clip: bool
    block_size: int = BLOCK_SIZE
    intervention_mix: float = 0.0  # fraction of samples with one variable set by do()
    # --environments: the intervention records of each environment, and its number of samples
    environments: list[list[dict[str, Any]]] | None = None
    environment_sizes: list[int] | None = None
    # --counterfactual with soft interventions: records applied in order (instead of a do dict)
    counterfactual_interventions: list[dict[str, Any]] | None = None

    def build(self) -> tuple[Scene, SCM]:
        scene = scenes.make(self.scene_id, **self.scene_kwargs)
        scm = scene.scm_from_json(self.scm_json)
        return scene, (scm.do(**self.intervention) if self.intervention else scm)

    def environment_scms(self, scm: SCM) -> list[SCM] | None:
        """The SCM of each environment (``scm`` with its interventions), or None without any."""
        if self.environments is None:
            return None
        return [apply_all(scm, [from_dict(r) for r in recs]) for recs in self.environments]


@dataclass
class Block:
    """One rendered block: samples [start, start + len(labels)) of the dataset.

    ``images`` is a uint8 (b, H, W, 3) array, or once :func:`encode_block` ran, the stored
    (compressed) HDF5 chunks, which is what worker processes send back: ~1 KB per image.
    """

    index: int
    start: int
    images: np.ndarray | EncodedChunks
    labels: np.ndarray  # (b, V) float32
    noise: np.ndarray  # (b, V) float32
    counterfactual: tuple[np.ndarray | EncodedChunks, np.ndarray, np.ndarray] | None = field(default=None)
    intervened: np.ndarray | None = None  # (b, V) uint8 with --intervention-mix / --environments
    environment: np.ndarray | None = None  # (b,) int32 with --environments


def encode_block(blk: Block, rows: int, compression: str) -> Block:
    """Compress the block's images into HDF5 chunks of ``rows`` images."""
    blk.images = encode_chunks(blk.images, rows, compression)  # type: ignore[arg-type]
    if blk.counterfactual is not None:
        im, lab, noi = blk.counterfactual
        blk.counterfactual = (encode_chunks(im, rows, compression), lab, noi)  # type: ignore[arg-type]
    return blk


def block_rng(seed: int, block: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(block)])


def _sample(job: Job, scm: SCM, count: int, rng: np.random.Generator,
            targets: tuple[str, ...] = ()) -> tuple[Samples, np.ndarray | None, Samples | None]:
    """Samples of one regime, their (count, V) target mask (or None) and counterfactuals."""
    s = scm.sample(count, rng, clip=job.clip)
    mask = None
    if job.intervention_mix > 0:
        s, mask = mix_interventions(scm, s, rng, job.intervention_mix, job.clip)
    if targets:
        mask = np.zeros((count, len(scm.names)), np.uint8) if mask is None else mask
        mask[:, [scm.names.index(t) for t in targets]] = 1
    c = None
    if job.counterfactual_interventions:
        ivs = [from_dict(r) for r in job.counterfactual_interventions]
        c = soft_counterfactual(scm, s, ivs, rng, clip=job.clip)[1]
    elif job.counterfactual:
        c = scm.counterfactual(s, rng, clip=job.clip, **job.counterfactual)
    return s, mask, c


def _sample_environments(job: Job, env_scms: list[SCM], start: int, count: int,
                         rng: np.random.Generator) -> tuple[Samples, np.ndarray, Samples | None, np.ndarray]:
    """Rows [start, start + count) drawn from their environments' SCMs, in environment order."""
    env = assignment(job.environment_sizes or [], start, start + count)
    names = env_scms[0].names
    values, noise = np.empty((count, len(names))), np.empty((count, len(names)))
    mask = np.zeros((count, len(names)), np.uint8)
    cf = (np.empty((count, len(names))), np.empty((count, len(names)))) if (
        job.counterfactual or job.counterfactual_interventions) else None
    for e in np.unique(env).tolist():  # contiguous runs: a block usually holds one environment
        rows = np.flatnonzero(env == e)
        recs = (job.environments or [])[e]
        try:
            s, m, c = _sample(job, env_scms[e], len(rows), rng,
                              tuple(dict.fromkeys(r["variable"] for r in recs)))
        except CausalgenError as exc:
            text = " & ".join(from_dict(r).text() for r in recs) or "obs"
            raise type(exc)(f"environment {e} ({text}): {exc}") from None
        values[rows], noise[rows] = s.values, s.noise
        if m is not None:
            mask[rows] = m
        if cf is not None and c is not None:
            cf[0][rows], cf[1][rows] = c.values, c.noise
    c_all = Samples(names, *cf) if cf is not None else None
    return Samples(names, values, noise), mask, c_all, env


def make_block(job: Job, scene: Scene, scm: SCM, b: int,
               env_scms: list[SCM] | None = None) -> Block:
    """Sample, simulate and render block ``b`` of ``job`` (``env_scms``: one SCM per environment)."""
    start = b * job.block_size
    count = min(job.block_size, job.total - start)
    rng = block_rng(job.seed, b)
    environment = None
    if job.environments is not None:
        env_scms = env_scms if env_scms is not None else job.environment_scms(scm)
        s, intervened, c, environment = _sample_environments(job, env_scms or [], start, count, rng)
    else:
        s, intervened, c = _sample(job, scm, count, rng)
    images = scene.render(s.as_dict(), job.size)  # (count, H, W, 3)
    cf = None
    if c is not None:
        cf = (scene.render(c.as_dict(), job.size), c.values.astype(np.float32), c.noise.astype(np.float32))
    return Block(b, start, images, s.values.astype(np.float32), s.noise.astype(np.float32), cf,
                 intervened, environment)


def mix_interventions(scm: SCM, s: Samples, rng: np.random.Generator, fraction: float,
                      clip: bool) -> tuple[Samples, np.ndarray]:
    """Turn a ``fraction`` of the samples into single-variable interventional samples.

    Each chosen sample gets one target variable (uniformly among the variables not already fixed
    by the SCM's own intervention) set to that variable's value in another random sample of the
    block: do(X_i = v) with v drawn from X_i's marginal, independent of the unit. A unit's
    interventional sample is its counterfactual (same exogenous noise), so descendants are
    recomputed from the recorded noise. Returns the new samples and the (n, V) uint8 target mask.
    """
    n, names = len(s), scm.names
    free = [i for i, name in enumerate(names) if name not in scm.intervention]
    if not free:  # an environment that fixes every variable: nothing left to mix
        return s, np.zeros((n, len(names)), dtype=np.uint8)
    chosen = rng.random(n) < fraction
    target = np.asarray(free)[rng.integers(0, len(free), n)]
    donor = rng.permutation(n)
    values = s.values.copy()
    mask = np.zeros((n, len(names)), dtype=np.uint8)
    for i in free:
        rows = np.flatnonzero(chosen & (target == i))
        if len(rows) == 0:
            continue
        sub = Samples(names, s.values[rows], s.noise[rows])
        cf = scm.counterfactual_columns(sub, {names[i]: s.values[donor[rows], i]}, clip=clip)
        values[rows] = cf.values
        mask[rows, i] = 1
    return Samples(names, values, s.noise), mask


_built: dict[str, tuple[Scene, SCM, list[SCM] | None]] = {}  # per process: the last job built
_build_lock = threading.Lock()


def run_block(job: Job, b: int, rows: int, compression: str) -> Block:
    """Make and encode block ``b`` of ``job``: the task an executor (e.g. a Dask worker) runs.

    The scene and SCMs are built once per process and job. Blocks of one process run one at a
    time (renderer buffers and physics worlds are per process, not per thread), so a Dask worker
    gets its parallelism from processes (``--nworkers``), not threads.
    """
    key = json.dumps(asdict(job), sort_keys=True)
    with _build_lock:
        if key not in _built:
            _built.clear()
            scene, scm = job.build()
            _built[key] = (scene, scm, job.environment_scms(scm))
        scene, scm, envs = _built[key]
        return encode_block(make_block(job, scene, scm, b, envs), rows, compression)


__all__ = ["BLOCK_SIZE", "Block", "Job", "block_rng", "encode_block", "make_block",
           "mix_interventions", "run_block"]
