"""Interventions and latent traversals at the model level.

``do`` implements CausalVAE's do-operation deterministically (posterior means, no sampling):
encode, set the latent block z_i of every intervened concept to its value, recompute the
descendants of the intervened concepts in topological order of the learned graph (edges where
|A_ij| > ``graph_threshold``) through the mask layer, z_j = g_j(A_j o z) + eps_j, and decode.
With ``decoder_input="concepts"`` (causalvae-int) the decoder reads z, the mask layer reads A
restricted to those edges, and eps_j is the unit's residual z_j - g_j(A_j o z) (abduction).
Concepts that are not descendants keep their latents bit for bit. Values are in the units of the
latents; for supervised CausalVAE the prior ties z_i to the standardised label u_i, so a value is
a label in standard deviations from the train mean.

``traverse`` sets one decoder-latent dimension to a sweep of values for any model. The models
call these functions (``model.do``, ``model.traverse``); this module imports no model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from causalvae.errors import InterventionError


class LatentModel(Protocol):
    """What these functions need of a model (:class:`causalvae.models.base.BaseVAE` has it all;
    ``do`` also needs a causal layer: ``n``, ``k``, ``infer``, ``adjacency``, ``mask``). A
    protocol, so that this module sits below the models that call it."""

    name: str
    z_dim: int
    config: Any

    def decoder_latents(self, x: Tensor, u: Tensor | None = None) -> Tensor: ...

    def decode(self, z: Tensor) -> Tensor: ...

    def to_image(self, out: Tensor) -> Tensor: ...

__all__ = ["descendants", "do", "do_latents", "graph_of", "topological_order", "traverse"]


def graph_of(adjacency: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean (n, n) graph of the edges with |A_ij| > threshold (diagonal ignored)."""
    graph = np.abs(np.asarray(adjacency)) > threshold
    np.fill_diagonal(graph, False)
    return graph


def topological_order(graph: np.ndarray) -> list[int]:
    """Kahn's algorithm on a boolean (n, n) graph (row -> column); raises on a cycle."""
    graph = np.asarray(graph, bool)
    indegree = graph.sum(0).astype(int)
    ready = [i for i in range(graph.shape[0]) if indegree[i] == 0]
    order: list[int] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in np.flatnonzero(graph[node]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(int(child))
    if len(order) != graph.shape[0]:
        cyclic = sorted(set(range(graph.shape[0])) - set(order))
        err = InterventionError(
            f"the learned graph has a cycle through concepts {cyclic}; raise graph_threshold "
            "or train longer so that H(A) reaches zero"
        )
        err.concepts = cyclic  # type: ignore[attr-defined]  # callers name them
        raise err
    return order


def descendants(graph: np.ndarray, roots: Iterable[int]) -> set[int]:
    """Strict descendants of ``roots`` in a boolean (n, n) graph."""
    graph = np.asarray(graph, bool)
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        for child in np.flatnonzero(graph[stack.pop()]):
            if int(child) not in seen:
                seen.add(int(child))
                stack.append(int(child))
    return seen


def _block_value(value: float | Tensor, batch: int, k: int, like: Tensor) -> Tensor:
    """A scalar, (k,), (B,) or (B, k) value -> (B, k)."""
    v = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if v.dim() == 0:
        return v.expand(batch, k)
    if v.shape == (k,):
        return v.expand(batch, k)
    if v.shape == (batch,):
        return v[:, None].expand(batch, k)
    if v.shape == (batch, k):
        return v
    raise InterventionError(
        f"intervention value of shape {tuple(v.shape)} is not a scalar, ({k},), ({batch},) "
        f"or ({batch}, {k})"
    )


@torch.no_grad()
def do_latents(model: LatentModel, x: Tensor, u: Tensor | None,
               interventions: dict[int, float | Tensor]) -> tuple[Tensor, Tensor]:
    """Decoder latents before and after do(z_i = v, ...): two (B, n, k) tensors."""
    if not getattr(model, "has_causal_layer", False):
        raise InterventionError(f"model {model.name!r} has no causal layer; use traverse()")
    n, k = model.n, model.k
    bad = [i for i in interventions if not 0 <= int(i) < n]
    if bad:
        raise InterventionError(f"concept index {bad} out of range 0..{n - 1}")
    _, _, eps, z = model.infer(x, u)  # (B, n, k) x 2, posterior means
    adj = model.adjacency
    graph = graph_of(adj.detach().cpu().numpy(), model.config.graph_threshold)
    if model.config.decoder_input == "concepts":
        # the decoder reads z; the mechanisms use the thresholded graph's edges only (so the
        # topological order below is exact), and each unit keeps its residual z_j - g_j(A_j o z)
        adj = adj * torch.as_tensor(graph, dtype=adj.dtype, device=adj.device)
        eps = z - model.mask(z, adj)
        before = z.clone()
    else:
        before = model.mask(z, adj) + eps  # (B, n, k): what the decoder reads
    affected = descendants(graph, interventions) - set(interventions)
    order = topological_order(graph)
    z_new = z.clone()  # (B, n, k): inputs to the g_j
    after = before.clone()  # (B, n, k)
    for i, value in interventions.items():
        block = _block_value(value, z.shape[0], k, z)  # (B, k)
        z_new[:, i] = block
        after[:, i] = block
    for j in order:
        if j in affected:
            z_new[:, j] = model.mask(z_new, adj)[:, j] + eps[:, j]  # (B, k)
            after[:, j] = z_new[:, j]
    return before, after


@torch.no_grad()
def do(model: LatentModel, x: Tensor, u: Tensor | None,
       interventions: dict[int, float | Tensor]) -> Tensor:
    """Images under the intervention, (B, 3, S, S) in [0, 1]."""
    _, after = do_latents(model, x, u, interventions)
    return model.to_image(model.decode(after.flatten(1)))


@torch.no_grad()
def traverse(model: LatentModel, x: Tensor, dim: int, values: Tensor | Sequence[float],
             u: Tensor | None = None) -> Tensor:
    """Decode posterior-mean latents with dimension ``dim`` set to each value: (V, B, 3, S, S)."""
    if not 0 <= dim < model.z_dim:
        raise InterventionError(f"latent dimension {dim} out of range 0..{model.z_dim - 1}")
    latents = model.decoder_latents(x, u)  # (B, z_dim)
    frames = []
    for value in torch.as_tensor(values, dtype=latents.dtype).tolist():
        z = latents.clone()
        z[:, dim] = value
        frames.append(model.to_image(model.decode(z)))  # (B, 3, S, S)
    return torch.stack(frames)  # (V, B, 3, S, S)
