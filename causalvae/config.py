"""Configuration dataclasses for training runs, and ``--set key=value`` parsing.

A run is described by a :class:`RunConfig`: a :class:`TrainConfig` (how to train) and one model
config (what to train), a :class:`ModelConfig` subclass chosen by the model's registry entry
(pythae-style: each model declares its config class). Both round-trip through plain dicts and JSON:
``RunConfig.from_dict(cfg.to_dict()) == cfg``. :func:`apply_overrides` parses ``key=value`` strings
against the field types, rejecting unknown keys with a "did you mean" and wrong types with the key,
the value and the expected type.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from causalvae.errors import ConfigError

__all__ = [
    "BetaVAEConfig",
    "CHyVAEConfig",
    "CausalVAEConfig",
    "CausalVAEIntConfig",
    "CausalVAEUnsupConfig",
    "ConditionVAEConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "apply_overrides",
    "parse_value",
]


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of {', '.join(choices)}")


def _check_positive(obj: Any, *keys: str, allow_zero: bool = False) -> None:
    for key in keys:
        value = getattr(obj, key)
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise ConfigError(f"{key}={value!r} must be {bound}")


@dataclass
class TrainConfig:
    """How to train: optimisation, device, checkpoints, data loading.

    - ``amp``: bf16 autocast on CUDA. ``cpu_amp``: the same on CPU; off by default because it
      changes the numerics and is fast only on CPUs with bf16 matrix units (AMX: 1.35-1.55x).
    - ``threads`` = 0: ``os.cpu_count()``, divided among the local DDP ranks.
    - ``tune_malloc``: on CPU, keep freed memory in the process (glibc; 1.25-1.35x, see
      :func:`causalvae.runtime.tune_malloc`).
    - ``channels_last`` (conv architecture): 1.1x on CPU; NHWC is also cuDNN's fast layout.
    - ``data_on_device``: on CUDA with ``num_workers`` = 0, an in-memory train split is moved
      to the GPU once (uint8) and batches are gathered there.
    - ``checkpoint_every`` counts epochs; a checkpoint is also written at the end and on Ctrl-C.
    - ``grad_clip`` = 0 and ``weight_decay`` = 0 are off; ``lr_schedule``: constant or cosine
      (stepped per epoch).
    """

    model: str = "causalvae"
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    lr_schedule: str = "constant"
    device: str = "auto"
    seed: int = 0
    out: str = ""
    amp: bool = True
    cpu_amp: bool = False
    compile: bool = False
    channels_last: bool = True
    checkpoint_every: int = 5
    num_workers: int = 0
    memory_budget_gb: float = 2.0
    data_on_device: bool = True
    threads: int = 0
    tune_malloc: bool = True
    recon_images: int = 8

    def validate(self) -> None:
        _check_positive(self, "epochs", "batch_size", "lr", "checkpoint_every", "recon_images")
        _check_positive(self, "weight_decay", "grad_clip", "num_workers", "threads",
                        "memory_budget_gb", allow_zero=True)
        _check_choice("lr_schedule", self.lr_schedule, ("constant", "cosine"))
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device={self.device!r} is not one of auto, cpu, cuda, cuda:N")


@dataclass
class ModelConfig:
    """Settings shared by every model: architecture, image size, latent layout, likelihood.

    The latent space has ``n_concepts`` blocks of ``concept_dim`` dimensions (z_dim = n * k) for
    every model, so baselines get the same capacity as CausalVAE. ``n_concepts`` = 0 means "the
    number of label variables of the dataset" and is resolved when training starts.

    ``decoder`` (conv architecture): ``joint``, one decoder reading the whole latent vector, or
    ``additive``, one small decoder per concept block with the logits summed
    (:class:`causalvae.models.nets.AdditiveConvDecoder`). The reference architecture's decoder is
    always additive (the public code's averaged per-concept decoders).
    """

    arch: str = "conv"
    image_size: int = 64
    n_concepts: int = 0
    concept_dim: int = 4
    conv_width: int = 16
    hidden: int = 256
    likelihood: str = "bernoulli"
    recon_std: float = 0.1
    decoder: str = "joint"

    @property
    def z_dim(self) -> int:
        return self.n_concepts * self.concept_dim

    def validate(self) -> None:
        _check_choice("arch", self.arch, ("conv", "reference"))
        _check_choice("likelihood", self.likelihood, ("bernoulli", "gaussian"))
        _check_choice("decoder", self.decoder, ("joint", "additive"))
        _check_positive(self, "concept_dim", "conv_width", "hidden", "recon_std")
        _check_positive(self, "n_concepts", allow_zero=True)
        if self.arch == "conv" and not 32 <= self.image_size <= 128:
            raise ConfigError(
                f"image_size={self.image_size} is outside 32..128, the sizes the conv architecture "
                "supports; pass --image-size in that range (images are resized on the device)"
            )
        if self.image_size < 8:
            raise ConfigError(f"image_size={self.image_size} is too small")


@dataclass
class _CausalCore(ModelConfig):
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
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {"decoder_input": "mask",
                                               "linear_causal_layer": True}

    def edge_threshold(self) -> float | None:
        """The threshold to turn |A| into a graph: None = ``default_threshold(A)`` (relative)."""
        return self.graph_threshold if self.threshold_rule == "absolute" else None

    def validate(self) -> None:
        super().validate()
        _check_choice("dag_penalty", self.dag_penalty, ("poly", "expm"))
        _check_choice("threshold_rule", self.threshold_rule, ("relative", "absolute"))
        _check_choice("decoder_input", self.decoder_input, ("mask", "concepts"))
        _check_positive(self, "structure_lr", allow_zero=True)
        _check_positive(self, "c", "mask_hidden", "rho_init", "rho_mult", "rho_max")
        _check_positive(self, "alpha", "gamma", "kappa_m", "l1", "graph_threshold",
                        allow_zero=True)


@dataclass
class CausalVAEConfig(_CausalCore):
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
    """

    beta: float = 1.0
    kappa_u: float = 0.0
    prior_std: float = 1.0
    label_model: str = "linear"
    label_likelihood: str = "mse"
    label_hidden: int = 32
    label_floor: float = 1e-2
    structure_from_labels: bool = False

    def validate(self) -> None:
        super().validate()
        _check_positive(self, "prior_std", "label_hidden", "label_floor")
        _check_positive(self, "beta", "kappa_u", allow_zero=True)
        _check_choice("label_model", self.label_model, ("linear", "mlp"))
        _check_choice("label_likelihood", self.label_likelihood, ("mse", "gaussian"))


@dataclass
class CausalVAEIntConfig(CausalVAEConfig):
    """``causalvae-int``: CausalVAE for data with per-sample interventions (``--intervention-mix``).

    The same model and options as ``causalvae``, with the settings that recover the generating
    graph from interventional data as defaults: the interventional likelihood
    (``intervention_mask``), 1-Lipschitz per-child label MLPs on A-gated parents, the Gaussian
    label likelihood, A learned from the labels only (at ``structure_lr`` 1e-2), acyclicity by the
    augmented Lagrangian, l1 = 0.01 on A, and the graph read with the absolute threshold
    ``graph_threshold`` (the do-operation's rule): the Lipschitz bound makes |A_ij| the largest
    slope of the mechanism, which differs between children (pendulum: ~4 into shadow_length,
    ~0.6-1 into shadow_position), so a threshold relative to the largest entry cuts true edges.
    Without interventions in the data the mask is all zeros and the graph is not identified.

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


@dataclass
class CausalVAEUnsupConfig(_CausalCore):
    """CausalVAE without labels: N(0, I) priors on eps and z, no l_u."""


@dataclass
class ConditionVAEConfig(ModelConfig):
    """Label-conditioned prior N(u_i 1_k, prior_std^2 I), no causal layer. ``prior_std`` 0.2 is
    causalvae-int's, so a comparison of the two isolates the causal machinery."""

    prior_std: float = 0.2

    def validate(self) -> None:
        super().validate()
        _check_positive(self, "prior_std")


@dataclass
class BetaVAEConfig(ModelConfig):
    """Standard normal prior, KL weighted by ``beta``."""

    beta: float = 4.0

    def validate(self) -> None:
        super().validate()
        _check_positive(self, "beta", allow_zero=True)


@dataclass
class CHyVAEConfig(ModelConfig):
    """Inverse-Wishart hyperprior IW(Psi, nu) with Psi = ``psi_scale`` * I.

    ``nu`` = 0 means z_dim + 23 (the public code's 33 for z_dim 10, shifted with z_dim so that the
    excess degrees of freedom stay the same); ``psi_scale`` = 0 means max(nu - z_dim - 1, 1), which
    makes E[Sigma] = I as in the public code.
    """

    nu: float = 0.0
    psi_scale: float = 0.0

    def resolved_nu(self) -> float:
        return self.nu if self.nu > 0 else float(self.z_dim + 23)

    def resolved_psi_scale(self) -> float:
        if self.psi_scale > 0:
            return self.psi_scale
        return max(self.resolved_nu() - self.z_dim - 1.0, 1.0)

    def validate(self) -> None:
        super().validate()
        _check_positive(self, "nu", "psi_scale", allow_zero=True)
        if self.nu > 0 and self.n_concepts and self.nu <= self.z_dim - 1:
            raise ConfigError(f"nu={self.nu} must exceed z_dim - 1 = {self.z_dim - 1}")


def _model_config_class(model: str) -> type[ModelConfig]:
    from causalvae.models.registry import get_model_class  # lazy: models import this module

    return get_model_class(model).config_class


@dataclass
class RunConfig:
    """A whole run: ``train`` settings and the chosen model's ``model`` settings."""

    train: TrainConfig = field(default_factory=TrainConfig)
    model: ModelConfig = field(default_factory=CausalVAEConfig)

    @classmethod
    def default(cls, model: str = "causalvae") -> RunConfig:
        return cls(train=TrainConfig(model=model), model=_model_config_class(model)())

    def validate(self) -> RunConfig:
        expected = _model_config_class(self.train.model)
        if type(self.model) is not expected:
            raise ConfigError(
                f"model config {type(self.model).__name__} does not belong to model "
                f"{self.train.model!r} (expected {expected.__name__})"
            )
        self.train.validate()
        self.model.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"train": dataclasses.asdict(self.train), "model": dataclasses.asdict(self.model)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], saved: bool = False) -> RunConfig:
        """A config from a (possibly partial) dict; missing keys take the defaults, except with
        ``saved`` (a config written by a run): keys added after it was written then take the
        values that reproduce how that run behaved (``LEGACY_VALUES``)."""
        unknown = set(data) - {"train", "model"}
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; expected train, model")
        train = _from_fields(TrainConfig, data.get("train", {}), "train")
        model = _from_fields(_model_config_class(train.model), data.get("model", {}), "model",
                             saved)
        return cls(train=train, model=model).validate()

    @classmethod
    def from_json(cls, path: str | Path) -> RunConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        return cls.from_dict(data)


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _from_fields(cls: type, values: dict[str, Any], section: str, saved: bool = False) -> Any:
    types_ = _field_types(cls)
    for key in values:
        if key not in types_:
            raise ConfigError(_unknown_key_message(f"{section}.{key}", key, list(types_)))
    kwargs = {key: _coerce(key, value, types_[key]) for key, value in values.items()}
    if saved:  # a saved config lacking a key added later predates it: it ran the old way
        for key, value in getattr(cls, "LEGACY_VALUES", {}).items():
            kwargs.setdefault(key, value)
    return cls(**kwargs)


def _unknown_key_message(shown: str, key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown config key {shown!r}{hint} (valid keys: {', '.join(sorted(candidates))})"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check a value from JSON against a field type (ints are accepted for floats)."""
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and type(value) is tp:
        return value
    raise ConfigError(f"config key {key!r}: expected {_type_name(tp)}, got {value!r}")


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_value(key: str, text: str, tp: Any) -> Any:
    """Parse the text of ``--set key=text`` as type ``tp``; the error names key, value and type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and text.lower() in ("none", "null"):
            return None
        tp = next(a for a in args if a is not type(None))
    try:
        if tp is bool:
            low = text.lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError
        if tp is int:
            return int(text, 10)
        if tp is float:
            return float(text)
        if tp is str:
            return text
    except ValueError:
        pass
    else:
        raise ConfigError(f"--set {key}: unsupported field type {_type_name(tp)}")
    raise ConfigError(f"--set {key}={text}: expected {_type_name(tp)}, got {text!r}")


def split_assignment(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r} is not of the form key=value")
    return key.strip(), value.strip()


def apply_overrides(config: RunConfig, items: list[str] | tuple[str, ...]) -> RunConfig:
    """Return a new validated config with ``key=value`` items applied.

    Keys are field names of either section (they do not overlap), optionally qualified as
    ``train.key`` or ``model.key``. Setting ``model`` switches the model config class, keeping the
    shared fields; it is applied before the other items.
    """
    pairs = [split_assignment(item) for item in items]
    train_values = dataclasses.asdict(config.train)
    model_values = dataclasses.asdict(config.model)
    for key, value in pairs:
        if key.removeprefix("train.") == "model":
            train_values["model"] = parse_value(key, value, str)
    model_cls = _model_config_class(train_values["model"])
    model_fields = _field_types(model_cls)
    model_values = {k: v for k, v in model_values.items() if k in model_fields}
    train_fields = _field_types(TrainConfig)
    for key, value in pairs:
        section, _, name = key.rpartition(".")
        if section not in ("", "train", "model"):
            raise ConfigError(_unknown_key_message(key, key, [*train_fields, *model_fields]))
        if name == "model" and section != "model":
            continue
        if section != "model" and name in train_fields:
            train_values[name] = parse_value(key, value, train_fields[name])
        elif section != "train" and name in model_fields:
            model_values[name] = parse_value(key, value, model_fields[name])
        else:
            pool = list(train_fields) if section == "train" else list(model_fields)
            if not section:
                pool += list(train_fields)
            raise ConfigError(_unknown_key_message(key, name, pool))
    return RunConfig(train=TrainConfig(**train_values), model=model_cls(**model_values)).validate()
