"""Every serial kernel driver and its parallel twin return bitwise the same result.

Each pair ``X`` / ``X_parallel`` of ``fastcal._kernels`` is called directly on the
same inputs, with the switch combinations the public layer passes (weights or
None, logits on/off, scores and per-row outputs on/off, float32/float64,
16-bit tables), on sizes that give one chunk, exactly k chunks and a ragged
last chunk (``CHUNK`` rows for 1-D input, ``chunk_rows(C)`` for (n, C) input,
one chunk up to C = 32 and fewer rows above).  Every returned value is compared
bit for bit (floats through their bit patterns, so NaN payloads and the sign of
zero count), and so are the per-row output arrays the drivers fill.  The
parallel drivers are run with all Numba threads and with one.  On input with
an invalid element the drivers must report the same first ``(code, index)``
(the partial sums they return then differ by design: the serial driver stops
at the first invalid chunk).

Kernels whose parallel form ``core.pipeline.run`` derives from the serial driver
(threads calling it chunk by chunk on row slices, partials added in chunk
order: ``core.pipeline._CHUNKED``) are checked the same way against that derived
form, run with two and three threads.

This replaces the tests that patched ``core.pipeline.PARALLEL_MIN``: ``core.pipeline.run``
bound that threshold when it was defined, so those compared one path with itself.
"""

import functools

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcal.core import pipeline as _core
from fastcal.core import validation as V
from fastcal._kernels.metrics import auroc as KAUC
from fastcal._kernels.metrics import binned as B
from fastcal._kernels.uncertainty import bootstrap as KB
from fastcal._kernels import common as KC
from fastcal._kernels.uncertainty import delong as KD
from fastcal._kernels.calibrators import isotonic as KI
from fastcal._kernels.calibrators import platt as KP
from fastcal._kernels.metrics import scores as SC
from fastcal._kernels.calibrators import temperature as KT
from fastcal._kernels.calibrators import temperature_ece as KTE

CHUNK = KC.CHUNK
OK = KC.OK
N_BINS = 15
EDGES = V.uniform_edges(N_BINS)  # read-only (1, 16), as the public layer passes it
NO_WEIGHT = np.empty(0, np.float64)

# 1-D sizes: one row, a partial chunk, exactly 1 and 3 chunks, ragged 2 and 5 chunks
SIZES_1D = (1, 1000, CHUNK, CHUNK + 1, 3 * CHUNK, 4 * CHUNK + 1234)
# multiclass widths: small, and above 32 (fewer rows per chunk)
WIDE = 40
WIDER = 600  # rows wider than the exponential block of the logit kernels


def multiclass_sizes(C):
    cr = int(B.chunk_rows(C))
    out = [1, min(300, cr - 1), cr, 2 * cr + 7]
    if C <= 32:
        out += [3 * cr]
    return out


# ---------------------------------------------------------------------------
# comparison


def _bits(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return a.view(np.dtype(f"u{a.dtype.itemsize}"))
    return a


def assert_same(s, p, what="result"):
    """``s`` and ``p`` are the same nested tuple of arrays/scalars, bit for bit."""
    if isinstance(s, tuple):
        assert isinstance(p, tuple) and len(p) == len(s), (what, s, p)
        for i, (a, b) in enumerate(zip(s, p)):
            assert_same(a, b, f"{what}[{i}]")
        return
    if s is None:
        assert p is None, what
        return
    if isinstance(s, np.ndarray):
        assert isinstance(p, np.ndarray), (what, type(p))
        assert s.dtype == p.dtype and s.shape == p.shape, (what, s.dtype, p.dtype, s.shape, p.shape)
    else:
        assert type(s) is type(p), (what, type(s), type(p))
    bs, bp = _bits(s), _bits(p)
    if not np.array_equal(bs, bp):
        if bs.ndim == 0:
            raise AssertionError(f"{what}: serial {s!r} != parallel {p!r}")
        at = tuple(np.argwhere(bs != bp)[0])
        raise AssertionError(f"{what}: serial and parallel differ first at {at}: "
                             f"{s[at]!r} vs {p[at]!r} ({int((bs != bp).sum())} differ)")


def _fresh(args, outs):
    a = list(args)
    for i in outs:
        if a[i] is not None:
            a[i] = np.zeros_like(a[i])
    return a


def check_pair(ser, par, args, outs=()):
    """Serial result of ``ser(*args)`` after asserting that ``par`` (all
    threads and one thread) returns it bitwise and fills the output
    arrays at positions ``outs`` (fresh zeroed copies per call) identically."""
    a0 = _fresh(args, outs)
    r0 = ser(*a0)
    nt = numba.get_num_threads()
    for threads in sorted({nt, 1}, reverse=True):
        a1 = _fresh(args, outs)
        numba.set_num_threads(threads)
        try:
            r1 = par(*a1)
        finally:
            numba.set_num_threads(nt)
        name = f"{ser.__name__} vs {par.__name__} ({threads} threads)"
        assert_same(r0, r1, name)
        for i in outs:
            assert_same(a0[i], a1[i], f"{name}: output argument {i}")
    return r0


def derived(ser):
    """The parallel form ``core.pipeline.run`` derives from a chunked serial kernel:
    threads calling it chunk by chunk, partials added in chunk order."""
    def par(*args):
        # one more thread than Numba's count (set to all and to 1 by check_pair):
        # always at least two threads, so chunks really run concurrently
        return _core.threaded(ser, *args, threads=numba.get_num_threads() + 1)

    par.__name__ = f"{ser.__name__} (threads)"
    return par


def check_first_error(ser, par, args, expected):
    """Both drivers report the same first invalid element, the expected one."""
    got = [tuple(int(v) for v in ser(*args)[:2])]
    nt = numba.get_num_threads()
    for threads in sorted({nt, 1}, reverse=True):
        numba.set_num_threads(threads)
        try:
            got.append(tuple(int(v) for v in par(*args)[:2]))
        finally:
            numba.set_num_threads(nt)
    assert got == [expected] * len(got), (ser.__name__, got, expected)


# ---------------------------------------------------------------------------
# data (cached per shape: a test copies before it edits; writable arrays, as the
# public layer passes them, so the kernels are the specialisations it compiles)


@functools.lru_cache(maxsize=None)
def binary_data(n, seed=0):
    """(labels int64, probabilities, logits, weights) with values on bin edges,
    0, 1, -0.0, ties and zero weights."""
    rng = np.random.default_rng(seed + n)
    y = (rng.random(n) < 0.6).astype(np.int64)
    p = rng.random(n)
    k = rng.integers(0, n, size=max(1, n // 20))
    p[k] = rng.integers(0, N_BINS + 1, size=k.size) / N_BINS  # on the edges (0 and 1 included)
    p[rng.integers(0, n, size=max(1, n // 50))] = np.round(rng.random(max(1, n // 50)), 2)
    z = rng.normal(0.0, 3.0, n)
    z[rng.integers(0, n, size=max(1, n // 50))] = 0.0
    z[rng.integers(0, n, size=max(1, n // 50))] = -0.0
    w = rng.random(n) * 2.0
    w[rng.integers(0, n, size=max(1, n // 30))] = 0.0
    return y, p, z, w


@functools.lru_cache(maxsize=None)
def multiclass_data(n, C, seed=0):
    """(labels int64, float64 probabilities, float64 logits, weights); some rows
    with tied maxima."""
    rng = np.random.default_rng(seed + 7 * n + C)
    y = rng.integers(0, C, n).astype(np.int64)
    Z = rng.normal(0.0, 2.0, (n, C))
    Z[:, 0] += 0.5 * (y == 0)
    tie = rng.random(n) < 0.05
    Z[tie, : min(C, 3)] = Z[tie, :1]  # first three classes tied
    Z[rng.random(n) < 0.01] = 0.0  # uniform rows
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    w = rng.random(n) * 2.0
    w[rng.random(n) < 0.03] = 0.0
    return y, P, Z, w


def as_input(X, fmt):
    """``(array, K, shift, mask, one, tab, src)`` as the public layer builds them."""
    if fmt in ("float16", "bfloat16"):
        if fmt == "float16":
            bits = np.ascontiguousarray(X.astype(np.float16)).view(np.uint16)
        else:  # round to nearest even into the top half of float32
            b32 = np.ascontiguousarray(X.astype(np.float32)).view(np.uint32).astype(np.uint64)
            bits = ((b32 + 0x7FFF + ((b32 >> 16) & 1)) >> 16).astype(np.uint16)
        src = fmt
        arr = bits
    else:
        arr = np.ascontiguousarray(X.astype(fmt))
        src = arr.dtype
    K, shift, mask, one = V.keys(arr, src)
    return arr, K, shift, mask, one, V.table_for(arr, src), src


def quantile_edges(n_bins, seed=1):
    rng = np.random.default_rng(seed)
    e = np.concatenate([[0.0], np.sort(rng.random(n_bins - 1)), [1.0]])
    e.flags.writeable = False  # as the public layer passes edges (one array type)
    return e


# ---------------------------------------------------------------------------
# _kernels.metrics.binned.binary_stats / its derived parallel form
# (name, p dtype, y dtype, weighted, edges, uniform, right, logits, scores, check, outputs)

BINARY_STATS = [
    # calibration_report: scores, per-row conf/corr (and terms for the bootstrap)
    ("report", "f8", "i8", False, "uniform", True, True, None, True, True, "cct"),
    ("report-weighted", "f8", "i8", True, "uniform", True, True, None, True, True, "cc"),
    ("report-logits-weighted", "f8", "i8", True, "uniform", True, True, True, True, True, "cc"),
    ("report-f32-logits", "f4", "i8", False, "uniform", True, True, True, True, True, "cct"),
    # ece & co: no scores, no per-row output; right=False; check=False
    ("ece-left-weighted", "f8", "i8", True, "uniform", True, None, None, None, True, ""),
    ("ece-f32-unchecked", "f4", "u1", False, "uniform", True, True, None, None, None, ""),
    # quantile bins: the second pass on conf/corr; _conventions' rebinning
    ("quantile-pass", "f8", "b1", True, "quantile", None, True, None, None, None, ""),
    ("rebin-left", "f8", "b1", False, "quantile", None, None, None, None, None, ""),
]


def binary_stats_args(n, spec):
    _, pd, yd, weighted, edges, uniform, right, logits, scores, check, outs = spec
    y, p, z, w = binary_data(n)
    y = y.astype(yd)
    x = (z if logits else p).astype(pd)
    e = EDGES if edges == "uniform" else quantile_edges(N_BINS).reshape(1, -1)
    eps = V.eps_for(x.dtype)
    conf = np.empty(n) if "cc" in outs else None
    corr = np.empty(n, np.bool_) if "cc" in outs else None
    terms = np.empty((n, 2)) if "t" in outs and scores else None
    return (y, x, w if weighted else None, e, bool(uniform), right, logits, scores, eps,
            bool(check), conf, corr, terms)


@pytest.mark.parametrize("spec", BINARY_STATS, ids=[s[0] for s in BINARY_STATS])
def test_binary_stats(spec):
    for n in SIZES_1D:
        args = binary_stats_args(n, spec)
        code, idx, bins, sc = check_pair(B.binary_stats, derived(B.binary_stats), args,
                                         outs=(10, 11, 12))
        assert (code, idx) == (OK, -1)
        w = args[2]
        assert np.isclose(bins[0].sum(), n if w is None else w.sum(), rtol=1e-12)


# ---------------------------------------------------------------------------
# _kernels.metrics.binned.toplabel_stats / its derived parallel form
# (name, format, C, weighted, logits, scores, check, ignore, outputs, edges)

TOPLABEL_STATS = [
    ("report", "f8", 5, False, None, True, True, None, "cct", EDGES),
    ("report-weighted", "f8", 5, True, None, True, True, None, "cc", EDGES),
    ("report-logits-weighted-wide", "f8", WIDE, True, True, True, True, None, "cc", EDGES),
    ("f32-logits-wider", "f4", WIDER, False, True, True, True, None, "", EDGES),
    ("tokens-ignore-index", "f8", 5, True, True, True, True, -100, "cct", EDGES),
    ("tokens-ignore-f32-probs", "f4", 5, False, None, True, True, -100, "cc", EDGES),
    # classwise validation pass / ece: no scores, no outputs
    ("validate-f32-wide", "f4", WIDE, False, None, None, True, None, "", EDGES),
    # nll/brier of (n, C): one bin, check=False
    ("scores-one-bin-unchecked", "f8", 3, True, None, True, None, None, "", V.uniform_edges(1)),
    # 16-bit input read through the table
    ("float16-probs", "float16", 5, True, None, True, True, None, "cc", EDGES),
    ("bfloat16-logits-wide", "bfloat16", WIDE, False, True, True, True, None, "cct", EDGES),
]


def _ignored(y, ignore, seed=3):
    if ignore is None:
        return y
    y = y.copy()
    rng = np.random.default_rng(seed)
    y[rng.random(y.shape[0]) < 0.1] = ignore
    y[-min(y.shape[0], 40):] = ignore  # trailing padding
    return y


def toplabel_args(n, spec):
    _, fmt, C, weighted, logits, scores, check, ignore, outs, edges = spec
    y, P, Z, w = multiclass_data(n, C)
    x, K, shift, mask, one, tab, src = as_input(Z if logits else P, fmt)
    eps = V.eps_for(src)
    tol = V.row_sum_tol(src, C)
    conf = np.empty(n) if "cc" in outs else None
    corr = np.empty(n, np.bool_) if "cc" in outs else None
    terms = np.empty((n, 2)) if "t" in outs and scores else None
    return (_ignored(y, ignore), x, K, shift, mask, one, tab, w if weighted else None, edges,
            True, True, logits, scores, eps, tol, bool(check), ignore, conf, corr, terms)


@pytest.mark.parametrize("spec", TOPLABEL_STATS, ids=[s[0] for s in TOPLABEL_STATS])
def test_toplabel_stats(spec):
    for n in multiclass_sizes(spec[2]):
        args = toplabel_args(n, spec)
        code, idx, bins, sc = check_pair(B.toplabel_stats, derived(B.toplabel_stats), args,
                                         outs=(17, 18, 19))
        assert (code, idx) == (OK, -1)


# ---------------------------------------------------------------------------
# _kernels.metrics.binned.classwise_stats / its derived parallel form
# (name, format, C, weighted, uniform, right, logits, check, per-class edges)

CLASSWISE_STATS = [
    ("probs-weighted", "f8", 5, True, True, True, None, True, False),
    ("logits-weighted-wide", "f8", WIDE, True, True, True, True, True, False),
    ("f32-logits-wide-left", "f4", WIDE, False, True, None, True, True, False),
    ("quantile-per-class", "f8", 5, True, None, True, None, True, True),
    ("accumulator-logits-unchecked", "f8", 5, False, True, True, True, None, False),
    ("float16-probs", "float16", 5, False, True, True, None, True, False),
]


def classwise_args(n, spec):
    _, fmt, C, weighted, uniform, right, logits, check, per_class = spec
    y, P, Z, w = multiclass_data(n, C)
    x, K, shift, mask, one, tab, src = as_input(Z if logits else P, fmt)
    if per_class:
        edges = np.stack([quantile_edges(N_BINS, seed=k) for k in range(C)])
        edges.flags.writeable = False
    else:
        edges = EDGES
    return (y, x, K, shift, mask, one, tab, w if weighted else None, edges, bool(uniform),
            right, logits, V.row_sum_tol(src, C), bool(check))


@pytest.mark.parametrize("spec", CLASSWISE_STATS, ids=[s[0] for s in CLASSWISE_STATS])
def test_classwise_stats(spec):
    for n in multiclass_sizes(spec[2]):
        args = classwise_args(n, spec)
        code, idx, bins, _ = check_pair(B.classwise_stats, derived(B.classwise_stats), args)
        assert (code, idx) == (OK, -1)
        assert bins.shape == (spec[2], 3, N_BINS)


# ---------------------------------------------------------------------------
# _kernels.metrics.scores.binary_scores / its derived parallel form
# (name, p dtype, weighted, logits, want_nll, check)

BINARY_SCORES = [
    ("nll", "f8", False, None, True, True),
    ("nll-weighted", "f8", True, None, True, True),
    ("nll-logits-weighted", "f8", True, True, True, True),
    ("brier-weighted", "f8", True, None, None, True),
    ("nll-f32-logits", "f4", False, True, True, True),
    ("brier-f32-logits-weighted", "f4", True, True, None, True),
    ("brier-unchecked", "f8", False, None, None, None),
]


def binary_scores_args(n, spec):
    _, pd, weighted, logits, want_nll, check = spec
    y, p, z, w = binary_data(n)
    x = (z if logits else p).astype(pd)
    return (y, x, w if weighted else None, logits, want_nll, V.eps_for(x.dtype), check)


@pytest.mark.parametrize("spec", BINARY_SCORES, ids=[s[0] for s in BINARY_SCORES])
def test_binary_scores(spec):
    for n in SIZES_1D:
        r = check_pair(SC.binary_scores, derived(SC.binary_scores), binary_scores_args(n, spec))
        assert r[:2] == (OK, -1)


# ---------------------------------------------------------------------------
# first invalid element: the same (code, index) from both drivers

BINARY_BAD = {  # kind: (logits?, array, value, code)
    "nan-prob": (None, "p", np.nan, KC.BAD_PROB),
    "prob-above-1": (None, "p", 1.0 + 1e-12, KC.BAD_PROB),
    "negative-prob": (None, "p", -0.0 - 1e-300, KC.BAD_PROB),
    "inf-logit": (True, "p", -np.inf, KC.BAD_LOGIT),
    "nan-logit": (True, "p", np.nan, KC.BAD_LOGIT),
    "label-2": (None, "y", 2, KC.BAD_BINARY_LABEL),
    "label-minus-1": (True, "y", -1, KC.BAD_BINARY_LABEL),
    "negative-weight": (None, "w", -1.0, KC.BAD_WEIGHT),
    "inf-weight": (True, "w", np.inf, KC.BAD_WEIGHT),
}
BAD_SIZES = (CHUNK + 1, 3 * CHUNK, 4 * CHUNK + 1234)


def _position(data, n, cr):
    """An index of ``n`` rows in chunks of ``cr``; the chunk is drawn counting
    from the last one (examples shrink towards a late chunk)."""
    nch = (n + cr - 1) // cr
    ch = nch - 1 - data.draw(st.integers(0, nch - 1), label="chunks before the last")
    lo = ch * cr
    return data.draw(st.integers(lo, min(n, lo + cr) - 1), label="index")


# _kernels.streaming.accumulate.binary_batch on one thread / on several claiming its blocks
# (the accumulator's one-pass update)
# (name, p dtype, y dtype, weighted, right, logits, per-row conf/cell)

def _batch_serial(*args):
    return _core.binary_batch(*args, threads=1)


def _batch_threads(*args):
    """Blocks claimed by Numba's thread count of threads plus one (at least two)."""
    return _core.binary_batch(*args, threads=numba.get_num_threads() + 1)


BINARY_BATCH = [
    ("bounded-auroc", "f8", "i8", False, True, None, True),
    ("no-auroc", "f8", "i8", False, True, None, False),
    ("weighted-logits-left", "f8", "i8", True, None, True, True),
    ("f32-bool-weighted", "f4", "u1", True, True, None, False),
]


@pytest.mark.parametrize("spec", BINARY_BATCH, ids=[s[0] for s in BINARY_BATCH])
def test_binary_batch(spec):
    _, pd, yd, weighted, right, logits, rows = spec
    for n in SIZES_1D:
        y, p, z, w = binary_data(n)
        x = (z if logits else p).astype(pd)
        conf = np.empty(n) if rows else None
        cell = np.empty(n, np.int32) if rows else None
        args = (y.astype(yd), x, w if weighted else None, EDGES, right, logits,
                V.eps_for(x.dtype), True, conf, cell)
        code, idx, dd = check_pair(_batch_serial, _batch_threads, args, outs=(8, 9))
        assert (code, idx) == (OK, -1)


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_binary_first_invalid_element(data):
    n = data.draw(st.sampled_from(BAD_SIZES), label="n")
    kind = data.draw(st.sampled_from(sorted(BINARY_BAD)), label="kind")
    logits, where, value, code = BINARY_BAD[kind]
    i = _position(data, n, CHUNK)
    y, p, z, w = binary_data(n)
    arrs = {"y": y.copy(), "p": (z if logits else p).copy(), "w": w.copy()}
    arrs[where][i] = value
    if i < n - 1 and data.draw(st.booleans(), label="second bad element later"):
        arrs["y"][data.draw(st.integers(i + 1, n - 1), label="second")] = 3
    ys, ps, ws = arrs["y"], arrs["p"], arrs["w"]
    conf, corr = np.empty(n), np.empty(n, np.bool_)
    check_first_error(B.binary_stats, derived(B.binary_stats),
                      (ys, ps, ws, EDGES, True, True, logits, True, V.eps_for(ps.dtype), True,
                       conf, corr, None), (code, i))
    check_first_error(SC.binary_scores, derived(SC.binary_scores),
                      (ys, ps, ws, logits, True, V.eps_for(ps.dtype), True), (code, i))
    check_first_error(_batch_serial, _batch_threads,
                      (ys, ps, ws, EDGES, True, logits, V.eps_for(ps.dtype), True, conf,
                       np.empty(n, np.int32)), (code, i))


MULTICLASS_BAD = {  # kind: (logits?, what, code)
    "label-C": (None, "label", KC.BAD_CLASS_LABEL),
    "label-minus-1": (True, "label", KC.BAD_CLASS_LABEL),
    "nan-prob": (None, "nan", KC.BAD_PROB),
    "negative-prob": (None, "negative", KC.BAD_PROB),
    "row-sum": (None, "scale", KC.BAD_ROW_SUM),
    "inf-logit": (True, "inf", KC.BAD_LOGIT),
    "nan-logit": (True, "nan", KC.BAD_LOGIT),
    "negative-weight": (None, "weight", KC.BAD_WEIGHT),
    "nan-weight": (True, "weight", KC.BAD_WEIGHT),
}


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_multiclass_first_invalid_element(data):
    C = data.draw(st.sampled_from((5, WIDE)), label="C")
    cr = int(B.chunk_rows(C))
    n = data.draw(st.sampled_from((cr + 1, 2 * cr + 7)), label="n")
    kind = data.draw(st.sampled_from(sorted(MULTICLASS_BAD)), label="kind")
    logits, what, code = MULTICLASS_BAD[kind]
    i = _position(data, n, cr)
    k = data.draw(st.integers(0, C - 1), label="class")
    y, P, Z, w = multiclass_data(n, C)
    y, X, w = y.copy(), (Z if logits else P).copy(), w.copy()
    if what == "label":
        y[i] = C if kind == "label-C" else -1
    elif what == "weight":
        w[i] = -1.0 if kind == "negative-weight" else np.nan
    elif what == "scale":
        X[i] *= 0.99  # no element above 1: the row sum is the first fault
    elif what == "negative":
        X[i, k] = -1e-9
    else:
        X[i, k] = {"nan": np.nan, "inf": np.inf}[what]
    if i < n - 1 and data.draw(st.booleans(), label="second bad element later"):
        y[data.draw(st.integers(i + 1, n - 1), label="second")] = -5
    K, shift, mask, one = V.keys(X)
    tol = V.row_sum_tol(X.dtype, C)
    eps = V.eps_for(X.dtype)
    conf, corr = np.empty(n), np.empty(n, np.bool_)
    check_first_error(B.toplabel_stats, derived(B.toplabel_stats),
                      (y, X, K, shift, mask, one, None, w, EDGES, True, True, logits, True, eps,
                       tol, True, None, conf, corr, None), (code, i))
    check_first_error(B.classwise_stats, derived(B.classwise_stats),
                      (y, X, K, shift, mask, one, None, w, EDGES, True, True, logits, tol, True),
                      (code, i))


# ---------------------------------------------------------------------------
# _kernels.metrics.auroc.mann_whitney(_q) / *_parallel: sizes from the parallel threshold on


def _scores(n, kind, rng, dtype="f8"):
    if kind == "mixed":  # continuous, heavy ties, a tight cluster, signed zeros, wide range
        big = 1e200 if dtype == "f8" else 1e30
        s = rng.random(n)
        m = rng.random(n)

        def part(a, b):
            sel = (m >= a) & (m < b)
            return sel, int(sel.sum())

        sel, k = part(0.0, 0.3)
        s[sel] = np.round(s[sel], 2)
        sel, k = part(0.3, 0.45)
        s[sel] = 0.5 + 1e-12 * rng.integers(0, 1000, k)
        sel, k = part(0.45, 0.5)
        s[sel] = rng.choice([0.0, -0.0], k)
        sel, k = part(0.5, 0.55)
        s[sel] *= big
        sel, k = part(0.55, 0.6)
        s[sel] = -rng.random(k) / big
        return s.astype(dtype)
    if kind == "normal":
        return rng.normal(size=n).astype(dtype)
    if kind == "tied":
        return np.full(n, 0.25, dtype)
    if kind == "sorted":
        return np.sort(np.round(rng.random(n), 4)).astype(dtype)
    raise ValueError(kind)


AUROC_SIZES = (KAUC._PAR_MIN, KAUC._PAR_MIN + 12345, 3 * KAUC._PAR_MIN + 1)
AUROC_CASES = [  # (scores, dtype, weights, labels)
    ("mixed", "f8", None, "random"),
    ("mixed", "f8", "random", "random"),
    ("normal", "f4", None, "random"),
    ("normal", "f4", "integer", "rare"),
    ("sorted", "f8", "random", "random"),
    ("tied", "f8", None, "random"),
    ("normal", "f8", None, "one-class"),
]


def auroc_args(n, case):
    kind, dt, weights, labels = case
    rng = np.random.default_rng(n)
    # float32 values reach these kernels widened to float64 (core.pipeline._f8)
    score = _scores(n, kind, rng, dt).astype(np.float64)
    if labels == "random":
        label = (rng.random(n) < 0.4).astype(np.uint8)
    elif labels == "rare":
        label = (rng.random(n) < 0.002).astype(np.uint8)
    else:
        label = np.ones(n, np.uint8)
    if weights is None:
        w = NO_WEIGHT
    elif weights == "integer":
        w = rng.integers(0, 4, n).astype(np.float64)
    else:
        w = rng.random(n)
        w[rng.random(n) < 0.05] = 0.0
    return score, label, w


@pytest.mark.parametrize("case", AUROC_CASES, ids=["-".join(map(str, c)) for c in AUROC_CASES])
def test_mann_whitney(case):
    for n in AUROC_SIZES:
        assert n >= KAUC._PAR_MIN  # the parallel entry point really runs the parallel code
        args = auroc_args(n, case)
        r = check_pair(KAUC.mann_whitney, KAUC.mann_whitney_parallel, args)
        q = check_pair(KAUC.mann_whitney_q, KAUC.mann_whitney_q_parallel, args)
        assert_same(q[:3], r, "mann_whitney_q's (u, wpos, wneg) vs mann_whitney's")


# ---------------------------------------------------------------------------
# _kernels.uncertainty.delong.delong_pair / delong_pair_parallel


DELONG_CASES = [  # (dtype a, dtype b, weighted, b is a)
    ("f8", "f8", False, False),
    ("f8", "f8", True, False),
    ("f4", "f4", False, False),
    ("f4", "f8", True, False),
    ("f8", "f8", False, True),
]


@pytest.mark.parametrize("case", DELONG_CASES, ids=["-".join(map(str, c)) for c in DELONG_CASES])
def test_delong_pair(case):
    da, db, weighted, same = case
    for n in (1, 1000, CHUNK + 1, 150_001):
        rng = np.random.default_rng(n)
        sa = _scores(n, "mixed", rng, da)
        sb = sa.astype(db) if same else np.round(sa + 0.1 * rng.normal(size=n), 3).astype(db)
        # float32 values reach these kernels widened to float64 (core.pipeline._f8)
        sa, sb = sa.astype(np.float64), sb.astype(np.float64)
        label = (rng.random(n) < 0.4).astype(np.uint8)
        w = rng.random(n) if weighted else NO_WEIGHT
        check_pair(KD.delong_pair, KD.delong_pair_parallel, (sa, sb, label, w))


# ---------------------------------------------------------------------------
# uncertainty.bootstrap.replicate_state / its derived parallel form


@pytest.mark.parametrize("terms,weighted,right", [(True, False, True), (False, True, None)],
                         ids=["terms-right", "weighted-left"])
def test_replicate_state(terms, weighted, right):
    edges = EDGES
    for n, R in ((1, 7), (CHUNK, 7), (3 * CHUNK + 5, 7), (16 * CHUNK, 3), (17 * CHUNK + 3, 3)):
        y, p, z, w = binary_data(n)
        rng = np.random.default_rng(n)
        t = rng.random((n, 2)) if terms else None
        args = (p, p < rng.random(n), t, w if weighted else None, edges, right,
                np.uint64(12345),
                np.uint64(2), np.int64(1000), np.int64(R))
        state = check_pair(KB.replicate_state, derived(KB.replicate_state), args)
        assert state.shape == (3 * N_BINS + 2, R)


# ---------------------------------------------------------------------------
# _kernels.calibrators.isotonic.isotonic_rows / its derived parallel form


@pytest.mark.parametrize("dtype", ["f8", "f4"])
@pytest.mark.parametrize("increasing", [True, False])
def test_isotonic_rows(dtype, increasing):
    for m, n in ((1, 5), (2, 1), (3, 1000), (64, 300), (65, 2048), (200, 700)):
        rng = np.random.default_rng(m * n)
        Y = (np.cumsum(rng.normal(size=(m, n)), axis=1) * 0.1 + np.round(rng.random((m, n)), 1))
        W = rng.random((m, n))
        W[rng.random((m, n)) < 0.05] = 0.0
        check_pair(KI.isotonic_rows, derived(KI.isotonic_rows),
                   (np.ascontiguousarray(Y.astype(dtype)), W, increasing))


# ---------------------------------------------------------------------------
# _kernels.calibrators.platt.loss_derivs / its derived parallel form
# (name, p dtype, y dtype, weighted, logits, tpos, tneg)

PLATT = [
    ("binary-probs", "f8", "i8", False, None, 1.0, 0.0),
    ("binary-f32-logits-smooth", "f4", "i8", True, True, 0.998, 0.0013),
    ("multiclass-conf", "f8", "u1", True, None, 1.0, 0.0),
]


@pytest.mark.parametrize("spec", PLATT, ids=[s[0] for s in PLATT])
def test_platt_loss_derivs(spec):
    _, pd, yd, weighted, logits, tpos, tneg = spec
    for n in SIZES_1D:
        y, p, z, w = binary_data(n)
        x = (z if logits else p).astype(pd)
        check_pair(KP.loss_derivs, derived(KP.loss_derivs),
                   (x, y.astype(yd), w if weighted else None, 1.7, -0.4, logits,
                    V.eps_for(x.dtype), tpos, tneg))


# ---------------------------------------------------------------------------
# _kernels.calibrators.temperature.nll_derivs_mc / nll_derivs_bin / ece_bins and their derived parallel forms
# (name, dtype, C (1: binary), weighted, check, before)

TEMPERATURE = [
    ("mc-validating-pass-weighted", "f8", 5, True, True, True),
    ("mc", "f8", 5, False, None, None),
    ("mc-f32-wide-weighted", "f4", WIDE, True, None, None),
    ("bin-validating-pass-weighted", "f8", 1, True, True, True),
    ("bin-f32", "f4", 1, False, None, None),
]


def temperature_sizes(C, stride):
    R = KT.chunk_rows(0, C, stride)
    return R, (1, 1000, R, 2 * R + 7)


@pytest.mark.parametrize("spec", TEMPERATURE, ids=[s[0] for s in TEMPERATURE])
def test_temperature_nll_derivs(spec):
    _, dt, C, weighted, check, before = spec
    ser, par = ((KT.nll_derivs_bin, derived(KT.nll_derivs_bin)) if C == 1
                else (KT.nll_derivs_mc, derived(KT.nll_derivs_mc)))
    for stride in (1, 4):
        Rpub, sizes = temperature_sizes(C, stride)
        for n in sizes:
            if C == 1:
                y, _, z, w = binary_data(n)
                X = z.astype(dt)
            else:
                y, _, Z, w = multiclass_data(n, C)
                X = np.ascontiguousarray(Z.astype(dt))
            # the chunk rows the public layer uses, and small chunks (many of them)
            for R in (Rpub, 1000 * stride):
                r = check_pair(ser, par, (X, y, w if weighted else None, 0.7, stride, R,
                                          bool(check), bool(before)))
                assert r[6] == 0.0  # no invalid chunk


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_temperature_invalid_rows(data):
    """The validating pass counts the same invalid chunks (and the same sums)."""
    C = data.draw(st.sampled_from((1, 5)), label="C")
    n = 5000 * 3 + 17
    if C == 1:
        y, _, X, w = binary_data(n)
        ser, par = KT.nll_derivs_bin, derived(KT.nll_derivs_bin)
    else:
        y, _, X, w = multiclass_data(n, C)
        ser, par = KT.nll_derivs_mc, derived(KT.nll_derivs_mc)
    y, X, w = y.copy(), X.copy(), w.copy()
    for _ in range(data.draw(st.integers(1, 3), label="bad elements")):
        i = data.draw(st.integers(0, n - 1), label="index")
        what = data.draw(st.sampled_from(("label", "value", "weight")), label="what")
        if what == "label":
            y[i] = 7
        elif what == "weight":
            w[i] = -2.0
        elif C == 1:
            X[i] = np.inf
        else:
            X[i, data.draw(st.integers(0, C - 1))] = np.nan
    r = check_pair(ser, par, (X, y, w, 0.7, 1, 5000, True, True))
    assert r[6] >= 1


@pytest.mark.parametrize("C,dt,weighted", [(1, "f8", False), (5, "f8", True), (WIDE, "f4", False)],
                         ids=["binary", "mc-weighted", "mc-f32-wide"])
def test_temperature_ece_at(C, dt, weighted):
    edges = V.uniform_edges(N_BINS)[0]
    R, sizes = temperature_sizes(C, 1)
    for n in sizes:
        if C == 1:
            y, _, z, w = binary_data(n)
            X = z.astype(dt)
        else:
            y, _, Z, w = multiclass_data(n, C)
            X = np.ascontiguousarray(Z.astype(dt))
        for beta in (0.4, 2.5):
            for RR in (R, 1000):
                check_pair(KTE.ece_bins, derived(KTE.ece_bins),
                           (X, y, w if weighted else None, beta, RR, edges))
