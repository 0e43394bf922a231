"""Poisson bootstrap of the binned statistics in one pass, without resamples.

Every row ``i`` gets, for each replicate ``r``, an integer weight
``k ~ Poisson(1)`` that is a pure function of ``(seed, stream, row, r)``:

* ``key = row_key(seed, stream, row)``: splitmix64-style mixing of the seed,
  the stream (one per shard) and the global row index (``row_offset + i``);
* ``z = mix64(key + (r // 4 + 1) * GOLDEN)``: the splitmix64 output number
  ``r // 4 + 1`` of the generator seeded with ``key``; its four 16-bit
  parts (least significant first) serve replicates ``4q .. 4q + 3``, so
  ``u = (z >> 16 * (r % 4)) & 0xFFFF`` is uniform on ``[0, 2**16)``;
* ``k = #{j : u >= T_j}`` with ``T_j = round(F(j) * 2**16)``, ``F`` the
  Poisson(1) CDF (``j = 0..7``, the last capped at ``2**16 - 1``): the
  inverse CDF by comparisons, each probability rounded to a multiple of
  2**-16 (weights of 8 or more, probability 1.0e-5 under Poisson(1), are
  drawn as 8, with probability 2**-16).

One hash per four replicates, and 16-bit comparisons, make the draws about
twice as fast as one hash and 32-bit comparisons per replicate; counting a
row's draws into uint8 in a loop of their own (it vectorises on 16-bit
lanes), and passing over the replicates once per two rows (the Brier and NLL
rows of the state loaded and stored once for both), cut the rest further
(docs/performance.md, "Bootstrap draws"; ``benchmarks/RESULTS-streaming.md``
has the bootstrap against one report).  Neither changes a weight or the
order of any addition: the state is bitwise what one row at a time gives.

So the weights do not depend on how the rows are chunked, on the number of
threads or on the batch split of a streaming accumulator: only on
``(seed, stream, global row index, replicate)``.

State layout.  ``state`` is float64 ``(3 * nb + 2, R)`` (replicates along the
fast axis, so the update of one row is contiguous over ``r`` and vectorises):
rows ``0..nb-1`` weight of incorrect rows per bin, ``nb..2nb-1`` weight of
correct rows per bin, ``2nb..3nb-1`` weight * confidence per bin, ``3nb``
weight * Brier term, ``3nb + 1`` weight * NLL term.  Bin weight =
incorrect + correct, weight * correct = correct.  States add (merge = +).

Rows are processed in chunks of ``CHUNK`` rows; chunk states are summed in
chunk order (``fastcal.core.pipeline`` derives the parallel form: threads computing
one chunk each, the same sums in the same order).
"""

import math

import numpy as np
from numba import njit

from ..metrics.bins import find_bin
from ..common import CHUNK, INNER, OPTS
from ..metrics.stats import ce_from_bins

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


@njit(**OPTS)
def mix64(z):
    """splitmix64 finaliser (a bijection of uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(**OPTS)
def row_key(seed, stream, row):
    """Per-row generator key from uint64 ``seed``, ``stream`` and ``row``."""
    s = mix64(mix64(seed + _GOLDEN) ^ stream)
    return mix64(s + np.uint64(row) * _GOLDEN)


def _thresholds16():
    out = []
    F = 0.0
    for j in range(8):
        F += math.exp(-1.0) / math.factorial(j)
        out.append(min(round(F * 2.0 ** 16), 2 ** 16 - 1))
    return out


THRESHOLDS16 = np.array(_thresholds16(), dtype=np.uint16)
(_U0, _U1, _U2, _U3, _U4, _U5, _U6, _U7) = (np.uint16(t) for t in THRESHOLDS16)


@njit(**OPTS)
def poisson1_16(u):
    """Poisson(1) draw (float64) from ``u`` uniform on [0, 2**16)."""
    k = 0
    k += u >= _U0
    k += u >= _U1
    k += u >= _U2
    k += u >= _U3
    k += u >= _U4
    k += u >= _U5
    k += u >= _U6
    k += u >= _U7
    return np.float64(k)


@njit(**INNER)
def _draws(key, zs, u16, k8, R):
    """The Poisson(1) draws of replicates ``0..R-1`` for the row with generator
    ``key`` into ``k8`` (uint8): the hashes into ``zs`` (read as the 16-bit
    uniforms ``u16``), then the comparisons in a loop of their own, which
    vectorises on 16-bit lanes (:func:`poisson1_16`'s count, as an integer)."""
    for q in range(zs.shape[0]):
        zs[q] = mix64(key + np.uint64(q + 1) * _GOLDEN)
    for r in range(R):
        u = u16[r]
        k8[r] = ((u >= _U0) + (u >= _U1) + (u >= _U2) + (u >= _U3) + (u >= _U4)
                 + (u >= _U5) + (u >= _U6) + (u >= _U7))


@njit(**OPTS)
def weight(key, r):
    """Weight of replicate ``r`` for the row with generator ``key`` (the 16
    bits ``16 * (r % 4)`` onwards of hash number ``r // 4 + 1``)."""
    z = mix64(key + np.uint64((r >> 2) + 1) * _GOLDEN)
    return poisson1_16(np.uint16((z >> np.uint64(16 * (r & 3))) & np.uint64(0xFFFF)))


@njit(**OPTS)
def weights_for_rows(seed, stream, row_offset, n, R):
    """(n, R) float64 weights of rows ``row_offset .. row_offset + n - 1``
    (for tests and small problems; the accumulating kernels never build it)."""
    out = np.empty((n, R))
    for i in range(n):
        key = row_key(seed, stream, row_offset + i)
        for r in range(R):
            out[i, r] = weight(key, r)
    return out


@njit(**INNER)
def _row(conf, corr, w, edges, right, i):
    """Row ``i``'s confidence, bin, count row of the state (incorrect or
    correct) and weight."""
    nb = edges.shape[0] - 1
    c = conf[i]
    b = find_bin(c, edges, nb, np.bool_(False), right)
    return c, b, (b + nb if corr[i] else b), (1.0 if w is None else np.float64(w[i]))


@njit(**INNER)
def _chunk(conf, corr, terms, w, edges, right, seed, stream, row_offset, lo, hi, state):
    """Accumulate rows lo..hi into ``state`` (3 nb + 2, R), in row order.

    With ``terms``, two rows per pass over the replicates: the Brier and NLL
    rows of the state (and the count and confidence rows the two rows share)
    are loaded and stored once for both, each replicate's sum still taking
    the first row's term, then the second's (the same float64 additions, in
    the same order, as one row at a time)."""
    nb = edges.shape[0] - 1
    R = state.shape[1]
    Q = (R + 3) >> 2
    zs = np.empty(Q, np.uint64)  # one hash per 4 replicates ...
    u16 = zs.view(np.uint16)  # ... read as 4 uniforms on [0, 2**16)
    ka = np.empty(4 * Q, np.uint8)  # the draws of a row ...
    kb = np.empty(4 * Q, np.uint8)  # ... and of the next
    if terms is None:
        for i in range(lo, hi):
            c, b, row, wi = _row(conf, corr, w, edges, right, i)
            _draws(row_key(seed, stream, row_offset + i), zs, u16, ka, R)
            cnt = state[row]
            sc = state[2 * nb + b]
            for r in range(R):
                k = np.float64(ka[r]) * wi
                cnt[r] += k
                sc[r] += k * c
        return
    sb = state[3 * nb]
    sn = state[3 * nb + 1]
    i = lo
    while i < hi:
        c, b, row, wi = _row(conf, corr, w, edges, right, i)
        _draws(row_key(seed, stream, row_offset + i), zs, u16, ka, R)
        t0 = terms[i, 0]
        t1 = terms[i, 1]
        cnt = state[row]
        sc = state[2 * nb + b]
        if i + 1 < hi:
            c2, b2, row2, w2 = _row(conf, corr, w, edges, right, i + 1)
            _draws(row_key(seed, stream, row_offset + i + 1), zs, u16, kb, R)
            u0 = terms[i + 1, 0]
            u1 = terms[i + 1, 1]
        else:  # a last row of its own: paired with weight 0 (adding +0.0 to
            # the state's sums, which are never -0.0, changes no bit)
            c2, b2, row2, w2, u0, u1 = c, b, row, 0.0, 0.0, 0.0
        # three loops, so that no two arrays a loop writes are the same row
        # (LLVM vectorises each behind a runtime overlap check)
        if b2 != b:
            cnt2 = state[row2]
            sc2 = state[2 * nb + b2]
            for r in range(R):
                k = np.float64(ka[r]) * wi
                k2 = np.float64(kb[r]) * w2
                cnt[r] += k
                sc[r] += k * c
                cnt2[r] += k2
                sc2[r] += k2 * c2
                sb[r] = (sb[r] + k * t0) + k2 * u0
                sn[r] = (sn[r] + k * t1) + k2 * u1
        elif row2 != row:  # same bin, one correct and one not
            cnt2 = state[row2]
            for r in range(R):
                k = np.float64(ka[r]) * wi
                k2 = np.float64(kb[r]) * w2
                cnt[r] += k
                cnt2[r] += k2
                sc[r] = (sc[r] + k * c) + k2 * c2
                sb[r] = (sb[r] + k * t0) + k2 * u0
                sn[r] = (sn[r] + k * t1) + k2 * u1
        else:
            for r in range(R):
                k = np.float64(ka[r]) * wi
                k2 = np.float64(kb[r]) * w2
                cnt[r] = (cnt[r] + k) + k2
                sc[r] = (sc[r] + k * c) + k2 * c2
                sb[r] = (sb[r] + k * t0) + k2 * u0
                sn[r] = (sn[r] + k * t1) + k2 * u1
        i += 2


@njit(**OPTS)
def replicate_state(conf, corr, terms, w, edges, right, seed, stream, row_offset, R):
    """Serial driver: the (3 nb + 2, R) state of rows ``0..n-1`` (global
    indices ``row_offset + i``); ``edges`` of shape (1, nb + 1), as the binned
    kernels take them."""
    n = conf.shape[0]
    e = edges[0]
    nb = e.shape[0] - 1
    state = np.zeros((3 * nb + 2, R))
    part = np.empty_like(state)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        part[:] = 0.0
        _chunk(conf, corr, terms, w, e, right, seed, stream, row_offset, lo, hi, part)
        state += part
    return state


@njit(**OPTS)
def replicate_gauges(state, nb):
    """Per replicate (R, 8): ECE, MCE, RMSCE, signed error, Brier, NLL,
    accuracy, confidence (NaN for a replicate of total weight 0)."""
    R = state.shape[1]
    out = np.empty((R, 8))
    bins = np.empty((3, nb))
    for r in range(R):
        for b in range(nb):
            w0 = state[b, r]
            w1 = state[nb + b, r]
            bins[0, b] = w0 + w1
            bins[1, b] = state[2 * nb + b, r]
            bins[2, b] = w1
        total, l1, l2, mx, signed = ce_from_bins(bins)
        if total > 0.0:
            out[r, 0] = l1
            out[r, 1] = mx
            out[r, 2] = l2
            out[r, 3] = signed
            out[r, 4] = state[3 * nb, r] / total
            out[r, 5] = state[3 * nb + 1, r] / total
            out[r, 6] = bins[2].sum() / total
            out[r, 7] = bins[1].sum() / total
        else:
            out[r, :] = np.nan
    return out
