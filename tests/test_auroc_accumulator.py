"""AUROCAccumulator (fastcal/streaming/auroc_accumulator.py) and its histogram kernels
(fastcal/_kernels/streaming/auroc_hist.py).

References: the cell map rebuilt from ``np.frexp`` (exponent and top
mantissa bits, no bit tricks), an O(n^2) pair count over cells for the
estimate and its half-width, and ``fastcal.auroc`` / scikit-learn's
``roc_auc_score`` for the exact AUROC.
"""

import copy
import json
import pickle
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st
from numba import njit

import fastcal
from fastcal.streaming.auroc_accumulator import AUROCAccumulator
from fastcal._kernels.streaming import auroc_hist as KAH
from fastcal.core.errors import UndefinedMetricWarning

DATA = Path(__file__).resolve().parent / "data"
HALF, N = KAH.HALF, KAH.N_CELLS
F16_UNIT = np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16)  # every float16 in [0, 1]


# ---------------------------------------------------------------- references
def ref_tail(x):
    """Index in [0, HALF] of x in [0, 0.5]: binade of x (from frexp) times 4096
    plus the top 12 mantissa bits; x < 2**-24 -> 0."""
    x = np.asarray(x, dtype=np.float64)
    f, e = np.frexp(x)  # x = f 2**e, f in [0.5, 1)
    m = np.floor((2.0 * f - 1.0) * 4096.0).astype(np.int64)
    k = (e.astype(np.int64) - 1 + 24) * 4096 + m + 1
    return np.where(x < 2.0 ** -24, 0, k)


def ref_cell(s):
    s = np.asarray(s, dtype=np.float64)
    up = s > 0.5
    return np.where(up, 2 * HALF - ref_tail(np.where(up, 1.0 - s, s)), ref_tail(s))


def ref_estimate(y, s, w=None, cells=None):
    """(auc, half_width) of the histogram by pair counting over cells."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    w = np.ones(s.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    c = ref_cell(s) if cells is None else cells
    keep = w > 0
    mixed = {k for k in np.unique(c[keep]) if np.unique(s[keep][c[keep] == k]).size > 1}
    cp, cn, wp, wn = c[y], c[~y], w[y], w[~y]
    pw = wp[:, None] * wn[None, :]
    u = np.sum(pw * ((cp[:, None] > cn[None, :]) + 0.5 * (cp[:, None] == cn[None, :])))
    same = cp[:, None] == cn[None, :]
    mix = np.isin(cp, list(mixed))[:, None] & same
    h = 0.5 * np.sum(pw * mix)
    d = wp.sum() * wn.sum()
    return u / d, h / d


def state(acc):
    return pickle.dumps(acc)


def labels_scores(rng, n, decimals=None):
    s = rng.random(n)
    if decimals is not None:
        s = np.round(s, decimals)
    y = (rng.random(n) < s).astype(np.int64)
    return y, s


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20261129)


# ------------------------------------------------------------------ cell map
@njit
def _cells(s):
    out = np.empty(s.shape[0], np.int64)
    for i in range(s.shape[0]):
        out[i] = KAH.cell_of(s[i])
    return out


def test_cell_map_matches_frexp_reference_and_is_monotone(rng):
    special = np.array([0.0, 5e-324, 2.0 ** -30, 2.0 ** -24 * (1 - 2 ** -53), 2.0 ** -24,
                        2.0 ** -23, 0.25, 0.5 - 2 ** -54, 0.5, 0.5 + 2 ** -53, 0.75,
                        1 - 2.0 ** -24, 1 - 2.0 ** -53, 1.0])
    # dense neighbourhoods of cell boundaries and of the special points
    near = np.concatenate([a + np.arange(-300, 300) * np.spacing(a)
                           for a in (2.0 ** -24, 0.25, 0.5, 0.75, 1 - 2.0 ** -24, 0.3)])
    x = np.concatenate([special, near, rng.random(20000), rng.random(20000) ** 30,
                        1 - rng.random(20000) ** 30])
    x = np.sort(x[(x >= 0) & (x <= 1)])
    c = _cells(x)
    np.testing.assert_array_equal(c, ref_cell(x))
    assert np.all(np.diff(c) >= 0)
    assert c[0] == 0 and c[-1] == N - 1 and _cells(np.array([0.5]))[0] == HALF
    # never out of range, whatever the input
    bad = _cells(np.array([np.nan, -1.0, -np.inf, 2.0, np.inf, -0.0]))
    assert bad.tolist() == [HALF, 0, 0, N - 1, N - 1, 0]


def test_cell_count_and_widths():
    assert N == 188419 and N >= 2 ** 16
    # widest cells: 2**-14, next to 0.5 on both sides
    lo = 0.25 + np.arange(4096) * 2.0 ** -14
    assert np.all(np.diff(_cells(lo)) == 1)
    assert _cells(np.array([0.25, 0.25 + 2.0 ** -14 - 2 ** -54]))[1] == _cells(np.array([0.25]))[0]


def test_every_float16_value_in_unit_interval_has_its_own_cell():
    assert F16_UNIT.size == 15361
    c = _cells(F16_UNIT.astype(np.float64))
    assert np.all(np.diff(c) > 0)


@pytest.mark.parametrize("d", [1000, 10000])
def test_every_3_and_4_decimal_value_has_its_own_cell(d):
    c = _cells(np.arange(d + 1) / d)
    assert np.all(np.diff(c) > 0)


# ------------------------------------------------- exactness where promised
def test_float16_scores_give_the_exact_auroc_and_a_zero_width_interval(rng):
    s = rng.choice(F16_UNIT, 40000)  # every value several times: many exact ties
    y = (rng.random(s.size) < s.astype(np.float64)).astype(np.int64)
    acc = AUROCAccumulator().update(y, s)
    exact = fastcal.auroc(y, s.astype(np.float64))
    assert acc.compute() == exact
    assert acc.bounds() == (exact, exact)


def test_3_decimal_scores_give_the_exact_auroc(rng):
    y, s = labels_scores(rng, 50000, decimals=3)
    acc = AUROCAccumulator().update(y, s)
    exact = fastcal.auroc(y, s)
    assert acc.compute() == exact and acc.bounds() == (exact, exact)


def test_continuous_scores_are_close_and_bounded(rng):
    y, s = labels_scores(rng, 100000)  # < 2**17: the serial exact kernel (one compilation)
    acc = AUROCAccumulator().update(y, s)
    exact = fastcal.auroc(y, s)
    lo, hi = acc.bounds()
    assert lo <= exact <= hi and lo <= acc.compute() <= hi
    assert hi - lo < 1e-4
    auc, h = ref_estimate(y[:3000], s[:3000])
    small = AUROCAccumulator().update(y[:3000], s[:3000])
    assert small.compute() == pytest.approx(auc, rel=1e-14)
    assert KAH.hist_auroc(small._hist)[1] == pytest.approx(h, rel=1e-12, abs=1e-16)


# ------------------------------------------------------ hypothesis: bounds
score = st.one_of(
    st.floats(0, 1),
    st.sampled_from([0.0, 0.5, 1.0, 2.0 ** -25, 2.0 ** -24, 1 - 2.0 ** -30, 0.3, 0.3 + 1e-7,
                     0.3 + 2e-7, 0.7, 0.7 + 1e-9]),
    st.integers(0, 1000).map(lambda k: k / 1000),
)
rows = st.lists(st.tuples(st.integers(0, 1), score, st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25])),
                min_size=1, max_size=60)


def unpack(r):
    y = np.array([a for a, _, _ in r], dtype=np.int64)
    s = np.array([b for _, b, _ in r], dtype=np.float64)
    w = np.array([c for _, _, c in r], dtype=np.float64)
    return y, s, w


@given(rows, st.booleans())
def test_estimate_matches_pair_count_and_bounds_contain_the_exact_auroc(r, weighted):
    y, s, w = unpack(r)
    w = w if weighted else None
    acc = AUROCAccumulator().update(y, s, sample_weight=w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        exact = fastcal.auroc(y, s, sample_weight=w)
        est, (lo, hi) = acc.compute(), acc.bounds()
    if np.isnan(exact):
        assert np.isnan(est) and np.isnan(lo) and np.isnan(hi)
        return
    auc, h = ref_estimate(y, s, w)
    assert est == pytest.approx(auc, rel=1e-13, abs=1e-15)
    assert hi - lo == pytest.approx(min(auc + h, 1.0) - max(auc - h, 0.0), abs=1e-13)
    tol = 0.0 if w is None else 1e-13
    assert lo <= est <= hi
    assert lo - tol <= exact <= hi + tol
    if h == 0 and w is None:
        assert est == exact == lo == hi


# ------------------------------------------------- hypothesis: split/merge
def _split(n, cuts):
    cuts = sorted({c % (n + 1) for c in cuts} | {0, n})
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


@given(rows, st.lists(st.integers(0, 60), max_size=5), st.randoms(use_true_random=False),
       st.booleans())
def test_any_split_any_merge_order_gives_the_same_state(r, cuts, rnd, weighted):
    y, s, w = unpack(r)
    if not weighted:
        w = None
    whole = AUROCAccumulator().update(y, s, sample_weight=w)
    parts = [AUROCAccumulator().update(y[a:b], s[a:b], sample_weight=None if w is None else w[a:b])
             for a, b in _split(len(y), cuts)]
    rnd.shuffle(parts)
    # random merge tree
    while len(parts) > 1:
        i = rnd.randrange(len(parts) - 1)
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    merged = parts[0]
    assert merged.n == whole.n == len(y)
    if w is None or np.all(w == np.round(w)):  # integer counts: bitwise the same
        assert state(merged) == state(whole)
    else:
        np.testing.assert_allclose(merged._hist, whole._hist, rtol=1e-14)
        np.testing.assert_array_equal(merged._hist[:, 2], whole._hist[:, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        np.testing.assert_allclose(merged.compute(), whole.compute(), rtol=1e-13)
        # sequential updates, one accumulator
        seq = AUROCAccumulator()
        for a, b in _split(len(y), cuts):
            seq.update(y[a:b], s[a:b], sample_weight=None if w is None else w[a:b])
        np.testing.assert_allclose(seq.compute(), whole.compute(), rtol=1e-13)


@given(rows, st.lists(st.integers(0, 60), max_size=4), st.booleans())
def test_exact_mode_equals_fastcal_and_sklearn_for_any_split(r, cuts, weighted):
    from sklearn.metrics import roc_auc_score

    y, s, w = unpack(r)
    if not weighted:
        w = None
    parts = [AUROCAccumulator(True).update(y[a:b], s[a:b],
                                           sample_weight=None if w is None else w[a:b])
             for a, b in _split(len(y), cuts)]
    acc = sum(parts)
    ok = len(set(y.tolist())) == 2 and (w is None or (w[y == 1].sum() > 0 and w[y == 0].sum() > 0))
    if not ok:
        with pytest.warns(UndefinedMetricWarning):
            assert np.isnan(acc.compute())
        return
    got = acc.compute()
    assert got == fastcal.auroc(y, s, sample_weight=w)
    assert got == pytest.approx(roc_auc_score(y, s, sample_weight=w), rel=1e-12)
    assert acc.bounds() == (got, got)


def test_exact_mode_many_small_updates(rng):
    y, s = labels_scores(rng, 700, decimals=2)
    w = rng.random(700)
    acc = AUROCAccumulator(True)
    for i in range(0, 700, 2):  # more batches than the compaction threshold
        acc.update(y[i:i + 2], s[i:i + 2], sample_weight=None if i % 4 else w[i:i + 2])
    ww = np.where(np.arange(700) % 4 < 2, w, 1.0)
    assert acc.n == 700 and len(acc._scores) < 256
    assert acc.compute() == pytest.approx(fastcal.auroc(y, s, sample_weight=ww), rel=1e-14)


# ----------------------------------------------------------- merge protocol
def test_add_radd_iadd_sum(rng):
    y, s = labels_scores(rng, 1000)
    a = AUROCAccumulator().update(y[:600], s[:600])
    b = AUROCAccumulator().update(y[600:], s[600:])
    before = state(a)
    c = a + b
    assert state(a) == before  # + does not modify its operands
    assert (0 + a) is not a and state(0 + a) == before
    assert state(sum([a, b])) == state(c) == state(AUROCAccumulator().update(y, s))
    a += b
    assert state(a) == state(c)
    d = copy.deepcopy(a)
    d.update(y, s)
    assert state(a) == state(c)  # deep copy is independent
    assert c.copy().update(y, s).n == 2000 and c.n == 1000
    with pytest.raises(TypeError, match="can only merge an AUROCAccumulator with another; found int"):
        a.merge(1)
    with pytest.raises(TypeError):
        a + 1
    with pytest.raises(TypeError):
        1 + a


@pytest.mark.parametrize("kw1, kw2, named", [
    (dict(), dict(exact=True), "exact=False vs True"),
    (dict(), dict(transform="sigmoid"), "transform=None vs 'sigmoid'"),
    (dict(score_range=(0, 10)), dict(score_range=(0, 5)), r"score_range=\(0.0, 10.0\) vs \(0.0, 5.0\)"),
])
def test_merging_different_settings_names_both(kw1, kw2, named):
    a, b = AUROCAccumulator(**kw1), AUROCAccumulator(**kw2)
    with pytest.raises(ValueError, match=r"cannot merge AUROCAccumulator\(exact=.*\) with "
                                         r"AUROCAccumulator\(exact=.*\): the settings differ \("
                                         + named):
        a.merge(b)
    with pytest.raises(ValueError, match="settings differ"):
        a + b


# ------------------------------------------------------------ failed update
BAD = [
    (dict(y_true=[0, 1, 2]), "y_true must be 0/1 .* found 2 at index 2"),
    (dict(y_true=[0.0, 1.0, 0.5]), "y_true must be 0/1 .* found 0.5 at index 2"),
    (dict(y_true=np.array([0, -1, 1], np.int8)), "y_true must be 0/1 .* found -1 at index 1"),
    (dict(y_score=[0.1, 0.2, np.nan]), r"y_score must be finite; found nan at index 2"),
    (dict(y_score=[0.1, 0.2, 1.5]), r"y_score must lie in \[0, 1\] .* found 1.5 at index 2. "
                                    r".*score_range=\(lo, hi\).*transform='sigmoid'"),
    (dict(y_score=[0.1, -0.2, 0.3]), r"found -0.2 at index 1"),
    (dict(sample_weight=[1.0, 1.0, -1.0]), "sample_weight must be finite and non-negative; found -1.0 at index 2"),
    (dict(sample_weight=[1.0, np.inf, 1.0]), "found inf at index 1"),
    (dict(sample_weight=[1.0, 1.0]), "sample_weight must have one entry per sample"),
    (dict(y_true=[0, 1]), "y_true and y_score must have the same length"),
    (dict(y_true=[], y_score=[]), "empty"),
    (dict(y_score=[[0.1, 0.9]] * 3), "y_score must be 1-D"),
    (dict(y_true=["a", "b", "c"]), "y_true must hold integer class labels"),
]


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("bad, match", BAD)
def test_failed_update_raises_and_leaves_the_state_unchanged(exact, bad, match):
    acc = AUROCAccumulator(exact).update([0, 1, 1, 0], [0.2, 0.7, 0.7, 0.9])
    before = state(acc)
    kw = dict(y_true=[0, 1, 0], y_score=[0.1, 0.2, 0.3], sample_weight=None)
    kw.update(bad)
    err = TypeError if "integer class labels" in match else ValueError
    with pytest.raises(err, match=match):
        acc.update(kw["y_true"], kw["y_score"], sample_weight=kw["sample_weight"])
    assert state(acc) == before
    # numpy input (the fast path) too
    try:
        y = np.asarray(kw["y_true"], dtype=np.float64)
        s = np.asarray(kw["y_score"], dtype=np.float64)
    except ValueError:
        return
    w = kw["sample_weight"]
    w = None if w is None else np.asarray(w, dtype=np.float64)
    with pytest.raises((ValueError, TypeError)):
        acc.update(y, s, sample_weight=w)
    assert state(acc) == before


def test_failed_update_at_the_end_of_a_large_batch_leaves_the_state_unchanged(rng):
    y, s = labels_scores(rng, 100000)
    acc = AUROCAccumulator().update(y, s)
    before = state(acc)
    s2 = s.copy()
    s2[-1] = 1.0 + 1e-12
    with pytest.raises(ValueError, match=r"found 1.000000000001 at index 99999"):
        acc.update(y, s2)
    assert state(acc) == before


@pytest.mark.parametrize("kw, s, match", [
    (dict(score_range=(-1, 1)), 1.5, r"y_score must lie in score_range=\(-1.0, 1.0\); found 1.5 "
                                     r"at index 1. Widen score_range, or use transform='sigmoid'"),
    (dict(transform="sigmoid"), np.inf, r"y_score must be finite; found inf at index 1"),
])
def test_scores_outside_the_declared_scale_raise(kw, s, match):
    acc = AUROCAccumulator(**kw)
    with pytest.raises(ValueError, match=match):
        acc.update([0, 1], [0.0, s])
    assert acc.n == 0


@pytest.mark.parametrize("kw, err, match", [
    (dict(exact=1), TypeError, "exact must be True or False; found 1"),
    (dict(transform="logit"), ValueError, "transform must be one of 'sigmoid'; found 'logit'"),
    (dict(score_range=(1, 0)), ValueError, r"score_range must be a pair \(lo, hi\) of finite numbers "
                                           r"with lo < hi; found \(1, 0\)"),
    (dict(score_range=(0, np.inf)), ValueError, "score_range must be a pair"),
    (dict(score_range=3), ValueError, "score_range must be a pair .* found 3"),
    (dict(score_range=(0, 1), transform="sigmoid"), ValueError,
     "pass either score_range or transform, not both"),
])
def test_bad_settings(kw, err, match):
    with pytest.raises(err, match=match):
        AUROCAccumulator(**kw)


# ----------------------------------------------------------- other scales
def test_score_range_and_sigmoid_transform(rng):
    z = rng.normal(size=20000) * 4
    y = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(np.int64)
    exact = fastcal.auroc(y, z)
    for acc in (AUROCAccumulator(transform="sigmoid"), AUROCAccumulator(score_range=(-30, 30))):
        acc.update(y, z)
        lo, hi = acc.bounds()
        assert lo <= exact <= hi and hi - lo < 1e-3
    # an affine range maps 3-decimal scores exactly
    u = np.round(rng.random(5000) * 10, 2)
    yu = (rng.random(u.size) < u / 10).astype(np.int64)
    a = AUROCAccumulator(score_range=(0, 10)).update(yu, u)
    assert a.bounds() == (fastcal.auroc(yu, u),) * 2


def test_unbounded_score_cells_are_exactly_monotone():
    pts = [16.0, -16.0, 2.0 ** 32, -(2.0 ** 32), 0.0, 2.0 ** -12, -(2.0 ** -12)]
    z = np.sort(np.concatenate(
        [np.linspace(-40, 40, 200001), [-1e300, -0.0, 0.0, 5e-324, 1e300, -np.inf, np.inf]]
        + [p + np.arange(-50, 50) * np.spacing(p) for p in pts]))

    @njit
    def cells(z):
        out = np.empty(z.shape[0], np.int64)
        for i in range(z.shape[0]):
            out[i] = KAH.logit_cell(z[i])
        return out

    c = cells(z)
    assert np.all(np.diff(c) >= 0) and c[0] == 0 and c[-1] < N
    # |z| < 16: a grid of 2**-12; beyond: 2**-10 relative
    mid = np.arange(-65535, 65536) / 4096.0  # (-16 itself opens the tail)
    assert np.all(np.diff(cells(mid)) == 1)
    tail = 16.0 * (1 + np.arange(1024) / 1024.0)
    assert np.all(np.diff(cells(tail)) == 1) and np.all(np.diff(cells(-tail[::-1])) == 1)
    assert cells(np.array([np.nan]))[0] in range(N)
    # logits rounded to 3 decimals: exact
    rng = np.random.default_rng(3)
    q = np.round(rng.normal(size=5000) * 5, 3)
    y = (rng.random(q.size) < 1 / (1 + np.exp(-q))).astype(np.int64)
    acc = AUROCAccumulator(transform="sigmoid").update(y, q)
    assert acc.bounds() == (fastcal.auroc(y, q),) * 2


# ------------------------------------------------------------- undefined
@pytest.mark.parametrize("exact", [False, True])
def test_one_class_or_nothing_seen_warns_and_returns_nan(exact):
    for acc in (AUROCAccumulator(exact), AUROCAccumulator(exact).update([1, 1], [0.2, 0.3]),
                AUROCAccumulator(exact).update([1, 0], [0.2, 0.3], sample_weight=[1, 0])):
        with pytest.warns(UndefinedMetricWarning, match="Only one class has been seen"):
            assert np.isnan(acc.compute())
        with pytest.warns(UndefinedMetricWarning):
            lo, hi = acc.bounds()
        assert np.isnan(lo) and np.isnan(hi)


# --------------------------------------------------------- input forms
def test_input_forms_give_the_same_state(rng):
    y, s = labels_scores(rng, 500)
    ref = state(AUROCAccumulator().update(y, s))
    assert state(AUROCAccumulator().update(y.astype(bool), s)) == ref
    assert state(AUROCAccumulator().update(y.tolist(), s.tolist())) == ref
    assert state(AUROCAccumulator().update(y.astype(np.int8), s)) == ref  # viewed as uint8
    assert state(AUROCAccumulator().update(y.astype(np.int32), s)) == ref  # converted labels
    assert state(AUROCAccumulator().update(y, s, sample_weight=np.ones(500))) == ref
    yy = np.repeat(y, 2)[::2]  # non-contiguous
    ss = np.repeat(s, 2)[::2]
    assert state(AUROCAccumulator().update(yy, ss)) == ref
    s32 = s.astype(np.float32)
    assert state(AUROCAccumulator().update(y, s32)) == state(
        AUROCAccumulator().update(y, s32.astype(np.float64)))


def test_weights_equal_repetition(rng):
    y, s = labels_scores(rng, 300, decimals=2)
    k = rng.integers(0, 4, 300)
    a = AUROCAccumulator().update(y, s, sample_weight=k)
    b = AUROCAccumulator().update(np.repeat(y, k), np.repeat(s, k))
    np.testing.assert_array_equal(a._hist, b._hist)  # zero weights leave no trace either


def test_counts_never_overflow_and_stay_exact():
    acc = AUROCAccumulator()
    h = acc._hist
    big = 2.0 ** 52  # per-cell counts way past int32 and beyond 2 * P * N < 2**53
    h[KAH.cell_of(0.2), 0] = big
    h[KAH.cell_of(0.2), 2] = 0.2
    h[KAH.cell_of(0.6), 1] = big + 2
    h[KAH.cell_of(0.6), 0] = 3.0
    h[KAH.cell_of(0.6), 2] = KAH.MIXED
    h[KAH.cell_of(0.9), 1] = 7.0
    h[KAH.cell_of(0.9), 2] = 0.9
    P, Nn = Fraction(int(big) + 9), Fraction(int(big) + 3)
    U = Fraction(int(big) + 2) * (Fraction(int(big)) + Fraction(3, 2)) + 7 * Nn
    H = Fraction(int(big) + 2) * 3 / 2
    assert acc.compute() == pytest.approx(float(U / (P * Nn)), rel=1e-15)
    lo, hi = acc.bounds()
    assert lo <= float((U - H) / (P * Nn)) and float((U + H) / (P * Nn)) <= hi
    assert hi - lo == pytest.approx(float(2 * H / (P * Nn)), rel=1e-9)
    # an update adds 1 exactly to a count of 2**52
    acc.update([0], [0.2])
    assert h[KAH.cell_of(0.2), 0] == big + 1


# ------------------------------------------------------------ the kernel hook
def test_add_hook_equals_update(rng):
    y, s = labels_scores(rng, 2000)
    w = rng.random(2000)

    @njit
    def fill(hist, y, s, w):
        for i in range(s.shape[0]):
            KAH.add(hist, y[i], s[i], w[i])

    hist = KAH.new_hist()
    np.testing.assert_array_equal(hist, AUROCAccumulator()._hist)
    fill(hist, y, s, w)
    acc = AUROCAccumulator()
    acc._hist = hist
    ref = AUROCAccumulator().update(y, s, sample_weight=w)
    np.testing.assert_array_equal(acc._hist, ref._hist)
    auc, hw = KAH.hist_auroc(acc._hist)
    assert auc == ref.compute()
    lo, hi = ref.bounds()
    assert lo <= auc - hw + 1e-15 and auc + hw - 1e-15 <= hi
    # a hook that adds weights only (column 2 left EMPTY) gets a wider but valid interval
    bare = AUROCAccumulator()
    bare._hist[:, :2] = acc._hist[:, :2]
    exact = fastcal.auroc(y, s, sample_weight=w)
    blo, bhi = bare.bounds()
    assert blo <= lo <= exact <= hi <= bhi


# ------------------------------------------------------------ serialisation
@pytest.mark.parametrize("kw", [dict(), dict(exact=True), dict(transform="sigmoid")])
def test_pickle_mid_stream_then_continue(rng, kw):
    y, s = labels_scores(rng, 3000, decimals=3)
    w = rng.random(3000)
    whole = AUROCAccumulator(**kw).update(y, s, sample_weight=w)
    acc = AUROCAccumulator(**kw).update(y[:1000], s[:1000], sample_weight=w[:1000])
    acc = pickle.loads(pickle.dumps(acc))
    acc.update(y[1000:], s[1000:], sample_weight=w[1000:])
    assert acc.compute() == whole.compute() and acc.bounds() == whole.bounds()
    assert acc.n == 3000
    if not kw.get("exact"):
        np.testing.assert_array_equal(acc._hist, whole._hist)
    assert pickle.loads(pickle.dumps(acc)).compute() == whole.compute()
    # the pickled state holds no numba objects and no numpy arrays (plain bytes)
    version, d = acc.__getstate__()
    assert version == AUROCAccumulator._STATE_VERSION == 2
    assert all(isinstance(v, (bool, int, float, str, bytes, tuple, type(None))) for v in d.values())


@pytest.mark.parametrize("kw", [dict(), dict(exact=True), dict(score_range=(-2, 2))])
def test_to_dict_is_json_and_round_trips(rng, kw):
    y, s = labels_scores(rng, 500, decimals=2)
    s = s * 2 - 1 if "score_range" in kw else s
    acc = AUROCAccumulator(**kw).update(y, s)
    acc.update([0, 1], [0.4, 0.400001])  # one cell seeing two different scores
    d = json.loads(json.dumps(acc.to_dict()))
    back = AUROCAccumulator.from_dict(d)
    assert state(back) == state(acc)
    assert back.score_range == acc.score_range and back.exact == acc.exact
    if not kw:
        assert len(d["cells"]["index"]) < 120  # sparse
        assert None in d["cells"]["score"]  # the mixed cell


def test_bad_dicts_and_newer_states():
    with pytest.raises(ValueError, match=r"d must be a dict made by AUROCAccumulator.to_dict\(\) "
                                         r"\(format 'fastcal.AUROCAccumulator'\); found list"):
        AUROCAccumulator.from_dict([])
    d = AUROCAccumulator().to_dict()
    with pytest.raises(ValueError, match="found format 'x'"):
        AUROCAccumulator.from_dict(dict(d, format="x"))
    with pytest.raises(ValueError, match="d has version 3; this fastcal reads up to 2"):
        AUROCAccumulator.from_dict(dict(d, version=3))
    with pytest.raises(ValueError, match="d holds a histogram of 10 cells; this fastcal uses 188419"):
        AUROCAccumulator.from_dict(dict(d, n_cells=10))
    acc = AUROCAccumulator()
    with pytest.raises(ValueError, match=r"saved by a newer fastcal \(state version 3\)"):
        acc.__setstate__((3, {}))


def _v1_data():
    r = np.random.default_rng(7)
    s = np.round(r.random(200), 3)
    s[:20] = 0.4 + r.random(20) * 1e-6  # a few mixed cells
    y = (r.random(200) < s).astype(np.int64)
    w = r.integers(1, 4, 200).astype(np.float64)
    z = r.normal(size=200) * 3
    return y, s, w, z


def _v1_accumulators():
    y, s, w, z = _v1_data()
    return {
        "bounded": AUROCAccumulator().update(y, s, sample_weight=w),
        "exact": AUROCAccumulator(True).update(y[:100], s[:100]).update(y[100:], s[100:]),
        "sigmoid": AUROCAccumulator(transform="sigmoid").update(y, z),
        "range": AUROCAccumulator(score_range=(-10.0, 10.0)).update(y, z),
    }


def test_stored_v1_pickle_still_loads():
    with open(DATA / "auroc_accumulator_v1.pkl", "rb") as f:
        old = pickle.load(f)
    new = _v1_accumulators()
    for k, acc in old.items():
        assert isinstance(acc, AUROCAccumulator)
        assert acc.n == new[k].n
        assert acc.compute() == new[k].compute() and acc.bounds() == new[k].bounds()
        acc.update([0, 1], [0.25, 0.75])  # and it keeps streaming
    y, s, w, _ = _v1_data()
    assert old["exact"].compute() == fastcal.auroc(np.r_[y, 0, 1], np.r_[s, 0.25, 0.75])
    lo, hi = old["bounded"].bounds()
    assert lo < hi  # the mixed cells


if __name__ == "__main__":  # write the stored pickle (once; never overwrite it)
    out = DATA / "auroc_accumulator_v1.pkl"
    if out.exists():
        raise SystemExit(f"{out} exists; old pickles are kept as they are")
    out.parent.mkdir(exist_ok=True)
    with open(out, "wb") as f:
        pickle.dump(_v1_accumulators(), f, protocol=4)
