"""The temporal generation driver: sequences of T frames to an HDF5 file, byte-reproducibly.

The still driver (:mod:`causalgen.generate`) for the time axis. Sequences are made in blocks of
``sequences_per_block(T)`` whole sequences; block ``b`` draws from an RNG seeded with
``(seed, b)`` and nothing else, so a file's bytes do not depend on the number of workers or
shards. A worker samples a block's sequences step by step (:mod:`causalgen.scm.temporal`),
then renders and compresses them one chunk-window of frames at a time, in groups of at most
:data:`FRAMES_IN_MEMORY` raw frames, so memory stays flat in N and in T; the parent writes the
compressed chunks in order with at most ``2 * workers`` blocks in flight. The split is per
sequence (a sequence is all train or all test).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from causalgen import scenes
from causalgen.blocks import block_rng
from causalgen.errors import SpecError
from causalgen.generate import Progress, _context, shard_range
from causalgen.io import schema as S
from causalgen.io.temporal import EncodedFrames, TemporalWriter, encode_frames, frames_per_chunk
from causalgen.io.writer import check_output_path
from causalgen.scenes.base import Scene
from causalgen.scm.spec import SCM, intervention_to_json
from causalgen.scm.temporal import (
    Sequences,
    check_rate,
    check_steps,
    counterfactual_sequences,
    intervention_targets,
    sample_sequences,
)
from causalgen.split import SplitPlan
from causalgen.workers import die_with_parent

log = logging.getLogger(__name__)

FRAMES_PER_BLOCK = 8192  # with MAX_SEQUENCES_PER_BLOCK and T, fixes a temporal file's bytes
MAX_SEQUENCES_PER_BLOCK = 64
FRAMES_IN_MEMORY = 256  # raw frames a worker holds at once while rendering
DEFAULT_STEPS = 40  # --steps of a temporal scene that declares no default_steps


def sequences_per_block(steps: int) -> int:
    """Whole sequences per RNG block: 64 up to T = 128, then fewer (one at T >= 8192), so a
    block's compressed frames stay bounded while each step still runs over many sequences."""
    return max(1, min(MAX_SEQUENCES_PER_BLOCK, FRAMES_PER_BLOCK // steps))


@dataclass(frozen=True)
class TemporalJob:
    """Everything a worker needs, as plain data."""

    scene_id: str
    scene_kwargs: dict[str, Any]
    scm_json: str  # the observational SCM
    intervention: dict[str, Any]
    counterfactual: dict[str, Any] | None
    counterfactual_from: int
    total: int  # sequences in the whole dataset
    steps: int
    seed: int
    size: int
    clip: bool
    rate: float
    targets: tuple[str, ...] | None
    compression: str
    block_size: int

    def build(self) -> tuple[Scene, SCM]:
        scene = scenes.make(self.scene_id, **self.scene_kwargs)
        scm = scene.scm_from_json(self.scm_json)
        return scene, (scm.do(**self.intervention) if self.intervention else scm)


@dataclass
class SequenceBlock:
    """Sequences [start, start + len(labels)) of the dataset, images already compressed."""

    index: int
    start: int
    images: EncodedFrames
    labels: np.ndarray  # (b, T, V) float32
    noise: np.ndarray  # (b, T, V) float32
    init: np.ndarray  # (b, V) float32
    intervened: np.ndarray | None  # (b, T, V) uint8 with an intervention rate > 0
    counterfactual: tuple[EncodedFrames, np.ndarray, np.ndarray] | None


def render_sequences(scene: Scene, seqs: Sequences, size: int, compression: str) -> EncodedFrames:
    """Render and compress every frame of ``seqs``, one chunk-window and a few sequences at a
    time (at most FRAMES_IN_MEMORY raw frames; a frame is rendered from its own values only)."""
    n, steps = len(seqs), seqs.steps
    f = frames_per_chunk(steps)
    group = max(1, FRAMES_IN_MEMORY // f)
    out: EncodedFrames = []
    for t0 in range(0, steps, f):
        w = min(f, steps - t0)
        for r0 in range(0, n, group):
            r1 = min(n, r0 + group)
            values = {name: seqs.values[r0:r1, t0:t0 + w, i].reshape(-1)
                      for i, name in enumerate(seqs.names)}
            frames = scene.render(values, size).reshape(r1 - r0, w, size, size, 3)
            out += [(r0 + row, t, mask, data)
                    for row, t, mask, data in encode_frames(frames, t0, f, compression)]
    return out


def make_sequence_block(job: TemporalJob, scene: Scene, scm: SCM, b: int) -> SequenceBlock:
    """Sample, simulate, render and compress block ``b`` of ``job``."""
    start = b * job.block_size
    count = min(job.block_size, job.total - start)
    rng = block_rng(job.seed, b)
    seqs = sample_sequences(scm, count, job.steps, rng, clip=job.clip, rate=job.rate,
                            targets=job.targets)
    images = render_sequences(scene, seqs, job.size, job.compression)
    cf = None
    if job.counterfactual:
        c = counterfactual_sequences(scm, seqs, job.counterfactual, job.counterfactual_from, rng,
                                     clip=job.clip)
        cf = (render_sequences(scene, c, job.size, job.compression),
              c.values.astype(np.float32), c.noise.astype(np.float32))
    return SequenceBlock(b, start, images, seqs.values.astype(np.float32),
                         seqs.noise.astype(np.float32), seqs.init.astype(np.float32),
                         seqs.intervened if job.rate > 0 else None, cf)


_worker: dict[str, Any] = {}


def _init_worker(job: TemporalJob, worker: bool = False) -> None:
    if worker:
        die_with_parent()  # a `kill -9` of the generation must not leave workers running
    _worker["job"] = job
    _worker["scene"], _worker["scm"] = job.build()


def _work(b: int) -> SequenceBlock:
    return make_sequence_block(_worker["job"], _worker["scene"], _worker["scm"], b)


def _blocks(job: TemporalJob, block_ids: range, workers: int) -> Iterator[SequenceBlock]:
    if workers <= 1 or len(block_ids) <= 1:
        _init_worker(job)
        for b in block_ids:
            yield _work(b)
        return
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker,
                             initargs=(job, True)) as pool:
        pending: deque[Future[SequenceBlock]] = deque()
        try:
            for b in block_ids:
                pending.append(pool.submit(_work, b))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()


def generate_sequences(
    scene: str,
    out: str | os.PathLike,
    *,
    n: int = 1000,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    size: int | None = None,
    workers: int | None = None,
    scm: SCM | None = None,
    scene_kwargs: Mapping[str, Any] | None = None,
    do: Mapping[str, Any] | None = None,
    counterfactual: Mapping[str, Any] | None = None,
    counterfactual_from: int = 0,
    intervention_rate: float = 0.0,
    intervention_targets_: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    compression: str = S.DEFAULT_COMPRESSION,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    clip: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Generate ``n`` sequences of ``steps`` frames of ``scene`` into ``out``.

    ``intervention_rate``: the probability that a sequence gets a random do() at a step (on one
    of ``intervention_targets_``, default every variable ``do`` leaves free); ``counterfactual``
    also writes each sequence under that intervention from step ``counterfactual_from`` on.
    ``progress`` is called with the number of sequences written. Returns the path written.
    """
    if n < 1:
        raise SpecError(f"--n must be at least 1 (sequences), got {n}.")
    steps, rate = check_steps(steps), check_rate(intervention_rate)
    if not 0.0 <= test_fraction < 1.0:
        raise SpecError(f"--test-fraction must be in [0, 1), got {test_fraction}.")
    cf = dict(counterfactual or {})
    if cf and not 0 <= counterfactual_from < steps:
        raise SpecError(f"--counterfactual-from must be a step in [0, {steps - 1}], got "
                        f"{counterfactual_from}.")
    out = check_output_path(out, overwrite)
    kwargs = dict(scene_kwargs or {})
    sc = scenes.make(scene, **kwargs)
    size = sc.default_size if size is None else int(size)
    sc.check_size(size)
    base = (scm or sc.default_scm()).observational()
    inter = dict(scm.intervention) if scm is not None else {}
    inter.update(do or {})
    sampled = base.do(**inter)
    targets = tuple(intervention_targets_) if intervention_targets_ else None
    if rate > 0 or targets:
        intervention_targets(sampled, targets)  # names checked before any file exists
    if cf:
        base.do(**cf)
    bs = sequences_per_block(steps)
    job = TemporalJob(scene, kwargs, base.to_json(), intervention_to_json(sampled.intervention),
                      intervention_to_json(base.do(**cf).intervention) if cf else None,
                      int(counterfactual_from), n, steps, int(seed), size, bool(clip), rate,
                      targets, compression, bs)
    scene_obj, scm_obj = job.build()  # fail fast, before any file exists: a short run through
    short = min(steps, max(8, counterfactual_from + 1))
    make_sequence_block(TemporalJob(**{**asdict(job), "total": min(2, n), "steps": short,
                                       "counterfactual_from": min(counterfactual_from, short - 1)}),
                        scene_obj, scm_obj, 0)
    attrs: dict[str, Any] = {
        S.ATTR_SCENE: sc.id,
        S.ATTR_SCENE_ENTRY: scene,
        S.ATTR_SCENE_KWARGS: json.dumps(kwargs, sort_keys=True),
        S.ATTR_ADJACENCY: base.adjacency(),
        S.ATTR_LAGGED_ADJACENCY: base.lagged_adjacency(),
        S.ATTR_SCM: base.to_json(),
        S.ATTR_INTERVENTION: json.dumps(job.intervention, sort_keys=True),
        S.ATTR_SEED: int(seed),
        S.ATTR_BLOCK_SIZE: bs,
        S.ATTR_IMAGE_SIZE: size,
        S.ATTR_TEST_FRACTION: float(test_fraction),
        S.ATTR_CLIP: bool(clip),
        S.ATTR_TOTAL: n,
    }
    if rate > 0:
        attrs[S.ATTR_INTERVENTION_RATE] = json.dumps(
            {"rate": rate, "targets": list(targets) if targets else "every free variable",
             "values": "the target's value in another random sequence of the block at the "
                       "same step"})
    block_ids, start, stop = range(0, math.ceil(n / bs)), 0, n
    if shard is not None:
        k, count = shard
        block_ids, start, stop = shard_range(n, bs, k, count)
        attrs[S.ATTR_SHARD] = json.dumps({"index": k, "count": count, "start": start, "stop": stop})
        if stop <= start:
            raise SpecError(f"shard {k}/{count} of {n} sequences would be empty; use fewer shards.")
    split = SplitPlan(seed, n, test_fraction, bs)  # drawn per block: memory flat in N
    workers = min(os.cpu_count() or 1, 8) if workers is None else max(1, int(workers))
    t0 = time.perf_counter()
    with TemporalWriter(out, steps=steps, n=stop - start, image_shape=(size, size, 3),
                        variables=sc.variables, attrs=attrs, compression=compression,
                        counterfactual=job.counterfactual, intervened=rate > 0,
                        overwrite=overwrite) as writer:
        if cf:
            writer.file[S.COUNTERFACTUAL].attrs[S.ATTR_COUNTERFACTUAL_FROM] = int(counterfactual_from)
        for blk in _blocks(job, block_ids, workers):
            lo = blk.start - start
            writer.write_sequences(lo, blk.images, blk.labels, blk.noise,
                                   split.rows(blk.start, len(blk.labels)), blk.init,
                                   blk.counterfactual,
                                   blk.intervened)
            if progress is not None:
                progress(len(blk.labels))
    dt = time.perf_counter() - t0
    frames = (stop - start) * steps
    log.info("%d sequences x %d steps in %.2f s (%.0f frames/s) -> %s", stop - start, steps, dt,
             frames / dt, out)
    return out


__all__ = ["DEFAULT_STEPS", "FRAMES_PER_BLOCK", "SequenceBlock", "TemporalJob",
           "generate_sequences", "make_sequence_block", "render_sequences", "sequences_per_block"]
