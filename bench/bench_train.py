"""Training throughput (images/s) of the causalvae trainer, with a same-run naive baseline.

Measures, on synthetic uint8 data held in memory (so the figures are about the trainer, not the
disk), the real training path (:class:`causalvae.train.Trainer`: uint8 -> device conversion,
forward, backward, fused Adam, NaN guard, metrics):

* ``conv``: the default CausalVAE, conv architecture, 64x64, batch 128, float32 (and with
  ``cpu_amp``: bf16 autocast, fast on CPUs with AMX);
* ``reference``: CausalVAE with the ``reference`` preset (public code's MLP sizes), 96x96,
  batch 64 (the reference's batch) and 128, float32, and batch 64 with ``cpu_amp``;
* ``naive``: the reference model written plainly, the way the public code is: float32 images
  decoded per concept by four separate MLP decoders, probabilities averaged, BCE on
  probabilities, the DAG layer as a python loop per concept, plain per-parameter Adam, batch 64;
  with RGB input (the baseline of the ratios) and with the public code's RGBA input (36864).

Each row is the median over ``--repeats`` runs of the second epoch (the first one warms up the
kernels). Ratios are taken against the naive baseline of the same run; the public trainer itself
measured 33 images/s on the project's 2-core machine (REFERENCE.md).

    .venv/bin/python bench/bench_train.py            # all rows, 3 repeats
    .venv/bin/python bench/bench_train.py --quick    # 1 repeat, smaller epochs
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from causalvae.config import RunConfig, apply_overrides
from causalvae.data import CausalDataset
from causalvae.train import Trainer

N_CONCEPTS, K = 4, 4


def synthetic(n: int, size: int) -> CausalDataset:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = rng.normal(size=(n, N_CONCEPTS)).astype(np.float32)
    names = [f"v{i}" for i in range(N_CONCEPTS)]
    return CausalDataset.from_arrays(images, labels, names)


def trainer_rate(items: list[str], n: int, size: int) -> float:
    """images/s of the second epoch of a 2-epoch run."""
    cfg = apply_overrides(RunConfig.default("causalvae"),
                          ["device=cpu", "epochs=2", f"image_size={size}", *items])
    result = Trainer(cfg, synthetic(n, size)).fit()
    return result.history[-1]["images_per_s"]


class NaiveReference(nn.Module):
    """The public code's CausalVAE layout written plainly (no fusion, no batching of decoders)."""

    def __init__(self, size: int, channels: int = 3) -> None:
        super().__init__()
        d = channels * size * size
        self.enc = nn.Sequential(nn.Linear(d, 900), nn.ELU(), nn.Linear(900, 300), nn.ELU(),
                                 nn.Linear(300, 2 * N_CONCEPTS * K))
        self.decs = nn.ModuleList(
            nn.Sequential(nn.Linear(K, 300), nn.ELU(), nn.Linear(300, 300), nn.ELU(),
                          nn.Linear(300, 1024), nn.ELU(), nn.Linear(1024, d))
            for _ in range(N_CONCEPTS))
        self.A = nn.Parameter(torch.zeros(N_CONCEPTS, N_CONCEPTS))

    def forward(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        flat = x.reshape(b, -1)
        mu, logvar = self.enc(flat).chunk(2, 1)
        eps = (mu + torch.randn_like(mu) * (0.5 * logvar).exp()).view(b, N_CONCEPTS, K)
        inv = torch.inverse(torch.eye(N_CONCEPTS) - self.A.t())
        z = torch.stack([sum(inv[i, j] * eps[:, j] for j in range(N_CONCEPTS))
                         for i in range(N_CONCEPTS)], 1)  # per-concept python loop
        probs = [torch.sigmoid(self.decs[i](z[:, i])) for i in range(N_CONCEPTS)]
        recon = sum(probs) / N_CONCEPTS
        rec = F.binary_cross_entropy(recon.clamp(1e-6, 1 - 1e-6), flat, reduction="sum") / b
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(1).mean()
        prior = (z - u[:, :, None]).square().sum((1, 2)).mean()
        h = torch.trace(torch.matrix_power(torch.eye(N_CONCEPTS) + self.A * self.A / N_CONCEPTS,
                                           N_CONCEPTS)) - N_CONCEPTS
        return rec + kl + prior + 3 * h + 0.5 * h * h


def naive_rate(n: int, size: int, batch: int = 64, channels: int = 3) -> float:
    torch.manual_seed(0)
    data = synthetic(n, size)
    model = NaiveReference(size, channels)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=False)

    def epoch() -> float:
        start = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            x = data.images[idx].permute(0, 3, 1, 2).float() / 255.0
            if channels == 4:  # the reference reads RGBA PNGs (alpha always 255)
                x = torch.cat([x, torch.ones_like(x[:, :1])], 1)
            loss = model(x, data.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        return n / (time.perf_counter() - start)

    epoch()  # warm-up
    return epoch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 repeat, small epochs")
    parser.add_argument("--variants", action="store_true",
                        help="also measure the conv architecture without channels_last")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    scale = 1 if args.quick else 2
    threads = os.cpu_count() or 1
    rows: list[tuple[str, str, float]] = []

    def measure(label: str, setup: str, fn) -> float:
        rates = [fn() for _ in range(repeats)]
        med = statistics.median(rates)
        rows.append((label, setup, med))
        print(f"  {label}: {', '.join(f'{r:,.0f}' for r in rates)} images/s", file=sys.stderr)
        return med

    naive = measure("naive reference model (baseline)", "96x96 RGB, MLP, batch 64, fp32",
                    lambda: naive_rate(256 * scale, 96))
    measure("naive reference model, RGBA input", "96x96x4 as the public code, batch 64, fp32",
            lambda: naive_rate(256 * scale, 96, channels=4))
    conv = 1024 * scale
    cases = [
        ("conv (default)", "64x64, batch 128, fp32", ["batch_size=128"], conv, 64),
        ("conv + cpu_amp", "64x64, batch 128, bf16", ["batch_size=128", "cpu_amp=true"],
         conv, 64),
        ("reference preset", "96x96, batch 64, fp32", ["arch=reference", "batch_size=64"],
         256 * scale, 96),
        ("reference preset", "96x96, batch 128, fp32", ["arch=reference", "batch_size=128"],
         256 * scale, 96),
        ("reference preset + cpu_amp", "96x96, batch 64, bf16",
         ["arch=reference", "batch_size=64", "cpu_amp=true"], 256 * scale, 96),
    ]
    if args.variants:
        cases.insert(1, ("conv, NCHW", "64x64, batch 128, fp32",
                         ["batch_size=128", "channels_last=false"], conv, 64))
    for label, setup, items, n, size in cases:
        measure(label, setup, lambda items=items, n=n, size=size: trainer_rate(items, n, size))

    print(f"\ntorch {torch.__version__}, {threads} threads, {platform.processor() or 'cpu'}, "
          f"median of {repeats} run(s), second epoch of each")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    print("| trainer | setup | images/s | vs naive RGB baseline | vs reference trainer (33/s) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, setup, rate in rows:
        print(f"| {label} | {setup} | {rate:,.0f} | {rate / naive:.1f}x | {rate / 33:.1f}x |")


if __name__ == "__main__":
    main()
