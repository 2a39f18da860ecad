"""Models, losses, the causal layer, interventions, configs and the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from causalvae.config import RunConfig, apply_overrides
from causalvae.errors import ConfigError, InterventionError, ModelNotFoundError
from causalvae.intervene import descendants, do_latents, topological_order
from causalvae.losses import (
    bernoulli_nll,
    causal_kl,
    dag_penalty,
    label_gaussian_nll,
    label_loss,
    mask_loss,
    sample_inverse_wishart,
)
from causalvae.models import MODELS, build_model, get_model_class, list_models
from causalvae.models.causal import LabelMechanisms

ALL = sorted(MODELS)
N, K, S, B = 3, 4, 32, 5


def make_model(name: str, *items: str, **kwargs):
    cfg = apply_overrides(RunConfig.default(name), ["image_size=32", "conv_width=8",
                                                     f"n_concepts={N}", *items])
    torch.manual_seed(0)
    return build_model(name, cfg.model, **kwargs), cfg


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 3, S, S, generator=g), torch.randn(B, N, generator=g)


def test_registry_lists_the_six_models() -> None:
    assert list_models() == ["betavae", "causalvae", "causalvae-paper", "causalvae-unsup", "chyvae",
                             "conditionvae"]


def test_unknown_model_suggests_a_name() -> None:
    with pytest.raises(ModelNotFoundError, match="did you mean 'causalvae'"):
        get_model_class("causalvea")


@pytest.mark.parametrize("arch", ["conv", "reference", "conv-additive"])
@pytest.mark.parametrize("name", ALL)
def test_forward_backward_shapes_and_finite_terms(name: str, arch: str) -> None:
    extra = ["arch=conv", "decoder=additive"] if arch == "conv-additive" else [f"arch={arch}"]
    model, _ = make_model(name, *extra)
    x, u = batch()
    out = model(x, u)
    assert out.loss.shape == ()
    assert out.recon.shape == (B, 3, S, S)
    assert out.latents.shape == (B, N * K)
    assert out.mu.shape == (B, N * K)
    assert out.terms and all(v.shape == () and torch.isfinite(v) for v in out.terms.values())
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]  # not a frozen A
    assert all(g is not None and torch.isfinite(g).all() for g in grads), "every weight is used"
    assert model.reconstruct(x, u).shape == (B, 3, S, S)
    assert model.traverse(x, 0, [-1.0, 0.0, 1.0], u).shape == (3, B, 3, S, S)


@pytest.mark.parametrize("size", [32, 40, 64, 100, 128])
def test_conv_architecture_handles_any_size(size: int) -> None:
    model, _ = make_model("betavae", f"image_size={size}")
    out = model(torch.rand(2, 3, size, size))
    assert out.recon.shape == (2, 3, size, size)


@pytest.mark.parametrize("size", [32, 40, 64, 100])
def test_additive_decoder_is_a_sum_of_per_block_decoders(size: int) -> None:
    """Changing block 0 changes the logits by an amount that does not depend on other blocks."""
    model, _ = make_model("conditionvae", "decoder=additive", f"image_size={size}")
    g = torch.Generator().manual_seed(3)
    z, z_other = torch.randn(2, N * K, generator=g), torch.randn(2, N * K, generator=g)
    swapped = z.clone()
    swapped[:, :K] = z_other[:, :K]  # block 0 from z_other, the rest from z
    y, y_swapped = z_other.clone(), z_other.clone()
    y_swapped[:, :K] = z[:, :K]  # and the reverse
    with torch.no_grad():
        d1 = model.decode(z) - model.decode(swapped)
        d2 = model.decode(y_swapped) - model.decode(y)
        joint, _ = make_model("conditionvae", f"image_size={size}")
        e1 = joint.decode(z) - joint.decode(swapped)
        e2 = joint.decode(y_swapped) - joint.decode(y)
    assert model.decode(z).shape == (2, 3, size, size)
    assert d1.abs().max() > 1e-4  # block 0 matters
    torch.testing.assert_close(d1, d2, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(e1, e2, atol=1e-5)  # the joint decoder is not additive


def test_decoder_choice_is_checked() -> None:
    with pytest.raises(ConfigError, match="decoder='sum' is not one of joint, additive"):
        make_model("betavae", "decoder=sum")


@pytest.mark.parametrize("name", ALL)
def test_save_load_round_trip(name: str, tmp_path) -> None:
    model, cfg = make_model(name)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch.save(model.state_dict(), tmp_path / "w.pt")
    (tmp_path / "c.json").write_text(cfg.to_json())
    cfg2 = RunConfig.from_json(tmp_path / "c.json")
    assert cfg2 == cfg
    clone = build_model(name, cfg2.model)
    clone.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    model.eval()
    clone.eval()
    x, u = batch(1)
    assert torch.equal(model.reconstruct(x, u), clone.reconstruct(x, u))


def test_dag_penalty_zero_on_dag_positive_on_cycle() -> None:
    dag = torch.triu(torch.randn(5, 5), diagonal=1)
    perm = torch.randperm(5)
    dag = dag[perm][:, perm]  # a DAG in another node order
    cycle = torch.zeros(5, 5)
    cycle[0, 3] = cycle[3, 1] = cycle[1, 0] = 0.5
    for form in ("poly", "expm"):
        assert abs(dag_penalty(dag, 1.0, form).item()) < 1e-5
        assert dag_penalty(cycle, 1.0, form).item() > 1e-3
        assert dag_penalty(dag + cycle * 0, 2.0, form).item() == pytest.approx(0, abs=1e-5)


def test_causal_layer_inverts() -> None:
    adj = torch.tensor([[0, 0.8, -0.5], [0, 0, 1.2], [0.3, 0, 0]])  # with a cycle: still invertible
    model, _ = make_model("causalvae-paper", initial_adjacency=adj.numpy())
    x, u = batch()
    _, _, eps, z = model.infer(x, u)
    a = model.adjacency
    lhs = torch.einsum("ij,bjk->bik", torch.eye(N) - a.t(), z)  # (I - A^T) z
    torch.testing.assert_close(lhs, eps, atol=1e-5, rtol=1e-5)


def test_causal_kl_matches_full_gaussian_kl() -> None:
    torch.manual_seed(0)
    n, k = 3, 2
    adj = torch.tensor([[0, 0.5, 0.2], [0, 0, -0.7], [0, 0, 0]])
    mix = torch.linalg.inv(torch.eye(n) - adj.t())
    mu, logvar, prior = torch.randn(1, n, k), torch.randn(1, n, k) * 0.3, torch.randn(1, n, k)
    ours = causal_kl(mu, logvar, mix, prior, 0.5)
    total = 0.0
    for d in range(k):
        cov = mix @ torch.diag(logvar[0, :, d].exp()) @ mix.t()
        q = torch.distributions.MultivariateNormal(mix @ mu[0, :, d], cov)
        p = torch.distributions.MultivariateNormal(prior[0, :, d], 0.5 * torch.eye(n))
        total += torch.distributions.kl_divergence(q, p)
    torch.testing.assert_close(ours[0], total, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("scale", [1.0, 100.0])  # a fresh decoder's logits, and a trained one's
def test_bernoulli_nll_is_the_binary_cross_entropy_with_its_gradient(scale: float) -> None:
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(4, 3, 8, 8, generator=g) * scale).requires_grad_(True)
    x = torch.rand(4, 3, 8, 8, generator=g)
    x[0], x[1] = 0.0, 1.0  # saturated pixels, as on a scene's background
    if scale > 1:  # the clamp at -80 is exercised: logits far below it, as on a dark background
        assert logits.detach().lt(-200).sum() > 10
    nll = bernoulli_nll(logits, x)
    nll.sum().backward()
    l64, x64 = logits.detach().double(), x.double()  # -x log s(l) - (1 - x) log(1 - s(l)), exact
    exact = -(x64 * F.logsigmoid(l64) + (1 - x64) * F.logsigmoid(-l64)).flatten(1).sum(1)
    torch.testing.assert_close(nll.double(), exact, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(logits.grad.double(), torch.sigmoid(l64) - x64, rtol=0, atol=1e-6)


def test_bernoulli_nll_of_an_empty_batch_is_empty() -> None:
    assert bernoulli_nll(torch.empty(0, 3, 8, 8), torch.empty(0, 3, 8, 8)).shape == (0,)


def test_label_loss_is_zero_for_a_linear_sem() -> None:
    adj = torch.tensor([[0, 2.0], [0, 0]])
    u0 = torch.randn(10)
    u = torch.stack([u0, 2.0 * u0], 1)
    # l_u regresses each label on its parents: the root keeps its own variance
    assert torch.allclose(label_loss(u, adj), u0.square())


def test_label_terms_drop_the_equations_of_intervened_variables() -> None:
    adj = torch.tensor([[0, 2.0], [0, 0]])
    u0 = torch.randn(10)
    u = torch.stack([u0, 2.0 * u0], 1)
    u[:5, 1] = torch.randn(5)  # do(u_1) in the first five samples: its equation does not hold
    keep = torch.ones(10, 2)
    keep[:5, 1] = 0
    assert torch.allclose(label_loss(u, adj, keep), u0.square())
    assert label_loss(u, adj)[:5].gt(u0[:5].square()).any()  # unmasked, the do() samples count
    residual = u - u @ adj
    nll = label_gaussian_nll(residual, keep, floor=1e-2)
    expected = 0.5 * (torch.log(u0.square().mean() + 1e-2) + torch.log(torch.tensor(1e-2)))
    torch.testing.assert_close(nll, expected)


def test_mask_loss_leaves_out_the_equations_cut_by_do() -> None:
    z, g = torch.randn(B, N, K), torch.randn(B, N, K)
    keep = torch.ones(B, N)
    keep[0, 1] = 0.0
    got = mask_loss(z, g, keep)
    want = (z - g).square().sum(2)  # (B, N)
    want[0, 1] = 0.0
    torch.testing.assert_close(got, want.sum(1))
    torch.testing.assert_close(mask_loss(z, g), (z - g).square().flatten(1).sum(1))


def test_causal_kl_with_one_matrix_per_sample_matches_the_shared_one() -> None:
    torch.manual_seed(0)
    adj = torch.tensor([[0, 0.5, 0.2], [0, 0, -0.7], [0, 0, 0]])
    mix = torch.linalg.inv(torch.eye(3) - adj.t())
    mu, logvar, prior = torch.randn(4, 3, 2), torch.randn(4, 3, 2) * 0.3, torch.randn(4, 3, 2)
    shared = causal_kl(mu, logvar, mix, prior, 0.5)
    batched = causal_kl(mu, logvar, mix.expand(4, 3, 3), prior, 0.5)
    torch.testing.assert_close(shared, batched)


def test_intervention_mask_cuts_the_equations_of_do_set_concepts() -> None:
    adj = np.zeros((N, N), np.float32)
    adj[0, 1] = adj[1, 2] = 0.8
    model, _ = make_model("causalvae-paper", "intervention_mask=true", initial_adjacency=adj)
    x, u = batch()
    keep = torch.ones(B, N)
    keep[:, 1] = 0  # do(z_1) in every sample
    _, _, eps, z = model.infer(x, u, keep=keep)
    torch.testing.assert_close(z[:, 1], eps[:, 1])  # z_1 = eps_1: its parent is cut
    torch.testing.assert_close(z[:, 2], eps[:, 2] + 0.8 * z[:, 1])  # its child still listens
    intervened = 1 - keep
    out = model(x, u, intervened)
    assert torch.isfinite(out.loss)
    # the paper formulation (default) ignores the mask
    paper, _ = make_model("causalvae-paper", initial_adjacency=adj)
    torch.manual_seed(1)
    a = paper(x, u, intervened).loss
    torch.manual_seed(1)
    assert torch.equal(a, paper(x, u).loss)


def test_causalvae_int_defaults_and_structure_from_labels() -> None:
    model, cfg = make_model("causalvae-int", "structure_fit=joint")
    m = cfg.model
    assert (m.intervention_mask, m.label_model, m.label_likelihood, m.lagrangian,
            m.structure_from_labels, m.threshold_rule) == (True, "mlp", "gaussian", True, True,
                                                          "absolute")
    assert model.edge_threshold() == m.graph_threshold
    assert make_model("causalvae-paper")[0].edge_threshold() is None  # default_threshold
    x, u = batch()
    intervened = torch.zeros(B, N)
    intervened[0, 2] = 1
    out = model(x, u, intervened)
    out.loss.backward()
    got = model.adjacency_raw.grad.clone()
    # A's gradient comes from the label term, acyclicity and l1 only, not from the ELBO
    model.zero_grad()
    label, _ = model.label_term(u, 1 - intervened)
    dag, _ = model.dag_term()
    (label + dag + m.l1 * model.adjacency.abs().sum()).backward()
    torch.testing.assert_close(got, model.adjacency_raw.grad)
    assert {id(p) for p in model.structure_parameters()} >= {id(model.adjacency_raw)}


def test_label_mechanisms_are_lipschitz_in_each_gated_input() -> None:
    torch.manual_seed(0)
    net = LabelMechanisms(3, 16)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(5.0)  # large raw weights: the normalisation must still bound the slopes
    adj = torch.tensor([[0, 0.7, 0.1], [0, 0, 2.0], [0, 0, 0]])
    u = torch.randn(200, 3)
    for i in range(3):
        v = u.clone()
        v[:, i] += 0.5
        change = (net(v, adj) - net(u, adj)).abs()  # (200, 3)
        assert (change <= adj[i].abs() * 0.5 + 1e-5).all()


def chain_model(name: str = "causalvae-paper"):
    adj = np.zeros((N + 1, N + 1), np.float32)
    adj[0, 1] = adj[1, 2] = 1.0  # 0 -> 1 -> 2, and 3 isolated
    cfg = apply_overrides(RunConfig.default(name),
                          ["image_size=32", "conv_width=8", f"n_concepts={N + 1}"])
    torch.manual_seed(0)
    model = build_model(name, cfg.model, initial_adjacency=adj).eval()
    g = torch.Generator().manual_seed(3)
    return model, torch.rand(B, 3, S, S, generator=g), torch.randn(B, N + 1, generator=g)


def test_causalvae_int_decodes_the_concepts_without_a_linear_causal_layer() -> None:
    model, x, u = chain_model("causalvae-int")
    assert not model.config.linear_causal_layer and model.config.decoder_input == "concepts"
    _, _, eps, z = model.infer(x, u)
    assert torch.equal(z, eps) and torch.equal(model.causal_matrix(), torch.eye(N + 1))
    assert torch.equal(model.decoder_latents(x, u), z.flatten(1))  # the decoder reads z
    assert torch.equal(model.representation(x, u), z.flatten(1))
    # do() with each concept's own value changes nothing: every unit keeps its residual
    before, after = do_latents(model, x, u, {0: z[:, 0]})
    torch.testing.assert_close(after, before)
    before, after = do_latents(model, x, u, {0: 2.0})
    g = model.mask(after, model.adjacency)
    # the child follows its mechanism: z1' - g1(z') = z1 - g1(z) (the unit's residual)
    torch.testing.assert_close(after[:, 1] - g[:, 1],
                               before[:, 1] - model.mask(before, model.adjacency)[:, 1])
    assert not torch.allclose(before[:, 2], after[:, 2])  # grandchild moves too
    assert torch.equal(before[:, 3], after[:, 3])  # unrelated: untouched
    # the paper formulation keeps its linear causal layer
    paper, _, _ = chain_model()
    assert not torch.equal(paper.causal_matrix(), torch.eye(N + 1))


def test_concept_do_keeps_every_residual_when_a_weak_edge_is_cut() -> None:
    """0 -> 1 and 0 -> 2 are edges, 2 -> 1 (|A| = 0.1) is below the threshold: the mechanisms
    read the thresholded graph, so each descendant's residual is exactly the unit's."""
    adj = np.zeros((N + 1, N + 1), np.float32)
    adj[0, 1] = adj[0, 2] = 1.0
    adj[2, 1] = 0.1
    cfg = apply_overrides(RunConfig.default("causalvae-int"),
                          ["image_size=32", "conv_width=8", f"n_concepts={N + 1}"])
    torch.manual_seed(0)
    model = build_model("causalvae-int", cfg.model, initial_adjacency=adj).eval()
    x, u = batch(4)[0], torch.randn(B, N + 1, generator=torch.Generator().manual_seed(4))
    before, after = do_latents(model, x, u, {0: 2.0})
    kept = model.adjacency * torch.as_tensor(np.abs(adj) > cfg.model.graph_threshold)
    for j in (1, 2):
        torch.testing.assert_close(after[:, j] - model.mask(after, kept)[:, j],
                                   before[:, j] - model.mask(before, kept)[:, j])
    assert not torch.allclose(before[:, 1], after[:, 1])


def test_do_changes_only_descendants() -> None:
    model, x, u = chain_model()
    before, after = do_latents(model, x, u, {1: 2.5})
    assert torch.equal(before[:, 0], after[:, 0])  # parent: untouched
    assert torch.equal(before[:, 3], after[:, 3])  # unrelated: untouched
    assert torch.all(after[:, 1] == 2.5)  # intervened: the value on all k dims
    assert not torch.allclose(before[:, 2], after[:, 2])  # child: recomputed
    images = model.do(x, u, {1: 2.5})
    assert images.shape == (B, 3, S, S) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, model.do(x, u, {1: 2.5}))  # deterministic


def test_do_on_several_concepts_and_the_root() -> None:
    model, x, u = chain_model()
    before, after = do_latents(model, x, u, {0: -1.0, 3: torch.full((K,), 0.5)})
    assert torch.all(after[:, 0] == -1.0) and torch.all(after[:, 3] == 0.5)
    assert not torch.allclose(before[:, 1], after[:, 1])
    assert not torch.allclose(before[:, 2], after[:, 2])


def test_do_errors() -> None:
    model, x, u = chain_model()
    with pytest.raises(InterventionError, match="out of range"):
        model.do(x, u, {7: 0.0})
    beta, _ = make_model("betavae")
    with pytest.raises(InterventionError, match="no causal layer"):
        beta.do(x, u, {0: 1.0})
    with torch.no_grad():
        model.adjacency_raw[2, 0] = 0.5  # close the cycle 0 -> 1 -> 2 -> 0
    with pytest.raises(InterventionError, match="cycle"):
        model.do(x, u, {0: 1.0})


def test_graph_helpers() -> None:
    g = np.zeros((4, 4), bool)
    g[2, 0] = g[0, 1] = g[0, 3] = True
    order = topological_order(g)
    assert order.index(2) < order.index(0) < order.index(1)
    assert descendants(g, [2]) == {0, 1, 3}
    assert descendants(g, [1]) == set()


def test_lagrangian_schedule_updates_multipliers() -> None:
    adj = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], np.float32)
    model, _ = make_model("causalvae-paper", "lagrangian=true", initial_adjacency=adj)
    model.epoch_end()
    lam1, rho1 = model.lagr_lambda.item(), model.lagr_rho.item()
    assert lam1 > 0 and rho1 == 1.0
    model.epoch_end()  # H did not shrink: rho grows
    assert model.lagr_lambda.item() > lam1 and model.lagr_rho.item() == 10.0
    assert "lagr_rho" in model.state_dict()


def test_learned_adjacency_starts_at_zero_or_the_given_graph() -> None:
    model, _ = make_model("causalvae-paper")
    assert np.array_equal(model.learned_adjacency(), np.zeros((N, N), np.float32))
    adj = np.triu(np.ones((N, N), np.float32), 1)
    model, _ = make_model("causalvae-paper", initial_adjacency=adj)
    assert np.array_equal(model.learned_adjacency(), adj)


def test_inverse_wishart_sampler_mean() -> None:
    d, nu = 3, 12.0
    psi = torch.tensor([[2.0, 0.3, 0], [0.3, 1.0, 0.1], [0, 0.1, 1.5]], dtype=torch.float64)
    samples = sample_inverse_wishart(psi, nu, 20000, torch.Generator().manual_seed(0))
    assert samples.shape == (20000, d, d)
    torch.testing.assert_close(samples.mean(0), psi / (nu - d - 1), atol=0.01, rtol=0.05)


def test_chyvae_defaults_and_prior_samples() -> None:
    model, _ = make_model("chyvae")
    assert model.nu == N * K + 23  # 33 for z_dim 10 in the public code, shifted with z_dim
    assert torch.equal(model.psi, (model.nu - N * K - 1) * torch.eye(N * K))
    assert model.sample_prior(4, torch.Generator().manual_seed(0)).shape == (4, 3, S, S)


@pytest.mark.parametrize("name", ALL)
def test_config_round_trips_through_json(name: str) -> None:
    cfg = apply_overrides(RunConfig.default(name), ["epochs=3", "lr=0.01", "amp=false"])
    again = RunConfig.from_dict(json.loads(cfg.to_json()))
    assert again == cfg and type(again.model) is type(cfg.model)


def test_set_rejects_unknown_keys_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="did you mean 'alpha'"):
        apply_overrides(RunConfig.default(), ["alpah=1"])
    with pytest.raises(ConfigError, match="unknown config key 'nu'"):
        apply_overrides(RunConfig.default("betavae"), ["nu=3"])  # a chyvae key


def test_set_rejects_wrong_types_naming_key_value_and_type() -> None:
    with pytest.raises(ConfigError, match=r"epochs=ten: expected int, got 'ten'"):
        apply_overrides(RunConfig.default(), ["epochs=ten"])
    with pytest.raises(ConfigError, match="expected bool"):
        apply_overrides(RunConfig.default(), ["lagrangian=maybe"])
    with pytest.raises(ConfigError, match="not of the form key=value"):
        apply_overrides(RunConfig.default(), ["alpha"])
    with pytest.raises(ConfigError, match="arch='mlp' is not one of"):
        apply_overrides(RunConfig.default(), ["arch=mlp"])


def test_set_parses_types_sections_and_model_switch() -> None:
    cfg = apply_overrides(RunConfig.default(), ["model.alpha=2", "train.lr=3e-4", "compile=yes"])
    assert cfg.model.alpha == 2.0 and cfg.train.lr == 3e-4 and cfg.train.compile is True
    cfg = apply_overrides(cfg, ["beta=8", "model=betavae", "image_size=48"])
    assert cfg.train.model == "betavae" and cfg.model.beta == 8.0
    assert cfg.model.image_size == 48 and cfg.train.lr == 3e-4
    assert not hasattr(cfg.model, "alpha")  # the switched config class drops causalvae's keys


def test_configs_saved_before_a_key_existed_keep_the_old_behaviour() -> None:
    """A causalvae-int run saved before linear_causal_layer / decoder_input existed ran with
    the paper's causal layer and mask-layer decoding: loading it must not switch them."""
    saved = RunConfig.default("causalvae-int").to_dict()
    del saved["model"]["linear_causal_layer"], saved["model"]["decoder_input"]
    old = RunConfig.from_dict(saved, saved=True).model
    assert old.linear_causal_layer and old.decoder_input == "mask"
    now = RunConfig.from_dict(RunConfig.default("causalvae-int").to_dict(), saved=True).model
    assert not now.linear_causal_layer and now.decoder_input == "concepts"
    partial = RunConfig.from_dict({"train": {"model": "causalvae-int"}}).model  # not a saved run
    assert not partial.linear_causal_layer and partial.decoder_input == "concepts"
    older = RunConfig.default("causalvae").to_dict()  # saved before session 7's additions
    del older["model"]["structure_repair_interventional"]
    assert RunConfig.from_dict(older, saved=True).model.structure_repair_interventional is False
    assert RunConfig.default("causalvae").model.structure_repair_interventional is True
    del older["model"]["structure_repair_colliders"]  # saved before session 8's re-search
    assert RunConfig.from_dict(older, saved=True).model.structure_repair_colliders is False
    assert RunConfig.default("causalvae").model.structure_repair_colliders is True


def test_a_run_saved_under_an_older_structure_init_default_keeps_its_start() -> None:
    """structure_init's default moved 0.5 -> 1.0 (session 7): a session-5/6 run recorded 0.5
    and reloads with it; a run older than the key started A at zero; a new run starts at 1.0."""
    saved = RunConfig.default("causalvae").to_dict()
    saved["model"]["structure_init"] = 0.5  # what a session-5/6 config.json holds
    assert RunConfig.from_dict(saved, saved=True).model.structure_init == 0.5
    del saved["model"]["structure_init"]
    assert RunConfig.from_dict(saved, saved=True).model.structure_init == 0.0
    assert RunConfig.default("causalvae").model.structure_init == 1.0


def test_causalvae_int_is_an_alias_of_the_recommended_model() -> None:
    assert get_model_class("causalvae-int") is get_model_class("causalvae")
    cfg = RunConfig.default("causalvae-int")
    assert cfg.train.model == "causalvae"  # configs record the registered name
    assert cfg.model == RunConfig.default("causalvae").model
    assert apply_overrides(RunConfig.default("betavae"), ["model=causalvae-int"]).train.model \
        == "causalvae"


def test_runs_saved_before_the_rename_load_as_the_model_they_trained() -> None:
    """Version-1 configs (no "version" key) called the paper formulation "causalvae"."""
    paper = RunConfig.default("causalvae-paper").to_dict()
    del paper["version"]
    paper["train"]["model"] = "causalvae"
    old = RunConfig.from_dict(paper, saved=True)
    assert old.train.model == "causalvae-paper" and old.model.linear_causal_layer
    recommended = RunConfig.default("causalvae").to_dict()
    del recommended["version"]
    recommended["train"]["model"] = "causalvae-int"
    assert RunConfig.from_dict(recommended, saved=True).train.model == "causalvae"
    # a config written now keeps its names; a hand-written one (not saved) uses today's names
    assert RunConfig.from_dict(RunConfig.default("causalvae").to_dict(),
                               saved=True).train.model == "causalvae"
    assert RunConfig.from_dict({"train": {"model": "causalvae"}}).train.model == "causalvae"
    with pytest.raises(ConfigError, match="version"):
        RunConfig.from_dict({"version": 99, "train": {}}, saved=True)


@pytest.mark.parametrize("name", ["betavae", "chyvae"])
def test_kl_warmup_ramps_the_regulariser_over_the_first_epochs(name: str) -> None:
    """kl_warmup = 4: the regulariser's weight is 1/4, 2/4, 3/4, 1, 1 in epochs 0-4, so the loss
    is recon + w * reg with the same draws; a short run shortens the warm-up to half of it;
    0 keeps the full weight from epoch 0."""
    model, _ = make_model(name, "image_size=32", "kl_warmup=4")
    x = torch.rand(4, 3, 32, 32)
    weights, losses, parts = [], [], []
    for epoch in range(5):
        model.set_epoch(epoch)
        torch.manual_seed(0)
        out = model(x)
        weights.append(model.reg_weight)
        reg = out.terms["kl"] * model.config.beta if name == "betavae" else out.terms["reg"]
        losses.append(float(out.loss.detach()))
        parts.append(float((out.terms["recon"] + model.reg_weight * reg).detach()))
    assert weights == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert losses == pytest.approx(parts, rel=1e-5)
    assert losses[0] != pytest.approx(losses[3])  # the weight reaches the loss
    if name == "chyvae":  # its KL to N(0, I) is logged, not optimised
        assert out.terms["kl"] > 0 and not out.terms["kl"].requires_grad
    model.set_epoch(0, 4)  # a 4-epoch run: the warm-up takes at most half of it (2 epochs)
    assert model.reg_weight == 0.5
    model.set_epoch(1, 4)
    assert model.reg_weight == 1.0
    plain, _ = make_model(name, "image_size=32", "kl_warmup=0")
    plain.set_epoch(0, 20)
    assert plain.reg_weight == 1.0
    with pytest.raises(ConfigError):
        make_model(name, "kl_warmup=-1")
    saved = RunConfig.default(name).to_dict()
    assert RunConfig.from_dict(saved, saved=True).model.kl_warmup == (
        10 if name == "betavae" else 0)  # the defaults (betavae's chosen on a development seed)
    del saved["model"]["kl_warmup"]  # a run saved before the warm-up existed trained without it
    assert RunConfig.from_dict(saved, saved=True).model.kl_warmup == 0
