"""Loss terms of the models, as pure tensor functions.

Per-sample terms return shape (B,) (summed over pixels / latent dimensions); the models average
them over the batch. The equations follow ``REFERENCE.md``: Gaussian KL divergences, the acyclicity
function H(A), CausalVAE's label and latent-reconstruction terms, the exact KL of the causal layer's
Gaussian posterior, and CHyVAE's inverse-Wishart regulariser and Bartlett sampler.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "bernoulli_nll",
    "causal_kl",
    "chyvae_regulariser",
    "dag_penalty",
    "gaussian_nll",
    "kl_normal",
    "kl_std_normal",
    "label_gaussian_nll",
    "label_loss",
    "mask_loss",
    "sample_inverse_wishart",
]


_SOFTPLUS_FLOOR = -80.0  # exp(-80) ~ 2e-35 is a normal float32; exp(-88) and below are not


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    """-log p(x | logits) for pixel intensities in [0, 1], summed per sample -> (B,).

    Written as softplus(l) - l x, the same function as ``binary_cross_entropy_with_logits`` to
    within one float32 rounding (loss and gradient), and faster because it avoids subnormal
    numbers, which are slow on x86. A trained decoder of a bright scene reaches l ~ 70-250 on the
    background, where the library's form takes exp(-|l|) into the subnormal range while softplus
    returns l above 20 without an exp. Logits below -80 (a dark background) would take softplus's
    own exp(l) there; when the batch has any, they are clamped at -80 (exp(-80) is still a normal
    float32), which changes a pixel's loss by less than exp(-80) ~ 2e-35 and its gradient by less
    than sigmoid(-80). The clamp is skipped otherwise (it costs a pass, ~5 ms on a batch of 128
    at 64 px) and on a GPU. ``bench/bench_bce.py`` has the times, in BENCHMARKS.md.
    """
    logits, x = logits.float(), x.float()
    # on CPU only: a GPU computes subnormals at full speed, and this check would sync it each step
    dark = (logits.device.type == "cpu" and logits.numel() > 0
            and bool(logits.detach().amin() < _SOFTPLUS_FLOOR))
    inner = logits.clamp(min=_SOFTPLUS_FLOOR) if dark else logits
    nll = F.softplus(inner) - logits * x
    return nll.flatten(1).sum(1)  # (B,)


def gaussian_nll(mean: Tensor, x: Tensor, std: float) -> Tensor:
    """-log N(x; mean, std^2 I) up to a constant, summed per sample -> (B,)."""
    sq = (x.float() - mean.float()).square().flatten(1).sum(1)  # (B,)
    return 0.5 * sq / std**2


def kl_std_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over all but the batch dim -> (B,)."""
    kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)
    return kl.flatten(1).sum(1)


def kl_normal(mu: Tensor, logvar: Tensor, prior_mu: Tensor, prior_var: float | Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(prior_mu, prior_var)) for diagonal Gaussians -> (B,)."""
    prior_var = torch.as_tensor(prior_var, dtype=mu.dtype, device=mu.device)
    kl = 0.5 * ((logvar.exp() + (mu - prior_mu).square()) / prior_var - 1.0
                + prior_var.log() - logvar)
    return kl.flatten(1).sum(1)


def dag_penalty(adjacency: Tensor, c: float = 1.0, form: str = "poly") -> Tensor:
    """Acyclicity function H(A) >= 0, zero exactly when the weighted graph A is a DAG.

    ``poly``: tr((I + (c/n) A o A)^n) - n (the CausalVAE / DAG-GNN form);
    ``expm``: tr(exp(c A o A)) - n (the NOTEARS form).
    """
    n = adjacency.shape[0]
    sq = adjacency.float().square()  # (n, n), nonnegative so every closed walk adds to the trace
    eye = torch.eye(n, device=adjacency.device)
    if form == "poly":
        power = torch.linalg.matrix_power(eye + (c / n) * sq, n)  # (n, n)
    elif form == "expm":
        power = torch.linalg.matrix_exp(c * sq)  # (n, n)
    else:
        raise ValueError(f"unknown DAG penalty form {form!r}")
    return torch.trace(power) - n


def label_loss(u: Tensor, adjacency: Tensor, keep: Tensor | None = None) -> Tensor:
    """l_u = ||u - sigma(A^T u)||^2 per sample -> (B,), with sigma the identity.

    Labels are standardised (zero mean, unit variance on the train split), so the paper's squashing
    sigma, meant for labels in a bounded range, is replaced by the identity: each standardised
    label is regressed linearly on its parents' labels. ``keep`` (B, n), 1 where the equation of
    that variable holds in that sample and 0 where do() set the variable (the interventional
    likelihood: a do()-set variable is not explained by its parents), drops those equations.
    """
    pred = u @ adjacency  # (B, n): (A^T u)_j = sum_i A_ij u_i
    sq = (u - pred).square()  # (B, n)
    return (sq if keep is None else sq * keep).sum(1)


def label_gaussian_nll(residual: Tensor, keep: Tensor | None = None,
                       floor: float = 1e-2) -> Tensor:
    """Profile Gaussian NLL of label residuals, one unknown noise variance per variable -> ().

    sum_j 1/2 log(s_j + floor), s_j = mean over the samples whose equation j holds (``keep``) of
    the squared residual r_bj (B, n). This is -log p(u | parents) per sample up to constants with
    each variance set to its maximum-likelihood value s_j; ``floor`` keeps it finite for
    deterministic mechanisms. Unlike the sum of squares (equal unit variances), it scores graphs
    by likelihood: an equal-variance least-squares fit prefers graphs with few high-variance roots,
    which on standardised labels ranks some wrong graphs above the true one.
    """
    sq = residual.float().square()  # (B, n)
    keep = torch.ones_like(sq) if keep is None else keep.float()
    mean = (sq * keep).sum(0) / keep.sum(0).clamp(min=1.0)  # (n,)
    return 0.5 * torch.log(mean + floor).sum()


def mask_loss(z: Tensor, g: Tensor, keep: Tensor | None = None) -> Tensor:
    """l_m = sum_i ||z_i - g_i(A_i o z)||^2 per sample -> (B,); z, g are (B, n, k).

    ``keep`` (B, n) is 0 for equations cut by do() in that sample: they are left out."""
    sq = (z - g).square()
    if keep is not None:
        sq = sq * keep.unsqueeze(2)
    return sq.flatten(1).sum(1)


def causal_kl(mu_eps: Tensor, logvar_eps: Tensor, mix: Tensor, prior_mu: Tensor,
              prior_var: float | Tensor) -> Tensor:
    """Exact KL(q(z | x, u) || p(z | u)) where z = M eps, eps ~ N(mu, diag(var)) -> (B,).

    For each of the k latent dims, z is Gaussian over the n concepts with mean M mu and covariance
    M diag(var) M^T; the prior is N(prior_mu, prior_var I). Only the diagonal of that covariance
    and log|det M| are needed: tr(P^-1 S) = sum_i S_ii / p and log det S = 2 log|det M| +
    sum log var. ``mix`` is M = (I - A^T)^-1, (n, n), or one M per sample (B, n, n) (a causal
    layer whose intervened equations are cut); mu/logvar/prior_mu are (B, n, k).
    """
    k = mu_eps.shape[-1]
    spec = "bij,bjk->bik" if mix.dim() == 3 else "ij,bjk->bik"
    z_mu = torch.einsum(spec, mix, mu_eps)  # (B, n, k)
    z_var = torch.einsum(spec, mix.square(), logvar_eps.exp())  # (B, n, k) diag of S
    # a float, or (B, n, k) where some samples' labels are missing (their prior is wider)
    log_p = prior_var.log() if isinstance(prior_var, Tensor) else math.log(prior_var)
    per_dim = (z_var + (z_mu - prior_mu).square()) / prior_var - 1.0 + log_p - logvar_eps
    logdet_mix = torch.linalg.slogdet(mix)[1]  # () or (B,): log|det M|, 0 when A is a DAG
    return 0.5 * per_dim.flatten(1).sum(1) - k * logdet_mix


def chyvae_regulariser(z: Tensor, mu: Tensor, sigma: Tensor, psi: Tensor, nu: float) -> Tensor:
    """CHyVAE's R per sample -> (B,), as in the public code with one sample z per input (B = 1).

    R = -(nu+1)/2 logdet(Psi + z z^T) + 1/2 logdet(Sigma)
        - (nu+1)/2 tr[(Sigma + mu mu^T + Psi)(Psi + z z^T)^-1],
    where Sigma = L L^T is the posterior covariance (not an inverse-Wishart sample: the public code
    passes the encoder's covariance here and uses IW sampling only to generate from the prior).
    z, mu: (B, d); sigma: (B, d, d); psi: (d, d).
    """
    psi_zz = psi + z.unsqueeze(2) * z.unsqueeze(1)  # (B, d, d)
    chol = torch.linalg.cholesky(psi_zz)  # (B, d, d)
    logdet_psi_zz = 2.0 * chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (B,)
    logdet_sigma = torch.linalg.slogdet(sigma)[1]  # (B,)
    second = sigma + mu.unsqueeze(2) * mu.unsqueeze(1) + psi  # (B, d, d)
    # tr(S (Psi + z z^T)^-1) = tr((Psi + z z^T)^-1 S) by symmetry of both factors
    solved = torch.cholesky_solve(second, chol)  # (B, d, d)
    trace = solved.diagonal(dim1=-2, dim2=-1).sum(-1)  # (B,)
    return -0.5 * (nu + 1) * logdet_psi_zz + 0.5 * logdet_sigma - 0.5 * (nu + 1) * trace


def sample_inverse_wishart(psi: Tensor, nu: float, n: int,
                           generator: torch.Generator | None = None) -> Tensor:
    """Draw n samples of IW(psi, nu) by the Bartlett decomposition -> (n, d, d).

    Sigma ~ IW(psi, nu) iff Sigma^-1 ~ W(psi^-1, nu) = L A A^T L^T with L = chol(psi^-1), A lower
    triangular, A_ii = sqrt(chi2(nu - i)) (i from 0) and A_ij ~ N(0, 1) below the diagonal.
    """
    d = psi.shape[0]
    opts = {"dtype": psi.dtype, "device": psi.device}
    dof = nu - torch.arange(d, **opts)  # (d,)
    # chi2(k) = 2 Gamma(k / 2, 1); sampled on CPU so a generator drives it on any device
    gamma = torch._standard_gamma((dof / 2).cpu().expand(n, d).contiguous(), generator=generator)
    diag = (2.0 * gamma).sqrt().to(**opts)  # (n, d)
    lower = torch.randn(n, d, d, generator=generator).to(**opts).tril(-1)  # (n, d, d)
    bartlett = lower + torch.diag_embed(diag)  # (n, d, d)
    chol_inv = torch.linalg.cholesky(torch.linalg.inv(psi))  # (d, d)
    factor = chol_inv @ bartlett  # (n, d, d): precision = factor factor^T
    eye = torch.eye(d, **opts).expand(n, d, d)
    factor_inv = torch.linalg.solve_triangular(factor, eye, upper=False)  # (n, d, d)
    return factor_inv.transpose(-1, -2) @ factor_inv  # (n, d, d) = (factor factor^T)^-1
