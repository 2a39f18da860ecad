"""ConditionVAE: a VAE whose prior is conditioned on the labels, without a causal layer.

The encoder sees (x, u) and the prior is p(z_i | u_i) = N(u_i 1_k, prior_std^2 I) on standardised
labels: the same conditional prior as causalvae-int (prior_std 0.2), so the comparison isolates
the causal machinery (the paper model ``causalvae`` keeps prior_std 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from causalvae.losses import kl_normal
from causalvae.models.base import BaseVAE
from causalvae.models.config import ModelConfig, check_positive
from causalvae.models.registry import register

__all__ = ["ConditionVAE", "ConditionVAEConfig", "label_prior_mean"]


def label_prior_mean(u: Tensor, k: int) -> Tensor:
    """lambda_1(u): each standardised label broadcast over its concept's k dims, (B, n, k)."""
    return u.float().unsqueeze(2).expand(-1, -1, k)


@dataclass
class ConditionVAEConfig(ModelConfig):
    """Label-conditioned prior N(u_i 1_k, prior_std^2 I), no causal layer. ``prior_std`` 0.2 is
    causalvae-int's, so a comparison of the two isolates the causal machinery."""

    prior_std: float = 0.2

    def validate(self) -> None:
        super().validate()
        check_positive(self, "prior_std")


@register("conditionvae", ConditionVAEConfig)
class ConditionVAE(BaseVAE):
    """Label-conditioned prior N(u_i 1_k, prior_std^2 I), no causal layer."""

    config: ConditionVAEConfig
    uses_labels = True
    concept_blocks = True

    def regulariser(self, mu: Tensor, logvar: Tensor, z: Tensor,
                    u: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        assert u is not None
        prior_mu = label_prior_mean(u, self.k).flatten(1)  # (B, z_dim)
        kl = kl_normal(mu, logvar, prior_mu, self.config.prior_std**2)  # (B,)
        return kl, {"kl": kl.mean()}
