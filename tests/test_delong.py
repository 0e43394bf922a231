"""DeLong variance / interval (fastcal.uncertainty.delong.auroc_variance, auroc_ci) and
the paired test (delong_test), against

- an O(n^2) reference that builds every placement value from the pair matrix
  (DeLong, DeLong & Clarke-Pearson 1988, eqs. for V10, V01, S10, S01);
- an independent midrank implementation (Sun & Xu 2014, "Fast implementation
  of DeLong's algorithm for comparing the areas under correlated receiver
  operating characteristic curves", IEEE Signal Processing Letters 21(11)):
  V10_i = (R_Z(x_i) - R_X(x_i)) / n, V01_j = 1 - (R_Z(y_j) - R_Y(y_j)) / m
  with midranks R in the pooled sample Z and within each class X, Y;
- scikit-learn's roc_auc_score for the estimate and scipy's normal for the
  p-value.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm, rankdata

from fastcal.uncertainty.delong import auroc_ci, auroc_variance, delong_test
from fastcal.core.errors import UndefinedMetricWarning


# ---------------------------------------------------------------- references
def pair_placements(y, s, w=None):
    """(A, V10 per positive, V01 per negative, weights of each) from the pair matrix."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    w = np.ones(s.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    x, z, wx, wz = s[y], s[~y], w[y], w[~y]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10 = psi @ wz / wz.sum()
    v01 = wx @ psi / wx.sum()
    return float(wx @ v10 / wx.sum()), v10, v01, wx, wz


def ref_variance(y, s, w=None):
    a, v10, v01, wx, wz = pair_placements(y, s, w)
    m, n = wx.sum(), wz.sum()
    s10 = wx @ (v10 - a) ** 2 / (m - 1)
    s01 = wz @ (v01 - a) ** 2 / (n - 1)
    return a, s10 / m + s01 / n


def ref_test(y, sa, sb, w=None):
    a1, p1, q1, wx, wz = pair_placements(y, sa, w)
    a2, p2, q2, _, _ = pair_placements(y, sb, w)
    m, n = wx.sum(), wz.sum()
    d = a1 - a2
    var = (wx @ (p1 - p2 - d) ** 2 / (m - 1)) / m + (wz @ (q1 - q2 - d) ** 2 / (n - 1)) / n
    return d, var


def sun_xu(y, scores):
    """Midrank DeLong (Sun & Xu 2014): AUCs and their covariance matrix."""
    y = np.asarray(y).astype(bool)
    S = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    m, n = int(y.sum()), int((~y).sum())
    v10, v01 = [], []
    for s in S:
        rz = rankdata(s)
        rx = rankdata(s[y])
        ry = rankdata(s[~y])
        v10.append((rz[y] - rx) / n)
        v01.append(1.0 - (rz[~y] - ry) / m)
    v10, v01 = np.array(v10), np.array(v01)
    auc = v10.mean(axis=1)
    cov = np.cov(v10) / m + np.cov(v01) / n
    return auc, np.atleast_2d(cov)


# ---------------------------------------------------------------- strategies
@st.composite
def labelled(draw, min_n=2, max_n=50, n_scores=1):
    """Labels with both classes (at least two of each) and tie-heavy scores."""
    n = draw(st.integers(max(min_n, 4), max_n))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.uint8)
    y[:2], y[2:4] = 1, 0
    levels = draw(st.integers(1, 8))
    scores = [np.array(draw(st.lists(st.one_of(st.integers(0, levels).map(lambda k: k / levels),
                                                st.floats(-5, 5)),
                                      min_size=n, max_size=n)), np.float64)
              for _ in range(n_scores)]
    return (y, *scores)


def approx(x, rel=1e-9, abs=1e-12):
    return pytest.approx(x, rel=rel, abs=abs)


# ---------------------------------------------------------------- variance and interval
@given(labelled())
def test_variance_against_pair_reference(data):
    y, s = data
    a, var = auroc_variance(y, s)
    ra, rvar = ref_variance(y, s)
    assert a == approx(ra, abs=0, rel=1e-15)
    assert var == approx(rvar)


@given(labelled(), st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_interval_against_reference(data, level):
    y, s = data
    ra, rvar = ref_variance(y, s)
    z = norm.ppf(0.5 + level / 2)
    est, lo, hi = auroc_ci(y, s, level=level)
    assert est == approx(ra, abs=0, rel=1e-15)
    assert lo == approx(max(0.0, ra - z * math.sqrt(rvar)))
    assert hi == approx(min(1.0, ra + z * math.sqrt(rvar)))
    est, lo, hi = auroc_ci(y, s, level=level, method="logit")
    if 0 < ra < 1 and rvar > 1e-20:
        half = z * math.sqrt(rvar) / (ra * (1 - ra))
        L = math.log(ra / (1 - ra))
        assert lo == approx(1 / (1 + math.exp(-(L - half))))
        assert hi == approx(1 / (1 + math.exp(-(L + half))))
    assert 0.0 <= lo <= est <= hi <= 1.0


@given(labelled(max_n=40), st.data())
def test_integer_weights_equal_repetition(data, draw):
    y, s = data
    k = np.array(draw.draw(st.lists(st.integers(0, 3), min_size=y.size, max_size=y.size)))
    k[:4] = np.maximum(k[:4], 1)  # keep two of each class
    wa, wv = auroc_variance(y, s, sample_weight=k)
    ra, rv = auroc_variance(np.repeat(y, k), np.repeat(s, k))
    assert wa == approx(ra, abs=0, rel=1e-15)
    assert wv == approx(rv)
    assert wv == approx(ref_variance(y, s, k.astype(float))[1])


def test_sun_xu_structured_large():
    rng = np.random.default_rng(0)
    for n, kind in [(3000, "ties"), (300_000, "mixed")]:  # the second uses both cores
        y = (rng.random(n) < 0.35).astype(np.uint8)
        s = rng.normal(size=n) + 0.8 * y
        if kind == "ties":
            s = np.round(s, 1)
        else:
            s[rng.random(n) < 0.2] = 0.5
        auc, cov = sun_xu(y, s)
        a, var = auroc_variance(y, s)
        assert a == approx(auc[0], abs=1e-15)
        assert var == approx(cov[0, 0], rel=1e-10)


def test_near_perfect_separation_has_no_cancellation():
    rng = np.random.default_rng(1)
    n = 200_000
    y = (rng.random(n) < 0.5).astype(np.uint8)
    s = y + rng.random(n) * 0.01
    s[np.flatnonzero(y)[:3]] = -1.0  # three positives below every negative
    _, cov = sun_xu(y, s)
    a, var = auroc_variance(y, s)
    assert 1 - a < 1e-4
    assert var == approx(cov[0, 0], rel=1e-9)
    # perfect separation: zero variance, degenerate interval
    s = y + rng.random(n) * 0.5
    assert auroc_ci(y, s) == (1.0, 1.0, 1.0)
    assert auroc_ci(y, -s, method="logit") == (0.0, 0.0, 0.0)


def test_float32_scores():
    rng = np.random.default_rng(2)
    y = (rng.random(500) < 0.4).astype(np.uint8)
    s = np.round(rng.random(500) + 0.3 * y, 2).astype(np.float32)
    assert auroc_variance(y, s) == approx(ref_variance(y, s.astype(np.float64)))


def test_matches_auroc_and_sklearn():
    from sklearn.metrics import roc_auc_score

    import fastcal

    rng = np.random.default_rng(3)
    y = rng.random(1000) < 0.3
    s = np.round(rng.random(1000) + 0.2 * y, 2)
    assert auroc_ci(y, s)[0] == fastcal.auroc(y, s) == approx(roc_auc_score(y, s), rel=0)


# ---------------------------------------------------------------- paired test
@given(labelled(n_scores=2))
def test_paired_against_reference(data):
    y, a, b = data
    d, z, p = delong_test(y, a, b)
    rd, rvar = ref_test(y, a, b)
    assert d == approx(rd, abs=1e-15)
    if rvar > 1e-24:
        assert z == approx(rd / math.sqrt(rvar), rel=1e-7, abs=1e-9)
        assert p == approx(2 * norm.sf(abs(rd / math.sqrt(rvar))), rel=1e-7, abs=1e-12)
    # swapping the scores flips the sign of the difference and of z
    d2, z2, p2 = delong_test(y, b, a)
    assert (d2, z2, p2) == (-d if d else 0.0, -z if z else 0.0, p)


@given(labelled(max_n=40, n_scores=2), st.data())
def test_paired_weights_equal_repetition(data, draw):
    y, a, b = data
    k = np.array(draw.draw(st.lists(st.integers(0, 3), min_size=y.size, max_size=y.size)))
    k[:4] = np.maximum(k[:4], 1)
    dw, zw, _ = delong_test(y, a, b, sample_weight=k)
    dr, zr, _ = delong_test(np.repeat(y, k), np.repeat(a, k), np.repeat(b, k))
    assert dw == approx(dr, abs=1e-15)
    assert zw == approx(zr, rel=1e-7, abs=1e-9)


def test_paired_against_sun_xu_and_scipy_normal():
    rng = np.random.default_rng(4)
    for n in (2000, 300_000):  # serial, then both cores
        y = (rng.random(n) < 0.4).astype(np.uint8)
        a = np.round(rng.normal(size=n) + 0.7 * y, 1)
        b = a + rng.normal(size=n) * 0.8
        auc, cov = sun_xu(y, np.vstack([a, b]))
        d, z, p = delong_test(y, a, b)
        vd = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        assert d == approx(auc[0] - auc[1], abs=1e-14)
        assert z == approx((auc[0] - auc[1]) / math.sqrt(vd), rel=1e-8)
        assert p == approx(2 * norm.sf(abs(z)), rel=1e-9, abs=1e-300)


def test_identical_and_monotone_scores():
    rng = np.random.default_rng(5)
    y = (rng.random(400) < 0.5).astype(np.uint8)
    s = rng.random(400)
    assert delong_test(y, s, s) == (0.0, 0.0, 1.0)
    assert delong_test(y, s, np.exp(3 * s)) == (0.0, 0.0, 1.0)  # same ranking
    assert delong_test(y, s.astype(np.float32), s) == (0.0, 0.0, 1.0)


# ---------------------------------------------------------------- undefined and bad input
def test_one_class_is_nan_with_warning():
    for f in (lambda y, s: auroc_ci(y, s), lambda y, s: auroc_variance(y, s),
              lambda y, s: delong_test(y, s, s[::-1].copy())):
        with pytest.warns(UndefinedMetricWarning, match="Only one class"):
            out = f(np.ones(5, np.uint8), np.arange(5.0))
        assert all(math.isnan(v) for v in out)


def test_single_positive_gives_nan_interval():
    y, s = [1, 0, 0, 0], [0.9, 0.1, 0.2, 0.95]
    with pytest.warns(UndefinedMetricWarning, match="at least two positives and two negatives"):
        est, lo, hi = auroc_ci(y, s)
    assert est == pytest.approx(2 / 3) and math.isnan(lo) and math.isnan(hi)
    with pytest.warns(UndefinedMetricWarning, match="at least two positives"):
        d, z, p = delong_test(y, s, [0.1, 0.2, 0.3, 0.4])
    assert d == pytest.approx(2 / 3) and math.isnan(z) and math.isnan(p)
    with pytest.warns(UndefinedMetricWarning, match="total weight above 1"):
        auroc_variance([1, 1, 0, 0], [0.9, 0.8, 0.1, 0.2], sample_weight=[0.3, 0.3, 1, 1])


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, float("nan")])
def test_bad_level(level):
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
        auroc_ci([0, 1], [0.1, 0.9], level=level)


@pytest.mark.parametrize("level", ["0.95", True, None])
def test_level_type(level):
    with pytest.raises(TypeError, match="level must be a number"):
        auroc_ci([0, 1], [0.1, 0.9], level=level)


def test_bad_inputs():
    with pytest.raises(ValueError, match="method must be one of 'wald', 'logit'; found 'exact'"):
        auroc_ci([0, 1], [0.1, 0.9], method="exact")
    with pytest.raises(ValueError, match="y_true must be 0/1"):
        auroc_ci([0, 2], [0.1, 0.9])
    with pytest.raises(ValueError, match="y_score must be finite; found nan at index 1"):
        auroc_variance([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="y_score must be 1-D"):
        auroc_ci([0, 1], [[0.1, 0.9], [0.2, 0.8]])
    with pytest.raises(ValueError, match="same length: found 2 labels and 3 rows in y_score"):
        auroc_ci([0, 1], [0.1, 0.9, 0.5])
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        auroc_ci([0, 1], [0.1, 0.9], sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="score_a and score_b must have the same length: found 2 and 3"):
        delong_test([0, 1], [0.1, 0.9], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="score_b must be finite; found inf at index 0"):
        delong_test([0, 1], [0.1, 0.9], [np.inf, 0.2])
    with pytest.raises(ValueError, match="score_a must be finite"):
        delong_test([0, 1], [np.nan, 0.9], [0.1, 0.2])
    with pytest.raises(ValueError, match="score_b must be 1-D"):
        delong_test([0, 1], [0.1, 0.9], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="are empty"):
        delong_test([], [], [])


def test_fractional_weights_against_reference():
    rng = np.random.default_rng(6)
    n = 300
    y = (rng.random(n) < 0.4).astype(np.uint8)
    a = np.round(rng.random(n) + 0.3 * y, 1)
    b = np.round(rng.random(n) + 0.2 * y, 2)
    w = rng.random(n) * 3 * (rng.random(n) < 0.9)
    ra, rv = ref_variance(y, a, w)
    est, var = auroc_variance(y, a, sample_weight=w)
    assert est == approx(ra, rel=1e-13) and var == approx(rv, rel=1e-10)
    rd, rvar = ref_test(y, a, b, w)
    d, z, _ = delong_test(y, a, b, sample_weight=w)
    assert d == approx(rd, abs=1e-14) and z == approx(rd / math.sqrt(rvar), rel=1e-9)
