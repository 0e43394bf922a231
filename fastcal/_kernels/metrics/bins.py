"""Bin lookup and the small scalar helpers every binned kernel shares.

Bin rule (docs/design.md, section 3): with ``right`` on, bin ``b`` is
``(e_b, e_{b+1}]`` and 0 falls in bin 0; with ``right`` off it is
``[e_b, e_{b+1})`` and 1 falls in the last bin.  Confidences are compared in
float64.
"""

import numpy as np
from numba import njit

from ..common import (
    OPTS,
)


_INF = np.inf
# Rows whose statistics are computed per call of rows_probs (a power of two);
# also the block of per-row log arguments evaluated together (vectorised).
ROW_BLOCK = 256
# Elements of a row exponentiated per vectorised block.
EXP_BLOCK = 512
# Within this distance of an edge (in units of bin width) the uniform-bin
# guess int(c * n_bins) is checked against the exact float64 edges.
_EDGE_SLACK = 1e-9


@njit(inline="always", **OPTS)
def grid_cell(x, top):
    """``(k, x - k)``: the cell ``int(x)`` of a unit grid, clamped to
    ``[0, top]``, and ``x``'s offset from its left end."""
    k = int(x)
    if k > top:
        k = top
    elif k < 0:
        k = 0
    return k, x - k


@njit(inline="always", **OPTS)
def bad_value(v, logits):
    """Whether float64 ``v`` is invalid input: a logit not finite (``logits``
    not None), or a probability outside [0, 1]."""
    if logits is not None:
        return not (v > -_INF and v < _INF)
    return not (v >= 0.0 and v <= 1.0)


@njit(inline="always", **OPTS)
def bad_weight(w, i):
    """Whether weight ``w[i]`` is invalid (negative or not finite); never
    when ``w`` is None (unweighted)."""
    if w is not None:
        wi = w[i]
        return not (wi >= 0.0 and wi < _INF)
    return False


@njit(**OPTS)
def find_bin(c, edges, nb, uniform, right):
    """Index of the bin holding float64 confidence ``c`` (never out of range).

    With ``uniform`` on, ``int(c * nb)`` is exact away from the edges and is
    corrected against the float64 edges near them, so the result equals the
    binary search, only faster.
    """
    if uniform:
        k, f = grid_cell(c * nb, nb - 1)
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
