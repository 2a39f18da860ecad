"""Encoder and decoder networks shared by every model.

Two architectures:

* ``conv``: strided 4x4 convolutions halve a square image (any size 32..128) until it is 4..7
  pixels wide, then a linear layer; the decoder mirrors it with transposed convolutions whose
  output padding reproduces the exact input size (e.g. 100 -> 50 -> 25 -> 12 -> 6 and back).
  Channels are ``width`` x (1, 2, 4, 4, ...): width 16 measured >= 1,000 images/s training at 64x64
  on two CPU cores, width 32 about 800.
* ``conv`` with ``decoder="additive"``: one small conv decoder per concept block (each reads
  only its own k latents), run together as grouped convolutions, whose logits are summed; each
  group has ``width // 2`` x (1, 2, 4, 4, ...) channels, so with 4 concepts the decoder costs
  about what the joint one does. A concept block then renders only what it alone controls in
  the image, which is what ties block i to label i (and what the reference code's averaged
  per-concept decoders do).
* ``reference``: the public CausalVAE code's MLP sizes, with RGB input instead of its RGBA
  (input 3*H*W instead of 4*96*96 = 36864): encoder 3HW-900-300 (+ the head to 2 z_dim), and one
  k-300-300-1024-3HW decoder per concept whose logits are averaged. The averaging is fused: the n
  last layers form one (n*1024 -> 3HW) linear map divided by n, which is the same function (the n
  biases collapse into one) computed as one large matrix product, and the first three layers of
  the n decoders run as batched matrix products.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ["AdditiveConvDecoder", "ConvDecoder", "ConvEncoder", "MLPEncoder", "ReferenceDecoder",
           "conv_sizes"]


def conv_sizes(image_size: int) -> list[int]:
    """Spatial sizes through the conv stack: halve (floor) until the size is at most 7."""
    sizes = [image_size]
    while sizes[-1] > 7:
        sizes.append(sizes[-1] // 2)
    return sizes


def _channels(width: int, layers: int) -> list[int]:
    return [width * min(2**i, 4) for i in range(layers)]


class ConvEncoder(nn.Module):
    """(B, 3, S, S) images -> (B, hidden) features."""

    def __init__(self, image_size: int, width: int, hidden: int) -> None:
        super().__init__()
        sizes = conv_sizes(image_size)
        chans = _channels(width, len(sizes) - 1)
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in chans:
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.SiLU()]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * sizes[-1] ** 2, hidden)
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        h = self.convs(x)  # (B, C, s, s)
        return F.silu(self.fc(h.flatten(1)))  # (B, hidden)


class ConvDecoder(nn.Module):
    """(B, z_dim) latents -> (B, 3, S, S) logits (or Gaussian means)."""

    def __init__(self, image_size: int, width: int, hidden: int, z_dim: int) -> None:
        super().__init__()
        sizes = conv_sizes(image_size)
        chans = _channels(width, len(sizes) - 1)
        self.base = (chans[-1], sizes[-1])
        self.fc = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.SiLU(),
            nn.Linear(hidden, chans[-1] * sizes[-1] ** 2), nn.SiLU(),
        )
        layers: list[nn.Module] = []
        outs = [*reversed(chans[:-1]), 3]
        c_in = chans[-1]
        # walk the encoder's sizes backwards; ConvTranspose2d(4, 2, 1) maps s to 2s + output_padding
        for i, c_out in enumerate(outs):
            s_in, s_out = sizes[-1 - i], sizes[-2 - i]
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, output_padding=s_out - 2 * s_in))
            if i < len(outs) - 1:
                layers.append(nn.SiLU())
            c_in = c_out
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        c, s = self.base
        h = self.fc(z).view(z.shape[0], c, s, s)  # (B, C, s, s)
        return self.deconvs(h)  # (B, 3, S, S)


class AdditiveConvDecoder(nn.Module):
    """(B, n*k) latents -> (B, 3, S, S) logits: the sum of n per-block conv decoders.

    Decoder i reads only block i (latents ``[i*k, (i+1)*k)``). The n decoders run as one network:
    batched linear layers, then transposed convolutions with ``groups=n`` whose channels
    ``[i*c, (i+1)*c)`` belong to decoder i, and a final (B, n, 3, S, S) -> (B, 3, S, S) sum.
    """

    def __init__(self, image_size: int, n_blocks: int, block_dim: int, width: int,
                 hidden: int) -> None:
        super().__init__()
        self.n, self.k = n_blocks, block_dim
        sizes = conv_sizes(image_size)
        chans = _channels(max(2, width // 2), len(sizes) - 1)  # per decoder
        self.base = (chans[-1], sizes[-1])
        h = max(16, hidden // 2)
        self.w1, self.b1 = _batched_linear(n_blocks, block_dim, h)
        self.w2, self.b2 = _batched_linear(n_blocks, h, chans[-1] * sizes[-1] ** 2)
        layers: list[nn.Module] = []
        outs = [*reversed(chans[:-1]), 3]
        c_in = chans[-1]
        for i, c_out in enumerate(outs):
            s_in, s_out = sizes[-1 - i], sizes[-2 - i]
            layers.append(nn.ConvTranspose2d(n_blocks * c_in, n_blocks * c_out, 4, 2, 1,
                                             output_padding=s_out - 2 * s_in, groups=n_blocks))
            if i < len(outs) - 1:
                layers.append(nn.SiLU())
            c_in = c_out
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        b = z.shape[0]
        c, s = self.base
        h = z.reshape(b, self.n, self.k).transpose(0, 1)  # (n, B, k)
        h = F.silu(torch.baddbmm(self.b1, h, self.w1))  # (n, B, h)
        h = F.silu(torch.baddbmm(self.b2, h, self.w2))  # (n, B, c*s*s)
        h = h.transpose(0, 1).reshape(b, self.n * c, s, s)  # (B, n*c, s, s): group i = block i
        out = self.deconvs(h)  # (B, n*3, S, S)
        return out.view(b, self.n, 3, *out.shape[-2:]).sum(1)  # (B, 3, S, S)


class MLPEncoder(nn.Module):
    """The reference preset's encoder body: (B, 3, S, S) -> (B, 300)."""

    def __init__(self, image_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(3 * image_size * image_size, 900), nn.ELU(),
            nn.Linear(900, 300), nn.ELU(),
        )
        self.out_features = 300

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))  # (B, 300)


def _batched_linear(n: int, fan_in: int, fan_out: int) -> tuple[nn.Parameter, nn.Parameter]:
    """n independent Linear(fan_in, fan_out) layers stored as (n, in, out) with nn.Linear's init."""
    bound = 1.0 / math.sqrt(fan_in)
    weight = nn.Parameter(torch.empty(n, fan_in, fan_out).uniform_(-bound, bound))
    bias = nn.Parameter(torch.empty(n, 1, fan_out).uniform_(-bound, bound))
    return weight, bias


class ReferenceDecoder(nn.Module):
    """n per-concept MLP decoders k-300-300-1024-3HW with averaged logits: (B, n*k) -> (B, 3, S, S)."""

    def __init__(self, image_size: int, n_blocks: int, block_dim: int) -> None:
        super().__init__()
        self.n, self.k, self.size = n_blocks, block_dim, image_size
        self.w1, self.b1 = _batched_linear(n_blocks, block_dim, 300)
        self.w2, self.b2 = _batched_linear(n_blocks, 300, 300)
        self.w3, self.b3 = _batched_linear(n_blocks, 300, 1024)
        self.out = nn.Linear(n_blocks * 1024, 3 * image_size * image_size)
        with torch.no_grad():  # each decoder's last layer keeps nn.Linear(1024, .)'s init scale
            bound = 1.0 / math.sqrt(1024)
            self.out.weight.uniform_(-bound, bound)
            self.out.bias.uniform_(-bound, bound)

    def forward(self, z: Tensor) -> Tensor:
        b = z.shape[0]
        h = z.view(b, self.n, self.k).transpose(0, 1)  # (n, B, k)
        h = F.elu(torch.baddbmm(self.b1, h, self.w1))  # (n, B, 300)
        h = F.elu(torch.baddbmm(self.b2, h, self.w2))  # (n, B, 300)
        h = F.elu(torch.baddbmm(self.b3, h, self.w3))  # (n, B, 1024)
        h = h.transpose(0, 1).reshape(b, self.n * 1024)  # (B, n*1024)
        logits = self.out(h) / self.n  # (B, 3HW): mean over the n decoders
        return logits.view(b, 3, self.size, self.size)  # (B, 3, S, S)
