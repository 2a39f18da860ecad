"""beta-VAE (Higgins et al., 2017): N(0, I) prior, KL weighted by beta; the encoder sees x only."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from causalvae.losses import kl_std_normal
from causalvae.models.base import BaseVAE
from causalvae.models.config import ModelConfig, check_positive
from causalvae.models.registry import register

__all__ = ["BetaVAE", "BetaVAEConfig"]


@dataclass
class BetaVAEConfig(ModelConfig):
    """Standard normal prior, KL weighted by ``beta``; ``kl_warmup`` = W > 0 ramps that weight
    linearly from beta / W to beta over the first W epochs (0: off)."""

    beta: float = 4.0
    kl_warmup: int = 0

    def validate(self) -> None:
        super().validate()
        check_positive(self, "beta", "kl_warmup", allow_zero=True)


@register("betavae", BetaVAEConfig)
class BetaVAE(BaseVAE):
    """beta-VAE: loss = -E[log p(x|z)] + beta KL(q(z|x) || N(0, I))."""

    config: BetaVAEConfig

    def regulariser(self, mu: Tensor, logvar: Tensor, z: Tensor,
                    u: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        kl = kl_std_normal(mu, logvar)  # (B,)
        return self.reg_weight * self.config.beta * kl, {"kl": kl.mean()}
