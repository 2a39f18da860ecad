"""One decoder layer's cost against its output channels: the last transposed convolution.

Run: .venv/bin/python bench/bench_deconv.py [--batch 128] [--threads 1] [--rounds 2]

The recommended model's decoder ends in ConvTranspose2d(16 -> 3, kernel 4, stride 2) at 32 -> 64
px, the layer a per-layer timing of the trainer found slowest per FLOP. This times forward +
backward of that layer with its 3 output channels padded to 4, 8 and 16 (the extra channels
would be sliced off, so the model's function is the same), in case oneDNN's blocked kernels want
a channel multiple, and the layer before it for reference. Median of ``--reps`` steps after 3
warm-ups, channels-last and NCHW, variants interleaved per round so load drifts hit all of them.
Prints a Markdown table (milliseconds).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

LAYERS = [(16, 3, 32), (16, 4, 32), (16, 8, 32), (16, 16, 32), (32, 16, 16)]  # c_in, c_out, px


def step_ms(c_in: int, c_out: int, size: int, batch: int, channels_last: bool, reps: int) -> float:
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)
    x = torch.randn(batch, c_in, size, size)
    if channels_last:
        layer = layer.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    times = []
    for i in range(reps + 3):
        t0 = time.perf_counter()
        layer(x)[:, :3].sum().backward()  # only the 3 real channels reach the loss
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| round | layer (c_in -> c_out, input px) | channels-last ms | NCHW ms |  "
          f"(batch {args.batch}, {args.threads} thread(s), torch {torch.__version__})")
    print("|---|---|---|---|")
    for r in range(args.rounds):
        for c_in, c_out, size in LAYERS:
            cl = step_ms(c_in, c_out, size, args.batch, True, args.reps)
            nchw = step_ms(c_in, c_out, size, args.batch, False, args.reps)
            print(f"| {r + 1} | {c_in} -> {c_out}, {size} | {cl:.1f} | {nchw:.1f} |", flush=True)


if __name__ == "__main__":
    main()
