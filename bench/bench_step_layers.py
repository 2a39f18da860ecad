"""Where a training step's convolution time goes: oneDNN's own per-primitive timings.

Run: PYTHONPATH=. .venv/bin/python bench/bench_step_layers.py RUN_DIR [--data FILE] [--steps 11]

Loads a finished run's weights (a trained decoder's logits are what the real steps see), builds
the run's :class:`causalvae.train.Trainer` on its data file, and times ``--steps`` training
steps after 3 warm-ups; a child process does this with ``ONEDNN_VERBOSE=1`` so that oneDNN logs
each primitive it executes with its implementation, direction and milliseconds. Prints the
median step time and one row per convolution primitive (milliseconds per step, GFLOP/s from its
shape), most expensive first: which layer and which direction (forward, backward data,
backward weights) a speed-up would have to come from. The verbose log itself costs a little.

A second table times each SiLU of the model on the activation and gradient it saw in that step
(captured with hooks) against a random tensor of the same shape and layout: forward and
backward, median of 15 after 3 warm-ups, and the activation's range. SiLU's exp(-x) leaves the
fast path of the vectorised kernel when |x| exceeds ~85 (overflow, or an underflow into
subnormals), which a trained decoder's pre-activations do.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _timing import median_ms

SHAPE = re.compile(r"mb(\d+)_ic(\d+)oc(\d+)_ih(\d+)oh(\d+)kh(\d+)")


def child(run_dir: str, data: str | None, steps: int) -> None:
    from causalvae.checkpoint import load_run, load_weights
    from causalvae.evaluate import resolve_data
    from causalvae.train import Trainer
    from causalvae.trainingdata import training_split

    run = load_run(run_dir)
    path = resolve_data(Path(run_dir), data)
    trainer = Trainer(run.config, training_split(run.config, path, None, None), None)
    load_weights(trainer.model, run.state["model"], run_dir, run.config.train.model)
    trainer.model.train()
    trainer.sampler.set_epoch(1, 0)
    batches = [b for _, b in zip(range(steps + 3), trainer.loader, strict=False)]
    times = []
    for i, batch in enumerate(batches):
        t0 = time.perf_counter()
        trainer._train_step(batch)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    silu_table(trainer, batches[0])  # one more step: the total below counts it
    print(f"STEP_MS {1e3 * statistics.median(times):.1f} {len(times)} {len(batches) + 1}",
          flush=True)


def silu_table(trainer: object, batch: tuple) -> None:
    """Each SiLU on the activation and gradient of one real step against random ones."""
    import torch

    saved: dict[str, tuple] = {}

    def hook(name: str) -> Callable:
        def grab(_mod: object, inputs: tuple, out: torch.Tensor) -> None:
            x = inputs[0].detach().clone(memory_format=torch.preserve_format)
            out.register_hook(lambda g: saved.__setitem__(
                name, (x, g.detach().clone(memory_format=torch.preserve_format))))
        return grab

    mods = [(n, m) for n, m in trainer.model.named_modules() if isinstance(m, torch.nn.SiLU)]
    handles = [m.register_forward_hook(hook(n)) for n, m in mods]
    trainer._train_step(batch)
    for h in handles:
        h.remove()
    print("| SiLU | shape | activation range | fwd ms, real / random | bwd ms, real / random |")
    print("|---|---|---|---|---|")
    silu_bwd = torch.ops.aten.silu_backward
    for name, _ in mods:
        x, g = saved[name]
        xr, gr = torch.randn_like(x), torch.randn_like(g) * g.std()
        print(f"| {name} | {tuple(x.shape)} | {x.min().item():.0f} .. {x.max().item():.0f} | "
              f"{median_ms(lambda x=x: torch.nn.functional.silu(x)):.2f} / "
              f"{median_ms(lambda x=xr: torch.nn.functional.silu(x)):.2f} | "
              f"{median_ms(lambda g=g, x=x: silu_bwd(g, x)):.2f} / "
              f"{median_ms(lambda g=gr, x=xr: silu_bwd(g, x)):.2f} |", flush=True)


def gflops(shape: str, kind: str) -> float:
    """GFLOP of one primitive call from oneDNN's shape string (a 2-D square convolution)."""
    m = SHAPE.search(shape)
    if m is None:
        return float("nan")
    mb, ic, oc, ih, oh, k = map(int, m.groups())
    pixels = ih if kind == "deconvolution" else oh  # the small side: one MAC per tap there
    return 2 * mb * ic * oc * k * k * pixels * pixels / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--data", default=None)
    ap.add_argument("--steps", type=int, default=11)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    if not (Path(args.run_dir) / "checkpoint.pt").is_file():
        ap.error(f"{args.run_dir} is not a run directory with a checkpoint.pt (pass a finished "
                 "run, e.g. OUT/runs/causalvae/seed100 of bench_seed.py)")
    if args.child:
        child(args.run_dir, args.data, args.steps)
        return
    cmd = [sys.executable, __file__, args.run_dir, "--steps", str(args.steps), "--child"]
    if args.data:
        cmd += ["--data", args.data]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "ONEDNN_VERBOSE": "1"})
    if proc.returncode:  # the last line names the error (a missing data file, ...)
        lines = proc.stderr.strip().splitlines()
        sys.exit(f"the timed run failed: {lines[-1] if lines else proc.returncode}")
    lines = proc.stdout.splitlines()
    silu_rows = [line for line in lines if line.startswith("| ") or line.startswith("|---")]
    step = next(line.split() for line in lines if line.startswith("STEP_MS"))
    calls = collections.defaultdict(list)
    for line in lines:
        f = line.split(",")
        if ",exec," in line and f[5] in ("convolution", "deconvolution"):
            calls[(f[5], f[7], f[6], f[-2])].append(float(f[-1]))
    n_steps = int(step[3])  # every step the child ran (warm-ups, the SiLU capture) logs its own
    print(f"median step {step[1]} ms over {step[2]} steps (oneDNN verbose on)")
    print("| ms / step | GFLOP/s | primitive | direction | implementation | shape |")
    print("|---:|---:|---|---|---|---|")
    rows = sorted(((sum(v) / n_steps, k, statistics.median(v)) for k, v in calls.items()),
                  reverse=True)
    for ms, (kind, prop, impl, shape), med in rows:
        rate = gflops(shape, kind) / (med / 1e3)
        print(f"| {ms:.2f} | {rate:.0f} | {kind} | {prop} | {impl} | {shape} |")
    print(f"| {sum(r[0] for r in rows):.1f} | | all convolutions | | | |")
    print()
    print("\n".join(silu_rows))


if __name__ == "__main__":
    main()
