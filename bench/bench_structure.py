"""Graph recovery of the recommended model over many seeds, without the image training.

With ``structure_fit=labels-first`` the model's A is fixed before it sees an image (its support
from :mod:`causalvae.discovery`, its weights fitted on the labels, then frozen), so the graph a
full ``causalvae experiment`` run reports is the graph this script gets from the same Trainer,
the same seed and the same data file: it builds the Trainer (model initialisation included)
and runs only its structure stage. The data files are the experiment's own cache (same key), so
a later full experiment reuses them.

    python bench/bench_structure.py pendulum-v1 --mix 0 --seeds 0-9 --out experiments/structure
    python bench/bench_structure.py data/scenes/heldout/pure-chain.toml --mix 0.5 --seeds 0-4 \
        --set label_fraction=0.1

Prints one JSON line per seed and writes OUT/NAME-mixM[-fF].json with a summary.
``--baselines pc,pc-int,ges`` also runs those label-only discovery baselines
(:mod:`causalvae.baselines`, their default settings, the seed's data file) and adds their SHD per
seed to the summary; ``--baselines-only`` skips the model (the summary goes to
OUT/NAME-mixM-baselines.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from causalvae.baselines import run_baseline, settings_for
from causalvae.config import RunConfig, apply_overrides
from causalvae.essential import target_family
from causalvae.experiment import ExperimentConfig, dataset_for_seed
from causalvae.graph import graph_metrics
from causalvae.train import Trainer, training_split


def seeds_arg(text: str) -> list[int]:
    if "-" in text:
        lo, hi = map(int, text.split("-"))
        return list(range(lo, hi + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target")
    ap.add_argument("--mix", type=float, default=0.5)
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--n", type=int, default=10_240)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--model", default="causalvae")
    ap.add_argument("--set", dest="set_", action="append", default=[])
    ap.add_argument("--out", default="experiments/structure")
    ap.add_argument("--baselines", default="", help="comma-separated label-only baselines")
    ap.add_argument("--baselines-only", action="store_true")
    args = ap.parse_args()
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    name = Path(args.target).stem.replace("-v1", "")
    exp = ExperimentConfig(target=args.target, out=args.out, n=args.n,
                           image_size=args.image_size, intervention_mix=args.mix, workers=1)
    rows, base_rows = [], {b: [] for b in baselines}
    for seed in seeds_arg(args.seeds):
        data = dataset_for_seed(exp, seed)
        for b in baselines:
            run_dir = Path(args.out) / "baselines" / f"{name}-mix{args.mix}" / b / f"seed{seed}"
            ev = run_baseline(b, data, run_dir, settings_for(b, (), seed))
            brow = {"baseline": b, "seed": seed, "shd": ev["shd"], "shd_cpdag": ev["shd_cpdag"],
                    "seconds": ev["discovery_s"]}
            print(json.dumps(brow), flush=True)
            base_rows[b].append(brow)
        if args.baselines_only:
            continue
        cfg = apply_overrides(RunConfig.default(args.model),
                              [f"seed={seed}", f"image_size={args.image_size}", "device=cpu",
                               "threads=1", *args.set_])
        train_ds = training_split(cfg, data)
        t0 = time.perf_counter()
        trainer = Trainer(cfg, train_ds)
        record = trainer.prepare_structure()
        seconds = time.perf_counter() - t0
        model = trainer.model
        targets = target_family(train_ds.intervened.numpy()) if train_ds.has_interventions \
            else None
        g = graph_metrics(model.learned_adjacency(), train_ds.adjacency,
                          model.edge_threshold(), targets)
        row = {"seed": seed, "shd": g["shd"], "shd_cpdag": g["shd_cpdag"],
               "equivalence_class": g["equivalence_class"], "seconds": seconds,
               "fit_loss": record.get("fit", {}).get("loss_per_epoch", [None])[-1],
               "predicted": g["predicted_adjacency"],
               "adjacency": np.round(model.learned_adjacency(), 3),
               "support": record.get("discovery", {}).get("support")}
        print(json.dumps({k: v for k, v in row.items() if k not in ("predicted", "adjacency", "support")}),
              flush=True)
        rows.append(row)
    summary: dict = {"target": args.target, "mix": args.mix, "set": args.set_}
    if rows:
        shd = [r["shd"] for r in rows]
        cls = [r["shd_cpdag"] for r in rows]
        summary.update(shd_per_seed=shd, shd_cpdag_per_seed=cls,
                       seeds_shd0=sum(s == 0 for s in shd),
                       seeds_cpdag_le1=sum(c <= 1 for c in cls),
                       median_seconds=statistics.median(r["seconds"] for r in rows))
    summary["baselines"] = {
        b: {"shd_per_seed": [r["shd"] for r in br],
            "shd_cpdag_per_seed": [r["shd_cpdag"] for r in br],
            "seeds_shd0": sum(r["shd"] == 0 for r in br),
            "median_seconds": statistics.median(r["seconds"] for r in br)}
        for b, br in base_rows.items()}
    summary["rows"] = rows
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))
    tag = "".join(f"-{s.replace('=', '')}" for s in args.set_)
    tag += "-baselines" if args.baselines_only else ""
    out = Path(args.out) / f"{name}-mix{args.mix}{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, default=lambda o: np.asarray(o).tolist()) + "\n")


if __name__ == "__main__":
    main()
