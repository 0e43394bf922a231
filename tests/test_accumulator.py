"""The streaming accumulator (docs/design.md, section 4): any split of the data into
batches, merged in any order, pickled mid-stream or not, gives the functional
report; a failed update changes nothing; incompatible merges say why."""

import copy
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")

import fastcal
from fastcal.streaming import shared as _shared
from fastcal import CalibrationAccumulator

DATA = Path(__file__).resolve().parent / "data"
GAUGES = ("accuracy", "confidence", "ece", "mce", "rmsce", "signed_error", "brier", "nll")


def assert_report_close(r, f, rtol=1e-12, atol=1e-13, auroc="bounded"):
    """``auroc``: "exact" (equal), "bounded" (the certified bounds hold f's exact value)."""
    assert r.n == f.n
    if auroc == "bounded" and not math.isnan(f.auroc):
        lo, hi = r.auroc_bounds
        assert lo <= r.auroc <= hi
        assert lo - 1e-12 <= f.auroc <= hi + 1e-12, (lo, f.auroc, hi)
    for g in GAUGES + (("auroc",) if auroc == "exact" else ()):
        a, b = getattr(r, g), getattr(f, g)
        if math.isnan(b):
            assert math.isnan(a), g
        else:
            assert math.isclose(a, b, rel_tol=rtol, abs_tol=atol), (g, a, b)
    assert math.isclose(r.weight, f.weight, rel_tol=rtol)
    c1, c2 = r.reliability, f.reliability
    np.testing.assert_array_equal(c1.edges, c2.edges)
    assert c1.count.dtype == c2.count.dtype
    if c1.count.dtype == np.int64:
        np.testing.assert_array_equal(c1.count, c2.count)
    else:
        np.testing.assert_allclose(c1.count, c2.count, rtol=rtol)
    np.testing.assert_allclose(c1.confidence, c2.confidence, rtol=rtol, atol=atol)
    np.testing.assert_allclose(c1.accuracy, c2.accuracy, rtol=rtol, atol=atol)


@st.composite
def streams(draw):
    """(y, p, w, from_logits, cut points): binary or multiclass, maybe weighted."""
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    C = draw(st.sampled_from([None, 3]))
    logits = draw(st.booleans())
    if C is None:
        z = rng.normal(0, 2, n)
        p = z if logits else np.round(1 / (1 + np.exp(-z)), draw(st.sampled_from([2, 15])))
        y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    else:
        z = rng.normal(0, 2, (n, C))
        p = z if logits else np.exp(z) / np.exp(z).sum(1, keepdims=True)
        y = rng.integers(0, C, n)
    w = None
    if draw(st.booleans()):
        w = rng.integers(0, 4, n).astype(np.float64)
        w[0] = 1.0
    k = draw(st.integers(0, min(n - 1, 6)))
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, n - 1)), min_size=k, max_size=k))))
    cuts = [c for c in cuts if 0 < c < n]
    return y, p, w, logits, cuts


def batches(y, p, w, cuts):
    b = [0, *cuts, len(y)]
    for lo, hi in zip(b[:-1], b[1:]):
        yield y[lo:hi], p[lo:hi], (None if w is None else w[lo:hi])


@given(streams(), st.integers(0, 2**32 - 1))
def test_any_split_any_merge_order_equals_functional(s, seed):
    y, p, w, logits, cuts = s
    f = fastcal.calibration_report(y, p, from_logits=logits, sample_weight=w)
    # one accumulator fed batch by batch
    acc = CalibrationAccumulator()
    for yb, pb, wb in batches(y, p, w, cuts):
        assert acc.update(yb, pb, from_logits=logits, sample_weight=wb) is acc
    assert_report_close(acc.compute(), f)
    # one accumulator per batch, merged in a random order, pickled on the way
    mode = ("exact", "bounded")[seed % 2]
    parts = [CalibrationAccumulator(auroc=mode).update(yb, pb, from_logits=logits,
                                                       sample_weight=wb)
             for yb, pb, wb in batches(y, p, w, cuts)]
    order = np.random.default_rng(seed).permutation(len(parts))
    parts = [pickle.loads(pickle.dumps(parts[i])) for i in order]
    assert_report_close(sum(parts).compute(), f, auroc=mode)
    total = CalibrationAccumulator(auroc=mode)
    for q in parts:
        total += q
    assert_report_close(total.compute(), f, auroc=mode)


@given(streams())
def test_pickle_mid_stream_then_continue(s):
    y, p, w, logits, cuts = s
    acc = CalibrationAccumulator()
    for i, (yb, pb, wb) in enumerate(batches(y, p, w, cuts)):
        acc.update(yb, pb, from_logits=logits, sample_weight=wb)
        if i % 2 == 0:
            acc = pickle.loads(pickle.dumps(acc))
        else:
            acc = CalibrationAccumulator.from_dict(json.loads(json.dumps(acc.to_dict())))
    f = fastcal.calibration_report(y, p, from_logits=logits, sample_weight=w)
    assert_report_close(acc.compute(), f)


def test_counts_are_exact_and_state_is_bounded():
    rng = np.random.default_rng(1)
    acc = CalibrationAccumulator(n_bins=10)
    p = rng.random(50_000)
    y = (rng.random(50_000) < p).astype(np.int8)
    for _ in range(20):
        acc.update(y, p)
    r = acc.compute()
    assert r.n == 1_000_000
    f = fastcal.reliability_curve(y, p, n_bins=10)
    np.testing.assert_array_equal(r.reliability.count, 20 * f.count)
    assert len(pickle.dumps(acc)) < 1 << 20


def test_copy_deepcopy_and_add_do_not_alias():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.9, 0.6, 0.4])
    a = CalibrationAccumulator(5).update(y, p)
    b = copy.deepcopy(a)
    c = a + b
    assert c.n == 8 and a.n == 4 and b.n == 4
    b.update(y, p)
    assert a.n == 4
    assert (0 + a).compute() == a.compute()
    assert sum([a, b]).n == 12


def test_reset_keeps_settings():
    acc = CalibrationAccumulator(7, right=False).update([0, 1], [0.3, 0.8])
    acc.reset()
    assert acc.n == 0 and acc.layout is None and acc.n_bins == 7 and acc.right is False
    acc.update(np.array([1]), np.array([[0.2, 0.8]]))
    assert acc.layout == "top-label" and acc.n_classes == 2


def test_right_closed_and_left_closed_follow_the_functional_rule():
    y = np.array([1, 0, 1, 1, 0])
    p = np.array([0.0, 0.2, 0.4, 0.6, 1.0])
    for right in (True, False):
        acc = CalibrationAccumulator(5, right=right).update(y, p)
        f = fastcal.calibration_report(y, p, n_bins=5, right=right)
        assert_report_close(acc.compute(), f)


# ---------------------------------------------------------------------------
# failed updates change nothing


@pytest.mark.parametrize("bad", [
    dict(y=[0, 1, 2], p=[0.1, 0.5, 0.9], match="0/1"),
    dict(y=[0, 1, 1], p=[0.1, 1.5, 0.9], match=r"probabilities in \[0, 1\]"),
    dict(y=[0, 1, 1], p=[0.1, np.nan, 0.9], match=r"probabilities in \[0, 1\]"),
    dict(y=[0, 1, 1], p=[0.1, 0.5, 0.9], w=[1, -1, 1], match="sample_weight"),
    dict(y=[0, 1], p=[0.1, 0.5, 0.9], match="same length"),
    dict(y=[0, 1, 1], p=[0.1, 0.5, np.inf], logits=True, match="finite"),
])
@pytest.mark.parametrize("fresh", [True, False])
def test_failed_update_leaves_state_unchanged(bad, fresh):
    acc = CalibrationAccumulator(5)
    if not fresh:
        acc.update(np.array([0, 1, 1]), np.array([0.2, 0.7, 0.9]))
    before = pickle.dumps(acc)
    with pytest.raises(ValueError, match=bad["match"]):
        acc.update(np.asarray(bad["y"]), np.asarray(bad["p"], dtype=np.float64),
                   from_logits=bad.get("logits", False), sample_weight=bad.get("w"))
    assert pickle.dumps(acc) == before


def test_failed_multiclass_update_leaves_state_unchanged():
    acc = CalibrationAccumulator(5).update(np.array([0, 2]),
                                           np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    before = pickle.dumps(acc)
    with pytest.raises(ValueError, match="sum to 1"):
        acc.update(np.array([0, 1]), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.7]]))
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\)"):
        acc.update(np.array([0, 3]), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    with pytest.raises(ValueError, match=r"holds y_prob of shape \(n, 3\); the batch has "
                                         r"y_prob of shape \(n, 4\)"):
        acc.update(np.array([0]), np.array([[0.25] * 4]))
    with pytest.raises(ValueError, match=r"the batch has binary y_prob of shape \(n,\)"):
        acc.update(np.array([0]), np.array([0.25]))
    assert pickle.dumps(acc) == before


# ---------------------------------------------------------------------------
# merging


def test_incompatible_merge_names_both_settings():
    a = CalibrationAccumulator(15)
    b = CalibrationAccumulator(10)
    with pytest.raises(ValueError, match=r"CalibrationAccumulator\(n_bins=15.*"
                                         r"CalibrationAccumulator\(n_bins=10.*n_bins differs"):
        a + b
    c = CalibrationAccumulator(15, right=False)
    with pytest.raises(ValueError, match=r"right=True.*right=False.*right differs"):
        a.merge(c)
    d = CalibrationAccumulator(15).update([0, 1], [0.2, 0.9])
    e = CalibrationAccumulator(15).update([0, 1], [[0.2, 0.8], [0.3, 0.7]])
    with pytest.raises(ValueError, match=r"layout='binary'.*layout='top-label', n_classes=2.*"
                                         r"layout differs"):
        d += e
    with pytest.raises(TypeError, match="cannot merge a CalibrationAccumulator with int"):
        d + 3
    h = CalibrationAccumulator(15, half_life=100)
    with pytest.raises(ValueError, match="half_life differs"):
        a.merge(h)


def test_merge_with_empty_is_identity():
    a = CalibrationAccumulator(5).update([0, 1, 1], [0.2, 0.7, 0.9])
    r = a.compute()
    assert (a + CalibrationAccumulator(5)).compute() == r
    assert (CalibrationAccumulator(5) + a).compute() == r


# ---------------------------------------------------------------------------
# settings and errors


def test_bad_settings():
    with pytest.raises(ValueError, match="n_bins"):
        CalibrationAccumulator(0)
    with pytest.raises(ValueError, match="half_life must be a positive number"):
        CalibrationAccumulator(half_life=0)
    with pytest.raises(ValueError, match="half_life must be a positive number"):
        CalibrationAccumulator(half_life="week")
    with pytest.raises(ValueError, match="the accumulator is empty"):
        CalibrationAccumulator().compute()


def test_state_from_a_newer_version_is_refused():
    d = CalibrationAccumulator().to_dict()
    d["version"] = 99
    with pytest.raises(ValueError, match="newer than this fastcal understands"):
        CalibrationAccumulator.from_dict(d)
    with pytest.raises(ValueError, match="not a fastcal.CalibrationAccumulator state"):
        CalibrationAccumulator.from_dict({"format": "something else"})


def test_mixed_nll_conventions_are_recorded():
    acc = CalibrationAccumulator(5)
    acc.update(np.array([0, 1]), np.array([0.2, 0.9]))
    acc.update(np.array([0, 1]), np.array([-1.0, 2.0]), from_logits=True)
    conv = acc.compute().convention["nll"]
    assert conv.startswith("mixed batches:") and "logits" in conv and "float64" in conv


# ---------------------------------------------------------------------------
# exponential forgetting


@given(streams(), st.sampled_from([0.5, 3.0, 40.0, 1e6]))
def test_decayed_equals_functional_with_age_weights(s, half_life):
    y, p, w, logits, cuts = s
    acc = CalibrationAccumulator(half_life=half_life)
    for yb, pb, wb in batches(y, p, w, cuts):
        acc.update(yb, pb, from_logits=logits, sample_weight=wb)
    n = len(y)
    age = np.arange(n)[::-1].astype(np.float64)
    dw = 0.5 ** (age / half_life) * (1.0 if w is None else w)
    if not dw.sum() > 0:
        return
    f = fastcal.calibration_report(y, p, from_logits=logits, sample_weight=dw)
    assert_report_close(acc.compute(), f, rtol=1e-9, atol=1e-12)


def test_decay_survives_very_long_streams():
    # 1e5 half-lives: the weights are renormalised by exact powers of two
    acc = CalibrationAccumulator(5, half_life=10)
    y = np.array([1, 0] * 50)
    p = np.full(100, 0.75)
    for _ in range(10_000):
        acc.update(y, p)
    r = acc.compute()
    assert math.isfinite(r.weight) and r.n == 1_000_000
    assert math.isclose(r.weight, 1 / (1 - 0.5 ** 0.1), rel_tol=1e-9)
    q = 0.5 ** 0.1  # the newest label is 0, the one before 1, ...
    assert math.isclose(r.accuracy, q / (1 + q), rel_tol=1e-9)
    assert math.isclose(r.ece, 0.75 - q / (1 + q), rel_tol=1e-9)


def test_decay_rescales_the_state_once_per_renormalisation_period(monkeypatch):
    # each 100-row update ages the stream by 10 half-lives; the state (and the
    # AUROC histogram) is rescaled when the clock passes 256 half-lives, and the
    # clock then restarts near 0: about once every 26 updates, not at every one
    from fastcal._kernels.streaming import accumulate as KA

    calls = []
    real = KA.scale_state
    monkeypatch.setattr(KA, "scale_state",
                        lambda hi, lo, f: (calls.append(f), real(hi, lo, f))[1])
    acc = CalibrationAccumulator(5, half_life=10)
    y = np.array([1, 0] * 50)
    p = np.full(100, 0.75)
    for _ in range(1000):
        acc.update(y, p)
    period = _shared._RENORM_HALF_LIVES / 10
    assert 1000 / (period + 1) <= len(calls) <= 1000 / (period - 1)
    r = acc.compute()
    q = 0.5 ** 0.1
    assert math.isclose(r.ece, 0.75 - q / (1 + q), rel_tol=1e-9)


# ---------------------------------------------------------------------------
# sliding window and the gauge recorder


@given(streams(), st.integers(1, 4))
def test_window_equals_functional_on_the_last_batches(s, k):
    y, p, w, logits, cuts = s
    win = fastcal.WindowedAccumulator(k)
    parts = list(batches(y, p, w, cuts))
    for yb, pb, wb in parts:
        win.update(yb, pb, from_logits=logits, sample_weight=wb)
    last = parts[-k:]
    yy = np.concatenate([b[0] for b in last])
    pp = np.concatenate([b[1] for b in last])
    ww = None if w is None else np.concatenate([b[2] for b in last])
    if ww is not None and not ww.sum() > 0:
        return
    f = fastcal.calibration_report(yy, pp, from_logits=logits, sample_weight=ww)
    assert win.n == len(yy)
    assert_report_close(win.compute(), f)


def test_window_errors():
    with pytest.raises(ValueError, match="window must be a positive number of updates"):
        fastcal.WindowedAccumulator(0)
    win = fastcal.WindowedAccumulator(3).update([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="layout differs"):
        win.update([0, 1], [[0.5, 0.5], [0.1, 0.9]])
    assert win.n == 2
    with pytest.raises(ValueError, match="the accumulator is empty"):
        fastcal.WindowedAccumulator(3).compute()


def test_recorder_time_series():
    rng = np.random.default_rng(3)
    acc = CalibrationAccumulator(10)
    rec = fastcal.GaugeRecorder(acc, every=3)
    ref = CalibrationAccumulator(10)
    expected = []
    for i in range(10):
        p = rng.random(100)
        y = (rng.random(100) < p ** (1 + i / 5)).astype(int)  # drifts overconfident
        rec.update(y, p)
        ref.update(y, p)
        if (i + 1) % 3 == 0:
            expected.append(ref.compute().ece)
    assert rec.history["update"] == [3, 6, 9]
    assert rec.history["n_seen"] == [300, 600, 900]
    np.testing.assert_allclose(rec.history["ece"], expected, rtol=1e-12)
    df = rec.to_frame()
    assert list(df.columns[:2]) == ["update", "n_seen"] and len(df) == 3
    win = fastcal.GaugeRecorder(fastcal.WindowedAccumulator(2), gauges=("n", "ece"))
    win.update([0, 1], [0.2, 0.9]).update([1, 1, 1], [0.6, 0.7, 0.8])
    assert win.history["n"] == [2, 5] and win.history["n_seen"] == [2, 5]
    with pytest.raises(ValueError, match="unknown gauge 'ec'"):
        fastcal.GaugeRecorder(acc, gauges=("ec",))
    with pytest.raises(ValueError, match="every must be a positive number"):
        fastcal.GaugeRecorder(acc, every=0)
    with pytest.raises(TypeError, match="accumulator must be a CalibrationAccumulator"):
        fastcal.GaugeRecorder([1, 2])


# ---------------------------------------------------------------------------
# classwise


@given(streams(), st.sampled_from(["uniform", "quantile"]))
def test_classwise_report_matches_calibration_error(s, strategy):
    y, p, w, logits, cuts = s
    if p.ndim == 1:
        return
    r = fastcal.calibration_report(y, p, classwise=True, strategy=strategy, from_logits=logits,
                                   sample_weight=w)
    t = fastcal.calibration_report(y, p, strategy=strategy, from_logits=logits, sample_weight=w)
    for norm, g in (("l1", "ece"), ("max", "mce"), ("l2", "rmsce"), ("signed", "signed_error")):
        e = fastcal.calibration_error(y, p, norm=norm, classwise=True, strategy=strategy,
                                      from_logits=logits, sample_weight=w)
        assert math.isclose(getattr(r, g), e, rel_tol=1e-12, abs_tol=1e-14), g
    for g in ("accuracy", "confidence", "brier", "nll", "auroc", "n", "weight"):
        a, b = getattr(r, g), getattr(t, g)
        assert (math.isnan(a) and math.isnan(b)) or a == b, g
    assert r.reliability.count.shape == (p.shape[1], 15)
    json.dumps(r.to_dict())
    # the accumulator, any split
    acc = CalibrationAccumulator(classwise=True)
    if strategy == "uniform":
        for yb, pb, wb in batches(y, p, w, cuts):
            acc.update(yb, pb, from_logits=logits, sample_weight=wb)
        assert_report_close(acc.compute(), r)
        for k in range(p.shape[1]):
            c = fastcal.reliability_curve((y == k).astype(int),
                                          reference_probs(p, logits)[:, k], sample_weight=w)
            np.testing.assert_allclose(acc.compute().reliability.accuracy[k], c.accuracy,
                                       rtol=1e-12, atol=1e-14)


def reference_probs(p, logits):
    if not logits:
        return p
    e = np.exp(p - p.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_classwise_errors():
    with pytest.raises(ValueError, match="a classwise accumulator needs y_prob of shape"):
        CalibrationAccumulator(classwise=True).update([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="classwise=True needs y_prob of shape"):
        fastcal.calibration_report([0, 1], [0.2, 0.9], classwise=True)
    a = CalibrationAccumulator(classwise=True)
    with pytest.raises(ValueError, match="classwise differs"):
        a + CalibrationAccumulator()


# ---------------------------------------------------------------------------
# AUROC inside the report


def test_bounded_auroc_is_exact_for_rounded_confidences():
    rng = np.random.default_rng(5)
    p = np.round(rng.random(20_000), 3)
    y = (rng.random(20_000) < p).astype(np.int64)
    acc = CalibrationAccumulator()
    for lo in range(0, 20_000, 3_000):
        acc.update(y[lo:lo + 3_000], p[lo:lo + 3_000])
    r = acc.compute()
    f = fastcal.calibration_report(y, p)
    assert r.auroc == f.auroc and r.auroc_bounds == (f.auroc, f.auroc)
    assert "histogram" in r.convention["auroc"]


def test_auroc_modes_and_errors():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.9, 0.6, 0.4])
    r = CalibrationAccumulator(auroc=None).update(y, p).compute()
    assert math.isnan(r.auroc) and "not computed" in r.convention["auroc"]
    assert len(pickle.dumps(CalibrationAccumulator(auroc=None).update(y, p))) < 4096
    e = CalibrationAccumulator(auroc="exact").update(y, p).compute()
    assert e.auroc == 1.0 and e.auroc_bounds == (1.0, 1.0)
    with pytest.raises(ValueError, match="auroc must be one of"):
        CalibrationAccumulator(auroc="approx")
    with pytest.raises(ValueError, match="auroc='exact' keeps every sample and cannot forget"):
        CalibrationAccumulator(auroc="exact", half_life=10)
    with pytest.raises(ValueError, match="auroc differs"):
        CalibrationAccumulator(auroc="exact") + CalibrationAccumulator()
    with pytest.warns(fastcal.UndefinedMetricWarning, match="AUROC is not defined"):
        r = CalibrationAccumulator().update([1, 1], [0.3, 0.8]).compute()
    assert math.isnan(r.auroc)


def test_stored_v1_pickle_still_loads():
    """tests/data/calibration_accumulator_v1.pkl holds a state of the first version (V1_DATA
    in two batches, n_bins=5, bounded AUROC; written by make_v1_pickle below). Later
    versions must keep reading it."""
    with open(DATA / "calibration_accumulator_v1.pkl", "rb") as fh:
        acc = pickle.load(fh)
    y, p = V1_DATA
    f = fastcal.calibration_report(y, p, n_bins=5)
    assert_report_close(acc.compute(), f, auroc="exact")
    acc.update(y, p)  # and it keeps streaming
    assert acc.n == 2 * len(y)


V1_DATA = (np.array([0, 1, 1, 0, 1, 1, 0]), np.array([0.2, 0.9, 0.6, 0.4, 0.7, 0.95, 0.35]))


def make_v1_pickle():  # pragma: no cover - run once by hand to write the stored state
    y, p = V1_DATA
    acc = CalibrationAccumulator(5).update(y[:3], p[:3]).update(y[3:], p[3:])
    with open(DATA / "calibration_accumulator_v1.pkl", "wb") as fh:
        pickle.dump(acc, fh, protocol=4)


def test_large_batches_use_both_cores_and_agree():
    rng = np.random.default_rng(11)
    n = 3 * 70_000
    P = rng.dirichlet(np.ones(4), n).astype(np.float32)
    y = rng.integers(0, 4, n)
    acc = CalibrationAccumulator(auroc="exact", classwise=True)
    for lo in range(0, n, 70_000):  # >= 2 * CHUNK: the parallel kernels
        acc.update(y[lo:lo + 70_000], P[lo:lo + 70_000])
    f = fastcal.calibration_report(y, P, classwise=True)
    assert_report_close(acc.compute(), f, auroc="exact", rtol=1e-11)
    p = rng.random(n)
    yb = (rng.random(n) < p).astype(np.uint8)
    acc = CalibrationAccumulator()
    for lo in range(0, n, 70_000):
        acc.update(yb[lo:lo + 70_000], p[lo:lo + 70_000])
    assert_report_close(acc.compute(), fastcal.calibration_report(yb, p))


# ---------------------------------------------------------------------------
# bootstrap intervals while streaming


def test_streamed_bootstrap_equals_the_report_intervals():
    rng = np.random.default_rng(8)
    p = rng.random(4000)
    y = (rng.random(4000) < p ** 1.2).astype(np.int64)
    f = fastcal.calibration_report(y, p, ci=0.9, n_resamples=300, random_state=5)
    acc = CalibrationAccumulator(n_resamples=300, random_state=5, ci=0.9)
    for lo in range(0, 4000, 1500):
        acc.update(y[lo:lo + 1500], p[lo:lo + 1500])
    r = acc.compute()
    for k, v in r.intervals.items():
        np.testing.assert_allclose(v, f.intervals[k], rtol=1e-9, atol=1e-12, err_msg=k)
    # pickled and JSON round trips keep it
    again = CalibrationAccumulator.from_dict(json.loads(json.dumps(acc.to_dict())))
    assert again.compute().intervals == r.intervals
    assert pickle.loads(pickle.dumps(acc)).compute().intervals == r.intervals
    # shards: same seed, distinct streams
    a = CalibrationAccumulator(n_resamples=50, random_state=1, stream=0).update(y[:2000], p[:2000])
    b = CalibrationAccumulator(n_resamples=50, random_state=1, stream=1).update(y[2000:], p[2000:])
    assert set((a + b).compute().intervals) >= {"ece", "brier", "nll"}
    c = CalibrationAccumulator(n_resamples=50, random_state=1, stream=0).update(y[2000:], p[2000:])
    with pytest.raises(ValueError, match="Give each shard its own stream"):
        a + c
    with pytest.raises(ValueError, match="random_state differs"):
        a + CalibrationAccumulator(n_resamples=50, random_state=2, stream=1)
    with pytest.raises(ValueError, match="cannot be combined with half_life"):
        CalibrationAccumulator(n_resamples=50, half_life=10)


def test_bounded_auroc_estimate_never_leaves_its_bounds():
    # found by hypothesis: decayed (non-integer) weights rounded u / d to 1.0000000000000002
    y = np.array([1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0,
                  0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 1, 0,
                  0, 1, 1, 1, 1, 0, 1])
    p = np.array([0.98, 0.55, 0.93, 0.93, 0.59, 0.37, 0.06, 0.46, 0.97, 0.24, 0.95, 0.72, 0.95,
                  0.05, 0.78, 0.84, 0.02, 0.98, 0.69, 0.61, 0.6, 0.84, 0.93, 0.07, 0.22, 0.08,
                  0.66, 0.88, 0.1, 0.99, 0.04, 0.66, 0.09, 0.1, 0.65, 0.12, 0.81, 0.01, 0.93,
                  0.92, 0.4, 0.18, 0.18, 0.02, 0.02, 0.81, 0.96, 0.4, 0.69, 0.01, 0.79, 0.22,
                  0.01, 0.83, 0.52, 0.76, 0.97, 0.3, 0.74])
    r = CalibrationAccumulator(half_life=0.5).update(y, p).compute()
    lo, hi = r.auroc_bounds
    assert 0.0 <= lo <= r.auroc <= hi <= 1.0
