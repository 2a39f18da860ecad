"""``collision-v1``: two balls on a track; where the second ball goes is the collision's effect.

Datasheet
---------
A temporal scene (``causalgen scene collision-v1 --steps 40``; ``--steps`` defaults to 40).
Ball A rolls toward ball B on a frictionless 1-D track between two walls; their elastic
collision sets B moving with velocity 2 m_a v_a / (m_a + m_b) (and A with
(m_a - m_b) v_a / (m_a + m_b)), so A's mass and speed cause where B goes.

Instantaneous graph: ``mass_a, mass_b -> position_a, velocity_a, position_b, velocity_b``.
Lagged graph (t-1 -> t): ``mass_a -> mass_a``, ``mass_b -> mass_b`` (a mass keeps its value),
and each of ``position_a, velocity_a, position_b, velocity_b`` at t-1 -> all four at t.

==========  ======  ===========================================================  ==========
variable    unit    mechanism (noise constant 0; initial value read at t = 0)    range
==========  ======  ===========================================================  ==========
mass_a      kg      mass_a[t-1] (init uniform(0.5, 3))                           [0.5, 3]
mass_b      kg      mass_b[t-1] (init uniform(0.5, 3))                           [0.5, 3]
position_a  units   collide_position_a(state at t-1, mass_a, mass_b) (init       [-2, 22]
                    uniform(2, 7))
velocity_a  unit/s  collide_velocity_a(...) (init uniform(4, 12))                [-100, 100]
position_b  units   collide_position_b(...) (init uniform(10, 15))               [-2, 22]
velocity_b  unit/s  collide_velocity_b(...) (init 0: B starts at rest)           [-100, 100]
==========  ======  ===========================================================  ==========

"state at t-1" is ``position_a[t-1], velocity_a[t-1], position_b[t-1], velocity_b[t-1]``.

Physics (:mod:`causalgen.physics_dynamic`): pymunk, no gravity, no friction, elasticity 1 for
balls and walls (x = 0 and x = 20), ball radius 0.6 + 0.4 * mass; one frame = 1 / 25 s in 10
pymunk steps. A test checks B's velocity after the collision against the formula above (2 %)
and momentum conservation (1 %).

Interventions: do(mass_a) at a step changes A's mass from then on (the mass carries over);
do(position_b) moves B there (pymunk separates overlapping balls); do(velocity_a) pushes A.

Image: a side view, default 64 x 64, white background: a grey floor at y = 6 and walls at
x = 0 and x = 20 (drawing box x in [-1, 21], y in [-1, 21]), ball A steel blue and ball B
firebrick, each resting on the floor with its mass's radius, centred at its position.

Versions: v1 (causalgen 0.2): first release.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from causalgen import physics_dynamic as P
from causalgen.render import Canvas, color
from causalgen.scenes.base import Scene
from causalgen.scm.spec import SCM, Variable

BOX = (-1.0, 21.0, -1.0, 21.0)
FLOOR = 6.0
WHITE = (255, 255, 255)
GREY = color("dimgray")
BLUE = color("steelblue")
RED = color("firebrick")
_STATE = "position_a[t-1], velocity_a[t-1], position_b[t-1], velocity_b[t-1], mass_a, mass_b"


class Collision(Scene):
    """Two balls colliding on a track (``collision-v1``); see the module datasheet."""

    id = "collision-v1"
    default_size = 64
    default_steps = 40

    def default_scm(self) -> SCM:
        def ball(name: str, fn: str, unit: str, low: float, high: float, init: str,
                 description: str) -> Variable:
            return Variable(name, f"{fn}({_STATE}) + noise", "constant(0)", unit, low, high,
                            init=init, description=description)

        return SCM(
            variables=(
                Variable("mass_a", "mass_a[t-1] + noise", "constant(0)", "kg", 0.5, 3,
                         init="uniform(0.5, 3)", description="mass of ball A (blue)"),
                Variable("mass_b", "mass_b[t-1] + noise", "constant(0)", "kg", 0.5, 3,
                         init="uniform(0.5, 3)", description="mass of ball B (red)"),
                ball("position_a", "collide_position_a", "drawing units", -2, 22,
                     "uniform(2, 7)", "x of ball A's centre"),
                ball("velocity_a", "collide_velocity_a", "units/s", -100, 100,
                     "uniform(4, 12)", "velocity of ball A along the track"),
                ball("position_b", "collide_position_b", "drawing units", -2, 22,
                     "uniform(10, 15)", "x of ball B's centre"),
                ball("velocity_b", "collide_velocity_b", "units/s", -100, 100,
                     "constant(0)", "velocity of ball B along the track"),
            ),
            functions=self.functions,
            scene=self.id,
            name="collision",
        )

    @property
    def functions(self) -> Mapping[str, Callable[..., np.ndarray]]:
        return {"collide_position_a": P.collide_position_a, "collide_velocity_a": P.collide_velocity_a,
                "collide_position_b": P.collide_position_b, "collide_velocity_b": P.collide_velocity_b}

    def render_one(self, values: Mapping[str, float], size: int) -> np.ndarray:
        c = Canvas(size, BOX, WHITE)
        width = max(1.0, size / 48)
        c.line([(-1.0, FLOOR), (21.0, FLOOR)], GREY, width)
        c.line([(0.0, FLOOR), (0.0, FLOOR + 6)], GREY, width)
        c.line([(P.TRACK, FLOOR), (P.TRACK, FLOOR + 6)], GREY, width)
        for x, mass, fill in ((values["position_a"], values["mass_a"], BLUE),
                              (values["position_b"], values["mass_b"], RED)):
            r = float(P.ball_radius(mass))
            c.ellipse(x, FLOOR + r, r, r, fill)
        return c.array()
