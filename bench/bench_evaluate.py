"""Time `causalvae evaluate` of one run: this tree against an older tree, in the same session.

Each measurement is a fresh process (imports included, as a user's `causalvae evaluate` pays
them) limited to ``--threads`` torch / BLAS threads; old and new alternate so that load on a
shared machine hits both alike. The new tree is timed twice per repeat: with an empty probe
cache (the first evaluation on a file) and with the probe cached (every later one). Prints
the medians and the ratios against the old tree.

    python bench/bench_evaluate.py RUN_DIR --old-tree /tmp/old-checkout [--repeats 3]

``--old-tree`` is a checkout of an earlier commit (``git worktree add --detach DIR REF``).
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

CODE = """
import sys, time
t0 = time.perf_counter()
from causalvae.evaluate import evaluate
t1 = time.perf_counter()
evaluate(sys.argv[1], write=False)
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def _run(tree: Path, run_dir: str, threads: int, cache: str) -> tuple[float, float, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "CAUSALVAE_CACHE_DIR": cache}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CODE, run_dir], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--old-tree", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    new_tree = Path(__file__).resolve().parents[1]
    times: dict[str, list[float]] = {"old": [], "new, cold cache": [], "new, cached probe": []}
    totals: dict[str, list[float]] = {k: [] for k in times}
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            runs = [("old", args.old_tree, cache), ("new, cold cache", new_tree, cache),
                    ("new, cached probe", new_tree, cache)]
            for name, tree, c in runs:
                _, ev, total = _run(tree, args.run_dir, args.threads, c)
                times[name].append(ev)
                totals[name].append(total)
                print(f"repeat {r}: {name:<18} evaluate() {ev:6.2f} s   process {total:6.2f} s",
                      flush=True)
    base = statistics.median(times["old"])
    print(f"\nmedians over {args.repeats} repeats, {args.threads} threads:")
    for name in times:
        med, tot = statistics.median(times[name]), statistics.median(totals[name])
        print(f"  {name:<18} evaluate() {med:6.2f} s  process {tot:6.2f} s  "
              f"ratio to old {med / base:.2f}")


if __name__ == "__main__":
    main()
