"""MIC / TIC, MIG and DCI on cases with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causalvae.metrics import (
    concept_mic_tic,
    dci,
    dci_scores,
    discretize,
    discretize_factors,
    mic,
    mic_matrix,
    mic_tic,
    mig,
    mutual_info_matrix,
)
from causalvae.metrics.mic import n_cells

N = 1000
X = np.arange(N) / (N - 1)  # equispaced on [0, 1]


def _lcg(n: int, seed: int) -> np.ndarray:
    """Uniform [0, 1) numbers from an integer LCG: identical bits on every platform."""
    out = np.empty(n)
    s = seed
    for i in range(n):
        s = (1103515245 * s + 12345) % 2**31
        out[i] = s / 2**31
    return out


U, V = _lcg(N, 1), _lcg(N, 2)

# --- MIC / TIC ----------------------------------------------------------------------------

NOISELESS = {
    "linear": 2 * X + 1,
    "parabola": (X - 0.5) ** 2,
    "sine_3_periods": np.sin(6 * np.pi * X),
    "exponential": np.exp(5 * X),
    "cubic": (X - 0.5) ** 3 - 0.1 * X,
    "balanced_step": (X > 0.5).astype(float),
}


@pytest.mark.parametrize("name", sorted(NOISELESS))
def test_noiseless_functions_score_one(name):
    # Reshef et al. 2011, Fig. 2: noiseless functional relationships have MIC 1.
    assert mic(X, NOISELESS[name]) == pytest.approx(1.0, abs=1e-9)


def test_unbalanced_step_scores_its_entropy_in_bits():
    # A two-valued y caps the grid at two rows: MIC = H(y) / log 2 (minepy agrees).
    p = np.mean(X > 0.7)
    entropy_bits = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert mic(X, (X > 0.7).astype(float)) == pytest.approx(entropy_bits, abs=1e-9)


def test_independent_noise_scores_low():
    # Published: about 0.1-0.18 for n near 1000.
    assert 0.05 < mic(U, V) < 0.2
    assert 0.05 < mic(X, U) < 0.2


# Values computed with minepy 1.2.6 (MINE(alpha=0.6, c=15, est="mic_approx")): (mic, tic raw).
MINEPY = {
    "noise_x_u": (X, U, 0.13548, 7.729),
    "noise_u_v": (U, V, 0.120719, 6.9114),
    "linear_0.2": (X, X + 0.2 * (U - 0.5), 0.969809, 123.7625),
    "linear_0.6": (X, X + 0.6 * (U - 0.5), 0.717038, 78.9753),
    "sine_noisy": (X, np.sin(6 * np.pi * X) + 0.5 * (V - 0.5), 0.959973, 65.1165),
    "discrete_ties": (np.floor(5 * U), np.floor(5 * U) + np.floor(3 * V), 0.608542, 78.7211),
    "small_n": (U[:60], (U[:60] - 0.5) ** 2 + 0.05 * V[:60], 0.90817, 4.3756),
}


@pytest.mark.parametrize("name", sorted(MINEPY))
def test_matches_minepy_reference_values(name):
    x, y, ref_mic, ref_tic = MINEPY[name]
    m, t = mic_tic(x, y)
    assert m == pytest.approx(ref_mic, abs=1e-6)
    assert t == pytest.approx(ref_tic, abs=1e-4)


def test_symmetric_and_invariant_to_monotone_transforms():
    y = np.sin(6 * np.pi * X) + 0.5 * (V - 0.5)
    assert mic_tic(X, y) == mic_tic(y, X)
    assert mic_tic(np.exp(3 * X) - 7, y) == mic_tic(X, y)
    assert mic_tic(X, y**3) == mic_tic(X, y)


def test_mic_decreases_with_noise():
    scores = [mic(X, X + s * (U - 0.5)) for s in (0.0, 0.1, 0.3, 0.6, 1.2, 3.0)]
    assert scores[0] == pytest.approx(1.0)
    assert all(a > b for a, b in itertools.pairwise(scores))


def test_tic_of_noiseless_linear_fills_every_cell():
    cells = n_cells(N)  # B = floor(1000 ** 0.6) = 63 -> 148 grids
    assert cells == 148
    # Unequal row sizes (1000 points in 3 rows: 333/333/334) keep a few cells a hair below 1;
    # minepy reports 147.99994 as well.
    assert mic_tic(X, X)[1] == pytest.approx(cells, abs=1e-3)


def test_constant_input_scores_zero():
    assert mic_tic(X, np.ones(N)) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.zeros(10), np.zeros(9), "equal length"),
        (np.zeros((10, 2)), np.zeros((10, 2)), "1-D"),
        (np.zeros(3), np.zeros(3), "at least 4"),
        (np.r_[np.zeros(9), np.nan], np.zeros(10), "NaN"),
    ],
)
def test_mic_validates_inputs(x, y, match):
    with pytest.raises(ValueError, match=match):
        mic(x, y)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.floats(-1e3, 1e3)), min_size=4, max_size=80),
)
def test_mic_range_and_symmetry_property(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)  # many ties
    y = np.array([p[1] for p in pairs])
    m, t = mic_tic(x, y)
    assert 0.0 <= m <= 1.0
    assert 0.0 <= t <= n_cells(len(pairs))
    assert mic_tic(y, x) == pytest.approx((m, t), rel=1e-12, abs=1e-12)  # symmetric up to rounding


def test_mic_matrix_and_concept_summary():
    labels = np.c_[X, U, V][:400]  # (400, 3)
    latents = np.c_[np.exp(labels[:, 0]), -labels[:, 1], labels[:, 2] ** 3]  # monotone maps
    res = concept_mic_tic(latents, labels)
    assert res["mic"] == pytest.approx(1.0)
    assert res["tic_norm"] == pytest.approx(1.0, abs=1e-4)
    assert [p["mic"] for p in res["per_concept"]] == pytest.approx([1.0, 1.0, 1.0])
    m = np.array(res["matrix"]["mic"])  # (3, 3): diagonal 1, off-diagonal independent
    assert m.shape == (3, 3) and np.all(m[~np.eye(3, dtype=bool)] < 0.35)
    swapped = concept_mic_tic(latents[:, [1, 0, 2]], labels)
    assert swapped["per_concept"][0]["mic"] < 0.35
    sub = mic_matrix(latents, labels, max_samples=100, seed=5)
    assert sub["n_samples"] == 100 and sub == mic_matrix(latents, labels, max_samples=100, seed=5)
    with pytest.raises(ValueError, match="columns"):
        concept_mic_tic(latents[:, :2], labels)


# --- MIG ----------------------------------------------------------------------------------


def _factors(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, k))


def test_discretize_equal_width_bins():
    x = np.c_[np.linspace(0, 1, 21), np.full(21, 3.0)]
    codes = discretize(x, bins=20)
    assert codes[0, 0] == 0 and codes[-1, 0] == 19 and codes[10, 0] == 10
    assert np.all(codes[:, 1] == 0)
    f = discretize_factors(np.c_[np.repeat([2.0, 5.0, 9.0], 10), np.linspace(0, 1, 30)], bins=20)
    np.testing.assert_array_equal(np.unique(f[:, 0]), [0, 1, 2])  # few values: kept as codes
    assert f[:, 1].max() == 19  # many values: binned


def test_mutual_info_matches_sklearn():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, size=(500, 2))
    b = (a[:, :1] + rng.integers(0, 3, size=(500, 1))) % 6
    mi = mutual_info_matrix(a, b)
    assert mi[0, 0] == pytest.approx(mutual_info_score(a[:, 0], b[:, 0]))
    assert mi[1, 0] == pytest.approx(mutual_info_score(a[:, 1], b[:, 0]))


def test_mig_identity_permuted_constant_random():
    f = _factors(3000, 4, 0)
    ident = mig(f, f)
    assert ident["mig"] > 0.9
    assert mig(f[:, [2, 0, 3, 1]], f)["mig"] == pytest.approx(ident["mig"])
    assert mig(np.zeros_like(f), f)["mig"] == 0.0
    assert mig(np.random.default_rng(1).normal(size=f.shape), f)["mig"] < 0.05
    assert mig(f * 10 - 3, f)["mig"] == pytest.approx(ident["mig"])  # affine invariant


def test_mig_duplicated_latent_has_zero_gap_for_that_factor():
    f = _factors(3000, 3, 2)
    res = mig(np.c_[f[:, 0], f[:, 0], f[:, 1:]], f)
    assert res["per_factor"][0] == 0.0
    assert min(res["per_factor"][1:]) > 0.9
    assert res["mig"] == pytest.approx(np.mean(res["per_factor"]))


def test_mig_constant_factor_and_validation():
    f = np.c_[_factors(500, 2, 3), np.ones(500)]
    res = mig(f, f)
    assert np.isnan(res["per_factor"][2])
    assert res["mig"] == pytest.approx(np.mean(res["per_factor"][:2]))
    with pytest.raises(ValueError, match="at least 2 latent"):
        mig(f[:, :1], f)
    with pytest.raises(ValueError, match="length"):
        mig(f[:10], f)
    with pytest.raises(ValueError, match="NaN"):
        mig(np.full_like(f, np.nan), f)


# --- DCI ----------------------------------------------------------------------------------


def test_dci_scores_hand_matrices():
    assert dci_scores(np.eye(3)) == pytest.approx((1.0, 1.0))
    assert dci_scores(np.ones((3, 3))) == pytest.approx((0.0, 0.0))
    assert dci_scores(np.zeros((3, 3))) == (0.0, 0.0)
    # One latent explains both factors equally: not disentangled, but complete.
    assert dci_scores(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx((0.0, 1.0))
    # Two latents share one factor: disentangled, completeness 1 - H_2([.5, .5]) = 0.
    assert dci_scores(np.array([[1.0], [1.0]])) == pytest.approx((1.0, 0.0))
    with pytest.raises(ValueError):
        dci_scores(-np.eye(2))


@pytest.fixture(scope="module")
def split():
    return _factors(600, 3, 10), _factors(300, 3, 11)


def _run(transform, f_train, f_test, **kw):
    return dci(transform(f_train), f_train, transform(f_test), f_test, **kw)


@pytest.mark.parametrize("regressor", ["gbt", "lasso"])
def test_dci_identity_and_permuted(split, regressor):
    ident = _run(lambda f: f, *split, regressor=regressor)
    assert ident["disentanglement"] > 0.9 and ident["completeness"] > 0.9
    assert ident["informativeness"] > 0.9
    perm = _run(lambda f: f[:, [2, 0, 1]], *split, regressor=regressor)
    for key in ("disentanglement", "completeness", "informativeness"):
        assert perm[key] == pytest.approx(ident[key], abs=1e-6)
    assert np.array(perm["importance"]).shape == (3, 3)


def test_dci_constant_and_random_latents(split):
    const = _run(np.zeros_like, *split)
    assert const["disentanglement"] == 0.0 and const["completeness"] == 0.0
    assert abs(const["informativeness"]) < 0.05
    rng = np.random.default_rng(4)
    rand = _run(lambda f: rng.normal(size=f.shape), *split)
    assert rand["disentanglement"] < 0.2 and rand["completeness"] < 0.2
    assert rand["informativeness"] < 0.1


def test_dci_duplicated_latent_lowers_completeness(split):
    ident = _run(lambda f: np.c_[f, np.zeros(len(f))], *split)  # same latent count (4)
    dup = _run(lambda f: np.c_[f[:, 0], f[:, 0], f[:, 1:]], *split)
    assert dup["completeness"] < ident["completeness"] - 0.03
    assert dup["disentanglement"] > 0.9


def test_dci_classifier_mode_on_discretised_factors():
    f_train, f_test = _factors(300, 2, 12), _factors(150, 2, 13)
    res = _run(lambda f: f, f_train, f_test, regressor="gbt_classifier", bins=4)
    assert res["disentanglement"] > 0.9 and res["completeness"] > 0.9
    assert res["informativeness"] > 0.9  # test accuracy


def test_dci_validates_inputs(split):
    f_train, f_test = split
    with pytest.raises(ValueError, match="regressor"):
        dci(f_train, f_train, f_test, f_test, regressor="forest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length"):
        dci(f_train[:5], f_train, f_test, f_test)
    with pytest.raises(ValueError, match="columns"):
        dci(f_train, f_train, f_test[:, :2], f_test)


def test_dci_takes_rounding_below_zero_and_nan_importances_as_zero(monkeypatch, split):
    import sys

    from causalvae.metrics.dci import _importances

    got = _importances(np.array([-1.6e-16, np.nan, 0.25, 0.75]))
    assert got.tolist() == [0.0, 0.0, 0.25, 0.75]
    # scikit-learn gave -1.6e-16 on a blind scene's binary factor, and DCI refused the run's
    # whole evaluation; a model reporting such importances must still give finite scores
    module = sys.modules["causalvae.metrics.dci"]
    real = module.GradientBoostingRegressor

    class Rounding(real):  # type: ignore[misc, valid-type]
        @property
        def feature_importances_(self):  # type: ignore[override]
            values = np.array(super().feature_importances_)
            values[values < 1e-3] = -1.6e-16
            return values

    monkeypatch.setattr(module, "GradientBoostingRegressor", Rounding)
    res = _run(lambda f: f, *split)
    assert np.min(res["importance"]) == 0.0
    assert res["disentanglement"] > 0.9 and res["completeness"] > 0.9


def test_dci_binary_factor_read_by_one_latent():
    rng = np.random.default_rng(5)
    f = np.c_[(rng.random(800) < 0.4).astype(float), rng.normal(size=800)]
    z = np.c_[f[:, 0] + 1e-3 * rng.normal(size=800), f[:, 1], rng.normal(size=800)]
    res = dci(z[:500], f[:500], z[500:], f[500:])
    imp = np.array(res["importance"])
    assert np.all(np.isfinite(imp)) and np.all(imp >= 0)
    assert imp[0, 0] > 0.95 and imp[1, 1] > 0.95
    assert res["informativeness"] > 0.95
