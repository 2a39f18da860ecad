"""CHyVAE (Ansari and Soh, 2019): full-covariance posterior and an inverse-Wishart hyperprior.

The encoder emits the mean and a Cholesky factor L of the posterior covariance (positive diagonal
by softplus + 1e-4, strictly lower part free); Sigma = L L^T + 1e-4 I as in the public code. The
loss is reconstruction - R with R from :func:`causalvae.losses.chyvae_regulariser`. Gradients
flow through z = mu + L e and through Sigma. The inverse-Wishart sampler (Bartlett decomposition)
serves :meth:`CHyVAE.sample_prior`, i.e. generation: Sigma ~ IW(Psi, nu), z ~ N(0, Sigma).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from causalvae.errors import ConfigError
from causalvae.losses import chyvae_regulariser, sample_inverse_wishart
from causalvae.models.base import BaseVAE, VAEOutput, fp32
from causalvae.models.config import ModelConfig, check_positive
from causalvae.models.registry import register

__all__ = ["CHyVAE", "CHyVAEConfig"]


@dataclass
class CHyVAEConfig(ModelConfig):
    """Inverse-Wishart hyperprior IW(Psi, nu) with Psi = ``psi_scale`` * I.

    ``nu`` = 0 means z_dim + 23 (the public code's 33 for z_dim 10, shifted with z_dim so that the
    excess degrees of freedom stay the same); ``psi_scale`` = 0 means max(nu - z_dim - 1, 1), which
    makes E[Sigma] = I as in the public code. ``kl_warmup`` = W > 0 ramps the regulariser's
    weight linearly to 1 over the first W epochs (0: off).
    """

    nu: float = 0.0
    psi_scale: float = 0.0
    kl_warmup: int = 0

    def resolved_nu(self) -> float:
        return self.nu if self.nu > 0 else float(self.z_dim + 23)

    def resolved_psi_scale(self) -> float:
        if self.psi_scale > 0:
            return self.psi_scale
        return max(self.resolved_nu() - self.z_dim - 1.0, 1.0)

    def validate(self) -> None:
        super().validate()
        check_positive(self, "nu", "psi_scale", "kl_warmup", allow_zero=True)
        if self.nu > 0 and self.n_concepts and self.nu <= self.z_dim - 1:
            raise ConfigError(f"nu={self.nu} must exceed z_dim - 1 = {self.z_dim - 1}")


@register("chyvae", CHyVAEConfig)
class CHyVAE(BaseVAE):
    """Full-covariance Gaussian posterior under an IW(Psi, nu) hyperprior on the prior covariance."""

    config: CHyVAEConfig

    def __init__(self, config: CHyVAEConfig) -> None:
        super().__init__(config)
        self.nu = config.resolved_nu()
        self.register_buffer("psi", config.resolved_psi_scale() * torch.eye(self.z_dim))
        rows, cols = torch.tril_indices(self.z_dim, self.z_dim, offset=-1)
        self.register_buffer("tril_rows", rows, persistent=False)
        self.register_buffer("tril_cols", cols, persistent=False)

    def posterior_size(self) -> int:
        d = self.z_dim
        return 2 * d + d * (d - 1) // 2  # mean, diagonal, strictly lower triangle

    def posterior(self, x: Tensor, u: Tensor | None) -> tuple[Tensor, Tensor]:
        """Posterior mean (B, d) and Cholesky factor L (B, d, d)."""
        d = self.z_dim
        out = self.features(x, u)  # (B, P)
        mu, diag, low = out[:, :d], out[:, d:2 * d], out[:, 2 * d:]
        chol = torch.diag_embed(F.softplus(diag) + 1e-4)  # (B, d, d)
        chol = chol.index_put((torch.arange(out.shape[0], device=out.device)[:, None],
                               self.tril_rows, self.tril_cols), low)  # (B, d, d)
        return mu, chol

    def encode(self, x: Tensor, u: Tensor | None) -> tuple[Tensor, Tensor]:
        """Mean and log of the marginal posterior variances (diag of L L^T), each (B, d)."""
        mu, chol = self.posterior(x, u)
        return mu, chol.square().sum(-1).log()

    def forward(self, x: Tensor, u: Tensor | None = None) -> VAEOutput:
        mu, chol = self.posterior(x, u)  # (B, d), (B, d, d)
        with fp32(x):  # the matrix algebra stays in float32 under autocast
            eps = torch.randn_like(mu)  # (B, d)
            z = mu + (chol @ eps.unsqueeze(2)).squeeze(2)  # (B, d)
            eye = torch.eye(self.z_dim, device=x.device)
            sigma = chol @ chol.transpose(1, 2) + 1e-4 * eye  # (B, d, d)
            reg = -chyvae_regulariser(z, mu, sigma, self.psi, self.nu)  # (B,)
            # a diagnostic, not in the loss: KL(q(z|x) || N(0, I)), 0 when the posterior has
            # collapsed onto the prior (the regulariser above has no such zero)
            kl = 0.5 * (sigma.diagonal(dim1=-2, dim2=-1).sum(-1) + mu.square().sum(-1)
                        - self.z_dim - torch.linalg.slogdet(sigma)[1])  # (B,)
        recon = self.decode(z)  # (B, 3, S, S)
        rec = self.reconstruction_loss(recon, x)  # (B,)
        terms = {"recon": rec.mean(), "reg": reg.mean(), "kl": kl.detach().mean()}
        return VAEOutput(loss=(rec + self.reg_weight * reg).mean(), terms=terms, recon=recon,
                         latents=z, mu=mu)

    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Generate n images from the model: Sigma ~ IW(Psi, nu), z ~ N(0, Sigma) -> (n, 3, S, S)."""
        sigma = sample_inverse_wishart(self.psi.double().cpu(), self.nu, n, generator)  # (n,d,d)
        e = torch.randn(n, self.z_dim, 1, generator=generator, dtype=torch.float64)
        z = (torch.linalg.cholesky(sigma) @ e).squeeze(2).float()  # (n, d)
        return self.to_image(self.decode(z.to(self.psi.device)))
