"""Per-bin binomial intervals: the normal quantile, the incomplete beta and its
inverse (no scipy at runtime) against scipy, and the Wilson / Jeffreys
intervals against scipy's and the textbook definitions."""

import math

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from hypothesis import given
from hypothesis import strategies as hs

import fastcal
from fastcal.uncertainty.intervals import bin_intervals, jeffreys_interval, wilson_interval
from fastcal.uncertainty.special import _betainc_pair, _log_front, beta_ppf, betainc, norm_ppf

LEVELS = hs.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999])


def counts():
    """(successes, n): integer and fractional counts up to 1e9, boundaries included."""
    n = hs.one_of(
        hs.integers(1, 1000).map(float),
        hs.integers(1, 10**9).map(float),
        hs.floats(1e-3, 1e9),
    )

    def with_x(n):
        frac = hs.one_of(hs.floats(0, 1), hs.sampled_from([0.0, 1.0, 0.5]))
        small = hs.sampled_from([0.0, 0.25, 1.0, 2.0])
        return hs.tuples(
            hs.one_of(frac.map(lambda f: f * n),
                      small.filter(lambda k: k <= n),
                      small.filter(lambda k: k <= n).map(lambda k: n - k)),
            hs.just(n),
        )

    return n.flatmap(with_x)


# ------------------------------------------------------------ normal quantile
@given(hs.one_of(hs.floats(0.0, 1.0, exclude_min=True, exclude_max=True),
                 hs.floats(-323.0, -280.0).map(lambda e: 10.0**e),
                 hs.floats(0.25, 0.75),
                 hs.floats(1e-16, 0.5).map(lambda q: 1.0 - q)))
def test_norm_ppf_matches_scipy(p):
    assert norm_ppf(p) == pytest.approx(st.norm.ppf(p), rel=1e-14, abs=1e-300)


def test_norm_ppf_far_tail_no_overflow():
    p = np.array([1e-289, 1e-291, 1e-310, 5e-324])
    np.testing.assert_allclose(norm_ppf(p), st.norm.ppf(p), rtol=1e-14)


def test_norm_ppf_array_and_ends():
    p = np.array([0.0, 1e-10, 0.025, 0.5, 0.975, 1.0])
    np.testing.assert_allclose(norm_ppf(p), st.norm.ppf(p), rtol=1e-14)
    assert norm_ppf(0.5) == 0.0
    assert math.isnan(norm_ppf(1.5))


# ------------------------------------------------- incomplete beta and inverse
def params():
    return hs.tuples(hs.floats(-0.3, 9.3).map(lambda e: 10.0**e),
                     hs.floats(-0.3, 9.3).map(lambda e: 10.0**e))


def x_near(a, b, k):
    mean = a / (a + b)
    sd = math.sqrt(a * b / (a + b) ** 2 / (a + b + 1))
    return min(max(mean + k * sd, 1e-300), 1 - 1e-16)


@given(params(), hs.floats(-6, 6))
def test_betainc_matches_scipy(ab, k):
    # scipy's betainc is itself off by ~2e-10 near the mean for b ~ 1e8 (see
    # the mpmath test below), hence 1e-9 here.
    a, b = ab
    x = x_near(a, b, k)
    assert float(betainc(a, b, x)) == pytest.approx(sp.betainc(a, b, x), rel=1e-9, abs=1e-300)
    # the smaller tail keeps its relative accuracy
    _, upper = _betainc_pair(a, b, x)
    assert upper[0] == pytest.approx(sp.betaincc(a, b, x), rel=1e-9, abs=1e-300)


@given(params(), hs.floats(-8, 8))
def test_log_front_matches_mpmath(ab, k):
    """log(x^a (1-x)^b / B(a, b)): the factor whose accuracy for huge a, b the
    whole computation rests on (mpmath's own betainc fails for such a, b)."""
    mp = pytest.importorskip("mpmath")
    a, b = ab
    x = x_near(a, b, k)
    mp.mp.dps = 50
    A, B, X = mp.mpf(a), mp.mpf(b), mp.mpf(x)
    ref = A * mp.log(X) + B * mp.log(1 - X) - (mp.loggamma(A) + mp.loggamma(B) - mp.loggamma(A + B))
    assert float(_log_front(a, b, x)) == pytest.approx(float(ref), rel=1e-13, abs=1e-10)


@given(params(), hs.sampled_from([1e-6, 0.005, 0.025, 0.1, 0.5, 0.9, 0.975, 0.995]))
def test_beta_ppf_matches_scipy(ab, p):
    a, b = ab
    q = float(beta_ppf(p, a, b))
    if q != pytest.approx(st.beta.ppf(p, a, b), rel=1e-10, abs=1e-300):
        # scipy's ppf is itself off by up to ~1e-8 relative in far tails
        # (a=1000, b=1e7, p=1e-6); then ours must invert scipy's own cdf.
        tail = sp.betainc(a, b, q) if p < 0.5 else sp.betaincc(a, b, q)
        assert tail == pytest.approx(min(p, 1 - p), rel=1e-10)


def test_beta_ppf_known_values_and_edges():
    assert float(beta_ppf(0.5, 2.0, 2.0)) == pytest.approx(0.5, abs=1e-15)
    assert float(beta_ppf(0.25, 1.0, 1.0)) == pytest.approx(0.25, rel=1e-14)  # uniform
    assert float(beta_ppf(0.0, 2.0, 3.0)) == 0.0
    assert float(beta_ppf(1.0, 2.0, 3.0)) == 1.0
    out = beta_ppf([0.025, 0.975], [0.5, 1e9 + 0.5], [1e9 + 0.5, 0.5])  # huge n, both sides
    np.testing.assert_allclose(out, st.beta.ppf([0.025, 0.975], [0.5, 1e9 + 0.5], [1e9 + 0.5, 0.5]),
                               rtol=1e-10)


# ------------------------------------------------------------------ intervals
def ref_wilson(x, n, level):
    """Textbook Wilson score interval."""
    z = st.norm.ppf(0.5 + level / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@given(hs.integers(1, 10**6).flatmap(lambda n: hs.tuples(hs.integers(0, n), hs.just(n))), LEVELS)
def test_wilson_matches_scipy_binomtest(kn, level):
    k, n = kn
    ci = st.binomtest(k, n).proportion_ci(level, method="wilson")
    lo, hi = wilson_interval(k, n, level)
    assert lo == pytest.approx(ci.low, rel=1e-12, abs=1e-15)
    assert hi == pytest.approx(ci.high, rel=1e-12, abs=1e-15)


@given(counts(), LEVELS)
def test_wilson_fractional_counts(xn, level):
    x, n = xn
    lo, hi = wilson_interval(x, n, level)
    rlo, rhi = ref_wilson(x, n, level)
    assert lo == pytest.approx(rlo, rel=1e-9, abs=1e-14)
    assert hi == pytest.approx(rhi, rel=1e-9, abs=1e-14)
    assert 0.0 <= lo <= x / n <= hi <= 1.0
    if x == 0:
        assert lo == 0.0
    if x == n:
        assert hi == 1.0


@given(counts(), LEVELS)
def test_jeffreys_matches_scipy_beta(xn, level):
    x, n = xn
    lo, hi = jeffreys_interval(x, n, level)
    alpha = 1 - level
    rlo = 0.0 if x == 0 else st.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5)
    rhi = 1.0 if x == n else st.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5)
    assert lo == pytest.approx(rlo, rel=1e-10, abs=1e-300)
    assert hi == pytest.approx(rhi, rel=1e-10, abs=1e-300)
    assert lo <= hi


def test_boundaries_and_empty_bins():
    x = np.array([0.0, 0.0, 3.0, 4.0])
    n = np.array([0.0, 4.0, 4.0, 4.0])
    for fn in (wilson_interval, jeffreys_interval):
        lo, hi = fn(x, n)
        assert np.isnan(lo[0]) and np.isnan(hi[0])
        assert lo[1] == 0.0 and hi[3] == 1.0
        assert np.all((lo[1:] < hi[1:]))
    assert isinstance(wilson_interval(1, 2)[0], float)


def test_jeffreys_scalar_huge_bin():
    lo, hi = jeffreys_interval(123_456_789.5, 1e9)
    rlo, rhi = st.beta.ppf([0.025, 0.975], 123_456_790.0, 1e9 - 123_456_789.0)
    assert lo == pytest.approx(rlo, rel=1e-12)
    assert hi == pytest.approx(rhi, rel=1e-12)


def test_level_widens_interval():
    lo9, hi9 = wilson_interval(30, 100, 0.9)
    lo99, hi99 = wilson_interval(30, 100, 0.99)
    assert lo99 < lo9 < 0.3 < hi9 < hi99


# ------------------------------------------------------------ reliability bins
def test_bin_intervals_from_curve_and_report():
    rng = np.random.default_rng(0)
    p = rng.random(2000)
    y = rng.random(2000) < p
    curve = fastcal.reliability_curve(y, p, n_bins=10)
    for method in ("wilson", "jeffreys"):
        lo, hi = bin_intervals(curve, method=method)
        fn = wilson_interval if method == "wilson" else jeffreys_interval
        succ = np.rint(curve.accuracy * curve.count)
        rlo, rhi = fn(succ, curve.count)
        np.testing.assert_allclose(lo, rlo, rtol=1e-12)
        np.testing.assert_allclose(hi, rhi, rtol=1e-12)
        assert np.all((lo <= curve.accuracy) & (curve.accuracy <= hi))
    report = fastcal.calibration_report(y, p, n_bins=10)
    np.testing.assert_array_equal(bin_intervals(report.reliability)[0], bin_intervals(curve)[0])


def test_bin_intervals_weights_are_frequency_weights():
    y = np.array([1, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.15, 0.55, 0.6, 0.9, 0.95])
    w = np.array([2, 1, 3, 1, 2, 1])
    weighted = fastcal.reliability_curve(y, p, n_bins=4, sample_weight=w)
    repeated = fastcal.reliability_curve(np.repeat(y, w), np.repeat(p, w), n_bins=4)
    for method in ("wilson", "jeffreys"):
        a = bin_intervals(weighted, 0.9, method)
        b = bin_intervals(repeated, 0.9, method)
        np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)
    lo, hi = bin_intervals(weighted)
    assert np.isnan(lo[1]) and np.isnan(hi[1])  # the bin (0.25, 0.5] is empty


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("fn", [wilson_interval, jeffreys_interval])
def test_bad_input_messages(fn):
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\).*found 95"):
        fn(1, 2, level=95)
    with pytest.raises(TypeError, match="level must be a number"):
        fn(1, 2, level="high")
    with pytest.raises(ValueError, match=r"successes must be finite and in \[0, n\]; found 3.0 with n = 2.0"):
        fn(3, 2)
    with pytest.raises(ValueError, match=r"successes must be finite and in \[0, n\]; found nan"):
        fn([np.nan], [2])
    with pytest.raises(ValueError, match="n must be finite and non-negative; found -1.0 at index 1"):
        fn([0, 0], [1, -1])
    with pytest.raises(ValueError, match="successes and n must have the same shape"):
        fn([1, 2], [3, 4, 5])
    with pytest.raises(TypeError, match="successes must hold non-negative numbers"):
        fn(["a"], [1])


def test_bin_intervals_bad_input():
    curve = fastcal.reliability_curve([0, 1], [0.2, 0.8], n_bins=2)
    with pytest.raises(ValueError, match="method must be one of 'wilson', 'jeffreys'; found 'wald'"):
        bin_intervals(curve, method="wald")
    with pytest.raises(TypeError, match="curve must be a ReliabilityCurve.*found list"):
        bin_intervals([1, 2])
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\)"):
        bin_intervals(curve, level=1.0)
