"""``pendulum-dynamic-v1``: a damped pendulum swinging under gravity while the sun crosses the sky.

Datasheet
---------
A temporal scene: generate it as sequences (``causalgen scene pendulum-dynamic-v1 --steps 40``;
``--steps`` defaults to 40). Instantaneous graph: ``pendulum_angle -> shadow_length,
shadow_position``; ``light_angle -> shadow_length, shadow_position``. Lagged graph (t-1 -> t):
``pendulum_angle, angular_velocity -> pendulum_angle, angular_velocity``;
``light_angle -> light_angle``.

================  =========  ====================================================  ===========
variable          unit       mechanism (noise; initial value read at t = 0)        range
================  =========  ====================================================  ===========
pendulum_angle    degrees    swing_angle(pendulum_angle[t-1], angular_velocity     [-180, 180]
                             [t-1]) + noise (constant 0; init uniform(-60, 60))
angular_velocity  degrees/s  swing_velocity(pendulum_angle[t-1],                   [-1000,
                             angular_velocity[t-1]) + noise (constant 0; init 0)   1000]
light_angle       degrees    50 + mod(light_angle[t-1] + 0.8 + noise - 50, 80)     [50, 130]
                             (normal(0, 0.1); init uniform(50, 130))
shadow_length     drawing u  shadow_length(pendulum_angle, light_angle) (pymunk    [0, 30]
                             ray casts, as pendulum-v1)
shadow_position   drawing u  shadow_position(pendulum_angle, light_angle)          [-20, 40]
================  =========  ====================================================  ===========

Physics (:mod:`causalgen.physics_dynamic`): a point bob on a massless rod of length L = 8
drawing units (1 unit = 0.1 m) pinned at (10, 10.5) (a pymunk ``PinJoint``), gravity
g = 98.1 units/s^2 (9.81 m/s^2), velocity damping gamma = 0.25 / s (pymunk's space damping
``exp(-gamma)``), so theta'' = -(g / L) sin(theta) - gamma theta'. One frame lasts 1 / fps
seconds (``fps`` = 25 by default, a scene keyword) and is integrated in 10 pymunk steps
(semi-implicit Euler with the iterative constraint solver). The small-swing period is
2 pi sqrt(L / g) = 1.79 s = 44.9 frames, so 40 frames show most of a full swing; a test compares
40 frames against scipy's ``solve_ivp`` solution of the equation (within 1 degree for starts up
to 60 degrees). The sun moves 0.8 degrees per frame along its arc and rises again at 50 degrees
after setting at 130. With constant-zero noise the swing is deterministic given its start; a
spec may add noise (a random kick) to either pendulum variable.

Interventions: do(pendulum_angle) or do(angular_velocity) at a step restarts the swing from
the set state at the next step; do(light_angle) moves the sun, and the sun carries on from there.

Image: as ``pendulum-v1`` (the rod, the bob, the sun at 10 + 10 / tan(light_angle), the shadow
on the ground drawn from the shadow variables), default 64 x 64.

Versions: v1 (causalgen 0.2): first release.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import numpy as np

from causalgen import physics, physics_dynamic
from causalgen.scenes.pendulum import Pendulum
from causalgen.scm.spec import SCM, Variable


class PendulumDynamic(Pendulum):
    """A swinging, damped pendulum under a moving sun (``pendulum-dynamic-v1``); see the
    module datasheet."""

    id = "pendulum-dynamic-v1"
    default_size = 64
    default_steps = 40

    def __init__(self, fps: float = physics_dynamic.DEFAULT_FPS) -> None:
        self.fps = float(fps)

    def default_scm(self) -> SCM:
        return SCM(
            variables=(
                Variable("pendulum_angle",
                         "swing_angle(pendulum_angle[t-1], angular_velocity[t-1]) + noise",
                         "constant(0)", "degrees", -180, 180, init="uniform(-60, 60)",
                         description="angle of the rod from the vertical; positive = bob right"),
                Variable("angular_velocity",
                         "swing_velocity(pendulum_angle[t-1], angular_velocity[t-1]) + noise",
                         "constant(0)", "degrees/s", -1000, 1000, init="constant(0)",
                         description="rate of change of pendulum_angle"),
                Variable("light_angle", "50 + mod(light_angle[t-1] + 0.8 + noise - 50, 80)",
                         "normal(0, 0.1)", "degrees", 50, 130, init="uniform(50, 130)",
                         description="elevation of the sun seen from the right; 90 = overhead"),
                Variable("shadow_length", "shadow_length(pendulum_angle, light_angle) + noise",
                         "constant(0)", "drawing units", 0, 30,
                         description="length of the shadow on the ground, floored at 3"),
                Variable("shadow_position", "shadow_position(pendulum_angle, light_angle) + noise",
                         "constant(0)", "drawing units", -20, 40,
                         description="x of the shadow's centre on the ground"),
            ),
            functions=self.functions,
            scene=self.id,
            name="pendulum-dynamic",
        )

    @property
    def functions(self) -> Mapping[str, Callable[..., np.ndarray]]:
        return {"shadow_length": physics.shadow_length, "shadow_position": physics.shadow_position,
                "swing_angle": functools.partial(physics_dynamic.swing_angle, fps=self.fps),
                "swing_velocity": functools.partial(physics_dynamic.swing_velocity, fps=self.fps)}
