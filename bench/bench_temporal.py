"""Temporal generation benchmark: frames/s at 64 px with 2 workers, peak memory in N and in T.

Run: .venv/bin/python bench/bench_temporal.py [--repeats 3] [--frames 40000]
Prints a Markdown report (copy it into BENCHMARKS.md). Every row is the real CLI in a subprocess
(``python -m cli.causalgen ...``), the wall time includes the interpreter start, and peak memory
is the resident set of the whole process tree. The baseline of the ratios, measured in the same
run and interleaved with the temporal rows, is our own still generator on the same number of
frames at the same size (``causalgen pendulum --size 64``): the machine is shared, so absolute
figures move with the load while the ratio stays comparable.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import run_cli


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=40_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    frames, w = args.frames, str(args.workers)
    rows = {
        "still pendulum-v1 (baseline)": ["pendulum", "--n", str(frames)],
        "pendulum-dynamic-v1, T = 40": ["scene", "pendulum-dynamic-v1", "--steps", "40",
                                        "--n", str(frames // 40)],
        "pendulum-dynamic-v1, T = 40, intervention rate 0.1": [
            "scene", "pendulum-dynamic-v1", "--steps", "40", "--n", str(frames // 40),
            "--intervention-rate", "0.1"],
        "collision-v1, T = 40": ["scene", "collision-v1", "--steps", "40",
                                 "--n", str(frames // 40)],
    }
    memory = {  # flat in N and in T: same scene, 10x the sequences, or 25x longer sequences
        "pendulum-dynamic-v1, N = 250, T = 40 (10k frames)": ["--n", "250", "--steps", "40"],
        "pendulum-dynamic-v1, N = 2500, T = 40 (100k frames)": ["--n", "2500", "--steps", "40"],
        "pendulum-dynamic-v1, N = 100, T = 1000 (100k frames)": ["--n", "100", "--steps", "1000"],
    }
    times: dict[str, list[float]] = {k: [] for k in rows}
    peaks: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "x.h5")
        common = ["--size", "64", "--workers", w, "--out", out, "--overwrite"]
        for _ in range(args.repeats):  # interleaved, so load changes hit every row alike
            for name, cli in rows.items():
                wall, peak = run_cli(cli + common)
                times[name].append(wall)
                peaks[name] = max(peaks.get(name, 0), peak)
        mem = {}
        for name, cli in memory.items():
            wall, peak = run_cli(["scene", "pendulum-dynamic-v1", *cli, *common])
            mem[name] = (wall, peak, Path(out).stat().st_size)
    base = statistics.median(times["still pendulum-v1 (baseline)"])
    print(f"{frames:,} frames per row, 64 x 64 px, {w} workers, lzf, median of {args.repeats}\n")
    print("| run | wall s (median) | frames/s | x still baseline (same run) | peak RSS |")
    print("|---|---|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.2f} | {frames / med:,.0f} | {base / med:.2f}x | "
              f"{peaks[name] / 2**20:.0f} MiB |")
    print("\n| memory run | wall s | frames/s | peak RSS, all processes | file |")
    print("|---|---|---|---|---|")
    for name, (wall, peak, size) in mem.items():
        n_frames = int(name.split("(")[1].split("k")[0]) * 1000
        print(f"| {name} | {wall:.2f} | {n_frames / wall:,.0f} | {peak / 2**20:.0f} MiB | "
              f"{size / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
