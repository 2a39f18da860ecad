"""``pendulum-v1``: a pendulum lit by the sun, and its shadow; the CausalVAE reference scene.

Datasheet
---------
Graph: ``pendulum_angle -> shadow_length, shadow_position``;
``light_angle -> shadow_length, shadow_position``.

=================  ============  ===============  =============================================
variable           unit          default          renderable range
=================  ============  ===============  =============================================
pendulum_angle     degrees       uniform(-36,     [-90, 90]; 0 = hanging straight down,
                                 38.7)            positive = bob to the right
light_angle        degrees       uniform(54,      [40, 140]; the sun's elevation seen from the
                                 132.3)           right (the reference's phi); 90 = overhead
shadow_length      drawing unit  ray cast, floor  [0, 30]
                                 3, no noise
shadow_position    drawing unit  ray cast, no     [-5, 25]; x of the shadow's centre
                                 noise
=================  ============  ===============  =============================================

Image: the reference's drawing box (x in [0, 20], y in [-1, 21]) stretched over a square image,
white background; the orange sun (radius 3) at (10 + 10 / tan(light_angle), 20.5); a black rod
(3 pt wide at 96 px) from the pivot (10, 10.5) to the firebrick bob (radius 1.5) 8 units away;
the shadow as a black 3 pt segment on the ground line y = -0.5, drawn from the shadow variables'
values (so an intervention on a shadow shows in the image). Roots are uniform over the
reference's grid ranges (i * 0.9 degrees for i in [-40, 44), j * 0.9 for j in [60, 148)).

Versions: v1 (causalgen 0.1): first release, labels equal the reference's equations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from causalgen import physics
from causalgen.blockcanvas import BlockCanvas
from causalgen.render import Canvas, color
from causalgen.scenes.base import Scene
from causalgen.scm.spec import SCM, Variable

BOX = (0.0, 20.0, -1.0, 21.0)  # x0, x1, y0, y1 of the reference's axes
LINE_PT = 3.0  # matplotlib linewidth of the rod and the shadow, in points at 96 dpi for 96 px
SUN_RADIUS = 3.0
SUN_Y = 20.5
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
FIREBRICK = color("firebrick")
ORANGE = color("orange")


class Pendulum(Scene):
    """A pendulum, a sun and the pendulum's shadow (``pendulum-v1``); see the module datasheet."""

    id = "pendulum-v1"
    default_size = 96

    def default_scm(self) -> SCM:
        return SCM(
            variables=(
                Variable("pendulum_angle", "noise", "uniform(-36, 38.7)", "degrees", -90, 90,
                         description="angle of the rod from the vertical; positive = bob right"),
                Variable("light_angle", "noise", "uniform(54, 132.3)", "degrees", 40, 140,
                         description="elevation of the sun seen from the right; 90 = overhead"),
                Variable("shadow_length", "shadow_length(pendulum_angle, light_angle) + noise",
                         "constant(0)", "drawing units", 0, 30,
                         description="length of the shadow on the ground, floored at 3"),
                Variable("shadow_position", "shadow_position(pendulum_angle, light_angle) + noise",
                         "constant(0)", "drawing units", -5, 25,
                         description="x of the shadow's centre on the ground"),
            ),
            functions=self.functions,
            scene=self.id,
            name="pendulum",
        )

    @property
    def functions(self) -> Mapping[str, Callable[..., np.ndarray]]:
        return {"shadow_length": physics.shadow_length, "shadow_position": physics.shadow_position}

    def render_one(self, values: Mapping[str, float], size: int) -> np.ndarray:
        c = Canvas(size, BOX, WHITE)
        self._draw(c, values["pendulum_angle"], values["light_angle"], values["shadow_length"],
                   values["shadow_position"], size)
        return c.array()

    def render(self, values: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        """A block of images drawn on one canvas (same pixels as :meth:`render_one`, faster)."""
        self.check_size(size)
        cols = [np.asarray(values[k], dtype=np.float64).tolist() for k in
                ("pendulum_angle", "light_angle", "shadow_length", "shadow_position")]
        c = BlockCanvas(len(cols[0]), size, BOX, WHITE)
        for row in zip(*cols, strict=True):
            self._draw(c, *row, size)
            c.next_image()
        return c.arrays()

    @staticmethod
    def _draw(c: Canvas, pendulum_angle: float, light_angle: float, shadow_length: float,
              shadow_position: float, size: int) -> None:
        theta = math.radians(pendulum_angle)
        phi = math.radians(light_angle)
        width_px = LINE_PT * size / 72.0  # 3 pt at 96 dpi on a 1-inch, 96 px figure
        sun_x = 10.0 + 10.0 / math.tan(phi)
        c.ellipse(sun_x, SUN_Y, SUN_RADIUS, SUN_RADIUS, ORANGE)
        px, py = physics.PIVOT
        bx = px + physics.BOB_DISTANCE * math.sin(theta)
        by = py - physics.BOB_DISTANCE * math.cos(theta)
        c.line([(px, py), (bx, by)], BLACK, width_px)
        c.ellipse(bx, by, physics.BOB_RADIUS, physics.BOB_RADIUS, FIREBRICK)
        mid, half = shadow_position, 0.5 * shadow_length
        c.line([(mid - half, physics.GROUND_Y), (mid + half, physics.GROUND_Y)], BLACK, width_px)
