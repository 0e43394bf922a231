"""Per-sample DeLong placements of two scores on the same labels, and the
stable radix argsort they (and the selective-prediction curves) are built on.

``argsort_keys(score) -> (keys, order)``: LSD radix sort of the monotone
``uint64`` keys of ``_kernels.metrics.auroc_pairs._key`` (-0.0 and +0.0 tie), 11-bit digits, a
pass skipped when every key shares its digit; stable, so ``order`` equals
``np.argsort(score, kind="stable")`` (with -0.0 == +0.0).  O(n), 32 bytes
of scratch per element; on the development machine 3-4x faster than numpy's
argsort at n = 1e7 (whose AVX-512 float sort is slow there).

``mann_whitney_sorted(score, label, weight, want) -> (u, wpos, wneg, q)``:
the Mann-Whitney U (and, with ``want``, DeLong's squared placements) from
one ``argsort_keys`` and a scan of the tie blocks: what ``_auroc`` computes
by radix partition, in a fraction of its compile time (the public layer
uses it for small n).

``placements(score, label, weight, wpos, out)``: for every positive its
negative weight below (ties 1/2), for every negative its positive weight
above (ties 1/2), written at the sample's own index in ``out``.  Summed over
the positives (weighted) this is the Mann-Whitney U.

``delong_pair(score_a, score_b, label, weight) ->
(u_a, u_b, wpos, wneg, s10, s01)``: both placements, then the weighted sums
of squared differences of the centred placement values,
``s10 = sum_pos w ((a_i^A - a_i^B) / Wneg - (AUC_A - AUC_B))^2`` and
``s01 = sum_neg w ((b_j^A - b_j^B) / Wpos - (AUC_A - AUC_B))^2``: the
variance of the paired difference without cancellation (identical scores
give exactly 0).  ``delong_pair_parallel`` sorts the two scores on two
threads; same result bitwise.

``weight``: float64 of length n, or of length 0 for "unweighted"; scores
float32/float64 finite; labels uint8 0/1.  No validation (docs/design.md, section 1).
"""

import numpy as np
from numba import njit, prange

from ..metrics.auroc_pairs import _key
from ..common import OPTS, PAR_OPTS

_BITS = 11
_NB = 1 << _BITS
_MASK = np.uint64(_NB - 1)
_PASSES = (64 + _BITS - 1) // _BITS


@njit(**OPTS)
def argsort_keys(score):
    """Stable ascending order of ``score`` and its sorted keys (LSD radix).

    One read pass counts every digit's histogram; a pass whose digit every
    key shares is skipped (it would not move anything).
    """
    n = score.shape[0]
    k = np.empty(n, np.uint64)
    cnt = np.zeros((_PASSES, _NB), np.intp)
    for i in range(n):
        ki = _key(score[i])
        k[i] = ki
        for p in range(_PASSES):
            cnt[p, np.intp((ki >> np.uint64(p * _BITS)) & _MASK)] += 1
    idx = np.empty(n, np.intp)
    for i in range(n):
        idx[i] = i
    k2 = np.empty(n, np.uint64)
    i2 = np.empty(n, np.intp)
    for p in range(_PASSES):
        sh = np.uint64(p * _BITS)
        c0 = cnt[p]
        if n == 0 or c0[np.intp((k[0] >> sh) & _MASK)] == n:
            continue  # every key has this digit: the pass would not move anything
        run = 0
        for c in range(_NB):
            v = c0[c]
            c0[c] = run
            run += v
        for i in range(n):
            ki = k[i]
            c = np.intp((ki >> sh) & _MASK)
            j = c0[c]
            c0[c] = j + 1
            k2[j] = ki
            i2[j] = idx[i]
        k, k2 = k2, k
        idx, i2 = i2, idx
    return k, idx


@njit(**OPTS)
def _tie_block(k, order, label, weight, weighted, i):
    """The block of sorted keys equal to ``k[i]``: its end ``j`` and the
    positive and negative weight in it (summed in sorted order)."""
    n = k.shape[0]
    j = i
    pw = 0.0
    nw = 0.0
    ki = k[i]
    while j < n and k[j] == ki:
        r = order[j]
        wr = weight[r] if weighted else 1.0
        if label[r]:
            pw += wr
        else:
            nw += wr
        j += 1
    return j, pw, nw


@njit(inline="always", **OPTS)
def _scan_ties(score, label, weight, wpos, wneg, out, q, want):
    """U from one ``argsort_keys`` and a scan of the tie blocks; with ``out``
    (an array, or None) the placements (see :func:`placements`); with ``want``
    (a runtime flag) DeLong's squared placements added into ``q``.  Inlined
    into its two callers: each compiles the scan once, without the branch
    its ``out`` does not take (no function of its own to compile)."""
    n = score.shape[0]
    weighted = weight.shape[0] > 0
    k, order = argsort_keys(score)
    nbelow = 0.0
    pbelow = 0.0
    u = 0.0
    i = np.intp(0)  # not a literal: one specialisation of _tie_block
    while i < n:
        j, pw, nw = _tie_block(k, order, label, weight, weighted, i)
        a = nbelow + 0.5 * nw
        b = (wpos - pbelow - pw) + 0.5 * pw
        if out is not None:
            for t in range(i, j):
                r = order[t]
                if label[r]:
                    out[r] = a
                else:
                    out[r] = b
        u += pw * a
        if want:
            c = (wneg - nbelow - nw) + 0.5 * nw
            d = pbelow + 0.5 * pw
            q[0] += pw * (a * a)
            q[1] += pw * (c * c)
            q[2] += nw * (b * b)
            q[3] += nw * (d * d)
        nbelow += nw
        pbelow += pw
        i = j
    return u


@njit(**OPTS)
def placements(score, label, weight, wpos, out):
    """out[i] = negative weight below (positives) / positive weight above
    (negatives) sample i, ties 1/2; returns U = sum_pos w_i out[i]."""
    return _scan_ties(score, label, weight, wpos, 0.0, out, None, False)


@njit(**OPTS)
def mann_whitney_sorted(score, label, weight, want):
    """Mann-Whitney U by one stable radix sort and a scan of the tie blocks:
    ``(u, wpos, wneg, q)``, the same quantities as ``_kernels.metrics.auroc.mann_whitney_q``
    (``q`` zeros unless ``want``, a runtime flag).

    Little code, so it compiles in a fraction of the radix partition's time;
    the public layer uses it below ``_auroc``'s radix threshold.  Unweighted,
    every partial sum is an integer or half-integer, so ``u`` equals the
    radix path's bitwise; weighted, the block sums follow the sorted order.
    """
    wpos, wneg = _class_weights(label, weight)
    q = np.zeros(4, np.float64)
    if score.shape[0] == 0:
        return 0.0, wpos, wneg, q
    u = _scan_ties(score, label, weight, wpos, wneg, None, q, want)
    return u, wpos, wneg, q


@njit(inline="always", **OPTS)
def row_weight(weight, i):
    """Row ``i``'s weight; 1 when ``weight`` is empty (unweighted)."""
    return weight[i] if weight.shape[0] > 0 else 1.0


@njit(inline="always", **OPTS)
def _class_weights(label, weight):
    wp = 0.0
    wn = 0.0
    for i in range(label.shape[0]):
        wi = row_weight(weight, i)
        if label[i]:
            wp += wi
        else:
            wn += wi
    return wp, wn


@njit(**OPTS)
def _pair_sums(pa, pb, label, weight, wp, wn, d):
    """Weighted sums of squared centred differences of the placement values."""
    s10 = 0.0
    s01 = 0.0
    for i in range(label.shape[0]):
        wi = row_weight(weight, i)
        if label[i]:
            x = (pa[i] - pb[i]) / wn - d
            s10 += wi * (x * x)
        else:
            x = (pa[i] - pb[i]) / wp - d
            s01 += wi * (x * x)
    return s10, s01


@njit(**OPTS)
def _finish(pa, pb, ua, ub, label, weight, wp, wn):
    if not (wp > 0.0 and wn > 0.0):
        return ua, ub, wp, wn, 0.0, 0.0
    d = ua / (wp * wn) - ub / (wp * wn)
    s10, s01 = _pair_sums(pa, pb, label, weight, wp, wn, d)
    return ua, ub, wp, wn, s10, s01


@njit(inline="always", **OPTS)
def _start(label, weight):
    """What both forms of :func:`delong_pair` start from: the class weights
    and an array for each score's placements."""
    n = label.shape[0]
    wp, wn = _class_weights(label, weight)
    return wp, wn, np.empty(n, np.float64), np.empty(n, np.float64)


@njit(**OPTS)
def delong_pair(score_a, score_b, label, weight):
    wp, wn, pa, pb = _start(label, weight)
    ua = placements(score_a, label, weight, wp, pa)
    ub = placements(score_b, label, weight, wp, pb)
    return _finish(pa, pb, ua, ub, label, weight, wp, wn)


@njit(**PAR_OPTS)
def delong_pair_parallel(score_a, score_b, label, weight):
    wp, wn, pa, pb = _start(label, weight)
    us = np.empty(2, np.float64)
    for t in prange(2):
        if t == 0:
            us[0] = placements(score_a, label, weight, wp, pa)
        else:
            us[1] = placements(score_b, label, weight, wp, pb)
    return _finish(pa, pb, us[0], us[1], label, weight, wp, wn)
