"""MCC and R^2: known answers on permuted, rescaled, transformed and independent latents."""

from __future__ import annotations

import numpy as np
import pytest

from causalvae.metrics import correlation_matrix, mcc, r2_scores


def _factors(n: int = 800, k: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, k))


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mcc_of_permuted_rescaled_copy_is_one(method):
    f = _factors()
    z = f[:, [2, 0, 3, 1]] * np.array([3.0, -0.5, 10.0, -2.0]) + 7.0
    res = mcc(z, f, method)
    assert res["mcc"] == pytest.approx(1.0, abs=1e-12)
    assert res["matching"] == [1, 3, 0, 2]


def test_mcc_of_independent_noise_is_near_zero():
    f = _factors(2000)
    z = np.random.default_rng(1).normal(size=(2000, 6))
    assert mcc(z, f)["mcc"] < 0.06
    assert mcc(z, f, "spearman")["mcc"] < 0.06


def test_spearman_sees_through_monotone_transforms_pearson_does_not():
    f = _factors()
    z = np.exp(6 * f)  # monotone but far from linear
    assert mcc(z, f, "spearman")["mcc"] == pytest.approx(1.0, abs=1e-12)
    assert mcc(z, f, "pearson")["mcc"] < 0.9


def test_mcc_unmatched_factor_scores_zero_and_constant_column_is_zero():
    f = _factors()
    res = mcc(f[:, :2], f)  # two latents for four factors
    assert res["per_factor"][2:] == [0.0, 0.0] and res["mcc"] == pytest.approx(0.5)
    z = np.c_[f, np.ones(len(f))]
    assert np.all(correlation_matrix(z, f)[4] == 0.0)


def test_mcc_validates():
    with pytest.raises(ValueError, match="NaN"):
        mcc(np.full((10, 2), np.nan), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="length"):
        mcc(np.zeros((10, 2)), np.zeros((9, 2)))


@pytest.mark.parametrize("model", ["linear", "kernel"])
def test_r2_of_permuted_rescaled_copy_is_one(model):
    f = _factors(600)
    z = f[:, [3, 1, 0, 2]] * np.array([2.0, -1.0, 5.0, 0.1])
    res = r2_scores(z, f, model)
    assert res["r2"] == pytest.approx(1.0, abs=1e-3)
    assert len(res["per_factor"]) == 4


def test_nonlinear_r2_recovers_what_linear_misses():
    f = _factors(600, k=2)
    z = np.c_[np.sin(3 * f[:, 0]), f[:, 1] ** 3, np.cos(3 * f[:, 0])]  # invertible jointly
    lin, ker = r2_scores(z, f, "linear"), r2_scores(z, f, "kernel")
    assert ker["r2"] > 0.94
    assert lin["per_factor"][0] < 0.8 < ker["per_factor"][0]


@pytest.mark.parametrize("model", ["linear", "kernel"])
def test_r2_of_independent_noise_is_near_zero(model):
    f = _factors(600)
    z = np.random.default_rng(3).normal(size=(600, 4))
    res = r2_scores(z, f, model)
    assert -0.1 < res["r2"] < 0.05


def test_r2_constant_factor_is_nan_and_left_out():
    f = _factors(200, k=2)
    f[:, 1] = 5.0
    res = r2_scores(f[:, :1], f, "linear")
    assert np.isnan(res["per_factor"][1]) and res["r2"] == pytest.approx(1.0)
