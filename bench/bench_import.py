"""Import benchmark: `causalgen import` of 178 x 218 JPEGs (CelebA's layout) to 64 px.

Run: .venv/bin/python bench/bench_import.py [--n 4000] [--repeats 3] [--workers 2]
Prints a Markdown report (copy it into BENCHMARKS.md). Each row runs the real CLI in a
subprocess; wall time is the median over repeats, peak memory the resident set of the whole
process tree (sampled every 20 ms). The in-run baseline is the plain way: one process, a full
JPEG decode, crop and resize (Lanczos), no draft mode. The load average is printed because the
machine is shared: figures taken under load understate what an idle machine does. The CPU time of
the CLI and its workers (user + system, from wait4) does not depend on the load much, so
``cores x images / CPU seconds`` is also given: the rate the same work reaches when the cores are
not shared (start-up included, so it understates long imports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from bench_generate import CLI, tree_rss  # noqa: E402

from causalgen.external.sample import write_celeba_like  # noqa: E402


def run_cli(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (the CLI and its workers) and peak tree RSS of one CLI run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(CLI + args, cwd=ROOT.parent, stdout=subprocess.DEVNULL)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"causalgen {' '.join(args)} failed with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, peak


def baseline(paths: list[Path], size: int) -> float:
    """images/s of a single process decoding fully, centre-cropping and resizing with Lanczos."""
    t0 = time.perf_counter()
    for p in paths:
        with Image.open(p) as im:
            w, h = im.size
            s = min(w, h)
            box = ((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2)
            np.asarray(im.convert("RGB").crop(box).resize((size, size), Image.Resampling.LANCZOS))
    return len(paths) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = write_celeba_like(Path(tmp) / "celeba", n=args.n, seed=0)
        files = sorted((root / "img_align_celeba").iterdir())
        mean_kb = np.mean([f.stat().st_size for f in files]) / 1024
        print(f"wrote {args.n} JPEGs 178x218 (mean {mean_kb:.1f} KiB) in "
              f"{time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.2f}")
        # A CSV listing every image 4 times: 4 x n images through the same pipeline (flat memory).
        attrs = (root / "list_attr_celeba.txt").read_text().splitlines()
        names = attrs[1].split()
        listing = Path(tmp) / "listing.csv"
        listing.write_text(",".join(["image_id", *names]) + "\n" + "".join(
            ",".join([f"celeba/img_align_celeba/{r.split()[0]}", *r.split()[1:]]) + "\n"
            for _ in range(4) for r in attrs[2:]))
        base = statistics.median(baseline(files[:1000], args.size) for _ in range(args.repeats))
        out = Path(tmp) / "out.h5"
        rows = []
        runs = [(f"celeba {args.n}, {args.workers} workers", [str(root), "--format", "celeba"],
                 args.workers, args.n),
                (f"celeba {args.n}, 1 worker", [str(root), "--format", "celeba"], 1, args.n),
                (f"CSV listing {4 * args.n} (each image 4x), {args.workers} workers",
                 [str(listing)], args.workers, 4 * args.n)]
        for label, src, workers, n in runs:
            walls, cpus, peaks = [], [], []
            for _ in range(args.repeats):
                wall, cpu, peak = run_cli(["import", *src, "--size", str(args.size), "--workers",
                                           str(workers), "--out", str(out), "--overwrite"])
                walls.append(wall)
                cpus.append(cpu)
                peaks.append(peak)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            rows.append((label, wall, n / wall, n / wall / base, 1e6 * cpu / n,
                         min(workers, 2) * n / cpu, max(peaks) / 2**20))
        load = os.getloadavg()
    print(f"\nbaseline (1 process, full decode + Lanczos, no draft): {base:.0f} images/s; "
          f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)\n")
    print("| run | wall s (median) | images/s | x baseline | CPU us / image (all processes) "
          "| images/s if the cores were ours (cores x images / CPU s) | peak RSS, all processes |")
    print("|---|---|---|---|---|---|---|")
    for label, wall, rate, ratio, us, idle, peak in rows:
        print(f"| {label} | {wall:.2f} | **{rate:,.0f}** | {ratio:.1f}x | {us:.0f} | {idle:,.0f} "
              f"| {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
