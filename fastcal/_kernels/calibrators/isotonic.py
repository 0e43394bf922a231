"""Pool-adjacent-violators isotonic regression and the pieces of the
isotonic calibrator: a stable radix argsort of float keys, pooling of tied X,
and linear interpolation.  Arrays in, arrays out; no validation.

The PAV loop follows scipy's ``_pava`` (Busing 2022, Algorithm 1) step by
step, so the fitted values are the same floating-point operations in the same
order.  The one addition: a pooled block whose total weight is zero keeps the
value of its last element instead of dividing 0 by 0 (zero-weight points cost
nothing, any monotone value between their neighbours is optimal).
"""

import numpy as np
from numba import njit

from ..common import OPTS
from ..uncertainty.delong import argsort_keys


@njit(**OPTS)
def pav_inplace(xa, wa, r):
    """Increasing PAV of ``xa`` (float64, overwritten with the fit) with
    weights ``wa`` (float64, overwritten with block weights); ``r`` is an
    intp scratch array of length n + 1 (block starts).  Returns the number of
    blocks."""
    n = xa.shape[0]
    if n == 0:
        return 0
    if n == 1:
        r[0] = 0
        r[1] = 1
        return 1
    r[0] = 0
    r[1] = 1
    b = 0
    xb_prev = xa[0]
    wb_prev = wa[0]
    i = 1
    while i < n:
        b += 1
        xb = xa[i]
        wb = wa[i]
        if xb_prev >= xb:
            b -= 1
            sb = wb_prev * xb_prev + wb * xb
            wb += wb_prev
            if wb > 0:
                xb = sb / wb
            while i < n - 1 and xb >= xa[i + 1]:
                i += 1
                sb += wa[i] * xa[i]
                wb += wa[i]
                if wb > 0:
                    xb = sb / wb
                else:
                    xb = xa[i]
            while b > 0 and xa[b - 1] >= xb:
                b -= 1
                sb += wa[b] * xa[b]
                wb += wa[b]
                if wb > 0:
                    xb = sb / wb
        xa[b] = xb
        xb_prev = xb
        wa[b] = wb
        wb_prev = wb
        r[b + 1] = i + 1
        i += 1
    f = n - 1
    for k in range(b, -1, -1):
        t = r[k]
        xk = xa[k]
        for j in range(f, t - 1, -1):
            xa[j] = xk
        f = t - 1
    return b + 1


@njit(**OPTS)
def _fit_row(y, w, out, wbuf, r, increasing):
    n = y.shape[0]
    if increasing:
        for i in range(n):
            out[i] = y[i]
            wbuf[i] = w[i]
    else:
        for i in range(n):
            out[i] = y[n - 1 - i]
            wbuf[i] = w[n - 1 - i]
    pav_inplace(out, wbuf, r)
    if not increasing:
        for i in range(n // 2):
            t = out[i]
            out[i] = out[n - 1 - i]
            out[n - 1 - i] = t


@njit(**OPTS)
def isotonic_1d(y, w, increasing):
    """PAV fit of 1-D ``y`` (any float dtype) with float64 weights ``w``;
    returns a new float64 array (scipy's ``isotonic_regression(...).x``)."""
    n = y.shape[0]
    out = np.empty(n, np.float64)
    wbuf = np.empty(n, np.float64)
    r = np.empty(n + 1, np.intp)
    _fit_row(y, w, out, wbuf, r, increasing)
    return out


@njit(**OPTS)
def isotonic_rows(Y, W, increasing):
    """One independent PAV fit per row of 2-D ``Y`` (weights ``W``, same shape)."""
    m, n = Y.shape
    out = np.empty((m, n), np.float64)
    wbuf = np.empty(n, np.float64)
    r = np.empty(n + 1, np.intp)
    for k in range(m):
        _fit_row(Y[k], W[k], out[k], wbuf, r, increasing)
    return out


# --- sorting -----------------------------------------------------------------

_SIGN = np.uint64(0x8000000000000000)


@njit(**OPTS)
def argsort_float(x):
    """Stable argsort of a finite float64 array (int64 permutation); -0.0 and
    0.0 compare equal (keep their input order), as in numpy.  The LSD radix
    sort of ``_kernels.uncertainty.delong.argsort_keys`` (one implementation)."""
    return argsort_keys(x)[1]


# --- pooling of tied X (sklearn's _make_unique) --------------------------------


@njit(inline="always", **OPTS)
def _close_run(ux, uy, uw, m, cx, cy, cw):
    """Store the pooled run (its X, weighted mean y, weight) at ``m``; ``m + 1``."""
    ux[m] = cx
    uw[m] = cw
    uy[m] = cy / cw
    return m + 1


@njit(**OPTS)
def pool_sorted(X, y, w, has_w, order, eps):
    """Walk X in the order ``order`` (ascending X), skipping zero weights,
    and pool runs of X closer than ``eps`` to the run's first value (as
    scikit-learn's ``_make_unique``): returns (unique X in X's dtype,
    weighted mean y in float64, summed weight in float64, count)."""
    n = order.shape[0]
    ux = np.empty(n, X.dtype)
    uy = np.empty(n, np.float64)
    uw = np.empty(n, np.float64)
    m = 0
    started = False
    cx = X[0]
    cy = 0.0
    cw = 0.0
    for j in range(n):
        i = order[j]
        wi = w[i] if has_w else 1.0
        if not wi > 0:
            continue
        xi = X[i]
        if not started:
            started = True
            cx = xi
            cy = np.float64(y[i]) * wi
            cw = wi
        elif xi - cx >= eps:
            m = _close_run(ux, uy, uw, m, cx, cy, cw)
            cx = xi
            cy = np.float64(y[i]) * wi
            cw = wi
        else:
            cw += wi
            cy += np.float64(y[i]) * wi
    if started:
        m = _close_run(ux, uy, uw, m, cx, cy, cw)
    return ux[:m], uy[:m], uw[:m], m


# --- prediction (scipy interp1d, kind="linear") -------------------------------


@njit(**OPTS)
def interp_linear(xt, yt, T, nan_outside):
    """``interp1d(xt, yt)(T)`` computed as scipy does, in the dtype of the
    thresholds: searchsorted left, clipped to [1, m-1], slope times offset
    plus y_lo; NaN outside [xt[0], xt[-1]] when ``nan_outside``."""
    n = T.shape[0]
    m = xt.shape[0]
    out = np.empty(n, yt.dtype)
    x0 = xt[0]
    x1 = xt[m - 1]
    for i in range(n):
        t = T[i]
        if m == 1:
            out[i] = yt[0]
            continue
        if nan_outside and (t < x0 or t > x1):
            out[i] = np.nan
            continue
        lo = 0
        hi = m
        while lo < hi:
            mid = (lo + hi) >> 1
            if xt[mid] < t:
                lo = mid + 1
            else:
                hi = mid
        j = lo
        if j < 1:
            j = 1
        elif j > m - 1:
            j = m - 1
        xl = xt[j - 1]
        yl = yt[j - 1]
        slope = (yt[j] - yl) / (xt[j] - xl)
        out[i] = slope * (t - xl) + yl
    return out


@njit(**OPTS)
def average_ranks(x, order):
    """1-based ranks of ``x`` (float64) with ties given their average rank
    (scipy.stats.rankdata "average"), from a stable ascending ``order``."""
    n = order.shape[0]
    ranks = np.empty(n, np.float64)
    i = 0
    while i < n:
        j = i + 1
        v = x[order[i]]
        while j < n and x[order[j]] == v:
            j += 1
        avg = 0.5 * (i + 1 + j)
        for k in range(i, j):
            ranks[order[k]] = avg
        i = j
    return ranks


@njit(**OPTS)
def first_nonfinite(a):
    """Index of the first NaN/inf of a 1-D array, or -1."""
    for i in range(a.shape[0]):
        v = a[i]
        if not (v - v == 0):
            return i
    return -1


@njit(**OPTS)
def pool_hashed(X, X64, y, w, has_w, eps, limit):
    """As :func:`pool_sorted` without sorting the n points: exact-equal X are
    grouped in an open-addressing hash table (per-group sums of w and y*w in
    input order), the distinct values (at most ``limit``, else ``m = -1`` is
    returned) are sorted, then runs closer than ``eps`` are pooled."""
    n = X.shape[0]
    bits = 4
    while (1 << bits) < 2 * limit:
        bits += 1
    cap = 1 << bits
    tmask = cap - 1
    table = np.full(cap, -1, np.int64)
    ub = X64.view(np.uint64)
    gkey = np.empty(limit, np.uint64)
    gx = np.empty(limit, X.dtype)
    gx64 = np.empty(limit, np.float64)
    gy = np.zeros(limit, np.float64)
    gw = np.zeros(limit, np.float64)
    ng = 0
    mult = np.uint64(0x9E3779B97F4A7C15)
    shift = np.uint64(64 - bits)
    for i in range(n):
        wi = w[i] if has_w else 1.0
        if not wi > 0:
            continue
        u = ub[i]
        if u == _SIGN:
            u = np.uint64(0)
        h = np.intp((u * mult) >> shift)
        while True:
            g = table[h]
            if g < 0:
                if ng == limit:
                    return gx[:0], gy[:0], gw[:0], -1
                g = ng
                ng += 1
                table[h] = g
                gkey[g] = u
                gx[g] = X[i]
                gx64[g] = X64[i]
                break
            if gkey[g] == u:
                break
            h = (h + 1) & tmask
        gw[g] += wi
        gy[g] += np.float64(y[i]) * wi
    order = argsort_float(gx64[:ng])
    ux = np.empty(ng, X.dtype)
    uy = np.empty(ng, np.float64)
    uw = np.empty(ng, np.float64)
    m = 0
    cx = gx[order[0]]
    cy = 0.0
    cw = 0.0
    for j in range(ng):
        g = order[j]
        xi = gx[g]
        if j == 0:
            cx = xi
            cy = gy[g]
            cw = gw[g]
        elif xi - cx >= eps:
            m = _close_run(ux, uy, uw, m, cx, cy, cw)
            cx = xi
            cy = gy[g]
            cw = gw[g]
        else:
            cw += gw[g]
            cy += gy[g]
    m = _close_run(ux, uy, uw, m, cx, cy, cw)
    return ux[:m], uy[:m], uw[:m], m
