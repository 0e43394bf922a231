"""HistogramBinning: numpy reference (DESIGN section 3 bins), netcal where the
conventions coincide, top-label input, serialisation, errors."""

import json
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastcal import NotFittedError
from fastcal.calibrators.histogram_binning import HistogramBinning


# ----------------------------------------------------------------- reference
def ref_fit(conf, t, n_bins, strategy="uniform", right=True, w=None):
    """numpy: edges, bin values (empty bins: midpoint), weights."""
    conf = np.asarray(conf, dtype=np.float64)
    w = np.ones(conf.size) if w is None else np.asarray(w, dtype=np.float64)
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        edges = np.quantile(conf, np.linspace(0, 1, n_bins + 1))  # unweighted only
    b = np.searchsorted(edges[1:-1], conf, side="left" if right else "right")
    W = np.bincount(b, weights=w, minlength=n_bins)
    S = np.bincount(b, weights=w * t, minlength=n_bins)
    mid = 0.5 * (edges[:-1] + edges[1:])
    with np.errstate(invalid="ignore"):
        vals = np.where(W > 0, S / np.where(W > 0, W, 1), mid)
    return edges, vals, W


def ref_predict(edges, vals, conf, right=True):
    b = np.searchsorted(edges[1:-1], np.asarray(conf, dtype=np.float64), side="left" if right else "right")
    return vals[b]


def grid_probs(n_bins):
    """Values on and near every uniform edge, 0 and 1."""
    e = np.linspace(0, 1, n_bins + 1)
    return np.unique(np.clip(np.concatenate([e, np.nextafter(e, 2), np.nextafter(e, -1)]), 0, 1))


@st.composite
def data(draw):
    n_bins = draw(st.integers(1, 12))
    n = draw(st.integers(1, 40))
    pool = st.one_of(st.floats(0.0, 1.0), st.sampled_from(grid_probs(n_bins).tolist()))
    p = np.array(draw(st.lists(pool, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)
    w = None
    if draw(st.booleans()):
        w = np.array(draw(st.lists(st.floats(0.5, 4.0), min_size=n, max_size=n)))
    return n_bins, p, y, w, draw(st.booleans()), draw(st.sampled_from(["uniform", "quantile"]))


# ---------------------------------------------------------------- equality
@given(data())
def test_equals_numpy_reference(d):
    n_bins, p, y, w, right, strategy = d
    if strategy == "quantile":
        w = None  # the reference computes unweighted quantiles
    hb = HistogramBinning(n_bins=n_bins, strategy=strategy, right=right).fit(p, y, sample_weight=w)
    edges, vals, W = ref_fit(p, y, n_bins, strategy, right, w)
    np.testing.assert_array_equal(hb.bin_edges_, edges)
    np.testing.assert_allclose(hb.bin_values_, vals, rtol=1e-12)
    np.testing.assert_allclose(hb.bin_weights_, W, rtol=1e-12)
    q = np.concatenate([p, grid_probs(n_bins)])
    np.testing.assert_allclose(hb.predict_proba(q), ref_predict(edges, vals, q, right), rtol=1e-12)


def test_weights_equal_repetition_and_quantile_weights():
    rng = np.random.default_rng(1)
    p = rng.beta(2, 1, 400)
    y = (rng.random(400) < p ** 2).astype(np.int64)
    k = rng.integers(0, 4, 400)
    for strategy in ("uniform", "quantile"):
        a = HistogramBinning(n_bins=7, strategy=strategy).fit(p, y, sample_weight=k)
        b = HistogramBinning(n_bins=7, strategy=strategy).fit(np.repeat(p, k), np.repeat(y, k))
        np.testing.assert_array_equal(a.bin_edges_, b.bin_edges_)
        np.testing.assert_allclose(a.bin_values_, b.bin_values_, rtol=1e-12)


def test_equals_netcal_binary_uniform():
    netcal = pytest.importorskip("netcal.binning")
    rng = np.random.default_rng(2)
    p = rng.beta(2.5, 1.2, 20_000)
    y = (rng.random(p.size) < p ** 1.3).astype(np.int64)
    p[:50] = rng.uniform(0.0, 0.1, 50)  # no empty bins ...
    for n_bins in (10, 40):  # ... and with 40 bins some may be
        # netcal fits with left-closed bins and predicts with right-closed
        # ones; with no value on an edge (continuous data) both agree with
        # either convention; netcal fills empty bins with their midpoint
        ours = HistogramBinning(n_bins=n_bins, right=False).fit(p, y)
        theirs = netcal.HistogramBinning(bins=n_bins).fit(p, y)
        q = rng.random(5000)
        np.testing.assert_allclose(ours.predict_proba(q), theirs.transform(q), rtol=1e-12, atol=1e-15)


def test_toplabel_and_logits():
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.full(5, 0.3), size=2000)
    y = rng.integers(0, 5, 2000)
    hb = HistogramBinning(n_bins=8).fit(P, y)
    assert not hb.binary_ and hb.n_classes_ == 5
    conf, corr = P.max(1), (P.argmax(1) == y).astype(np.int64)
    ref = HistogramBinning(n_bins=8).fit(conf, corr)
    np.testing.assert_array_equal(hb.bin_values_, ref.bin_values_)
    np.testing.assert_array_equal(hb.predict_proba(P), ref.predict_proba(conf))
    # logits: the top softmax probability (as fastcal's metrics compute it)
    import fastcal

    Z = np.log(P)
    hl = HistogramBinning(n_bins=8).fit(Z, y, from_logits=True)
    curve = fastcal.reliability_curve(y, Z, n_bins=8, from_logits=True)
    acc = np.asarray(curve.accuracy, dtype=np.float64)
    np.testing.assert_allclose(hl.bin_values_[~np.isnan(acc)], acc[~np.isnan(acc)], rtol=1e-12)
    np.testing.assert_allclose(hl.predict_proba(Z, from_logits=True), hb.predict_proba(P), atol=1e-12)
    # binary logits: sigmoid(z)
    z = rng.normal(size=500) * 2
    yb = (rng.random(500) < 1 / (1 + np.exp(-z))).astype(np.int64)
    a = HistogramBinning(n_bins=6).fit(z, yb, from_logits=True)
    b = HistogramBinning(n_bins=6).fit(1 / (1 + np.exp(-z)), yb)
    np.testing.assert_allclose(a.bin_values_, b.bin_values_, rtol=1e-12)


def test_empty_bins_and_one_sample():
    hb = HistogramBinning(n_bins=4).fit([0.9], [0])
    np.testing.assert_array_equal(hb.bin_values_, [0.125, 0.375, 0.625, 0.0])
    np.testing.assert_array_equal(hb.bin_weights_, [0, 0, 0, 1])
    hb = HistogramBinning(n_bins=4, strategy="quantile").fit([0.3, 0.3, 0.3, 0.8], [1, 0, 1, 1])
    # duplicate quantile edges give empty zero-width bins no value reaches
    assert hb.predict_proba([0.3]).tolist() == [2 / 3]
    assert hb.predict_proba([0.0, 1.0]).tolist() == [2 / 3, 1.0]


# ------------------------------------------------------------- serialisation
def test_pickle_and_dict_round_trip():
    rng = np.random.default_rng(4)
    p = rng.random(300)
    y = (rng.random(300) < p).astype(int)
    for strategy in ("uniform", "quantile"):
        hb = HistogramBinning(n_bins=9, strategy=strategy, right=False).fit(p, y)
        for other in (pickle.loads(pickle.dumps(hb)),
                      HistogramBinning.from_dict(json.loads(json.dumps(hb.to_dict())))):
            np.testing.assert_array_equal(other.bin_edges_, hb.bin_edges_)
            np.testing.assert_array_equal(other.predict_proba(p), hb.predict_proba(p))
    un = HistogramBinning.from_dict(json.loads(json.dumps(HistogramBinning().to_dict())))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        un.predict_proba(p)
    with pytest.raises(ValueError, match="HistogramBinning.to_dict"):
        HistogramBinning.from_dict({"bins": []})
    d = hb.to_dict()
    d["fitted"]["bin_values"] = d["fitted"]["bin_values"][:-1]
    with pytest.raises(ValueError, match="9 finite bin_values"):
        HistogramBinning.from_dict(d)


# -------------------------------------------------------------------- errors
def test_errors():
    hb = HistogramBinning()
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        hb.predict_proba([0.5])
    with pytest.raises(ValueError, match=r"y_prob must hold probabilities in \[0, 1\]; found 1.5 at index 1"):
        hb.fit([0.2, 1.5], [0, 1])
    with pytest.raises(ValueError, match="y_true must be 0/1"):
        hb.fit([0.2, 0.4], [0, 2])
    with pytest.raises(ValueError, match="same length"):
        hb.fit([0.2, 0.4], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        hb.fit(np.zeros(0), np.zeros(0, int))
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        hb.fit([0.2, 0.4], [0, 1], sample_weight=[0, 0])
    with pytest.raises(ValueError, match="n_bins must be a positive integer; found 0"):
        HistogramBinning(n_bins=0).fit([0.2], [1])
    with pytest.raises(ValueError, match="strategy must be one of"):
        HistogramBinning(strategy="equal").fit([0.2], [1])
    with pytest.raises(TypeError, match="right must be True or False"):
        HistogramBinning(right=1).fit([0.2], [1])
    hb.fit([0.2, 0.4, 0.6], [0, 1, 1])
    with pytest.raises(ValueError, match=r"fitted on binary \(n,\) input, found 3 classes"):
        hb.predict_proba(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"y_prob must hold probabilities in \[0, 1\]; found nan at index 0"):
        hb.predict_proba([np.nan])
    with pytest.raises(ValueError, match=r"y_prob \(logits\) must be finite; found inf at index 0"):
        hb.predict_proba([np.inf], from_logits=True)
    mc = HistogramBinning().fit(np.array([[0.7, 0.3], [0.4, 0.6]]), [0, 0])
    with pytest.raises(ValueError, match="fitted on 2 classes, found binary"):
        mc.predict_proba([0.5])
    with pytest.raises(ValueError, match=r"y_true must hold integer class labels in \[0, 2\)"):
        HistogramBinning().fit(np.array([[0.7, 0.3], [0.4, 0.6]]), [0, 2])
