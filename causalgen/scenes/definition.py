"""Custom scene definitions: the TOML format (or the same dict built in Python), checked and compiled.

:func:`parse` turns a definition document into a :class:`Definition`: variables (an SCM's
:class:`~causalgen.scm.spec.Variable` s), shapes with compiled attributes, light, ground and the
shadow functions. Every problem raises a :class:`DefinitionError` that names the file and line
(when the definition came from a file), the key path (``shapes[2].radius``) and the problem,
with a "did you mean" for unknown keys. Doubts that do not stop generation (a variable no shape
draws) are collected in ``Definition.warnings``. The format is documented in ``docs/scenes.md``.
Attribute text is compiled by :mod:`causalgen.scm.expr` (parsed with ``ast``, never evaluated).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from causalgen.errors import ExpressionError, SpecError
from causalgen.limits import MAX_SHAPES, MAX_TEXT_SHAPES, MAX_VARIABLES
from causalgen.scenes.colors import RGB
from causalgen.scenes.lighting import GroundSpec, LightSpec, ShadowCaster, ShadowFunction
from causalgen.scenes.shapes import KINDS, REQUIRED, Shape, Value, keys_of
from causalgen.scenes.source import KeyPath, Source
from causalgen.scenes.tables import TableReader
from causalgen.scm.expr import compile_expression
from causalgen.scm.noise import parse_distribution
from causalgen.scm.spec import SCM, Variable, did_you_mean

TOP_KEYS = ("name", "description", "size", "background", "variables", "shapes", "light", "ground")
VARIABLE_KEYS = ("mechanism", "noise", "unit", "low", "high", "description", "latent", "parents",
                 "init")
LIGHT_KEYS = {"directional": ("kind", "angle"), "point": ("kind", "x", "y")}
GROUND_KEYS = ("y", "fill", "shadow_fill", "shadow_width", "shadow_opacity")
DEFAULT_SIZE = 64
MAX_POLYGON_POINTS = 1000
MAX_TEXT = 200
MIN_SIZE, MAX_SIZE = 16, 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Definition:
    """A checked, compiled custom scene."""

    name: str
    description: str
    size: int
    background: RGB
    variables: tuple[Variable, ...]
    latent: frozenset[str]
    shapes: tuple[Shape, ...]
    light: LightSpec | None
    ground: GroundSpec | None
    casters: tuple[ShadowCaster, ...]
    functions: Mapping[str, Callable[..., Any]]
    warnings: tuple[str, ...]

    def scm(self, scene: str) -> SCM:
        return SCM(self.variables, functions=self.functions, scene=scene, name=self.name)


class _Parser(TableReader):
    """Parses a whole definition document into a :class:`Definition`."""

    # -- the document ----------------------------------------------------------------------
    def parse(self) -> Definition:
        doc = self.table(self.doc, [], "a scene definition")
        if "scene" in doc:
            raise self.fail(["scene"], "a custom scene definition has no 'scene' key; a spec with "
                                       "`scene = ...` overrides a registered scene instead.")
        for key in doc:
            if key not in TOP_KEYS:
                raise self.unknown([], key, TOP_KEYS, "a custom scene")
        name = self.string(doc.get("name", "custom"), ["name"])
        if not _NAME.match(name):
            raise self.fail(["name"], f"{name!r} must start with a letter or digit and hold only "
                                      "letters, digits, '_', '.' and '-'.")
        description = self.string(doc.get("description", ""), ["description"])
        size = doc.get("size", DEFAULT_SIZE)
        if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
            raise self.fail(["size"], f"must be a whole number of pixels in [{MIN_SIZE}, "
                                      f"{MAX_SIZE}], got {size!r}.")
        background = self.colour(doc.get("background", "white"), ["background"], constant=True)
        variables, latent, mechanisms = self.variables(doc.get("variables"))
        light = self.light(doc["light"]) if "light" in doc else None
        ground = self.ground(doc["ground"]) if "ground" in doc else None
        shapes = self.shapes(doc.get("shapes", []))
        casters = self.casters(shapes, light, ground)
        functions: dict[str, Callable[..., Any]] = {}
        for c in casters:
            for quantity in ("length", "position"):
                f = ShadowFunction(c, quantity)
                functions[f.__name__] = f
        self.mechanisms(mechanisms, functions)
        definition = Definition(name, description, size, background.constant or (255, 255, 255),
                                tuple(variables), frozenset(latent), tuple(shapes), light, ground,
                                tuple(casters), functions, ())
        try:
            definition.scm("custom-v1")
        except SpecError as exc:
            raise self.fail(["variables"], str(exc)) from None
        self.usage(definition, mechanisms)
        return replace(definition, warnings=tuple(self.warnings))

    def variables(self, raw: Any) -> tuple[list[Variable], set[str], dict[str, Any]]:
        if raw is None:
            raise self.fail([], "a custom scene needs [variables.NAME] tables (at least one).")
        entries: list[tuple[str, Mapping[str, Any], list[str | int]]] = []
        if isinstance(raw, list | Mapping) and len(raw) > MAX_VARIABLES:
            raise self.fail(["variables"], f"{len(raw)} variables; the limit is {MAX_VARIABLES}.")
        if isinstance(raw, list):  # [[variables]] with name = ...: the order survives JSON
            for i, table in enumerate(raw):
                table = self.table(table, ["variables", i], "with name, mechanism, noise, ...")
                name = self.string(table.get("name"), ["variables", i, "name"])
                entries.append((name, {k: v for k, v in table.items() if k != "name"},
                                ["variables", i]))
        else:
            tables = self.table(raw, ["variables"], "of [variables.NAME] tables")
            entries = [(name, self.table(t, ["variables", name], "with mechanism, noise, unit, "
                                                                  "low, high keys"),
                        ["variables", name]) for name, t in tables.items()]
        if not entries:
            raise self.fail(["variables"], "a custom scene needs at least one variable.")
        names = [e[0] for e in entries]
        for k, (name, _, where) in enumerate(entries):
            if name in names[:k]:
                raise self.fail(where, f"the variable name {name!r} is used twice.")
        self.names = tuple(names)
        out, latent, mechanisms = [], set(), {}
        for name, table, where in entries:
            for key in table:
                if key not in VARIABLE_KEYS:
                    raise self.unknown(where, key, VARIABLE_KEYS, "a variable")
            mechanism = table.get("mechanism", "noise")
            kwargs: dict[str, Any] = {}
            if callable(mechanism):  # trusted Python code (a definition built in Python)
                parents = table.get("parents")
                if not isinstance(parents, list | tuple) or not all(isinstance(p, str) for p in parents):
                    raise self.fail([*where, "parents"], "a Python mechanism needs parents = "
                                                         "[names of the variables it reads].")
                kwargs["parents"] = tuple(parents)
            else:
                mechanism = self.string(mechanism, [*where, "mechanism"])
                if "parents" in table:
                    raise self.fail([*where, "parents"], "parents are read from the mechanism "
                                                         "expression; only a Python mechanism declares them.")
            noise = table.get("noise", 0.0)
            try:
                kwargs["noise"] = parse_distribution(noise)
            except SpecError as exc:
                raise self.fail([*where, "noise"], str(exc)) from None
            if "init" in table:  # temporal scenes: the value read as name[t-1] at t = 0
                try:
                    kwargs["init"] = parse_distribution(table["init"])
                except SpecError as exc:
                    raise self.fail([*where, "init"], str(exc)) from None
            for key in ("low", "high"):
                if key in table:
                    kwargs[key] = self.number(table[key], [*where, key])
            for key in ("unit", "description"):
                if key in table:
                    kwargs[key] = self.string(table[key], [*where, key])
            if self.flag(table.get("latent", False), [*where, "latent"]):
                latent.add(name)
            try:
                out.append(Variable(name, mechanism, **kwargs))
            except ExpressionError as exc:
                raise self.fail([*where, "mechanism"], str(exc)) from None
            except SpecError as exc:
                key = "low" if "range" in str(exc) else None
                raise self.fail([*where, key] if key else where, str(exc)) from None
            mechanisms[name] = mechanism
        return out, latent, mechanisms

    def light(self, raw: Any) -> LightSpec:
        table = self.table(raw, ["light"], "kind = 'directional' or 'point'")
        kind = self.string(table.get("kind", "directional"), ["light", "kind"])
        if kind not in LIGHT_KEYS:
            raise self.fail(["light", "kind"], f"unknown light kind {kind!r}"
                                               f"{did_you_mean(kind, LIGHT_KEYS)}; use "
                                               "'directional' or 'point'.")
        for key in table:
            if key not in LIGHT_KEYS[kind]:
                raise self.unknown(["light"], key, LIGHT_KEYS[kind], f"a {kind} light")
        if kind == "point":
            for key in ("x", "y"):
                if key not in table:
                    raise self.fail(["light"], f"a point light needs {key}.")
            return LightSpec(kind, x=self.value(table["x"], ["light", "x"]),
                             y=self.value(table["y"], ["light", "y"]))
        return LightSpec(kind, angle=self.value(table.get("angle", 90.0), ["light", "angle"]))

    def ground(self, raw: Any) -> GroundSpec:
        table = self.table(raw, ["ground"], "y, fill, shadow_fill, shadow_width, shadow_opacity")
        for key in table:
            if key not in GROUND_KEYS:
                raise self.unknown(["ground"], key, GROUND_KEYS, "[ground]")
        if "y" not in table:
            raise self.fail(["ground"], "the ground needs y (pixels from the top).")
        kwargs: dict[str, Any] = {"y": self.number(table["y"], ["ground", "y"])}
        for key in ("fill", "shadow_fill"):
            if key in table:
                kwargs[key] = self.colour(table[key], ["ground", key])
        for key in ("shadow_width", "shadow_opacity"):
            if key in table:
                kwargs[key] = self.value(table[key], ["ground", key])
        return GroundSpec(**kwargs)

    def shapes(self, raw: Any) -> list[Shape]:
        if not isinstance(raw, list) or not all(isinstance(s, Mapping) for s in raw):
            raise self.fail(["shapes"], "must be an array of [[shapes]] tables.")
        if not raw:
            raise self.fail([], "a custom scene needs at least one [[shapes]] table.")
        if len(raw) > MAX_SHAPES:
            raise self.fail(["shapes"], f"{len(raw)} shapes; the limit is {MAX_SHAPES}.")
        texts = sum(1 for t in raw if t.get("kind") == "text")
        if texts > MAX_TEXT_SHAPES:  # each costs up to a canvas of glyph mask to draw and turn
            raise self.fail(["shapes"], f"{texts} text shapes; the limit is {MAX_TEXT_SHAPES}.")
        shapes: list[Shape] = []
        for i, table in enumerate(raw):
            shape = self.shape(i, table)
            if any(s.name == shape.name for s in shapes):
                raise self.fail(["shapes", i, "name"], f"the name {shape.name!r} is taken by "
                                                       "another shape.")
            shapes.append(shape)
        return shapes

    def shape(self, i: int, table: Mapping[str, Any]) -> Shape:
        where: list[str | int] = ["shapes", i]
        if "kind" not in table:
            raise self.fail(where, f"a shape needs kind = one of {', '.join(KINDS)}.")
        kind = table["kind"]
        if kind not in KINDS:
            raise self.fail([*where, "kind"], f"unknown shape kind {kind!r}"
                                              f"{did_you_mean(str(kind), KINDS)}; kinds: "
                                              f"{', '.join(KINDS)}.")
        allowed = keys_of(kind)
        for key in table:
            if key not in allowed:
                raise self.unknown(where, key, allowed, _article(kind))
        name = self.string(table.get("name", f"{kind}{i}"), [*where, "name"])
        if not name.isidentifier() or name.startswith("_"):
            raise self.fail([*where, "name"], f"{name!r} must be an identifier (letters, digits, "
                                              "_), as it names the shape's shadow functions.")
        attrs: dict[str, Value] = {}
        for key, default in KINDS[kind].items():
            if key in table:
                attrs[key] = self.value(table[key], [*where, key])
            elif default is REQUIRED:
                raise self.fail(where, f"{_article(kind)} needs {key}.")
            else:
                attrs[key] = default
        kwargs: dict[str, Any] = {}
        fill = table.get("fill", "black")
        kwargs["fill"] = None if fill == "none" else self.colour(fill, [*where, "fill"])
        if "outline" in table:
            kwargs["outline"] = self.colour(table["outline"], [*where, "outline"])
        if kwargs["fill"] is None and kwargs.get("outline") is None:
            raise self.fail([*where, "fill"], "fill = 'none' needs an outline, or the shape is "
                                              "invisible.")
        for key in ("outline_width", "opacity", "shadow_length", "shadow_position", "value"):
            if key in table:
                kwargs[key] = self.value(table[key], [*where, key])
        kwargs["casts_shadow"] = self.flag(table.get("casts_shadow", False),
                                           [*where, "casts_shadow"])
        for key in ("shadow_length", "shadow_position"):
            if key in table and not kwargs["casts_shadow"]:
                raise self.fail([*where, key], "only a shape with casts_shadow = true has a shadow.")
        if kind == "polygon":
            kwargs["points"] = self.points(table.get("points"), [*where, "points"])
        if kind == "text":
            if "text" not in table and "value" not in table:
                raise self.fail(where, "a text needs text = '...' (and/or value = an expression, "
                                       "shown where the text has '{}').")
            kwargs["text"] = self.string(table.get("text", "{}"), [*where, "text"])
            if len(kwargs["text"]) > MAX_TEXT:
                raise self.fail([*where, "text"], f"is {len(kwargs['text'])} characters; the "
                                                  f"limit is {MAX_TEXT}.")
            decimals = table.get("decimals", 0)
            if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 12:
                raise self.fail([*where, "decimals"], f"must be a whole number in [0, 12], got "
                                                      f"{decimals!r}.")
            kwargs["decimals"] = decimals
        return Shape(i, kind, name, attrs, **kwargs)

    def points(self, raw: Any, where: KeyPath) -> tuple[tuple[Value, Value], ...]:
        if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_POLYGON_POINTS:
            raise self.fail(where, "a polygon needs points = [[x, y], [x, y], [x, y], ...] "
                                   f"(3 to {MAX_POLYGON_POINTS}).")
        out = []
        for j, point in enumerate(raw):
            if not isinstance(point, list) or len(point) != 2:
                raise self.fail([*where, j], f"each point is [x, y], got {point!r}.")
            out.append((self.value(point[0], [*where, j]), self.value(point[1], [*where, j])))
        return tuple(out)

    def casters(self, shapes: list[Shape], light: LightSpec | None,
                ground: GroundSpec | None) -> list[ShadowCaster]:
        out = []
        for s in shapes:
            if not s.casts_shadow:
                continue
            if light is None or ground is None:
                missing = " and ".join(t for t, v in (("[light]", light), ("[ground]", ground))
                                       if v is None)
                raise self.fail(["shapes", s.index, "casts_shadow"],
                                f"a shadow needs a light and a ground; add {missing}.")
            driving = s.geometry_names | light.names
            out.append(ShadowCaster(s, light, ground, tuple(n for n in self.names if n in driving)))
        if light is not None and not out:
            self.warnings.append(self.src.message(["light"], "has no effect: no shape has "
                                                             "casts_shadow = true."))
        return out

    def mechanisms(self, mechanisms: Mapping[str, Any], functions: Mapping[str, Any]) -> None:
        """Compile each text mechanism and check the arguments of its shadow-function calls."""
        for name, text in mechanisms.items():
            if not isinstance(text, str):
                continue
            where = ["variables", name, "mechanism"]
            try:
                compile_expression(text, self.names, functions, lags=self.names)
            except SpecError as exc:
                raise self.fail(where, str(exc)) from None
            tree = ast.parse(" ".join(text.split()), mode="eval")
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                        and node.func.id in functions:
                    wanted = functions[node.func.id].caster.arguments
                    given = [a.id if isinstance(a, ast.Name) else ast.unparse(a) for a in node.args]
                    if given != list(wanted):
                        raise self.fail(where, f"{node.func.id} takes the variables that move the "
                                               "shape or the light, as declared: "
                                               f"{node.func.id}({', '.join(wanted)}); got "
                                               f"{node.func.id}({', '.join(given)}).")

    def usage(self, d: Definition, mechanisms: Mapping[str, Any]) -> None:
        used = frozenset().union(*(s.names for s in d.shapes))
        if d.ground is not None:
            used |= d.ground.names
        if d.light is not None and d.casters:
            used |= d.light.names
        for v in d.variables:
            if v.name in d.latent:
                if v.name in used:
                    self.warnings.append(self.src.message(["variables", v.name, "latent"],
                                                          "marked latent, but a shape draws it."))
                continue
            if v.name in used:
                continue
            message = ("no shape draws this variable, so the images do not show it; mark it "
                       "latent = true if it is meant to be hidden (e.g. a confounder)")
            text = mechanisms.get(v.name)
            calls = sorted(f for f in d.functions if isinstance(text, str) and f"{f}(" in text)
            if calls:
                quantity = "shadow_length" if calls[0].startswith("shadow_length") else "shadow_position"
                shape = calls[0].split("_", 2)[2]
                message += (f"; its mechanism calls {calls[0]}: add {quantity} = {v.name!r} to "
                            f"the shape {shape!r} so that its shadow is drawn from it")
            self.warnings.append(self.src.message(["variables", v.name], message + "."))


def _article(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def parse(doc: Mapping[str, Any], source: Source | None = None) -> Definition:
    """Check and compile a custom scene definition (a parsed TOML document or a Python dict)."""
    return _Parser(doc, source or Source()).parse()
