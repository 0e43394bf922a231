"""The streaming accumulators are scale-free in their weights (issue 16, item 3).

``CalibrationAccumulator`` (sums, AUROC histogram, bootstrap replicates),
``AUROCAccumulator`` and ``BootstrapState`` keep their state divided by a
power of two chosen from the first weighted batch (raised exactly when a
batch or a merged state needs more): multiplying every weight by a factor
from 1e-300 to 1e300 changes nothing (bitwise for a power of two, to rounding
otherwise), whatever the batch split, the scale of each batch and the merges;
weight sums come back in the user's units.
"""

import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
from fastcal import AUROCAccumulator, CalibrationAccumulator
from fastcal.uncertainty.bootstrap import BootstrapState


def _data(seed, n):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < p ** 1.3).astype(np.int64)
    P = rng.dirichlet([1.0, 1.0, 1.0], n)
    yc = rng.integers(0, 3, n)
    yc[: n // 10] = -100  # padding rows for ignore_index
    w = rng.uniform(0.25, 4.0, n)
    w[rng.random(n) < 0.1] = 0.0
    w[0] = 1.0
    y[:2], p[:2] = (0, 1), (0.3, 0.7)
    yc[10:13] = (0, 1, 2)
    return dict(p=p, y=y, P=P, yc=yc, w=w)


def _splits(n, cuts):
    edges = sorted({0, n, *(c % n for c in cuts)})
    return list(zip(edges[:-1], edges[1:]))


def _values(r, unit=1.0):
    """Every number of a report; weight sums divided by ``unit``."""
    d = r.to_dict()
    keys = ("accuracy", "confidence", "ece", "mce", "rmsce", "signed_error", "brier", "nll",
            "auroc")
    c = r.reliability
    vals = [d[k] for k in keys] + list(r.auroc_bounds) + list(np.ravel(c.confidence))
    vals += list(np.ravel(c.accuracy))
    vals += [r.weight / unit] + list(np.ravel(c.count) / unit)
    if r.intervals:
        vals += [v for k, iv in sorted(r.intervals.items()) for v in iv]
    return np.array(vals, dtype=np.float64)


# name -> (make accumulator, feed(acc, data, lo, hi, weights) )
def _bin(acc, d, lo, hi, w):
    return acc.update(d["y"][lo:hi], d["p"][lo:hi], sample_weight=w[lo:hi])


def _top(acc, d, lo, hi, w):
    return acc.update(d["yc"][lo:hi], d["P"][lo:hi], sample_weight=w[lo:hi],
                      ignore_index=-100)


KINDS = {
    "binary": (lambda: CalibrationAccumulator(10), _bin),
    "top-label": (lambda: CalibrationAccumulator(8), _top),
    "classwise": (lambda: CalibrationAccumulator(8, classwise=True),
                  lambda a, d, lo, hi, w: a.update(d["yc"][lo:hi].clip(0), d["P"][lo:hi],
                                                   sample_weight=w[lo:hi])),
    "exact_auroc": (lambda: CalibrationAccumulator(10, auroc="exact"), _bin),
    "half_life": (lambda: CalibrationAccumulator(10, half_life=37.0), _top),
    "bootstrap": (lambda: CalibrationAccumulator(6, n_resamples=30, random_state=1), _bin),
}


def _stream(kind, d, w, cuts, scales=None):
    """The report of ``kind`` fed ``d`` in batches; batch j's weights times scales[j]."""
    make, feed = KINDS[kind]
    acc = make()
    for j, (lo, hi) in enumerate(_splits(len(w), cuts)):
        ww = w if scales is None else w * scales[j % len(scales)]
        feed(acc, d, lo, hi, ww)
    return acc


def _report(acc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return acc.compute()


def _auroc_values(acc):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([acc.compute(), *acc.bounds()])


_kinds = st.sampled_from(sorted(KINDS))
_cuts = st.lists(st.integers(0, 10 ** 6), max_size=4)


@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(30, 120), kind=_kinds, cuts=_cuts,
       k=st.integers(-900, 900))
def test_power_of_two_factor_is_bitwise(seed, n, kind, cuts, k):
    d = _data(seed, n)
    w = d["w"]
    base = _report(_stream(kind, d, w, cuts))
    got = _report(_stream(kind, d, w * 2.0 ** k, cuts))
    np.testing.assert_array_equal(_values(got, 2.0 ** k), _values(base))
    if kind == "binary":  # the bounded AUROC of AUROCAccumulator itself
        a = AUROCAccumulator()
        b = AUROCAccumulator()
        for lo, hi in _splits(n, cuts):
            a.update(d["y"][lo:hi], d["p"][lo:hi], sample_weight=w[lo:hi])
            b.update(d["y"][lo:hi], d["p"][lo:hi], sample_weight=w[lo:hi] * 2.0 ** k)
        np.testing.assert_array_equal(_auroc_values(b), _auroc_values(a))


@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(30, 120), kind=_kinds, cuts=_cuts,
       log10=st.floats(-300, 300))
def test_any_factor_changes_only_rounding(seed, n, kind, cuts, log10):
    d = _data(seed, n)
    w = d["w"]
    c = 10.0 ** log10
    base = _values(_report(_stream(kind, d, w, cuts)))
    got = _values(_report(_stream(kind, d, w * c, cuts)), c)
    rtol = 1e-9 if kind == "bootstrap" else 1e-12
    np.testing.assert_allclose(got, base, rtol=rtol, atol=1e-15)


@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(30, 120), kind=_kinds, cuts=_cuts,
       ks=st.lists(st.integers(-120, 120), min_size=1, max_size=4), k=st.integers(-800, 800))
def test_stream_whose_scale_changes_between_batches(seed, n, kind, cuts, ks, k):
    """Batch j's weights are scaled by 2**ks[j]: the stream equals the
    functional report of the same weights, and a common factor is bitwise."""
    d = _data(seed, n)
    w = d["w"]
    scales = [2.0 ** j for j in ks]
    base = _report(_stream(kind, d, w, cuts, scales))
    got = _report(_stream(kind, d, w * 2.0 ** k, cuts, scales))
    np.testing.assert_array_equal(_values(got, 2.0 ** k), _values(base))
    if kind == "binary":
        wall = np.concatenate([w[lo:hi] * scales[j % len(scales)]
                               for j, (lo, hi) in enumerate(_splits(n, cuts))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = fastcal.calibration_report(d["y"], d["p"], n_bins=10, sample_weight=wall)
        np.testing.assert_allclose([base.ece, base.brier, base.nll, base.weight],
                                   [ref.ece, ref.brier, ref.nll, ref.weight], rtol=1e-12)
        np.testing.assert_allclose(base.reliability.count, ref.reliability.count, rtol=1e-12)


@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(30, 120), kind=_kinds,
       ka=st.integers(-400, 400), kb=st.integers(-400, 400), k=st.integers(-500, 500))
def test_merge_of_differently_scaled_accumulators(seed, n, kind, ka, kb, k):
    """Shards whose weights differ in scale by up to 2**800 merge to the state
    of one accumulator fed both (bitwise where one scale is shared), and a
    common factor changes nothing."""
    d = _data(seed, n)
    w = d["w"]
    make, feed = KINDS[kind]
    m = n // 2

    def merged(f):
        ws = w * f
        wa = np.concatenate([ws[:m] * 2.0 ** ka, ws[m:] * 2.0 ** kb])
        a, b = make(), make()
        if kind == "bootstrap":  # shards of one bootstrap need distinct streams
            b = CalibrationAccumulator(6, n_resamples=30, random_state=1, stream=1)
        feed(a, d, 0, m, wa)
        feed(b, d, m, n, wa)
        one = make()
        feed(one, d, 0, m, wa)
        feed(one, d, m, n, wa)
        return a + b, b + a, one

    ab, ba, one = merged(1.0)
    if kind not in ("half_life", "bootstrap"):
        # the same additions in another order: equal up to rounding
        np.testing.assert_allclose(_values(_report(ab)), _values(_report(one)), rtol=1e-12,
                                   atol=1e-15)
    np.testing.assert_allclose(_values(_report(ab)), _values(_report(ba)), rtol=1e-12,
                               atol=1e-15)
    ab2, ba2, _ = merged(2.0 ** k)
    np.testing.assert_array_equal(_values(_report(ab2), 2.0 ** k), _values(_report(ab)))
    np.testing.assert_array_equal(_values(_report(ba2), 2.0 ** k), _values(_report(ba)))
    if kind == "binary":  # AUROCAccumulator shards
        def auc_shards(f):
            wa = np.concatenate([w[:m] * 2.0 ** ka, w[m:] * 2.0 ** kb]) * f
            a = AUROCAccumulator().update(d["y"][:m], d["p"][:m], sample_weight=wa[:m])
            b = AUROCAccumulator().update(d["y"][m:], d["p"][m:], sample_weight=wa[m:])
            return _auroc_values(a + b)
        np.testing.assert_array_equal(auc_shards(2.0 ** k), auc_shards(1.0))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("c", [1e300, 1e-300, 2.0 ** -1000])
def test_saved_states_carry_the_scale(kind, c):
    d = _data(3, 200)
    w = d["w"]
    make, feed = KINDS[kind]
    whole = make()
    feed(whole, d, 0, 100, w * c)
    feed(whole, d, 100, 200, w)  # a later batch of another scale
    for save, load in ((lambda a: json.dumps(a.to_dict()),
                        lambda s: CalibrationAccumulator.from_dict(json.loads(s))),
                       (pickle.dumps, pickle.loads)):
        acc = make()
        feed(acc, d, 0, 100, w * c)
        acc = load(save(acc))
        feed(acc, d, 100, 200, w)
        np.testing.assert_array_equal(_values(_report(acc)), _values(_report(whole)))
        again = load(save(acc))
        np.testing.assert_array_equal(_values(_report(again)), _values(_report(whole)))
    base = make()
    feed(base, d, 0, 100, w)
    feed(base, d, 100, 200, w / c)
    np.testing.assert_allclose(_values(_report(whole), c), _values(_report(base)), rtol=1e-12,
                               atol=1e-15)


def test_weight_sums_overflow_only_when_the_true_sum_does():
    y, p = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8])
    r = CalibrationAccumulator(4).update(y, p, sample_weight=np.full(4, 1e308)).compute()
    assert r.weight == math.inf and math.isclose(r.ece, fastcal.ece(y, p, n_bins=4),
                                                 rel_tol=1e-12)
    r = CalibrationAccumulator(4).update(y, p, sample_weight=np.full(4, 1e307)).compute()
    assert math.isclose(r.weight, 4e307, rel_tol=1e-15)
    assert list(r.reliability.count) == [1e307, 0.0, 0.0, 1e307] or np.allclose(
        r.reliability.count, [2e307, 0, 0, 2e307], rtol=1e-15)
    # unweighted then huge: the counts stay in the user's units
    acc = CalibrationAccumulator(4).update(y, p).update(y, p, sample_weight=np.full(4, 2.0 ** 900))
    assert acc.compute().weight == 4 + 4 * 2.0 ** 900


def test_bootstrap_state_is_scale_free_and_loads_version_1():
    rng = np.random.default_rng(0)
    conf = rng.random(500)
    corr = rng.random(500) < conf
    w = rng.uniform(0.5, 2, 500)
    edges = np.linspace(0, 1, 9)

    def iv(scales):
        b = BootstrapState(edges, n_resamples=50, random_state=0)
        for j, s in enumerate(scales):
            sl = slice(100 * j, 100 * j + 100)
            b.update(conf[sl], corr[sl], sample_weight=w[sl] * s)
        return b

    base = iv([1.0] * 5)
    for scales in ([1e300] * 5, [1e-300] * 5, [2.0 ** 900, 2.0 ** 950, 2.0 ** 1000, 2.0 ** 1000,
                                               2.0 ** 1000]):
        got = iv(scales)
        assert np.isfinite(got.state).all()
        if len(set(scales)) == 1:
            for k in base.intervals(0.9):
                np.testing.assert_allclose(got.intervals(0.9)[k], base.intervals(0.9)[k],
                                           rtol=1e-9)
    # a version-1 pickle (no weight_exp) still loads, as weights as given
    v, st_ = base.__getstate__()
    st1 = {k: v for k, v in st_.items() if k != "weight_exp"}
    old = BootstrapState.__new__(BootstrapState)
    old.__setstate__((1, st1))
    assert old.weight_exp == 0 and old.intervals(0.9) == base.intervals(0.9)


def test_invalid_weight_exp_in_a_state_is_refused():
    y, p = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8])
    acc = CalibrationAccumulator(4).update(y, p, sample_weight=np.full(4, 1e300))
    dct = acc.to_dict()
    assert dct["weight_exp"] != 0 and dct["auroc_state"]["weight_exp"] == dct["weight_exp"]
    for bad in (1.5, True, "3", 10 ** 6):
        with pytest.raises(ValueError, match="weight_exp"):
            CalibrationAccumulator.from_dict(dict(dct, weight_exp=bad))
    with pytest.raises(ValueError, match="auroc_state.weight_exp"):
        CalibrationAccumulator.from_dict(dict(dct, weight_exp=dct["weight_exp"] + 1))
    un = CalibrationAccumulator(4).update(y, p).to_dict()
    with pytest.raises(ValueError, match="weight_exp must be 0 when no batch had weights"):
        CalibrationAccumulator.from_dict(dict(un, weight_exp=5))
    a = AUROCAccumulator().update(y, p, sample_weight=np.full(4, 1e-300)).to_dict()
    with pytest.raises(ValueError, match="weight_exp"):
        AUROCAccumulator.from_dict(dict(a, weight_exp=None))
    e = AUROCAccumulator(exact=True).update(y, p).to_dict()
    with pytest.raises(ValueError, match="weight_exp must be 0 in exact mode"):
        AUROCAccumulator.from_dict(dict(e, weight_exp=3))


@pytest.mark.parametrize("c", [1e300, 1e-300])
def test_auroc_accumulator_saved_state_carries_the_scale(c):
    d = _data(4, 300)
    y, p, w = d["y"], d["p"], d["w"]
    whole = AUROCAccumulator().update(y[:150], p[:150], sample_weight=w[:150] * c)
    whole.update(y[150:], p[150:], sample_weight=w[150:])
    for save, load in ((lambda a: json.dumps(a.to_dict()),
                        lambda s: AUROCAccumulator.from_dict(json.loads(s))),
                       (pickle.dumps, pickle.loads)):
        acc = load(save(AUROCAccumulator().update(y[:150], p[:150], sample_weight=w[:150] * c)))
        assert acc._wexp != 0  # the saved state carried the exponent
        acc.update(y[150:], p[150:], sample_weight=w[150:])
        np.testing.assert_array_equal(_auroc_values(acc), _auroc_values(whole))
        np.testing.assert_array_equal(acc._hist, whole._hist)
    # scaled back: the same as the stream whose second half is divided by c
    ref = AUROCAccumulator().update(y[:150], p[:150], sample_weight=w[:150])
    ref.update(y[150:], p[150:], sample_weight=w[150:] / c)
    np.testing.assert_allclose(_auroc_values(whole), _auroc_values(ref), rtol=1e-12)
