"""Environments / soft interventions cost, and pendulum 50k against the in-run matplotlib baseline.

Run: .venv/bin/python bench/bench_environments.py [--repeats 5]
Each configuration runs the real CLI (`python -m cli.causalgen pendulum --n 50000 ...`, 96 px,
lzf, 2 workers) in a subprocess; the configurations are interleaved repeat by repeat so that a
noisy neighbour hits them alike, and the matplotlib baseline of bench_generate.py is measured
before and after them in the same run (its median is the ratio's denominator). Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import reference_baseline, run_cli

SPEC = ("obs; do(light_angle=uniform(40, 60)); shift(shadow_length, 2.0); "
        "mechanism(shadow_length, 0.25 * pendulum_angle + 12 + noise)")
CONFIGS = [
    ("plain", []),
    ("4 environments (do, shift, mechanism)", ["--environments", SPEC]),
    ("per-variable (5 environments), hidden targets", ["--environments", "per-variable",
                                                        "--hide-targets"]),
    ("soft on the whole file: scale_noise & shift", ["--intervene",
                                                     "scale_noise(light_angle, 0.5) & shift(shadow_length, 1)"]),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="causalgen-bench-env-"))
    out = tmp / "out.h5"
    base = [reference_baseline(300, tmp / "ref0")]
    walls: dict[str, list[float]] = {name: [] for name, _ in CONFIGS}
    for _ in range(args.repeats):
        for name, extra in CONFIGS:
            cmd = ["pendulum", "--n", str(args.n), "--workers", str(args.workers), *extra,
                   "--out", str(out), "--overwrite"]
            walls[name].append(run_cli(cmd)[0])
    base.append(reference_baseline(300, tmp / "ref1"))
    if None in base:
        raise SystemExit("install matplotlib for the in-run baseline")
    ref = statistics.median(base)  # type: ignore[type-var]
    print(f"# environments benchmark ({os.cpu_count()} CPUs, {args.repeats} interleaved repeats)\n")
    print(f"command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n")
    print(f"matplotlib baseline, before / after: {base[0]:.0f} / {base[1]:.0f} images/s "
          f"(300 images each); ratios use {ref:.0f}\n")
    plain = statistics.median(walls["plain"])
    print("| run (pendulum, 96 px, lzf) | wall s median | min | images/s (median) | x baseline (median) "
          "| x baseline (best) | vs plain |")
    print("|---|---|---|---|---|---|---|")
    for name, _ in CONFIGS:
        w = walls[name]
        med, best = statistics.median(w), min(w)
        print(f"| {name} | {med:.2f} | {best:.2f} | {args.n / med:,.0f} | {args.n / med / ref:.0f}x "
              f"| {args.n / best / ref:.0f}x | {med / plain:.3f} |")
    print("\nall walls: " + "; ".join(f"{k}: {', '.join(f'{x:.2f}' for x in v)}"
                                      for k, v in walls.items()))


if __name__ == "__main__":
    main()
