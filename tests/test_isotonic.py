"""PAV isotonic regression and the isotonic calibrator against scipy and scikit-learn."""

import json
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcal import NotFittedError
from fastcal.calibrators.isotonic import IsotonicRegression, isotonic_regression

scipy_opt = pytest.importorskip("scipy.optimize")
sk_iso = pytest.importorskip("sklearn.isotonic")

DTYPES = (np.float64, np.float32)
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def data(draw, min_n=1, max_n=30, weights=True, zero_weights=False):
    n = draw(st.integers(min_n, max_n))
    dt = draw(st.sampled_from(DTYPES))
    # few distinct values so that ties in X and y are common
    X = np.array(draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n)), dtype=dt) / 2
    y = np.array(draw(st.lists(st.sampled_from([0.0, 0.25, 1.0, 3.5, -2.0, 0.1]),
                               min_size=n, max_size=n)), dtype=dt)
    w = None
    if weights and draw(st.booleans()):
        lo = 0 if zero_weights else 1
        w = np.array(draw(st.lists(st.integers(lo, 3), min_size=n, max_size=n)), float)
        w = w * draw(st.sampled_from([1.0, 0.3]))
        if not (w > 0).any():
            w[0] = 1.0
    return X, y, w


def _close(a, b, dt):
    if dt == np.float64:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    else:
        # scikit-learn pools float32 ties in float32, fastcal in float64
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


# --- isotonic_regression -------------------------------------------------------


@SETTINGS
@given(data(weights=True), st.booleans())
def test_pav_equals_scipy(d, increasing):
    _, y, w = d
    got = isotonic_regression(y, sample_weight=w, increasing=increasing)
    want = scipy_opt.isotonic_regression(y, weights=w, increasing=increasing).x
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@SETTINGS
@given(data(weights=True, zero_weights=True), st.booleans())
def test_pav_monotone_mean_preserving(d, increasing):
    _, y, w = d
    got = isotonic_regression(y, sample_weight=w, increasing=increasing)
    ww = np.ones(len(y)) if w is None else w
    diffs = np.diff(got)
    assert (diffs >= -1e-12).all() if increasing else (diffs <= 1e-12).all()
    np.testing.assert_allclose(np.sum(ww * got), np.sum(ww * y.astype(float)), rtol=1e-10, atol=1e-10)
    # zero weights: the fit on the positive-weight points equals scipy's without the others
    keep = ww > 0
    want = scipy_opt.isotonic_regression(y[keep].astype(float), weights=ww[keep],
                                         increasing=increasing).x
    np.testing.assert_allclose(got[keep], want, rtol=1e-12, atol=1e-12)


def test_pav_small_and_known():
    assert isotonic_regression([3.0]).tolist() == [3.0]
    assert isotonic_regression([2.0, 1.0]).tolist() == [1.5, 1.5]
    assert isotonic_regression([1.0, 2.0], increasing=False).tolist() == [1.5, 1.5]
    np.testing.assert_allclose(
        isotonic_regression([5, 3, 1, 2, 8, 10, 7, 9, 6, 4]),
        [2.75] * 4 + [44 / 6] * 6)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 12), st.booleans(), st.booleans(),
       st.sampled_from(DTYPES), st.randoms(use_true_random=False))
def test_batched_equals_rows(m, n, increasing, per_row_w, dt, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    Y = rng.integers(0, 4, (m, n)).astype(dt)
    W = rng.integers(1, 4, (m, n) if per_row_w else n).astype(float)
    got = isotonic_regression(Y, sample_weight=W, increasing=increasing)
    for k in range(m):
        wk = W[k] if per_row_w else W
        np.testing.assert_array_equal(got[k], isotonic_regression(Y[k], sample_weight=wk,
                                                                  increasing=increasing))


def test_batched_parallel_path():
    rng = np.random.default_rng(0)
    Y = rng.random((64, 4096))
    got = isotonic_regression(Y, increasing=False)
    for k in (0, 17, 63):
        np.testing.assert_array_equal(
            got[k], scipy_opt.isotonic_regression(Y[k], increasing=False).x)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(y=[1.0, np.nan]), ValueError, r"y must be finite; found nan at index 1"),
        (dict(y=[1.0, np.inf]), ValueError, r"y must be finite"),
        (dict(y=[]), ValueError, r"y is empty"),
        (dict(y=np.zeros((2, 2, 2))), ValueError, r"y must be 1-D or 2-D"),
        (dict(y=["a", "b"]), TypeError, r"y must hold real numbers"),
        (dict(y=[1.0, 2.0], sample_weight=[1.0, -1.0]), ValueError, r"sample_weight must be non-negative"),
        (dict(y=[1.0, 2.0], sample_weight=[1.0]), ValueError, r"sample_weight must have one entry per sample"),
        (dict(y=[1.0, 2.0], sample_weight=[0.0, 0.0]), ValueError, r"sample_weight sums to zero"),
        (dict(y=[1.0, 2.0], sample_weight=[1.0, np.nan]), ValueError, r"sample_weight must be finite"),
        (dict(y=[1.0, 2.0], increasing="yes"), TypeError, r"increasing must be True or False"),
    ],
)
def test_pav_errors(kwargs, exc, match):
    y = kwargs.pop("y")
    with pytest.raises(exc, match=match):
        isotonic_regression(y, **kwargs)


# --- IsotonicRegression --------------------------------------------------------


def _fit_both(X, y, w, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = sk_iso.IsotonicRegression(**kw).fit(X, y, sample_weight=w)
        b = IsotonicRegression(**kw).fit(X, y, sample_weight=w)
    return a, b


@SETTINGS
@given(data(zero_weights=True), st.sampled_from([True, False, "auto"]),
       st.sampled_from([(None, None), (0.2, None), (None, 1.0), (0.0, 0.5)]),
       st.sampled_from(["nan", "clip"]))
def test_estimator_equals_sklearn(d, increasing, bounds, oob):
    X, y, w = d
    kw = dict(increasing=increasing, y_min=bounds[0], y_max=bounds[1], out_of_bounds=oob)
    a, b = _fit_both(X, y, w, **kw)
    dt = X.dtype
    assert b.increasing_ == a.increasing_
    assert b.X_min_ == a.X_min_ and b.X_max_ == a.X_max_
    if dt == np.float64:
        np.testing.assert_array_equal(b.X_thresholds_, a.X_thresholds_)
        _close(b.y_thresholds_, a.y_thresholds_, dt)
    T = np.linspace(-3, 3, 49).astype(dt)
    T = np.concatenate([T, X])
    pa, pb = a.predict(T), b.predict(T)
    assert pb.dtype == pa.dtype
    assert np.array_equal(np.isnan(pa), np.isnan(pb))
    _close(pb, pa, dt)
    _close(b.transform(T.reshape(-1, 1)), a.transform(T.reshape(-1, 1)), dt)


def test_near_ties_pooled_like_sklearn():
    X = np.array([0.5, np.nextafter(0.5, 1), 0.7, 0.2])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    a, b = _fit_both(X, y, None)
    np.testing.assert_array_equal(b.X_thresholds_, a.X_thresholds_)
    np.testing.assert_allclose(b.y_thresholds_, a.y_thresholds_, rtol=1e-15)


def test_n1_and_n2():
    for X, y in [([1.0], [3.0]), ([1.0, 2.0], [2.0, 1.0]), ([1.0, 1.0], [2.0, 1.0])]:
        for oob in ("nan", "clip", "raise"):
            a, b = _fit_both(np.array(X), np.array(y), None, out_of_bounds=oob)
            T = np.array([1.0, 1.5, 2.0]) if oob == "raise" and len(b.X_thresholds_) > 1 else \
                np.array([0.0, 1.0, 1.5, 2.0, 3.0])
            np.testing.assert_array_equal(b.predict(T), a.predict(T))


def test_out_of_bounds_raise():
    b = IsotonicRegression(out_of_bounds="raise").fit([0.0, 1.0, 2.0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(b.predict([0.0, 2.0]), [0.0, 0.75])
    with pytest.raises(ValueError, match=r"T: a value \(-1.0\) is below the fitted range"):
        b.predict([-1.0])
    with pytest.raises(ValueError, match=r"T: a value \(3.0\) is above the fitted range"):
        b.predict([1.0, 3.0])


def test_large_random_equals_sklearn():
    rng = np.random.default_rng(3)
    X = rng.random(20000).round(3)
    y = (rng.random(20000) < X).astype(float)
    w = rng.integers(0, 3, 20000).astype(float)
    a, b = _fit_both(X, y, w, increasing="auto")
    np.testing.assert_array_equal(b.X_thresholds_, a.X_thresholds_)
    T = rng.random(1000) * 1.2 - 0.1
    np.testing.assert_allclose(b.predict(T), a.predict(T), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("increasing", [True, False])
def test_few_ties_sort_path_equals_sklearn(increasing):
    # more distinct X than the hash grouping takes: the radix-sort path
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.random(6000), rng.random(1000).round(2), -np.zeros(3), np.zeros(3)])
    y = rng.random(X.shape[0])
    w = rng.integers(0, 3, X.shape[0]).astype(float)
    a, b = _fit_both(X, y, w, increasing=increasing)
    np.testing.assert_array_equal(b.X_thresholds_, a.X_thresholds_)
    np.testing.assert_allclose(b.y_thresholds_, a.y_thresholds_, rtol=1e-12)
    T = np.concatenate([rng.random(1000), X])
    np.testing.assert_allclose(b.predict(T), a.predict(T), rtol=1e-12, equal_nan=True)


def test_serialisation_round_trip():
    rng = np.random.default_rng(4)
    for dt in DTYPES:
        X = rng.random(300).astype(dt)
        y = (rng.random(300) < X).astype(dt)
        b = IsotonicRegression(y_min=0.1, out_of_bounds="clip").fit(X, y)
        T = rng.random(100).astype(dt) * 1.4 - 0.2
        p = b.predict(T)
        c = pickle.loads(pickle.dumps(b))
        np.testing.assert_array_equal(c.predict(T), p)
        d = json.loads(json.dumps(b.to_dict()))
        e = IsotonicRegression.from_dict(d)
        np.testing.assert_array_equal(e.predict(T), p)
        assert e.predict(T).dtype == p.dtype
        assert e.increasing_ == b.increasing_ and e.out_of_bounds == "clip" and e.y_min == 0.1
    unfitted = IsotonicRegression.from_dict(IsotonicRegression(increasing="auto").to_dict())
    assert unfitted.increasing == "auto"
    with pytest.raises(ValueError, match="newer fastcal"):
        IsotonicRegression.from_dict(dict(IsotonicRegression().to_dict(), version=99))
    with pytest.raises(ValueError, match="expects the output of IsotonicRegression.to_dict"):
        IsotonicRegression.from_dict({"type": "Other"})


@pytest.mark.parametrize(
    "est, X, y, w, exc, match",
    [
        ({}, [1.0, np.nan], [0.0, 1.0], None, ValueError, r"X must be finite; found nan at index 1"),
        ({}, [1.0, 2.0], [0.0, np.inf], None, ValueError, r"y must be finite; found inf"),
        ({}, [1.0, 2.0], [0.0, 1.0, 1.0], None, ValueError, r"X and y must have the same length"),
        ({}, [], [], None, ValueError, r"X and y are empty"),
        ({}, np.zeros((3, 2)), [0.0, 1.0, 1.0], None, ValueError, r"X must be 1-D or 2-D with one column"),
        ({}, [1.0, 2.0], [[0.0, 1.0]], None, ValueError, r"y must be 1-D"),
        ({}, [1.0, 2.0], [0.0, 1.0], [1.0, -2.0], ValueError, r"sample_weight must be non-negative"),
        ({}, [1.0, 2.0], [0.0, 1.0], [1.0], ValueError, r"sample_weight must have one entry"),
        ({}, [1.0, 2.0], [0.0, 1.0], [0.0, 0.0], ValueError, r"sample_weight has no positive entry"),
        (dict(out_of_bounds="wrap"), [1.0, 2.0], [0.0, 1.0], None, ValueError,
         r"out_of_bounds must be one of 'nan', 'clip', 'raise'; found 'wrap'"),
        (dict(increasing="up"), [1.0, 2.0], [0.0, 1.0], None, ValueError,
         r"increasing must be True, False or 'auto'; found 'up'"),
        (dict(y_min=1.0, y_max=0.0), [1.0, 2.0], [0.0, 1.0], None, ValueError, r"y_min must not exceed y_max"),
        (dict(y_min="a"), [1.0, 2.0], [0.0, 1.0], None, TypeError, r"y_min must be a real number or None"),
    ],
)
def test_estimator_errors(est, X, y, w, exc, match):
    with pytest.raises(exc, match=match):
        IsotonicRegression(**est).fit(X, y, sample_weight=w)


def test_predict_errors():
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(X, y\) first"):
        IsotonicRegression().predict([1.0])
    assert issubclass(NotFittedError, ValueError)
    b = IsotonicRegression().fit([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"T must be finite; found nan"):
        b.predict([np.nan])
    with pytest.raises(ValueError, match=r"T must be 1-D or 2-D with one column"):
        b.transform(np.zeros((2, 2)))
