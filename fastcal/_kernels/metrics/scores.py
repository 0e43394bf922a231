"""Binary Brier score and NLL sums in one pass, fused with validation; label
conversion for AUROC.  (Multiclass scores come from the top-label kernel of
``_binned`` with a single bin: one implementation of the row statistics.)

Drivers return ``(code, index, total_weight, brier_sum, nll_sum)``; with
``want_nll`` on they compute the NLL sum (and leave the Brier sum 0), off the
Brier sum: each metric pays only for its own terms (the log is the cost).  The
per-sample terms are the helpers of ``_binned`` (``binary_element``,
``nll_block``), so the report and the standalone metrics compute the same
expressions.  Switches follow ``_binned``: ``True``
or ``None``.
"""

import numpy as np
from numba import njit

from .bins import ROW_BLOCK, bad_weight
from .binned import binary_element, binary_first_error, n_chunks, nll_arg, nll_block
from ..common import BAD_BINARY_LABEL, BAD_SCORE, BAD_WEIGHT, CHUNK, OK, INNER, OPTS

_INF = np.inf


@njit(**INNER)
def binary_chunk(y, p, w, lo, hi, logits, want_nll, eps, check, out):
    ok = True
    tw = 0.0
    brier = 0.0
    nll = 0.0
    if want_nll is not None:
        qb = np.empty(ROW_BLOCK)
        ab = np.zeros(ROW_BLOCK)
        lb = np.empty(ROW_BLOCK)
        wb = np.empty(ROW_BLOCK)
    for b0 in range(lo, hi, ROW_BLOCK):
        b1 = min(hi, b0 + ROW_BLOCK)
        for i in range(b0, b1):
            t, wi, z, c, valid = binary_element(y, p, w, i, logits, check)
            ok &= valid
            if want_nll is not None:
                j = i - b0
                wb[j] = wi
                qb[j] = nll_arg(t, z, c, logits, eps)
            else:
                d = c - t
                brier += wi * (d * d)
            tw += wi
        if want_nll is not None:
            nll += nll_block(qb, ab, lb, wb, b1 - b0, logits)
    out[0] += tw
    out[1] += brier
    out[2] += nll
    return ok


@njit(**OPTS)
def binary_scores(y, p, w, logits, want_nll, eps, check):
    """``(code, index, total weight, Brier sum, NLL sum)``: chunks in order,
    each into a zeroed partial added to the sums (``fastcal.core.pipeline`` derives
    the parallel form: one chunk per call, the same additions)."""
    n = p.shape[0]
    part = np.zeros(3)
    tw = 0.0
    b = 0.0
    l = 0.0
    for ch in range(n_chunks(n)):
        lo = ch * CHUNK
        hi = min(n, lo + CHUNK)
        part[:] = 0.0
        if not binary_chunk(y, p, w, lo, hi, logits, want_nll, eps, check, part):
            code, i = binary_first_error(y, p, w, lo, hi, logits, check)
            return code, i, 0.0, 0.0, 0.0
        tw += part[0]
        b += part[1]
        l += part[2]
    return OK, -1, tw, b, l


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
        if bad_weight(w, i):
            return BAD_WEIGHT, i, lab
    return OK, -1, lab
