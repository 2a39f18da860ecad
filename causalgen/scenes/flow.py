"""``flow-v1``: a tank on a stand with a ball in the water and a hole in its wall; the jet.

Datasheet
---------
Graph: ``ball_size -> water_height -> water_flow <- hole_height``.

============  ====  ========================================  ===========================================
variable      unit  default                                   renderable range
============  ====  ========================================  ===========================================
ball_size     cm    uniform(1.5, 4)                           [0.25, 5]; radius of the ball resting on
                                                              the tank's floor
water_height  cm    noise + displacement(ball_size, noise),   [0, 22]; water level above the tank's
                    noise = base level ~ uniform(10, 15)      floor (22 = the brim); default 10.6 .. 19.2
hole_height   cm    uniform(2, 8)                             [0.5, 21.5]; centre of the 1 cm hole in
                                                              the right wall, above the tank's floor
water_flow    cm    jet_distance(water_height, hole_height)   [0, 32]; where the jet lands, measured on
                    + noise, noise = constant(0)              the ground from the tank's outer wall;
                                                              default 14.4 .. 31.2
============  ====  ========================================  ===========================================

Physics (:mod:`causalgen.physics_flow`, 2-D, g = 981 cm/s^2): the ball is heavy and rests on the
floor of a tank 12 cm wide inside; the noise of ``water_height`` is the base level, where the
water would stand without the ball, and the ball raises it by its submerged area over the tank's
width (a circle segment when the ball's top sticks out; the whole disc over the default ranges,
where the base level always exceeds the ball's diameter: a rise of 0.6 .. 4.2 cm). Water leaves
the hole horizontally at Torricelli's speed sqrt(2 g (water_height - hole_height)) and falls,
integrated in pymunk, to the ground 12 cm below the tank's floor (the tank stands on legs), so
``water_flow`` = 2 sqrt((water_height - hole_height) (hole_height + 12)). The water always stands
at least 2.6 cm above the hole over the default ranges; where it does not, there is no outflow
and ``water_flow`` is 0.

Image: RGB, default 96 x 96, anti-aliased; a 48 x 48 cm view (2 px per cm at 96 px), y up,
white background. A brown ground strip (y < 2 cm); a grey tank with 1 cm walls, inner floor at
y = 14 cm, inner x in [2, 14] cm, brim at y = 36 cm, on two grey legs; light-blue water up to
``water_height``; the ball (firebrick above the water, blended with the water's blue below it) of
radius ``ball_size`` centred in the tank on its floor; the hole, a 1 cm gap in the right wall at
``hole_height`` (water-coloured while the water stands above it); the jet, a 1 cm wide blue
stream along the parabola of a horizontal launch from the hole to the point ``water_flow`` cm
right of the outer wall (x = 15 cm) on the ground; no jet when ``water_flow`` is 0. Every element
is drawn from the variable values, so an intervention on ``water_flow`` moves the landing point
whatever the water level shows. Values outside the renderable ranges (reachable only without the
range check) are clamped to what the tank can show.

Physics functions for mechanism expressions: ``displacement(ball_size, base_level)`` (the rise
of the water, cm) and ``jet_distance(water_height, hole_height)`` (the landing distance, cm).
``data/scenes/flow-reference.toml`` is the CausalVAE reference's flow equations over this scene.

Versions: v1 (causalgen 0.1): first release.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping

import numpy as np

from causalgen import physics_flow
from causalgen.render import RGB, Canvas, color
from causalgen.scenes.base import Scene
from causalgen.scm.spec import SCM, Variable

VIEW = 48.0  # cm shown across and up the image
BOX = (0.0, VIEW, 0.0, VIEW)
GROUND_Y = 2.0  # top of the ground; the jet's floor
TANK_FLOOR_Y = GROUND_Y + physics_flow.STAND_HEIGHT
TANK_DEPTH = 22.0  # inner height, floor to brim
WALL = 1.0
TANK_X0 = 2.0  # inner faces of the walls
TANK_X1 = TANK_X0 + physics_flow.TANK_WIDTH
OUTER_X = TANK_X1 + WALL  # where the jet leaves the wall; water_flow is measured from here
BRIM_Y = TANK_FLOOR_Y + TANK_DEPTH
LEG = 2.0  # width of each leg
HOLE = 1.0  # diameter of the hole and width of the jet
# Parameter of the points along the jet's parabola: 8 chords stray at most fall / 256 from it.
_JET_T = np.linspace(0.0, 1.0, 9)
_CAP_POINTS = 24  # points on the arc of the ball's cap above the water

WHITE = (255, 255, 255)
GROUND = color("#a0825f")
TANK = color("#505050")
LEGS = color("#8c8c8c")
WATER = color("#8cc3eb")
JET = color("#2f7fd0")
FIREBRICK = color("firebrick")


def _blend(a: RGB, b: RGB, weight_b: float) -> RGB:
    r, g, bl = (round((1.0 - weight_b) * x + weight_b * y) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


BALL_UNDER_WATER = _blend(FIREBRICK, WATER, 0.3)
_LEG_TOP = TANK_FLOOR_Y - WALL
# (x0, y0, x1, y1, colour), painted in order over the canvas: ground, legs, tank walls. The right
# wall is whole here; the hole is painted over it.
_STATIC = (
    (0.0, 0.0, VIEW, GROUND_Y, GROUND),
    (TANK_X0 - WALL, GROUND_Y, TANK_X0 - WALL + LEG, _LEG_TOP, LEGS),
    (OUTER_X - LEG, GROUND_Y, OUTER_X, _LEG_TOP, LEGS),
    (TANK_X0 - WALL, _LEG_TOP, TANK_X0, BRIM_Y, TANK),
    (TANK_X0 - WALL, _LEG_TOP, OUTER_X, TANK_FLOOR_Y, TANK),
    (TANK_X1, _LEG_TOP, OUTER_X, BRIM_Y, TANK),
)


class Flow(Scene):
    """A tank, a ball, a hole and the jet out of it (``flow-v1``); see the module datasheet."""

    id = "flow-v1"
    default_size = 96

    def default_scm(self) -> SCM:
        return SCM(
            variables=(
                Variable("ball_size", "noise", "uniform(1.5, 4)", "cm", 0.25, 5.0,
                         description="radius of the ball resting on the tank's floor"),
                Variable("water_height", "noise + displacement(ball_size, noise)",
                         "uniform(10, 15)", "cm", 0.0, TANK_DEPTH,
                         description="water level above the tank's floor; the noise is the level "
                                     "without the ball"),
                Variable("hole_height", "noise", "uniform(2, 8)", "cm", HOLE / 2,
                         TANK_DEPTH - HOLE / 2,
                         description="height of the hole's centre above the tank's floor"),
                Variable("water_flow", "jet_distance(water_height, hole_height) + noise",
                         "constant(0)", "cm", 0.0, VIEW - OUTER_X - 1.0,
                         description="distance from the tank's outer wall to where the jet "
                                     "lands on the ground"),
            ),
            functions=self.functions,
            scene=self.id,
            name="flow",
        )

    @property
    def functions(self) -> Mapping[str, Callable[..., np.ndarray]]:
        return {"displacement": physics_flow.displacement,
                "jet_distance": physics_flow.jet_distance}

    def render_one(self, values: Mapping[str, float], size: int) -> np.ndarray:
        # Clamped to what the tank can show; sampling already keeps values in their ranges.
        r = min(max(values["ball_size"], 0.0), 0.5 * physics_flow.TANK_WIDTH)
        level = TANK_FLOOR_Y + min(max(values["water_height"], 0.0), TANK_DEPTH)
        hole_y = TANK_FLOOR_Y + min(max(values["hole_height"], HOLE / 2), TANK_DEPTH - HOLE / 2)
        flow = values["water_flow"]
        # Curved things go through the supersampled canvas; the tank, its legs, the ground and
        # the hole are axis-aligned rectangles, painted afterwards straight onto the output with
        # exact edge coverage (cheaper than supersampling them, the same anti-aliasing).
        c = Canvas(size, BOX, WHITE)
        if level > TANK_FLOOR_Y:
            c.rectangle(TANK_X0, TANK_FLOOR_Y, TANK_X1, level, WATER)
        _ball(c, 0.5 * (TANK_X0 + TANK_X1), TANK_FLOOR_Y + r, r, level)
        if flow > 0.0:
            # A horizontal launch from (OUTER_X, hole_y) landing flow cm away: x = x0 + flow t,
            # y = y0 - fall t^2 for t in [0, 1].
            xs = (OUTER_X + flow * _JET_T).tolist()
            ys = (hole_y - (hole_y - GROUND_Y) * _JET_T * _JET_T).tolist()
            c.line(list(zip(xs, ys, strict=True)), JET, HOLE * size / VIEW)
        img = c.array().copy()
        scale = size / VIEW
        static = _static_slices(size)
        if static is None:
            for x0, y0, x1, y1, rgb in _STATIC:
                _paint(img, scale, x0, y0, x1, y1, rgb)
        else:
            for rows, cols, rgb in static:
                img[rows, cols] = rgb
        # The hole lies on the right wall, which is plain TANK colour when the slices apply.
        _paint(img, scale, TANK_X1, hole_y - HOLE / 2, OUTER_X, hole_y + HOLE / 2,
               WATER if level > hole_y else WHITE, under=None if static is None else TANK)
        return img


@functools.cache
def _static_slices(size: int) -> tuple[tuple[slice, slice, RGB], ...] | None:
    """The ground, legs and tank walls as (rows, columns, colour) slices to assign, when every
    edge falls on a pixel boundary at ``size`` (as at 96 px: 2 px per cm); else None."""
    scale = size / VIEW
    ops = []
    for x0, y0, x1, y1, rgb in _STATIC:
        edges = (x0 * scale, x1 * scale, (VIEW - y1) * scale, (VIEW - y0) * scale)
        if any(e != round(e) for e in edges):
            return None
        c0, c1, r0, r1 = (round(e) for e in edges)
        ops.append((slice(r0, r1), slice(c0, c1), rgb))
    return tuple(ops)


def _ball(c: Canvas, cx: float, cy: float, r: float, level: float) -> None:
    """The ball, blended with the water's colour below the water line."""
    if r <= 0.0:
        return
    under = level - cy  # height of the water line over the ball's centre
    if under >= r or under <= -r:
        c.ellipse(cx, cy, r, r, BALL_UNDER_WATER if under >= r else FIREBRICK)
        return
    c.ellipse(cx, cy, r, r, BALL_UNDER_WATER)
    # The cap above the water line: the arc from angle a to pi - a (sin a = under / r), closed
    # by the chord along the water line.
    a = math.asin(under / r)
    angles = np.linspace(a, math.pi - a, _CAP_POINTS)
    c.polygon(list(zip((cx + r * np.cos(angles)).tolist(), (cy + r * np.sin(angles)).tolist(),
                       strict=True)), FIREBRICK)


def _paint(img: np.ndarray, scale: float, x0: float, y0: float, x1: float, y1: float,
           rgb: RGB, under: RGB | None = None) -> None:
    """Fill the rectangle [x0, x1] x [y0, y1] (drawing units) on the output image ``img``.

    Edge pixels are blended by the fraction of their area the rectangle covers: the limit of
    supersampling with a box filter. Pixel-aligned rectangles are a plain slice assignment.
    ``under``, when given, promises that the region is that plain colour now, which lets
    rectangles with aligned sides blend their top and bottom rows without reading pixels.
    """
    n = img.shape[0]
    left, right = max(x0 * scale, 0.0), min(x1 * scale, n)
    top, bottom = max((VIEW - y1) * scale, 0.0), min((VIEW - y0) * scale, n)
    if right <= left or bottom <= top:
        return
    c0, c1, r0, r1 = math.floor(left), math.ceil(right), math.floor(top), math.ceil(bottom)
    if c0 == left and c1 == right:
        if r0 == top and r1 == bottom:
            img[r0:r1, c0:c1] = rgb
            return
        if under is not None:
            for row in range(r0, r1):
                w = min(row + 1.0, bottom) - max(row, top)
                img[row, c0:c1] = rgb if w == 1.0 else tuple(
                    round(u + (c - u) * w) for u, c in zip(under, rgb, strict=True))
            return
    cols = np.arange(c0, c1, dtype=np.float64)
    rows = np.arange(r0, r1, dtype=np.float64)
    wx = np.minimum(cols + 1.0, right) - np.maximum(cols, left)  # (w,) covered fraction
    wy = np.minimum(rows + 1.0, bottom) - np.maximum(rows, top)  # (h,)
    cover = (wy[:, None] * wx[None, :])[:, :, None]  # (h, w, 1)
    region = img[r0:r1, c0:c1]
    region[...] = np.rint(region + (np.asarray(rgb, dtype=np.float64) - region) * cover)
