"""beta-VAE (Higgins et al., 2017): N(0, I) prior, KL weighted by beta; the encoder sees x only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from causalvae.losses import kl_std_normal
from causalvae.models.base import BaseVAE
from causalvae.models.config import ModelConfig, check_positive
from causalvae.models.registry import register

__all__ = ["BetaVAE", "BetaVAEConfig"]


@dataclass
class BetaVAEConfig(ModelConfig):
    """Standard normal prior, KL weighted by ``beta``; ``kl_warmup`` = W > 0 ramps that weight
    linearly from beta / W to beta over the first W epochs (at most half the run; 0: off, the
    plain beta-VAE). The default W = 10 was chosen on a development seed (docs/results.md): at
    beta 4 and 20 epochs without it the posterior collapses (KL ~0, the mean image)."""

    beta: float = 4.0
    kl_warmup: int = 10
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {**ModelConfig.LEGACY_VALUES, "kl_warmup": 0}

    def validate(self) -> None:
        super().validate()
        check_positive(self, "beta", "kl_warmup", allow_zero=True)


@register("betavae", BetaVAEConfig)
class BetaVAE(BaseVAE):
    """beta-VAE: loss = -E[log p(x|z)] + beta KL(q(z|x) || N(0, I)), KL warmed up (10 epochs)."""

    config: BetaVAEConfig

    def regulariser(self, mu: Tensor, logvar: Tensor, z: Tensor,
                    u: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        kl = kl_std_normal(mu, logvar)  # (B,)
        return self.reg_weight * self.config.beta * kl, {"kl": kl.mean()}
