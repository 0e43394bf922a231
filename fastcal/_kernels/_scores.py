"""Brier score and NLL sums in one pass, fused with validation; label
conversion for AUROC.

Drivers return ``(code, index, total_weight, brier_sum, nll_sum)``; with
``want_nll`` on they compute the NLL sum (and leave the Brier sum 0), off the
Brier sum: each metric pays only for its own terms (the log is the cost).  The
per-sample terms are the helpers of ``_binned`` (``binary_terms``,
``clipped_nll``, the row statistics), so the report and the standalone
metrics compute the same expressions.  Switches follow ``_binned``: ``True``
or ``None``.
"""

import numpy as np
from numba import njit, prange

from ._binned import (
    binary_element,
    binary_first_error,
    class_label,
    clipped_nll,
    multiclass_first_error,
    n_chunks,
    row_logits,
    ROW_BLOCK,
    rows_probs,
    softplus,
)
from ._common import BAD_BINARY_LABEL, BAD_SCORE, BAD_WEIGHT, CHUNK, NWORKERS, OK, OPTS, PAR_OPTS, fetch_add

_INF = np.inf


@njit(**OPTS)
def binary_chunk(y, p, w, lo, hi, logits, want_nll, eps, check, out):
    ok = True
    tw = 0.0
    brier = 0.0
    nll = 0.0
    for i in range(lo, hi):
        t, wi, z, c, valid = binary_element(y, p, w, i, logits, check)
        ok &= valid
        if want_nll is not None:
            if logits is not None:
                nll += wi * softplus(-z if t == 1.0 else z)
            else:
                nll += wi * clipped_nll(c if t == 1.0 else 1.0 - c, eps)
        else:
            d = c - t
            brier += wi * (d * d)
        tw += wi
    out[0] += tw
    out[1] += brier
    out[2] += nll
    return ok


@njit(**OPTS)
def multiclass_chunk(y, P, K, shift, mask, one, w, lo, hi, logits, want_nll, want_brier, eps,
                     tol, check, out):
    C = P.shape[1]
    ok = True
    tw = 0.0
    brier = 0.0
    nll = 0.0
    bam = np.empty(ROW_BLOCK, np.int64)
    bs = np.empty(ROW_BLOCK)
    bs2 = np.empty(ROW_BLOCK)
    bv = np.empty(ROW_BLOCK, np.bool_)
    for i in range(lo, hi):
        j = (i - lo) & (ROW_BLOCK - 1)
        if logits is None and j == 0:
            rows_probs(P, K, i, min(hi, i + ROW_BLOCK), one, want_brier, bam, bs, bs2, bv)
        lab, valid = class_label(y[i], C)
        ok &= valid
        wi = 1.0
        if w is not None:
            wi = w[i]
            if check is not None:
                ok &= (wi >= 0.0) & (wi < _INF)
        if logits is not None:
            am, zmax, s, s2, nbad = row_logits(P, K, i, shift, mask, want_brier)
            if check is not None:
                ok &= nbad == 0
            zy = np.float64(P[i, lab])
            if want_nll is not None:
                nll += wi * (zmax + np.log(s) - zy)
            else:
                py = np.exp(zy - zmax) / s
                brier += wi * (s2 / (s * s) - 2.0 * py + 1.0)
        else:
            s = bs[j]
            s2 = bs2[j]
            if check is not None:
                ok &= bv[j] & (abs(s - 1.0) <= tol)
            py = np.float64(P[i, lab])
            if want_nll is not None:
                nll += wi * clipped_nll(py, eps)
            else:
                d = py - 1.0
                brier += wi * (s2 - py * py + d * d)
        tw += wi
    out[0] += tw
    out[1] += brier
    out[2] += nll
    return ok


@njit(**OPTS)
def _sum_rows(out):
    tw = 0.0
    b = 0.0
    l = 0.0
    for ch in range(out.shape[0]):
        tw += out[ch, 0]
        b += out[ch, 1]
        l += out[ch, 2]
    return tw, b, l


@njit(**OPTS)
def _binary_finish(y, p, w, logits, check, out, oks):
    for ch in range(oks.shape[0]):
        if not oks[ch]:
            lo = ch * CHUNK
            code, i = binary_first_error(y, p, w, lo, min(p.shape[0], lo + CHUNK), logits, check)
            return code, i, 0.0, 0.0, 0.0
    tw, b, l = _sum_rows(out)
    return OK, -1, tw, b, l


@njit(**OPTS)
def binary_scores(y, p, w, logits, want_nll, eps, check):
    n = p.shape[0]
    nch = n_chunks(n)
    out = np.zeros((nch, 3))
    oks = np.ones(nch, np.bool_)
    for ch in range(nch):
        lo = ch * CHUNK
        oks[ch] = binary_chunk(y, p, w, lo, min(n, lo + CHUNK), logits, want_nll, eps, check,
                                  out[ch])
        if not oks[ch]:
            break
    return _binary_finish(y, p, w, logits, check, out, oks)


@njit(**PAR_OPTS)
def binary_scores_parallel(y, p, w, logits, want_nll, eps, check):
    n = p.shape[0]
    nch = n_chunks(n)
    out = np.zeros((nch, 3))
    oks = np.ones(nch, np.bool_)
    ctr = np.zeros(1, np.int64)
    for _ in prange(NWORKERS):
        while True:
            ch = fetch_add(ctr, 0)
            if ch >= nch:
                break
            lo = ch * CHUNK
            oks[ch] = binary_chunk(y, p, w, lo, min(n, lo + CHUNK), logits, want_nll, eps, check,
                                      out[ch])
    return _binary_finish(y, p, w, logits, check, out, oks)


@njit(**OPTS)
def _multiclass_finish(y, P, w, logits, tol, check, out, oks):
    for ch in range(oks.shape[0]):
        if not oks[ch]:
            lo = ch * CHUNK
            code, i = multiclass_first_error(y, P, w, lo, min(P.shape[0], lo + CHUNK),
                                             logits, tol, check)
            return code, i, 0.0, 0.0, 0.0
    tw, b, l = _sum_rows(out)
    return OK, -1, tw, b, l


@njit(**OPTS)
def multiclass_scores(y, P, K, shift, mask, one, w, logits, want_nll, want_brier, eps, tol,
                      check):
    n = P.shape[0]
    nch = n_chunks(n)
    out = np.zeros((nch, 3))
    oks = np.ones(nch, np.bool_)
    for ch in range(nch):
        lo = ch * CHUNK
        oks[ch] = multiclass_chunk(y, P, K, shift, mask, one, w, lo, min(n, lo + CHUNK), logits,
                                   want_nll, want_brier, eps, tol, check, out[ch])
        if not oks[ch]:
            break
    return _multiclass_finish(y, P, w, logits, tol, check, out, oks)


@njit(**PAR_OPTS)
def multiclass_scores_parallel(y, P, K, shift, mask, one, w, logits, want_nll, want_brier, eps,
                               tol, check):
    n = P.shape[0]
    nch = n_chunks(n)
    out = np.zeros((nch, 3))
    oks = np.ones(nch, np.bool_)
    ctr = np.zeros(1, np.int64)
    for _ in prange(NWORKERS):
        while True:
            ch = fetch_add(ctr, 0)
            if ch >= nch:
                break
            lo = ch * CHUNK
            oks[ch] = multiclass_chunk(y, P, K, shift, mask, one, w, lo, min(n, lo + CHUNK), logits,
                                       want_nll, want_brier, eps, tol, check, out[ch])
    return _multiclass_finish(y, P, w, logits, tol, check, out, oks)


@njit(**OPTS)
def binary_labels(y, s, w):
    """Check 0/1 labels, finite scores and weights; return labels as uint8."""
    n = s.shape[0]
    lab = np.empty(n, np.uint8)
    for i in range(n):
        yi = y[i]
        if yi == 1:
            lab[i] = 1
        elif yi == 0:
            lab[i] = 0
        else:
            return BAD_BINARY_LABEL, i, lab
        v = np.float64(s[i])
        if not (v > -_INF and v < _INF):
            return BAD_SCORE, i, lab
        if w is not None:
            wi = w[i]
            if not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i, lab
    return OK, -1, lab
