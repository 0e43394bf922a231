"""Binned sufficient statistics in one pass, fused with validation.

Every driver returns ``(code, index, bins, scores)`` where

* ``code``/``index`` is the first invalid element found (``code == OK`` and
  ``index == -1`` when the input is valid; see ``_common``),
* ``bins`` is float64 ``(3, n_bins)`` (``(C, 3, n_bins)`` classwise) holding per
  bin the sum of weights, the sum of weight * confidence and the sum of
  weight * correct,
* ``scores`` is float64 ``(2,)``: the weighted sums of the Brier term and of the
  NLL term (zeros unless ``scores`` is on).

Switches.  ``uniform`` and ``check`` are runtime booleans: one
specialisation serves both settings (they cost little or nothing at run
time).  ``right``, ``logits`` and ``scores`` are ``True`` (on) or ``None``
(off), and the optional arrays (``w``, ``tab``, ``conf_out``, ``corr_out``,
``terms_out``) and ``ignore`` are values or ``None``: Numba compiles one
specialisation per combination used and prunes the dead branches (``x is
None`` on an argument is resolved at compile time).  These buy speed: a
runtime ``right`` made the binary ECE pass several times slower (the
edge-correction loops of :func:`find_bin` no longer fold into the bin
lookup); ``scores`` off leaves the score code out of the ECE loop.  The
measurements behind each choice: docs/performance.md, "Cold start".  Validation inside the loops is branch-free (``ok &= ...``); a
chunk found invalid is rescanned by a slow function that finds the first bad
element, so only failing calls pay for the message.

Rows are processed in fixed chunks of ``CHUNK``; partial states are reduced in
chunk order; called on one chunk's rows a driver returns that chunk's partial,
so ``fastcal.core.pipeline`` runs them chunk by chunk on threads and gets bitwise the
serial result.

Bin rule (docs/design.md, section 3): with ``right`` on, bin ``b`` is
``(e_b, e_{b+1}]`` and 0 falls in bin 0 (``searchsorted(edges[1:-1], c,
side="left")``); with ``right`` off it is ``[e_b, e_{b+1})`` and 1 falls in
the last bin (``side="right"``).  Confidences are compared in float64.
"""

import numpy as np
from numba import njit

from ..common import (
    INNER,
    BAD_BINARY_LABEL,
    BAD_CLASS_LABEL,
    BAD_LOGIT,
    BAD_PROB,
    BAD_ROW_SUM,
    BAD_WEIGHT,
    CHUNK,
    OK,
    OPTS,
)
from .stats import ce_from_bins
from ..vmath import exp_, exp_block, log1p_block, log_block
from .bins import EXP_BLOCK, ROW_BLOCK, _INF, bad_value, bad_weight, class_label, find_bin, sigmoid
from .rows import chunk_rows, row_logits_tab, rows_probs, value

# ---------------------------------------------------------------------------
# slow paths: find the first invalid element of a chunk known to hold one


@njit(**INNER)
def binary_first_error(y, p, w, lo, hi, logits, check):
    for i in range(lo, hi):
        yi = y[i]
        if not (yi == 0 or yi == 1):
            return BAD_BINARY_LABEL, i
        if check:
            if bad_weight(w, i):
                return BAD_WEIGHT, i
            if bad_value(np.float64(p[i]), logits):
                return (BAD_LOGIT if logits is not None else BAD_PROB), i
    return OK, -1


@njit(**INNER)
def multiclass_first_error(y, P, tab, w, lo, hi, logits, tol, check, ignore):
    C = P.shape[1]
    for i in range(lo, hi):
        if ignore is not None and y[i] == ignore:
            continue
        lab, valid = class_label(y[i], C)
        if not valid:
            return BAD_CLASS_LABEL, i
        if check:
            if bad_weight(w, i):
                return BAD_WEIGHT, i
            s = 0.0
            top = -_INF
            for k in range(C):
                v = value(P, i, k, tab)
                if logits is not None:
                    if not (v < _INF):  # NaN, +inf (-inf: masked)
                        return BAD_LOGIT, i
                    top = max(top, v)
                elif not (v >= 0.0 and v <= 1.0):
                    return BAD_PROB, i
                s += v
            if logits is not None and top == -_INF:  # no finite logit
                return BAD_LOGIT, i
            if logits is None and not (abs(s - 1.0) <= tol):
                return BAD_ROW_SUM, i
    return OK, -1


# ---------------------------------------------------------------------------
# chunk workers: return True when every element of the chunk was valid


@njit(**OPTS)
def binary_element(y, p, w, i, logits, check):
    """Element i of binary input: (target, weight, raw value, confidence, valid?).

    Branch-free validity: label 0/1 always; with ``check`` on, the weight is
    finite and non-negative and the value is finite (logits) or in [0, 1].
    """
    t = np.float64(y[i])
    ok = (t == 0.0) | (t == 1.0)
    wi = 1.0
    if w is not None:
        wi = w[i]
        if check:
            ok &= (wi >= 0.0) & (wi < _INF)
    z = np.float64(p[i])
    if logits is not None:
        if check:
            ok &= (z > -_INF) & (z < _INF)
        c = sigmoid(z)
    else:
        c = z
        if check:
            ok &= (c >= 0.0) & (c <= 1.0)
    return t, wi, z, c, ok


@njit(**OPTS)
def nll_arg(t, z, c, logits, eps):
    """What ``nll_block`` takes for one binary row: the softplus argument
    (logits) or the clipped probability of the observed label."""
    if logits is not None:
        return -z if t == 1.0 else z
    q = c if t == 1.0 else 1.0 - c
    return min(max(q, eps), 1.0 - eps)


@njit(inline="always", **INNER)
def nll_terms(q, a, l, n, logits):
    """Binary NLL terms of ``n`` rows into ``l``; vectorised (``vmath`` block
    helpers; ``q``, ``a``, ``l`` are distinct buffers: an aliased block call
    does not vectorise).

    ``logits`` on: ``q`` holds ``x`` and the term is ``softplus(x) =
    max(x, 0) + log1p(exp(-|x|))`` (``q`` and ``a`` are then scratch). Off:
    ``q`` holds a clipped probability and the term is ``-log(q)``.
    """
    if logits is not None:
        for j in range(n):
            x = q[j]
            a[j] = max(x, 0.0)
            l[j] = -abs(x)
        exp_block(l, q, n)
        log1p_block(q, l, n)
        for j in range(n):
            l[j] = a[j] + l[j]
    else:
        log_block(q, l, n)
        for j in range(n):
            l[j] = -l[j]


@njit(**OPTS)
def nll_block(q, a, l, wt, n, logits):
    """:func:`nll_terms` of ``n`` rows into ``l``, and their sum weighted by ``wt``."""
    nll_terms(q, a, l, n, logits)
    t = 0.0
    for j in range(n):
        t += wt[j] * l[j]
    return t


@njit(**INNER)
def binary_chunk(y, p, w, lo, hi, edges, uniform, right, logits, scores, eps,
                 check, bins, out, conf_out, corr_out, terms_out):
    nb = bins.shape[1]
    ok = True
    brier = 0.0
    nll = 0.0
    qb = np.empty(ROW_BLOCK)
    ab = np.zeros(ROW_BLOCK)
    lb = np.empty(ROW_BLOCK)
    wb = np.empty(ROW_BLOCK)
    for b0 in range(lo, hi, ROW_BLOCK):
        b1 = min(hi, b0 + ROW_BLOCK)
        for i in range(b0, b1):
            t, wi, z, c, valid = binary_element(y, p, w, i, logits, check)
            ok &= valid
            k = find_bin(c, edges, nb, uniform, right)
            bins[0, k] += wi
            bins[1, k] += wi * c
            bins[2, k] += wi * t
            if scores is not None:
                d = c - t
                brier += wi * (d * d)
                if terms_out is not None:
                    terms_out[i, 0] = d * d
                j = i - b0
                wb[j] = wi
                qb[j] = nll_arg(t, z, c, logits, eps)
            if conf_out is not None:
                conf_out[i] = c
            if corr_out is not None:
                corr_out[i] = t == 1.0
        if scores is not None:
            nll += nll_block(qb, ab, lb, wb, b1 - b0, logits)
            if terms_out is not None:
                for i in range(b0, b1):
                    terms_out[i, 1] = lb[i - b0]
    out[0] += brier
    out[1] += nll
    return ok


@njit(**OPTS)
def _flush_nll(qb, ab, lb, wb, rb, cnt, logits, terms_out):
    """Weighted NLL sum of the buffered rows, with their logs vectorised (into
    ``lb``, distinct from ``qb``): logits: ``(zmax - z_y) + log(sum exp)``;
    probabilities: ``-log(p_y)`` (``ab`` is 0).  Per-row terms out if wanted."""
    log_block(qb, lb, cnt)
    t = 0.0
    for j in range(cnt):
        if logits is not None:
            l = ab[j] + lb[j]
        else:
            l = ab[j] - lb[j]
        lb[j] = l
        t += wb[j] * l
    if terms_out is not None:
        for j in range(cnt):
            terms_out[rb[j], 1] = lb[j]
    return t


@njit(**INNER)
def toplabel_chunk(y, P, K, shift, mask, one, tab, w, lo, hi, edges, uniform, right,
                   logits, scores, eps, tol, check, ignore, bins, out, conf_out,
                   corr_out, terms_out):
    nb = bins.shape[1]
    C = P.shape[1]
    ok = True
    brier = 0.0
    nll = 0.0
    bam = np.empty(ROW_BLOCK, np.int64)
    bs = np.empty(ROW_BLOCK)
    bs2 = np.empty(ROW_BLOCK)
    bv = np.empty(ROW_BLOCK, np.bool_)
    buf = np.empty(2 * EXP_BLOCK)
    # rows waiting for their log: argument, additive part, weight, row
    qb = np.empty(ROW_BLOCK)
    ab = np.empty(ROW_BLOCK)
    lb = np.empty(ROW_BLOCK)
    wb = np.empty(ROW_BLOCK)
    rb = np.empty(ROW_BLOCK, np.int64)
    cnt = np.intp(0)  # not a literal: one specialisation of _flush_nll
    for i in range(lo, hi):
        j = (i - lo) & (ROW_BLOCK - 1)
        if logits is None and j == 0:
            rows_probs(P, K, tab, i, min(hi, i + ROW_BLOCK), one, scores, bam, bs, bs2, bv)
        if ignore is not None:
            if y[i] == ignore:  # padding: no statistics, no validation
                if conf_out is not None:
                    conf_out[i] = np.nan
                if corr_out is not None:
                    corr_out[i] = False
                if terms_out is not None:
                    terms_out[i, 0] = np.nan
                    terms_out[i, 1] = np.nan
                continue
        lab, valid = class_label(y[i], C)
        ok &= valid
        wi = 1.0
        if w is not None:
            wi = w[i]
            if check:
                ok &= (wi >= 0.0) & (wi < _INF)
        if logits is not None:
            am, zmax, s, s2, nbad = row_logits_tab(P, K, tab, i, shift, mask, one, scores, buf)
            if check:
                ok &= nbad == 0
            c = 1.0 / s
            if scores is not None:
                zy = value(P, i, lab, tab)
                py = exp_(zy - zmax) / s
                b = s2 / (s * s) - 2.0 * py + 1.0
                brier += wi * b
                qb[cnt] = s  # NLL = zmax - z_y + log(s)
                ab[cnt] = zmax - zy
        else:
            am = bam[j]
            s = bs[j]
            s2 = bs2[j]
            valid = bv[j]
            if check:
                ok &= valid & (abs(s - 1.0) <= tol)
            c = value(P, i, am, tab)
            if scores is not None:
                py = value(P, i, lab, tab)
                d = py - 1.0
                b = s2 - py * py + d * d
                brier += wi * b
                qb[cnt] = min(max(py, eps), 1.0 - eps)  # NLL = -log(clipped p_y)
                ab[cnt] = 0.0
        if scores is not None:
            if terms_out is not None:
                terms_out[i, 0] = b
            wb[cnt] = wi
            rb[cnt] = i
            cnt += 1
            if cnt == ROW_BLOCK:
                nll += _flush_nll(qb, ab, lb, wb, rb, cnt, logits, terms_out)
                cnt = np.intp(0)
        t = 1.0 if am == lab else 0.0
        k = find_bin(c, edges, nb, uniform, right)
        bins[0, k] += wi
        bins[1, k] += wi * c
        bins[2, k] += wi * t
        if conf_out is not None:
            conf_out[i] = c
        if corr_out is not None:
            corr_out[i] = am == lab
    if scores is not None and cnt > 0:
        nll += _flush_nll(qb, ab, lb, wb, rb, cnt, logits, terms_out)
    out[0] += brier
    out[1] += nll
    return ok


@njit(**INNER)
def classwise_chunk(y, P, K, shift, mask, one, tab, w, lo, hi, edges, uniform, right,
                    logits, tol, check, bins):
    nb = bins.shape[2]
    C = P.shape[1]
    per_class_edges = edges.shape[0] > 1
    ok = True
    bam = np.empty(ROW_BLOCK, np.int64)
    bs = np.empty(ROW_BLOCK)
    bs2 = np.empty(ROW_BLOCK)
    bv = np.empty(ROW_BLOCK, np.bool_)
    buf = np.empty(2 * EXP_BLOCK)
    for i in range(lo, hi):
        lab, valid = class_label(y[i], C)
        ok &= valid
        wi = 1.0
        if w is not None:
            wi = w[i]
            if check:
                ok &= (wi >= 0.0) & (wi < _INF)
        zmax = 0.0
        s = 1.0
        if logits is not None:
            am, zmax, s, s2, nbad = row_logits_tab(P, K, tab, i, shift, mask, one, None, buf)
            if check:
                ok &= nbad == 0
        elif check:
            j = (i - lo) & (ROW_BLOCK - 1)
            if j == 0:
                rows_probs(P, K, tab, i, min(hi, i + ROW_BLOCK), one, None, bam, bs, bs2, bv)
            ok &= bv[j] & (abs(bs[j] - 1.0) <= tol)
        for k in range(C):
            if logits is not None:
                c = exp_(value(P, i, k, tab) - zmax) / s
            else:
                c = value(P, i, k, tab)
            t = 1.0 if k == lab else 0.0
            e = edges[k] if per_class_edges else edges[0]
            b = find_bin(c, e, nb, uniform, right)
            bins[k, 0, b] += wi
            bins[k, 1, b] += wi * c
            bins[k, 2, b] += wi * t
    return ok


# ---------------------------------------------------------------------------
# drivers: chunks in order, each into a zeroed partial added to the result
# (fastcal.core.pipeline derives the parallel forms: one chunk per call, same sums)


@njit(**OPTS)
def n_chunks(n):
    return max(1, (n + CHUNK - 1) // CHUNK)


@njit(**OPTS)
def binary_stats(y, p, w, edges, uniform, right, logits, scores, eps, check,
                 conf_out, corr_out, terms_out):
    """Binary input: ``p`` (n,) probabilities of class 1 (or logits)."""
    n = p.shape[0]
    nch = n_chunks(n)
    bins = np.zeros((3, edges.shape[1] - 1))
    out = np.zeros(2)
    pb = np.empty_like(bins)
    po = np.empty_like(out)
    for ch in range(nch):
        # each chunk into a zeroed partial state, added in chunk order (the
        # derived parallel form's reduction; one chunk: 0 + x == x, the same bits)
        pb[:] = 0.0
        po[:] = 0.0
        lo = ch * CHUNK
        hi = min(n, lo + CHUNK)
        if not binary_chunk(y, p, w, lo, hi, edges[0], uniform, right, logits, scores,
                            eps, check, pb, po, conf_out, corr_out, terms_out):
            code, i = binary_first_error(y, p, w, lo, hi, logits, check)
            return code, i, bins, out
        bins += pb
        out += po
    return OK, -1, bins, out


@njit(**OPTS)
def toplabel_stats(y, P, K, shift, mask, one, tab, w, edges, uniform, right, logits, scores,
                   eps, tol, check, ignore, conf_out, corr_out, terms_out):
    """Multiclass top-label: ``P`` (n, C) probabilities (or logits); ``tab``
    None, or the float32 table of 16-bit float input stored as uint16;
    ``ignore`` None or the label of rows to skip (padding)."""
    n = P.shape[0]
    cr = chunk_rows(P.shape[1])
    bins = np.zeros((3, edges.shape[1] - 1))
    out = np.zeros(2)
    pb = np.empty_like(bins)
    po = np.empty_like(out)
    for ch in range(max(1, (n + cr - 1) // cr)):
        pb[:] = 0.0  # each chunk into a zeroed partial state, added in chunk order
        po[:] = 0.0
        lo = ch * cr
        hi = min(n, lo + cr)
        if not toplabel_chunk(y, P, K, shift, mask, one, tab, w, lo, hi, edges[0], uniform,
                              right, logits, scores, eps, tol, check, ignore, pb, po, conf_out,
                              corr_out, terms_out):
            code, i = multiclass_first_error(y, P, tab, w, lo, hi, logits, tol, check, ignore)
            return code, i, bins, out
        bins += pb
        out += po
    return OK, -1, bins, out


@njit(**OPTS)
def classwise_stats(y, P, K, shift, mask, one, tab, w, edges, uniform, right, logits, tol,
                    check):
    """Classwise: column k is the binary problem (P[:, k], y == k)."""
    n = P.shape[0]
    cr = chunk_rows(P.shape[1])
    bins = np.zeros((P.shape[1], 3, edges.shape[1] - 1))
    pb = np.empty_like(bins)
    for ch in range(max(1, (n + cr - 1) // cr)):
        pb[:] = 0.0
        lo = ch * cr
        hi = min(n, lo + cr)
        if not classwise_chunk(y, P, K, shift, mask, one, tab, w, lo, hi, edges, uniform,
                               right, logits, tol, check, pb):
            code, i = multiclass_first_error(y, P, tab, w, lo, hi, logits, tol, check, None)
            return code, i, bins, np.zeros(2)
        bins += pb
    return OK, -1, bins, np.zeros(2)


@njit(**OPTS)
def binary_ce(y, p, w, edges, uniform, right, logits, check):
    """Serial binary calibration errors as scalars (no arrays to box: the
    hot-loop path).  Returns (code, index, total, l1, l2, max, signed)."""
    code, i, bins, _ = binary_stats(y, p, w, edges, uniform, right, logits, None, 0.0,
                                    check, None, None, None)
    total, l1, l2, mx, signed = ce_from_bins(bins)
    return code, i, total, l1, l2, mx, signed
