"""Shared plumbing between the public metrics and the report: validated input
to binned sufficient statistics, serial or parallel, with the errors raised.
"""

import threading

import numpy as np

from . import _validation as V
from ._kernels import _binned as B

# Inputs with at least this many elements (rows x classes) use both cores.
PARALLEL_MIN = 1 << 17

# Only one parallel region at a time: whatever Numba threading layer is in
# use (the workqueue layer is not thread-safe), a second Python thread that
# finds the lock taken runs the serial kernel instead, which releases the GIL.
_PAR_LOCK = threading.Lock()


def run(serial, parallel, work, *args):
    """Call the serial kernel for small work, the parallel one for large work."""
    if work >= PARALLEL_MIN and _PAR_LOCK.acquire(blocking=False):
        try:
            return parallel(*args)
        finally:
            _PAR_LOCK.release()
    return serial(*args)


class Binned:
    """Result of one pass: binned statistics and the fused scores."""

    __slots__ = ("layout", "bins", "scores", "n", "n_classes", "edges", "conf", "corr",
                 "dtype", "from_logits", "weighted")


def prepare(y_true, y_prob, sample_weight, prob_name="y_prob"):
    y_prob = V.as_prob(y_prob, prob_name)
    y_true = V.as_labels(y_true)
    n = V.check_lengths(y_true, y_prob, prob_name)
    w = V.as_weight(sample_weight, n)
    return y_true, y_prob, w, n


def binned(y_true, y_prob, *, n_bins, strategy, right, classwise, from_logits,
           sample_weight, scores, want_cc, check=True):
    """Validate and compute binned statistics in one pass (two for quantile bins)."""
    n_bins = V.check_n_bins(n_bins)
    if strategy not in V.STRATEGIES:
        V.check_choice(strategy, "strategy", V.STRATEGIES)
    R = V.on(right)
    L = V.on(from_logits)
    SC = V.on(scores)
    CH = V.on(check)
    y_true, y_prob, w, n = prepare(y_true, y_prob, sample_weight)
    dtype = y_prob.dtype
    eps = V.eps_for(dtype)
    out = Binned()
    out.n = n
    out.dtype = dtype
    out.from_logits = bool(from_logits)
    out.weighted = w is not None
    uniform = strategy == "uniform"
    edges = V.uniform_edges(n_bins)
    need_cc = want_cc or not uniform
    conf = np.empty(n) if need_cc else None
    corr = np.empty(n, np.bool_) if need_cc else None
    out.conf, out.corr = conf, corr

    if y_prob.ndim == 1:
        if classwise:
            raise ValueError(
                "classwise=True needs y_prob of shape (n, C); a 1-D y_prob is already the "
                "binary problem of class 1. For the two-class average pass "
                "np.column_stack([1 - p, p]) with integer labels."
            )
        out.layout = "binary"
        out.n_classes = 2
        code, idx, bins, sc = run(B.binary_stats, B.binary_stats_parallel, n,
                                  y_true, y_prob, w, edges, True, R, L, SC, eps, CH,
                                  conf, corr)
        V.raise_for_status(code, idx, y_true, y_prob, w)
    else:
        C = y_prob.shape[1]
        out.n_classes = C
        K, shift, mask = V.keys(y_prob)
        tol = V.row_sum_tol(dtype, C)
        work = n * C
        if classwise:
            out.layout = "classwise"
            out.conf = out.corr = None
            if not uniform:
                # validate first, then per-class quantile edges on the probabilities
                code, idx, _, _ = run(B.toplabel_stats, B.toplabel_stats_parallel, work,
                                      y_true, y_prob, K, shift, mask, w, edges, True, R, L,
                                      None, eps, tol, CH, None, None)
                V.raise_for_status(code, idx, y_true, y_prob, w)
                P = _softmax(y_prob) if from_logits else y_prob
                edges = np.stack([V.quantile_edges(P[:, k], n_bins, w) for k in range(C)])
            code, idx, bins, _ = run(B.classwise_stats, B.classwise_stats_parallel, work,
                                     y_true, y_prob, K, shift, mask, w, edges,
                                     V.on(uniform), R, L, tol, CH)
            V.raise_for_status(code, idx, y_true, y_prob, w)
            sc = np.zeros(2)
            if scores:
                _, _, _, sc = run(B.toplabel_stats, B.toplabel_stats_parallel, work,
                                  y_true, y_prob, K, shift, mask, w, V.uniform_edges(n_bins),
                                  True, R, L, True, eps, tol, None, None, None)
            out.bins, out.scores, out.edges = bins, sc, edges
            return out
        out.layout = "top-label"
        code, idx, bins, sc = run(B.toplabel_stats, B.toplabel_stats_parallel, work,
                                  y_true, y_prob, K, shift, mask, w, edges, True, R, L, SC,
                                  eps, tol, CH, conf, corr)
        V.raise_for_status(code, idx, y_true, y_prob, w)
    if not uniform:
        edges = V.quantile_edges(conf, n_bins, w).reshape(1, -1)
        code, idx, bins, _ = run(B.binary_stats, B.binary_stats_parallel, n,
                                 corr, conf, w, edges, None, R, None, None, eps, None,
                                 None, None)
    out.bins = bins
    out.scores = sc
    out.edges = edges
    return out


def _softmax(Z):
    Z = np.asarray(Z, dtype=np.float64)
    m = Z.max(axis=1, keepdims=True)
    e = np.exp(Z - m)
    return e / e.sum(axis=1, keepdims=True)
