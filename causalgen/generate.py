"""The generation driver: SCM samples to images to an HDF5 file, in parallel, byte-reproducibly.

Samples are made in blocks of :data:`BLOCK_SIZE`; block ``b`` draws from an RNG seeded with
``(seed, b)`` and nothing else, so a dataset's bytes do not depend on the number of workers or
shards. Worker processes sample, apply physics and render whole blocks; the parent writes them in
order as they arrive, with at most ``2 * workers`` blocks in flight, so memory stays flat in N.
The train/test split is a random subset of exactly ``round(test_fraction * N)`` samples drawn
from its own stream of the seed.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from causalgen import scenes
from causalgen.errors import SpecError
from causalgen.io import schema as S
from causalgen.io.writer import (
    DatasetWriter,
    EncodedChunks,
    check_output_path,
    chunk_rows,
    encode_chunks,
)
from causalgen.scenes.base import Scene
from causalgen.scm.spec import SCM, Samples, intervention_to_json

log = logging.getLogger(__name__)

BLOCK_SIZE = 256  # part of what fixes a dataset's bytes: changing it changes every dataset
assert BLOCK_SIZE % S.IMAGES_PER_CHUNK == 0, "blocks must start on chunk boundaries"
SPLIT_STREAM = 2**32 - 1  # the split's RNG stream; blocks use streams 0, 1, 2, ...
Progress = Callable[[int], None]


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

    def build(self) -> tuple[Scene, SCM]:
        scene = scenes.make(self.scene_id, **self.scene_kwargs)
        scm = scene.scm_from_json(self.scm_json)
        return scene, (scm.do(**self.intervention) if self.intervention else scm)


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
    intervened: np.ndarray | None = None  # (b, V) uint8 with --intervention-mix


def encode_block(blk: Block, rows: int, compression: str) -> Block:
    """Compress the block's images into HDF5 chunks of ``rows`` images."""
    blk.images = encode_chunks(blk.images, rows, compression)  # type: ignore[arg-type]
    if blk.counterfactual is not None:
        im, lab, noi = blk.counterfactual
        blk.counterfactual = (encode_chunks(im, rows, compression), lab, noi)  # type: ignore[arg-type]
    return blk


def block_rng(seed: int, block: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(block)])


def make_block(job: Job, scene: Scene, scm: SCM, b: int) -> Block:
    """Sample, simulate and render block ``b`` of ``job``."""
    start = b * job.block_size
    count = min(job.block_size, job.total - start)
    rng = block_rng(job.seed, b)
    s = scm.sample(count, rng, clip=job.clip)
    intervened = None
    if job.intervention_mix > 0:
        s, intervened = mix_interventions(scm, s, rng, job.intervention_mix, job.clip)
    images = scene.render(s.as_dict(), job.size)  # (count, H, W, 3)
    cf = None
    if job.counterfactual:
        c = scm.counterfactual(s, rng, clip=job.clip, **job.counterfactual)
        cf = (scene.render(c.as_dict(), job.size), c.values.astype(np.float32), c.noise.astype(np.float32))
    return Block(b, start, images, s.values.astype(np.float32), s.noise.astype(np.float32), cf,
                 intervened)


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


def split_membership(seed: int, total: int, test_fraction: float) -> np.ndarray:
    """uint8 (total,): 1 for the round(test_fraction * total) test samples, chosen at random."""
    split = np.zeros(total, dtype=np.uint8)
    n_test = round(test_fraction * total)
    if n_test:
        rng = block_rng(seed, SPLIT_STREAM)
        split[rng.choice(total, n_test, replace=False)] = S.SPLIT_TEST
    return split


# -- worker processes --------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(job: Job, rows: int, compression: str) -> None:
    _worker["job"], _worker["rows"], _worker["compression"] = job, rows, compression
    _worker["scene"], _worker["scm"] = job.build()


def _work(b: int) -> Block:
    w = _worker
    return encode_block(make_block(w["job"], w["scene"], w["scm"], b), w["rows"], w["compression"])


def _context() -> mp.context.BaseContext:
    # fork starts workers in milliseconds; this module imports nothing that fork would break.
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _blocks(job: Job, block_ids: range, workers: int, rows: int, compression: str):
    """Yield encoded blocks in order; in this process when workers <= 1, else from a pool."""
    if workers <= 1 or len(block_ids) <= 1:
        _init_worker(job, rows, compression)
        for b in block_ids:
            yield _work(b)
        return
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker,
                             initargs=(job, rows, compression)) as pool:
        pending: deque[Future[Block]] = deque()
        ids = iter(block_ids)
        try:
            for b in ids:
                pending.append(pool.submit(_work, b))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


# -- the public entry point --------------------------------------------------------------------
def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' (1-based K) to (K, N)."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise SpecError(f"--shard takes K/N such as 1/4 (shard 1 of 4), got {text!r}.") from None
    if not (n >= 1 and 1 <= k <= n):
        raise SpecError(f"--shard {text}: need 1 <= K <= N, e.g. 1/4 .. 4/4.")
    return k, n


def shard_range(total: int, block_size: int, k: int, count: int) -> tuple[range, int, int]:
    """Blocks of shard k of count (1-based), and its sample range [start, stop)."""
    nb = math.ceil(total / block_size)
    b0, b1 = (k - 1) * nb // count, k * nb // count
    return range(b0, b1), min(b0 * block_size, total), min(b1 * block_size, total)


def generate(
    scene: str,
    out: str | os.PathLike,
    *,
    n: int = 10_000,
    seed: int = 0,
    size: int | None = None,
    workers: int | None = None,
    scm: SCM | None = None,
    scene_kwargs: Mapping[str, Any] | None = None,
    do: Mapping[str, Any] | None = None,
    counterfactual: Mapping[str, Any] | None = None,
    test_fraction: float = 0.2,
    compression: str = S.DEFAULT_COMPRESSION,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    clip: bool = False,
    progress: Progress | None = None,
    intervention_mix: float = 0.0,
) -> Path:
    """Generate ``n`` samples of ``scene`` (or of ``scm``, a spec over the scene) into ``out``.

    ``do`` intervenes on the sampled SCM (numbers or distribution texts); ``counterfactual``
    also writes the same samples under that intervention to the ``counterfactual/`` group.
    ``shard=(k, count)`` writes only the k-th of ``count`` contiguous parts (merge them with
    :func:`causalgen.io.merge.merge_shards`). Returns the path written.
    """
    if n < 1:
        raise SpecError(f"--n must be at least 1, got {n}.")
    if not 0.0 <= intervention_mix <= 1.0:
        raise SpecError(f"--intervention-mix must be in [0, 1], got {intervention_mix}.")
    if intervention_mix and counterfactual:
        raise SpecError("--intervention-mix and --counterfactual cannot be combined: a mixed "
                        "file's samples are already interventional; generate them separately.")
    if not 0.0 <= test_fraction < 1.0:
        raise SpecError(f"--test-fraction must be in [0, 1), got {test_fraction}.")
    out = check_output_path(out, overwrite)
    kwargs = dict(scene_kwargs or {})
    sc = scenes.make(scene, **kwargs)
    size = sc.default_size if size is None else int(size)
    sc.check_size(size)
    base = (scm or sc.default_scm()).observational()
    inter = dict(scm.intervention) if scm is not None else {}
    inter.update(do or {})
    sampled = base.do(**inter)  # validates names and values
    if intervention_mix and all(name in sampled.intervention for name in sampled.names):
        raise SpecError("--intervention-mix needs at least one variable that --do does not fix.")
    cf = dict(counterfactual or {})
    if cf:
        base.do(**cf)
    job = Job(scene, kwargs, base.to_json(), intervention_to_json(sampled.intervention),
              intervention_to_json(base.do(**cf).intervention) if cf else None,
              n, int(seed), size, bool(clip), intervention_mix=float(intervention_mix))
    # Fail fast, before any file exists: one small block through the whole pipeline.
    scene_obj, scm_obj = job.build()
    make_block(Job(**{**asdict(job), "total": min(8, n)}), scene_obj, scm_obj, 0)

    block_ids, start, stop = range(0, math.ceil(n / BLOCK_SIZE)), 0, n
    attrs: dict[str, Any] = {
        S.ATTR_SCENE: sc.id,
        S.ATTR_SCENE_ENTRY: scene,
        S.ATTR_SCENE_KWARGS: json.dumps(kwargs, sort_keys=True),
        S.ATTR_ADJACENCY: base.adjacency(),
        S.ATTR_SCM: base.to_json(),
        S.ATTR_INTERVENTION: json.dumps(job.intervention, sort_keys=True),
        S.ATTR_SEED: int(seed),
        S.ATTR_BLOCK_SIZE: BLOCK_SIZE,
        S.ATTR_IMAGE_SIZE: size,
        S.ATTR_TEST_FRACTION: float(test_fraction),
        S.ATTR_CLIP: bool(clip),
        S.ATTR_TOTAL: n,
    }
    if intervention_mix:
        attrs[S.ATTR_INTERVENTION_MIX] = json.dumps(
            {"fraction": float(intervention_mix), "targets": "one variable, uniformly",
             "values": "the variable's value in another random sample of the block"})
    if shard is not None:
        k, count = shard
        block_ids, start, stop = shard_range(n, BLOCK_SIZE, k, count)
        attrs[S.ATTR_SHARD] = json.dumps({"index": k, "count": count, "start": start, "stop": stop})
        if stop <= start:
            raise SpecError(f"shard {k}/{count} of {n} samples would be empty; use fewer shards.")
    split = split_membership(seed, n, test_fraction)[start:stop]
    workers = min(os.cpu_count() or 1, 8) if workers is None else max(1, int(workers))
    t0 = time.perf_counter()
    with DatasetWriter(out, n=stop - start, image_shape=(size, size, 3), variables=sc.variables,
                       attrs=attrs, compression=compression, counterfactual=job.counterfactual,
                       intervened=bool(intervention_mix), overwrite=overwrite) as writer:
        for blk in _blocks(job, block_ids, workers, chunk_rows(stop - start), compression):
            lo = blk.start - start
            writer.write(lo, blk.images, blk.labels, blk.noise, split[lo:lo + len(blk.labels)],
                         blk.counterfactual, blk.intervened)
            if progress is not None:
                progress(len(blk.labels))
    dt = time.perf_counter() - t0
    log.info("%d images in %.2f s (%.0f images/s) -> %s", stop - start, dt, (stop - start) / dt, out)
    return out


__all__ = ["BLOCK_SIZE", "Block", "Job", "generate", "make_block", "mix_interventions",
           "parse_shard", "shard_range", "split_membership"]
