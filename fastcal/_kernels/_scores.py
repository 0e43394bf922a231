"""Brier score and NLL sums in one pass, fused with validation; label
conversion for AUROC.

Drivers return ``(code, index, total_weight, brier_sum, nll_sum)``.  The
Brier and NLL terms are the same expressions as in ``_binned`` (shared
helpers), so the report and the standalone metrics agree.
"""

import numpy as np
from numba import njit, prange

from ._binned import _class_label, softplus, _sigmoid
from ._common import (
    BAD_BINARY_LABEL,
    BAD_LOGIT,
    BAD_PROB,
    BAD_ROW_SUM,
    BAD_SCORE,
    BAD_WEIGHT,
    CHUNK,
    BAD_CLASS_LABEL,
    OK,
    OPTS,
    PAR_OPTS,
)

_INF = np.inf


@njit(**OPTS)
def _binary_chunk(y, p, w, lo, hi, logits, eps, check, out):
    has_w = w.shape[0] > 0
    one_m_eps = 1.0 - eps
    tw = 0.0
    brier = 0.0
    nll = 0.0
    for i in range(lo, hi):
        yi = y[i]
        if yi == 1:
            t = 1.0
        elif yi == 0:
            t = 0.0
        else:
            return BAD_BINARY_LABEL, i
        wi = 1.0
        if has_w:
            wi = w[i]
            if check and not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i
        if logits:
            z = np.float64(p[i])
            if check and not (z > -_INF and z < _INF):
                return BAD_LOGIT, i
            c = _sigmoid(z)
            nll += wi * softplus(-z if t == 1.0 else z)
        else:
            c = np.float64(p[i])
            if check and not (c >= 0.0 and c <= 1.0):
                return BAD_PROB, i
            q = c if t == 1.0 else 1.0 - c
            if q < eps:
                q = eps
            elif q > one_m_eps:
                q = one_m_eps
            nll -= wi * np.log(q)
        d = c - t
        brier += wi * (d * d)
        tw += wi
    out[0] += tw
    out[1] += brier
    out[2] += nll
    return OK, -1


@njit(**OPTS)
def _multiclass_chunk(y, P, w, lo, hi, logits, eps, tol, check, out):
    C = P.shape[1]
    has_w = w.shape[0] > 0
    one_m_eps = 1.0 - eps
    tw = 0.0
    brier = 0.0
    nll = 0.0
    for i in range(lo, hi):
        lab = _class_label(y[i], C)
        if lab < 0:
            return BAD_CLASS_LABEL, i
        wi = 1.0
        if has_w:
            wi = w[i]
            if check and not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i
        if logits:
            m = -_INF
            for k in range(C):
                zk = np.float64(P[i, k])
                if check and not (zk > -_INF and zk < _INF):
                    return BAD_LOGIT, i
                if zk > m:
                    m = zk
            s = 0.0
            s2 = 0.0
            for k in range(C):
                e = np.exp(np.float64(P[i, k]) - m)
                s += e
                s2 += e * e
            zy = np.float64(P[i, lab])
            py = np.exp(zy - m) / s
            brier += wi * (s2 / (s * s) - 2.0 * py + 1.0)
            nll += wi * (m + np.log(s) - zy)
        else:
            s = 0.0
            s2 = 0.0
            for k in range(C):
                v = np.float64(P[i, k])
                if check and not (v >= 0.0 and v <= 1.0):
                    return BAD_PROB, i
                s += v
                s2 += v * v
            if check and not (abs(s - 1.0) <= tol):
                return BAD_ROW_SUM, i
            py = np.float64(P[i, lab])
            d = py - 1.0
            brier += wi * (s2 - py * py + d * d)
            if py < eps:
                py = eps
            elif py > one_m_eps:
                py = one_m_eps
            nll -= wi * np.log(py)
        tw += wi
    out[0] += tw
    out[1] += brier
    out[2] += nll
    return OK, -1


@njit(**OPTS)
def _finish(out, codes, idx):
    for ch in range(codes.shape[0]):
        if codes[ch] != OK:
            return codes[ch], idx[ch], 0.0, 0.0, 0.0
    tw = 0.0
    b = 0.0
    l = 0.0
    for ch in range(out.shape[0]):
        tw += out[ch, 0]
        b += out[ch, 1]
        l += out[ch, 2]
    return OK, -1, tw, b, l


@njit(**OPTS)
def binary_scores(y, p, w, logits, eps, check):
    n = p.shape[0]
    nch = max(1, (n + CHUNK - 1) // CHUNK)
    out = np.zeros((nch, 3))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in range(nch):
        lo = ch * CHUNK
        c, i = _binary_chunk(y, p, w, lo, min(n, lo + CHUNK), logits, eps, check, out[ch])
        codes[ch] = c
        idx[ch] = i
        if c != OK:
            break
    return _finish(out, codes, idx)


@njit(**PAR_OPTS)
def binary_scores_parallel(y, p, w, logits, eps, check):
    n = p.shape[0]
    nch = max(1, (n + CHUNK - 1) // CHUNK)
    out = np.zeros((nch, 3))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in prange(nch):
        lo = ch * CHUNK
        c, i = _binary_chunk(y, p, w, lo, min(n, lo + CHUNK), logits, eps, check, out[ch])
        codes[ch] = c
        idx[ch] = i
    return _finish(out, codes, idx)


@njit(**OPTS)
def multiclass_scores(y, P, w, logits, eps, tol, check):
    n = P.shape[0]
    nch = max(1, (n + CHUNK - 1) // CHUNK)
    out = np.zeros((nch, 3))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in range(nch):
        lo = ch * CHUNK
        c, i = _multiclass_chunk(y, P, w, lo, min(n, lo + CHUNK), logits, eps, tol, check,
                                 out[ch])
        codes[ch] = c
        idx[ch] = i
        if c != OK:
            break
    return _finish(out, codes, idx)


@njit(**PAR_OPTS)
def multiclass_scores_parallel(y, P, w, logits, eps, tol, check):
    n = P.shape[0]
    nch = max(1, (n + CHUNK - 1) // CHUNK)
    out = np.zeros((nch, 3))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in prange(nch):
        lo = ch * CHUNK
        c, i = _multiclass_chunk(y, P, w, lo, min(n, lo + CHUNK), logits, eps, tol, check,
                                 out[ch])
        codes[ch] = c
        idx[ch] = i
    return _finish(out, codes, idx)


@njit(**OPTS)
def binary_labels(y, s, w):
    """Check 0/1 labels, finite scores and weights; return labels as uint8."""
    n = s.shape[0]
    lab = np.empty(n, np.uint8)
    has_w = w.shape[0] > 0
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
        if has_w:
            wi = w[i]
            if not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i, lab
    return OK, -1, lab
