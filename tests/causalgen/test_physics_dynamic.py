"""Physics in time: the pymunk pendulum against the damped-pendulum ODE; elastic collisions."""

from __future__ import annotations

import numpy as np
import pytest

from causalgen import physics_dynamic as P


def run_pendulum(theta0: np.ndarray, steps: int, fps: float = P.DEFAULT_FPS) -> np.ndarray:
    th, om = np.asarray(theta0, float), np.zeros(len(theta0))
    out = [th]
    for _ in range(steps):
        th, om = P.swing(th, om, fps)
        out.append(th)
    return np.array(out)  # (steps + 1, n)


def test_swing_follows_the_damped_pendulum_equation() -> None:
    starts = np.array([-60.0, -25.0, 10.0, 45.0])
    traj = run_pendulum(starts, 40)
    times = np.arange(41) / P.DEFAULT_FPS
    for i, theta0 in enumerate(starts):
        reference = P.damped_pendulum_ode(theta0, 0.0, times)
        # semi-implicit Euler at 10 substeps per frame: within 1 degree over 1.6 s
        assert np.abs(traj[:, i] - reference).max() < 1.0, theta0
    # 40 frames at the default rate show at least half a swing: the sign of the angle flips
    assert (np.sign(traj[-1]) != np.sign(traj[0])).all() or (traj.min(0) < -0.5 * np.abs(starts)).all()
    amplitude = np.abs(traj).max(0)
    assert (amplitude <= np.abs(starts) + 1e-9).all()  # damping never adds energy


def test_swing_is_pure() -> None:
    th = np.array([30.0, -10.0, 5.0]), np.array([0.0, 40.0, -80.0])
    a = P.swing(*th)
    P.swing(np.array([1.0] * 7), np.array([2.0] * 7))  # other work in between
    b = P.swing(th[0][1:2].copy(), th[1][1:2].copy())  # a different batch
    c = P.swing(th[0].copy(), th[1].copy())
    assert b[0][0] == a[0][1] and b[1][0] == a[1][1]
    assert np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1])


def test_no_damping_conserves_the_amplitude() -> None:
    th, om = np.array([20.0]), np.array([0.0])
    peak = 0.0
    for _ in range(100):
        th, om = P.swing(th, om, gamma=0.0)
        peak = max(peak, abs(float(th[0])))
    assert peak == pytest.approx(20.0, abs=0.3)


@pytest.mark.parametrize(("ma", "mb"), [(1.0, 1.0), (2.0, 1.0), (1.0, 3.0)])
def test_elastic_collision_sets_where_the_second_ball_goes(ma: float, mb: float) -> None:
    xa, va, xb, vb = np.array([4.0]), np.array([8.0]), np.array([10.0]), np.array([0.0])
    m_a, m_b = np.array([ma]), np.array([mb])
    for _ in range(15):  # 0.6 s: A reaches B (gap ~5 units at 8 units/s), walls not yet
        xa, va, xb, vb = P.collide(xa, va, xb, vb, m_a, m_b)
    assert vb[0] == pytest.approx(2 * ma * 8.0 / (ma + mb), rel=0.02)
    assert va[0] == pytest.approx((ma - mb) * 8.0 / (ma + mb), abs=0.1)
    momentum = ma * va[0] + mb * vb[0]
    assert momentum == pytest.approx(ma * 8.0, rel=0.01)


def test_balls_stay_between_the_walls() -> None:
    rng = np.random.default_rng(0)
    n = 20
    xa, xb = rng.uniform(2, 6, n), rng.uniform(11, 15, n)
    va, vb = rng.uniform(-10, 10, n), rng.uniform(-10, 10, n)
    ma, mb = rng.uniform(0.5, 3, n), rng.uniform(0.5, 3, n)
    for _ in range(200):
        xa, va, xb, vb = P.collide(xa, va, xb, vb, ma, mb)
        assert (xa >= P.ball_radius(ma) - 0.2).all() and (xb <= P.TRACK - P.ball_radius(mb) + 0.2).all()
    assert (xa < xb).all()  # on a 1-D track the balls never pass each other
