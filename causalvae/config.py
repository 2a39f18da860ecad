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
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from causalvae.errors import ConfigError
from causalvae.models import canonical_name, get_model_class
from causalvae.models.betavae import BetaVAEConfig
from causalvae.models.causal_config import (
    CausalCoreConfig,
    CausalVAEConfig,
    CausalVAEIntConfig,
    CausalVAEUnsupConfig,
)
from causalvae.models.chyvae import CHyVAEConfig
from causalvae.models.conditionvae import ConditionVAEConfig
from causalvae.models.config import ModelConfig, check_choice, check_positive

__all__ = [
    "CONFIG_VERSION",
    "BetaVAEConfig",
    "CHyVAEConfig",
    "CausalCoreConfig",
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
    - ``grad_clip``: the gradients' total norm is clipped at this value (0: off). The default,
      1e5, is a guard against a rare exploding step, not a regulariser: the losses are sums
      over pixels, so ordinary steps have norms of ~1e3, and the development runs of session 9
      (pendulum-v1 seed 100, ``data/scenes/dev/eight.toml`` seed 100) never passed 1.8e4, so
      there it changes nothing, bit for bit. Blind octet's seed 0 had one step at 8.2e6 whose
      gradient inflated Adam's second moments and left four concepts below MIC 0.9 after 20
      epochs; with the clip, MIC 0.985 (docs/results.md, "Session 9").
    - ``weight_decay`` = 0 is off; ``lr_schedule``: constant or cosine (stepped per epoch).
    - ``label_fraction`` < 1: only that fraction of the training images keep their labels (a
      seeded random choice, :func:`causalvae.data.labelled_positions`, saved as
      ``labelled.npy``); label statistics come from them. Needs a model with ``missing_flag``.
    - ``labelled_share``: with ``label_fraction`` below it, every batch holds this share of
      labelled images (drawn again and again from the labelled ones), the rest unlabelled
      (:class:`causalvae.data.LabelledShareSampler`); 0 draws batches without regard to labels.
      0.75 was chosen on pendulum development seed 100 at ``label_fraction`` 0.1 among 0, 0.25,
      0.5 and 0.75 (MIC from the image 0.74, 0.79, 0.89, 0.96; docs/results.md).
    """

    model: str = "causalvae"
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1e5
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
    label_fraction: float = 1.0
    labelled_share: float = 0.75
    # keys added after configs were first saved, with the behaviour of configs that lack them
    LEGACY_VALUES: ClassVar[dict[str, Any]] = {"labelled_share": 0.0}

    def validate(self) -> None:
        check_positive(self, "epochs", "batch_size", "lr", "checkpoint_every", "recon_images")
        check_positive(self, "weight_decay", "grad_clip", "num_workers", "threads",
                        "memory_budget_gb", allow_zero=True)
        check_choice("lr_schedule", self.lr_schedule, ("constant", "cosine"))
        if not 0.0 < self.label_fraction <= 1.0:
            raise ConfigError(f"label_fraction={self.label_fraction!r} must be in (0, 1]")
        if not 0.0 <= self.labelled_share < 1.0:
            raise ConfigError(f"labelled_share={self.labelled_share!r} must be in [0, 1)")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device={self.device!r} is not one of auto, cpu, cuda, cuda:N")


def _model_config_class(model: str) -> type[ModelConfig]:
    return get_model_class(model).config_class


# Version of the saved config layout. 1 (no "version" key): "causalvae" named the paper
# formulation. 2: "causalvae" is the recommended model, the paper's is "causalvae-paper".
CONFIG_VERSION = 2
# model names of older saved configs -> the name of the same model now, per version
MODEL_RENAMES: dict[int, dict[str, str]] = {1: {"causalvae": "causalvae-paper"}}


def migrate_model_name(name: str, version: int) -> str:
    """The current registered name of the model a config of ``version`` called ``name``."""
    for v in range(version, CONFIG_VERSION):
        name = MODEL_RENAMES.get(v, {}).get(name, name)
    return canonical_name(name)


@dataclass
class RunConfig:
    """A whole run: ``train`` settings and the chosen model's ``model`` settings."""

    train: TrainConfig = field(default_factory=TrainConfig)
    model: ModelConfig = field(default_factory=CausalVAEConfig)

    @classmethod
    def default(cls, model: str = "causalvae") -> RunConfig:
        model = canonical_name(model)
        return cls(train=TrainConfig(model=model), model=_model_config_class(model)())

    def validate(self) -> RunConfig:
        self.train.model = canonical_name(self.train.model)  # an alias records its model's name
        expected = _model_config_class(self.train.model)
        if type(self.model) is not expected:
            raise ConfigError(
                f"model config {type(self.model).__name__} does not belong to model "
                f"{self.train.model!r} (expected {expected.__name__})"
            )
        for section in (self.train, self.model):  # NaN passes every range check below
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{f.name}={value!r} is not a finite number")
        self.train.validate()
        self.model.validate()
        if self.train.label_fraction < 1.0:
            cls = get_model_class(self.train.model)
            if not cls.uses_labels or not getattr(self.model, "missing_flag", False):
                raise ConfigError(
                    f"label_fraction={self.train.label_fraction} needs a model that reads labels "
                    f"and knows when they are missing; {self.train.model!r} "
                    + ("reads no labels" if not cls.uses_labels else
                       "has missing_flag=false (pass --set missing_flag=true)"))
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"version": CONFIG_VERSION, "train": dataclasses.asdict(self.train),
                "model": dataclasses.asdict(self.model)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], saved: bool = False) -> RunConfig:
        """A config from a (possibly partial) dict; missing keys take the defaults, except with
        ``saved`` (a config written by a run): keys added after it was written then take the
        values that reproduce how that run behaved (``LEGACY_VALUES``), and a config saved
        without a ``version`` (version 1) has its model name migrated: its ``causalvae`` was the
        paper formulation, now ``causalvae-paper`` (:data:`MODEL_RENAMES`)."""
        unknown = set(data) - {"train", "model", "version"}
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; expected train, model")
        version = data.get("version", 1 if saved else CONFIG_VERSION)
        if not isinstance(version, int) or not 1 <= version <= CONFIG_VERSION:
            raise ConfigError(f"config version {version!r} is not one this causalvae reads "
                              f"(1..{CONFIG_VERSION}); a newer causalvae wrote it?")
        train_values = dict(data.get("train", {}))
        if "model" in train_values and isinstance(train_values["model"], str):
            train_values["model"] = migrate_model_name(train_values["model"], version)
        train = _from_fields(TrainConfig, train_values, "train", saved)
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
            train_values["model"] = canonical_name(parse_value(key, value, str))
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
