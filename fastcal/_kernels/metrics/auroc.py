"""Exact Mann-Whitney U statistic (AUROC with ties counted 1/2), without sorting.

``U = sum_{i pos, j neg} w_i w_j ([s_i > s_j] + 0.5 [s_i == s_j])`` and
``AUROC = U / (Wpos * Wneg)``, which is exactly ``sklearn.metrics.roc_auc_score``
(the weighted trapezoidal ROC area).

Method
------
Every score is mapped to a monotone ``uint64`` key (float64 bits, all bits
flipped when negative, sign bit set otherwise; float32 widens to float64
exactly; ``-0.0`` is made ``+0.0`` first, so the two tie).  A most-significant-
digit radix partition on ``(key - min) >> shift`` -- the shift chosen from the
actual key range of the region, so buckets spread over the data -- splits a
region into buckets, positives and negatives kept in separate segments of each
bucket (so no label is stored).  Between buckets the pair count is a product:
``U += Wpos(bucket) * Wneg(all lower buckets)``.  Within a bucket:

- only positives or only negatives: no pairs, nothing to do;
- all keys equal (a tie block): ``0.5 * Wpos * Wneg``;
- at most ``_LEAF`` elements: direct pair counting (vectorised);
- otherwise the bucket is partitioned again with its own min/max (explicit
  stack, no recursion, ping-pong between the region and a scratch buffer).

The top level (one pass for min/max, one histogram, one stable scatter of the
keys into ~4096 buckets) is the only pass over out-of-cache memory for most
data; buckets are then solved independently, in cache.  Below ``_SMALL``
elements the entry point counts pairs directly (no allocation but the keys).

No comparison sort anywhere.  Each level costs O(m + buckets) and shrinks the
key range by a factor of at least 2 (4096 for large regions), so the depth is
bounded and the total work is O(n) whatever the ties or clusters; pair
counting only ever sees regions of at most ``_LEAF`` elements.

Parallel: the top-level passes run over 16 fixed parts of the input and the
buckets are solved in 256 fixed groups, largest first; the prange iterations
pull parts and groups from an atomic counter (numba's own prange schedule is
static), so the load balances even when one bucket is large or another
process holds a core.

Exactness: unweighted, every partial quantity is an integer or half-integer
held in float64, exact while ``U < 2**52``.  Per-top-level-bucket results are
stored and combined serially in key order and the top-level scatter is stable,
so the serial and the parallel radix paths give bitwise identical results
whatever the thread count, weighted or not; ``mann_whitney_parallel`` equals
``mann_whitney`` bitwise.

Squared placements (DeLong variance): with the compile-time switch ``want``
(``True``/``None``; only the ``True`` entry points compile the extra code)
the same pass also returns the sums of squared *placements* (structural
components): a positive's negative weight below it (ties 1/2) is the
negative weight in lower buckets plus its count inside the bucket, so each
region carries four offsets (negative/positive weight below/above it) down
the stack, and every terminal region (leaf, tie block, one-class bucket)
adds ``w (offset + local count)^2`` per element; a leaf gets each negative's
count from the column sums of its pair loop.  Top-level buckets are solved
with zero offsets and shifted in key order by ``_combine_q`` (a sum of
non-negative terms).  The complements (weight above, ties 1/2) are summed
too, so a variance near AUROC = 1 (or 0) has no cancellation.  U itself is
computed by the same operations in the same order as without the switch.

Entry points (pure @njit; no validation, no defaults; docs/design.md, section 1):

``mann_whitney(score, label, weight) -> (u, wpos, wneg)``: serial.
``mann_whitney_parallel(score, label, weight) -> (u, wpos, wneg)``: both
cores from ``_PAR_MIN`` elements on, the serial code below.

``mann_whitney_q(score, label, weight) -> (u, wpos, wneg, q)`` and
``mann_whitney_q_parallel``: also the four sums of squared placements
``q`` (see :func:`mann_whitney_q`); ``u, wpos, wneg`` bitwise as above.

``score``: 1-D float32/float64, finite, any layout, may be read-only;
``label``: 1-D uint8, 1 = positive (any non-zero counts as 1); ``weight``:
1-D float64 of length n, >= 0, or of length 0 for "unweighted".  With one class
only (or no weight on one), ``u`` is 0 and ``wpos``/``wneg`` are returned as
they are; the caller decides about NaN and warnings.  AUROC = u / (wpos * wneg).
"""

import numpy as np
from numba import njit, prange

from ..common import NWORKERS as _NWORKERS
from ..common import OPTS, PAR_OPTS
from ..common import fetch_add as _fetch_add
from .auroc_pairs import (
    _NGROUPS,
    _NPARTS,
    _PAR_MIN,
    _SMALL,
    _SMALL_W,
    _choose_shift,
    _class_sums,
    _small,
    _small_q,
)
from .auroc_radix import (
    _combine,
    _combine_q,
    _degenerate_q,
    _hist_part,
    _minmax_part,
    _offsets,
    _q_buckets,
    _scatter_part,
    _solve_buckets,
    _top_bits,
)

# ---------------------------------------------------------------------------
# Drivers: serial and parallel radix paths
# ---------------------------------------------------------------------------


@njit(inline="always", **OPTS)
def _degenerate(label, weight, weighted, tied):
    """(u, wpos, wneg, q) when every key is equal (tied) or one class only."""
    wp, wn = _class_sums(label, weight, weighted)
    return (0.5 * wp * wn if tied else 0.0), wp, wn, _degenerate_q(wp, wn, tied)


@njit(inline="always", **OPTS)
def _one_class(npos, n):
    """Whether the per-bucket positive counts ``npos`` say one class only."""
    ptot = 0
    for c in range(npos.shape[0]):
        ptot += npos[c]
    return ptot == 0 or ptot == n


@njit(inline="always", **OPTS)
def _bucket_sums(nb, want):
    """Per-bucket U, positive and negative weight, squared placements."""
    return (np.empty(nb, np.float64), np.empty(nb, np.float64), np.empty(nb, np.float64),
            _q_buckets(nb, want))


@njit(inline="always", **OPTS)
def _result(ub, wpb, wnb, qb, want):
    """(u, wpos, wneg, q) of the per-bucket sums (q zeros unless ``want``)."""
    if want is None:
        u, wp, wn = _combine(ub, wpb, wnb)
        return u, wp, wn, np.zeros(4, np.float64)
    return _combine_q(ub, wpb, wnb, qb)


@njit(**OPTS)
def _mann_whitney_radix(score, label, weight, want):
    """Serial radix path (any n; the entry point uses it above _SMALL).

    Returns (u, wpos, wneg, q); q (want only, else zeros) as in
    :func:`mann_whitney_q`.
    """
    n = score.shape[0]
    weighted = weight.shape[0] > 0
    kmin, kmax = _minmax_part(score, np.intp(0), n)
    if kmin >= kmax:  # all equal, or n == 0
        return _degenerate(label, weight, weighted, np.bool_(True))
    shift, nb = _choose_shift(kmax - kmin, _top_bits(n))
    cnt = np.zeros((1, 2 * nb), np.intp)
    _hist_part(score, label, np.intp(0), n, kmin, shift, cnt[0])
    bnd, npos = _offsets(cnt, nb)
    if _one_class(npos, n):
        return _degenerate(label, weight, weighted, np.bool_(False))
    keys = np.empty(n, np.uint64)
    wts = np.empty(n if weighted else 0, np.float64)
    _scatter_part(score, label, weight, weighted, np.intp(0), n, kmin, shift, cnt[0],
                  keys, wts)
    ub, wpb, wnb, qb = _bucket_sums(nb, want)
    _solve_buckets(keys, wts, weighted, bnd, npos, np.arange(nb), ub, wpb, wnb, want, qb)
    return _result(ub, wpb, wnb, qb, want)


@njit(**OPTS)
def _groups(bnd, npos, weighted, ngroups):
    """Split buckets into at most ngroups contiguous runs of about equal cost.

    Returns (gstart, gcost): group g holds buckets gstart[g]:gstart[g + 1].
    Buckets holding one class cost ~nothing unweighted (they are skipped) and
    O(m) weighted.  A bucket larger than total/ngroups makes a group alone.
    """
    nb = npos.shape[0]
    cost = np.empty(nb, np.intp)
    total = 0
    for b in range(nb):
        m = bnd[b + 1] - bnd[b]
        c = 1
        if weighted or (npos[b] > 0 and npos[b] < m):
            c += m
        cost[b] = c
        total += c
    target = total // ngroups + 1
    gstart = np.empty(nb + 1, np.intp)
    gcost = np.empty(nb, np.intp)
    g = 0
    acc = 0
    gstart[0] = 0
    for b in range(nb):
        if acc > 0 and acc + cost[b] > target:
            gcost[g] = acc
            g += 1
            gstart[g] = b
            acc = 0
        acc += cost[b]
    gcost[g] = acc
    g += 1
    gstart[g] = nb
    return gstart[:g + 1], gcost[:g]


@njit(**PAR_OPTS)
def _mann_whitney_par(score, label, weight, want):
    """Parallel radix path; returns (u, wpos, wneg, q) as the serial one, bitwise."""
    n = score.shape[0]
    weighted = weight.shape[0] > 0
    # Work is cut into a fixed number of items (parts of the input, groups of
    # buckets), independent of the thread count, so the result is too.  The
    # prange runs _NWORKERS iterations; each pulls items from a shared atomic
    # counter until none are left, which balances load dynamically (numba's
    # own prange schedule is static) -- idle iterations return at once.
    # numba.get_num_threads() is not used: it would make this uncacheable.
    P = _NPARTS
    W = _NWORKERS
    ctr = np.zeros(4, np.int64)

    kmins = np.empty(P, np.uint64)
    kmaxs = np.empty(P, np.uint64)
    for w in prange(W):
        while True:
            t = _fetch_add(ctr, 0)
            if t >= P:
                break
            a, b = _minmax_part(score, t * n // P, (t + 1) * n // P)
            kmins[t] = a
            kmaxs[t] = b
    kmin = kmins[0]
    kmax = kmaxs[0]
    for t in range(1, P):
        if kmins[t] < kmin:
            kmin = kmins[t]
        if kmaxs[t] > kmax:
            kmax = kmaxs[t]
    if kmin >= kmax:  # all equal, or n == 0
        return _degenerate(label, weight, weighted, np.bool_(True))

    shift, nb = _choose_shift(kmax - kmin, _top_bits(n))
    cnt = np.zeros((P, 2 * nb), np.intp)
    for w in prange(W):
        while True:
            t = _fetch_add(ctr, 1)
            if t >= P:
                break
            _hist_part(score, label, t * n // P, (t + 1) * n // P, kmin, shift, cnt[t])
    bnd, npos = _offsets(cnt, nb)
    if _one_class(npos, n):
        return _degenerate(label, weight, weighted, np.bool_(False))

    keys = np.empty(n, np.uint64)
    wts = np.empty(n if weighted else 0, np.float64)
    for w in prange(W):
        while True:
            t = _fetch_add(ctr, 2)
            if t >= P:
                break
            _scatter_part(score, label, weight, weighted, t * n // P, (t + 1) * n // P,
                          kmin, shift, cnt[t], keys, wts)

    ub, wpb, wnb, qb = _bucket_sums(nb, want)
    gstart, gcost = _groups(bnd, npos, weighted, np.intp(_NGROUPS))
    ng = gcost.shape[0]
    order = np.argsort(-gcost, kind="mergesort")  # largest first
    for w in prange(W):
        while True:
            i = _fetch_add(ctr, 3)
            if i >= ng:
                break
            g = order[i]
            _solve_buckets(keys, wts, weighted, bnd, npos,
                           np.arange(gstart[g], gstart[g + 1]), ub, wpb, wnb, want, qb)
    return _result(ub, wpb, wnb, qb, want)


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


@njit(**OPTS)
def mann_whitney(score, label, weight):
    """Mann-Whitney U of ``score`` for positives (label 1) over negatives (label 0).

    Returns ``(u, wpos, wneg)``; AUROC = u / (wpos * wneg).  Ties count 1/2.
    ``weight`` of length 0 means unweighted.  Serial.
    """
    weighted = weight.shape[0] > 0
    if score.shape[0] <= (_SMALL_W if weighted else _SMALL):
        return _small(score, label, weight, weighted)
    u, wp, wn, _ = _mann_whitney_radix(score, label, weight, None)
    return u, wp, wn


@njit(**OPTS)
def mann_whitney_parallel(score, label, weight):
    """As :func:`mann_whitney`, using all Numba threads for large n.

    Same result as the serial entry point, bitwise (weighted or not).
    """
    if score.shape[0] < _PAR_MIN:
        return mann_whitney(score, label, weight)
    u, wp, wn, _ = _mann_whitney_par(score, label, weight, None)
    return u, wp, wn


@njit(**OPTS)
def mann_whitney_q(score, label, weight):
    """As :func:`mann_whitney`, and the sums of squared placements.

    Returns ``(u, wpos, wneg, q)``, ``u`` bitwise equal to ``mann_whitney``'s
    and ``q`` a float64 array of 4 (DeLong's structural components, unscaled):

    - ``q[0] = sum_pos w_i a_i^2``, ``a_i`` = negative weight below ``s_i``
      plus half the tied negative weight (so ``sum_pos w_i a_i = u``);
    - ``q[1] = sum_pos w_i c_i^2``, ``c_i`` = negative weight above plus half
      the tied (``a_i + c_i = wneg``);
    - ``q[2] = sum_neg w_j b_j^2``, ``b_j`` = positive weight above ``s_j``
      plus half the tied (``sum_neg w_j b_j = u``);
    - ``q[3] = sum_neg w_j d_j^2``, ``d_j`` = positive weight below plus half
      the tied.

    The complements (q[1], q[3]) give the variance without cancellation when
    the AUROC is near 1.  Serial.
    """
    weighted = weight.shape[0] > 0
    if score.shape[0] <= (_SMALL_W if weighted else _SMALL):
        return _small_q(score, label, weight, weighted)
    return _mann_whitney_radix(score, label, weight, np.bool_(True))


@njit(**OPTS)
def mann_whitney_q_parallel(score, label, weight):
    """As :func:`mann_whitney_q`, using all Numba threads for large n; bitwise
    the same result."""
    if score.shape[0] < _PAR_MIN:
        return mann_whitney_q(score, label, weight)
    return _mann_whitney_par(score, label, weight, np.bool_(True))
