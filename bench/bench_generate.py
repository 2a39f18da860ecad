"""Generation benchmarks: images/s, peak memory (whole process tree), where the time goes.

Run: .venv/bin/python bench/bench_generate.py [--quick] [--skip-500k]
Prints a Markdown report (copy it into BENCHMARKS.md). Figures are medians over repeats;
the baseline is measured in the same run when matplotlib is installed (pip install matplotlib):
a plain re-implementation of the reference generator's method (a matplotlib figure per image,
saved as PNG), written here from the equations in shared/REFERENCE.md.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cli.causalgen"]


def tree_rss(pid: int) -> int:
    """Resident set size in bytes of ``pid`` and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_cli(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak tree RSS of one CLI run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(CLI + args, cwd=ROOT, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"causalgen {' '.join(args)} failed with {proc.returncode}")
    return wall, peak


def reference_baseline(n: int, out: Path) -> float | None:
    """images/s of a matplotlib generator following the reference's method, or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    out.mkdir(parents=True, exist_ok=True)
    grid = [(i, j) for i in range(-40, 44) for j in range(60, 148) if j != 100][:n]
    t0 = time.perf_counter()
    for i, j in grid:
        theta, phi = i * math.pi / 200, j * math.pi / 200
        fig = plt.figure(figsize=(1, 1), dpi=96)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 20)
        ax.set_ylim(-1, 21)
        ax.axis("off")
        bx, by = 10 + 8 * math.sin(theta), 10.5 - 8 * math.cos(theta)
        proj = lambda x, y, phi=phi: x - (y + 0.5) / math.tan(phi)  # noqa: E731
        a, b = proj(10, 10.5), proj(10 + 9.5 * math.sin(theta), 10.5 - 9.5 * math.cos(theta))
        mid, length = (a + b) / 2, max(3, abs(a - b))
        ax.add_patch(plt.Circle((10 + 10 / math.tan(phi), 20.5), 3, color="orange"))
        ax.add_patch(plt.Polygon([[10, 10.5], [bx, by]], color="black", linewidth=3))
        ax.add_patch(plt.Circle((bx, by), 1.5, color="firebrick"))
        ax.add_patch(plt.Polygon([[mid - length / 2, -0.5], [mid + length / 2, -0.5]], color="black",
                                 linewidth=3))
        fig.savefig(out / f"a_{i}_{j}_{int(length)}_{int(mid)}.png", dpi=96)
        plt.close(fig)
    return len(grid) / (time.perf_counter() - t0)


def stage_breakdown(n: int = 5120) -> dict[str, float]:
    """Microseconds per image of each stage, in one process (no pool)."""
    from causalgen import scenes
    from causalgen.io.writer import encode_chunks

    scene = scenes.make("pendulum-v1")
    scm = scene.default_scm()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    s = scm.sample(n, rng)
    t1 = time.perf_counter()
    images = scene.render(s.as_dict(), 96)
    t2 = time.perf_counter()
    for i in range(0, n, 256):
        encode_chunks(images[i:i + 256], 32, "lzf")
    t3 = time.perf_counter()
    return {"sample + ray-cast physics": (t1 - t0) / n * 1e6, "render (Pillow, 3x supersampled)":
            (t2 - t1) / n * 1e6, "lzf chunk compression": (t3 - t2) / n * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 repeat, no 500k run")
    ap.add_argument("--skip-500k", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    reps = 1 if args.quick else args.repeats
    tmp = Path(tempfile.mkdtemp(prefix="causalgen-bench-"))
    rows = []
    base = reference_baseline(300, tmp / "reference")
    print(f"# causalgen generation benchmark ({os.cpu_count()} CPUs)\n")
    print(f"command: `{' '.join([Path(sys.executable).name, *sys.argv])}`\n")
    ref_note = (f"{base:.0f} images/s (measured now, 300 images)" if base else
                "not measured (matplotlib not installed); REFERENCE.md: 89 images/s")
    print(f"reference-method baseline: {ref_note}\n")
    ref = base or 89.0
    for name, args_ in [
        ("pendulum 50k, 96 px, lzf, 2 workers", ["pendulum", "--n", "50000", "--workers", "2"]),
        ("pendulum 50k, 96 px, lzf, 1 worker", ["pendulum", "--n", "50000", "--workers", "1"]),
        ("pendulum 50k, 96 px, gzip, 2 workers", ["pendulum", "--n", "50000", "--workers", "2",
                                                  "--compression", "gzip"]),
        ("flow 50k, 96 px, lzf, 2 workers", ["flow", "--n", "50000", "--workers", "2"]),
    ]:
        out = tmp / "out.h5"
        results = [run_cli([*args_, "--out", str(out), "--overwrite"]) for _ in range(reps)]
        wall = statistics.median(r[0] for r in results)
        peak = max(r[1] for r in results)
        rows.append((name, wall, 50000 / wall, peak, out.stat().st_size))
    if not (args.quick or args.skip_500k):
        out = tmp / "big.h5"
        wall, peak = run_cli(["pendulum", "--n", "500000", "--workers", "2", "--out", str(out),
                              "--overwrite"])
        rows.append(("pendulum 500k, 96 px, lzf, 2 workers", wall, 500000 / wall, peak,
                     out.stat().st_size))
    print("| run | wall s (median) | images/s | x reference | peak RSS, all processes | file |")
    print("|---|---|---|---|---|---|")
    for name, wall, ips, peak, size in rows:
        print(f"| {name} | {wall:.2f} | {ips:,.0f} | {ips / ref:.0f}x | {peak / 2**20:.0f} MiB | "
              f"{size / 2**20:.0f} MiB |")
    print("\nWhere the time goes (one process, pendulum, 96 px, microseconds per image):\n")
    print("| stage | us/image |")
    print("|---|---|")
    for stage, us in stage_breakdown().items():
        print(f"| {stage} | {us:.1f} |")


if __name__ == "__main__":
    main()
