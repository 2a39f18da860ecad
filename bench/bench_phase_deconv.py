"""The decoder's transposed convolutions as four output phases of one 2x2 convolution.

Run: .venv/bin/python bench/bench_phase_deconv.py [--batch 128] [--threads 2] [--reps 15]

A ConvTranspose2d(kernel 4, stride 2, padding 1) writes output pixel (2m + a, 2n + b) from a
2x2 window of its input, with taps (3, 1) of the kernel for a = 0 and (2, 0) for a = 1 on each
axis. So one ordinary 2x2 convolution (padding 1) with 4 x c_out output channels, one group per
phase (a, b), computes every output pixel; interleaving the four phases gives the transposed
convolution's output (the same function: the script checks the output and the three gradients
against PyTorch's). A per-primitive oneDNN log of a trained pendulum step
(``bench_step_layers.py``, session 14) found the last transposed convolution's forward at
15-18 GFLOP/s against ~100 for the encoder's first convolution of the same FLOPs, which is what
this tries to exploit.

Rows, forward + backward (median of ``--reps`` steps after 3 warm-ups, channels-last, one
variant after another): PyTorch's ``conv_transpose2d``; the phase form under autograd (slices and
a stack); the phase form as an ``autograd.Function`` whose backward scatters the output gradient
into the phase layout once and calls ``convolution_backward``. Also the phase form's pieces
alone: the 2x2 convolution's forward and the interleave (a strided copy). Milliseconds.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from _timing import median_ms

LAYERS = [(16, 3, 32), (32, 16, 16), (64, 32, 8), (64, 64, 4)]  # c_in, c_out, input px
TAPS = ((3, 1), (2, 0))  # kernel taps read by output phase a = 0 and a = 1, per axis


def phase_weight(w: torch.Tensor) -> torch.Tensor:
    """(c_in, c_out, 4, 4) transposed kernel -> (4 c_out, c_in, 2, 2) kernel, phase-major."""
    groups = [w[:, :, list(TAPS[a])][:, :, :, list(TAPS[b])].transpose(0, 1)
              for a in (0, 1) for b in (0, 1)]
    return torch.cat(groups, 0)


def interleave(out: torch.Tensor, c_out: int) -> torch.Tensor:
    """(B, 4 c_out, H + 1, W + 1) phase outputs -> (B, c_out, 2H, 2W)."""
    b, _, h1, w1 = out.shape
    h, w = h1 - 1, w1 - 1
    parts = [out[:, (2 * a + c) * c_out:(2 * a + c + 1) * c_out, a:a + h, c:c + w]
             for a in (0, 1) for c in (0, 1)]
    y = torch.stack(parts, 0).view(2, 2, b, c_out, h, w)
    return y.permute(2, 3, 4, 0, 5, 1).reshape(b, c_out, 2 * h, 2 * w)


def phase_forward(x: torch.Tensor, wp: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The transposed convolution from the phase kernel ``wp`` (4 c_out, c_in, 2, 2)."""
    return interleave(F.conv2d(x, wp, bias.repeat(4), padding=1), len(bias))


def deconv_phase(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return phase_forward(x, phase_weight(w), bias)


class PhaseDeconv(torch.autograd.Function):
    """The phase form with a hand-written backward: one scatter, one convolution_backward."""

    @staticmethod
    def forward(ctx, x, w, bias):
        wp = phase_weight(w)
        ctx.save_for_backward(x, wp)
        ctx.c_out = w.shape[1]
        with torch.no_grad():
            return phase_forward(x, wp, bias)

    @staticmethod
    def backward(ctx, gy):
        x, wp = ctx.saved_tensors
        c_out = ctx.c_out
        b, _, h, w = x.shape
        g = gy.new_zeros(b, 4 * c_out, h + 1, w + 1).contiguous(memory_format=torch.channels_last)
        gv = gy.reshape(b, c_out, h, 2, w, 2)
        for a in (0, 1):
            for c in (0, 1):
                k = 2 * a + c
                g[:, k * c_out:(k + 1) * c_out, a:a + h, c:c + w] = gv[:, :, :, a, :, c]
        gx, gwp, _ = torch.ops.aten.convolution_backward(
            g, x, wp, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False])
        gw = torch.zeros(x.shape[1], c_out, 4, 4, dtype=gwp.dtype)
        for a in (0, 1):
            for c in (0, 1):
                k = 2 * a + c
                blk = gwp[k * c_out:(k + 1) * c_out].transpose(0, 1)  # (c_in, c_out, 2, 2)
                for i in (0, 1):
                    for j in (0, 1):
                        gw[:, :, TAPS[a][i], TAPS[c][j]] += blk[:, :, i, j]
        return gx, gw, gy.sum((0, 2, 3))


def measure(c_in: int, c_out: int, s: int, batch: int, reps: int) -> str:
    """One table row: the forms' agreement with PyTorch's layer and their times."""
    x = torch.randn(batch, c_in, s, s).contiguous(memory_format=torch.channels_last)
    w = (0.1 * torch.randn(c_in, c_out, 4, 4)).requires_grad_(True)
    bias = torch.randn(c_out).requires_grad_(True)
    x.requires_grad_(True)
    forms = {"ref": lambda: F.conv_transpose2d(x, w, bias, 2, 1),
             "auto": lambda: deconv_phase(x, w, bias),
             "func": lambda: PhaseDeconv.apply(x, w, bias)}
    ref = forms["ref"]()
    gy = torch.randn_like(ref)
    g_ref = torch.autograd.grad(ref, (x, w, bias), gy)
    diffs = []
    for name in ("auto", "func"):
        y = forms[name]()
        g = torch.autograd.grad(y, (x, w, bias), gy)
        with torch.no_grad():
            diffs.append(max(float((a - b).abs().max() / b.abs().max())
                             for a, b in zip((y, *g), (ref, *g_ref), strict=True)))
    times = {name: median_ms(lambda f=f: f().backward(gy), reps) for name, f in forms.items()}
    wp = phase_weight(w.detach())
    with torch.no_grad():
        out = F.conv2d(x, wp, padding=1)
        conv_ms = median_ms(lambda: F.conv2d(x, wp, padding=1), reps)
        inter_ms = median_ms(lambda: interleave(out, c_out), reps)
    return (f"| {c_in} -> {c_out}, {s} -> {2 * s} | {max(diffs):.1e} | {times['ref']:.1f} | "
            f"{times['auto']:.1f} | {times['func']:.1f} | {conv_ms:.1f} | {inter_ms:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    if min(args.batch, args.threads, args.reps) < 1:
        ap.error("--batch, --threads and --reps must be at least 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}, "
          f"{torch.backends.cpu.get_cpu_capability()}")
    print("| layer (c_in -> c_out, px) | max rel. diff (y, dx, dw, db) | conv_transpose2d | "
          "phase, autograd | phase, Function | 2x2 conv fwd | interleave |")
    print("|---|---|---|---|---|---|---|")
    for c_in, c_out, s in LAYERS:
        print(measure(c_in, c_out, s, args.batch, args.reps), flush=True)


if __name__ == "__main__":
    main()
