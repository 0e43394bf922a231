"""Temperature scaling's ECE objective: the binned statistics of the
calibrated confidence at one ``beta``, without materialising probabilities
(the NLL objective and its derivatives are in ``_temperature``).  Binning:
OPTS (no fastmath), the metrics' find_bin on uniform edges (right-closed, as
fastcal.ece).  Rows are processed in chunks of ``R`` rows, added in chunk
order (the parallel form is derived in ``fastcal.core.pipeline``)."""

import numpy as np
from numba import njit

from ..metrics.bins import class_label, find_bin, sigmoid
from ..common import INNER, OPTS
from .temperature import BLOCK_ELEMS, exp_nonpos, row_max


@njit(**INNER)
def _ece_mc_chunk(P, y, w, beta, lo, hi, edges, bins):
    """Top-label: confidence 1 / sum_k exp(beta (z_k - max z)), correct =
    (first argmax == y), which does not depend on beta > 0.  Rows in blocks
    as in :func:`mc_chunk` (one flat exponential loop per block)."""
    C = P.shape[1]
    nb = bins.shape[1]
    nbr = max(1, BLOCK_ELEMS // C)
    D = np.empty(nbr * C)
    E = np.empty(nbr * C)
    T = np.empty(nbr)
    i = lo
    while i < hi:
        first = i
        r = 0
        while r < nbr and i < hi:
            m = row_max(P, i, C)
            am = C
            base = r * C
            for k in range(C):
                v = np.float64(P[i, k])
                D[base + k] = v - m
                if v == m and am == C:
                    am = k
            lab, _valid = class_label(y[i], C)
            T[r] = 1.0 if am == lab else 0.0
            r += 1
            i += 1
        L = r * C
        for j in range(L):
            E[j] = exp_nonpos(beta * D[j])
        for q in range(r):
            s = 0.0
            base = q * C
            for k in range(C):
                s += E[base + k]
            c = 1.0 / s
            wi = 1.0 if w is None else w[first + q]
            b = find_bin(c, edges, nb, np.bool_(True), np.bool_(True))
            bins[0, b] += wi
            bins[1, b] += wi * c
            bins[2, b] += wi * T[q]


@njit(**INNER)
def _ece_bin_chunk(z, y, w, beta, lo, hi, edges, bins):
    """Binary: confidence sigmoid(beta z) (probability of class 1), target y."""
    nb = bins.shape[1]
    for i in range(lo, hi):
        c = sigmoid(beta * np.float64(z[i]))
        t = 1.0 if y[i] == 1 else 0.0
        wi = 1.0 if w is None else w[i]
        b = find_bin(c, edges, nb, np.bool_(True), np.bool_(True))
        bins[0, b] += wi
        bins[1, b] += wi * c
        bins[2, b] += wi * t


@njit(**INNER)
def _ece_chunk(P, y, w, beta, lo, hi, edges, bins):
    if P.ndim == 1:
        _ece_bin_chunk(P, y, w, beta, lo, hi, edges, bins)
    else:
        _ece_mc_chunk(P, y, w, beta, lo, hi, edges, bins)


@njit(**OPTS)
def ece_of_bins(acc):
    """The ECE of summed bins ``acc`` (3, n_bins): weight, confidence, target."""
    W = 0.0
    gap = 0.0
    for b in range(acc.shape[1]):
        W += acc[0, b]
        gap += abs(acc[2, b] - acc[1, b])
    return gap / W


@njit(**OPTS)
def ece_bins(P, y, w, beta, R, edges):
    """Serial driver: the bins (3, n_bins) of the calibrated confidences at
    ``beta`` (binary: of sigmoid(beta z) against y), chunks of ``R`` rows
    added in chunk order (the parallel form is derived in ``fastcal.core.pipeline``)."""
    n = P.shape[0]
    nch = (n + R - 1) // R
    part = np.zeros((nch, 3, edges.shape[0] - 1))
    for c in range(nch):
        lo = c * R
        _ece_chunk(P, y, w, beta, lo, min(n, lo + R), edges, part[c])
    acc = np.zeros((3, edges.shape[0] - 1))
    for c in range(nch):
        acc += part[c]
    return acc


@njit(**OPTS)
def ece_at(P, y, w, beta, R, edges):
    """The ECE (equal-width bins ``edges``) of the calibrated confidences at ``beta``."""
    return ece_of_bins(ece_bins(P, y, w, beta, R, edges))
