"""The settings every model shares (:class:`ModelConfig`) and the checks model configs use.

A model's own config dataclass lives in the model's module and subclasses :class:`ModelConfig`
(architecture, image size, latent layout n_concepts x concept_dim, likelihood), overriding
``validate`` with :func:`check_choice` / :func:`check_positive` for its extra fields. This module
sits below the registry and every model; the run-level configs (:class:`causalvae.config.RunConfig`,
``TrainConfig``, ``--set`` parsing) sit above the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from causalvae.errors import ConfigError

__all__ = ["ModelConfig", "check_choice", "check_positive"]


def check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not one of {', '.join(choices)}")


def check_positive(obj: Any, *keys: str, allow_zero: bool = False) -> None:
    for key in keys:
        value = getattr(obj, key)
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise ConfigError(f"{key}={value!r} must be {bound}")


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

    Label-fed encoders (models with ``uses_labels``): with ``missing_flag`` the encoder reads
    [h(x), u with missing labels set to 0, a 0/1 flag per label saying it is present], so it can
    encode an unlabelled image (``--label-fraction``) or an image alone (``u`` = None, the
    image-only evaluation); ``label_dropout`` hides a sample's labels from the encoder with that
    probability during training (the prior and label terms still use them), which teaches the
    flag's "missing" branch even when every image is labelled. Off: h(x, u) as in the paper, and
    a missing label is an error.
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
    missing_flag: bool = False
    label_dropout: float = 0.0
    # keys added after configs were first saved, with the behaviour of configs that lack them
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {"missing_flag": False, "label_dropout": 0.0}

    @property
    def z_dim(self) -> int:
        return self.n_concepts * self.concept_dim

    def validate(self) -> None:
        check_choice("arch", self.arch, ("conv", "reference"))
        check_choice("likelihood", self.likelihood, ("bernoulli", "gaussian"))
        check_choice("decoder", self.decoder, ("joint", "additive"))
        check_positive(self, "concept_dim", "conv_width", "hidden", "recon_std")
        check_positive(self, "n_concepts", allow_zero=True)
        if not 0.0 <= self.label_dropout < 1.0:
            raise ConfigError(f"label_dropout={self.label_dropout!r} must be in [0, 1)")
        if self.label_dropout > 0 and not self.missing_flag:
            raise ConfigError("label_dropout > 0 needs missing_flag=true (the encoder must be "
                              "told which labels it was not given)")
        if self.arch == "conv" and not 32 <= self.image_size <= 128:
            raise ConfigError(
                f"image_size={self.image_size} is outside 32..128, the sizes the conv architecture "
                "supports; pass --image-size in that range (images are resized on the device)"
            )
        if self.image_size < 8:
            raise ConfigError(f"image_size={self.image_size} is too small")
