"""``custom-v1``: a scene defined by a TOML file or a Python dict: shapes bound to SCM variables.

Datasheet
---------
Graph, variables, ranges and units: whatever the definition declares (``causalgen validate
SPEC.toml`` prints them, :meth:`CustomScene.datasheet` writes them out). Without a definition,
``scenes.make("custom-v1")`` builds the format's introductory example, "ball-and-bar":
``ball_size -> bar_height``, ``ball_size ~ uniform(3, 8)`` px, ``bar_height = 2.5 * ball_size +
normal(0, 1)`` px, a firebrick ball of radius ``ball_size`` and a steel-blue bar of height
``bar_height`` standing on y = 60, 64 x 64, white background.

Image: RGB, ``size`` x ``size`` (the definition's default size, 64 unless it says otherwise;
``--size`` scales every coordinate and width), anti-aliased by 3 x supersampling. Drawn in this
order: the background; the ground's fill (below the ground line); the shadows of the shapes
that cast one, as bands along the ground line; the shapes in file order. Every attribute is a
number or an expression over the variables, evaluated for the whole batch at once and drawn per
image. Shadows come from pymunk ray casts (:mod:`causalgen.shadows`) unless the shape binds them
to variables (``shadow_length = "var"``), so an intervention on a shadow variable shows.

The file records ``scene = "custom/<name>"`` (or the id a Python scene was registered under),
``scene_entry = "custom-v1"`` and the whole definition in ``scene_kwargs``, so
:func:`causalgen.scenes.from_dataset` rebuilds the scene, renders counterfactuals and checks
ground truth without the spec file. Format reference: ``docs/scenes.md``.

Versions: v1 (causalgen 0.1): first release.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image

from causalgen.render import SUPERSAMPLE, Canvas
from causalgen.scenes.base import Scene
from causalgen.scenes.definition import Definition, parse
from causalgen.scenes.lighting import ShadowDrawable
from causalgen.scenes.shapes import Shape
from causalgen.scenes.source import Source
from causalgen.scm.spec import SCM

ENTRY = "custom-v1"

DEFAULT_DEFINITION: dict[str, Any] = {
    "name": "ball-and-bar",
    "description": "A ball whose size drives the height of a bar (the format's first example).",
    "size": 64,
    "background": "white",
    "variables": {
        "ball_size": {"noise": "uniform(3, 8)", "unit": "px", "low": 0, "high": 16},
        "bar_height": {"mechanism": "2.5 * ball_size + noise", "noise": "normal(0, 1)",
                       "unit": "px"},
    },
    "shapes": [
        {"kind": "circle", "x": 16, "y": 32, "radius": "ball_size", "fill": "firebrick"},
        {"kind": "rectangle", "x": 40, "y": "60 - bar_height", "width": 8,
         "height": "bar_height", "fill": "steelblue"},
    ],
}


class SceneWarning(UserWarning):
    """A custom scene definition is valid but probably not what was meant."""


class CustomScene(Scene):
    """A scene built from a definition (the TOML format of ``docs/scenes.md`` as a dict).

    ``definition`` defaults to the ball-and-bar example. ``scene_id`` is the id the scene is
    registered under when built from Python (:func:`register_scene`); a file's scene is shown
    as ``custom/<name>``. Variables' mechanisms may be Python callables (with ``parents``) when
    the definition is built in Python.
    """

    id = ENTRY

    def __init__(self, definition: Mapping[str, Any] | None = None, scene_id: str | None = None,
                 source: Source | None = None) -> None:
        self.definition = DEFAULT_DEFINITION if definition is None else definition
        self.scene_id = scene_id
        self.compiled: Definition = parse(self.definition, source or Source(
            label=scene_id or f"custom scene {self.definition.get('name', 'custom')!r}"))
        self.id = scene_id or f"custom/{self.compiled.name}"
        self.default_size = self.compiled.size
        self._scm = self.compiled.scm(scene_id or ENTRY)
        drawables: list[Any] = []
        ground = self.compiled.ground
        if ground is not None and ground.fill is not None:
            d = float(self.compiled.size)
            drawables.append(Shape(-1, "rectangle", "ground", {
                "x": -2.0, "y": ground.y, "width": d + 4.0, "height": max(d - ground.y, 0.0) + 2.0,
                "angle": 0.0}, ground.fill))
        drawables += [ShadowDrawable(c) for c in self.compiled.casters]
        drawables += list(self.compiled.shapes)
        lead = 0
        while lead < len(drawables) and drawables[lead].static:
            lead += 1
        self._baked, self._live = drawables[:lead], drawables[lead:]
        self._canvases: dict[int, Canvas] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (CustomScene, (self.definition, self.scene_id))

    def default_scm(self) -> SCM:
        return self._scm

    @property
    def functions(self) -> Mapping[str, Callable[..., np.ndarray]]:
        """``shadow_length_<shape>`` and ``shadow_position_<shape>`` for each shadow caster."""
        return self.compiled.functions

    def _canvas(self, size: int) -> Canvas:
        canvas = self._canvases.get(size)
        if canvas is None:
            w = size * SUPERSAMPLE
            scale = w / self.compiled.size
            baker = Canvas(size, supersample=SUPERSAMPLE,
                           base=Image.new("RGB", (w, w), self.compiled.background))
            for d in self._baked:
                op = d.ops({}, 1, scale)[0]
                if op is not None:
                    baker.apply(op)
            canvas = self._canvases[size] = Canvas(size, supersample=SUPERSAMPLE, base=baker.image)
        return canvas

    def render(self, values: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        """Images uint8 (n, size, size, 3) of ``n`` samples; ``values`` maps names to (n,)."""
        self.check_size(size)
        env = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in values.items()}
        n = max((len(v) for v in env.values()), default=0)
        canvas = self._canvas(size)
        scale = size * SUPERSAMPLE / self.compiled.size
        columns = [d.ops(env, n, scale) for d in self._live]  # vectorised over the batch
        out = np.empty((n, size * size * 3), dtype=np.uint8)
        try:
            for i in range(n):
                for ops in columns:
                    op = ops[i]
                    if op is not None:
                        canvas.apply(op)
                out[i] = np.frombuffer(canvas.finish(), dtype=np.uint8)
        except BaseException:
            canvas.reset()  # never leave a half-drawn image in the shared buffer
            raise
        return out.reshape(n, size, size, 3)

    def render_one(self, values: Mapping[str, float], size: int) -> np.ndarray:
        return self.render({k: np.array([v], dtype=np.float64) for k, v in values.items()}, size)[0]

    def datasheet(self) -> str:
        d, scm = self.compiled, self._scm
        lines = [f"{self.id}: {d.description or 'a custom scene'}", "",
                 "Graph: " + (", ".join(f"{p} -> {v.name}" for v in scm.variables
                                        for p in v.parents or ()) or "no edges"), "",
                 "Variables:"]
        for v in scm.variables:
            mech = v.mechanism if isinstance(v.mechanism, str) else "python"
            rng = f"[{v.low:g}, {v.high:g}]"
            hidden = " (latent: not drawn)" if v.name in d.latent else ""
            lines.append(f"  {v.name} [{v.unit or '-'}] range {rng}: {mech}, noise "
                         f"{v.noise.to_string()}{hidden}")
        lines += ["", f"Image: {d.size} x {d.size} px by default; shapes in drawing order: "
                  + ", ".join(f"{s.name} ({s.kind})" for s in d.shapes)]
        for c in d.casters:
            lines.append(f"Shadow of {c.shape.name}: shadow_length_{c.shape.name}("
                         f"{', '.join(c.arguments)}), shadow_position_{c.shape.name}(...)")
        lines += ["", "Versions: custom-v1 (causalgen 0.1)."]
        return "\n".join(lines)


def stored_form(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as files store it: ``variables`` as a list of tables with a ``name``, so
    that their order (the SCM's column order) survives JSON with sorted keys."""
    variables = doc.get("variables")
    if isinstance(variables, Mapping):
        variables = [{"name": name, **table} for name, table in variables.items()]
    return {**doc, "variables": variables}


def register_scene(scene_id: str, definition: Mapping[str, Any], *, summary: str = "",
                   override: bool = False) -> None:
    """Register a scene built in Python under a versioned id (``"my-scene-v1"``).

    ``definition`` is the TOML format as a dict; a variable's ``mechanism`` may be a Python
    callable ``f(noise, **parents)`` with ``parents = [...]`` declared (trusted code). The
    definition is checked now; ``causalgen.scenes.make(scene_id)`` and
    ``causalgen.generate.generate(scene_id, ...)`` then build the scene. Worker processes find
    it when they are forked from the registering process, or when the registration runs on
    import through the ``causalgen.scenes`` entry-point group (see ``docs/scenes.md``).
    """
    from causalgen import scenes

    compiled = parse(definition, Source(label=scene_id))
    for message in compiled.warnings:
        warnings.warn(message, SceneWarning, stacklevel=2)
    scenes.register(scene_id, CustomScene, summary or compiled.description, override=override,
                    definition=definition, scene_id=scene_id)


__all__ = ["DEFAULT_DEFINITION", "CustomScene", "SceneWarning", "register_scene", "stored_form"]
