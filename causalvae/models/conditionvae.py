"""ConditionVAE: a VAE whose prior is conditioned on the labels, without a causal layer.

The encoder sees (x, u) and the prior is p(z_i | u_i) = N(u_i 1_k, prior_std^2 I) on standardised
labels: the same conditional prior as causalvae (prior_std 0.2), so the comparison isolates
the causal machinery (the paper model ``causalvae-paper`` keeps prior_std 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from causalvae.losses import kl_normal
from causalvae.models.base import BaseVAE
from causalvae.models.config import ModelConfig, check_positive
from causalvae.models.registry import register

__all__ = ["ConditionVAE", "ConditionVAEConfig", "label_prior", "label_prior_mean"]


def label_prior_mean(u: Tensor, k: int) -> Tensor:
    """lambda_1(u): each standardised label broadcast over its concept's k dims, (B, n, k)."""
    return u.float().unsqueeze(2).expand(-1, -1, k)


def label_prior(u: Tensor, k: int, prior_std: float) -> tuple[Tensor, Tensor | float]:
    """Mean (B, n, k) and variance of p(z | u). A missing (NaN) label gets the marginal of the
    conditional prior over standardised labels instead, N(0, 1 + prior_std^2)."""
    present = ~torch.isnan(u)
    if bool(present.all()):
        return label_prior_mean(u, k), prior_std**2
    mean = label_prior_mean(torch.where(present, u.float(), 0.0), k)  # (B, n, k)
    var = torch.where(present, prior_std**2, 1.0 + prior_std**2).float()  # (B, n)
    return mean, var.unsqueeze(2).expand(-1, -1, k)


@dataclass
class ConditionVAEConfig(ModelConfig):
    """Label-conditioned prior N(u_i 1_k, prior_std^2 I), no causal layer. ``prior_std`` 0.2 is
    causalvae's, so a comparison of the two isolates the causal machinery."""

    prior_std: float = 0.2
    missing_flag: bool = True  # so it can encode images alone, like causalvae
    label_dropout: float = 0.5

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
        prior_mu, prior_var = label_prior(u, self.k, self.config.prior_std)  # (B, n, k)
        if isinstance(prior_var, Tensor):
            prior_var = prior_var.flatten(1)  # (B, z_dim)
        kl = kl_normal(mu, logvar, prior_mu.flatten(1), prior_var)  # (B,)
        return kl, {"kl": kl.mean()}
