"""Benchmark: a custom scene of 6 shapes (and a ray-cast shadow) generated at 64 x 64.

Prints the images/s of ``causalgen.generate.generate(...)`` with 2 worker processes, median of 3
runs, for ``data/scenes/sun-ball-panel.toml`` (7 variables, 6 shapes, a directional light and
the ball's shadow), the CLI command that does the same, and the CPU time one process spends
per image sampling and rendering (the per-core cost, unaffected by other load on the machine).

    .venv/bin/python bench/bench_custom.py [--n 20000] [--workers 2] [--size 64] [--spec FILE]

Target (issue 3): >= 5,000 images/s on the project's 2-core machine. Figures go in
BENCHMARKS.md; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from causalgen import scenes
from causalgen.generate import generate
from causalgen.scenes.custom import CustomScene
from causalgen.scenes.files import load_spec

ROOT = Path(__file__).parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "data/scenes/sun-ball-panel.toml")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    loaded = load_spec(args.spec)
    scene = scenes.make(loaded.scene_id, **loaded.scene_kwargs)
    shapes = len(scene.compiled.shapes) if isinstance(scene, CustomScene) else "?"
    print(f"spec: {args.spec} ({scene.id}: {len(loaded.scm.variables)} variables, {shapes} shapes)")

    # Per-core cost: CPU seconds of one process for sampling and rendering blocks of 256.
    rng = np.random.default_rng(0)
    samples = [loaded.scm.sample(256, rng) for _ in range(8)]
    scene.render(samples[0].as_dict(), args.size)  # warm: canvas and fonts
    t = time.process_time()
    for s in samples:
        loaded.scm.sample(256, rng)
        scene.render(s.as_dict(), args.size)
    per_image = (time.process_time() - t) / (8 * 256)
    print(f"one process: {per_image * 1e6:.1f} us CPU per image (sample + render) = "
          f"{1 / per_image:,.0f} images/s per core")

    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"run{run}.h5"
            t0 = time.perf_counter()
            generate(loaded.scene_id, out, n=args.n, seed=run, size=args.size,
                     workers=args.workers, scm=loaded.scm, scene_kwargs=loaded.scene_kwargs)
            rates.append(args.n / (time.perf_counter() - t0))
            out.unlink()
    print(f"generate, {args.workers} workers, {args.n} images at {args.size} x {args.size}: "
          f"{statistics.median(rates):,.0f} images/s (median of {args.runs}; runs: "
          + ", ".join(f"{r:,.0f}" for r in rates) + ")")
    print(f"command: causalgen scene {args.spec} --n {args.n} --size {args.size} "
          f"--workers {args.workers} --out custom.h5")


if __name__ == "__main__":
    main()
