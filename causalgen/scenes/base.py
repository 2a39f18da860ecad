"""The scene interface: variables, a default SCM, physics functions and a pure renderer.

A scene turns variable values into images. It declares its variables (name, unit, renderable
range) through its default SCM, exports the physics functions that mechanisms may call by name,
and renders a batch of samples into uint8 images. Renderers are pure: the same values give the
same pixels, whatever process, order or batch size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import ClassVar

import numpy as np

from causalgen.errors import SpecError
from causalgen.io.schema import VariableInfo
from causalgen.scm.spec import SCM


class Scene(ABC):
    """Base class of every scene; subclasses set ``id`` and implement the abstract methods."""

    id: str = ""  # a class constant for built-in scenes; custom scenes set it per instance
    default_size: int = 96
    default_steps: int | None = None  # temporal scenes: the sequence length without --steps
    min_size: ClassVar[int] = 16
    max_size: ClassVar[int] = 1024

    @abstractmethod
    def default_scm(self) -> SCM:
        """The scene's SCM: its variables, their ranges, default mechanisms and noise."""

    @property
    def functions(self) -> Mapping[str, Callable[..., np.ndarray]]:
        """Physics functions callable by name from mechanism expressions."""
        return {}

    @abstractmethod
    def render_one(self, values: Mapping[str, float], size: int) -> np.ndarray:
        """One image, uint8 (size, size, 3), from one sample's variable values."""

    def render(self, values: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        """A batch of images, uint8 (n, size, size, 3); ``values`` maps names to (n,) arrays."""
        self.check_size(size)
        names = list(values)
        cols = np.stack([np.asarray(values[k], dtype=np.float64) for k in names], axis=1)  # (n, V)
        out = np.empty((cols.shape[0], size, size, 3), dtype=np.uint8)
        for i, row in enumerate(cols.tolist()):
            out[i] = self.render_one(dict(zip(names, row, strict=True)), size)
        return out

    def check_size(self, size: int) -> None:
        if not self.min_size <= size <= self.max_size:
            raise SpecError(
                f"image size {size} is outside [{self.min_size}, {self.max_size}] for {self.id}."
            )

    @property
    def variables(self) -> tuple[VariableInfo, ...]:
        return tuple(
            VariableInfo(v.name, v.unit, v.low, v.high) for v in self.default_scm().variables
        )

    def scm_from_json(self, text: str) -> SCM:
        """Rebuild an SCM of this scene from canonical JSON, with the scene's physics bound."""
        return SCM.from_json(text, self.functions, defaults=self.default_scm())

    def datasheet(self) -> str:
        return (type(self).__doc__ or "").strip()
