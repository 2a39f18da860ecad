"""Wall time of one pendulum seed, end to end (data, training, evaluation), and its results.

Runs ``causalvae experiment pendulum-v1 --seeds 1 --models causalvae`` in a fresh process per
variant and repeat (so the time includes start-up and imports, as a user sees it), alternating
the variants so that a slow stretch of a shared machine hurts them alike. Each run gets its own
output directory; the data file is the same bytes in every one (same seed), and the label
probe's cache is off (``CAUSALVAE_CACHE_DIR=off``), so every evaluation trains its probe as a
first run does. Variants:

* ``fp32``: the defaults (the baseline of the ratios);
* ``bf16``: ``--set cpu_amp=true`` (bf16 autocast on CPU; fast on CPUs with bf16 units);
* ``compile``: ``--set compile=true`` (``torch.compile`` of the model; the first run on a machine
  pays the compilation, later ones read TorchInductor's on-disk cache).

Per variant: the median wall time and its phases (``timing.json``: data, train, eval), the
ratio to the baseline, and the run's results (SHD, MIC, counterfactual errors, reconstruction),
so a speed-up that changes the results is visible.

    python bench/bench_seed.py --seed 0 --repeats 2 --out /tmp/bench-seed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = {"fp32": [], "bf16": ["--set", "cpu_amp=true"], "compile": ["--set", "compile=true"]}
RESULTS = ("shd", "mic", "mcc", "cf_pixel_mse", "cf_probe_rmse", "recon_mse")


def one_run(variant: str, seed: int, out: Path, epochs: int) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "cli.causalvae", "experiment", "pendulum-v1", "--seeds", "1",
           "--first-seed", str(seed), "--models", "causalvae", "--epochs", str(epochs),
           "--device", "cpu", "--out", str(out), *VARIANTS[variant]]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": ".",
                                                       "CAUSALVAE_CACHE_DIR": "off"})
    wall = time.perf_counter() - t0
    row = json.loads((out / "report.json").read_text())["runs"][0]
    return {"variant": variant, "wall_s": wall, **row["timing"],
            **{k: row.get(k) for k in RESULTS}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--variants", default="fp32,bf16")
    ap.add_argument("--out", default="/tmp/bench-seed")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",")]
    rows = []
    for rep in range(args.repeats):
        for v in variants:
            row = one_run(v, args.seed, Path(args.out) / f"{v}-{rep}", args.epochs)
            print(json.dumps(row), flush=True)
            rows.append(row)
    base = statistics.median(r["wall_s"] for r in rows if r["variant"] == variants[0])
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")
    print("| variant | wall s (median) | data s | train s | eval s | x baseline | SHD | MIC | "
          "CF pixel MSE | CF probe RMSE | recon MSE |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for v in variants:
        mine = [r for r in rows if r["variant"] == v]
        med = {k: statistics.median(r[k] for r in mine)
               for k in ("wall_s", "data_s", "train_s", "eval_s")}
        res = mine[0]
        print(f"| {v} | {med['wall_s']:.1f} | {med['data_s']:.1f} | {med['train_s']:.1f} | "
              f"{med['eval_s']:.1f} | {base / med['wall_s']:.2f}x | {res['shd']} | "
              f"{res['mic']:.3f} | {res['cf_pixel_mse']:.4f} | {res['cf_probe_rmse']:.3f} | "
              f"{res['recon_mse']:.5f} |")


if __name__ == "__main__":
    main()
