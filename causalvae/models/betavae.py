"""beta-VAE (Higgins et al., 2017): N(0, I) prior, KL weighted by beta; the encoder sees x only."""

from __future__ import annotations

from torch import Tensor

from causalvae.config import BetaVAEConfig
from causalvae.losses import kl_std_normal
from causalvae.models.base import BaseVAE
from causalvae.models.registry import register

__all__ = ["BetaVAE"]


@register("betavae", BetaVAEConfig)
class BetaVAE(BaseVAE):
    """beta-VAE: loss = -E[log p(x|z)] + beta KL(q(z|x) || N(0, I))."""

    config: BetaVAEConfig

    def regulariser(self, mu: Tensor, logvar: Tensor, z: Tensor,
                    u: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        kl = kl_std_normal(mu, logvar)  # (B,)
        return self.config.beta * kl, {"kl": kl.mean()}
