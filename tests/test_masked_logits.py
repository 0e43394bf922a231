"""Masked logits (issue 14, item 5): every ``from_logits=True`` path takes
-inf entries (a masked vocabulary entry or option; each row needs one finite
value) with the exact softmax (a masked entry has probability 0, never NaN
from -inf - -inf), against the float64 reference; NaN, +inf and rows of
-inf are still rejected."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
import reference as ref


@st.composite
def masked(draw, dtypes=("float64", "float32", "float16")):
    n = draw(st.integers(1, 40))
    C = draw(st.integers(2, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(seed)
    Z = rng.normal(0.0, draw(st.sampled_from([0.5, 3.0, 30.0])), (n, C))
    mask = rng.random((n, C)) < draw(st.sampled_from([0.2, 0.6, 0.9]))
    keep = rng.integers(0, C, n)
    mask[np.arange(n), keep] = False  # each row keeps a finite value
    Z[mask] = -np.inf
    Z = Z.astype(dtype)
    y = rng.integers(0, C, n)
    if draw(st.booleans()):  # labels on unmasked classes only (finite NLL)
        y = np.where(mask[np.arange(n), y], keep, y)
    w = rng.random(n) + 0.1 if draw(st.booleans()) else None
    return y, Z, w


def close(a, b, tol=1e-9):
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=tol, abs_tol=1e-12)


@given(masked())
def test_report_equals_the_reference_softmax(data):
    y, Z, w = data
    r = fastcal.calibration_report(y, Z, from_logits=True, sample_weight=w, n_bins=7)
    want = ref.report(y, Z.astype(np.float64), n_bins=7, from_logits=True, sample_weight=w)
    for k, v in want.items():
        got = getattr(r, k)
        assert close(float(got), float(v)) or (math.isnan(got) and math.isnan(v)), (k, got, v)


@given(masked(("float64", "float32")))
def test_metrics_accumulator_and_calibrators_take_masked_logits(data):
    y, Z, w = data
    P = ref.softmax(Z.astype(np.float64))
    assert not np.isnan(P).any() and (P[np.isinf(Z)] == 0).all()
    for f in (fastcal.brier_score, fastcal.nll):
        assert close(f(y, Z, from_logits=True, sample_weight=w),
                     f(y, P, sample_weight=w) if f is fastcal.brier_score else
                     ref.nll(y, Z.astype(np.float64), True, w))
    # classwise bins: the same sums as on the reference probabilities
    a = fastcal.ece(y, Z, from_logits=True, classwise=True, sample_weight=w, n_bins=5)
    b = fastcal.ece(y, P, classwise=True, sample_weight=w, n_bins=5)
    assert close(a, b, 1e-7)
    acc = fastcal.CalibrationAccumulator(n_bins=7)
    acc.update(y, Z, from_logits=True, sample_weight=w)
    r = fastcal.calibration_report(y, Z, from_logits=True, sample_weight=w, n_bins=7)
    assert close(acc.compute().ece, r.ece) and close(acc.compute().brier, r.brier)
    fin = np.isfinite(Z[np.arange(len(y)), y])
    if fin.all():  # (a label on a masked class: an infinite NLL, see the report test)
        assert close(acc.compute().nll, r.nll)
    if fin.all() and len(y) >= 2:
        ts = fastcal.TemperatureScaling().fit(Z, y, sample_weight=w)
        assert math.isfinite(ts.temperature_) and ts.temperature_ > 0
        Q = ts.predict_proba(Z)
        assert not np.isnan(Q).any() and (Q[np.isinf(Z)] == 0).all()
        np.testing.assert_allclose(Q.sum(axis=1), 1.0, rtol=1e-12)


def test_temperature_ignores_masked_entries_exactly():
    rng = np.random.default_rng(3)
    Z = rng.normal(0, 2, (500, 4))
    y = rng.integers(0, 4, 500)
    wide = np.concatenate([Z, np.full((500, 3), -np.inf)], axis=1)
    a = fastcal.TemperatureScaling().fit(Z, y).temperature_
    b = fastcal.TemperatureScaling().fit(wide, y).temperature_
    assert math.isclose(a, b, rel_tol=1e-9)
    assert fastcal.calibration_report(y, wide, from_logits=True) == \
        fastcal.calibration_report(y, Z, from_logits=True)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_nan_inf_and_fully_masked_rows_are_still_rejected(dtype):
    Z = np.array([[0.0, 1.0, -np.inf], [2.0, -np.inf, 0.5]], dtype=dtype)
    y = np.array([0, 2])
    fastcal.calibration_report(y, Z, from_logits=True)  # valid
    for bad, match in ((np.nan, "found nan in row 1"), (np.inf, "found inf in row 1")):
        Zb = Z.copy()
        Zb[1, 1] = bad
        for call in (lambda: fastcal.calibration_report(y, Zb, from_logits=True),
                     lambda: fastcal.nll(y, Zb, from_logits=True),
                     lambda: fastcal.CalibrationAccumulator().update(y, Zb, from_logits=True)):
            with pytest.raises(ValueError, match=match):
                call()
    Zb = Z.copy()
    Zb[1] = -np.inf
    for call in (lambda: fastcal.calibration_report(y, Zb, from_logits=True),
                 lambda: fastcal.ece(y, Zb, from_logits=True, classwise=True),
                 lambda: fastcal.CalibrationAccumulator().update(y, Zb, from_logits=True)):
        with pytest.raises(ValueError, match="row 1 has no finite value"):
            call()
    if dtype != "float16":
        with pytest.raises(ValueError, match="row 1 has no finite value"):
            fastcal.TemperatureScaling().fit(Zb, y)
        ts = fastcal.TemperatureScaling().fit(Z, y)
        with pytest.raises(ValueError, match=r"finite or -inf \(a masked class\); found -inf in row 1"):
            ts.predict_proba(Zb)
    # a binary (1-D) logit has one value per row: -inf is no finite value there
    with pytest.raises(ValueError, match="must be finite"):
        fastcal.calibration_report([0, 1], np.array([0.5, -np.inf], dtype=dtype),
                                   from_logits=True)


@pytest.mark.parametrize("cls", [fastcal.PlattScaling, fastcal.HistogramBinning])
def test_top_label_calibrators_take_masked_logits(cls):
    rng = np.random.default_rng(5)
    Z = rng.normal(0, 2, (400, 5))
    Z[rng.random((400, 5)) < 0.4] = -np.inf
    Z[np.arange(400), rng.integers(0, 5, 400)] = rng.normal(0, 2, 400)
    y = rng.integers(0, 5, 400)
    P = ref.softmax(Z)
    a = cls().fit(Z, y, from_logits=True)
    b = cls().fit(P, y)
    np.testing.assert_allclose(a.predict_proba(Z, from_logits=True), b.predict_proba(P),
                               rtol=1e-9, atol=1e-12)


def test_label_on_a_masked_class_gives_an_infinite_nll_everywhere():
    """A label whose logit is masked has probability 0: NLL is +inf in the
    functions, and in the accumulator too, after merges and a save/load (its
    double-double sum keeps a 0 low part, not the NaN of inf - inf)."""
    import pickle
    import warnings

    z = np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -1.0], [0.5, 0.1, -np.inf]])
    y = np.array([1, 0, 0])
    assert fastcal.nll(y, z, from_logits=True) == np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for auroc in (None, "bounded"):
            a = fastcal.CalibrationAccumulator(auroc=auroc).update(y[:2], z[:2], from_logits=True)
            b = fastcal.CalibrationAccumulator(auroc=auroc).update(y[2:], z[2:], from_logits=True)
            for acc in (a, b + a, a + b, fastcal.CalibrationAccumulator.from_dict(a.to_dict()),
                        pickle.loads(pickle.dumps(a))):
                assert acc.compute().nll == np.inf
            assert (a + b).compute().ece == pytest.approx(fastcal.ece(y, z, from_logits=True),
                                                          rel=1e-15)
