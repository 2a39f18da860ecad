"""CausalVAE (Yang et al., CVPR 2021) and its unsupervised variant.

Forward pass over n concepts of k dims each:

1. encoder h(x, u) -> q(eps | x, u) = N(mu, diag(var)), eps (B, n, k);
2. causal layer: z = A^T z + eps, i.e. z = (I - A^T)^-1 eps (a linear SCM over concept blocks);
3. mask layer: z~_i = g_i(A_i o z) + eps_i, with A_i column i of A and g_i a small MLP per concept;
4. decoder f(z~).

Loss = -ELBO + dag + beta l_u + gamma l_m (+ l1 |A|), where -ELBO = reconstruction +
KL(q(eps) || N(0, I)) + KL(q(z | x, u) || p(z | u)). Because z is a linear map of the Gaussian
eps, q(z | x, u) is Gaussian and its KL to the prior is computed exactly (:func:`causal_kl`).
The conditional prior is p(z_i | u_i) = N(lambda_1(u_i), lambda_2^2) with lambda_1(u_i) = u_i
broadcast over the k dims (standardised labels) and lambda_2 = ``prior_std`` (fixed, not learned).
The diagonal of A is held at zero (no self-loops), so g_i never sees z_i itself.

Interventional data: ``model(x, u, intervened)`` takes the (B, n) 0/1 mask of the variables
do() set in each sample. With ``intervention_mask`` those equations are cut in those samples (the
label term drops them, the causal layer zeroes their columns of A so z_j = eps_j, l_m drops them);
otherwise the mask is ignored. ``causalvae-int`` is CausalVAE with the settings that recover the
graph from such data (see :class:`causalvae.models.causal_config.CausalVAEIntConfig`).

Two switches change the latent side (both on the paper's side by default): without
``linear_causal_layer`` step 2 is z = eps (the mask layer alone carries the mechanisms), and
``decoder_input="concepts"`` decodes z instead of the mask layer's output; do() then sets z_i
and recomputes each descendant as z_j' = g_j(A_j o z') + (z_j - g_j(A_j o z)), keeping the
unit's residual. causalvae-int uses both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from causalvae.errors import ConfigError
from causalvae.intervene import do
from causalvae.losses import (
    causal_kl,
    dag_penalty,
    kl_std_normal,
    label_gaussian_nll,
    label_loss,
    mask_loss,
)
from causalvae.models.base import BaseVAE, VAEOutput, fp32
from causalvae.models.causal_config import (
    CausalCoreConfig,
    CausalVAEConfig,
    CausalVAEIntConfig,
    CausalVAEUnsupConfig,
)
from causalvae.models.conditionvae import label_prior
from causalvae.models.nets import _batched_linear
from causalvae.models.registry import register

__all__ = ["CausalVAE", "CausalVAEInt", "CausalVAEPaper", "CausalVAEUnsup", "LabelMechanisms", "MaskLayer",
           "load_adjacency"]


def load_adjacency(spec: str, n: int, dataset_adjacency: np.ndarray | None = None) -> np.ndarray:
    """Resolve ``a_init`` (``zero``, ``dataset`` or a .npy/.json path) to an (n, n) float array."""
    if spec == "zero":
        return np.zeros((n, n), np.float32)
    if spec == "dataset":
        if dataset_adjacency is None:
            raise ConfigError("a_init='dataset' needs a dataset with an adjacency matrix")
        arr = np.asarray(dataset_adjacency, np.float32)
    else:
        path = Path(spec)
        try:
            if path.suffix == ".json":
                import json

                arr = np.asarray(json.loads(path.read_text()), np.float32)
            else:
                arr = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"a_init={spec!r}: cannot read an adjacency matrix ({exc})") from None
        except RecursionError:  # JSON nested thousands deep
            raise ConfigError(f"a_init={spec!r}: the JSON is nested too deeply to be an (n, n) "
                              "adjacency matrix") from None
    if arr.shape != (n, n):
        raise ConfigError(f"a_init={spec!r}: adjacency has shape {arr.shape}, expected ({n}, {n})")
    return arr


class MaskLayer(nn.Module):
    """n small MLPs g_i(A_i o z): (B, n, k) -> (B, n, k), run together as batched matmuls."""

    def __init__(self, n: int, k: int, hidden: int) -> None:
        super().__init__()
        self.n, self.k = n, k
        self.w1, self.b1 = _batched_linear(n, n * k, hidden)
        self.w2, self.b2 = _batched_linear(n, hidden, k)

    def forward(self, z: Tensor, adjacency: Tensor) -> Tensor:
        b = z.shape[0]
        # masked[i, b, j, :] = A[j, i] * z[b, j, :]: concept i sees only its parents
        masked = adjacency.t()[:, None, :, None] * z.unsqueeze(0)  # (n, B, n, k)
        h = F.elu(torch.baddbmm(self.b1, masked.reshape(self.n, b, self.n * self.k), self.w1))
        g = torch.baddbmm(self.b2, h, self.w2)  # (n, B, k)
        return g.transpose(0, 1)  # (B, n, k)


class LabelMechanisms(nn.Module):
    """u_j = g_j(A_j o u) for every child j: n small MLPs on A-gated parent labels, (B, n) -> (B, n).

    Each g_j is 1-Lipschitz in each input: the first layer's weight vector from each parent has
    unit norm, the output layer's weights have unit norm and ELU is 1-Lipschitz, so
    |d g_j / d u_i| <= |A_ij|: A_ij bounds the effect of parent i on child j and stays the edge
    strength (an unconstrained MLP could amplify an arbitrarily small gate).
    """

    def __init__(self, n: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(n, n, hidden))  # (child, parent, hidden)
        self.b1 = nn.Parameter(torch.zeros(n, hidden))
        self.w2 = nn.Parameter(torch.randn(n, hidden))
        self.b2 = nn.Parameter(torch.zeros(n))

    def forward(self, u: Tensor, adjacency: Tensor) -> Tensor:
        w1 = self.w1 / self.w1.norm(dim=2, keepdim=True).clamp(min=1e-8)
        w2 = self.w2 / self.w2.norm(dim=1, keepdim=True).clamp(min=1e-8)
        gated = adjacency.t().unsqueeze(0) * u.unsqueeze(1)  # (B, child, parent): A_ij u_i
        h = F.elu(torch.einsum("bjp,jph->bjh", gated, w1) + self.b1)  # (B, n, H)
        return (h * w2).sum(-1) + self.b2  # (B, n)


class _CausalBase(BaseVAE):
    """Shared machinery: the adjacency A, the causal and mask layers, the structural losses."""

    config: CausalCoreConfig
    has_causal_layer = True
    concept_blocks = True
    accepts_interventions = True  # forward takes the (B, n) do() mask as a third argument

    def __init__(self, config: CausalCoreConfig, initial_adjacency: np.ndarray | None = None) -> None:
        super().__init__(config)
        init = torch.zeros(self.n, self.n) if initial_adjacency is None else torch.as_tensor(
            np.asarray(initial_adjacency, np.float32))
        if init.shape != (self.n, self.n):
            raise ConfigError(f"initial adjacency has shape {tuple(init.shape)}, "
                              f"expected ({self.n}, {self.n})")
        self.adjacency_raw = nn.Parameter(init.clone())
        self.register_buffer("offdiag", 1.0 - torch.eye(self.n), persistent=False)
        # the 0/1 edges A may have (structure_support; set by causalvae.models.structure before
        # training and saved with the weights); None: every pair
        has_support = getattr(config, "structure_support", "none") != "none"
        self.register_buffer("support", torch.ones(self.n, self.n) if has_support else None)
        # labels-first: A (and the label mechanisms) are fitted before training, then frozen
        self.structure_frozen = getattr(config, "structure_fit", "joint") == "labels-first"
        self.mask = MaskLayer(self.n, self.k, config.mask_hidden)
        # augmented-Lagrangian state (used when config.lagrangian), saved with the weights
        self.register_buffer("lagr_lambda", torch.zeros(()))
        self.register_buffer("lagr_rho", torch.tensor(float(config.rho_init)))
        self.register_buffer("lagr_h_prev", torch.tensor(float("inf")))

    @property
    def adjacency(self) -> Tensor:
        """A with a zero diagonal (and zero outside the support), (n, n); A[i, j] != 0 is an
        edge i -> j."""
        adj = self.adjacency_raw * self.offdiag
        return adj if self.support is None else adj * self.support

    def learned_adjacency(self) -> np.ndarray:
        return self.adjacency.detach().float().cpu().numpy()

    def structure_parameters(self) -> list[nn.Parameter]:
        """Parameters trained at ``structure_lr`` when it is set: A (and the label mechanisms)."""
        return [self.adjacency_raw]

    def edge_threshold(self) -> float | None:
        """Threshold that turns |A| into the evaluated graph; None = ``default_threshold(A)``."""
        return self.config.edge_threshold()

    def latent_adjacency(self) -> Tensor:
        """A as the causal and mask layers read it (detached with ``structure_from_labels``)."""
        adj = self.adjacency
        return adj.detach() if getattr(self.config, "structure_from_labels", False) else adj

    def causal_matrix(self, keep: Tensor | None = None) -> Tensor:
        """M = (I - A^T)^-1, (n, n), so that z = M eps; with ``keep`` (B, n), 0 where do() set the
        variable, one M per sample (B, n, n) from A with those columns zeroed (z_j = eps_j).
        Without ``linear_causal_layer``, M = I (n, n) in every case."""
        eye = torch.eye(self.n, device=self.adjacency_raw.device)
        if not self.config.linear_causal_layer:  # z = eps whatever do() cut: M = I
            return eye
        adj = self.latent_adjacency().float()
        if keep is None:
            return torch.linalg.inv(eye - adj.t())
        cut = adj.unsqueeze(0) * keep.float().unsqueeze(1)  # (B, n, n): column j zeroed
        return torch.linalg.inv(eye - cut.transpose(1, 2))

    def _keep(self, intervened: Tensor | None) -> Tensor | None:
        """(B, n) 1 where a sample's equation holds, or None when the mask is off or all ones."""
        if intervened is None or not self.config.intervention_mask:
            return None
        return 1.0 - intervened.float()

    def dag_term(self) -> tuple[Tensor, Tensor]:
        """(weighted acyclicity penalty, raw H(A))."""
        h = dag_penalty(self.adjacency, self.config.c, self.config.dag_penalty)
        if self.config.lagrangian:
            return self.lagr_lambda * h + 0.5 * self.lagr_rho * h.square(), h
        return self.config.alpha * h, h

    def epoch_end(self) -> None:
        """Augmented-Lagrangian update, once per epoch (no-op unless ``lagrangian``, and once A
        is frozen)."""
        if not self.config.lagrangian or self.structure_frozen:
            return
        with torch.no_grad():
            h = dag_penalty(self.adjacency, self.config.c, self.config.dag_penalty)
            self.lagr_lambda += self.lagr_rho * h
            if h > self.config.h_progress * self.lagr_h_prev:
                self.lagr_rho.copy_(torch.clamp(self.lagr_rho * self.config.rho_mult,
                                                max=self.config.rho_max))
            self.lagr_h_prev.copy_(h)

    def infer(self, x: Tensor, u: Tensor | None, sample: bool = False,
              keep: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(mu_eps, logvar_eps, eps, z), each (B, n, k); eps = mu unless ``sample``."""
        mu, logvar = self.encode(x, u)  # (B, n*k) x 2
        mu = mu.view(-1, self.n, self.k)  # (B, n, k)
        logvar = logvar.view(-1, self.n, self.k)  # (B, n, k)
        eps = self.sample(mu, logvar) if sample else mu  # (B, n, k)
        with fp32(x):
            mix = self.causal_matrix(keep)
            spec = "bij,bjk->bik" if mix.dim() == 3 else "ij,bjk->bik"
            z = torch.einsum(spec, mix, eps)  # (B, n, k)
        return mu, logvar, eps, z

    def prior(self, u: Tensor | None, like: Tensor) -> tuple[Tensor, float]:
        """Mean (B, n, k) and variance of p(z | u)."""
        return torch.zeros_like(like), 1.0

    def label_term(self, u: Tensor | None, keep: Tensor | None = None
                   ) -> tuple[Tensor, dict[str, Tensor]]:
        return torch.zeros((), device=self.adjacency_raw.device), {}

    def forward(self, x: Tensor, u: Tensor | None = None,
                intervened: Tensor | None = None) -> VAEOutput:
        cfg = self.config
        keep = self._keep(intervened)  # (B, n) or None
        mu, logvar, eps, z = self.infer(x, u, sample=True, keep=keep)  # (B, n, k) x 4
        with fp32(x):  # latent-space algebra stays in float32 under autocast
            adj = self.adjacency
            g = self.mask(z, self.latent_adjacency())  # (B, n, k): g_i(A_i o z)
            if keep is not None:
                g = g * keep.unsqueeze(2)  # a do()-set z_j = eps_j has no mechanism
            # the decoder reads the mask layer's output (the paper) or the concept latents z
            z_dec = (z if cfg.decoder_input == "concepts" else g + eps).flatten(1)  # (B, n*k)
            kl_eps = kl_std_normal(mu, logvar)  # (B,)
            prior_mu, prior_var = self.prior(u, mu)
            kl_z = causal_kl(mu, logvar, self.causal_matrix(keep), prior_mu, prior_var)  # (B,)
            l_m = mask_loss(z, g, keep).mean()  # cut equations are left out
            dag, h = self.dag_term()
            label, label_terms = ((torch.zeros((), device=x.device), {}) if self.structure_frozen
                                  else self.label_term(u, keep))  # frozen A: no gradient to give
            l1 = adj.abs().sum()
        recon = self.decode(z_dec)  # (B, 3, S, S)
        rec = self.reconstruction_loss(recon, x)  # (B,)
        loss = ((rec + kl_eps + kl_z).mean() + dag + label
                + cfg.gamma * F.relu(l_m - cfg.kappa_m) + cfg.l1 * l1)
        terms = {"recon": rec.mean(), "kl_eps": kl_eps.mean(), "kl_z": kl_z.mean(), "h_a": h,
                 **label_terms, "l_m": l_m, "l1": l1}
        return VAEOutput(loss=loss, terms=terms, recon=recon, latents=z_dec,
                         mu=mu.flatten(1))

    # -- deterministic inference for evaluation and interventions ----------------------------
    @torch.no_grad()
    def decoder_latents(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        _, _, eps, z = self.infer(x, u)
        if self.config.decoder_input == "concepts":
            return z.flatten(1)  # (B, n*k)
        return (self.mask(z, self.adjacency) + eps).flatten(1)  # (B, n*k)

    @torch.no_grad()
    def representation(self, x: Tensor, u: Tensor | None = None) -> Tensor:
        """The concept latents z (the ones the prior ties to the labels), (B, n*k)."""
        return self.infer(x, u)[3].flatten(1)

    def do(self, x: Tensor, u: Tensor | None,
           interventions: dict[int, float | Tensor]) -> Tensor:
        """Images under do(z_i = value, ...): (B, 3, S, S); see :func:`causalvae.intervene.do`."""
        return do(self, x, u, interventions)


@register("causalvae-paper", CausalVAEConfig)
class CausalVAEPaper(_CausalBase):
    """CausalVAE as the paper formulates it: encoder h(x, u), linear causal layer, prior p(z | u),
    label term l_u. (Before config version 2 this model was registered as ``causalvae``.)"""

    config: CausalVAEConfig
    uses_labels = True

    def prior(self, u: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor | float]:
        assert u is not None
        return label_prior(u, self.k, self.config.prior_std)  # (B, n, k), var

    def __init__(self, config: CausalVAEConfig,
                 initial_adjacency: np.ndarray | None = None) -> None:
        super().__init__(config, initial_adjacency)
        self.label_net = (LabelMechanisms(self.n, config.label_hidden)
                          if config.label_model == "mlp" else None)
        if self.structure_frozen:  # trained only by causalvae.models.structure.fit_structure
            for p in self.structure_parameters():
                p.requires_grad_(False)

    def structure_parameters(self) -> list[nn.Parameter]:
        extra = list(self.label_net.parameters()) if self.label_net is not None else []
        return [self.adjacency_raw, *extra]

    def label_prediction(self, u: Tensor) -> Tensor:
        """The label model's prediction of each label from its parents' labels, (B, n)."""
        if self.label_net is not None:
            return self.label_net(u, self.adjacency)
        return u @ self.adjacency  # (A^T u)_j

    def label_term(self, u: Tensor | None, keep: Tensor | None = None
                   ) -> tuple[Tensor, dict[str, Tensor]]:
        assert u is not None
        cfg = self.config
        present = ~torch.isnan(u)  # (B, n): unlabelled samples carry NaN
        if not bool(present.all()):
            keep = present.float() if keep is None else keep * present.float()
        u = torch.where(present, u.float(), 0.0)
        if cfg.label_model == "linear" and cfg.label_likelihood == "mse":
            l_u = label_loss(u, self.adjacency, keep).mean()
        else:
            residual = u - self.label_prediction(u)  # (B, n)
            if cfg.label_likelihood == "gaussian":
                l_u = label_gaussian_nll(residual, keep, cfg.label_floor)
            else:
                sq = residual.square()
                l_u = (sq if keep is None else sq * keep).sum(1).mean()
        if cfg.label_likelihood == "gaussian":  # a log-likelihood: no hinge (it goes negative)
            return cfg.beta * l_u, {"l_u": l_u}
        return cfg.beta * F.relu(l_u - cfg.kappa_u), {"l_u": l_u}


@register("causalvae", CausalVAEIntConfig, aliases=("causalvae-int",))
class CausalVAE(CausalVAEPaper):
    """The recommended CausalVAE: learns the graph and the concepts (alias causalvae-int).

    Same model as ``causalvae-paper`` with the settings of :class:`CausalVAEIntConfig` as
    defaults (graph from the labels, interventional likelihood, no linear causal layer)."""

    config: CausalVAEIntConfig


@register("causalvae-unsup", CausalVAEUnsupConfig)
class CausalVAEUnsup(_CausalBase):
    """CausalVAE without labels: encoder h(x), N(0, I) priors on eps and z, no l_u."""

    config: CausalVAEUnsupConfig


CausalVAEInt = CausalVAE  # the recommended model's former name
