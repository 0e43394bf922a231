"""TemperatureScaling: the fused NLL/gradient/Hessian kernel and the fit."""

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from fastcal.core import pipeline as _core
from fastcal._kernels.calibrators import temperature as KT
from fastcal._kernels.calibrators import temperature_ece as KTE
from fastcal import NotFittedError
from fastcal.calibrators.temperature import (
    ECE_GRID,
    T_MAX,
    T_MIN,
    TemperatureScaling,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


# ---------------------------------------------------------------- references
def ref_nll(z, y, beta, w=None):
    """float64 numpy: weighted mean NLL of softmax(beta z) (sigmoid for 1-D)."""
    z = np.asarray(z, dtype=np.float64)
    w = np.ones(z.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    if z.ndim == 1:
        s = np.where(y == 1, z, -z)
        li = np.logaddexp(0.0, -beta * s)
    else:
        li = -log_softmax(beta * z, axis=1)[np.arange(z.shape[0]), y]
    return float(np.sum(w * li) / np.sum(w))


def ref_derivs(z, y, beta, w=None):
    z = np.asarray(z, dtype=np.float64)
    w = np.ones(z.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    if z.ndim == 1:
        s = np.where(y == 1, z, -z)
        q = 1.0 / (1.0 + np.exp(beta * s))  # sigmoid(-beta s)
        g = -s * q
        h = s * s * q * (1 - q)
    else:
        p = softmax(beta * z, axis=1)
        mu = (p * z).sum(1)
        g = mu - z[np.arange(z.shape[0]), y]
        h = (p * (z - mu[:, None]) ** 2).sum(1)
    W = w.sum()
    return float((w * g).sum() / W), float((w * h).sum() / W)


def kernel(z, y, beta, w=None, parallel=False, stride=1):
    n = z.shape[0]
    C = 1 if z.ndim == 1 else z.shape[1]
    fn = KT.nll_derivs_bin if z.ndim == 1 else KT.nll_derivs_mc
    args = (z, y, w, beta, stride, KT.chunk_rows(n, C, stride), False, False)
    r = _core.threaded(fn, *args, threads=2) if parallel else fn(*args)
    return r[1] / r[0], r[2] / r[0], r[3] / r[0]


def calibrated(rng, n, C, scale=2.0):
    """Logits z and labels drawn from softmax(z) (binary: Bernoulli(sigmoid(z)))."""
    if C == 1:
        z = rng.normal(size=n) * scale
        y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
        return z, y
    z = rng.normal(size=(n, C)) * scale
    p = softmax(z, axis=1)
    y = np.minimum((p.cumsum(1) < rng.random(n)[:, None]).sum(1), C - 1)
    return z, y


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(12345)


# -------------------------------------------------------------------- kernel
@pytest.mark.parametrize("C", [1, 7])
def test_kernel_against_numpy_and_finite_differences(rng, C):
    z, y = calibrated(rng, 3000, C, 3.0)
    w = rng.random(3000) * 2
    for beta in (0.05, 0.7, 1.0, 3.3):
        f, g, h = kernel(z, y, beta, w)
        assert f == pytest.approx(ref_nll(z, y, beta, w), rel=1e-12)
        g_ref, h_ref = ref_derivs(z, y, beta, w)
        assert g == pytest.approx(g_ref, rel=1e-10, abs=1e-13)
        assert h == pytest.approx(h_ref, rel=1e-10, abs=1e-13)
        eps = 1e-5 * beta
        fp, gp, _ = kernel(z, y, beta + eps, w)
        fm, gm, _ = kernel(z, y, beta - eps, w)
        assert g == pytest.approx((fp - fm) / (2 * eps), rel=1e-6, abs=1e-9)
        assert h == pytest.approx((gp - gm) / (2 * eps), rel=1e-6, abs=1e-9)


def test_kernel_extreme_logits_stable(rng):
    z = np.array([[1e4, -1e4, 0.0], [-800.0, 800.0, 799.0], [3.0, 3.0, 3.0]])
    y = np.array([1, 2, 0])
    for beta in (1e-3, 1.0, 1e3):
        f, g, h = kernel(z, y, beta)
        assert np.isfinite([f, g, h]).all()
        assert f == pytest.approx(ref_nll(z, y, beta), rel=1e-12)


def test_serial_equals_parallel_bitwise(rng):
    z, y = calibrated(rng, 100_000, 5)
    z = z.astype(np.float32)
    a = kernel(z, y, 0.8)
    b = kernel(z, y, 0.8, parallel=True)
    assert a == b
    # the ECE objective's kernel too
    R, edges = KT.chunk_rows(z.shape[0], 5, 1), np.linspace(0, 1, 16)
    b = _core.threaded(KTE.ece_bins, z, y, None, 0.8, R, edges, threads=2)
    assert KTE.ece_at(z, y, None, 0.8, R, edges) == KTE.ece_of_bins(b)


# ----------------------------------------------------------------------- fit
@pytest.mark.parametrize("C", [1, 10])
def test_fit_not_worse_than_bounded_scalar_minimiser(rng, C):
    z, y = calibrated(rng, 5000, C, 2.0)
    z = z * 1.7 + 0.3 * rng.normal(size=z.shape)
    ts = TemperatureScaling().fit(z, y)
    assert ts.converged_ and ts.at_bound_ is None
    res = minimize_scalar(lambda T: ref_nll(z, y, 1.0 / T), bounds=(T_MIN, T_MAX),
                          method="bounded", options={"xatol": 1e-10})
    ours = ref_nll(z, y, 1.0 / ts.temperature_)
    assert ours <= res.fun * (1 + 1e-10)
    assert ts.temperature_ == pytest.approx(res.x, rel=1e-4)
    assert ts.nll_after_ == pytest.approx(ours, rel=1e-12)
    assert ts.nll_before_ == pytest.approx(ref_nll(z, y, 1.0), rel=1e-12)
    assert ts.nll_after_ <= ts.nll_before_


@pytest.mark.parametrize("C", [1, 10])
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_recovers_temperature_of_calibrated_model(rng, C, scale):
    # Labels are drawn from softmax(z): the population optimum is T = 1, so
    # the fit on z * scale targets T = scale.  The fitted beta has standard
    # error ~ 1 / sqrt(n * I) with I = f''(beta) (Fisher information per
    # sample); we allow 5 standard errors.
    n = 200_000
    z, y = calibrated(rng, n, C, 2.0)
    ts = TemperatureScaling().fit(z * scale, y)
    _, h = ref_derivs(z, y, 1.0)
    tol = 5.0 / math.sqrt(n * h)
    assert ts.converged_
    assert abs(1.0 / ts.temperature_ * scale - 1.0) < tol, (ts.temperature_, tol)


def test_large_input_subsampled_start_still_exact(rng):
    # n * C above the subsample threshold: the result is the full-data optimum
    z, y = calibrated(rng, 150_000, 10, 2.0)
    z = (z * 1.8).astype(np.float32)
    ts = TemperatureScaling().fit(z, y)
    _f, g, h = kernel(z, y, 1.0 / ts.temperature_)
    assert abs(g / h) <= 1e-9 / ts.temperature_


def test_weights_equal_repetition(rng):
    z, y = calibrated(rng, 2000, 4, 2.0)
    z = z * 1.5
    k = rng.integers(0, 4, 2000)
    a = TemperatureScaling().fit(z, y, sample_weight=k)
    b = TemperatureScaling().fit(np.repeat(z, k, axis=0), np.repeat(y, k))
    assert a.temperature_ == pytest.approx(b.temperature_, rel=1e-9)
    assert a.nll_after_ == pytest.approx(b.nll_after_, rel=1e-9)


def test_float32_matches_float64(rng):
    z, y = calibrated(rng, 20_000, 10, 2.0)
    z32 = (z * 0.6).astype(np.float32)
    a = TemperatureScaling().fit(z32, y)
    b = TemperatureScaling().fit(z32.astype(np.float64), y)
    assert a.temperature_ == b.temperature_  # same values, computed in float64


def test_predict_proba(rng):
    z, y = calibrated(rng, 500, 5, 2.0)
    ts = TemperatureScaling().fit(z * 2, y)
    p = ts.predict_proba(z * 2)
    np.testing.assert_allclose(p, softmax(z * 2 / ts.temperature_, axis=1), rtol=1e-12, atol=1e-300)
    assert p.dtype == np.float64 and p.shape == (500, 5)
    zb, yb = calibrated(rng, 500, 1, 2.0)
    tb = TemperatureScaling().fit(zb, yb)
    pb = tb.predict_proba(zb.astype(np.float32))
    assert pb.shape == (500,)
    np.testing.assert_allclose(pb, 1 / (1 + np.exp(-zb.astype(np.float32).astype(np.float64) / tb.temperature_)), rtol=1e-12)


def test_from_probs_is_explicit_log(rng):
    z, y = calibrated(rng, 1000, 4, 2.0)
    p = softmax(z * 1.5, axis=1)
    a = TemperatureScaling().fit(p, y, from_probs=True)
    b = TemperatureScaling().fit(np.log(p), y)
    assert a.temperature_ == b.temperature_
    np.testing.assert_allclose(a.predict_proba(p, from_probs=True), b.predict_proba(np.log(p)))


def test_degenerate_inputs():
    # separable: every prediction right with a margin -> T capped at T_MIN
    ts = TemperatureScaling().fit(np.array([[5.0, 0.0], [0.0, 5.0]]), [0, 1])
    assert ts.temperature_ == T_MIN and ts.at_bound_ == "T_MIN" and ts.converged_
    ts = TemperatureScaling().fit(np.array([3.0, -2.0, 1.0]), [1, 0, 1])
    assert ts.temperature_ == T_MIN and ts.at_bound_ == "T_MIN"
    # every prediction wrong -> the flattest model, T capped at T_MAX
    ts = TemperatureScaling().fit(np.array([[5.0, 0.0], [0.0, 5.0]]), [1, 0])
    assert ts.temperature_ == T_MAX and ts.at_bound_ == "T_MAX"
    # constant logits: gradient 0 everywhere, T stays 1
    ts = TemperatureScaling().fit(np.zeros((6, 3)), [0, 1, 2, 0, 1, 2])
    assert ts.temperature_ == 1.0 and ts.converged_ and ts.nll_after_ == pytest.approx(math.log(3))
    # one sample
    ts = TemperatureScaling().fit(np.array([[1.0, 2.0]]), [0])
    assert ts.at_bound_ == "T_MAX"


# ------------------------------------------------------------ ECE objective
def ref_ece(z, y, T, n_bins=15, w=None):
    """fastcal.ece of the materialised probabilities (top-label / class 1)."""
    import fastcal

    z = np.asarray(z, dtype=np.float64)
    p = 1 / (1 + np.exp(-z / T)) if z.ndim == 1 else softmax(z / T, axis=1)
    return fastcal.ece(y, p, n_bins=n_bins, sample_weight=w)


@pytest.mark.parametrize("C", [1, 10])
def test_ece_objective_no_worse_than_dense_grid(rng, C):
    n = 4000
    for k in range(3):
        z, y = calibrated(rng, n, C, 2.0)
        z = z * (0.6 + 1.1 * k)
        w = rng.random(n) * 2 if k == 1 else None
        ts = TemperatureScaling(objective="ece", n_bins=12).fit(z, y, sample_weight=w)
        assert ts.converged_ and ts.n_iter_ >= ECE_GRID
        # the objective is the ECE of the calibrated probabilities
        assert ts.ece_after_ == pytest.approx(ref_ece(z, y, ts.temperature_, 12, w), abs=1e-12)
        assert ts.ece_before_ == pytest.approx(ref_ece(z, y, 1.0, 12, w), abs=1e-12)
        assert ts.ece_after_ <= ts.ece_before_
        assert ts.nll_after_ == pytest.approx(ref_nll(z, y, 1 / ts.temperature_, w), rel=1e-10)
        # a dense grid over the whole range: the ECE jumps by up to 2 w_i / W
        # whenever a confidence crosses a bin edge; the local search must be
        # no worse than the grid's best up to one such jump
        Ts = np.exp(np.linspace(np.log(T_MIN), np.log(T_MAX), 1201))
        dense = min(KTE.ece_at(z, y, w, 1 / T, KT.chunk_rows(n, C, 1), np.linspace(0, 1, 13)) for T in Ts)
        assert ts.ece_after_ <= dense + 2.0 / n


def test_ece_objective_degenerate_and_serialised(rng):
    # every prediction right: the ECE reaches 0 once the confidences round
    # to 1; among equal ECEs the search keeps the temperature closest to 1
    ts = TemperatureScaling(objective="ece").fit(np.array([[4.0, 0.0], [0.0, 3.0]]), [0, 1])
    assert ts.ece_after_ == 0.0 and 0.01 < ts.temperature_ < 0.2 and ts.at_bound_ is None
    # every prediction wrong: the flattest model, T at its upper bound
    ts = TemperatureScaling(objective="ece").fit(np.array([[4.0, 0.0], [0.0, 3.0]]), [1, 0])
    assert ts.at_bound_ == "T_MAX" and ts.temperature_ == pytest.approx(T_MAX)
    z, y = calibrated(rng, 500, 3, 2.0)
    ts = TemperatureScaling(objective="ece", n_bins=10).fit(z * 2, y)
    again = TemperatureScaling.from_dict(json.loads(json.dumps(ts.to_dict())))
    assert (again.objective, again.n_bins, again.ece_after_) == ("ece", 10, ts.ece_after_)
    assert pickle.loads(pickle.dumps(ts)).temperature_ == ts.temperature_
    assert "objective='ece'" in repr(ts)
    # version-1 dicts (no parameters) still load
    d = TemperatureScaling().fit(z, y).to_dict()
    d["version"] = 1
    del d["params"], d["fitted"]["ece_before"], d["fitted"]["ece_after"]
    old = TemperatureScaling.from_dict(d)
    assert old.objective == "nll" and old.ece_after_ is None
    with pytest.raises(ValueError, match="objective must be one of 'nll', 'ece'; found 'brier'"):
        TemperatureScaling(objective="brier").fit(z, y)
    with pytest.raises(ValueError, match="n_bins must be a positive integer; found 0"):
        TemperatureScaling(objective="ece", n_bins=0).fit(z, y)


# ------------------------------------------------------------- serialisation
def test_pickle_and_dict_round_trip(rng):
    z, y = calibrated(rng, 300, 3, 2.0)
    ts = TemperatureScaling().fit(z, y)
    for other in (pickle.loads(pickle.dumps(ts)),
                  TemperatureScaling.from_dict(json.loads(json.dumps(ts.to_dict())))):
        assert other.temperature_ == ts.temperature_
        assert other.nll_after_ == ts.nll_after_ and other.n_iter_ == ts.n_iter_
        np.testing.assert_array_equal(other.predict_proba(z), ts.predict_proba(z))
    un = TemperatureScaling.from_dict(TemperatureScaling().to_dict())
    with pytest.raises(NotFittedError, match="not fitted"):
        un.predict_proba(z)
    with pytest.raises(ValueError, match="to_dict"):
        TemperatureScaling.from_dict({"temperature": 2.0})


# -------------------------------------------------------------------- errors
def test_errors():
    z = np.array([[1.0, 2.0, 0.0], [0.5, 0.1, 0.2]])
    ts = TemperatureScaling()
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        ts.predict_proba(z)
    with pytest.raises(ValueError, match=r"^logits must be finite or -inf \(a masked class\); found nan in row 1"):
        ts.fit(np.array([[1.0, 2.0, 0.0], [0.5, np.nan, 0.2]]), [0, 1])
    with pytest.raises(ValueError, match=r"^logits must be finite; found inf at index 0"):
        ts.fit(np.array([np.inf, 1.0]), [0, 1])
    with pytest.raises(ValueError, match=r"y_true must hold integer class labels in \[0, 3\).*found 3"):
        ts.fit(z, [0, 3])
    with pytest.raises(ValueError, match="y_true must be 0/1"):
        ts.fit(np.array([0.3, 1.0]), [0, 2])
    with pytest.raises(ValueError, match="y_true and logits must have the same length"):
        ts.fit(z, [0, 1, 2])
    with pytest.raises(ValueError, match="empty"):
        ts.fit(np.zeros((0, 3)), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative; found -1.0"):
        ts.fit(z, [0, 1], sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        ts.fit(z, [0, 1], sample_weight=[0.0, 0.0])
    with pytest.raises(ValueError, match="logits must be 1-D or 2-D"):
        ts.fit(np.zeros((2, 2, 2)), [0, 1])
    with pytest.raises(ValueError, match="probabilities of exactly 0"):
        ts.fit(np.array([[1.0, 0.0], [0.5, 0.5]]), [0, 1], from_probs=True)
    ts.fit(z, [0, 1])
    with pytest.raises(ValueError, match=r"fitted on 3 classes, found 4 classes"):
        ts.predict_proba(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"fitted on 3 classes, found binary"):
        ts.predict_proba(np.zeros(2))
    with pytest.raises(ValueError, match=r"logits must be finite or -inf \(a masked class\); found nan in row 0"):
        ts.predict_proba(np.array([[np.nan, 0.0, 1.0]]))


# ----------------------------------------------------------------- real data
def _cifar_files():
    d = DATA_DIR / "cifar"
    return sorted(d.glob("*.npz")) if d.is_dir() else []


@pytest.mark.skipif(not _cifar_files(), reason=f"no real data under {DATA_DIR / 'cifar'}")
@pytest.mark.parametrize("path", _cifar_files(), ids=lambda p: p.stem)
def test_real_cifar(path):
    d = np.load(path)
    p = d["predictions"]
    y = d["ground_truth"].astype(np.int64)
    # log(p) as logits; softmax outputs of exactly 0 have no finite log: we
    # floor p at the float32 tiny value (1.2e-38), far below any probability
    # a model states, which keeps every row (the floor is documented here).
    z = np.log(np.maximum(p, np.finfo(np.float32).tiny)).astype(np.float32)
    ts = TemperatureScaling().fit(z, y)
    assert ts.converged_ and ts.at_bound_ is None
    assert ts.nll_after_ <= ts.nll_before_
    res = minimize_scalar(lambda T: ref_nll(z, y, 1.0 / T), bounds=(0.05, 20.0),
                          method="bounded", options={"xatol": 1e-10})
    assert ref_nll(z, y, 1.0 / ts.temperature_) <= res.fun * (1 + 1e-10)
