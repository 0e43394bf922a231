"""Binned sufficient statistics in one pass, fused with validation.

Every driver returns ``(code, index, bins, scores)`` where

* ``code``/``index`` is the first invalid element found (``code == OK`` and
  ``index == -1`` when the input is valid; see ``_common``),
* ``bins`` is float64 ``(3, n_bins)`` (``(C, 3, n_bins)`` classwise) holding per
  bin the sum of weights, the sum of weight * confidence and the sum of
  weight * correct,
* ``scores`` is float64 ``(2,)``: the weighted sums of the Brier term and of the
  NLL term (zeros when ``scores`` is False).

Rows are processed in fixed chunks of ``CHUNK``; partial states are reduced in
chunk order, so serial and parallel drivers return bitwise identical results.

Bin rule (DESIGN.md section 3): with ``right=True`` bin ``b`` is
``(e_b, e_{b+1}]`` and 0 falls in bin 0 (``searchsorted(edges[1:-1], c,
side="left")``); with ``right=False`` it is ``[e_b, e_{b+1})`` and 1 falls in
the last bin (``side="right"``).  Confidences are compared in float64.
"""

import numpy as np
from numba import njit, prange

from ._common import (
    BAD_BINARY_LABEL,
    BAD_CLASS_LABEL,
    BAD_LOGIT,
    BAD_PROB,
    BAD_ROW_SUM,
    BAD_WEIGHT,
    CHUNK,
    OK,
    OPTS,
    PAR_OPTS,
)

_INF = np.inf


@njit(**OPTS)
def find_bin(c, edges, nb, uniform, right):
    """Index of the bin holding float64 confidence ``c``.

    ``edges`` has ``nb + 1`` increasing entries.  ``uniform`` enables a
    guess ``int(c * nb)`` that is then corrected against the exact edges, so
    the result is the same as the binary search, only faster.
    """
    if uniform:
        k = int(c * nb)
        if k > nb - 1:
            k = nb - 1
        elif k < 0:
            k = 0
        if right:
            while k > 0 and c <= edges[k]:
                k -= 1
            while k < nb - 1 and c > edges[k + 1]:
                k += 1
        else:
            while k > 0 and c < edges[k]:
                k -= 1
            while k < nb - 1 and c >= edges[k + 1]:
                k += 1
        return k
    lo = 0
    hi = nb - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        e = edges[mid + 1]
        if (c > e) if right else (c >= e):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**OPTS)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(**OPTS)
def softplus(z):
    """log(1 + exp(z)) without overflow or loss for large |z|."""
    if z > 0.0:
        return z + np.log1p(np.exp(-z))
    return np.log1p(np.exp(z))


@njit(**OPTS)
def _weight(w, i, has_w):
    if has_w:
        return w[i]
    return 1.0


# ---------------------------------------------------------------------------
# chunk workers


@njit(**OPTS)
def _binary_chunk(y, p, w, lo, hi, edges, uniform, right, logits, scores, eps,
                  check, bins, out, conf_out, corr_out):
    nb = bins.shape[1]
    has_w = w.shape[0] > 0
    want = conf_out.shape[0] > 0
    brier = 0.0
    nll = 0.0
    one_m_eps = 1.0 - eps
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
        else:
            z = 0.0
            c = np.float64(p[i])
            if check and not (c >= 0.0 and c <= 1.0):
                return BAD_PROB, i
        k = find_bin(c, edges, nb, uniform, right)
        bins[0, k] += wi
        bins[1, k] += wi * c
        bins[2, k] += wi * t
        if scores:
            d = c - t
            brier += wi * (d * d)
            if logits:
                nll += wi * softplus(-z if t == 1.0 else z)
            else:
                q = c if t == 1.0 else 1.0 - c
                if q < eps:
                    q = eps
                elif q > one_m_eps:
                    q = one_m_eps
                nll -= wi * np.log(q)
        if want:
            conf_out[i] = c
            corr_out[i] = np.uint8(t)
    out[0] += brier
    out[1] += nll
    return OK, -1


@njit(**OPTS)
def _class_label(yi, C):
    """Integer label in [0, C) or -1."""
    if not (yi >= 0 and yi < C):
        return -1
    lab = int(yi)
    if lab != yi:
        return -1
    return lab


@njit(**OPTS)
def _toplabel_chunk(y, P, w, lo, hi, edges, uniform, right, logits, scores, eps,
                    tol, check, bins, out, conf_out, corr_out):
    nb = bins.shape[1]
    C = P.shape[1]
    has_w = w.shape[0] > 0
    want = conf_out.shape[0] > 0
    brier = 0.0
    nll = 0.0
    one_m_eps = 1.0 - eps
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
            am = 0
            for k in range(C):
                zk = np.float64(P[i, k])
                if check and not (zk > -_INF and zk < _INF):
                    return BAD_LOGIT, i
                if zk > m:
                    m = zk
                    am = k
            s = 0.0
            s2 = 0.0
            for k in range(C):
                e = np.exp(np.float64(P[i, k]) - m)
                s += e
                s2 += e * e
            c = 1.0 / s
            if scores:
                zy = np.float64(P[i, lab])
                py = np.exp(zy - m) / s
                brier += wi * (s2 / (s * s) - 2.0 * py + 1.0)
                nll += wi * (m + np.log(s) - zy)
        else:
            m = -1.0
            am = 0
            s = 0.0
            s2 = 0.0
            for k in range(C):
                v = np.float64(P[i, k])
                if check and not (v >= 0.0 and v <= 1.0):
                    return BAD_PROB, i
                s += v
                s2 += v * v
                if v > m:
                    m = v
                    am = k
            if check and not (abs(s - 1.0) <= tol):
                return BAD_ROW_SUM, i
            c = m
            if scores:
                py = np.float64(P[i, lab])
                d = py - 1.0
                brier += wi * (s2 - py * py + d * d)
                if py < eps:
                    py = eps
                elif py > one_m_eps:
                    py = one_m_eps
                nll -= wi * np.log(py)
        t = 1.0 if am == lab else 0.0
        k = find_bin(c, edges, nb, uniform, right)
        bins[0, k] += wi
        bins[1, k] += wi * c
        bins[2, k] += wi * t
        if want:
            conf_out[i] = c
            corr_out[i] = np.uint8(t)
    out[0] += brier
    out[1] += nll
    return OK, -1


@njit(**OPTS)
def _classwise_chunk(y, P, w, lo, hi, edges, uniform, right, logits, tol, check,
                     bins):
    nb = bins.shape[2]
    C = P.shape[1]
    has_w = w.shape[0] > 0
    per_class_edges = edges.shape[0] > 1
    for i in range(lo, hi):
        lab = _class_label(y[i], C)
        if lab < 0:
            return BAD_CLASS_LABEL, i
        wi = 1.0
        if has_w:
            wi = w[i]
            if check and not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i
        m = 0.0
        s = 0.0
        if logits:
            m = -_INF
            for k in range(C):
                zk = np.float64(P[i, k])
                if check and not (zk > -_INF and zk < _INF):
                    return BAD_LOGIT, i
                if zk > m:
                    m = zk
            for k in range(C):
                s += np.exp(np.float64(P[i, k]) - m)
        else:
            for k in range(C):
                v = np.float64(P[i, k])
                if check and not (v >= 0.0 and v <= 1.0):
                    return BAD_PROB, i
                s += v
            if check and not (abs(s - 1.0) <= tol):
                return BAD_ROW_SUM, i
        for k in range(C):
            if logits:
                c = np.exp(np.float64(P[i, k]) - m) / s
            else:
                c = np.float64(P[i, k])
            t = 1.0 if k == lab else 0.0
            e = edges[k] if per_class_edges else edges[0]
            b = find_bin(c, e, nb, uniform, right)
            bins[k, 0, b] += wi
            bins[k, 1, b] += wi * c
            bins[k, 2, b] += wi * t
    return OK, -1


# ---------------------------------------------------------------------------
# drivers: serial and parallel share the chunk workers and the reduction


@njit(**OPTS)
def _n_chunks(n):
    return max(1, (n + CHUNK - 1) // CHUNK)


@njit(**OPTS)
def _first_error(codes, idx):
    for ch in range(codes.shape[0]):
        if codes[ch] != OK:
            return codes[ch], idx[ch]
    return OK, -1


@njit(**OPTS)
def _reduce(part):
    out = np.zeros(part.shape[1:])
    for ch in range(part.shape[0]):
        out += part[ch]
    return out


@njit(**OPTS)
def _binary_one(y, p, w, edges, uniform, right, logits, scores, eps, check,
                conf_out, corr_out, bins, out, codes, idx, ch):
    n = p.shape[0]
    lo = ch * CHUNK
    hi = min(n, lo + CHUNK)
    code, i = _binary_chunk(y, p, w, lo, hi, edges[0], uniform, right, logits,
                            scores, eps, check, bins[ch], out[ch], conf_out,
                            corr_out)
    codes[ch] = code
    idx[ch] = i


@njit(**OPTS)
def binary_stats(y, p, w, edges, uniform, right, logits, scores, eps, check,
                 conf_out, corr_out):
    """Binary input: ``p`` (n,) probabilities of class 1 (or logits)."""
    nb = edges.shape[1] - 1
    nch = _n_chunks(p.shape[0])
    bins = np.zeros((nch, 3, nb))
    out = np.zeros((nch, 2))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in range(nch):
        _binary_one(y, p, w, edges, uniform, right, logits, scores, eps, check,
                    conf_out, corr_out, bins, out, codes, idx, ch)
        if codes[ch] != OK:
            break
    code, i = _first_error(codes, idx)
    return code, i, _reduce(bins), _reduce(out)


@njit(**PAR_OPTS)
def binary_stats_parallel(y, p, w, edges, uniform, right, logits, scores, eps,
                          check, conf_out, corr_out):
    nb = edges.shape[1] - 1
    nch = _n_chunks(p.shape[0])
    bins = np.zeros((nch, 3, nb))
    out = np.zeros((nch, 2))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in prange(nch):
        _binary_one(y, p, w, edges, uniform, right, logits, scores, eps, check,
                    conf_out, corr_out, bins, out, codes, idx, ch)
    code, i = _first_error(codes, idx)
    return code, i, _reduce(bins), _reduce(out)


@njit(**OPTS)
def _toplabel_one(y, P, w, edges, uniform, right, logits, scores, eps, tol,
                  check, conf_out, corr_out, bins, out, codes, idx, ch):
    n = P.shape[0]
    lo = ch * CHUNK
    hi = min(n, lo + CHUNK)
    code, i = _toplabel_chunk(y, P, w, lo, hi, edges[0], uniform, right,
                              logits, scores, eps, tol, check, bins[ch],
                              out[ch], conf_out, corr_out)
    codes[ch] = code
    idx[ch] = i


@njit(**OPTS)
def toplabel_stats(y, P, w, edges, uniform, right, logits, scores, eps, tol,
                   check, conf_out, corr_out):
    """Multiclass top-label: ``P`` (n, C) probabilities (or logits)."""
    nb = edges.shape[1] - 1
    nch = _n_chunks(P.shape[0])
    bins = np.zeros((nch, 3, nb))
    out = np.zeros((nch, 2))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in range(nch):
        _toplabel_one(y, P, w, edges, uniform, right, logits, scores, eps, tol,
                      check, conf_out, corr_out, bins, out, codes, idx, ch)
        if codes[ch] != OK:
            break
    code, i = _first_error(codes, idx)
    return code, i, _reduce(bins), _reduce(out)


@njit(**PAR_OPTS)
def toplabel_stats_parallel(y, P, w, edges, uniform, right, logits, scores, eps,
                            tol, check, conf_out, corr_out):
    nb = edges.shape[1] - 1
    nch = _n_chunks(P.shape[0])
    bins = np.zeros((nch, 3, nb))
    out = np.zeros((nch, 2))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in prange(nch):
        _toplabel_one(y, P, w, edges, uniform, right, logits, scores, eps, tol,
                      check, conf_out, corr_out, bins, out, codes, idx, ch)
    code, i = _first_error(codes, idx)
    return code, i, _reduce(bins), _reduce(out)


@njit(**OPTS)
def _classwise_one(y, P, w, edges, uniform, right, logits, tol, check, bins,
                   codes, idx, ch):
    n = P.shape[0]
    lo = ch * CHUNK
    hi = min(n, lo + CHUNK)
    code, i = _classwise_chunk(y, P, w, lo, hi, edges, uniform, right, logits,
                               tol, check, bins[ch])
    codes[ch] = code
    idx[ch] = i


@njit(**OPTS)
def classwise_stats(y, P, w, edges, uniform, right, logits, tol, check):
    """Classwise: column k is the binary problem (P[:, k], y == k)."""
    nb = edges.shape[1] - 1
    C = P.shape[1]
    nch = _n_chunks(P.shape[0])
    bins = np.zeros((nch, C, 3, nb))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in range(nch):
        _classwise_one(y, P, w, edges, uniform, right, logits, tol, check, bins,
                       codes, idx, ch)
        if codes[ch] != OK:
            break
    code, i = _first_error(codes, idx)
    return code, i, _reduce(bins), np.zeros(2)


@njit(**PAR_OPTS)
def classwise_stats_parallel(y, P, w, edges, uniform, right, logits, tol, check):
    nb = edges.shape[1] - 1
    C = P.shape[1]
    nch = _n_chunks(P.shape[0])
    bins = np.zeros((nch, C, 3, nb))
    codes = np.zeros(nch, np.int64)
    idx = np.zeros(nch, np.int64)
    for ch in prange(nch):
        _classwise_one(y, P, w, edges, uniform, right, logits, tol, check, bins,
                       codes, idx, ch)
    code, i = _first_error(codes, idx)
    return code, i, _reduce(bins), np.zeros(2)
