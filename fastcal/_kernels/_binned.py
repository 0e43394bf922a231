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
so ``fastcal._core`` runs them chunk by chunk on threads and gets bitwise the
serial result.

Bin rule (docs/design.md, section 3): with ``right`` on, bin ``b`` is
``(e_b, e_{b+1}]`` and 0 falls in bin 0 (``searchsorted(edges[1:-1], c,
side="left")``); with ``right`` off it is ``[e_b, e_{b+1})`` and 1 falls in
the last bin (``side="right"``).  Confidences are compared in float64.
"""

import numpy as np
from numba import njit

from ._common import (
    INNER,
    ROW_INNER,
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
from ._stats import ce_from_bins
from ._vmath import exp_, exp_block, exp_fast_, exp_fast_block, log1p_block, log_block, sum_block

_INF = np.inf
# Rows whose statistics are computed per call of rows_probs (a power of two);
# also the block of per-row log arguments evaluated together (vectorised).
ROW_BLOCK = 256
# Elements of a row exponentiated per vectorised block.
EXP_BLOCK = 512
# Within this distance of an edge (in units of bin width) the uniform-bin
# guess int(c * n_bins) is checked against the exact float64 edges.
_EDGE_SLACK = 1e-9


@njit(**OPTS)
def find_bin(c, edges, nb, uniform, right):
    """Index of the bin holding float64 confidence ``c`` (never out of range).

    With ``uniform`` on, ``int(c * nb)`` is exact away from the edges and is
    corrected against the float64 edges near them, so the result equals the
    binary search, only faster.
    """
    if uniform:
        x = c * nb
        k = int(x)
        if k > nb - 1:
            k = nb - 1
        elif k < 0:
            k = 0
        f = x - k
        if f > _EDGE_SLACK and f < 1.0 - _EDGE_SLACK:
            return k
        if right is not None:
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
        if right is not None:
            go = c > e
        else:
            go = c >= e
        if go:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**OPTS)
def sigmoid(z):
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
def class_label(yi, C):
    """(label clamped to [0, C), valid?) for an integer or float label."""
    valid = (yi >= 0) & (yi < C)
    lab = np.int64(yi) if valid else np.int64(0)
    valid &= lab == yi
    return lab, valid


# ---------------------------------------------------------------------------
# row statistics for (n, C) input.  ``K`` is the same memory viewed as
# int64 (float64 input) or int32 (float32 input).  For logits (any sign) the
# float order equals the order of the keys  b ^ ((b >> shift) & mask)  with
# -0.0 mapped to +0.0, so max and first argmax are integer reductions that
# vectorise; probabilities need no transform (see row_probs).


@njit(**OPTS)
def value(P, i, k, tab):
    """Element (i, k) of P as float64: read directly, or for 16-bit floats
    stored as uint16 bits (float16, bfloat16: numba has no such dtype)
    through ``tab``, the float32 value of each of the 65536 bit patterns."""
    if tab is None:
        return np.float64(P[i, k])
    return np.float64(tab[P[i, k]])


@njit(**OPTS)
def chunk_rows(C):
    """Rows per chunk of (n, C) input: CHUNK up to C = 32, then about
    2**20 elements per chunk (so vocabulary-sized rows still spread over
    cores).  Depends on C only, so results stay independent of threads."""
    if C <= 32:
        return CHUNK
    return max(16, (CHUNK * 32) // C)


@njit(**ROW_INNER)
def rows_probs(P, K, tab, lo, hi, one, want_s2, am_out, s_out, s2_out, valid_out):
    """For rows lo..hi of probabilities: first argmax, sum, sum of squares (if
    wanted) and validity, into the block arrays (index i - lo).

    For non-negative floats the order of the bit patterns read as signed
    integers (``K``) is the float order, so max, min and first argmax are
    integer reductions that vectorise (the row sums may be reassociated; they
    are never used for binning).  A row is valid when its smallest key is
    non-negative (no negative value or negative NaN) and its largest is at
    most the key ``one`` of 1.0 (no value above 1, no NaN); the rare row that
    fails this is rechecked with float comparisons, which accept -0.0.  An
    invalid row's argmax is meaningless but in range.  Working on a block of
    rows per call keeps the call overhead off the per-row cost.
    """
    C = P.shape[1]
    for i in range(lo, hi):
        s = 0.0
        s2 = 0.0
        m = K[i, 0]
        mn = K[i, 0]
        for k in range(C):
            v = value(P, i, k, tab)
            s += v
            if want_s2 is not None:
                s2 += v * v
            b = K[i, k]
            m = max(m, b)
            mn = min(mn, b)
        am = C
        for k in range(C):
            am = min(am, k if K[i, k] == m else C)
        if am >= C:
            am = 0
        valid = (mn >= 0) & (m <= one)
        if not valid:
            valid = row_in_unit_interval(P, i, tab)
        j = i - lo
        am_out[j] = am
        s_out[j] = s
        s2_out[j] = s2
        valid_out[j] = valid


@njit(**OPTS)
def row_in_unit_interval(P, i, tab):
    for k in range(P.shape[1]):
        v = value(P, i, k, tab)
        if not (v >= 0.0 and v <= 1.0):
            return False
    return True


@njit(**INNER)
def row_exp_sums(P, tab, i, zmax, want_s2, buf):
    """(sum_k exp(z_k - zmax), sum_k exp(z_k - zmax)^2) of row i, through the
    vectorisable ``exp_fast_`` (< 1 ulp; these are only summed) in blocks of
    ``EXP_BLOCK`` elements, summed by ``sum_block`` (fixed order).  ``buf``
    holds 2 * EXP_BLOCK float64 of scratch.  16-bit input is first decoded
    through ``tab`` into the second half of ``buf``."""
    C = P.shape[1]
    e = buf[:EXP_BLOCK]
    x = buf[EXP_BLOCK:]
    row = P[i]
    s = 0.0
    s2 = 0.0
    for b0 in range(0, C, EXP_BLOCK):
        m = min(EXP_BLOCK, C - b0)
        src = row[b0:b0 + m]
        if tab is None:
            for k in range(m):
                e[k] = exp_fast_(np.float64(src[k]) - zmax)
        else:
            for k in range(m):
                x[k] = np.float64(tab[src[k]]) - zmax
            exp_fast_block(x, e, m)
        s += sum_block(e, m)
        if want_s2 is not None:
            for k in range(m):
                e[k] = e[k] * e[k]
            s2 += sum_block(e, m)
    return s, s2


@njit(**INNER)
def row_logits_tab(P, K, tab, i, shift, mask, one, want_s2, buf):
    """(first argmax, max, sum exp(z - max), sum exp(2 (z - max)), invalid count);
    ``buf`` is scratch for the exponentials (see ``row_exp_sums``).

    Everything but the exponentials runs on the integer keys ``K`` (so it
    vectorises whatever the float width): the order, and validity.  NaN and
    +inf are invalid (all exponent bits set, the exponent mask being
    ``one | (one << 1)`` for the key ``one`` of 1.0 in the format, and not
    -inf: negative with a zero mantissa).  -inf is a masked entry (its
    exponential is exactly 0), valid when the row has a finite value: a row
    of -inf only counts as invalid."""
    C = P.shape[1]
    em = one | (one << 1)
    mm = (em & -em) - 1  # the mantissa bits
    nbad = 0
    m = K[i, 0] ^ ((K[i, 0] >> shift) & mask)
    for k in range(C):
        b = K[i, k]
        u = b ^ ((b >> shift) & mask)
        u += u == -1
        m = max(m, u)
        nbad += ((b & em) == em) & ((b >= 0) | ((b & mm) != 0))
    am = C
    for k in range(C):
        b = K[i, k]
        u = b ^ ((b >> shift) & mask)
        u += u == -1
        am = min(am, k if u == m else C)
    if am >= C:  # only with NaN keys: invalid row, keep indices in range
        am = 0
    zmax = value(P, i, am, tab)
    nbad += zmax == -_INF
    s = 1.0
    s2 = 0.0
    if nbad == 0:
        s, s2 = row_exp_sums(P, tab, i, zmax, want_s2, buf)
    return am, zmax, s, s2, nbad


@njit(**OPTS)
def softmax_rows(P, K, tab, shift, mask, one):
    """float64 softmax of (n, C) logits, with exactly the expressions the
    binned kernels use (for quantile edges of classwise bins)."""
    n, C = P.shape
    out = np.empty((n, C))
    buf = np.empty(2 * EXP_BLOCK)
    for i in range(n):
        am, zmax, s, s2, nbad = row_logits_tab(P, K, tab, i, shift, mask, one, None, buf)
        for k in range(C):
            out[i, k] = exp_(value(P, i, k, tab) - zmax) / s
    return out


# ---------------------------------------------------------------------------
# slow paths: find the first invalid element of a chunk known to hold one


@njit(**INNER)
def binary_first_error(y, p, w, lo, hi, logits, check):
    for i in range(lo, hi):
        yi = y[i]
        if not (yi == 0 or yi == 1):
            return BAD_BINARY_LABEL, i
        if check:
            if w is not None:
                wi = w[i]
                if not (wi >= 0.0 and wi < _INF):
                    return BAD_WEIGHT, i
            v = np.float64(p[i])
            if logits is not None:
                if not (v > -_INF and v < _INF):
                    return BAD_LOGIT, i
            elif not (v >= 0.0 and v <= 1.0):
                return BAD_PROB, i
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
            if w is not None:
                wi = w[i]
                if not (wi >= 0.0 and wi < _INF):
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


@njit(**OPTS)
def nll_block(q, a, l, wt, n, logits):
    """Binary NLL terms of ``n`` rows into ``l`` and their weighted sum;
    vectorised (``_vmath`` block helpers; ``q``, ``a``, ``l`` are distinct
    buffers: an aliased block call does not vectorise).

    ``logits`` on: ``q`` holds ``x`` and the term is ``softplus(x) =
    max(x, 0) + log1p(exp(-|x|))`` (``q`` and ``a`` are then scratch). Off:
    ``q`` holds a clipped probability and the term is ``-log(q)``. ``wt``
    holds the weights.
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
# (fastcal._core derives the parallel forms: one chunk per call, same sums)


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
