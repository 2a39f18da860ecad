"""Tests of the exogenous noise distributions (causalgen.scm.noise)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from causalgen.errors import DistributionError, SpecError
from causalgen.scm.noise import (
    DISTRIBUTIONS,
    Bernoulli,
    Beta,
    Constant,
    Distribution,
    Exponential,
    Laplace,
    LogNormal,
    Normal,
    TruncNormal,
    Uniform,
    parse_distribution,
)

N = 200_000


def _pdf(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _truncnormal_moments(mu: float, sigma: float, low: float, high: float) -> tuple[float, float]:
    a, b = (low - mu) / sigma, (high - mu) / sigma
    mass = 0.5 * (math.erfc(-b / math.sqrt(2)) - math.erfc(-a / math.sqrt(2)))
    if a > 0:  # the same mass without cancellation, for right-tail intervals
        mass = 0.5 * (math.erfc(a / math.sqrt(2)) - math.erfc(b / math.sqrt(2)))
    shift = (_pdf(a) - _pdf(b)) / mass
    variance = 1 + (a * _pdf(a) - b * _pdf(b)) / mass - shift**2
    return mu + sigma * shift, sigma * math.sqrt(variance)


def _beta_moments(a: float, b: float, low: float = 0.0, high: float = 1.0) -> tuple[float, float]:
    width = high - low
    return (low + width * a / (a + b),
            width * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))


MOMENTS = [  # (text, mean, std)
    ("normal(1, 2)", 1.0, 2.0),
    ("uniform(-36, 38.7)", 1.35, 74.7 / math.sqrt(12)),
    ("truncnormal(0, 1, -1, 2)", *_truncnormal_moments(0, 1, -1, 2)),
    ("truncnormal(3, 2, -1, 10)", *_truncnormal_moments(3, 2, -1, 10)),
    ("truncnormal(0, 1, -0.1, 0.1)", *_truncnormal_moments(0, 1, -0.1, 0.1)),
    ("truncnormal(0, 1, 2, 2.1)", *_truncnormal_moments(0, 1, 2, 2.1)),
    ("truncnormal(0, 1, 1.5, 40)", *_truncnormal_moments(0, 1, 1.5, 40)),
    ("truncnormal(0, 1, 5, 8)", *_truncnormal_moments(0, 1, 5, 8)),
    ("truncnormal(10, 0.5, 6, 7.5)", *_truncnormal_moments(10, 0.5, 6, 7.5)),
    ("lognormal(0, 0.5)", math.exp(0.125), math.sqrt((math.exp(0.25) - 1) * math.exp(0.25))),
    ("beta(2, 5)", *_beta_moments(2, 5)),
    ("beta(0.5, 0.5, -1, 3)", *_beta_moments(0.5, 0.5, -1, 3)),
    ("constant(3.5)", 3.5, 0.0),
    ("exponential(2)", 2.0, 2.0),
    ("bernoulli(0.3)", 0.3, math.sqrt(0.21)),
    ("laplace(1, 2)", 1.0, 2 * math.sqrt(2)),
]


@pytest.mark.parametrize(("text", "mean", "std"), MOMENTS)
def test_sample_statistics(text: str, mean: float, std: float) -> None:
    distribution = parse_distribution(text)
    samples = distribution.sample(np.random.default_rng(12345), N)
    assert samples.dtype == np.float64 and samples.shape == (N,)
    assert abs(samples.mean() - mean) <= 5 * std / math.sqrt(N) + 1e-12
    assert samples.std() == pytest.approx(std, rel=0.02, abs=1e-12)
    assert distribution.mean == pytest.approx(mean, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("text", [t for t, _, _ in MOMENTS])
def test_support_is_respected(text: str) -> None:
    distribution = parse_distribution(text)
    low, high = distribution.support
    samples = distribution.sample(np.random.default_rng(7), 50_000)
    assert np.all(samples >= low) and np.all(samples <= high)
    assert np.all(np.isfinite(samples))


def test_supports() -> None:
    assert Uniform(-1, 2).support == (-1.0, 2.0)
    assert TruncNormal(0, 1, -1, 2).support == (-1.0, 2.0)
    assert Beta(2, 3, 1, 4).support == (1.0, 4.0)
    assert Normal(0, 1).support == (-math.inf, math.inf)
    assert LogNormal(0, 1).support == (0.0, math.inf)
    assert Exponential(1).support == (0.0, math.inf)
    assert Bernoulli(0.5).support == (0.0, 1.0)
    assert Constant(2).support == (2.0, 2.0)
    assert Laplace(0, 1).support == (-math.inf, math.inf)
    assert set(np.unique(Bernoulli(0.5).sample(np.random.default_rng(0), 1000))) == {0.0, 1.0}


@pytest.mark.parametrize("text", [t for t, _, _ in MOMENTS])
def test_sampling_is_deterministic_for_a_seed(text: str) -> None:
    distribution = parse_distribution(text)
    first = distribution.sample(np.random.default_rng(42), 1000)
    second = distribution.sample(np.random.default_rng(42), 1000)
    np.testing.assert_array_equal(first, second)
    if distribution.support[0] != distribution.support[1]:
        other = distribution.sample(np.random.default_rng(43), 1000)
        assert not np.array_equal(first, other)
    assert distribution.sample(np.random.default_rng(0), 0).shape == (0,)


@pytest.mark.parametrize(("low", "high"), [(5.5, 6.0), (-6.0, -5.5), (-1e-6, 1e-6), (3, 1e6),
                                           (0.0, 1e-8), (-1e6, -4.0)])
def test_truncnormal_is_fast_in_awkward_intervals(low: float, high: float) -> None:
    distribution = TruncNormal(0, 1, low, high)
    start = time.perf_counter()
    samples = distribution.sample(np.random.default_rng(1), N)
    assert time.perf_counter() - start < 2.0
    assert np.all((samples >= low) & (samples <= high))
    assert samples.mean() == pytest.approx(distribution.mean, rel=1e-2, abs=1e-3 * (high - low))


@pytest.mark.parametrize(("low", "high"), [(-1, 2), (-0.3, 0.2), (0.5, 0.7), (1.0, 4.0),
                                           (4.0, 30.0), (-7.0, -4.5), (-2.0, -1.9)])
def test_truncnormal_matches_its_cdf(low: float, high: float) -> None:
    # Covers every proposal of the rejection sampler: normal, uniform, shifted exponential.
    def upper_tail(x: np.ndarray | float) -> np.ndarray:
        return 0.5 * np.vectorize(math.erfc)(np.asarray(x) / math.sqrt(2))

    samples = np.sort(TruncNormal(0, 1, low, high).sample(np.random.default_rng(3), N))
    mass = upper_tail(low) - upper_tail(high)
    cdf = (upper_tail(low) - upper_tail(samples[:: N // 1000])) / mass
    empirical = np.arange(0, N, N // 1000) / N
    assert np.max(np.abs(cdf - empirical)) < 0.01


@pytest.mark.parametrize(("text", "expected"), [
    ("normal(0, 1)", "normal(0, 1)"),
    ("normal(mu=0, sigma=1)", "normal(0, 1)"),
    ("  normal( sigma = 2.50 , mu = -1 )", "normal(-1, 2.5)"),
    ("uniform(-36, 38.7)", "uniform(-36, 38.7)"),
    ("beta(2, 5, 0, 1)", "beta(2, 5)"),
    ("beta(2, 5, high=3)", "beta(2, 5, 0, 3)"),
    ("beta(a=2, b=5, low=-1)", "beta(2, 5, -1)"),
    ("normal(-pi, e)", f"normal({-math.pi!r}, {math.e!r})"),
    ("laplace(1e-3, 1E20)", "laplace(0.001, 1e+20)"),
    ("constant(-0.0)", "constant(-0)"),
])
def test_canonical_text(text: str, expected: str) -> None:
    distribution = parse_distribution(text)
    assert distribution.to_string() == expected
    assert parse_distribution(expected) == distribution


def test_keyword_and_positional_parsing_agree() -> None:
    assert parse_distribution("normal(mu=1, sigma=2)") == Normal(1, 2)
    assert parse_distribution("normal(1, sigma=2)") == Normal(1, 2)
    assert parse_distribution("truncnormal(0, 1, high=2, low=-1)") == TruncNormal(0, 1, -1, 2)
    assert isinstance(parse_distribution("bernoulli(p=1)"), Bernoulli)


@pytest.mark.parametrize(("value", "expected"), [
    (3.5, 3.5), (2, 2.0), ("3.5", 3.5), ("-2", -2.0), (" 1e3 ", 1000.0), ("pi", math.pi),
    (np.float32(0.5), 0.5),
])
def test_bare_number_is_a_constant(value: object, expected: float) -> None:
    distribution = parse_distribution(value)  # type: ignore[arg-type]
    assert distribution == Constant(expected)
    np.testing.assert_array_equal(distribution.sample(np.random.default_rng(0), 3),
                                  np.full(3, expected))


@pytest.mark.parametrize(("text", "fragments"), [
    ("normal(0, -1)", ["normal(0, -1): sigma must be > 0, got -1"]),
    ("normal(0, 0)", ["sigma", "> 0", "got 0"]),
    ("normal(1e999, 1)", ["mu", "finite", "inf"]),
    ("uniform(2, 1)", ["low", "< high", "got 2"]),
    ("uniform(1, 1)", ["low", "< high", "got 1"]),
    ("uniform(-1e308, 1e308)", ["high", "finite distance"]),
    ("truncnormal(0, -1, 0, 1)", ["sigma", "> 0", "got -1"]),
    ("truncnormal(0, 1, 2, 1)", ["low", "< high", "got 2"]),
    ("truncnormal(0, 1, 7, 8)", ["truncnormal(0, 1, 7, 8)", "mass", "1e-09"]),
    ("truncnormal(0, 1, -40, -39)", ["mass"]),
    ("truncnormal(0, 1e-300, 1, 2)", ["mass"]),
    ("lognormal(0, -2)", ["sigma", "> 0", "got -2"]),
    ("beta(0, 1)", ["beta(0, 1): a must be > 0, got 0"]),
    ("beta(1, -1)", ["b", "> 0", "got -1"]),
    ("beta(1, 1, 2, 2)", ["low", "< high", "got 2"]),
    ("exponential(0)", ["scale", "> 0", "got 0"]),
    ("bernoulli(1.5)", ["p", "between 0 and 1", "got 1.5"]),
    ("bernoulli(-0.1)", ["p", "got -0.1"]),
    ("laplace(0, -3)", ["scale", "> 0", "got -3"]),
])
def test_invalid_parameters_name_the_parameter(text: str, fragments: list[str]) -> None:
    with pytest.raises(DistributionError) as info:
        parse_distribution(text)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert isinstance(info.value, SpecError)


def test_invalid_parameters_rejected_on_direct_construction() -> None:
    with pytest.raises(DistributionError, match="sigma must be > 0"):
        Normal(0, -1)
    with pytest.raises(DistributionError, match="mu must be a number"):
        Normal("zero", 1)  # type: ignore[arg-type]
    with pytest.raises(DistributionError, match="must be finite"):
        Laplace(float("nan"), 1)


@pytest.mark.parametrize(("text", "fragments"), [
    ("nrmal(0, 1)", ["unknown distribution 'nrmal'", "did you mean 'normal'", "truncnormal"]),
    ("gauss(0, 1)", ["unknown distribution 'gauss'", "known distributions"]),
    ("normal(0)", ["missing sigma", "normal(mu, sigma)"]),
    ("normal(0, 1, 2)", ["3 arguments", "normal(mu, sigma)"]),
    ("normal(0, s=1)", ["unknown parameter 's'", "normal(mu, sigma)"]),
    ("normal(0, mu=1)", ["given twice"]),
    ("normal(*x)", ["starred"]),
    ("normal(0, **x)", ["unknown parameter"]),
    ("beta()", ["missing a, b", "beta(a, b, low=0, high=1)"]),
    ("normal(0, x)", ["expected a number", "'x'"]),
    ("normal(0, 1 + 1)", ["expected a number", "'1 + 1'"]),
    ("normal(0, True)", ["expected a number"]),
    ("normal(0, '1')", ["expected a number"]),
    ("normal(0, 1", ["cannot parse"]),
    ("os.system('ls')", ["distribution name"]),
    ("__import__('os')", ["unknown distribution"]),
    ("normal", ["expected a number"]),
    ("[1, 2]", ["expected a call"]),
    ("", ["cannot parse"]),
    ("nan", ["expected a number"]),
    ("x" * 5000, ["limit"]),
    ("-" * 999 + "(", ["cannot parse"]),
])
def test_malformed_text_is_rejected(text: str, fragments: list[str]) -> None:
    with pytest.raises(DistributionError) as info:
        parse_distribution(text)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("value", [True, None, [1], {"normal": 1}])
def test_non_text_is_rejected(value: object) -> None:
    with pytest.raises(DistributionError):
        parse_distribution(value)  # type: ignore[arg-type]


def test_registry() -> None:
    assert set(DISTRIBUTIONS) == {"normal", "uniform", "truncnormal", "lognormal", "beta",
                                  "constant", "exponential", "bernoulli", "laplace"}
    for name, cls in DISTRIBUTIONS.items():
        assert cls.name == name and issubclass(cls, Distribution)
    with pytest.raises(TypeError):
        DISTRIBUTIONS["evil"] = Normal  # type: ignore[index]


# Round trip: any valid distribution survives to_string() -> parse_distribution() bit for bit.

_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_POSITIVE = st.floats(min_value=5e-324, max_value=1.7e308, allow_nan=False, allow_infinity=False)
_PROBABILITY = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def _ordered(draw: st.DrawFn) -> tuple[float, float]:
    low, high = sorted((draw(_FINITE), draw(_FINITE)))
    assume(low < high and math.isfinite(high - low))
    return low, high


@st.composite
def _truncnormal(draw: st.DrawFn) -> TruncNormal:
    mu = draw(st.floats(-1e6, 1e6))
    sigma = draw(st.floats(1e-3, 1e3))
    low = mu + sigma * draw(st.floats(-5, 5))
    high = low + sigma * draw(st.floats(1e-3, 10))
    assume(low < high)
    return TruncNormal(mu, sigma, low, high)


_DISTRIBUTIONS = st.one_of(
    st.builds(Normal, _FINITE, _POSITIVE),
    _ordered().map(lambda bounds: Uniform(*bounds)),
    _truncnormal(),
    st.builds(LogNormal, _FINITE, _POSITIVE),
    st.builds(lambda a, b, bounds: Beta(a, b, *bounds), _POSITIVE, _POSITIVE, _ordered()),
    st.builds(Beta, _POSITIVE, _POSITIVE),
    st.builds(Constant, _FINITE),
    st.builds(Exponential, _POSITIVE),
    st.builds(Bernoulli, _PROBABILITY),
    st.builds(Laplace, _FINITE, _POSITIVE),
)


def _bits(distribution: Distribution) -> tuple[str, ...]:
    return tuple(float(v).hex() for v in vars(distribution).values())


@settings(max_examples=500, deadline=500)
@given(_DISTRIBUTIONS)
def test_round_trip(distribution: Distribution) -> None:
    text = distribution.to_string()
    parsed = parse_distribution(text)
    assert type(parsed) is type(distribution)
    assert parsed == distribution
    assert parsed.to_string() == text
    if not (isinstance(distribution, Beta) and text.count(",") < 3):  # defaults left out
        assert _bits(parsed) == _bits(distribution)


@settings(max_examples=200, deadline=1000)
@given(_DISTRIBUTIONS, st.integers(0, 2**32 - 1))
def test_samples_are_float64_within_support(distribution: Distribution, seed: int) -> None:
    samples = distribution.sample(np.random.default_rng(seed), 64)
    assert samples.dtype == np.float64 and samples.shape == (64,)
    low, high = distribution.support
    finite = samples[np.isfinite(samples)]
    assert np.all((finite >= low) & (finite <= high))


@settings(max_examples=300, deadline=500)
@given(st.text(max_size=40))
def test_random_text_parses_or_raises_distribution_error(text: str) -> None:
    try:
        distribution = parse_distribution(text)
    except DistributionError:
        return
    assert isinstance(distribution, Distribution)
