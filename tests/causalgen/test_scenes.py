"""Every registered scene walked (build, sample, render, determinism); pendulum vs reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from causalgen import physics, scenes
from causalgen.errors import SceneNotFoundError, SpecError


@pytest.mark.parametrize("scene_id", scenes.list_scenes())
def test_every_scene_builds_samples_renders_deterministically(scene_id: str) -> None:
    scene = scenes.make(scene_id)
    scm = scene.default_scm()
    assert scm.scene == scene_id
    assert [v.name for v in scene.variables] == list(scm.names)
    assert scene.datasheet(), "a scene's docstring is its datasheet"
    s1 = scm.sample(40, np.random.default_rng(0))
    s2 = scm.sample(40, np.random.default_rng(0))
    assert np.array_equal(s1.values, s2.values)
    for v in scm.variables:  # default sampling stays inside the renderable ranges
        col = s1[v.name]
        assert v.low <= col.min() and col.max() <= v.high, v.name
    for size in (32, 64, scene.default_size):
        a = scene.render(s1.as_dict(), size)
        assert a.shape == (40, size, size, 3) and a.dtype == np.uint8
    a = scene.render(s1.as_dict(), 48)
    b = scene.render(s1.as_dict(), 48)  # pure: same values, same pixels
    assert np.array_equal(a, b)
    one = scene.render({k: v[5:6] for k, v in s1.as_dict().items()}, 48)[0]
    assert np.array_equal(one, a[5])  # independent of batch composition
    assert len({img.tobytes() for img in a}) > 30  # samples actually differ
    assert scene.scm_from_json(scm.to_json()).to_json() == scm.to_json()


def test_unknown_scene_suggests() -> None:
    assert scenes.make("pendulum").id == "pendulum-v1"  # unversioned: the latest version
    with pytest.raises(SceneNotFoundError, match="did you mean 'pendulum-v1'"):
        scenes.make("pendulm")
    with pytest.raises(SceneNotFoundError, match="registered scenes"):
        scenes.make("pendelum-v1")
    with pytest.raises(SpecError, match="version"):
        scenes.register("NoVersion", "x:y")


def reference_grid() -> tuple[np.ndarray, np.ndarray]:
    i, j = np.meshgrid(np.arange(-40, 44), [j for j in range(60, 148) if j != 100], indexing="ij")
    return (i * 0.9).ravel(), (j * 0.9).ravel()


def test_pendulum_ray_casts_equal_reference_equations() -> None:
    th, ph = reference_grid()
    length, position = physics.pendulum_shadow(th, ph)
    for t, p, L, P in zip(th[::97], ph[::97], length[::97], position[::97], strict=True):
        # the reference's equations, written out independently in plain math
        theta, phi = t * math.pi / 180, p * math.pi / 180
        proj = lambda x, y, phi=phi: x - (y + 0.5) / math.tan(phi)  # noqa: E731
        a = proj(10, 10.5)
        b = proj(10 + 9.5 * math.sin(theta), 10.5 - 9.5 * math.cos(theta))
        assert pytest.approx(max(3, abs(a - b)), abs=1e-9) == L
        assert pytest.approx((a + b) / 2, abs=1e-9) == P
    cl, cp = physics.pendulum_shadow_closed_form(th, ph)
    np.testing.assert_allclose(length, cl, atol=1e-9)
    np.testing.assert_allclose(position, cp, atol=1e-9)


def test_pendulum_labels_equal_reference_equations() -> None:
    scm = scenes.make("pendulum-v1").default_scm()
    s = scm.sample(2000, np.random.default_rng(4))
    assert s["pendulum_angle"].min() >= -36 and s["pendulum_angle"].max() <= 38.7
    assert s["light_angle"].min() >= 54 and s["light_angle"].max() <= 132.3
    cl, cp = physics.pendulum_shadow_closed_form(s["pendulum_angle"], s["light_angle"])
    np.testing.assert_allclose(s["shadow_length"], cl, atol=1e-9)
    np.testing.assert_allclose(s["shadow_position"], cp, atol=1e-9)
    assert s["shadow_length"].min() == 3.0  # the reference's floor is reached


def test_pendulum_image_follows_the_reference_geometry() -> None:
    scene = scenes.make("pendulum-v1")
    img = scene.render({"pendulum_angle": np.array([0.0]), "light_angle": np.array([90.0]),
                        "shadow_length": np.array([3.0]), "shadow_position": np.array([10.0])}, 96)[0]
    px = lambda x, y: img[int((21 - y) / 22 * 96), int(x / 20 * 96)]  # noqa: E731
    assert tuple(px(10, 2.5)) == (178, 34, 34)  # firebrick bob straight below the pivot
    assert tuple(px(10, 20.5)) == (255, 165, 0)  # the sun overhead at x = 10
    assert tuple(px(10, 7)) == (0, 0, 0)  # the rod
    assert tuple(px(10, -0.5)) == (0, 0, 0)  # the shadow on the ground line
    assert tuple(px(2, 10)) == (255, 255, 255)  # white background
    values = set(map(tuple, img.reshape(-1, 3).tolist()))
    assert len(values) > 6  # anti-aliased edges hold intermediate colours


def test_intervened_shadow_shows_in_the_image() -> None:
    scene = scenes.make("pendulum-v1")
    base = {"pendulum_angle": np.array([10.0]), "light_angle": np.array([70.0]),
            "shadow_length": np.array([4.0]), "shadow_position": np.array([6.0])}
    moved = {**base, "shadow_position": np.array([15.0])}
    a, b = scene.render(base, 96)[0], scene.render(moved, 96)[0]
    diff = np.argwhere((a != b).any(-1))
    assert diff[:, 0].min() > 85  # only the ground strip changed
