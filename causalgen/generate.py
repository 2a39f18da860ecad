"""The generation driver: SCM samples to images to an HDF5 file, in parallel, byte-reproducibly.

Samples are made in blocks of :data:`BLOCK_SIZE`; block ``b`` draws from an RNG seeded with
``(seed, b)`` and nothing else, so a dataset's bytes do not depend on the number of workers or
shards. Worker processes sample, apply physics and render whole blocks; the parent writes them in
order as they arrive, with at most ``2 * workers`` blocks in flight, so memory stays flat in N.
The train/test split is a random subset of exactly ``round(test_fraction * N)`` samples drawn
from its own stream of the seed, block by block (:mod:`causalgen.split`).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from causalgen import scenes
from causalgen.blocks import (
    BLOCK_SIZE,
    Block,
    Job,
    encode_block,
    make_block,
    mix_interventions,
    run_block,
)
from causalgen.errors import SpecError
from causalgen.executors import dask_executor
from causalgen.io import schema as S
from causalgen.io.writer import DatasetWriter, check_output_path, chunk_rows
from causalgen.scm.environments import Environment, parse_environments, parse_interventions
from causalgen.scm.environments import environment_sizes as environment_sizes_of
from causalgen.scm.interventions import Do, Intervention, apply_all
from causalgen.scm.spec import SCM, intervention_to_json
from causalgen.split import MAX_SAMPLES, SplitPlan, split_membership
from causalgen.workers import die_with_parent

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


# -- worker processes --------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(job: Job, rows: int, compression: str, worker: bool = False) -> None:
    if worker:
        die_with_parent()  # a `kill -9` of the generation must not leave workers running
    _worker["job"], _worker["rows"], _worker["compression"] = job, rows, compression
    _worker["scene"], _worker["scm"] = job.build()
    _worker["envs"] = job.environment_scms(_worker["scm"])


def _work(b: int) -> Block:
    w = _worker
    return encode_block(make_block(w["job"], w["scene"], w["scm"], b, w["envs"]), w["rows"],
                        w["compression"])


def _context() -> mp.context.BaseContext:
    # fork starts workers in milliseconds; this module imports nothing that fork would break.
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _in_order(submit: Callable[[int], Future[Block]], block_ids: range, in_flight: int):
    """Yield the blocks in order, with at most ``in_flight`` submitted and not yet written."""
    pending: deque[Future[Block]] = deque()
    try:
        for b in block_ids:
            pending.append(submit(b))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()


def _blocks(job: Job, block_ids: range, workers: int, rows: int, compression: str,
            executor: Executor | None = None):
    """Yield encoded blocks in order: from ``executor``; else in this process when workers <= 1,
    else from a process pool."""
    if executor is not None:
        yield from _in_order(lambda b: executor.submit(run_block, job, b, rows, compression),
                             block_ids, 2 * workers)
        return
    if workers <= 1 or len(block_ids) <= 1:
        _init_worker(job, rows, compression)
        for b in block_ids:
            yield _work(b)
        return
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker,
                             initargs=(job, rows, compression, True)) as pool:
        yield from _in_order(lambda b: pool.submit(_work, b), block_ids, 2 * workers)


# -- the public entry point --------------------------------------------------------------------
def _environments(sampled: SCM, environments: str | Sequence[Environment] | None,
                  interventions: str | Sequence[Intervention] | None) -> tuple[Environment, ...] | None:
    """The file's environments, checked against ``sampled``; None for a single plain regime."""
    if environments is not None and interventions:
        raise SpecError("give either --environments or --intervene (one environment), not both.")
    if interventions:
        ivs = parse_interventions(interventions) if isinstance(interventions, str) else tuple(interventions)
        envs: tuple[Environment, ...] = (Environment(0, ivs),)
    elif environments is None:
        return None
    elif isinstance(environments, str):
        envs = parse_environments(environments, sampled)
    else:
        envs = tuple(Environment(i, tuple(e.interventions)) for i, e in enumerate(environments))
    for e in envs:
        e.scm(sampled)  # names the environment, the variable, the cycle
    return envs


def _counterfactual(counterfactual: Mapping[str, Any] | str | Sequence[Intervention] | None
                    ) -> tuple[dict[str, Any], tuple[Intervention, ...]]:
    """(do dict, soft interventions): plain do()s keep the {VAR: VALUE} form and its bytes."""
    if counterfactual is None or isinstance(counterfactual, Mapping):
        return dict(counterfactual or {}), ()
    ivs = parse_interventions(counterfactual) if isinstance(counterfactual, str) else tuple(counterfactual)
    if not ivs:
        raise SpecError("--counterfactual needs at least one intervention, e.g. x=1.0 or 'shift(x, 1)'.")
    if all(isinstance(iv, Do) for iv in ivs) and len({iv.variable for iv in ivs}) == len(ivs):
        return {iv.variable: iv.value for iv in ivs}, ()  # type: ignore[attr-defined]
    return {}, ivs


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
    environments: str | Sequence[Environment] | None = None,
    environment_sizes: Sequence[int] | str | None = None,
    interventions: str | Sequence[Intervention] | None = None,
    hide_targets: bool = False,
    executor: Executor | None = None,
    dask_scheduler: str | None = None,
) -> Path:
    """Generate ``n`` samples of ``scene`` (or of ``scm``, a spec over the scene) into ``out``.

    ``do`` intervenes on the sampled SCM (numbers or distribution texts); ``counterfactual``
    also writes the same samples under that intervention to the ``counterfactual/`` group.
    ``shard=(k, count)`` writes only the k-th of ``count`` contiguous parts (merge them with
    :func:`causalgen.io.merge.merge_shards`). Returns the path written.

    ``environments`` (an ``--environments`` text or :class:`Environment` s) makes one file of
    several regimes: ``environment_sizes`` samples each (default equal shares), rows in
    contiguous runs per environment, each sample's targets in ``intervened``. ``interventions``
    (text such as ``"shift(y, 2) & do(x=1)"``) applies soft or hard interventions to the whole
    file (one environment). ``counterfactual`` is a {VAR: VALUE} mapping or intervention text.
    ``hide_targets`` moves the targets into the ``hidden/`` group. ``executor`` runs the blocks
    on any ``concurrent.futures.Executor``; ``dask_scheduler`` connects to a Dask cluster and
    runs them there. The bytes are the same whichever way the blocks are run.
    """
    if n < 1:
        raise SpecError(f"--n must be at least 1, got {n}.")
    if n > MAX_SAMPLES:
        raise SpecError(f"--n {n} is above the limit of {MAX_SAMPLES} samples per dataset; "
                        "generate several datasets with different seeds.")
    if not 0.0 <= intervention_mix <= 1.0:
        raise SpecError(f"--intervention-mix must be in [0, 1], got {intervention_mix}.")
    if intervention_mix and counterfactual:
        raise SpecError("--intervention-mix and --counterfactual cannot be combined: a mixed "
                        "file's samples are already interventional; generate them separately.")
    if not 0.0 <= test_fraction < 1.0:
        raise SpecError(f"--test-fraction must be in [0, 1), got {test_fraction}.")
    out = check_output_path(out, overwrite)
    kwargs = dict(scene_kwargs or {})
    scene = scenes.resolve(scene)  # files record the versioned id, never "the latest"
    sc = scenes.make(scene, **kwargs)
    size = sc.default_size if size is None else int(size)
    sc.check_size(size)
    base = (scm or sc.default_scm()).observational()
    inter = dict(scm.intervention) if scm is not None else {}
    inter.update(do or {})
    sampled = base.do(**inter)  # validates names and values
    if base.is_dynamic:
        raise SpecError(f"{scene}: its SCM reads the previous step (x[t-1]); generate sequences "
                        "(causalgen.generate_temporal, or --steps T on the command line).")
    if intervention_mix and all(name in sampled.intervention for name in sampled.names):
        raise SpecError("--intervention-mix needs at least one variable that --do does not fix.")
    envs = _environments(sampled, environments, interventions)
    if environment_sizes is not None and envs is None:
        raise SpecError("--environment-sizes needs --environments.")
    sizes = environment_sizes_of(n, len(envs), environment_sizes) if envs else None
    if hide_targets and envs is None and not intervention_mix:
        raise SpecError("--hide-targets needs per-sample targets to hide: use it with "
                        "--environments or --intervention-mix.")
    cf, cf_ivs = _counterfactual(counterfactual)
    if cf:
        base.do(**cf)
    for m in [sampled] if envs is None else [e.scm(sampled) for e in envs]:
        if cf_ivs:
            apply_all(m, cf_ivs)  # a soft counterfactual must make sense in every regime
    job = Job(scene, kwargs, base.to_json(), intervention_to_json(sampled.intervention),
              intervention_to_json(base.do(**cf).intervention) if cf else None,
              n, int(seed), size, bool(clip), intervention_mix=float(intervention_mix),
              environments=[[iv.to_dict() for iv in e.interventions] for e in envs] if envs else None,
              environment_sizes=sizes,
              counterfactual_interventions=[iv.to_dict() for iv in cf_ivs] if cf_ivs else None)
    # Fail fast, before any file exists: one small block through the whole pipeline (with
    # environments, a small block of each).
    scene_obj, scm_obj = job.build()
    env_scms = job.environment_scms(scm_obj)
    for e in range(len(envs) if envs else 1):
        small = [min(8, k) if i == e else 0 for i, k in enumerate(sizes)] if sizes else None
        make_block(Job(**{**asdict(job), "total": sum(small) if small else min(8, n),
                          "environment_sizes": small}),
                   scene_obj, scm_obj, 0, env_scms)

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
    hidden_records = None
    if envs is not None:
        records = [{**e.record(sampled), "size": k, "start": a, "stop": a + k}
                   for e, k, a in zip(envs, sizes or [], np.cumsum([0, *(sizes or [])]).tolist(), strict=False)]
        if hide_targets:
            hidden_records = records
            records = [{key: r[key] for key in ("index", "size", "start", "stop")} for r in records]
        attrs[S.ATTR_ENVIRONMENTS] = json.dumps(records, sort_keys=True)
        size_ = len(json.dumps(hidden_records or records))
        if size_ > S.MAX_ATTR_BYTES:  # HDF5's compact attributes stop at 64 KiB
            raise SpecError(f"the records of {len(envs)} environments take {size_:,} bytes, over "
                            f"the {S.MAX_ATTR_BYTES:,} an HDF5 attribute holds; use fewer "
                            "environments (or shorter mechanisms), or several files.")
    if cf_ivs:
        cf_attr: dict[str, Any] | None = {"interventions": job.counterfactual_interventions,
                                          "text": " & ".join(iv.text() for iv in cf_ivs)}
    else:
        cf_attr = job.counterfactual
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
    split = SplitPlan(seed, n, test_fraction, BLOCK_SIZE)  # drawn per block: memory flat in N
    workers = min(os.cpu_count() or 1, 8) if workers is None else max(1, int(workers))
    with ExitStack() as stack:
        if dask_scheduler is not None:  # connect before any file exists: a bad address writes nothing
            executor, workers = stack.enter_context(dask_executor(dask_scheduler))
        t0 = time.perf_counter()
        writer = stack.enter_context(DatasetWriter(
            out, n=stop - start, image_shape=(size, size, 3), variables=sc.variables, attrs=attrs,
            compression=compression, counterfactual=cf_attr,
            intervened=bool(intervention_mix) or envs is not None, overwrite=overwrite,
            environment=envs is not None, hide_targets=hide_targets))
        if hidden_records is not None:
            writer.file.require_group(S.HIDDEN).attrs[S.ATTR_ENVIRONMENTS] = json.dumps(
                hidden_records, sort_keys=True)
        for blk in _blocks(job, block_ids, workers, chunk_rows(stop - start), compression, executor):
            lo = blk.start - start
            writer.write(lo, blk.images, blk.labels, blk.noise, split.rows(blk.start, len(blk.labels)),
                         blk.counterfactual, blk.intervened, blk.environment)
            if progress is not None:
                progress(len(blk.labels))
    dt = time.perf_counter() - t0
    log.info("%d images in %.2f s (%.0f images/s) -> %s", stop - start, dt, (stop - start) / dt, out)
    return out


__all__ = [
    "BLOCK_SIZE",
    "Block",
    "Job",
    "encode_block",
    "generate",
    "make_block",
    "mix_interventions",
    "parse_shard",
    "run_block",
    "shard_range",
    "split_membership",
]
