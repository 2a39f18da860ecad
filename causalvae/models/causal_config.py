"""The configs of the CausalVAE family: the shared causal core and ``causalvae`` / ``-int`` / ``-unsup``.

:class:`CausalCoreConfig` holds the causal-layer settings (acyclicity penalty, mask layer,
Lagrangian, thresholds, interventional likelihood) shared by the three registered models of
:mod:`causalvae.models.causal`; :class:`CausalVAEConfig` adds the label supervision,
:class:`CausalVAEIntConfig` changes its defaults for interventional data, and
:class:`CausalVAEUnsupConfig` is the core alone. Saved run configs that lack a key added later
load with the values that reproduce how that run behaved (``LEGACY_VALUES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from causalvae.errors import ConfigError
from causalvae.models.config import ModelConfig, check_choice, check_positive

__all__ = ["CausalCoreConfig", "CausalVAEConfig", "CausalVAEIntConfig", "CausalVAEUnsupConfig"]


@dataclass
class CausalCoreConfig(ModelConfig):
    """Causal-layer settings shared by ``causalvae`` and ``causalvae-unsup``.

    ``alpha`` weighs H(A) (the paper's plain penalty; the reference code used 3), ``gamma`` weighs
    l_m, ``c`` is the constant in H(A) = tr((I + (c/n) A o A)^n) - n (``dag_penalty="poly"``; the
    alternative ``"expm"`` is tr(exp(c A o A)) - n). ``a_init`` is ``"zero"``, ``"dataset"`` (the
    file's true adjacency) or a path to a ``.npy``/``.json`` (n, n) array. ``lagrangian`` replaces
    ``alpha * H`` by ``lambda * H + rho/2 * H^2`` with lambda += rho * H and rho *= ``rho_mult``
    (up to ``rho_max``) at each epoch end when H did not shrink below ``h_progress`` of its
    previous value. ``l1`` weighs sum |A|. ``kappa_m`` is the constraint level of l_m <= kappa_m:
    the penalty is ``gamma * max(l_m - kappa_m, 0)`` (0 gives the plain penalty). Edges with
    |A_ij| > ``graph_threshold`` define the graph used by the do-operation.

    ``linear_causal_layer`` (the paper: on) computes z = (I - A^T)^-1 eps; off, z = eps and the
    mask layer alone carries the causal mechanisms. ``decoder_input``: ``mask`` (the paper) decodes
    the mask layer's output g(A o z) + eps; ``concepts`` decodes z, and do() then keeps each
    unit's residual z_j - g_j(A_j o z) when it recomputes a descendant.

    Interventional data (files generated with ``--intervention-mix``): with ``intervention_mask``
    the equations of the variables that do() set in a sample are cut in that sample, as the
    interventional likelihood requires (a do()-set variable is not explained by its parents): the
    label term drops them, the causal layer uses A with those columns zeroed (z_j = eps_j) and
    the mask-layer term l_m drops them. Off (the paper formulation) the mask is ignored.
    ``structure_lr`` > 0 gives A (and the label mechanisms) their own Adam learning rate (A moves
    slowly at the default 1e-3); 0 uses the run's ``lr``. ``threshold_rule`` says how the learned
    A becomes a graph for evaluation: ``relative`` = :func:`causalvae.graph.default_threshold`
    (0.3 x the largest |A_ij|), ``absolute`` = |A_ij| > ``graph_threshold`` (the rule the
    do-operation uses); see :meth:`edge_threshold`.
    """

    alpha: float = 3.0
    gamma: float = 1.0
    c: float = 1.0
    dag_penalty: str = "poly"
    kappa_m: float = 0.0
    a_init: str = "zero"
    mask_hidden: int = 32
    lagrangian: bool = False
    rho_init: float = 1.0
    rho_mult: float = 10.0
    rho_max: float = 1e4
    h_progress: float = 0.25
    l1: float = 0.0
    graph_threshold: float = 0.3
    intervention_mask: bool = False
    structure_lr: float = 0.0
    threshold_rule: str = "relative"
    decoder_input: str = "mask"
    linear_causal_layer: bool = True
    # keys added after configs were first saved, with the behaviour of configs that lack them
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {**ModelConfig.LEGACY_VALUES,
                                               "decoder_input": "mask",
                                               "linear_causal_layer": True}

    def edge_threshold(self) -> float | None:
        """The threshold to turn |A| into a graph: None = ``default_threshold(A)`` (relative)."""
        return self.graph_threshold if self.threshold_rule == "absolute" else None

    def validate(self) -> None:
        super().validate()
        check_choice("dag_penalty", self.dag_penalty, ("poly", "expm"))
        check_choice("threshold_rule", self.threshold_rule, ("relative", "absolute"))
        check_choice("decoder_input", self.decoder_input, ("mask", "concepts"))
        check_positive(self, "structure_lr", allow_zero=True)
        check_positive(self, "c", "mask_hidden", "rho_init", "rho_mult", "rho_max")
        check_positive(self, "alpha", "gamma", "kappa_m", "l1", "graph_threshold",
                        allow_zero=True)


@dataclass
class CausalVAEConfig(CausalCoreConfig):
    """CausalVAE with label supervision: ``beta`` weighs l_u (hinged at ``kappa_u``), and the
    conditional prior is p(z_i | u_i) = N(u_i 1_k, prior_std^2 I) on normalised labels.

    The label term (defaults: the paper's l_u = ||u - A^T u||^2):

    - ``label_model``: ``linear`` (A^T u) or ``mlp``: u_j = g_j(A_j o u), one small MLP per
      child on its A-gated parent labels (``label_hidden`` units), 1-Lipschitz in each input
      (unit-norm weights, ELU), so an input's effect is bounded by |A_ij| and A stays the edge
      strength: an unconstrained MLP rescales a tiny gate and keeps 2-cycles at negligible H(A).
      Needed on pendulum: shadow_length is U-shaped in the angles (no linear correlation).
    - ``label_likelihood``: ``mse`` (the sum of squares) or ``gaussian``: the profile Gaussian
      likelihood with one noise variance per variable (:func:`causalvae.losses.label_gaussian_nll`,
      ``label_floor`` on the variances). The sum of squares scores some wrong graphs above the
      true one on standardised labels; the likelihood does not.
    - ``structure_from_labels``: A is learned from the label term (+ acyclicity, l1) only: the
      causal and mask layers and the KL read A without passing gradients to it. The ELBO's
      terms are linear in A (z = A^T z + eps, so KL(q(eps)) is a least-squares fit of the latents
      in A that cannot see interventions and ignores nonlinear edges) and pull A to the wrong
      graph or shrink it (the paper formulation's edges end up at 0.1-0.3).

    Where A may have edges, and when it is learned:

    - ``structure_support``: ``none`` (every pair), ``pc`` (the edges
      :func:`causalvae.discovery.discover_support` allows: PC on the observational labels with
      the CI test ``ci_test`` (``kci`` on at most ``ci_samples`` samples, or ``fisherz``) at level
      ``ci_alpha`` after adding ``ci_jitter`` standard deviations of noise, then do()-dependence
      tests on the interventional samples), or ``dataset`` (the file's true graph: an oracle for
      studies). A is the learned weight times this 0/1 support.
    - ``structure_fit``: ``joint`` (A trained in the training loop with everything else) or
      ``labels-first`` (needs ``structure_from_labels``): A and the label mechanisms are fitted
      on the labelled training samples alone for ``structure_steps`` Adam steps (batches of
      the run's batch size drawn pass by pass, at ``structure_lr``; the Lagrangian updated
      after each pass) before the images are seen, then frozen. A step budget rather than a
      number of passes, so a small labelled fraction is fitted as long as the full set. With
      structure_from_labels the images never reach A anyway; fitting it first makes the graph a
      function of the labels alone, costs seconds, and lets a small labelled fraction
      (``--label-fraction``) be used in full-size batches.
    - ``structure_init``: where the fit starts A on the support (entries still zero after
      ``a_init``). At A = 0 the label mechanism of a child sees its parent through a vanishing
      gate, so the gradient on A_ij is the parent's linear trace in the child: zero for a
      mechanism that is symmetric in it (a U, a V, a bump), which then never grows an edge.
      A non-zero start lets the likelihood keep such an edge and l1 remove the rest. The
      recommended model starts at 1.0 (0.5 before session 7): a weak 1-Lipschitz U needs a gate
      of about 1.1, and from 0.5 l1 closed it first (development scene weak-u).
    - ``structure_l1_warmup``: the fraction of ``structure_steps`` over which l1 ramps up from
      0. From a small start, l1 shrinks A faster than a label MLP learns a U-shaped mechanism
      (whose fit needs a large gate: a 1-Lipschitz U has at most half the end slope of a
      monotone map), so the edge is lost before its likelihood gain shows.
    - ``ci_samples_observational`` > 0: PC's KCI sample cap for a file without interventions,
      where PC is the only evidence (0: ``ci_samples``).
    - ``orient_in_class`` (labels-first, ``structure_support=pc``, a file without interventions):
      if the fit orients the support's undirected edges into an unshielded collider that PC's
      CPDAG does not have, the support is cut to the member of the equivalence class that the
      fitted |A| prefers and A is fitted again (``structure.json``: ``class_member``).
    - ``structure_l1_undirected`` (``structure_support=pc``, a file without interventions): the
      labels-first fit's l1 falls only on the smaller |A| of each pair the support allows both
      ways (it picks a direction), not on an edge the tests vetted in one direction.
    - ``structure_repair`` (``structure_support=pc``, a file without interventions): PC's CPDAG is
      repaired by a greedy search with a k-NN regression score (:mod:`causalvae.repair`) before
      the fit; it restores edges PC drops where a near-deterministic proxy or twin child screens
      a parent off (``structure.json``: ``discovery.repair``).
    - ``structure_repair_interventional`` (``structure_support=pc``, a file with interventions
      and at least 1,000 observational rows): the same score, on up to 2,000 observational rows,
      may only add edges to the support (:func:`causalvae.discovery.add_missed_edges`): an
      edge that PC's marginal test and the unconditional do() test both missed, because another
      parent dominates the child (``structure.json``: ``discovery.repair``, mode "additions").
    - ``structure_repair_colliders`` (with ``structure_repair``): when the repair's search joins
      the two parents of a collider of PC's CPDAG, it searches again from PC's skeleton without
      that collider's directions, and the better score wins
      (:func:`causalvae.discovery.repair_cpdag`; ``discovery.repair.joined_colliders``).
    """

    beta: float = 1.0
    kappa_u: float = 0.0
    prior_std: float = 1.0
    label_model: str = "linear"
    label_likelihood: str = "mse"
    label_hidden: int = 32
    label_floor: float = 1e-2
    structure_from_labels: bool = False
    structure_support: str = "none"
    ci_test: str = "kci"
    ci_alpha: float = 0.01
    ci_samples: int = 400
    ci_samples_observational: int = 0
    ci_jitter: float = 1e-2
    structure_fit: str = "joint"
    structure_steps: int = 4000
    structure_init: float = 0.0
    structure_l1_warmup: float = 0.0
    orient_in_class: bool = False
    structure_repair: bool = False
    structure_l1_undirected: bool = False
    structure_repair_interventional: bool = False
    structure_repair_colliders: bool = False
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {**CausalCoreConfig.LEGACY_VALUES,
                                               "structure_support": "none",
                                               "structure_fit": "joint"}

    def validate(self) -> None:
        super().validate()
        check_choice("structure_support", self.structure_support, ("none", "pc", "dataset"))
        check_choice("ci_test", self.ci_test, ("kci", "fisherz"))
        check_choice("structure_fit", self.structure_fit, ("joint", "labels-first"))
        check_positive(self, "ci_samples", "structure_steps")
        check_positive(self, "ci_samples_observational", allow_zero=True)
        check_positive(self, "ci_jitter", "structure_init", allow_zero=True)
        if not 0.0 <= self.structure_l1_warmup <= 1.0:
            raise ConfigError(f"structure_l1_warmup={self.structure_l1_warmup!r} must be in [0, 1] "
                              "(a fraction of structure_steps)")
        if not 0.0 < self.ci_alpha < 1.0:
            raise ConfigError(f"ci_alpha={self.ci_alpha!r} must be in (0, 1)")
        if self.structure_fit == "labels-first" and not self.structure_from_labels:
            raise ConfigError("structure_fit=labels-first needs structure_from_labels=true")
        check_positive(self, "prior_std", "label_hidden", "label_floor")
        check_positive(self, "beta", "kappa_u", allow_zero=True)
        check_choice("label_model", self.label_model, ("linear", "mlp"))
        check_choice("label_likelihood", self.label_likelihood, ("mse", "gaussian"))


@dataclass
class CausalVAEIntConfig(CausalVAEConfig):
    """``causalvae`` (alias ``causalvae-int``): the recommended CausalVAE.

    The same model and options as ``causalvae-paper``, with the settings that recover the
    generating graph as defaults. Where A may have edges: ``structure_support="pc"`` (PC on the
    observational labels, KCI on 400 samples with 1 % jitter, alpha 0.01, then do()-dependence
    tests on the interventional ones; :mod:`causalvae.discovery`), fitted ``labels-first``; the
    graph is read at ``graph_threshold`` 0.1 (the support has already vetted each edge). How A is
    weighted on that support: the interventional likelihood
    (``intervention_mask``), 1-Lipschitz per-child label MLPs on A-gated parents, the Gaussian
    label likelihood, A learned from the labels only (at ``structure_lr`` 1e-2) from 1.0 on the
    support with l1 ramped in over the first half of the fit (``structure_init``,
    ``structure_l1_warmup``: an edge whose mechanism is symmetric in its parent is otherwise
    lost), acyclicity by the augmented Lagrangian, l1 = 0.01 on A, and the graph read with the
    absolute threshold ``graph_threshold`` (the do-operation's rule): the Lipschitz bound makes |A_ij| the largest
    slope of the mechanism, which differs between children (pendulum: ~4 into shadow_length,
    ~0.6-1 into shadow_position), so a threshold relative to the largest entry cuts true edges.
    With interventions, a k-NN regression score on the observational rows adds the edges PC and
    the do() tests both missed (``structure_repair_interventional``); without them, it repairs
    PC's graph (``structure_repair``). Without interventions in the data the support alone
    carries what observational data identify (v-structures and their consequences); the label
    likelihood orients the rest.
    The encoder has the missing-label flag and hides the labels with probability 0.5 in
    training (``missing_flag``, ``label_dropout``), so it also encodes images without labels.

    The latent side: no linear causal layer (``linear_causal_layer=False``: z = eps, one block
    per concept, tied to its label by p(z_i | u_i)), the mask layer as the latent SCM
    (z_j = g_j(A_j o z) + residual, fitted by l_m and used by do()), and the decoder reading the
    concept latents z (``decoder_input="concepts"``). The paper's linear layer
    z = (I - A^T)^-1 eps reads the same A, whose entries here are slope bounds of nonlinear
    mechanisms (pendulum: ~4 into shadow_length): it mixes the parents' posterior into the
    children's latents, and the encoder answered by entangling the two root concepts (their
    MIC stayed at 0.6-0.8 under every other change tried: eps KL off, l_m off, prior warm-up,
    an additive decoder, decoding z); without it MIC is 1.00 on every concept and the
    counterfactual pixel MSE of the roots falls 4x (pendulum seed 0, docs/results.md).
    ``prior_std`` is 0.2 (the paper model's default is 1), so the prior, not only the
    reconstruction, decides what each block holds. A is learned from the labels alone, so it is
    bit-identical under all of these settings (checked) and graph recovery does not depend on
    them.
    """

    prior_std: float = 0.2
    linear_causal_layer: bool = False
    decoder_input: str = "concepts"
    intervention_mask: bool = True
    label_model: str = "mlp"
    label_likelihood: str = "gaussian"
    structure_from_labels: bool = True
    structure_lr: float = 1e-2
    lagrangian: bool = True
    l1: float = 0.01
    threshold_rule: str = "absolute"
    graph_threshold: float = 0.1
    structure_support: str = "pc"
    structure_fit: str = "labels-first"
    missing_flag: bool = True
    label_dropout: float = 0.5
    structure_init: float = 1.0
    structure_l1_warmup: float = 0.5
    orient_in_class: bool = True
    ci_samples_observational: int = 800
    structure_repair: bool = True
    structure_l1_undirected: bool = True
    structure_repair_interventional: bool = True
    structure_repair_colliders: bool = True
    # keys added after configs were first saved (the threshold was 0.3 before the support);
    # structure_init's default moved 0.5 -> 1.0 in session 7, but every config saved since the
    # key exists records its value, so only configs older than the key need a legacy value
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {**CausalVAEConfig.LEGACY_VALUES,
                                               "structure_init": 0.0, "structure_l1_warmup": 0.0,
                                               "orient_in_class": False,
                                               "ci_samples_observational": 0,
                                               "structure_repair": False,
                                               "structure_repair_interventional": False,
                                               "structure_repair_colliders": False,
                                               "structure_l1_undirected": False}


@dataclass
class CausalVAEUnsupConfig(CausalCoreConfig):
    """CausalVAE without labels: N(0, I) priors on eps and z, no l_u."""


_CausalCore = CausalCoreConfig  # the name it had in causalvae.config
