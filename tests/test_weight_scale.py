"""Weights are scale-free (issue 16, items 3 and 4).

Multiplying every weight by a positive factor from 1e-300 to 1e300 leaves every
gauge, AUROC and fitted calibrator unchanged: bitwise for a power of two, to
rounding for any other factor.  The quantities that read weights as counts
(weight sums reported back, DeLong's variance, the debiased L2 error, Platt's
smoothed targets) use the true sums, including past the float64 range.
"""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
from fastcal.uncertainty.delong import auroc_variance
from fastcal.metrics.smooth import debiased_l2


def _data(seed, n):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < p ** 1.3).astype(np.int64)
    P = rng.dirichlet([1.0, 1.0, 1.0], n)
    yc = rng.integers(0, 3, n)
    z = rng.normal(size=(n, 3)) * 2.0
    yz = np.array([rng.choice(3, p=np.exp(r) / np.exp(r).sum()) for r in z / 2.0])
    yz[: n // 10] = -100  # padding rows for ignore_index
    zb = rng.normal(size=n) * 2.0
    yb = (rng.random(n) < 1.0 / (1.0 + np.exp(-0.6 * zb))).astype(np.int64)
    w = rng.uniform(0.25, 4.0, n)
    w[rng.random(n) < 0.1] = 0.0
    w[0] = 1.0  # at least one positive weight (rows 0 and 1 are kept everywhere)
    y[:2], p[:2] = (0, 1), (0.3, 0.7)  # both classes present
    return dict(p=p, y=y, P=P, yc=yc, z=z, yz=yz, zb=zb, yb=yb, w=w)


def _report_values(r):
    d = r.to_dict()
    keys = ("accuracy", "confidence", "ece", "mce", "rmsce", "signed_error", "brier", "nll",
            "auroc")
    c = r.reliability
    return [d[k] for k in keys] + list(np.ravel(c.confidence)) + list(np.ravel(c.accuracy))


def _quiet(f):
    def g(d, w):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(d, w)
    return g


# name -> (f(data, weights) -> list of floats, rtol for a factor that is not a power of two)
SCALE_FREE = {
    "ece": (lambda d, w: [fastcal.ece(d["y"], d["p"], sample_weight=w)], 1e-12),
    "mce": (lambda d, w: [fastcal.mce(d["y"], d["p"], sample_weight=w)], 1e-12),
    "rmsce": (lambda d, w: [fastcal.rmsce(d["y"], d["p"], sample_weight=w)], 1e-12),
    "signed": (lambda d, w: [fastcal.calibration_error(d["y"], d["p"], norm="signed",
                                                        sample_weight=w)], 1e-9),
    "ece_logits_ignore": (lambda d, w: [fastcal.ece(d["yz"], d["z"], from_logits=True,
                                                    ignore_index=-100, sample_weight=w)], 1e-12),
    "ece_classwise": (lambda d, w: [fastcal.ece(d["yc"], d["P"], classwise=True,
                                                sample_weight=w)], 1e-12),
    "ece_torchmetrics": (lambda d, w: [fastcal.ece(d["y"], d["p"], convention="torchmetrics",
                                                   sample_weight=w)], 1e-12),
    "ece_netcal": (lambda d, w: [fastcal.ece(d["y"], d["p"].astype(np.float32),
                                             convention="netcal", sample_weight=w)], 1e-12),
    "reliability_curve": (lambda d, w: list(np.concatenate(
        fastcal.reliability_curve(d["y"], d["p"], n_bins=8, sample_weight=w)[2:])), 1e-12),
    "brier": (lambda d, w: [fastcal.brier_score(d["y"], d["p"], sample_weight=w)], 1e-12),
    "nll": (lambda d, w: [fastcal.nll(d["y"], d["p"], sample_weight=w)], 1e-12),
    "brier_mc_logits": (lambda d, w: [fastcal.brier_score(d["yz"], d["z"], from_logits=True,
                                                          ignore_index=-100,
                                                          sample_weight=w)], 1e-12),
    "nll_mc": (lambda d, w: [fastcal.nll(d["yc"], d["P"], sample_weight=w)], 1e-12),
    "auroc": (lambda d, w: [fastcal.auroc(d["y"], d["p"], sample_weight=w)], 1e-12),
    "auroc_ci_estimate": (lambda d, w: [fastcal.auroc_ci(d["y"], d["p"],
                                                         sample_weight=w)[0]], 1e-12),
    "delong_difference": (lambda d, w: [fastcal.delong_test(d["y"], d["p"], d["p"] ** 3 + d["zb"],
                                                            sample_weight=w)[0]], 1e-9),
    "calibration_report": (lambda d, w: _report_values(
        fastcal.calibration_report(d["yc"], d["P"], sample_weight=w)), 1e-12),
    "calibration_report_classwise": (lambda d, w: _report_values(
        fastcal.calibration_report(d["yc"], d["P"], classwise=True, sample_weight=w)), 1e-12),
    "report_bootstrap_intervals": (lambda d, w: [v for k, iv in sorted(fastcal.calibration_report(
        d["y"], d["p"], sample_weight=w, ci=0.9, n_resamples=40, random_state=0
    ).intervals.items()) if k != "auroc" for v in iv], 1e-9),
    "multiple_choice_report": (lambda d, w: _report_values(fastcal.multiple_choice_report(
        d["yc"], np.log(d["P"]), sample_weight=w)), 1e-12),
    "smooth_ece": (lambda d, w: list(fastcal.smooth_ece(d["y"], d["p"], sample_weight=w,
                                                        return_sigma=True)), 1e-9),
    "smooth_ece_sigma": (lambda d, w: [fastcal.smooth_ece(d["y"], d["p"], sigma=0.05,
                                                          sample_weight=w)], 1e-9),
    "brier_decomposition": (lambda d, w: list(fastcal.brier_decomposition(
        d["y"], d["p"], sample_weight=w)), 1e-9),
    "corp_decomposition": (lambda d, w: list(fastcal.corp_decomposition(
        d["y"], d["p"], sample_weight=w)), 1e-9),
    "isotonic_regression": (lambda d, w: list(fastcal.isotonic_regression(
        d["p"], sample_weight=w)), 1e-12),
    "isotonic_regression_2d": (lambda d, w: list(fastcal.isotonic_regression(
        np.stack([d["p"], d["p"][::-1]]), sample_weight=np.stack([w, w[::-1] * 1e-3])).ravel()),
        1e-12),
    "IsotonicRegression": (lambda d, w: list(fastcal.IsotonicRegression().fit(
        d["p"], d["y"], sample_weight=w).predict(np.linspace(0, 1, 41))), 1e-12),
    # scikit-learn casts the weights to X's dtype: float32 rounding
    "IsotonicRegression_float32": (lambda d, w: list(fastcal.IsotonicRegression().fit(
        d["p"].astype(np.float32), d["y"], sample_weight=w).predict(np.linspace(0, 1, 41))),
        1e-5),
    "PlattScaling": (lambda d, w: (lambda m: [m.a_, m.b_, m.loss_])(
        fastcal.PlattScaling().fit(d["p"], d["y"], sample_weight=w)), 1e-8),
    "PlattScaling_multiclass": (lambda d, w: (lambda m: [m.a_, m.b_])(
        fastcal.PlattScaling().fit(d["P"], d["yc"], sample_weight=w)), 1e-8),
    "TemperatureScaling": (lambda d, w: (lambda m: [m.temperature_, m.nll_after_])(
        fastcal.TemperatureScaling().fit(d["z"][d["yz"] >= 0], d["yz"][d["yz"] >= 0],
                                         sample_weight=w[d["yz"] >= 0])), 1e-8),
    "TemperatureScaling_binary": (lambda d, w: (lambda m: [m.temperature_])(
        fastcal.TemperatureScaling().fit(d["zb"], d["yb"], sample_weight=w)), 1e-8),
    "HistogramBinning": (lambda d, w: list(fastcal.HistogramBinning(n_bins=8).fit(
        d["p"], d["y"], sample_weight=w).predict_proba(np.linspace(0, 1, 41))), 1e-12),
}
SCALE_FREE = {k: (_quiet(f), rtol) for k, (f, rtol) in SCALE_FREE.items()}
# piecewise constant in T: an arbitrary factor may move a rounding tie; powers of two cannot
POWER_OF_TWO_ONLY = {
    "TemperatureScaling_ece": _quiet(lambda d, w: [fastcal.TemperatureScaling(
        objective="ece").fit(d["zb"], d["yb"], sample_weight=w).temperature_]),
}


def _check(name, got, want, rtol):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, name
    if rtol == 0:
        np.testing.assert_array_equal(got, want, err_msg=name)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-15, err_msg=name)


@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(40, 160),
       k=st.integers(-1000, 1000))
def test_power_of_two_factors_change_nothing(seed, n, k):
    d = _data(seed, n)
    w = d["w"]
    ws = w * 2.0 ** k  # exact: weights in [0.25, 4] stay normal floats
    for name, (f, _) in SCALE_FREE.items():
        _check(name, f(d, ws), f(d, w), 0)
    for name, f in POWER_OF_TWO_ONLY.items():
        _check(name, f(d, ws), f(d, w), 0)


@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(40, 160),
       log10=st.floats(-300, 300))
def test_any_factor_changes_nothing_but_rounding(seed, n, log10):
    d = _data(seed, n)
    w = d["w"]
    ws = w * 10.0 ** log10
    for name, (f, rtol) in SCALE_FREE.items():
        _check(name, f(d, ws), f(d, w), rtol)


def _counts(d, w):
    r = fastcal.calibration_report(d["y"], d["p"], n_bins=8, sample_weight=w)
    c = fastcal.reliability_curve(d["y"], d["p"], n_bins=8, sample_weight=w)
    h = fastcal.HistogramBinning(n_bins=8).fit(d["p"], d["y"], sample_weight=w)
    return np.concatenate([[r.weight], r.reliability.count, c.count, h.bin_weights_])


@given(seed=st.integers(0, 2 ** 32 - 1), k=st.integers(-1000, 1000),
       log10=st.floats(-300, 300))
def test_weight_sums_reported_back_are_the_true_sums(seed, k, log10):
    d = _data(seed, 60)
    w = d["w"]
    base = _counts(d, w)
    np.testing.assert_array_equal(_counts(d, w * 2.0 ** k), base * 2.0 ** k)
    c = 10.0 ** log10
    np.testing.assert_allclose(_counts(d, w * c), base * c, rtol=1e-12, atol=0)


def test_issue_reproducers():
    y, p = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]
    for f in (fastcal.ece, fastcal.brier_score, fastcal.nll):  # were 0.0
        assert math.isclose(f(y, p, sample_weight=[1e308] * 4), f(y, p), rel_tol=1e-12)
    warnings.simplefilter("ignore", fastcal.UndefinedMetricWarning)  # DeLong: < 2 samples
    for c in (1e155, 1e-170, 1e308, 5e-324):
        assert fastcal.auroc(y, p, sample_weight=[c] * 4) == 1.0  # NaN / ZeroDivisionError
        assert fastcal.auroc_ci(y, p, sample_weight=[c] * 4)[0] == 1.0
        r = fastcal.calibration_report(y, p, sample_weight=[c] * 4)
        assert math.isclose(r.ece, fastcal.ece(y, p), rel_tol=1e-12) and r.auroc == 1.0
        iso = fastcal.IsotonicRegression().fit(p, y, sample_weight=[c] * 4)
        np.testing.assert_allclose(iso.predict(p), fastcal.IsotonicRegression().fit(
            p, y).predict(p), rtol=1e-12)  # was NaN at 1e308
    assert fastcal.calibration_report(y, p, sample_weight=[1e308] * 4).weight == math.inf
    # the exact AUROC of the accumulators goes through the same scaled computation
    acc = fastcal.AUROCAccumulator(exact=True).update(y, p, sample_weight=[1e-170] * 4)
    assert acc.compute() == 1.0


def test_platt_at_extreme_weights_fits_and_reloads():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 400)
    y = (rng.random(400) < p ** 2).astype(int)
    ref = fastcal.PlattScaling().fit(p, y)
    for c in (1e308, 1e-170, 2.0 ** -1074):
        for smooth in (False, True):
            m = fastcal.PlattScaling(smooth=smooth).fit(p, y, sample_weight=np.full(400, c))
            assert math.isfinite(m.a_) and math.isfinite(m.b_)  # b_ was nan at 1e308
            back = fastcal.PlattScaling.from_dict(m.to_dict())
            np.testing.assert_array_equal(back.predict_proba(p), m.predict_proba(p))
            if not smooth:
                np.testing.assert_allclose([m.a_, m.b_], [ref.a_, ref.b_], rtol=1e-9)
    # smoothed targets read the weights as counts: 1e308 each is an infinite sample,
    # whose targets are the plain ones
    big = fastcal.PlattScaling(smooth=True).fit(p, y, sample_weight=np.full(400, 1e308))
    np.testing.assert_allclose([big.a_, big.b_], [ref.a_, ref.b_], rtol=1e-9)


def test_frequency_weight_quantities_use_the_true_weight_sums():
    d = _data(7, 120)
    y, p, w = d["y"], d["p"], d["w"]
    # DeLong: far above one sample per class the variance is inversely proportional
    # to the weight scale; at 2**900 it is tiny but neither 0 nor NaN
    _, v60 = auroc_variance(y, p, sample_weight=w * 2.0 ** 60)
    _, v900 = auroc_variance(y, p, sample_weight=w * 2.0 ** 900)
    assert 0 < v900 and math.isclose(v900, v60 * 2.0 ** -840, rel_tol=1e-12)
    _, va = fastcal.delong_test(y, p, p ** 2 + d["zb"], sample_weight=w * 2.0 ** 60)[:2]
    _, vb = fastcal.delong_test(y, p, p ** 2 + d["zb"], sample_weight=w * 2.0 ** 900)[:2]
    assert math.isclose(vb, va * 2.0 ** 420, rel_tol=1e-12)  # z grows with sqrt(weight)
    # ... and below one sample per class it is undefined, as with few rows
    with pytest.warns(fastcal.UndefinedMetricWarning, match="at least two positives"):
        auc, var = auroc_variance(y, p, sample_weight=w * 1e-300)
    assert math.isnan(var)
    assert math.isclose(auc, fastcal.auroc(y, p, sample_weight=w), rel_tol=1e-12)
    # debiased L2: W_b - 1 with the true bin weights (W_b >> 1 or W_b << 1 at both ends)
    assert debiased_l2(y, p, sample_weight=w * 2.0 ** 900) == debiased_l2(
        y, p, sample_weight=w * 2.0 ** 100)
    assert debiased_l2(y, p, sample_weight=w * 1e-300) == 0.0  # every bin below 2 samples
    assert fastcal.calibration_error(y, p, norm="l2", debias=True,
                                     sample_weight=w * 2.0 ** 900) == debiased_l2(
        y, p, sample_weight=w * 2.0 ** 100)


def test_invalid_weights_are_reported_with_their_true_values():
    y, p = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]
    for w, found in (([1e300, -1e300, 1, 1], "-1e+300"), ([1e300, np.nan, 1, 1], "nan"),
                     ([1e-300, np.inf, 1, 1], "inf")):
        for f in (fastcal.ece, fastcal.auroc, fastcal.calibration_report):
            with pytest.raises(ValueError, match=re.escape(f"found {found} at index 1")):
                f(y, p, sample_weight=w)


# ----------------------------------------------------------------- smooth ECE (item 4)
def test_smooth_ece_does_not_depend_on_the_weight_scale():
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = (rng.random(1000) < p ** 2).astype(int)
    base = fastcal.smooth_ece(y, p)
    for c in (1e-10, 1e-300, 1e300, 3.7):  # 1e-10 gave 0.000123 instead of 0.0814
        assert math.isclose(fastcal.smooth_ece(y, p, sample_weight=np.full(1000, c)), base,
                            rel_tol=1e-12)


def test_smooth_ece_rejects_all_zero_weights():
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        fastcal.smooth_ece([0, 1, 1], [0.2, 0.6, 0.9], sample_weight=[0.0, 0.0, 0.0])


# ------------------------------------------------------------------ accumulators
def test_accumulators_bounded_auroc_scale_free():
    # properties over streams, merges and saved states: tests/test_accumulator_scale.py
    y, p = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]
    for c in (1e155, 1e-170, 1e308, 5e-324):  # NaN at 1e155 and 1e-170
        assert fastcal.AUROCAccumulator().update(y, p, sample_weight=[c] * 4).compute() == 1.0
        r = fastcal.CalibrationAccumulator().update(y, p, sample_weight=[c] * 4).compute()
        assert r.auroc == 1.0
        assert math.isclose(r.ece, fastcal.ece(y, p), rel_tol=1e-12)  # 0.0 at 1e308
        assert math.isclose(r.brier, fastcal.brier_score(y, p), rel_tol=1e-12)
        assert math.isclose(r.weight, 4 * c, rel_tol=1e-12) or (r.weight == math.inf
                                                               and 4 * c == math.inf)
