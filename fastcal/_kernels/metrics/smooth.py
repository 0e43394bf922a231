"""Smooth ECE (Blasiok & Nakkiran 2023) as relplot computes it: values spread
linearly onto a grid of ``m`` points, then convolved with a reflected
Gaussian kernel.

``grid_sums`` is the one pass over the rows: for confidence ``f`` with
``x = f * (m - 1)``, ``j = clip(int(x), 0, m - 2)`` and ``a = x - j``, row
weight ``w`` adds ``(1 - a) w r`` to ``R[j]`` and ``a w r`` to ``R[j + 1]``
(residual ``r = f - y``), the same with ``r = 1`` into ``D`` (relplot's
``smooth_round_to_grid``, in the same float64 operations).

``reflect_convolve(values, ker)`` equals relplot's
``np.convolve(concat(flip(v)[:-1], v, flip(v)[1:]), ker, "valid")[m//2 : m//2 + m]``
for a kernel ``ker`` of length ``m``, skipping the kernel entries that are
exactly 0 (the Gaussian underflows beyond about 38.6 sigma), so the work is
``m`` times the kernel's support, not ``m**2``.  Sums run in another order
than numpy's: results agree to rounding.
"""

import numpy as np
from numba import njit

from ..common import OPTS
from .bins import grid_cell


@njit(**OPTS)
def grid_sums(conf, corr, w, m):
    """(2, m) float64: residual and weight spread onto the grid."""
    out = np.zeros((2, m))
    scale = np.float64(m - 1)
    for i in range(conf.shape[0]):
        f = conf[i]
        j, a = grid_cell(f * scale, m - 2)
        r = f - (1.0 if corr[i] else 0.0)
        wi = 1.0 if w is None else w[i]
        b = 1.0 - a
        out[0, j] += b * r * wi if w is not None else b * r
        out[0, j + 1] += a * r * wi if w is not None else a * r
        out[1, j] += b * wi
        out[1, j + 1] += a * wi
    return out


@njit(**OPTS)
def reflect_convolve(values, ker):
    """Reflected 'same'-size convolution of each row of ``values`` (k, m) with
    ``ker`` (m,) (see the module docstring)."""
    k, m = values.shape
    lo = 0
    while lo < m and ker[lo] == 0.0:
        lo += 1
    hi = m - 1
    while hi > lo and ker[hi] == 0.0:
        hi -= 1
    out = np.zeros((k, m))
    h = m // 2
    ext = np.empty(3 * m - 2)
    for row in range(k):
        v = values[row]
        for q in range(m - 1):
            ext[q] = v[m - 1 - q]
        for q in range(m):
            ext[m - 1 + q] = v[q]
        for q in range(2 * m - 1, 3 * m - 2):
            ext[q] = v[3 * m - 3 - q]
        o = out[row]
        # out[i] = sum_j ext[i + h + m - 1 - j] ker[j]: one axpy per kernel
        # entry (vectorises; the sum over j runs in increasing j)
        for j in range(lo, hi + 1):
            kj = ker[j]
            off = h + m - 1 - j
            for i in range(m):
                o[i] += ext[i + off] * kj
    return out
