"""The base VAE every model derives from: encoder, decoder, reconstruction, KL, output record.

A model is called as ``model(x, u)`` with images ``x`` (B, 3, S, S) in [0, 1] and standardised
labels ``u`` (B, n), and returns a :class:`VAEOutput` whose ``.loss`` the trainer minimises and
whose ``.terms`` it logs. Subclasses override only what differs: ``encode`` (what the encoder sees
and emits), ``regulariser`` (prior / KL), or ``forward`` as a whole (CausalVAE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
from torch import Tensor

from causalvae.errors import ConfigError, InterventionError
from causalvae.intervene import traverse
from causalvae.losses import bernoulli_nll, gaussian_nll, kl_std_normal
from causalvae.models.config import ModelConfig
from causalvae.models.nets import (
    AdditiveConvDecoder,
    ConvDecoder,
    ConvEncoder,
    MLPEncoder,
    ReferenceDecoder,
)

__all__ = ["BaseVAE", "VAEOutput", "fp32", "label_presence"]


def label_presence(u: Tensor | None, batch: int, n: int, device: torch.device) -> Tensor:
    """(B, n) float, 1 where a label is given: the entries of ``u`` that are not NaN; none when ``u`` is None
    (unlabelled images carry NaN labels, see ``--label-fraction``)."""
    if u is None:
        return torch.zeros(batch, n, device=device)
    return (~torch.isnan(u)).float()


def fp32(like: Tensor) -> torch.autocast:
    """A context that turns autocast off, so latent-space algebra runs in float32."""
    return torch.autocast(like.device.type, enabled=False)


@dataclass
class VAEOutput:
    """What a forward pass returns.

    ``loss``: scalar to minimise; ``terms``: named scalars to log (unweighted values);
    ``recon``: decoder output (B, 3, S, S) (logits for Bernoulli, means for Gaussian);
    ``latents``: (B, z_dim) sample fed to the decoder; ``mu``: (B, z_dim) posterior mean.
    """

    loss: Tensor
    terms: dict[str, Tensor]
    recon: Tensor
    latents: Tensor
    mu: Tensor


class BaseVAE(nn.Module):
    """A VAE with a standard normal prior; subclasses change the prior, posterior or structure."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    uses_labels: ClassVar[bool] = False  # the encoder sees u (and the prior may depend on it)
    has_causal_layer: ClassVar[bool] = False
    # the latent is n concept blocks of k dims (block i belongs to label i); evaluation reads
    # concept i from block i, and matches latents to labels for models without blocks
    concept_blocks: ClassVar[bool] = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.n_concepts <= 0:
            raise ConfigError("n_concepts is not resolved: set it to the number of label variables")
        self.config = config
        self.n, self.k = config.n_concepts, config.concept_dim
        self.z_dim = config.z_dim
        if config.arch == "conv":
            self.encoder: nn.Module = ConvEncoder(config.image_size, config.conv_width,
                                                  config.hidden)
            self.decoder: nn.Module = (
                AdditiveConvDecoder(config.image_size, self.n, self.k, config.conv_width,
                                    config.hidden)
                if config.decoder == "additive" else
                ConvDecoder(config.image_size, config.conv_width, config.hidden, self.z_dim))
        else:
            self.encoder = MLPEncoder(config.image_size)
            self.decoder = ReferenceDecoder(config.image_size, self.n, self.k)
        label_in = (2 * self.n if config.missing_flag else self.n) if self.uses_labels else 0
        head_in = self.encoder.out_features + label_in
        self.head = nn.Linear(head_in, self.posterior_size())
        self.reg_weight = 1.0  # the regulariser's weight this epoch (see set_epoch)

    def set_epoch(self, epoch: int, epochs: int | None = None) -> None:
        """Called by the trainer before each epoch (0-based) of a run of ``epochs``. A config with
        ``kl_warmup`` = W > 0 weights the regulariser (KL / hyperprior term) by
        min(1, (epoch + 1) / W'), W' = min(W, epochs // 2) (at least 1): a linear warm-up over the
        first W epochs, and never over more than half of the run, so the last half always trains
        the full objective. A function of the epoch alone, so a resumed run keeps it."""
        warmup = int(getattr(self.config, "kl_warmup", 0))
        if warmup > 0 and epochs is not None:
            warmup = max(1, min(warmup, epochs // 2))
        self.reg_weight = min(1.0, (epoch + 1) / warmup) if warmup > 0 else 1.0

    # -- pieces subclasses may override ------------------------------------------------------
    def posterior_size(self) -> int:
        """Number of encoder outputs: mean and log-variance by default."""
        return 2 * self.z_dim

    def features(self, x: Tensor, u: Tensor | None) -> Tensor:
        h = self.encoder(x)  # (B, F)
        if self.uses_labels and self.config.missing_flag:
            present = label_presence(u, h.shape[0], self.n, h.device)  # (B, n)
            if self.training and self.config.label_dropout > 0:  # hide whole samples' labels
                shown = torch.rand(h.shape[0], 1, device=h.device) >= self.config.label_dropout
                present = present * shown
            given = torch.zeros_like(present) if u is None else torch.where(
                present > 0, u.float(), 0.0)  # (B, n)
            h = torch.cat([h, given.to(h.dtype), present.to(h.dtype)], dim=1)  # (B, F + 2n)
        elif self.uses_labels:
            if u is None:
                raise InterventionError(f"model {self.name!r} needs labels u to encode "
                                        "(trained without missing_flag)")
            h = torch.cat([h, u.to(h.dtype)], dim=1)  # (B, F + n)
        return self.head(h).float()  # (B, P): losses are computed in float32

    def encode(self, x: Tensor, u: Tensor | None) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each (B, z_dim)."""
        mu, logvar = self.features(x, u).chunk(2, dim=1)  # (B, z_dim) x 2
        return mu, logvar.clamp(-12.0, 8.0)

    def sample(self, mu: Tensor, logvar: Tensor) -> Tensor:
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # (B, z_dim)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)  # (B, 3, S, S)

    def reconstruction_loss(self, recon: Tensor, x: Tensor) -> Tensor:
        """-log p(x | z) per sample (B,)."""
        if self.config.likelihood == "gaussian":
            return gaussian_nll(recon, x, self.config.recon_std)
        return bernoulli_nll(recon, x)

    def regulariser(self, mu: Tensor, logvar: Tensor, z: Tensor,
                    u: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        """Per-sample weighted regulariser (B,) and its unweighted named terms."""
        kl = kl_std_normal(mu, logvar)  # (B,)
        return kl, {"kl": kl.mean()}

    # -- the template -------------------------------------------------------------------------
    def forward(self, x: Tensor, u: Tensor | None = None) -> VAEOutput:
        mu, logvar = self.encode(x, u)  # (B, z_dim) x 2
        z = self.sample(mu, logvar)  # (B, z_dim)
        recon = self.decode(z)  # (B, 3, S, S)
        rec = self.reconstruction_loss(recon, x)  # (B,)
        reg, terms = self.regulariser(mu, logvar, z, u)
        loss = (rec + reg).mean()
        return VAEOutput(loss=loss, terms={"recon": rec.mean(), **terms}, recon=recon,
                         latents=z, mu=mu)

    # -- inference helpers (deterministic: posterior means) ----------------------------------
    def to_image(self, recon: Tensor) -> Tensor:
        """Decoder output -> image in [0, 1]."""
        if self.config.likelihood == "gaussian":
            return recon.float().clamp(0.0, 1.0)
        return torch.sigmoid(recon.float())

    @torch.no_grad()
    def decoder_latents(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        """Posterior-mean latents in the space the decoder reads, (B, z_dim)."""
        return self.encode(x, u)[0]

    @torch.no_grad()
    def representation(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        """Latents to evaluate (disentanglement, MIC/TIC): posterior means, (B, z_dim)."""
        return self.encode(x, u)[0]

    @torch.no_grad()
    def reconstruct(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        return self.to_image(self.decode(self.decoder_latents(x, u)))  # (B, 3, S, S)

    def traverse(self, x: Tensor, dim: int, values: Tensor | list[float],
                 u: Tensor | None = None) -> Tensor:
        """Images with latent ``dim`` set to each value: (V, B, 3, S, S)."""
        return traverse(self, x, dim, values, u)

    def do(self, x: Tensor, u: Tensor | None,
           interventions: dict[int, float | Tensor]) -> Tensor:
        raise InterventionError(
            f"model {self.name!r} has no causal layer, so do() is undefined; "
            "use traverse() for latent traversals"
        )
