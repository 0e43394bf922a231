"""The AUROC kernel (fastcal/_kernels/metrics/auroc.py): exact Mann-Whitney U.

Every code path of the kernel is run on the same inputs and checked against
an obvious O(n^2) pair count (exact integer arithmetic when unweighted), a
sort-based count for large n, and scikit-learn's ``roc_auc_score``:

- ``mann_whitney`` / ``mann_whitney_parallel``: the public entry points
  (pair counting below a small n, radix partition above; the parallel one
  runs the serial code below ~1.3e5 elements);
- ``_mann_whitney_radix`` / ``_mann_whitney_par``: the serial and the
  parallel radix paths called directly, so that small hypothesis examples
  exercise them too;
- ``_kernels.uncertainty.delong.mann_whitney_sorted``: one radix sort and a scan of the tie
  blocks, what the public layer uses below ``core.pipeline.SORT_MAX`` scores (it
  compiles in a fraction of the radix partition's time).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fastcal._kernels.metrics import auroc as KAUC
from fastcal._kernels.uncertainty import delong as D


def _mann_whitney_radix(score, label, weight):
    return KAUC._mann_whitney_radix(score, label, weight, None)[:3]


def _mann_whitney_par(score, label, weight):
    return KAUC._mann_whitney_par(score, label, weight, None)[:3]


def _sorted(score, label, weight):
    return D.mann_whitney_sorted(score, label, weight, False)[:3]


ENTRIES = (KAUC.mann_whitney, KAUC.mann_whitney_parallel)
RADIX = (_mann_whitney_radix, _mann_whitney_par)
PATHS = ENTRIES + RADIX + (_sorted,)
NO_WEIGHT = np.empty(0, np.float64)


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def pair_count(score, label, weight=None):
    """O(n^2) pair count: (2U as an exact int, Wpos, Wneg) unweighted,
    (U, Wpos, Wneg) as floats weighted."""
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(label).astype(bool)
    sp, sn = s[y], s[~y]
    gt = sp[:, None] > sn[None, :]
    eq = sp[:, None] == sn[None, :]
    if weight is None:
        return int(2 * gt.sum() + eq.sum()), int(y.sum()), int((~y).sum())
    w = np.asarray(weight, dtype=np.float64)
    wp, wn = w[y], w[~y]
    u = float(np.sum(wp[:, None] * wn[None, :] * (gt + 0.5 * eq)))
    return u, float(wp.sum()), float(wn.sum())


def sorted_count(score, label):
    """Exact 2U by binary search in the sorted negatives (for large n)."""
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(label).astype(bool)
    sn = np.sort(s[~y])
    lo = np.searchsorted(sn, s[y], side="left")
    hi = np.searchsorted(sn, s[y], side="right")
    return int(2 * lo.sum() + (hi - lo).sum())


def run_all(score, label, weight=None, paths=PATHS):
    w = NO_WEIGHT if weight is None else np.asarray(weight, dtype=np.float64)
    score = f8(score)
    return [f(score, label, w) for f in paths]


def f8(score):
    """The scores as the pipeline hands them to these kernels: float32 widened
    to float64 (exactly; ``core.pipeline.mann_whitney``)."""
    return score.astype(np.float64) if score.dtype == np.float32 else score


def check_unweighted(score, label, paths=PATHS):
    """Every path returns exactly the pair count (and the same tuple)."""
    u2, npos, nneg = pair_count(score, label)
    for f, (u, wp, wn) in zip(paths, run_all(score, label, paths=paths)):
        assert (2.0 * u, wp, wn) == (u2, npos, nneg), f.__name__


def check_weighted(score, label, weight, paths=PATHS):
    ur, wpr, wnr = pair_count(score, label, weight)
    res = run_all(score, label, weight, paths)
    for f, (u, wp, wn) in zip(paths, res):
        assert wp == pytest.approx(wpr, rel=1e-12, abs=0), f.__name__
        assert wn == pytest.approx(wnr, rel=1e-12, abs=0), f.__name__
        if wpr > 0 and wnr > 0:
            assert u / (wp * wn) == pytest.approx(ur / (wpr * wnr), rel=0, abs=1e-12), f.__name__
        else:
            assert u == 0.0
    # the serial and the parallel radix paths are bitwise identical
    assert res[paths.index(_mann_whitney_radix)] == res[paths.index(_mann_whitney_par)]


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, -1e-30, 1e-300, -1e-300, 1e300, -1e300,
           5e-324, -5e-324, np.finfo(np.float64).max, -np.finfo(np.float64).max,
           np.nextafter(1.0, 0.0), np.nextafter(0.0, 1.0)]
SPECIAL32 = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, -1e-30, 1e30, -1e30, 1e-45, -1e-45,
             float(np.finfo(np.float32).max), float(np.nextafter(np.float32(1), np.float32(0)))]

f64 = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=False, allow_infinity=False),
                st.floats(0.0, 1.0), st.integers(-3, 3).map(float))
f32 = st.one_of(st.sampled_from(SPECIAL32), st.floats(allow_nan=False, allow_infinity=False, width=32),
                st.floats(0.0, 1.0, width=32), st.integers(-3, 3).map(float))


@st.composite
def small_inputs(draw, max_n=40):
    """Explicit lists: every special value, ties, both dtypes, n = 0, 1, 2..."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n = draw(st.integers(0, max_n))
    pool = draw(st.lists(f64 if dtype == np.float64 else f32, min_size=1, max_size=max(1, n)))
    idx = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n))
    score = np.array([pool[i] for i in idx], dtype=dtype)
    label = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.uint8)
    return score, label


def _values(rng, kind, n, dtype):
    """Structured data the radix partition must handle: ties, clusters, magnitudes."""
    if kind == "uniform":
        x = rng.random(n)
    elif kind == "pool":  # few distinct values: big tie blocks
        x = rng.choice(rng.normal(size=rng.integers(1, 8)) * 10.0 ** rng.integers(-5, 5), n)
    elif kind == "rounded":
        x = np.round(rng.random(n), int(rng.integers(1, 4)))
    elif kind == "near1":  # confidences crowding 1.0, many exactly 1.0
        x = 1.0 - rng.random(n) ** 8 * 10.0 ** -rng.integers(2, 9)
        x[rng.random(n) < 0.3] = 1.0
    elif kind == "magnitudes":  # every binade, both signs, subnormals, zeros of both signs
        x = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-320, 300, n)
        x[rng.random(n) < 0.05] = 0.0
        x[rng.random(n) < 0.05] = -0.0
    elif kind == "outlier":  # one far value squeezes everything into few top-level buckets
        x = rng.random(n)
        x[rng.random(n) < 0.2] = 0.25
        if n:
            x[rng.integers(n)] = -1e300
    elif kind == "clusters":  # tight clusters that need several partition levels
        centers = rng.random(5)
        x = rng.choice(centers, n) + rng.integers(-3, 4, n) * 1e-14
    else:  # "steps": exponentially spaced values
        x = 2.0 ** -rng.integers(0, 1070, n).astype(np.float64)
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    x[~np.isfinite(x)] = 0.0
    return x


KINDS = ["uniform", "pool", "rounded", "near1", "magnitudes", "outlier", "clusters", "steps"]


@st.composite
def structured_inputs(draw, max_n=1500):
    """Seeded numpy data, large enough for several partition levels."""
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(KINDS))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n = draw(st.one_of(st.integers(0, 8), st.integers(9, max_n)))
    p = draw(st.sampled_from([0.0, 0.01, 0.3, 0.5, 0.9, 1.0]))
    rng = np.random.default_rng(seed)
    score = _values(rng, kind, n, dtype)
    label = (rng.random(n) < p).astype(np.uint8)
    wkind = draw(st.sampled_from(["none", "uniform", "zeros", "integers", "spread"]))
    if wkind == "none":
        weight = None
    elif wkind == "uniform":
        weight = rng.random(n)
    elif wkind == "zeros":
        weight = rng.random(n) * (rng.random(n) < 0.5)
    elif wkind == "integers":
        weight = rng.integers(0, 4, n).astype(np.float64)
    else:
        weight = 10.0 ** rng.uniform(-3, 3, n)
    return score, label, weight


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@given(small_inputs())
def test_small_exact(data):
    score, label = data
    check_unweighted(score, label)


@given(small_inputs(), st.data())
def test_small_weighted(data, draw):
    score, label = data
    n = score.shape[0]
    weight = np.array(draw.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25, 1e-3, 7e2]),
                                         min_size=n, max_size=n)), dtype=np.float64)
    check_weighted(score, label, weight)


@given(structured_inputs())
def test_structured(data):
    score, label, weight = data
    if weight is None:
        check_unweighted(score, label)
    else:
        check_weighted(score, label, weight)


@given(structured_inputs(max_n=600))
def test_against_sklearn(data):
    metrics = pytest.importorskip("sklearn.metrics")
    score, label, weight = data
    res = run_all(score, label, weight)
    if weight is None:
        wp, wn = label.sum(), label.size - label.sum()
    else:
        wp, wn = weight[label == 1].sum(), weight[label == 0].sum()
    if not (wp > 0 and wn > 0):
        return
    ref = metrics.roc_auc_score(label, score, sample_weight=weight)
    for f, (u, wpos, wneg) in zip(PATHS, res):
        assert u / (wpos * wneg) == pytest.approx(ref, rel=0, abs=1e-12), f.__name__


@given(structured_inputs(max_n=400), st.integers(0, 2**32 - 1))
def test_permutation_invariant(data, seed):
    score, label, weight = data
    perm = np.random.default_rng(seed).permutation(score.shape[0])
    w = None if weight is None else weight[perm]
    a = run_all(score, label, weight)
    b = run_all(score[perm], label[perm], w)
    if weight is None:
        assert a == b
    else:
        for (u1, p1, n1), (u2, p2, n2) in zip(a, b):
            assert u1 == pytest.approx(u2, rel=1e-12, abs=1e-300)


@given(structured_inputs(max_n=300))
def test_integer_weights_equal_repetition(data):
    score, label, _ = data
    rng = np.random.default_rng(score.shape[0])
    reps = rng.integers(0, 4, score.shape[0])
    weighted = run_all(score, label, reps.astype(np.float64))
    repeated = run_all(np.repeat(score, reps), np.repeat(label, reps))
    # integer weights keep every partial sum an exact integer / half-integer
    for (u1, p1, n1), (u2, p2, n2) in zip(weighted, repeated):
        assert (u1, p1, n1) == (u2, p2, n2)


@given(structured_inputs(max_n=400))
def test_float32_same_as_float64(data):
    """The public AUROC of float32 scores is that of the same values in float64."""
    import fastcal

    score, label, weight = data
    if score.dtype != np.float32 or not label.any() or label.all():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all weight on one class: NaN either way
        got = fastcal.auroc(label, score, sample_weight=weight)
        want = fastcal.auroc(label, score.astype(np.float64), sample_weight=weight)
    assert got == want or (np.isnan(got) and np.isnan(want))


# ---------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_signed_zeros_tie(dtype):
    score = np.array([-0.0, 0.0, -0.0, 0.0], dtype=dtype)
    label = np.array([1, 0, 0, 1], np.uint8)
    for u, wp, wn in run_all(score, label):
        assert (u, wp, wn) == (2.0, 2.0, 2.0)  # every pair is a tie
    big = np.tile(np.array([-0.0, 0.0, 1.0, -1.0], dtype=dtype), 200)
    lab = np.tile(np.array([1, 0, 0, 1], np.uint8), 200)
    check_unweighted(big, lab)


@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_tiny(n, weighted):
    score = np.array([0.3, 0.3][:n])
    for label in ([0, 0], [1, 1], [0, 1], [1, 0]):
        lab = np.array(label[:n], np.uint8)
        w = np.array([2.0, 0.5][:n]) if weighted else None
        for u, wp, wn in run_all(score, lab, w):
            ywp = float(np.sum((lab == 1) * (w if weighted else 1.0)))
            ywn = float(np.sum((lab == 0) * (w if weighted else 1.0)))
            assert (wp, wn) == (ywp, ywn)
            assert u == (0.5 * ywp * ywn if n == 2 else 0.0)


@pytest.mark.parametrize("n", [100, 5000])
def test_single_class(n):
    score = np.random.default_rng(0).random(n)
    w = np.random.default_rng(1).random(n)
    for cls in (0, 1):
        lab = np.full(n, cls, np.uint8)
        for u, wp, wn in run_all(score, lab):
            assert (u, wp, wn) == (0.0, float(n * cls), float(n * (1 - cls)))
        for u, wp, wn in run_all(score, lab, w):
            assert u == 0.0
            assert (wp if cls else wn) == pytest.approx(w.sum(), rel=1e-12)
            assert (wn if cls else wp) == 0.0


def test_all_tied():
    n = 20000
    score = np.full(n, 0.7, np.float32)
    label = (np.arange(n) % 3 == 0).astype(np.uint8)
    for u, wp, wn in run_all(score, label):
        assert u == 0.5 * wp * wn and wp == label.sum()


def test_non_contiguous_and_read_only():
    """Strided input reaches the kernels contiguous (the public layer copies
    it), and read-only input as a writeable alias of the same memory
    (``validation.for_kernels``: no read-only specialisation is compiled), so
    both are checked through ``fastcal.auroc``."""
    import fastcal

    rng = np.random.default_rng(3)
    base = np.round(rng.random(4000), 2)
    lab = (rng.random(4000) < 0.4).astype(np.uint8)
    w = rng.random(4000)
    for dtype in (np.float64, np.float32):
        x = base.astype(dtype)
        strided = x[::2]
        assert not strided.flags.c_contiguous
        assert (fastcal.auroc(lab[::2], strided, sample_weight=w[::2])
                == fastcal.auroc(lab[::2].copy(), np.ascontiguousarray(strided),
                                 sample_weight=w[::2].copy()))
        check_unweighted(np.ascontiguousarray(strided), lab[::2].copy())
        ro = x.copy()
        ro.setflags(write=False)
        lro = lab.copy()
        lro.setflags(write=False)
        assert fastcal.auroc(lro, ro) == fastcal.auroc(lab, x)
    check_weighted(np.ascontiguousarray(base[::2]), lab[::2].copy(), w[::2].copy())


def test_extreme_magnitudes():
    score = np.array([1e-300, -1e-300, 1e300, -1e300, 5e-324, -5e-324, 0.0, -0.0,
                      np.finfo(np.float64).max, -np.finfo(np.float64).max] * 30)
    label = (np.arange(score.size) % 7 < 3).astype(np.uint8)
    check_unweighted(score, label)
    check_weighted(score, label, np.linspace(0.0, 2.0, score.size))


def test_huge_tie_block_is_linear():
    """Large tie blocks and heavy clustering at 1.0 (float32 confidences)."""
    rng = np.random.default_rng(11)
    n = 200_000
    score = (1.0 - rng.random(n) ** 6 * 1e-3).astype(np.float32)
    score[rng.random(n) < 0.6] = 1.0
    label = (rng.random(n) < 0.8).astype(np.uint8)
    u2 = sorted_count(score, label)
    for u, wp, wn in run_all(score, label):
        assert 2.0 * u == u2


# ---------------------------------------------------------------------------
# Large deterministic input: serial vs parallel, sort reference, sklearn
# ---------------------------------------------------------------------------


def _mixed(n, rng):
    parts = [
        rng.random(n // 5),                                     # uniform
        np.round(rng.random(n // 5), 3),                        # 1001 values
        (1.0 - rng.random(n // 5) ** 8 * 1e-4).astype(np.float32).astype(np.float64),
        rng.normal(size=n // 5) * 5.0,                          # logits, both signs
        np.full(n - 4 * (n // 5), 1.0),                         # one big tie block
    ]
    x = np.concatenate(parts)
    x[rng.random(n) < 0.01] = 1e-30
    x[rng.random(n) < 0.01] = -0.0
    return x[rng.permutation(n)]


def test_large_mixed():
    rng = np.random.default_rng(2024)
    n = 300_000
    assert n >= KAUC._PAR_MIN  # the parallel entry point takes the parallel path
    score = _mixed(n, rng)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-np.clip(score, -5, 5)))).astype(np.uint8)
    res = run_all(score, label)
    assert len(set(res)) == 1  # all paths bitwise identical
    u, wp, wn = res[0]
    assert 2.0 * u == sorted_count(score, label)
    assert (wp, wn) == (label.sum(), n - label.sum())

    w = rng.random(n) * (rng.random(n) < 0.9)
    resw = run_all(score, label, w)
    # the radix paths are bitwise identical with weights too; the sorted path
    # sums the weights in another order (checked against sklearn below)
    assert len(set(resw[:-1])) == 1
    metrics = pytest.importorskip("sklearn.metrics")
    ref = metrics.roc_auc_score(label, score)
    refw = metrics.roc_auc_score(label, score, sample_weight=w)
    assert u / (wp * wn) == pytest.approx(ref, rel=0, abs=1e-12)
    for uw, wpw, wnw in resw:
        assert uw / (wpw * wnw) == pytest.approx(refw, rel=0, abs=1e-12)


# ---------------------------------------------------------------------------
# Squared placements (mann_whitney_q: DeLong's structural components)
# ---------------------------------------------------------------------------


def _radix_q(score, label, weight):
    return KAUC._mann_whitney_radix(score, label, weight, True)


def _par_q(score, label, weight):
    return KAUC._mann_whitney_par(score, label, weight, True)


def _sorted_q(score, label, weight):
    return D.mann_whitney_sorted(score, label, weight, True)


QPATHS = (KAUC.mann_whitney_q, KAUC.mann_whitney_q_parallel, _radix_q, _par_q, _sorted_q)


def placement_squares(score, label, weight=None):
    """O(n^2): (sum_pos w a^2, sum_pos w c^2, sum_neg w b^2, sum_neg w d^2) with
    a / c the negative weight below / above each positive, b / d the positive
    weight above / below each negative, ties counting 1/2."""
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(label).astype(bool)
    w = np.ones(s.shape[0]) if weight is None else np.asarray(weight, dtype=np.float64)
    sp, sn, wp, wn = s[y], s[~y], w[y], w[~y]
    below = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    above = (sp[:, None] < sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    a, c = below @ wn, above @ wn
    b, d = wp @ below, wp @ above
    return np.array([wp @ (a * a), wp @ (c * c), wn @ (b * b), wn @ (d * d)])


def check_q(score, label, weight=None):
    w = NO_WEIGHT if weight is None else np.asarray(weight, dtype=np.float64)
    score = f8(score)
    ref = placement_squares(score, label, weight)
    res = [f(score, label, w) for f in QPATHS]
    for f, g, (u, wp, wn, q) in zip(QPATHS, PATHS, res):
        # U is computed by the same operations as without the squares
        assert (u, wp, wn) == g(score, label, w), f.__name__
        if weight is None:
            assert np.array_equal(q, ref), f.__name__  # quarter-integers: exact
        else:
            # a placement and its complement sum to the class weight, summed in
            # another order: the error scale is that of the pair of sums
            scale = np.repeat([ref[0] + ref[1], ref[2] + ref[3]], 2)
            assert np.all(np.abs(q - ref) <= 1e-11 * scale), f.__name__
    # serial and parallel radix paths bitwise identical, squares included
    assert res[2][:3] == res[3][:3] and np.array_equal(res[2][3], res[3][3])


@given(small_inputs())
def test_q_small(data):
    score, label = data
    check_q(score.astype(np.float64), label)


@given(structured_inputs())
def test_q_structured(data):
    score, label, weight = data
    check_q(score.astype(np.float64), label, weight)


def test_q_float32_and_degenerate():
    rng = np.random.default_rng(5)
    score = np.round(rng.random(3000), 2).astype(np.float32)
    label = (rng.random(3000) < 0.4).astype(np.uint8)
    ref = placement_squares(score, label)
    for f in (KAUC.mann_whitney_q, _radix_q):
        assert np.array_equal(f(f8(score), label, NO_WEIGHT)[3], ref)
    # all tied (the early return) and one class only
    for n in (50, 5000):
        tied = np.full(n, 0.25)
        lab = (np.arange(n) % 3 == 0).astype(np.uint8)
        for f in QPATHS:
            assert np.array_equal(f(tied, lab, NO_WEIGHT)[3], placement_squares(tied, lab))
            one = f(rng.random(n), np.ones(n, np.uint8), NO_WEIGHT)
            assert one[0] == 0.0 and np.array_equal(one[3], np.zeros(4))


def test_q_large_serial_equals_parallel():
    rng = np.random.default_rng(7)
    n = 300_000
    score = _mixed(n, rng)
    label = (rng.random(n) < 0.4).astype(np.uint8)
    res = [f(score, label, NO_WEIGHT) for f in QPATHS]
    for r in res[1:]:
        assert r[:3] == res[0][:3] and np.array_equal(r[3], res[0][3])
    # against a sort-based computation of the placements
    y = label.astype(bool)
    sn, sp = np.sort(score[~y]), np.sort(score[y])
    lo = np.searchsorted(sn, score[y], "left")
    hi = np.searchsorted(sn, score[y], "right")
    a = 0.5 * (lo + hi)
    lo2 = np.searchsorted(sp, score[~y], "left")
    hi2 = np.searchsorted(sp, score[~y], "right")
    d = 0.5 * (lo2 + hi2)
    ref = np.array([a @ a, (sn.size - a) @ (sn.size - a), (sp.size - d) @ (sp.size - d), d @ d])
    np.testing.assert_allclose(res[0][3], ref, rtol=1e-13)
    w = rng.random(n)
    resw = [f(score, label, w) for f in QPATHS]
    for r in resw[1:-1]:  # the radix paths, bitwise
        assert r[:3] == resw[0][:3] and np.array_equal(r[3], resw[0][3])
    # the sorted path sums the weights in another order
    np.testing.assert_allclose(resw[-1][:3], resw[0][:3], rtol=1e-12)
    np.testing.assert_allclose(resw[-1][3], resw[0][3], rtol=1e-11)
