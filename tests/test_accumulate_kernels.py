"""The streaming pass's kernels against the obvious references (issue 13):
``_kernels.streaming.accumulate.binary_batch`` (vectorised block loop, scatter
loop, double-double lanes) sums every bin and score within one float64 ulp
of the exact sum of the per-row values, in the bins of the binary search;
``dd_lanes`` is a TwoSum per element; ``hist_cells`` leaves the AUROC
histogram bitwise as ``hist_scatter`` (``auroc_hist.add`` per row) does."""

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcal._kernels.metrics import binned as B
from fastcal._kernels.streaming import accumulate as KA
from fastcal._kernels.streaming import auroc_hist as KH
from fastcal.core import pipeline as _core
from fastcal.core import validation as V


def _within_one_ulp(hi, lo, exact, what):
    err = abs(Fraction(float(hi)) + Fraction(float(lo)) - exact)
    assert err <= Fraction(math.ulp(abs(float(exact)))), (what, hi, lo, float(exact))


def _exact(values):
    return sum((Fraction(float(v)) for v in values), Fraction(0))


@st.composite
def binary_inputs(draw):
    n = draw(st.integers(1, 1500))
    nb = draw(st.sampled_from([1, 2, 10, 15]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    kind = draw(st.sampled_from(["uniform", "edges", "llm", "tiny", "logits"]))
    edges = V.uniform_edges(nb)[0]  # read-only, as the public layer passes it
    if kind == "uniform":
        p = rng.random(n)
    elif kind == "edges":  # on the float64 edges, next to them, 0 and 1
        e = np.concatenate([edges, np.nextafter(edges, 2.0), np.nextafter(edges, -1.0)])
        p = np.clip(rng.choice(e, n), 0.0, 1.0)
    elif kind == "llm":  # few values, many ties
        p = rng.choice(np.array([0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 0.0]), n)
    elif kind == "tiny":  # sums whose float64 partials lose bits
        p = np.where(rng.random(n) < 0.5, rng.random(n) * 1e-300, rng.random(n))
    else:
        p = rng.normal(0.0, 4.0, n)
    y = (rng.random(n) < 0.5).astype(np.int64)
    w = None
    if draw(st.booleans()):
        w = rng.random(n) * 3.0
        w[rng.random(n) < 0.1] = 0.0
    return y, p, w, edges, kind == "logits", draw(st.sampled_from([True, None]))


@settings(max_examples=40, deadline=None)
@given(binary_inputs())
def test_binary_batch_sums_within_one_ulp(args):
    y, p, w, edges, logits, right = args
    L = True if logits else None
    n, nb = p.shape[0], edges.shape[0] - 1
    eps = V.eps_for(p.dtype)
    conf, cell = np.empty(n), np.empty(n, np.int32)
    code, idx, dd = _core.binary_batch(y, p, w, edges.reshape(1, -1), right, L, eps, True, conf,
                                    cell)
    assert (code, idx) == (0, -1)
    # the functional kernel's per-row values: confidence, correctness, terms
    c2, r2, terms = np.empty(n), np.empty(n, np.bool_), np.empty((n, 2))
    B.binary_stats(y, p, w, edges.reshape(1, -1), True, right, L, True, eps, True, c2, r2, terms)
    np.testing.assert_array_equal(conf, c2)
    np.testing.assert_array_equal(cell & 1, r2)
    np.testing.assert_array_equal(cell >> 1, [KH.cell_of(c) for c in conf])
    side = "left" if right else "right"
    k = np.searchsorted(edges[1:-1], conf, side=side)
    wr = np.ones(n) if w is None else w
    for b in range(nb):
        m = k == b
        _within_one_ulp(dd[0, b], dd[1, b], _exact(wr[m]), f"bin {b} weight")
        _within_one_ulp(dd[0, nb + b], dd[1, nb + b], _exact(wr[m] * conf[m]), f"bin {b} conf")
        _within_one_ulp(dd[0, 2 * nb + b], dd[1, 2 * nb + b], _exact(wr[m] * r2[m]),
                        f"bin {b} correct")
    _within_one_ulp(dd[0, 3 * nb], dd[1, 3 * nb], _exact(wr * terms[:, 0]), "Brier")
    _within_one_ulp(dd[0, 3 * nb + 1], dd[1, 3 * nb + 1], _exact(wr * terms[:, 1]), "NLL")


def test_binary_batch_over_chunks_within_one_ulp():
    """Several chunks, a partial last block and lane tail; sums of values far apart."""
    rng = np.random.default_rng(5)
    n = 2 * (1 << 15) + 1000 + 7
    p = np.where(rng.random(n) < 0.5, rng.random(n) * 1e-12, 1.0 - rng.random(n) * 1e-9)
    y = (rng.random(n) < p).astype(np.int64)
    edges = V.uniform_edges(15)[0]
    code, _, dd = _core.binary_batch(y, p, None, edges.reshape(1, -1), True, None,
                                  V.eps_for(p.dtype), True, None, None)
    assert code == 0
    terms = np.empty((n, 2))
    B.binary_stats(y, p, None, edges.reshape(1, -1), True, True, None, True,
                   V.eps_for(p.dtype), True, None, None, terms)
    k = np.searchsorted(edges[1:-1], p, side="left")
    for b in (0, 14):
        m = k == b
        _within_one_ulp(dd[0, 15 + b], dd[1, 15 + b], _exact(p[m]), f"bin {b} conf")
    _within_one_ulp(dd[0, 45], dd[1, 45], _exact(terms[:, 0]), "Brier")
    _within_one_ulp(dd[0, 46], dd[1, 46], _exact(terms[:, 1]), "NLL")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1e300, allow_subnormal=True), min_size=0, max_size=200))
def test_dd_lanes_is_a_twosum_per_element(xs):
    x = np.array(xs, dtype=np.float64)
    hi, lo = np.zeros(KA._LANES), np.zeros(KA._LANES)
    KA.dd_lanes(x, x.shape[0], hi, lo)
    for k in range(KA._LANES):  # each lane: its elements' TwoSum chain
        s = e = 0.0
        for v in x[k::KA._LANES]:
            s, e = KA.two_sum(s, e, v)
        assert (hi[k], lo[k]) == (s, e)
    s, e = KA.fold_lanes(hi, lo)  # non-negative values (the state's): within one ulp
    _within_one_ulp(s, e, _exact(x), "sum")


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 800), st.integers(0, 2 ** 32 - 1), st.booleans(),
       st.sampled_from(["uniform", "ties", "ends"]))
def test_hist_cells_is_bitwise_hist_scatter(n, seed, weighted, kind):
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        p = rng.random(n)
    elif kind == "ties":
        p = rng.choice(np.array([0.25, 0.5, 0.5 + 2.0 ** -40, 0.75, -0.0, 0.0, 1.0]), n)
    else:
        p = np.where(rng.random(n) < 0.5, rng.random(n) * 1e-9, 1.0 - rng.random(n) * 1e-9)
    y = (rng.random(n) < 0.5).astype(np.int64)
    w = None
    if weighted:
        w = rng.random(n)
        w[rng.random(n) < 0.2] = 0.0
    conf, cell = np.empty(n), np.empty(n, np.int32)
    code, _, _ = _core.binary_batch(y, p, w, V.uniform_edges(15), True, None,
                                 V.eps_for(p.dtype), True, conf, cell)
    assert code == 0
    h1, h2 = KH.new_hist(), KH.new_hist()
    for _ in range(2):  # a second batch: cells seen before
        KA.hist_scatter(h1, conf, y == 1, w)
        KA.hist_cells(h2, conf, cell, w)
    np.testing.assert_array_equal(h1, h2)
    assert np.array_equal(np.signbit(h1), np.signbit(h2))
