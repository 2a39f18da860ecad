"""Forward + backward time of the Bernoulli likelihood: the library's form against ours.

``F.binary_cross_entropy_with_logits`` against :func:`causalvae.losses.bernoulli_nll`
(softplus(l) - l x, l clamped at -80 inside the softplus when a batch goes below -80) on a batch
of 128 x 3 x 64 x 64 logits, at the scales a decoder goes through: a fresh decoder's logits are
O(1); a trained one's reach |l| ~ 70-250 on the background, where the library's exp(-|l|) lands
in the subnormal range. With ``--run RUN_DIR --data FILE.h5`` the logits are that run's decoder's
on the file's first 128 images instead. Medians of ``--steps`` timed calls after 3 warm-ups, the
two forms alternated per round.

    python bench/bench_bce.py
    python bench/bench_bce.py --run runs/causalvae-pendulum --data pendulum.h5
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
import torch.nn.functional as F
from _timing import median_ms

from causalvae.losses import bernoulli_nll


def library(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def step_ms(fn, logits: torch.Tensor, x: torch.Tensor, steps: int) -> float:
    def once() -> None:
        leaf = logits.detach().requires_grad_(True)
        fn(leaf, x).sum().backward()
    return median_ms(once, steps)


def run_logits(run: str, data: str) -> tuple[torch.Tensor, torch.Tensor]:
    from causalgen.io import open_dataset
    from causalvae.checkpoint import load_run

    loaded = load_run(run)
    with open_dataset(data) as ds:
        images = np.asarray(ds.images[:128])
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)  # (B, 3, S, S)
    u = torch.zeros(len(x), len(loaded.variable_names))
    with torch.no_grad():
        return loaded.model.decode(loaded.model.decoder_latents(x, u)), x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--run", help="a run directory whose decoder's logits to use")
    ap.add_argument("--data", help="the dataset of --run")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(128, 3, 64, 64, generator=g)
    x[:, :, :32] = 1.0  # saturated background pixels
    cases = [(f"random x {s:g}", torch.randn(128, 3, 64, 64, generator=g) * s, x)
             for s in (1, 30, 100, 300)]
    cases.append(("-|random| x 100 (a dark background)",
                  -torch.randn(128, 3, 64, 64, generator=g).abs() * 100, x))
    if args.run:
        logits, images = run_logits(args.run, args.data)
        cases.append((f"trained decoder ({args.run})", logits, images))
    print(f"threads {torch.get_num_threads()}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")
    print("| logits | median abs logit | library ms | bernoulli_nll ms | x faster | max loss diff |")
    print("|---|---|---|---|---|---|")
    for name, logits, images in cases:
        lib, ours = [], []
        for _ in range(args.rounds):
            lib.append(step_ms(library, logits, images, args.steps))
            ours.append(step_ms(bernoulli_nll, logits, images, args.steps))
        reference = library(logits, images)
        diff = float((reference - bernoulli_nll(logits, images)).abs().max()
                     / reference.abs().max())
        a, b = statistics.median(lib), statistics.median(ours)
        print(f"| {name} | {logits.abs().median():.1f} | {a:.1f} | {b:.1f} | {a / b:.2f}x | "
              f"{diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
