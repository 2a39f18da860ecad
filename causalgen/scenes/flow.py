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
right of the outer wall (x = 15 cm) on the ground, with a small splash there; no jet when
``water_flow`` is 0. Every element is drawn from the variable values, so an intervention on
``water_flow`` moves the landing point whatever the water level shows.

Versions: v1 (causalgen 0.1): first release.
"""

from __future__ import annotations

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
SPLASH = (1.0, 0.4)  # half-width, half-height of the splash where the jet lands
_JET_T = np.linspace(0.0, 1.0, 13)  # parameter of the points along the jet's parabola

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
        c = Canvas(size, BOX, WHITE)
        c.rectangle(0.0, 0.0, VIEW, GROUND_Y, GROUND)
        leg_top = TANK_FLOOR_Y - WALL
        c.rectangle(TANK_X0 - WALL, GROUND_Y, TANK_X0 - WALL + LEG, leg_top, LEGS)
        c.rectangle(OUTER_X - LEG, GROUND_Y, OUTER_X, leg_top, LEGS)
        if level > TANK_FLOOR_Y:
            c.rectangle(TANK_X0, TANK_FLOOR_Y, TANK_X1, level, WATER)
        self._ball(c, 0.5 * (TANK_X0 + TANK_X1), TANK_FLOOR_Y + r, r, level)
        # Walls over the water's edges; the right wall leaves a gap for the hole.
        c.rectangle(TANK_X0 - WALL, leg_top, TANK_X0, BRIM_Y, TANK)
        c.rectangle(TANK_X0 - WALL, leg_top, OUTER_X, TANK_FLOOR_Y, TANK)
        c.rectangle(TANK_X1, leg_top, OUTER_X, hole_y - HOLE / 2, TANK)
        c.rectangle(TANK_X1, hole_y + HOLE / 2, OUTER_X, BRIM_Y, TANK)
        if level > hole_y:
            c.rectangle(TANK_X1, hole_y - HOLE / 2, OUTER_X, hole_y + HOLE / 2, WATER)
        if flow > 0.0:
            # A horizontal launch from (OUTER_X, hole_y) landing flow cm away: x = x0 + flow t,
            # y = y0 - fall t^2 for t in [0, 1] (the parabola of any such throw).
            fall = hole_y - GROUND_Y
            xs = (OUTER_X + flow * _JET_T).tolist()
            ys = (hole_y - fall * _JET_T * _JET_T).tolist()
            c.line([(TANK_X1, hole_y), *zip(xs, ys, strict=True)], JET, HOLE * size / VIEW)
            c.ellipse(OUTER_X + flow, GROUND_Y, *SPLASH, JET)
        return c.array()

    @staticmethod
    def _ball(c: Canvas, cx: float, cy: float, r: float, level: float) -> None:
        """The ball, blended with the water's colour below the water line."""
        if r <= 0.0:
            return
        under = level - cy  # the water line's height over the ball's centre
        if under >= r or under <= -r:
            c.ellipse(cx, cy, r, r, BALL_UNDER_WATER if under >= r else FIREBRICK)
            return
        c.ellipse(cx, cy, r, r, BALL_UNDER_WATER)
        # Pillow's angles run clockwise from 3 o'clock in image space (y down): the part above
        # the water line is the arc from 180 + a to 360 - a degrees, with sin(a) = under / r.
        a = math.degrees(math.asin(under / r))
        x0, y0 = c.xy(cx - r, cy + r)
        x1, y1 = c.xy(cx + r, cy - r)
        c.draw.chord((x0, y0, x1, y1), 180.0 + a, 360.0 - a, fill=FIREBRICK)
