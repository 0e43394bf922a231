"""PlattScaling: fused loss/gradient/Hessian kernel, Newton fit, equality with
scikit-learn (LogisticRegression without penalty; sigmoid calibration with
Platt's smoothed targets), degenerate data, serialisation, errors."""

import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from fastcal.core import pipeline as _core
from fastcal._kernels.calibrators import platt as KP
from fastcal import NotFittedError
from fastcal.calibrators.platt import PlattScaling, SeparableWarning

sklearn = pytest.importorskip("sklearn")
from sklearn.calibration import _sigmoid_calibration
from sklearn.linear_model import LogisticRegression

EPS64 = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------- references
def ref_feature(p, eps=EPS64):
    c = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    return np.log(c) - np.log1p(-c)


def ref_loss_derivs(x, t, w, a, b):
    """numpy: weighted mean log loss of sigmoid(a x + b) against targets t, gradient, Hessian."""
    u = a * x + b
    f = np.logaddexp(0.0, u) - t * u
    s = expit(u)
    r = s - t
    q = s * (1 - s)
    W = w.sum()
    return (float((w * f).sum() / W), float((w * r * x).sum() / W), float((w * r).sum() / W),
            float((w * q * x * x).sum() / W), float((w * q * x).sum() / W), float((w * q).sum() / W))


def mean_loss(x, y, w, a, b, smooth=False):
    y = np.asarray(y)
    if smooth:
        wp, wn = w[y == 1].sum(), w[y == 0].sum()
        t = np.where(y == 1, (wp + 1) / (wp + 2), 1 / (wn + 2))
    else:
        t = y.astype(np.float64)
    return ref_loss_derivs(x, t, w, a, b)[0]


def sk_logreg(x, y, w=None):
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr.fit(x[:, None], y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def overlapping(draw_p, draw_y):
    """Add four points that make the classes overlap (a finite MLE exists)."""
    p = np.concatenate([draw_p, [0.3, 0.3, 0.7, 0.7]])
    y = np.concatenate([draw_y, [0, 1, 0, 1]]).astype(np.int64)
    return p, y


probs = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 0.5, 1e-300, 1 - 1e-16]))


@st.composite
def datasets(draw, min_size=0, weighted=None):
    n = draw(st.integers(min_size, 40))
    p = np.array(draw(st.lists(probs, min_size=n, max_size=n)), dtype=np.float64)
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)
    if weighted is None:
        weighted = draw(st.booleans())
    w = None
    if weighted:
        w = np.array(draw(st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n)) or [])
    return p, y, w


# -------------------------------------------------------------------- kernel
def test_kernel_against_numpy():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 70_000)
    p[:5] = [0.0, 1.0, 0.5, 1e-300, 1.0 - 1e-16]
    y = (rng.random(p.size) < p).astype(np.int64)
    w = rng.random(p.size) * 3
    x = ref_feature(p)
    for a, b, tpos, tneg in [(1.0, 0.0, 1.0, 0.0), (2.5, -0.7, 0.99, 0.02), (-40.0, 3.0, 1.0, 0.0)]:
        t = np.where(y == 1, tpos, tneg)
        ref = ref_loss_derivs(x, t, w, a, b)
        r = KP.loss_derivs(p, y, w, a, b, None, EPS64, tpos, tneg)
        np.testing.assert_allclose(r[1:] / r[0], ref, rtol=1e-10, atol=1e-14)
    # serial == parallel, bitwise (unweighted: the signature the fit below uses)
    a = KP.loss_derivs(p, y, None, 1.3, 0.2, None, EPS64, 1.0, 0.0)
    b = _core.threaded(KP.loss_derivs, p, y, None, 1.3, 0.2, None, EPS64, 1.0, 0.0, threads=2)
    assert np.array_equal(a, b)


# ----------------------------------------------------------- sklearn equality
@given(datasets())
def test_plain_equals_logistic_regression(data):
    p, y, w = data
    p, y = overlapping(p, y)
    if w is not None:
        w = np.concatenate([w, [1.0, 1.0, 1.0, 1.0]])
    x = ref_feature(p)
    ps = PlattScaling().fit(p, y, sample_weight=w)
    assert ps.converged_ and not ps.separable_
    a, b = sk_logreg(x, y, w)
    ww = np.ones(p.size) if w is None else w
    ours = mean_loss(x, y, ww, ps.a_, ps.b_)
    theirs = mean_loss(x, y, ww, a, b)
    assert ours <= theirs + 1e-12
    assert ps.loss_ == pytest.approx(ours, rel=1e-9, abs=1e-12)
    assert ps.a_ == pytest.approx(a, rel=1e-5, abs=1e-6)
    assert ps.b_ == pytest.approx(b, rel=1e-5, abs=1e-6)


@given(datasets(min_size=1))
def test_smooth_equals_sklearn_sigmoid_calibration(data):
    p, y, w = data
    x = ref_feature(p)
    ps = PlattScaling(smooth=True).fit(p, y, sample_weight=w)
    assert ps.converged_
    A, B = _sigmoid_calibration(x, y, w)
    ww = np.ones(p.size) if w is None else w
    ours = mean_loss(x, y, ww, ps.a_, ps.b_, smooth=True)
    theirs = mean_loss(x, y, ww, -A, -B, smooth=True)
    # scikit-learn stops L-BFGS at a gradient of 1e-6 on the summed loss:
    # our loss is never worse, predictions agree to its tolerance
    assert ours <= theirs + 1e-12
    pred = ps.predict_proba(p)
    their_pred = 1 / (1 + np.exp(A * x + B))
    np.testing.assert_allclose(pred, their_pred, atol=1e-5)


def test_large_data_equals_sklearn():
    rng = np.random.default_rng(3)
    n = 200_000  # above the parallel threshold
    p = rng.beta(2.5, 1.2, n)
    y = (rng.random(n) < p ** 1.3).astype(np.int64)
    x = ref_feature(p)
    ps = PlattScaling().fit(p, y)
    a, b = sk_logreg(x, y)
    assert ps.a_ == pytest.approx(a, rel=1e-6) and ps.b_ == pytest.approx(b, rel=1e-6)
    ps = PlattScaling(smooth=True).fit(p, y)
    A, B = _sigmoid_calibration(x, y)
    assert ps.a_ == pytest.approx(-A, rel=1e-5) and ps.b_ == pytest.approx(-B, rel=1e-5)


# -------------------------------------------------------------------- inputs
def test_weights_equal_repetition():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.99, 500)
    y = (rng.random(500) < p ** 1.5).astype(np.int64)
    k = rng.integers(0, 4, 500)
    for smooth in (False, True):
        a = PlattScaling(smooth=smooth).fit(p, y, sample_weight=k)
        b = PlattScaling(smooth=smooth).fit(np.repeat(p, k), np.repeat(y, k))
        assert a.a_ == pytest.approx(b.a_, rel=1e-10) and a.b_ == pytest.approx(b.b_, rel=1e-10)


def test_probabilities_0_and_1_are_clipped_at_dtype_eps():
    p = np.array([0.0, 1.0, 0.2, 0.8, 0.6, 0.3, 1.0, 0.0])
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    eps = np.finfo(np.float64).eps
    a = PlattScaling().fit(p, y)
    b = PlattScaling().fit(ref_feature(p), y, from_logits=True)
    assert (a.a_, a.b_) == pytest.approx((b.a_, b.b_), rel=1e-12)
    assert np.isfinite(a.predict_proba(p)).all()
    np.testing.assert_allclose(a.predict_proba(p), b.predict_proba(ref_feature(p, eps), from_logits=True),
                               rtol=1e-13)
    # float32 input: float32's eps
    p32 = p.astype(np.float32)
    c = PlattScaling().fit(p32, y)
    d = PlattScaling().fit(ref_feature(p32, float(np.finfo(np.float32).eps)), y, from_logits=True)
    assert (c.a_, c.b_) == pytest.approx((d.a_, d.b_), rel=1e-9)


def test_toplabel_multiclass_equals_binary_on_confidence():
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.full(4, 0.4), size=3000)
    y = np.array([rng.choice(4, p=r) for r in P ** 1.5 / (P ** 1.5).sum(1, keepdims=True)])
    conf, corr = P.max(1), (P.argmax(1) == y).astype(np.int64)
    a = PlattScaling().fit(P, y)
    b = PlattScaling().fit(conf, corr)
    assert a.n_classes_ == 4 and not a.binary_
    assert (a.a_, a.b_) == (b.a_, b.b_)
    np.testing.assert_array_equal(a.predict_proba(P), b.predict_proba(conf))
    # logits: the top softmax probability
    Z = np.log(P)
    c = PlattScaling().fit(Z, y, from_logits=True)
    assert (c.a_, c.b_) == pytest.approx((a.a_, a.b_), rel=1e-9)
    np.testing.assert_allclose(c.predict_proba(Z, from_logits=True), a.predict_proba(P), rtol=1e-9)


# ---------------------------------------------------------- degenerate data
def test_separable_data_stays_finite():
    p = np.array([0.1, 0.2, 0.8, 0.9])
    with pytest.warns(SeparableWarning, match="separates the classes"):
        ps = PlattScaling().fit(p, [0, 0, 1, 1])
    assert ps.separable_ and ps.converged_
    assert math.isfinite(ps.a_) and math.isfinite(ps.b_) and ps.a_ > 5
    assert ps.loss_ < 1e-9
    pred = ps.predict_proba(p)
    np.testing.assert_allclose(pred, [0, 0, 1, 1], atol=1e-8)
    # quasi-separable (a tie at the boundary): the tied points get 1/2
    with pytest.warns(SeparableWarning):
        ps = PlattScaling().fit([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])
    assert ps.loss_ == pytest.approx(math.log(2) / 2, rel=1e-9)
    np.testing.assert_allclose(ps.predict_proba([0.1, 0.5, 0.9]), [0, 0.5, 1], atol=1e-6)
    # anti-separable: decreasing step
    with pytest.warns(SeparableWarning):
        ps = PlattScaling().fit([0.1, 0.9], [1, 0])
    assert ps.a_ < 0
    # smooth=True: finite and equal to sklearn, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ps = PlattScaling(smooth=True).fit(p, [0, 0, 1, 1])
    assert not ps.separable_
    A, _B = _sigmoid_calibration(ref_feature(p), np.array([0, 0, 1, 1]))
    assert ps.a_ == pytest.approx(-A, rel=1e-4)


def test_tiny_and_constant_inputs():
    # n = 1: one class
    with pytest.raises(ValueError, match="one class only.*smooth=True"):
        PlattScaling().fit([0.7], [1])
    ps = PlattScaling(smooth=True).fit([0.7], [1])
    assert ps.a_ == 0.0 and ps.b_ == pytest.approx(math.log(2))  # target 2/3
    assert ps.predict_proba([0.1, 0.9]) == pytest.approx([2 / 3, 2 / 3])
    # n = 2, one class, smooth: a = 0, the constant 1/(N + 2)
    ps = PlattScaling(smooth=True).fit([0.3, 0.6], [0, 0])
    assert ps.a_ == pytest.approx(0.0, abs=1e-12) and ps.predict_proba([0.5]) == pytest.approx([0.25])
    # constant feature, both classes: a = 0, b = logit of the base rate
    ps = PlattScaling().fit([0.4, 0.4, 0.4], [1, 0, 1])
    assert ps.a_ == 0.0 and ps.b_ == pytest.approx(math.log(2))
    # zero weights do not count
    ps = PlattScaling().fit([0.2, 0.4, 0.6, 0.9], [0, 1, 0, 1], sample_weight=[1, 1, 1, 0])
    ref = PlattScaling().fit([0.2, 0.4, 0.6], [0, 1, 0])
    assert (ps.a_, ps.b_) == pytest.approx((ref.a_, ref.b_), rel=1e-10)


# ------------------------------------------------------------- serialisation
def test_pickle_and_dict_round_trip():
    rng = np.random.default_rng(6)
    p = rng.uniform(0, 1, 300)
    y = (rng.random(300) < p).astype(int)
    ps = PlattScaling(smooth=True).fit(p, y)
    for other in (pickle.loads(pickle.dumps(ps)),
                  PlattScaling.from_dict(json.loads(json.dumps(ps.to_dict())))):
        assert (other.a_, other.b_, other.smooth) == (ps.a_, ps.b_, True)
        np.testing.assert_array_equal(other.predict_proba(p), ps.predict_proba(p))
    un = PlattScaling.from_dict(json.loads(json.dumps(PlattScaling().to_dict())))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        un.predict_proba(p)
    with pytest.raises(ValueError, match="PlattScaling.to_dict"):
        PlattScaling.from_dict({"a": 1.0})
    d = ps.to_dict()
    d["version"] = 99
    with pytest.raises(ValueError, match="version 99"):
        PlattScaling.from_dict(d)
    assert "a_=" in repr(ps)


# -------------------------------------------------------------------- errors
def test_errors():
    ps = PlattScaling()
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        ps.predict_proba([0.5])
    with pytest.raises(ValueError, match=r"y_prob must hold probabilities in \[0, 1\]; found 1.5 at index 1"):
        ps.fit([0.2, 1.5], [0, 1])
    with pytest.raises(ValueError, match=r"y_prob must hold probabilities in \[0, 1\]; found nan"):
        ps.fit([0.2, np.nan], [0, 1])
    with pytest.raises(ValueError, match=r"logits\) must be finite|must be finite; found inf"):
        ps.fit([0.2, np.inf], [0, 1], from_logits=True)
    with pytest.raises(ValueError, match="y_true must be 0/1"):
        ps.fit([0.2, 0.4], [0, 2])
    with pytest.raises(ValueError, match="same length"):
        ps.fit([0.2, 0.4], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        ps.fit(np.zeros(0), np.zeros(0, int))
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative; found -1.0"):
        ps.fit([0.2, 0.4], [0, 1], sample_weight=[1, -1])
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        ps.fit([0.2, 0.4], [0, 1], sample_weight=[0, 0])
    with pytest.raises(ValueError, match="y_prob must be 1-D or 2-D"):
        ps.fit(np.zeros((2, 2, 2)), [0, 1])
    with pytest.raises(ValueError, match="row 1 sums to"):
        ps.fit([[0.5, 0.5], [0.5, 0.6]], [0, 1])
    with pytest.raises(TypeError, match="smooth must be True or False"):
        PlattScaling(smooth="yes").fit([0.2, 0.4], [0, 1])
    ps.fit([0.2, 0.4, 0.6, 0.3], [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"fitted on binary \(n,\) input, found 3 classes"):
        ps.predict_proba(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"y_prob must hold probabilities in \[0, 1\]; found -0.5 at index 0"):
        ps.predict_proba([-0.5])
    with pytest.raises(ValueError, match=r"y_prob \(logits\) must be finite; found nan at index 1"):
        ps.predict_proba([0.0, np.nan], from_logits=True)
    mc = PlattScaling().fit(np.array([[0.7, 0.3], [0.4, 0.6], [0.8, 0.2], [0.1, 0.9]]), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="fitted on 2 classes, found 3 classes"):
        mc.predict_proba(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="row 0 sums to"):
        mc.predict_proba(np.array([[0.7, 0.7]]))
