"""Custom scenes: bundled examples, shape kinds, colours, opacity, shadows, errors, Python API."""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from causalgen import scenes, shadows
from causalgen.errors import SpecError
from causalgen.generate import generate
from causalgen.io import open_dataset
from causalgen.io.merge import merge_shards
from causalgen.scenes.colors import parse_colour
from causalgen.scenes.custom import CustomScene, SceneWarning, register_scene
from causalgen.scenes.files import load_spec

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "data/scenes").glob("*.toml"))
SUN_BALL_PANEL = ROOT / "data/scenes/sun-ball-panel.toml"


def scene_of(doc: dict[str, Any]) -> CustomScene:
    return CustomScene(doc)


def one(scene: CustomScene, size: int | None = None, **values: float) -> np.ndarray:
    return scene.render({k: np.array([v]) for k, v in values.items()}, size or scene.default_size)[0]


def base(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "t", "size": 64, "variables": {"x": {"noise": "uniform(0, 1)"}},
                           "shapes": [{"kind": "circle", "x": 32, "y": 32, "radius": "4 + x"}]}
    doc.update(extra)
    return doc


# -- the bundled examples ----------------------------------------------------------------------
def test_examples_are_bundled() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"chain", "collider-confounded", "sun-ball-panel", "pendulum-noisy"} <= names
    for path in EXAMPLES:  # each says what identifiability question it poses
        head = path.read_text().split("\n\n")[0].lower()
        assert head.startswith("#") and ("question" in head or "identifiab" in head), path


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_loads_generates_and_varies(path: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SceneWarning)  # bundled examples raise no doubts
        loaded = load_spec(path)
    out = generate(loaded.scene_id, tmp_path / "x.h5", n=100, seed=1, size=40, workers=1,
                   scm=loaded.scm, scene_kwargs=loaded.scene_kwargs)
    with open_dataset(out) as ds:
        images = ds.images[...]
        assert images.shape == (100, 40, 40, 3)
        assert len({img.tobytes() for img in images}) >= 95  # the images vary
        assert images.std(axis=0).mean() > 1.0
        scene, scm = scenes.from_dataset(ds)  # rebuilt from the file alone
        assert scene.id == ds.scene and scm.to_json() == ds.spec_json
        if loaded.scene_id == "custom-v1":
            assert ds.scene == f"custom/{loaded.scm.name}" and ds.scene_entry == "custom-v1"
            # the stored definition keeps the declaration order (the label columns' order)
            assert list(scene.variables) == list(ds.variables)
            assert scene.default_scm().to_json() == loaded.scm.to_json()


def test_six_variable_example_uses_colour_size_position_rotation_shadow() -> None:
    loaded = load_spec(SUN_BALL_PANEL)
    scene = scenes.make("custom-v1", **loaded.scene_kwargs)
    assert len(loaded.scm.variables) >= 6 and len(scene.compiled.shapes) == 6
    text = SUN_BALL_PANEL.read_text()
    for key in ("hsv(", "radius = \"ball_size\"", "x = \"ball_x\"", "angle = \"panel_angle\"",
                "casts_shadow = true"):
        assert key in text


# -- drawing -----------------------------------------------------------------------------------
def test_every_shape_kind_renders_where_it_should() -> None:
    doc = base(shapes=[
        {"kind": "circle", "x": 10, "y": 10, "radius": 5, "fill": "red"},
        {"kind": "ellipse", "x": 30, "y": 10, "rx": 8, "ry": 3, "angle": 90, "fill": "lime"},
        {"kind": "rectangle", "x": 44, "y": 4, "width": 14, "height": 12, "angle": 30,
         "fill": "blue", "outline": "black", "outline_width": 1},
        {"kind": "line", "x1": 4, "y1": 30, "x2": 60, "y2": 30, "width": 3, "fill": "#ff00ff"},
        {"kind": "polygon", "x": 16, "y": 48, "points": [[-8, 8], [0, -8], [8, 8]],
         "fill": "rgb(0, 128, 128)"},
        {"kind": "text", "x": 44, "y": 48, "text": "AB", "font_size": 14, "fill": "black"},
        {"kind": "ellipse", "x": 56, "y": 58, "rx": 5, "ry": 2, "angle": 20, "fill": "orange"},
        {"kind": "text", "x": 30, "y": 58, "value": "10 * x", "decimals": 1, "angle": 15,
         "font_size": 8, "opacity": 0.8},
    ])
    scene = scene_of(doc)
    img = one(scene, 64, x=0.5)
    assert tuple(img[10, 10]) == (255, 0, 0)
    assert tuple(img[4, 30]) == (0, 255, 0) and tuple(img[10, 36]) == (255, 255, 255)  # turned 90
    assert tuple(img[10, 51]) == (0, 0, 255)
    assert tuple(img[30, 32]) == (255, 0, 255)
    assert tuple(img[50, 16]) == (0, 128, 128)
    text = img[42:55, 34:55]
    assert (text.sum(-1) < 200).sum() > 20  # dark glyph pixels
    assert tuple(img[58, 56]) == (255, 165, 0)
    assert np.any(img[54:63, 20:40].sum(-1) < 300)  # the turned, translucent value text
    # the value text changes with the variable; nothing else does
    other = one(scene, 64, x=0.9)
    changed = np.argwhere((img != other).any(-1))
    assert len(changed) and changed[:, 0].min() >= 50 and changed[:, 1].max() < 45


def test_render_is_pure_and_batch_independent() -> None:
    loaded = load_spec(SUN_BALL_PANEL)
    scene = scenes.make("custom-v1", **loaded.scene_kwargs)
    s = loaded.scm.sample(30, np.random.default_rng(2)).as_dict()
    a = scene.render(s, 48)
    assert np.array_equal(a, scene.render(s, 48))
    assert np.array_equal(a[7], scene.render({k: v[7:8] for k, v in s.items()}, 48)[0])
    assert np.array_equal(a[7], scene.render_one({k: float(v[7]) for k, v in s.items()}, 48))


def test_coordinates_scale_with_size() -> None:
    scene = scene_of(base(shapes=[{"kind": "rectangle", "x": 16, "y": 16, "width": 32,
                                   "height": 16, "fill": "black"}]))
    for size in (32, 64, 128):
        img = one(scene, size, x=0.0)
        dark = np.argwhere(img.sum(-1) < 100)
        f = size / 64
        assert dark[:, 1].min() == pytest.approx(16 * f, abs=1)
        assert dark[:, 1].max() == pytest.approx(48 * f - 1, abs=1)
        assert dark[:, 0].min() == pytest.approx(16 * f, abs=1)


@pytest.mark.parametrize(("text", "rgb"), [
    ("firebrick", (178, 34, 34)), ("#0f0", (0, 255, 0)), ("#123456", (0x12, 0x34, 0x56)),
    ("rgb(10, 20, 30)", (10, 20, 30)), ("rgb(100%, 0%, 0%)", (255, 0, 0)),
    ("hsv(0, 1, 1)", (255, 0, 0)), ("hsv(120, 100%, 100%)", (0, 255, 0)),
    ("hsv(240, 1, 0.5)", (0, 0, 128)), ("HSV(360 + 60, 1, 1)", (255, 255, 0)),
])
def test_constant_colours_parse(text: str, rgb: tuple[int, int, int]) -> None:
    assert parse_colour(text).constant == rgb


def test_hue_driven_by_a_variable() -> None:
    c = parse_colour("hsv(36 * x, 1, clip(y, 0, 1))", ["x", "y"])
    assert c.constant is None and c.names == {"x", "y"}
    got = c.evaluate({"x": np.array([0.0, 10 / 3, 20 / 3, 10.0]), "y": np.array([1, 1, 1, 5.0])}, 4)
    assert got == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 0, 0)]
    scene = scene_of(base(shapes=[{"kind": "circle", "x": 32, "y": 32, "radius": 10,
                                   "fill": "hsv(120 * x, 1, 1)"}]))
    assert tuple(one(scene, x=1.0)[32, 32]) == (0, 255, 0)
    assert tuple(one(scene, x=2.0)[32, 32]) == (0, 0, 255)


@pytest.mark.parametrize("text", ["firebrik", "rgb(1, 2)", "hsv(y, 1, 1)", "#12345g",
                                  "rgb(__import__('os'), 0, 0)", "rgb(x.real, 0, 0)"])
def test_bad_colours_are_refused(text: str) -> None:
    with pytest.raises(SpecError):
        parse_colour(text, ["x"])


def test_opacity_blends() -> None:
    scene = scene_of(base(shapes=[
        {"kind": "rectangle", "x": 0, "y": 0, "width": 32, "height": 64, "fill": "blue"},
        {"kind": "rectangle", "x": 16, "y": 16, "width": 32, "height": 32, "fill": "red",
         "opacity": "x"},
    ]))
    half = one(scene, x=0.5)
    assert tuple(half[32, 40]) == pytest.approx((255, 128, 128), abs=1)  # red over white
    assert tuple(half[32, 20]) == pytest.approx((128, 0, 128), abs=1)  # red over blue
    assert tuple(one(scene, x=1.0)[32, 20]) == (255, 0, 0)
    assert tuple(one(scene, x=0.0)[32, 20]) == (0, 0, 255)  # invisible
    assert tuple(one(scene, x=-3.0)[32, 20]) == (0, 0, 255)  # clipped to 0


# -- light and shadows -------------------------------------------------------------------------
def shadow_doc(light: dict[str, Any], shape: dict[str, Any]) -> dict[str, Any]:
    return {"name": "s", "size": 64,
            "variables": {"a": {"noise": "uniform(60, 120)"}, "x": {"noise": "uniform(20, 40)"},
                          "length": {"mechanism": f"shadow_length_thing({light['args']})"},
                          "position": {"mechanism": f"shadow_position_thing({light['args']})"}},
            "light": {k: v for k, v in light.items() if k != "args"},
            "ground": {"y": 56, "shadow_width": 2},
            "shapes": [{"name": "thing", "casts_shadow": True, "shadow_length": "length",
                        "shadow_position": "position", **shape}]}


def test_shadow_of_a_circle_under_directional_light_matches_geometry() -> None:
    scene = scene_of(shadow_doc({"kind": "directional", "angle": "a", "args": "a, x"},
                                {"kind": "circle", "x": "x", "y": 30, "radius": 5}))
    s = scene.default_scm().sample(50, np.random.default_rng(0))
    a, x = np.radians(s["a"]), s["x"]
    np.testing.assert_allclose(s["length"], 10 / np.sin(a), rtol=1e-9)
    np.testing.assert_allclose(s["position"], x - (56 - 30) / np.tan(a), atol=1e-7)
    assert list(scene.functions) == ["shadow_length_thing", "shadow_position_thing"]


def test_shadow_under_a_point_light_and_of_a_polygon() -> None:
    scene = scene_of(shadow_doc({"kind": "point", "x": "x", "y": 0, "args": "x"},
                                {"kind": "circle", "x": 32, "y": 20, "radius": 4}))
    s = scene.default_scm().sample(20, np.random.default_rng(0))
    d = np.hypot(s["x"] - 32, 20.0)
    # tangent rays from the light (x, 0): half-angle asin(r / d) around the centre's direction
    centre = np.arctan2(20.0, 32 - s["x"])
    half = np.arcsin(4 / d)
    hits = s["x"][:, None] + 56 / np.tan(centre[:, None] + np.array([-half, half]).T)
    np.testing.assert_allclose(s["length"], np.abs(hits[:, 0] - hits[:, 1]), rtol=1e-9)
    square = scene_of(shadow_doc({"kind": "directional", "angle": 45, "args": ""},
                                 {"kind": "rectangle", "x": 20, "y": 20, "width": 10, "height": 10}))
    s = square.default_scm().sample(3, np.random.default_rng(0))
    # corners project along (-1, 1): x - (56 - y); extremes from (20, 20) and (30, 30)
    assert s["length"] == pytest.approx(np.full(3, (30 - 26) - (20 - 36)))
    assert s["position"] == pytest.approx(np.full(3, ((30 - 26) + (20 - 36)) / 2))


def test_rays_that_miss_the_ground_are_clamped() -> None:
    light = shadows.Light("point", x=np.array([0.0]), y=np.array([50.0]))
    hits = shadows.ground_hits(np.array([[[10.0, 40.0]]]), light, 60.0)  # above the light
    assert hits[0, 0] == shadows.EXTENT


def test_an_intervention_on_a_bound_shadow_moves_the_drawn_shadow(tmp_path: Path) -> None:
    loaded = load_spec(SUN_BALL_PANEL)
    scene = scenes.make("custom-v1", **loaded.scene_kwargs)
    s = loaded.scm.sample(1, np.random.default_rng(3)).as_dict()
    moved = {**s, "shadow_position": s["shadow_position"] + 12}
    a, b = scene.render(s, 64)[0], scene.render(moved, 64)[0]
    rows = np.argwhere((a != b).any(-1))[:, 0]
    assert len(rows) and rows.min() >= 51 and rows.max() <= 56  # only along the ground line
    out = generate("custom-v1", tmp_path / "do.h5", n=40, size=64, workers=1, seed=3,
                   scm=loaded.scm, scene_kwargs=loaded.scene_kwargs,
                   counterfactual={"shadow_position": 8.0})
    with open_dataset(out) as ds:
        assert ds.counterfactual is not None
        diff = (ds.images[...] != ds.counterfactual.images[...]).any(-1)  # (n, H, W)
        assert diff.any() and not diff[:, :50].any()


def test_unbound_shadow_is_drawn_from_the_geometry() -> None:
    doc = shadow_doc({"kind": "directional", "angle": "a", "args": "a, x"},
                     {"kind": "circle", "x": "x", "y": 30, "radius": 5})
    del doc["shapes"][0]["shadow_length"], doc["shapes"][0]["shadow_position"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_custom_doc(doc)
    messages = [str(w.message) for w in caught if w.category is SceneWarning]
    assert len(messages) == 2
    assert "add shadow_length = 'length' to the shape 'thing'" in messages[0]
    scene = scene_of(doc)
    img = one(scene, a=90.0, x=30.0, length=0.0, position=0.0)  # values of length ignored
    dark = np.argwhere(img[54:58].sum(-1) < 100)[:, 1]
    assert dark.min() == pytest.approx(25, abs=1) and dark.max() == pytest.approx(34, abs=1)


def load_custom_doc(doc: dict[str, Any]) -> None:
    from causalgen.scenes.files import load_custom

    load_custom(Path("mem.toml"), "", doc)


# -- validation --------------------------------------------------------------------------------
GOOD = '''name = "t"
[variables.ball_size]
noise = "uniform(3, 8)"
[variables.bar]
mechanism = "2 * ball_size + noise"
noise = "normal(0, 1)"

[[shapes]]
kind = "circle"
x = 16
y = 32
radius = "ball_size"

[[shapes]]
kind = "rectangle"
x = 40
y = "60 - bar"
width = 8
height = "bar"
fill = "steelblue"
'''


@pytest.mark.parametrize(("old", "new", "where", "message"), [
    ('kind = "rectangle"', 'kind = "rectangel"', ":15: shapes[1].kind", "did you mean 'rectangle'"),
    ('height = "bar"', 'height = "bra"', ":19: shapes[1].height", "unknown name 'bra'; did you mean 'bar'"),
    ('fill = "steelblue"', 'fill = "steelblu"', ":20: shapes[1].fill", "did you mean 'steelblue'"),
    ('fill = "steelblue"', 'fill = "hsv(ball_size, 1)"', ":20: shapes[1].fill", "3 components"),
    ("y = 32", "y = 32\nradus = 3", ":12: shapes[0].radus", "did you mean 'radius'"),
    ("width = 8", "width = 8\nrotation = 3", ":19: shapes[1].rotation", "did you mean 'angle'"),
    ("x = 16\n", "", ":8: shapes[0]", "a circle needs x"),
    ('radius = "ball_size"', 'radius = "__import__(\'os\')"', ":12: shapes[0].radius", "not allowed"),
    ('radius = "ball_size"', 'radius = "ball_size.real"', ":12: shapes[0].radius", "attribute access"),
    ('radius = "ball_size"', 'radius = "(lambda: 1)()"', ":12: shapes[0].radius", "only named functions"),
    ('radius = "ball_size"', 'radius = "9 ** 9 ** 9"', ":12: shapes[0].radius", "too large"),
    ('radius = "ball_size"', 'radius = "noise"', ":12: shapes[0].radius", "'noise' is not allowed"),
    ('radius = "ball_size"', 'radius = "eval(1)"', ":12: shapes[0].radius", "unknown function 'eval'"),
    ('radius = "ball_size"', "radius = true", ":12: shapes[0].radius", "a number or an expression"),
    ('noise = "normal(0, 1)"', 'noise = "normal(0, -1)"', ":6: variables.bar.noise", "sigma must be > 0"),
    ('mechanism = "2 * ball_size + noise"', 'mechanism = "2 * bal_size"', ":5: variables.bar.mechanism",
     "did you mean 'ball_size'"),
    ('noise = "uniform(3, 8)"', 'noise = "uniform(3, 8)"\nmechanism = "bar"', ":2: variables",
     "cycle"),
    ('noise = "uniform(3, 8)"', 'noise = "uniform(3, 8)"\nlow = 5\nhigh = 1', ":4: variables.ball_size.low",
     "must be <"),
    ('noise = "uniform(3, 8)"', 'noise = "uniform(3, 8)"\nunits = "px"', ":4: variables.ball_size.units",
     "did you mean 'unit'"),
    ('name = "t"', 'name = "t"\nsize = 8', ":2: size", "[16, 1024]"),
    ('name = "t"', 'name = "t"\nbackgrund = "red"', ":2: backgrund", "did you mean 'background'"),
    ("y = 32", "y = 32\ncasts_shadow = true", ":12: shapes[0].casts_shadow", "add [light] and [ground]"),
])
def test_errors_name_file_line_and_key_path(tmp_path: Path, old: str, new: str, where: str,
                                            message: str) -> None:
    assert old in GOOD
    path = tmp_path / "scene.toml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert text.startswith(f"{path}{where}:"), text
    assert message in text, text


def test_shadow_function_arguments_are_checked(tmp_path: Path) -> None:
    doc = shadow_doc({"kind": "directional", "angle": "a", "args": "x, a"},
                     {"kind": "circle", "x": "x", "y": 30, "radius": 5})
    with pytest.raises(SpecError, match=re.escape("shadow_length_thing(a, x); got shadow_length_thing(x, a)")):
        scene_of(doc)


def test_good_spec_loads_and_unused_variables_warn(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(GOOD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_spec(path)
    assert loaded.scene_id == "custom-v1" and loaded.scm.names == ("ball_size", "bar")
    path.write_text(GOOD.replace('[variables.bar]', '[variables.hidden]\nnoise = 1\n\n[variables.bar]'))
    with pytest.warns(SceneWarning, match=r"ok.toml:\d+: variables.hidden: no shape draws"):
        load_spec(path)
    path.write_text(GOOD.replace('[variables.bar]', '[variables.hidden]\nlatent = true\n\n[variables.bar]'))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_spec(path)


def test_variables_as_an_array_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "arr.toml"
    path.write_text('[[variables]]\nname = "b"\nnoise = 1\n\n[[variables]]\nname = "a"\n'
                    'mechanism = "b + noise"\nnoise = "uniform(0, 1)"\n\n'
                    '[[shapes]]\nkind = "circle"\nx = 5\ny = 5\nradius = "a + b"\n')
    assert load_spec(path).scm.names == ("b", "a")
    path.write_text(path.read_text().replace('noise = "uniform(0, 1)"', 'nois = "uniform(0, 1)"'))
    with pytest.raises(SpecError, match=re.escape(f"{path}:8: variables[1].nois: unknown key "
                                                  "(did you mean 'noise'?)")):
        load_spec(path)


def test_a_scene_without_name_takes_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "my scene.toml"
    path.write_text(GOOD.replace('name = "t"\n', ""))
    loaded = load_spec(path)
    assert scenes.make("custom-v1", **loaded.scene_kwargs).id == "custom/my-scene"


# -- determinism -------------------------------------------------------------------------------
def digest(path: Path) -> str:
    with open_dataset(path) as ds:
        h = hashlib.sha256()
        for a in (ds.images[...], ds.labels, ds.noise, ds.split):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


def test_workers_and_shards_give_the_same_bytes(tmp_path: Path) -> None:
    loaded = load_spec(SUN_BALL_PANEL)
    kw = {"n": 600, "seed": 5, "size": 32, "scm": loaded.scm, "scene_kwargs": loaded.scene_kwargs}
    one_worker = generate("custom-v1", tmp_path / "a.h5", workers=1, **kw)
    two = generate("custom-v1", tmp_path / "b.h5", workers=2, **kw)
    assert digest(one_worker) == digest(two)
    parts = [generate("custom-v1", tmp_path / f"s{k}.h5", workers=1, shard=(k, 2), **kw)
             for k in (1, 2)]
    assert digest(merge_shards(parts, tmp_path / "m.h5")) == digest(one_worker)


# -- the Python API ----------------------------------------------------------------------------
def bar_height(noise: np.ndarray, ball_size: np.ndarray) -> np.ndarray:
    return 2.5 * ball_size + noise


PYTHON_SCENE = {
    "name": "ball-and-bar-python",
    "size": 48,
    "variables": {
        "ball_size": {"noise": "uniform(3, 8)"},
        "bar_height": {"mechanism": bar_height, "parents": ["ball_size"], "noise": "normal(0, 1)"},
    },
    "shapes": [
        {"kind": "circle", "x": 12, "y": 24, "radius": "ball_size", "fill": "firebrick"},
        {"kind": "rectangle", "x": 30, "y": "45 - bar_height", "width": 8,
         "height": "bar_height", "fill": "steelblue"},
    ],
}


def test_python_scene_registered_and_generated_with_two_workers(tmp_path: Path) -> None:
    register_scene("test-ball-bar-v1", PYTHON_SCENE, summary="test scene", override=True)
    assert "test-ball-bar-v1" in scenes.list_scenes()
    scene = scenes.make("test-ball-bar-v1")
    assert scene.id == "test-ball-bar-v1" and scene.default_size == 48
    assert scene.default_scm().parents("bar_height") == ("ball_size",)
    out = generate("test-ball-bar-v1", tmp_path / "p.h5", n=300, workers=2, seed=2)
    with open_dataset(out) as ds:
        assert ds.scene == "test-ball-bar-v1" and ds.images.shape == (300, 48, 48, 3)
        labels = ds.labels.astype(np.float64)
        np.testing.assert_allclose(labels[:, 1], 2.5 * labels[:, 0] + ds.noise[:, 1], atol=1e-4)
        rebuilt, scm = scenes.from_dataset(ds)  # the Python mechanism comes back from the scene
        assert rebuilt.id == "test-ball-bar-v1"
        assert scm.variable("bar_height").mechanism is bar_height
    one_worker = generate("test-ball-bar-v1", tmp_path / "q.h5", n=300, workers=1, seed=2)
    assert digest(out) == digest(one_worker)
    with pytest.raises(SpecError, match="already registered"):
        register_scene("test-ball-bar-v1", PYTHON_SCENE)
    with pytest.raises(SpecError, match="parents"):
        register_scene("test-bad-v1", {**PYTHON_SCENE, "variables": {
            "ball_size": {"noise": 1}, "bar_height": {"mechanism": bar_height}}})


def test_default_custom_scene_is_the_format_example() -> None:
    scene = scenes.make("custom-v1")
    assert scene.id == "custom/ball-and-bar"
    assert "ball_size -> bar_height" in scene.datasheet()
    img = one(scene, ball_size=5.0, bar_height=12.0)
    assert tuple(img[32, 16]) == (178, 34, 34)
    assert math.isclose(img[49:60, 40:48].mean(), np.mean((70, 130, 180)), abs_tol=1)
