"""Exact AUROC kernels, the lowest level: tuning constants, monotone keys,
pair counting for small regions and small inputs (the method is described in
auroc.py)."""

import numpy as np
from numba import njit

from ..common import OPTS


# At or below this n, count pairs directly (no partition machinery);
# unweighted pair counting vectorises well, weighted less so.
_SMALL = 192
_SMALL_W = 96
# Regions at or below this size are finished by pair counting (<= LEAF^2/4 pairs).
_LEAF = 64
_LEAF_W = 32
# Most radix bits per partition level inside a region (4096 buckets x 2 classes);
# a region of m elements gets about m / 2**_SUB buckets.
_MAX_BITS = 12
_SUB = 5
_SUB_W = 3
# Most radix bits of the top-level (out-of-cache) partition.
_TOP_BITS = 12
# Below this n the parallel entry point runs the serial code.
_PAR_MIN = 1 << 17
# Parallel: input parts for the top-level passes, groups of buckets for the
# bucket phase (both fixed, independent of the thread count), and prange
# iterations that pull them from a shared counter.
_NPARTS = 16
_NGROUPS = 256

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_SIGN = np.uint64(0x8000000000000000)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


@njit(inline="always", **OPTS)
def _key(x):
    """Monotone uint64 key of a finite float: a < b <=> key(a) < key(b)."""
    # ``+ 0.0`` turns -0.0 into +0.0 (round-to-nearest), leaves all else alone.
    b = np.float64(np.float64(x) + 0.0).view(np.uint64)
    if b & _SIGN:
        return b ^ _ALL
    return b | _SIGN


@njit(**OPTS)
def _bitlen(r):
    """Number of significant bits of a uint64 (0 for 0)."""
    n = 0
    while r != _U0:
        r = r >> _U1
        n += 1
    return n


@njit(**OPTS)
def _choose_shift(rng, bits):
    """Shift so that ``rng >> shift`` < 2**bits; returns (shift, n_buckets)."""
    s = _bitlen(rng) - bits
    if s < 0:
        s = 0
    sh = np.uint64(s)
    return sh, np.intp(rng >> sh) + 1


@njit(**OPTS)
def _region_bits(m, weighted):
    """Radix bits for a region of m elements: ~2**_SUB (or 2**_SUB_W) per bucket."""
    b = _bitlen(np.uint64(m)) - (_SUB_W if weighted else _SUB)
    if b > _MAX_BITS:
        b = _MAX_BITS
    if b < 2:
        b = 2
    return b


@njit(inline="always", **OPTS)
def _below2_w(ki, kn, wn):
    """Twice the weight ``wn`` of the keys ``kn`` below ``ki``, ties 1/2:
    ``[>] + [>=] = 2 [>] + [==]``, one accumulator the loop vectorises."""
    a = 0.0
    for j in range(kn.shape[0]):
        x = wn[j] if ki > kn[j] else 0.0
        y = wn[j] if ki >= kn[j] else 0.0
        a += x + y
    return a


@njit(inline="always", **OPTS)
def _below2(ki, kn):
    """As :func:`_below2_w`, unweighted (an integer count)."""
    a = 0
    for j in range(kn.shape[0]):
        a += np.int64(ki > kn[j]) + np.int64(ki >= kn[j])
    return a


@njit(**OPTS)
def _pairs(k, w, weighted, s, p, q):
    """Pair count between k[s:s+p] (positives) and k[s+p:s+p+q] (negatives)."""
    # Slices (indices provably >= 0) and a per-row accumulator let the inner
    # loop vectorise; [>] + [>=] = 2 [>] + [==].
    kp = k[s:s + p]
    kn = k[s + p:s + p + q]
    if weighted:
        wp = w[s:s + p]
        wn = w[s + p:s + p + q]
        acc = 0.0
        for i in range(kp.shape[0]):
            acc += wp[i] * _below2_w(kp[i], kn, wn)
        return 0.5 * acc
    c2 = 0
    for i in range(kp.shape[0]):
        c2 += _below2(kp[i], kn)
    return 0.5 * np.float64(c2)


@njit(inline="always", **OPTS)
def _neg_q(cl, wn, phi, plo, wpl):
    """``(q2, q3)`` of a region's negatives from their column sums ``cl``
    (twice the positive weight below each): the squared positive weight above
    and below, weighted by ``wn`` (None: unweighted)."""
    q2 = 0.0
    q3 = 0.0
    for j in range(cl.shape[0]):
        bj = 0.5 * cl[j]
        hi = phi + bj
        lo = plo + (wpl - bj)
        if wn is None:
            q2 += hi * hi
            q3 += lo * lo
        else:
            q2 += wn[j] * (hi * hi)
            q3 += wn[j] * (lo * lo)
    return q2, q3


@njit(**OPTS)
def _pairs_q(k, w, weighted, s, p, q, wpl, wnl, nlo, nhi, plo, phi, col, qs):
    """As :func:`_pairs` (same U, same operations), and accumulate the squared
    placements of every element of the region into ``qs`` (see ``_q_tie``).

    wpl/wnl: total weight of the positives/negatives here; nlo/nhi: negative
    weight below/above the region, plo/phi: positive weight below/above it
    (within the top-level bucket); col: scratch of at least q floats.
    """
    kp = k[s:s + p]
    kn = k[s + p:s + p + q]
    cl = col[:q]
    for j in range(q):
        cl[j] = 0.0
    if weighted:
        wp = w[s:s + p]
        wn = w[s + p:s + p + q]
        acc = 0.0
        q0 = 0.0
        q1 = 0.0
        for i in range(kp.shape[0]):
            ki = kp[i]
            wi = wp[i]
            a = _below2_w(ki, kn, wn)
            for j in range(kn.shape[0]):
                cl[j] += wi * (np.float64(ki > kn[j]) + np.float64(ki >= kn[j]))
            acc += wi * a
            ai = 0.5 * a
            lo = nlo + ai
            hi = nhi + (wnl - ai)
            q0 += wi * (lo * lo)
            q1 += wi * (hi * hi)
        q2, q3 = _neg_q(cl, wn, phi, plo, wpl)
        qs[0] += q0
        qs[1] += q1
        qs[2] += q2
        qs[3] += q3
        return 0.5 * acc
    c2 = 0
    q0 = 0.0
    q1 = 0.0
    for i in range(kp.shape[0]):
        ki = kp[i]
        a = _below2(ki, kn)
        for j in range(kn.shape[0]):
            cl[j] += np.float64(np.int64(ki > kn[j]) + np.int64(ki >= kn[j]))
        c2 += a
        ai = 0.5 * np.float64(a)
        lo = nlo + ai
        hi = nhi + (wnl - ai)
        q0 += lo * lo
        q1 += hi * hi
    q2, q3 = _neg_q(cl, None, phi, plo, wpl)
    qs[0] += q0
    qs[1] += q1
    qs[2] += q2
    qs[3] += q3
    return 0.5 * np.float64(c2)


@njit(**OPTS)
def _q_tie(wp, wn, nlo, nhi, plo, phi, qs):
    """Squared placements of a block of tied keys (weights wp, wn), into qs.

    Every positive of the block has ``nlo + wn/2`` negative weight below it
    (ties 1/2) and ``nhi + wn/2`` above; every negative ``phi + wp/2``
    positive weight above and ``plo + wp/2`` below.  ``qs`` accumulates
    ``sum_pos w (below)^2, sum_pos w (above)^2, sum_neg w (above)^2,
    sum_neg w (below)^2``.  A one-class block is the case wn = 0 or wp = 0.
    """
    a = nlo + 0.5 * wn
    c = nhi + 0.5 * wn
    b = phi + 0.5 * wp
    d = plo + 0.5 * wp
    qs[0] += wp * (a * a)
    qs[1] += wp * (c * c)
    qs[2] += wn * (b * b)
    qs[3] += wn * (d * d)


@njit(**OPTS)
def _class_sums(label, weight, weighted):
    """(Wpos, Wneg) by a plain pass over the input (used for degenerate inputs)."""
    n = label.shape[0]
    wp = 0.0
    wn = 0.0
    if weighted:
        for i in range(n):
            if label[i]:
                wp += weight[i]
            else:
                wn += weight[i]
    else:
        c = 0
        for i in range(n):
            c += np.intp(label[i] != 0)
        wp = np.float64(c)
        wn = np.float64(n - c)
    return wp, wn


# ---------------------------------------------------------------------------
# Small n: direct pair counting
# ---------------------------------------------------------------------------


@njit(**OPTS)
def _small_keys(score, label, weight, weighted):
    """Keys (positives from the front, negatives from the back), their
    weights, the number of positives and the class weights."""
    n = score.shape[0]
    keys = np.empty(n, np.uint64)
    w = np.empty(n if weighted else 0, np.float64)
    a = 0
    b = n
    wp = 0.0
    wn = 0.0
    for i in range(n):
        k = _key(score[i])
        if label[i]:
            keys[a] = k
            if weighted:
                w[a] = weight[i]
                wp += weight[i]
            a += 1
        else:
            b -= 1
            keys[b] = k
            if weighted:
                w[b] = weight[i]
                wn += weight[i]
    if not weighted:
        wp = np.float64(a)
        wn = np.float64(n - a)
    return keys, w, a, wp, wn


@njit(**OPTS)
def _small(score, label, weight, weighted):
    keys, w, a, wp, wn = _small_keys(score, label, weight, weighted)
    n = score.shape[0]
    if a == 0 or a == n:
        return 0.0, wp, wn
    return _pairs(keys, w, weighted, np.intp(0), a, n - a), wp, wn


@njit(**OPTS)
def _small_q(score, label, weight, weighted):
    """As :func:`_small`, and the squared placements (see mann_whitney_q)."""
    keys, w, a, wp, wn = _small_keys(score, label, weight, weighted)
    n = score.shape[0]
    qs = np.zeros(4, np.float64)
    if a == 0 or a == n:
        return 0.0, wp, wn, qs
    col = np.empty(n - a, np.float64)
    u = _pairs_q(keys, w, weighted, np.intp(0), a, n - a, wp, wn, 0.0, 0.0, 0.0, 0.0, col, qs)
    return u, wp, wn, qs
