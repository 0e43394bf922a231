"""Row statistics of (n, C) probabilities or logits: the top-label confidence
and argmax, softmax sums, and the per-row checks, evaluated in vectorised
blocks (the binned, histogram-binning and score kernels share them).
"""

import numpy as np
from numba import njit

from ..common import (
    INNER,
    ROW_INNER,
    CHUNK,
    OPTS,
)
from ..vmath import exp_, exp_fast_, exp_fast_block, sum_block
from .bins import EXP_BLOCK, _INF


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
