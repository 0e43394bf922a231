"""Streamed sums are compensated within a batch too (issue 16, item 4).

The accumulator's per-bin sums (weight, confidence, correct) and its Brier and
NLL sums are double-double sums of the per-row values, whatever the data and
the batch split: every one lies within one float64 ulp of the exact sum.
Before, each batch was summed in plain float64 by the binned kernel, and 2e8
LLM-style confidences streamed with 1.2e-13 relative error.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from fastcal import CalibrationAccumulator

# Large enough that a plain float64 sum misses by many ulps (a sequential sum
# of these 4e6 rows: 3 to 1e5 ulps per bin); the property does not depend on N.
N = 4_000_000
N_BINS = 15


def _ulp(x):
    return math.ulp(abs(float(x)))


def _assert_within_one_ulp(acc, i, exact, what):
    hi, lo = float(acc._hi[i]), float(acc._lo[i])
    dd = Fraction(hi) + Fraction(lo)
    err = abs(dd - Fraction(exact))
    assert err <= Fraction(_ulp(exact)), (
        f"{what}: double-double {hi!r} + {lo!r} is {float(err / Fraction(_ulp(exact))):.3g} "
        f"ulp from the exact sum {float(exact)!r}")


def _stream(y, p, batch):
    acc = CalibrationAccumulator(N_BINS, auroc=None)
    for lo in range(0, p.shape[0], batch):
        acc.update(y[lo:lo + batch], p[lo:lo + batch])
    assert acc.n == p.shape[0]
    return acc


def _bins(p):
    edges = np.linspace(0.0, 1.0, N_BINS + 1)
    return np.searchsorted(edges[1:-1], p, side="left")  # right-closed bins


@pytest.fixture(scope="module")
def llm_data():
    rng = np.random.default_rng(16)
    vals = np.array([0.6, 0.7, 0.8, 0.9, 0.95])
    p = vals[rng.integers(0, 5, N)]
    y = (rng.random(N) < p).astype(np.int8)
    return y, p


@pytest.fixture(scope="module")
def uniform_data():
    rng = np.random.default_rng(17)
    p = rng.random(N)
    y = (rng.random(N) < p).astype(np.int8)
    return y, p


@pytest.mark.parametrize("batch", [65536, N])
def test_llm_confidences_stream_exactly(llm_data, batch):
    y, p = llm_data
    acc = _stream(y, p, batch)
    k = _bins(p)
    brier = Fraction(0)
    for b in range(N_BINS):
        m = k == b
        vs = np.unique(p[m])
        cnt = int(m.sum())
        conf = sum((Fraction(float(v)) * int((p[m] == v).sum()) for v in vs), Fraction(0))
        correct = int(y[m].sum())
        _assert_within_one_ulp(acc, b, cnt, f"bin {b} weight")
        _assert_within_one_ulp(acc, N_BINS + b, conf, f"bin {b} confidence")
        _assert_within_one_ulp(acc, 2 * N_BINS + b, correct, f"bin {b} correct")
    for v in np.unique(p):  # Brier terms (c - y)^2 as float64, each value times its count
        m = p == v
        ones = int(y[m].sum())
        brier += Fraction(float((v - 1.0) ** 2)) * ones
        brier += Fraction(float(v * v)) * (int(m.sum()) - ones)
    _assert_within_one_ulp(acc, 3 * N_BINS, brier, "Brier sum")
    # NLL: each term is the kernel's log (vectorised, within an ulp of numpy's)
    nll = math.fsum(-np.log(np.where(y == 1, p, 1.0 - p)))
    got = float(acc._hi[3 * N_BINS + 1] + acc._lo[3 * N_BINS + 1])  # what compute() reads
    assert abs(got - nll) <= 4e-16 * nll


@pytest.mark.parametrize("batch", [65536, N])
def test_uniform_confidences_stream_exactly(uniform_data, batch):
    y, p = uniform_data
    acc = _stream(y, p, batch)
    k = _bins(p)
    order = np.argsort(k, kind="stable")
    bounds = np.searchsorted(k[order], np.arange(N_BINS + 1))
    for b in range(N_BINS):
        idx = order[bounds[b]:bounds[b + 1]]
        _assert_within_one_ulp(acc, b, idx.shape[0], f"bin {b} weight")
        # math.fsum is the correctly rounded sum (within half an ulp of the exact one)
        _assert_within_one_ulp(acc, N_BINS + b, math.fsum(p[idx]), f"bin {b} confidence")
        _assert_within_one_ulp(acc, 2 * N_BINS + b, int(y[idx].sum()), f"bin {b} correct")
    d = p - y
    _assert_within_one_ulp(acc, 3 * N_BINS, math.fsum(d * d), "Brier sum")


@pytest.mark.parametrize("auroc", [None, "bounded"])
def test_weighted_binary_batches_are_compensated(auroc):
    """The one-pass binary update (serial below 65536 rows, parallel above):
    each bin's weight, weight x confidence and weight x correct sums and the
    weighted Brier and NLL sums are within an ulp of math.fsum of the rows'
    float64 values, in any batch split."""
    rng = np.random.default_rng(6)
    n = 300_000
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.int64)
    w = rng.random(n) * 1e3
    kb = _bins(p)
    d = p - y
    q = np.clip(np.where(y == 1, p, 1.0 - p), 1e-15, 1.0 - 1e-15)
    from fastcal._kernels.vmath import log_block

    lq = np.empty(n)
    log_block(q, lq, n)  # the kernels' log: the per-row NLL term is -lq
    for batch in (7000, 65536, 200_000, n):
        acc = CalibrationAccumulator(N_BINS, auroc=auroc)
        for lo in range(0, n, batch):
            acc.update(y[lo:lo + batch], p[lo:lo + batch], sample_weight=w[lo:lo + batch])
        for b in range(N_BINS):
            m = kb == b
            _assert_within_one_ulp(acc, b, math.fsum(w[m]), f"bin {b} weight")
            _assert_within_one_ulp(acc, N_BINS + b, math.fsum(w[m] * p[m]),
                                   f"bin {b} confidence")
            _assert_within_one_ulp(acc, 2 * N_BINS + b, math.fsum(w[m] * y[m]),
                                   f"bin {b} correct")
        _assert_within_one_ulp(acc, 3 * N_BINS, math.fsum(w * (d * d)), "Brier sum")
        _assert_within_one_ulp(acc, 3 * N_BINS + 1, math.fsum(w * -lq), "NLL sum")


def test_weighted_and_top_label_batches_are_compensated():
    """Weighted top-label rows with ignored padding: each bin's weight sum
    equals math.fsum of its rows' weights (to an ulp), in any batch split."""
    rng = np.random.default_rng(5)
    n = 300_000
    P = rng.dirichlet([0.3, 0.3, 0.3], n)
    y = rng.integers(0, 3, n)
    y[rng.random(n) < 0.05] = -100
    w = rng.random(n) * 1e3
    conf = P.max(1)
    kb = _bins(conf)
    keep = y != -100
    for batch in (7000, 65536, n):
        acc = CalibrationAccumulator(N_BINS, auroc=None)
        for lo in range(0, n, batch):
            acc.update(y[lo:lo + batch], P[lo:lo + batch], sample_weight=w[lo:lo + batch],
                       ignore_index=-100)
        for b in range(N_BINS):
            m = (kb == b) & keep
            _assert_within_one_ulp(acc, b, math.fsum(w[m]), f"bin {b} weight")
            _assert_within_one_ulp(acc, N_BINS + b, math.fsum(w[m] * conf[m]),
                                   f"bin {b} confidence")


@pytest.mark.parametrize("logits", [False, True])
def test_classwise_blocks_are_compensated(logits):
    """Classwise blocks: per class and bin, the weight / confidence / correct
    sums are within an ulp of math.fsum of the rows' values (the classwise
    kernel's own values: fastcal's softmax for logits)."""
    from fastcal.core import validation as V
    from fastcal._kernels.metrics import rows as R

    rng = np.random.default_rng(9)
    n, C = 200_000, 3
    Z = rng.normal(size=(n, C)) * 2
    P = Z if logits else np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
    y = rng.integers(0, C, n)
    w = rng.random(n)
    if logits:
        K, shift, mask, one = V.keys(P, P.dtype)
        vals = R.softmax_rows(P, K, None, shift, mask, one)
    else:
        vals = P
    acc = CalibrationAccumulator(N_BINS, classwise=True, auroc=None)
    for lo in range(0, n, 50_000):
        acc.update(y[lo:lo + 50_000], P[lo:lo + 50_000], sample_weight=w[lo:lo + 50_000],
                   from_logits=logits)
    off = 3 * N_BINS + 2
    for k in range(C):
        kb = _bins(vals[:, k])
        for b in range(N_BINS):
            m = kb == b
            base = off + k * 3 * N_BINS + b
            _assert_within_one_ulp(acc, base, math.fsum(w[m]), f"class {k} bin {b} weight")
            _assert_within_one_ulp(acc, base + N_BINS, math.fsum(w[m] * vals[m, k]),
                                   f"class {k} bin {b} confidence")
            _assert_within_one_ulp(acc, base + 2 * N_BINS, math.fsum(w[m & (y == k)]),
                                   f"class {k} bin {b} correct")
