"""What ``causalgen validate`` does: check a spec file of either kind without generating.

:func:`check_spec` loads and compiles the file (:mod:`causalgen.scenes.files`), samples a few
units and renders a few images in memory, catching values outside the renderable ranges and
non-finite mechanisms; the :class:`SpecCheck` it returns carries the loaded spec, the scene, the
warnings and a human-readable summary (variables, graph, shapes, shadow functions).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from causalgen import scenes
from causalgen.scenes.base import Scene
from causalgen.scenes.custom import CustomScene, SceneWarning
from causalgen.scenes.files import LoadedSpec, load_spec


@dataclass(frozen=True)
class SpecCheck:
    """What ``causalgen validate`` reports: the loaded spec, its scene, warnings, a summary."""

    loaded: LoadedSpec
    scene: Scene
    warnings: tuple[str, ...]

    def summary(self) -> list[str]:
        """Human-readable lines: kind of spec, variables, graph, shapes, shadow functions."""
        scm, scene = self.loaded.scm, self.scene
        if isinstance(scene, CustomScene):
            head = f"custom scene {scene.id!r} ({self.loaded.scene_id})"
        else:
            head = f"spec over {self.loaded.scene_id}" + (f" ({scm.name!r})" if scm.name else "")
        lines = [f"{self.loaded.path}: valid {head}, {scene.default_size} x "
                 f"{scene.default_size} px by default", f"variables ({len(scm.variables)}):"]
        latent = scene.compiled.latent if isinstance(scene, CustomScene) else frozenset()
        for v in scm.variables:
            mech = v.mechanism if isinstance(v.mechanism, str) else "python"
            rng = "" if np.isinf(v.low) and np.isinf(v.high) else f", range [{v.low:g}, {v.high:g}]"
            unit = f" [{v.unit}]" if v.unit else ""
            init = f"; init {v.init.to_string()}" if v.init is not None else ""
            lines.append(f"  {v.name}{unit} = {mech}; noise {v.noise.to_string()}{init}{rng}"
                         + (" (latent)" if v.name in latent else ""))
        edges = [f"{p} -> {v.name}" for v in scm.variables for p in v.parents or ()]
        lines.append(f"graph ({len(edges)} edges): " + (", ".join(edges) or "no edges"))
        if scm.is_dynamic:  # a temporal spec: its t-1 -> t edges too
            lagged = [f"{p}[t-1] -> {v.name}" for v in scm.variables
                      for p in sorted(scm.lagged_parents(v.name))]
            lines.append(f"lagged graph ({len(lagged)} edges): " + ", ".join(lagged)
                         + "; generate sequences (--steps T)")
        if isinstance(scene, CustomScene):
            shapes = scene.compiled.shapes
            lines.append(f"shapes ({len(shapes)}, in drawing order): "
                         + ", ".join(f"{s.name} ({s.kind})" for s in shapes))
            for c in scene.compiled.casters:
                args = ", ".join(c.arguments)
                lines.append(f"shadow functions of {c.shape.name}: shadow_length_{c.shape.name}"
                             f"({args}), shadow_position_{c.shape.name}({args})")
        else:
            lines.append(f"shapes: drawn by the built-in scene {self.loaded.scene_id}")
        return lines


def check_spec(path: str | os.PathLike, samples: int = 64) -> SpecCheck:
    """Check a spec file of either kind without generating: load and compile it, then sample
    ``samples`` units and render a few images in memory (catches values outside the renderable
    ranges and non-finite mechanisms). Raises a CausalgenError naming the problem."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SceneWarning)
        loaded = load_spec(path)
    scene = scenes.make(loaded.scene_id, **loaded.scene_kwargs)
    drawn = loaded.scm.sample(samples, np.random.default_rng(0))
    scene.render({k: v[:4] for k, v in drawn.as_dict().items()}, scene.default_size)
    return SpecCheck(loaded, scene, tuple(str(w.message) for w in caught
                                          if issubclass(w.category, SceneWarning)))


__all__ = ["SpecCheck", "check_spec"]
