"""The public wiring of issue 5: report intervals, debiased L2, convention profiles."""

import json
import math

import numpy as np
import pytest

import fastcal
from fastcal.core import pipeline as _core
from fastcal.uncertainty.bootstrap import report_intervals
from fastcal.metrics.conventions import ece_with_convention
from fastcal.metrics.smooth import debiased_l2_from_bins


def data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(2.5, 1.2, n)
    y = (rng.random(n) < p ** 1.3).astype(np.int64)
    return y, p


def test_report_intervals_are_the_bootstrap_and_delong():
    y, p = data()
    r = fastcal.calibration_report(y, p, ci=0.9, n_resamples=200, random_state=3)
    b = _core.binned(y, p, n_bins=15, strategy="uniform", right=True, classwise=False,
                     from_logits=False, sample_weight=None, scores=True, want_cc=True,
                     want_terms=True)
    iv = report_intervals(b, ci=0.9, n_resamples=200, random_state=3)
    for k, v in iv.items():
        assert r.intervals[k] == v
    est, lo, hi = fastcal.auroc_ci(y, p, level=0.9)
    assert r.intervals["auroc"] == (lo, hi) and est == r.auroc
    for g in ("brier", "nll", "accuracy", "confidence"):
        lo, hi = r.intervals[g]
        assert lo <= getattr(r, g) <= hi, g
    d = json.loads(json.dumps(r.to_dict()))
    assert set(d["intervals"]) == set(r.intervals)
    assert "Poisson bootstrap" in r.convention["intervals"]
    # deterministic for an int seed, and the point estimates do not change
    r2 = fastcal.calibration_report(y, p, ci=0.9, n_resamples=200, random_state=3)
    assert r2 == r and fastcal.calibration_report(y, p).ece == r.ece
    assert fastcal.calibration_report(y, p).intervals is None


@pytest.mark.parametrize("weighted", [False, True])
def test_report_with_ci_has_the_auroc_of_the_report_without(weighted):
    """Above the one-sort threshold (the radix AUROC): the AUROC of a report
    with intervals, whose DeLong interval comes from the same pass, is bitwise
    the report's without intervals, and the interval is ``auroc_ci``'s."""
    n = _core.SORT_MAX + 1000
    y, p = data(n, seed=4)
    w = np.random.default_rng(5).integers(0, 4, n) * 0.375 if weighted else None
    r = fastcal.calibration_report(y, p, sample_weight=w, ci=0.95, n_resamples=20,
                                   random_state=0)
    assert r.auroc == fastcal.calibration_report(y, p, sample_weight=w).auroc
    est, lo, hi = fastcal.auroc_ci(y, p, sample_weight=w)
    assert (est, lo, hi) == (r.auroc, *r.intervals["auroc"])


def test_report_intervals_skip_padding():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (3, 40, 7))
    lab = rng.integers(0, 7, (3, 40))
    lab[:, ::4] = -100
    keep = lab != -100
    r = fastcal.calibration_report(lab, z, from_logits=True, ignore_index=-100, ci=0.95,
                                   n_resamples=100, random_state=0)
    f = fastcal.calibration_report(lab[keep], z[keep], from_logits=True, ci=0.95,
                                   n_resamples=100, random_state=0)
    for k in f.intervals:
        np.testing.assert_allclose(r.intervals[k], f.intervals[k], rtol=1e-9, atol=1e-12)


def test_ci_argument_errors():
    y, p = data(100)
    with pytest.raises(ValueError, match="ci"):
        fastcal.calibration_report(y, p, ci=1.5)
    with pytest.raises(ValueError, match="n_resamples"):
        fastcal.calibration_report(y, p, ci=0.95, n_resamples=0)


def test_debiased_l2():
    y, p = data()
    b = _core.binned(y, p, n_bins=15, strategy="uniform", right=True, classwise=False,
                     from_logits=False, sample_weight=None, scores=False, want_cc=False)
    assert fastcal.calibration_error(y, p, norm="l2", debias=True) == debiased_l2_from_bins(b.bins)
    assert fastcal.calibration_error(y, p, norm="l2", debias=True) < fastcal.rmsce(y, p)
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(4), 500)
    yc = rng.integers(0, 4, 500)
    bc = _core.binned(yc, P, n_bins=10, strategy="uniform", right=True, classwise=True,
                      from_logits=False, sample_weight=None, scores=False, want_cc=False)
    per = [max(debiased_l2_from_bins(bc.bins[k], squared=True), 0.0) for k in range(4)]
    v = fastcal.calibration_error(yc, P, n_bins=10, norm="l2", debias=True, classwise=True)
    assert math.isclose(v, math.sqrt(np.mean(per)), rel_tol=1e-15)
    with pytest.raises(ValueError, match="debias=True is defined for norm='l2'"):
        fastcal.calibration_error(y, p, debias=True)


@pytest.mark.parametrize("convention", ["torchmetrics", "netcal"])
def test_convention_profiles_through_the_public_functions(convention):
    y, p = data(500)
    p[:7] = 1.0  # torchmetrics' extra bin
    p[7:10] = 0.0
    for fn, norm in ((fastcal.ece, "l1"), (fastcal.mce, "max"), (fastcal.rmsce, "l2")):
        want = ece_with_convention(y, p, convention, n_bins=10, norm=norm)
        assert fn(y, p, n_bins=10, convention=convention) == want
        assert fastcal.calibration_error(y, p, n_bins=10, norm=norm,
                                         convention=convention) == want
    with pytest.raises(ValueError, match=r"cannot be combined with strategy='quantile'"):
        fastcal.ece(y, p, convention=convention, strategy="quantile")
    with pytest.raises(ValueError, match=r"cannot be combined with norm='signed'"):
        fastcal.calibration_error(y, p, norm="signed", convention=convention)
    with pytest.raises(ValueError, match="convention must be one of"):
        fastcal.ece(y, p, convention="scikit-learn")
