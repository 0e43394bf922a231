"""Exact AUROC kernels, the radix partition: the top-level key range,
histogram and stable scatter, and one region solved by MSD radix partition
with an explicit stack (the method is described in auroc.py)."""

import numpy as np
from numba import njit

from ..common import OPTS
from .auroc_pairs import (
    _ALL,
    _LEAF,
    _LEAF_W,
    _MAX_BITS,
    _TOP_BITS,
    _U0,
    _bitlen,
    _choose_shift,
    _key,
    _pairs,
    _pairs_q,
    _q_tie,
    _region_bits,
)


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
