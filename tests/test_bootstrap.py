"""Poisson bootstrap: hashed weights against a numpy reference (bitwise),
replicate states against materialised weights, determinism, streaming and
shards, distribution sanity and coverage, report_intervals on core.pipeline.binned."""

import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastcal.core import pipeline as _core
from fastcal.uncertainty.bootstrap import METRICS, BootstrapState, report_intervals, seed_from
from fastcal._kernels.uncertainty import bootstrap as KB
from fastcal._kernels.common import CHUNK

R_SMALL = 64
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------- references
def ref_mix64(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def ref_weights(seed, stream, row_offset, n, R):
    """(n, R) Poisson(1) weights from the same hash, in numpy uint64: hash
    number r // 4 + 1 of the row's generator, its 16-bit part r % 4 (least
    significant first), against the Poisson(1) CDF rounded to 2**-16."""
    g = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        s = ref_mix64(ref_mix64(np.array([seed], np.uint64) + g) ^ np.uint64(stream))
        rows = np.arange(row_offset, row_offset + n, dtype=np.uint64)
        keys = ref_mix64(s + rows * g)
        r = np.arange(R, dtype=np.uint64)
        z = ref_mix64(keys[:, None] + (r[None, :] // np.uint64(4) + np.uint64(1)) * g)
    u = (z >> (np.uint64(16) * (r[None, :] % np.uint64(4)))) & np.uint64(0xFFFF)
    k = np.zeros(u.shape)
    cdf = 0.0
    for j in range(8):
        cdf += math.exp(-1.0) / math.factorial(j)
        k += u >= np.uint64(min(round(cdf * 2.0 ** 16), 2 ** 16 - 1))
    return k


def ref_state(conf, corr, terms, w, edges, right, weights):
    """(3 nb + 2, R) state from materialised weights (kernel layout)."""
    nb = edges.shape[0] - 1
    side = "left" if right else "right"
    b = np.searchsorted(edges[1:-1], conf, side=side)
    ww = weights * (1.0 if w is None else w[:, None])
    R = weights.shape[1]
    s = np.zeros((3 * nb + 2, R))
    for i in range(conf.shape[0]):
        s[b[i] + (nb if corr[i] else 0)] += ww[i]
        s[2 * nb + b[i]] += ww[i] * conf[i]
        if terms is not None:
            s[3 * nb] += ww[i] * terms[i, 0]
            s[3 * nb + 1] += ww[i] * terms[i, 1]
    return s


def ref_gauges(state, nb):
    """(R, 8) gauges from a state, in plain numpy."""
    W0, W1, SC = state[:nb], state[nb:2 * nb], state[2 * nb:3 * nb]
    W = W0 + W1
    tot = W.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.where(W > 0, SC / W - W1 / W, 0.0)
    out = np.column_stack([
        (W * np.abs(gap)).sum(0) / tot,
        np.abs(gap).max(0),
        np.sqrt((W * gap * gap).sum(0) / tot),
        (W * gap).sum(0) / tot,
        state[3 * nb] / tot,
        state[3 * nb + 1] / tot,
        W1.sum(0) / tot,
        SC.sum(0) / tot,
    ])
    out[tot == 0] = np.nan
    return out


def binned(y, p, **kw):
    opts = {"n_bins": 10, "strategy": "uniform", "right": True, "classwise": False, "from_logits": False,
                "sample_weight": None, "scores": True, "want_cc": True, "want_terms": True}
    opts.update(kw)
    return _core.binned(y, p, **opts)


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.int64)
    return y, p


# ---------------------------------------------------------------- weights
def test_weights_equal_numpy_hash_bitwise():
    for seed, stream, off in ((0, 0, 0), (12345, 7, 10 ** 12), (2 ** 64 - 1, 2 ** 63, 5)):
        got = KB.weights_for_rows(np.uint64(seed), np.uint64(stream), off, 50, 33)
        np.testing.assert_array_equal(got, ref_weights(seed, stream, off, 50, 33))


def test_weights_are_poisson_one():
    k = KB.weights_for_rows(np.uint64(3), np.uint64(0), 0, 2000, 500).ravel()
    n = k.size
    assert abs(k.mean() - 1.0) < 5 * math.sqrt(1.0 / n)
    assert abs(k.var() - 1.0) < 5 * math.sqrt(2.0 / n)  # fourth central moment of Poisson(1): 4
    for j in range(5):
        p = math.exp(-1.0) / math.factorial(j)
        assert abs(np.mean(k == j) - p) < 5 * math.sqrt(p * (1 - p) / n)
    # streams, seeds and rows give unrelated weights
    a = KB.weights_for_rows(np.uint64(3), np.uint64(1), 0, 2000, 500).ravel()
    assert abs(np.corrcoef(a, k)[0, 1]) < 5 / math.sqrt(n)


# ---------------------------------------------------------------- states
@st.composite
def rows(draw):
    n = draw(st.integers(1, 40))
    nb = draw(st.integers(1, 6))
    edges = np.linspace(0, 1, nb + 1)
    vals = st.one_of(st.sampled_from([0.0, 1.0] + edges.tolist()),
                     st.floats(0, 1, allow_nan=False))
    conf = np.array(draw(st.lists(vals, min_size=n, max_size=n)))
    corr = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    terms = np.array(draw(st.lists(st.tuples(st.floats(0, 2), st.floats(0, 40)),
                                   min_size=n, max_size=n)))
    # always an array (unit weights included): the unweighted specialisation
    # is compiled and checked by the other tests; fewer compiles here
    w = draw(st.just(np.ones(n)) | st.lists(st.floats(0, 5), min_size=n, max_size=n).map(np.array))
    right = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 64 - 1))
    off = draw(st.integers(0, 2 ** 40))
    return conf, corr, terms, w, edges, right, seed, off


@given(rows())
def test_state_equals_materialised_weights(case):
    conf, corr, terms, w, edges, right, seed, off = case
    # the kernel takes the edges as the binned kernels do: shape (1, n_bins + 1)
    got = KB.replicate_state(conf, corr, terms, w, edges[None], True if right else None,
                             np.uint64(seed), np.uint64(3), off, R_SMALL)
    weights = ref_weights(seed, 3, off, conf.shape[0], R_SMALL)
    exp = ref_state(conf, corr, terms, w, edges, right, weights)
    # one chunk: each replicate's sums take the rows in row order, as the
    # reference's, so bitwise (rows passed two at a time, in the same bin or
    # not, and an odd last row included)
    np.testing.assert_array_equal(got, exp)
    got = KB.replicate_state(conf, corr, None, w, edges[None], True if right else None,
                             np.uint64(seed), np.uint64(3), off, R_SMALL)
    np.testing.assert_array_equal(got, ref_state(conf, corr, None, w, edges, right, weights))
    g = KB.replicate_gauges(got, edges.shape[0] - 1)
    np.testing.assert_allclose(g, ref_gauges(got, edges.shape[0] - 1), rtol=1e-12, atol=1e-15)


def test_serial_parallel_and_batches_bitwise():
    n = 2 * CHUNK + 1234
    rng = np.random.default_rng(0)
    conf = rng.random(n)
    corr = rng.random(n) < conf
    terms = rng.random((n, 2))
    e = np.linspace(0, 1, 11)
    args = (conf, corr, terms, None, e[None], True, np.uint64(9), np.uint64(0), 0, 16)
    s = KB.replicate_state(*args)
    np.testing.assert_array_equal(s, _core.threaded(KB.replicate_state, *args, threads=2))
    # a stream of batches: same weights (same rows), same state up to summation order
    acc = BootstrapState(e, n_resamples=16, random_state=9)
    for lo, hi in ((0, 1000), (1000, 40000), (40000, n)):
        acc.update(conf[lo:hi], corr[lo:hi], terms[lo:hi])
    np.testing.assert_allclose(acc.state, s, rtol=1e-12)


def test_deterministic_given_seed():
    y, p = data(3000)
    b = binned(y, p)
    a = report_intervals(b, n_resamples=100, random_state=42)
    assert a == report_intervals(b, n_resamples=100, random_state=42)
    assert a != report_intervals(b, n_resamples=100, random_state=43)
    assert set(a) == set(METRICS)
    g = np.random.default_rng(5)
    assert report_intervals(b, n_resamples=100, random_state=g) == report_intervals(
        b, n_resamples=100, random_state=np.random.default_rng(5))


def test_shards_merge_and_pickle():
    y, p = data(5000)
    b = binned(y, p)
    e = b.edges[0]
    s0 = BootstrapState(e, n_resamples=32, random_state=1, stream=0).update(b.conf[:2000], b.corr[:2000], b.terms[:2000])
    s1 = BootstrapState(e, n_resamples=32, random_state=1, stream=1).update(b.conf[2000:], b.corr[2000:], b.terms[2000:])
    m = pickle.loads(pickle.dumps(s0)).merge(s1)
    exp = (KB.replicate_state(b.conf[:2000], b.corr[:2000], b.terms[:2000], None, b.edges, True,
                              np.uint64(1), np.uint64(0), 0, 32)
           + KB.replicate_state(b.conf[2000:], b.corr[2000:], b.terms[2000:], None, b.edges, True,
                                np.uint64(1), np.uint64(1), 0, 32))
    np.testing.assert_array_equal(m.state, exp)
    iv = m.intervals(0.9)
    assert set(iv) == set(METRICS)
    # same stream, same rows: the weights would repeat
    s2 = BootstrapState(e, n_resamples=32, random_state=1, stream=1).update(b.conf[:10], b.corr[:10], b.terms[:10])
    with pytest.raises(ValueError, match="overlap rows"):
        m.merge(s2)
    with pytest.raises(ValueError, match="different settings"):
        s0.merge(BootstrapState(e, n_resamples=16, random_state=1))
    with pytest.raises(TypeError, match="only merge a BootstrapState"):
        s0.merge(3)
    with pytest.raises(ValueError, match="terms must be given on every update"):
        BootstrapState(e, n_resamples=4, random_state=0).update(b.conf[:3], b.corr[:3], b.terms[:3]).update(b.conf[3:5], b.corr[3:5])


# ---------------------------------------------------------------- statistics
def test_sd_of_a_mean_matches_binomial():
    n = 4000
    rng = np.random.default_rng(7)
    p = rng.random(n)
    y = (rng.random(n) < 0.3).astype(np.int64)  # accuracy of binary input: mean of y
    b = binned(y, p)
    st_ = BootstrapState(b.edges[0], n_resamples=2000, random_state=11).update(b.conf, b.corr)
    acc = st_.replicates()[:, 6]
    m = y.mean()
    sd = math.sqrt(m * (1 - m) / n)
    # relative Monte Carlo error of an SD from R replicates ~ 1 / sqrt(2 R) = 1.6%
    assert abs(acc.std() / sd - 1) < 0.08
    assert abs(acc.mean() - m) < 4 * sd / math.sqrt(2000) + 1e-4


def test_coverage_of_brier_interval():
    # p ~ U(0, 1), y ~ Bernoulli(p): E[(p - y)^2] = E[p (1 - p)] = 1/6
    hits = 0
    trials = 150
    for t in range(trials):
        y, p = data(400, seed=1000 + t)
        lo, hi = report_intervals(binned(y, p), ci=0.9, n_resamples=300, random_state=t)["brier"]
        hits += lo <= 1 / 6 <= hi
    rate = hits / trials
    assert abs(rate - 0.9) < 4 * math.sqrt(0.09 / trials)


# ---------------------------------------------------------------- wiring
def test_report_intervals_on_core_binned():
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(4), size=3000)
    y = rng.integers(0, 4, size=3000)
    b = binned(y, P, strategy="quantile")
    iv = report_intervals(b, ci=0.95, n_resamples=400, random_state=0)
    total = b.bins[0].sum()
    point = {"ece": None, "brier": b.scores[0] / total, "nll": b.scores[1] / total,
             "accuracy": b.bins[2].sum() / total, "confidence": b.bins[1].sum() / total}
    for k, v in point.items():
        lo, hi = iv[k]
        assert lo <= hi
        if v is not None:
            assert lo <= v <= hi, k
    # without per-row terms: no Brier/NLL interval
    b2 = binned(y, P, want_terms=False)
    assert "brier" not in report_intervals(b2, n_resamples=10, random_state=0)


def test_errors():
    y, p = data(100)
    b = binned(y, p)
    for bad in (0, 1, 1.5, True, -0.1):
        with pytest.raises(ValueError, match="ci must be a confidence level"):
            report_intervals(b, ci=bad)
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="n_resamples must be an integer >= 2"):
            report_intervals(b, n_resamples=bad)
    with pytest.raises(ValueError, match=r"random_state must be an int in \[0, 2\*\*64\)"):
        seed_from(-1)
    with pytest.raises(TypeError, match="random_state must be None"):
        seed_from("a")
    with pytest.raises(TypeError, match="random_state must be None"):
        seed_from(True)
    cw = _core.binned(y[:10] % 2, np.column_stack([1 - p[:10], p[:10]]), n_bins=5,
                      strategy="uniform", right=True, classwise=True, from_logits=False,
                      sample_weight=None, scores=False, want_cc=False)
    with pytest.raises(ValueError, match="needs top-label or binary"):
        report_intervals(cw)
    with pytest.raises(ValueError, match="stream must be an int"):
        BootstrapState(b.edges[0], stream=-1)
    with pytest.raises(ValueError, match="non-decreasing array of at least 2"):
        BootstrapState([0.5])
    s = BootstrapState(b.edges[0], n_resamples=4, random_state=0)
    with pytest.raises(ValueError, match=r"corr must have shape \(3,\)"):
        s.update(b.conf[:3], b.corr[:2])
    with pytest.raises(ValueError, match=r"terms must have shape \(3, 2\)"):
        s.update(b.conf[:3], b.corr[:3], b.terms[:2])
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(3,\)"):
        s.update(b.conf[:3], b.corr[:3], None, np.ones(2))
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        s.update(b.conf[:3], b.corr[:3], None, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="row_offset must be >= 0"):
        s.update(b.conf[:3], b.corr[:3], row_offset=-1)
    s.update(b.conf[:3], b.corr[:3])
    with pytest.raises(ValueError, match="overlap rows"):
        s.update(b.conf[:3], b.corr[:3], row_offset=2)


def test_row_ranges_stay_one_per_stream_and_overlaps_still_raise():
    """A stream of many small batches keeps one coalesced row range (a claim
    is O(log ranges), not a rescan of every batch), in any arrival order of
    shards, and an overlapping claim still raises."""
    e = np.linspace(0, 1, 11)
    rng = np.random.default_rng(3)
    acc = BootstrapState(e, n_resamples=4, random_state=1)
    for _ in range(500):
        c = rng.random(3)
        acc.update(c, c > 0.5, None, None)
    assert acc.ranges == {0: [(0, 1500)]}
    ranges = {}
    for lo in rng.permutation(50) * 10:  # shards of 10 rows, in random order
        BootstrapState._claim(ranges, 7, int(lo), int(lo) + 10)
    assert ranges == {7: [(0, 500)]}
    for lo, hi in ((495, 505), (0, 1), (250, 260), (499, 500)):
        with pytest.raises(ValueError, match="overlap"):
            BootstrapState._claim(ranges, 7, lo, hi)
    BootstrapState._claim(ranges, 7, 600, 610)
    BootstrapState._claim(ranges, 7, 500, 600)
    assert ranges == {7: [(0, 610)]}
