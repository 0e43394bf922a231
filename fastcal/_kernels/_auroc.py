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

from ._common import NWORKERS as _NWORKERS
from ._common import OPTS, PAR_OPTS
from ._common import fetch_add as _fetch_add

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
            ki = kp[i]
            a = 0.0
            for j in range(kn.shape[0]):
                x = wn[j] if ki > kn[j] else 0.0
                y = wn[j] if ki >= kn[j] else 0.0
                a += x + y
            acc += wp[i] * a
        return 0.5 * acc
    c2 = 0
    for i in range(kp.shape[0]):
        ki = kp[i]
        a = 0
        for j in range(kn.shape[0]):
            a += np.int64(ki > kn[j]) + np.int64(ki >= kn[j])
        c2 += a
    return 0.5 * np.float64(c2)


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
            a = 0.0
            for j in range(kn.shape[0]):
                x = wn[j] if ki > kn[j] else 0.0
                y = wn[j] if ki >= kn[j] else 0.0
                a += x + y
                cl[j] += wi * (np.float64(ki > kn[j]) + np.float64(ki >= kn[j]))
            acc += wi * a
            ai = 0.5 * a
            lo = nlo + ai
            hi = nhi + (wnl - ai)
            q0 += wi * (lo * lo)
            q1 += wi * (hi * hi)
        q2 = 0.0
        q3 = 0.0
        for j in range(kn.shape[0]):
            bj = 0.5 * cl[j]
            hi = phi + bj
            lo = plo + (wpl - bj)
            q2 += wn[j] * (hi * hi)
            q3 += wn[j] * (lo * lo)
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
        a = 0
        for j in range(kn.shape[0]):
            t = np.int64(ki > kn[j]) + np.int64(ki >= kn[j])
            a += t
            cl[j] += np.float64(t)
        c2 += a
        ai = 0.5 * np.float64(a)
        lo = nlo + ai
        hi = nhi + (wnl - ai)
        q0 += lo * lo
        q1 += hi * hi
    q2 = 0.0
    q3 = 0.0
    for j in range(kn.shape[0]):
        bj = 0.5 * cl[j]
        hi = phi + bj
        lo = plo + (wpl - bj)
        q2 += hi * hi
        q3 += lo * lo
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


# ---------------------------------------------------------------------------
# Top level: key range, histogram, stable scatter (per contiguous part)
# ---------------------------------------------------------------------------


@njit(**OPTS)
def _minmax_part(score, lo, hi):
    """Smallest and largest key of score[lo:hi]; (all ones, 0) if empty."""
    if hi <= lo:
        return _ALL, _U0
    # Float min/max vectorises; the key map is monotone, and -0.0/+0.0 share a key.
    a = np.float64(score[lo])
    b = a
    for i in range(lo + 1, hi):
        v = np.float64(score[i])
        a = min(a, v)
        b = max(b, v)
    return _key(a), _key(b)


@njit(**OPTS)
def _hist_part(score, label, lo, hi, kmin, shift, cnt):
    """cnt[2c] += positives in bucket c, cnt[2c+1] += negatives."""
    for i in range(lo, hi):
        c = np.intp((_key(score[i]) - kmin) >> shift)
        cnt[2 * c + 1 - np.intp(label[i] != 0)] += 1


@njit(**OPTS)
def _scatter_part(score, label, weight, weighted, lo, hi, kmin, shift, off, keys, wts):
    """Stable scatter of part [lo, hi) to its class offsets (off is advanced)."""
    for i in range(lo, hi):
        k = _key(score[i])
        c = 2 * np.intp((k - kmin) >> shift) + 1 - np.intp(label[i] != 0)
        j = off[c]
        off[c] = j + 1
        keys[j] = k
        if weighted:
            wts[j] = weight[i]


@njit(**OPTS)
def _offsets(cnt, nb):
    """Turn per-part counts cnt[P, 2 nb] into per-part write offsets (in place).

    Classes in key order (bucket-major, positives before negatives), parts in
    input order within a class: the scatter is stable.  Returns the bucket
    boundaries bnd[nb + 1] and the positives per bucket npos[nb].
    """
    P = cnt.shape[0]
    bnd = np.empty(nb + 1, np.intp)
    npos = np.empty(nb, np.intp)
    run = 0
    for c in range(nb):
        bnd[c] = run
        for h in range(2):
            cls = 2 * c + h
            for t in range(P):
                v = cnt[t, cls]
                cnt[t, cls] = run
                run += v
            if h == 0:
                npos[c] = run - bnd[c]
    bnd[nb] = run
    return bnd, npos


# ---------------------------------------------------------------------------
# One region: MSD radix partition with an explicit stack
# ---------------------------------------------------------------------------


@njit(**OPTS)
def _solve_region(ka, wa, kb, wb, weighted, p, q, cnt, cw, st_i, st_f, want, col, qs):
    """U within a region whose keys are ka[:p] (positives) and ka[p:p+q].

    kb/wb: scratch of at least p+q (wa/wb/cw unused, may be empty, unweighted).
    cnt/cw: histogram scratch of 2 * 2**_MAX_BITS.  st_i (cap, 4) int and
    st_f (cap, 2) float: the stack of (start, npos, nneg, buffer) and
    (wpos, wneg) of pending sub-regions; they are disjoint and hold more than
    ``leaf`` elements, so cap = (p+q) // (leaf+1) + 2 suffices.
    Returns (u_within, wpos, wneg).

    want (True/None, compile-time): also accumulate into qs[4] the squared
    placements of every element *within the region* (see ``_q_tie``); the
    stack then also carries each sub-region's (nlo, nhi, plo, phi) in
    st_f[:, 2:6] (st_f of shape (cap, 6)).  col: scratch of ``_LEAF`` floats.
    """
    m = p + q
    leaf = _LEAF_W if weighted else _LEAF
    if weighted:
        wp = 0.0
        for i in range(p):
            wp += wa[i]
        wn = 0.0
        for i in range(p, m):
            wn += wa[i]
    else:
        wp = np.float64(p)
        wn = np.float64(q)
    if p == 0 or q == 0:
        return 0.0, wp, wn

    u = 0.0
    top = 0
    st_i[0, 0] = 0
    st_i[0, 1] = p
    st_i[0, 2] = q
    st_i[0, 3] = 0
    st_f[0, 0] = wp
    st_f[0, 1] = wn
    if want is not None:
        for c in range(2, 6):
            st_f[0, c] = 0.0
    top = 1
    while top > 0:
        top -= 1
        s = st_i[top, 0]
        rp = st_i[top, 1]
        rq = st_i[top, 2]
        buf = st_i[top, 3]
        rwp = st_f[top, 0]
        rwn = st_f[top, 1]
        nlo = 0.0
        nhi = 0.0
        plo = 0.0
        phi = 0.0
        if want is not None:
            nlo = st_f[top, 2]
            nhi = st_f[top, 3]
            plo = st_f[top, 4]
            phi = st_f[top, 5]
        if buf == 0:
            sk = ka
            sw = wa
            dk = kb
            dw = wb
        else:
            sk = kb
            sw = wb
            dk = ka
            dw = wa
        rm = rp + rq
        e = s + rm
        if rm <= leaf:
            if want is None:
                u += _pairs(sk, sw, weighted, s, rp, rq)
            else:
                u += _pairs_q(sk, sw, weighted, s, rp, rq, rwp, rwn, nlo, nhi, plo, phi, col, qs)
            continue
        kmin = sk[s]
        kmax = kmin
        for i in range(s + 1, e):
            k = sk[i]
            if k < kmin:
                kmin = k
            if k > kmax:
                kmax = k
        if kmin == kmax:
            u += 0.5 * rwp * rwn
            if want is not None:
                _q_tie(rwp, rwn, nlo, nhi, plo, phi, qs)
            continue
        shift, nb = _choose_shift(kmax - kmin, _region_bits(rm, weighted))
        for c in range(2 * nb):
            cnt[c] = 0
        if weighted:
            for c in range(2 * nb):
                cw[c] = 0.0
            for i in range(s, s + rp):
                c = 2 * np.intp((sk[i] - kmin) >> shift)
                cnt[c] += 1
                cw[c] += sw[i]
            for i in range(s + rp, e):
                c = 2 * np.intp((sk[i] - kmin) >> shift) + 1
                cnt[c] += 1
                cw[c] += sw[i]
        else:
            for i in range(s, s + rp):
                cnt[2 * np.intp((sk[i] - kmin) >> shift)] += 1
            for i in range(s + rp, e):
                cnt[2 * np.intp((sk[i] - kmin) >> shift) + 1] += 1
        # offsets: class 2c (positives of bucket c) then 2c+1 (negatives)
        run = s
        for c in range(2 * nb):
            v = cnt[c]
            cnt[c] = run
            run += v
        for i in range(s, s + rp):
            c = 2 * np.intp((sk[i] - kmin) >> shift)
            j = cnt[c]
            cnt[c] = j + 1
            dk[j] = sk[i]
            if weighted:
                dw[j] = sw[i]
        for i in range(s + rp, e):
            c = 2 * np.intp((sk[i] - kmin) >> shift) + 1
            j = cnt[c]
            cnt[c] = j + 1
            dk[j] = sk[i]
            if weighted:
                dw[j] = sw[i]
        # now cnt[2c] = end of the positives of c, cnt[2c+1] = end of c
        wbelow = 0.0
        pbelow = 0.0
        start = s
        for c in range(nb):
            mid = cnt[2 * c]
            end = cnt[2 * c + 1]
            pc = mid - start
            qc = end - mid
            if weighted:
                wpc = cw[2 * c]
                wqc = cw[2 * c + 1]
            else:
                wpc = np.float64(pc)
                wqc = np.float64(qc)
            u += wpc * wbelow
            # placement offsets of bucket c (want only)
            cnlo = nlo + wbelow
            cnhi = nhi + (rwn - wbelow - wqc)
            cplo = plo + pbelow
            cphi = phi + (rwp - pbelow - wpc)
            pbelow += wpc
            wbelow += wqc
            if pc > 0 and qc > 0:
                if pc + qc <= leaf:
                    if want is None:
                        u += _pairs(dk, dw, weighted, start, pc, qc)
                    else:
                        u += _pairs_q(dk, dw, weighted, start, pc, qc, wpc, wqc,
                                      cnlo, cnhi, cplo, cphi, col, qs)
                else:
                    st_i[top, 0] = start
                    st_i[top, 1] = pc
                    st_i[top, 2] = qc
                    st_i[top, 3] = 1 - buf
                    st_f[top, 0] = wpc
                    st_f[top, 1] = wqc
                    if want is not None:
                        st_f[top, 2] = cnlo
                        st_f[top, 3] = cnhi
                        st_f[top, 4] = cplo
                        st_f[top, 5] = cphi
                    top += 1
            elif want is not None and pc + qc > 0:
                _q_tie(wpc, wqc, cnlo, cnhi, cplo, cphi, qs)  # one class: no ties
            start = end
    return u, wp, wn


@njit(**OPTS)
def _solve_buckets(keys, wts, weighted, bnd, npos, blist, ub, wpb, wnb, want, qb):
    """Solve the top-level buckets listed in blist; write ub/wpb/wnb[bucket]
    (and, want, the within-bucket squared placements qb[bucket, :4])."""
    mmax = 0
    for t in range(blist.shape[0]):
        b = blist[t]
        m = bnd[b + 1] - bnd[b]
        if m > mmax:
            mmax = m
    kb = np.empty(mmax, np.uint64)
    wb = np.empty(mmax if weighted else 0, np.float64)
    nc = 2 << _MAX_BITS
    cnt = np.empty(nc, np.intp)
    cw = np.empty(nc if weighted else 0, np.float64)
    # stacked regions are disjoint and hold > _LEAF_W elements (but the first)
    cap = mmax // (min(_LEAF, _LEAF_W) + 1) + 2
    st_i = np.empty((cap, 4), np.intp)
    nf = 2
    if want is not None:
        nf = 6
    st_f = np.empty((cap, nf), np.float64)
    col = np.empty(max(_LEAF, _LEAF_W), np.float64)
    qs = np.zeros(4, np.float64)
    for t in range(blist.shape[0]):
        b = blist[t]
        lo = bnd[b]
        hi = bnd[b + 1]
        p = npos[b]
        ka = keys[lo:hi]
        wa = wts[lo:hi] if weighted else wts
        if want is not None:
            for c in range(4):
                qs[c] = 0.0
        u, wp, wn = _solve_region(ka, wa, kb, wb, weighted, p, hi - lo - p, cnt, cw, st_i, st_f,
                                  want, col, qs)
        if want is not None:
            for c in range(4):
                qb[b, c] = qs[c]
        ub[b] = u
        wpb[b] = wp
        wnb[b] = wn


@njit(**OPTS)
def _combine(ub, wpb, wnb):
    """U = sum_b (U_b + Wpos_b * Wneg_below_b), in key order."""
    u = 0.0
    wp = 0.0
    wn = 0.0
    for b in range(ub.shape[0]):
        u += ub[b] + wpb[b] * wn
        wp += wpb[b]
        wn += wnb[b]
    return u, wp, wn


@njit(**OPTS)
def _combine_q(ub, wpb, wnb, qb):
    """As :func:`_combine`, and the squared placements of the whole input.

    Bucket b's elements have its within-bucket placements plus the weight of
    the other class in lower (higher) buckets; with sum_pos w below_local =
    U_b and sum_pos w above_local = Wpos_b Wneg_b - U_b (and the same for the
    negatives), each sum of squares is sum_b (W_b off^2 + 2 off S_b + Q_b).
    """
    u, wp, wn = _combine(ub, wpb, wnb)
    nb = ub.shape[0]
    # positive / negative weight above each bucket, summed from the top
    pab = np.empty(nb, np.float64)
    nab = np.empty(nb, np.float64)
    pa = 0.0
    na = 0.0
    for b in range(nb - 1, -1, -1):
        pab[b] = pa
        nab[b] = na
        pa += wpb[b]
        na += wnb[b]
    q = np.zeros(4, np.float64)
    pbl = 0.0
    nbl = 0.0
    for b in range(nb):
        x = wpb[b]
        y = wnb[b]
        lo = ub[b]
        hi = x * y - lo
        q[0] += x * (nbl * nbl) + 2.0 * nbl * lo + qb[b, 0]
        q[1] += x * (nab[b] * nab[b]) + 2.0 * nab[b] * hi + qb[b, 1]
        q[2] += y * (pab[b] * pab[b]) + 2.0 * pab[b] * lo + qb[b, 2]
        q[3] += y * (pbl * pbl) + 2.0 * pbl * hi + qb[b, 3]
        pbl += x
        nbl += y
    return u, wp, wn, q


@njit(**OPTS)
def _q_buckets(nb, want):
    """Per-bucket squared-placement sums: (nb, 4) zeros with want, else (0, 4).

    A function of its own: allocated inline, Numba's parfor array analysis
    fails on the conditional shape in the parallel driver.
    """
    if want is None:
        return np.zeros((0, 4), np.float64)
    return np.zeros((nb, 4), np.float64)


@njit(**OPTS)
def _degenerate_q(wp, wn, tied):
    """Squared placements when every key is equal (tied) or one class only."""
    q = np.zeros(4, np.float64)
    if tied:
        _q_tie(wp, wn, 0.0, 0.0, 0.0, 0.0, q)
    return q


@njit(**OPTS)
def _top_bits(n):
    """Top-level radix bits: about n/16 buckets, at most 2**_MAX_BITS."""
    b = _bitlen(np.uint64(n)) - 4
    if b > _TOP_BITS:
        b = _TOP_BITS
    if b < 4:
        b = 4
    return b


# ---------------------------------------------------------------------------
# Drivers: serial and parallel radix paths
# ---------------------------------------------------------------------------


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
        wp, wn = _class_sums(label, weight, weighted)
        return 0.5 * wp * wn, wp, wn, _degenerate_q(wp, wn, np.bool_(True))
    shift, nb = _choose_shift(kmax - kmin, _top_bits(n))
    cnt = np.zeros((1, 2 * nb), np.intp)
    _hist_part(score, label, np.intp(0), n, kmin, shift, cnt[0])
    bnd, npos = _offsets(cnt, nb)
    ptot = 0
    for c in range(nb):
        ptot += npos[c]
    if ptot == 0 or ptot == n:
        wp, wn = _class_sums(label, weight, weighted)
        return 0.0, wp, wn, _degenerate_q(wp, wn, np.bool_(False))
    keys = np.empty(n, np.uint64)
    wts = np.empty(n if weighted else 0, np.float64)
    _scatter_part(score, label, weight, weighted, np.intp(0), n, kmin, shift, cnt[0],
                  keys, wts)
    ub = np.empty(nb, np.float64)
    wpb = np.empty(nb, np.float64)
    wnb = np.empty(nb, np.float64)
    qb = _q_buckets(nb, want)
    _solve_buckets(keys, wts, weighted, bnd, npos, np.arange(nb), ub, wpb, wnb, want, qb)
    if want is None:
        u, wp, wn = _combine(ub, wpb, wnb)
        return u, wp, wn, np.zeros(4, np.float64)
    return _combine_q(ub, wpb, wnb, qb)


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
        wp, wn = _class_sums(label, weight, weighted)
        return 0.5 * wp * wn, wp, wn, _degenerate_q(wp, wn, np.bool_(True))

    shift, nb = _choose_shift(kmax - kmin, _top_bits(n))
    cnt = np.zeros((P, 2 * nb), np.intp)
    for w in prange(W):
        while True:
            t = _fetch_add(ctr, 1)
            if t >= P:
                break
            _hist_part(score, label, t * n // P, (t + 1) * n // P, kmin, shift, cnt[t])
    bnd, npos = _offsets(cnt, nb)
    ptot = 0
    for c in range(nb):
        ptot += npos[c]
    if ptot == 0 or ptot == n:
        wp, wn = _class_sums(label, weight, weighted)
        return 0.0, wp, wn, _degenerate_q(wp, wn, np.bool_(False))

    keys = np.empty(n, np.uint64)
    wts = np.empty(n if weighted else 0, np.float64)
    for w in prange(W):
        while True:
            t = _fetch_add(ctr, 2)
            if t >= P:
                break
            _scatter_part(score, label, weight, weighted, t * n // P, (t + 1) * n // P,
                          kmin, shift, cnt[t], keys, wts)

    ub = np.empty(nb, np.float64)
    wpb = np.empty(nb, np.float64)
    wnb = np.empty(nb, np.float64)
    qb = _q_buckets(nb, want)
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
    if want is None:
        u, wp, wn = _combine(ub, wpb, wnb)
        return u, wp, wn, np.zeros(4, np.float64)
    return _combine_q(ub, wpb, wnb, qb)


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
