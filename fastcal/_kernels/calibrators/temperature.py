"""Temperature scaling: weighted mean NLL of softmax(beta * z) and its first two
derivatives in beta = 1 / T, in one pass over the logits.

Per row (multiclass) with ``m = max_k z_k``, ``d_k = z_k - m <= 0`` and
``e_k = exp(beta d_k)``, ``S_j = sum_k e_k d_k^j``:

* ``NLL_i      = log S_0 - beta d_y``            (= logsumexp(beta z) - beta z_y)
* ``dNLL/dbeta = S_1 / S_0 - d_y``               (= E_p[z] - z_y)
* ``d2/dbeta2  = S_2 / S_0 - (S_1 / S_0)^2``     (= Var_p[z] >= 0)

Binary (n,) logits, with ``s = z`` for y = 1 and ``-z`` for y = 0:
``NLL_i = softplus(-beta s)``, ``d/dbeta = -s sigmoid(-beta s)``,
``d2/dbeta2 = s^2 sigmoid(beta s) sigmoid(-beta s)``.

Everything is computed in float64 from float32 or float64 input (no copy),
probabilities are never stored.  Since ``beta d_k <= 0`` the exponential
never overflows; it is evaluated by :func:`exp_nonpos`, an inlined
Cody-Waite + degree-13 polynomial exponential (about 1 ulp; Horner steps
as explicit fused multiply-adds, :func:`fma`) that the compiler vectorises
(numba's ``np.exp`` is a scalar libm call here).
Arguments below -708 give 0 (exp(-708) ~ 3e-308: such terms change
``S_0 >= 1`` by less than a rounding error).

Rows are processed in fixed chunks (:func:`chunk_rows`, a function of the
shape only), chunk results are summed in chunk order: serial and parallel
drivers return bitwise identical results whatever the number of threads.
``stride`` evaluates the objective on every ``stride``-th row only (the
cheap first phase of the fit).  ``check`` (a runtime boolean) validates labels,
weights and finiteness in the same pass; a chunk found invalid sets a flag
and :func:`first_error` finds the first offending element.

The third derivative ``d3/dbeta3`` (the third central moment of z under p;
binary ``-s^3 q (1 - q)(1 - 2q)`` with ``q = sigmoid(-beta s)``) comes with
the same sums and lets the fit take third-order (Halley-type) steps.
``before`` (a runtime boolean, like ``check``) also returns the NLL at beta = 1 (one more
exponential per element).

Drivers return float64 ``[W, F, G, H, T, F1, bad]``: the sum of weights,
the weighted sums of NLL, d/dbeta, d2/dbeta2, d3/dbeta3, NLL at beta = 1,
and the number of chunks found invalid (``check`` on).
"""

import numpy as np
from numba import njit

from ..metrics.bins import bad_weight, class_label, sigmoid, softplus
from ..common import (
    INNER,
    ROW_INNER,
    BAD_BINARY_LABEL,
    BAD_CLASS_LABEL,
    BAD_LOGIT,
    BAD_WEIGHT,
    OK,
    OPTS,
    ROW_OPTS,
)

# the bit cast and the one-rounding FMA are bits.py's (one implementation of each)
from ..vmath import bits_f64 as bits_to_f64
from ..vmath import fma

_INF = np.inf
# a masked logit's distance to the row's max: exp(beta * _MASKED) == 0 for any
# beta the fit reaches, and 0 * _MASKED == 0
_MASKED = -1e300
# Elements (rows x classes) per chunk.
CHUNK_ELEMS = 1 << 18


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10


@njit(inline="always", **ROW_OPTS)
def exp_nonpos(x):
    """exp(x) for x <= 0 (0 below -708), vectorisable, ~1 ulp."""
    x0 = x
    x = max(x, -708.0)
    kf = np.floor(x * _LOG2E + 0.5)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    p = 1.0 / 6227020800.0
    p = fma(p, r, 1.0 / 479001600.0)
    p = fma(p, r, 1.0 / 39916800.0)
    p = fma(p, r, 1.0 / 3628800.0)
    p = fma(p, r, 1.0 / 362880.0)
    p = fma(p, r, 1.0 / 40320.0)
    p = fma(p, r, 1.0 / 5040.0)
    p = fma(p, r, 1.0 / 720.0)
    p = fma(p, r, 1.0 / 120.0)
    p = fma(p, r, 1.0 / 24.0)
    p = fma(p, r, 1.0 / 6.0)
    p = fma(p, r, 0.5)
    p = fma(p, r, 1.0)
    p = fma(p, r, 1.0)
    scale = bits_to_f64((np.int64(kf) + 1023) << 52)
    return p * scale if x0 >= -708.0 else 0.0


def chunk_rows(n, C, stride):
    """Rows per chunk: a multiple of ``stride``, fixed by the shape only."""
    r = max(1, CHUNK_ELEMS // max(C, 1))
    r = max(stride, (r // stride) * stride)
    return r


@njit(inline="always", **ROW_OPTS)
def row_max(P, i, C):
    """max_k P[i, k] in float64; wide rows use four running maxima (a single
    one is a chain of dependent compares, about 4 cycles per element)."""
    m0 = np.float64(P[i, 0])
    if C < 32:
        for k in range(1, C):
            v = np.float64(P[i, k])
            m0 = max(m0, v)
        return m0
    m1 = m0
    m2 = m0
    m3 = m0
    k = 1
    while k + 3 < C:
        v0 = np.float64(P[i, k])
        v1 = np.float64(P[i, k + 1])
        v2 = np.float64(P[i, k + 2])
        v3 = np.float64(P[i, k + 3])
        m0 = max(m0, v0)
        m1 = max(m1, v1)
        m2 = max(m2, v2)
        m3 = max(m3, v3)
        k += 4
    while k < C:
        v0 = np.float64(P[i, k])
        m0 = max(m0, v0)
        k += 1
    m0 = max(m0, m1)
    m2 = max(m2, m3)
    return max(m0, m2)


# the chunk sums (W, F, G, H, T, F1) and validity of no rows
_NO_ROWS = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, True)


@njit(inline="always", **OPTS)
def _add_row(W, F, G, H, T, F1, ok, w, i, check, f, g, h, t, f1):
    """The chunk sums with row ``i``'s terms added (weighted by ``w[i]``, or 1
    when ``w`` is None; the weight validated when ``check`` is on)."""
    if w is not None:
        wi = w[i]
        if check:
            ok &= (wi >= 0.0) & (wi < _INF)
        return W + wi, F + wi * f, G + wi * g, H + wi * h, T + wi * t, F1 + wi * f1, ok
    return W + 1.0, F + f, G + g, H + h, T + t, F1 + f1, ok


# Rows of a multiclass chunk are processed in blocks of about BLOCK_ELEMS
# elements: the shifted logits d of the block are gathered into a contiguous
# buffer, the exponentials computed by one flat loop (which the compiler
# vectorises), then the per-row moments are summed.  Each term and each
# row's order of summation are those of the row-by-row loop.
BLOCK_ELEMS = 1024


@njit(**ROW_INNER)
def mc_chunk(P, y, w, beta, lo, hi, stride, check, before):
    C = P.shape[1]
    nbr = max(1, BLOCK_ELEMS // C)
    D = np.empty(nbr * C)
    E = np.empty(nbr * C)
    B = np.empty(nbr * C if before else 1)
    DY = np.empty(nbr)
    W, F, G, H, T, F1, ok = _NO_ROWS
    i = lo
    while i < hi:
        # gather a block of rows: d = z - max z (validated when check is on)
        first = i
        r = 0
        while r < nbr and i < hi:
            m = row_max(P, i, C)
            base = r * C
            fin = m > -_INF  # a row of -inf has no finite logit
            for k in range(C):
                v = np.float64(P[i, k])
                # a masked (-inf) logit: exp of a huge negative is exactly 0, and
                # the gradient terms e * d stay 0 (with d = -inf they would be NaN)
                D[base + k] = max(v - m, _MASKED)
                if check:
                    fin &= v < _INF  # NaN, +inf
            lab, valid = class_label(y[i], C)
            if check:
                ok &= valid & fin
            DY[r] = max(np.float64(P[i, lab]) - m, _MASKED)
            r += 1
            i += stride
        nrow = r
        L = nrow * C
        for j in range(L):
            E[j] = exp_nonpos(beta * D[j])
        if before:
            for j in range(L):
                B[j] = exp_nonpos(D[j])
        for r in range(nrow):
            base = r * C
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for k in range(C):
                e = E[base + k]
                d = D[base + k]
                ed = e * d
                edd = ed * d
                s0 += e
                s1 += ed
                s2 += edd
                s3 += edd * d
            dy = DY[r]
            mu = s1 / s0
            m2 = s2 / s0
            f = np.log(s0) - beta * dy
            g = mu - dy
            h = max(m2 - mu * mu, 0.0)
            t = s3 / s0 - 3.0 * mu * m2 + 2.0 * mu * mu * mu
            f1 = 0.0
            if before:
                b0 = 0.0
                for k in range(C):
                    b0 += B[base + k]
                f1 = np.log(b0) - dy
            W, F, G, H, T, F1, ok = _add_row(W, F, G, H, T, F1, ok, w, first + r * stride,
                                             check, f, g, h, t, f1)
    return W, F, G, H, T, F1, ok


@njit(**INNER)
def bin_chunk(z, y, w, beta, lo, hi, stride, check, before):
    W, F, G, H, T, F1, ok = _NO_ROWS
    for i in range(lo, hi, stride):
        zi = np.float64(z[i])
        yi = y[i]
        if check:
            ok &= ((yi == 0) | (yi == 1)) & (zi > -_INF) & (zi < _INF)
        s = zi if yi == 1 else -zi
        t = beta * s
        f = softplus(-t)
        q = sigmoid(-t)
        g = -s * q
        qq = q * (1.0 - q)
        h = s * s * qq
        t = -s * s * s * qq * (1.0 - 2.0 * q)
        f1 = 0.0
        if before:
            f1 = softplus(-s)
        W, F, G, H, T, F1, ok = _add_row(W, F, G, H, T, F1, ok, w, i, check, f, g, h, t, f1)
    return W, F, G, H, T, F1, ok


@njit(inline="always", **OPTS)
def _store(out, c, res):
    """Row c of the partial states from a chunk's (W, F, G, H, T, F1, ok)."""
    W, F, G, H, T, F1, ok = res
    out[c, 0] = W
    out[c, 1] = F
    out[c, 2] = G
    out[c, 3] = H
    out[c, 4] = T
    out[c, 5] = F1
    out[c, 6] = 0.0 if ok else 1.0


@njit(**OPTS)
def _reduce(out):
    """Sum of the partial states in chunk order."""
    acc = np.zeros(7)
    for c in range(out.shape[0]):
        acc += out[c]
    return acc


@njit(**OPTS)
def nll_derivs(P, y, w, beta, stride, R, check, before):
    """Serial driver, (n,) binary or (n, C) logits: float64
    [W, F, G, H, T, F1, bad] (see the module docstring).  ``P.ndim`` is a
    constant of the compiled specialisation: Numba drops the other branch
    before typing, so each specialisation compiles one chunk kernel."""
    n = P.shape[0]
    nch = (n + R - 1) // R
    out = np.zeros((nch, 7))
    for c in range(nch):
        lo = c * R
        hi = min(n, lo + R)
        if P.ndim == 1:
            _store(out, c, bin_chunk(P, y, w, beta, lo, hi, stride, check, before))
        else:
            _store(out, c, mc_chunk(P, y, w, beta, lo, hi, stride, check, before))
    return _reduce(out)


# the names the callers use (one driver: the chunk kernel follows P.ndim)
nll_derivs_mc = nll_derivs
nll_derivs_bin = nll_derivs


@njit(**OPTS)
def first_error_mc(P, y, w):
    """(code, index) of the first invalid element (OK, -1 when valid)."""
    n, C = P.shape
    for i in range(n):
        _lab, valid = class_label(y[i], C)
        if not valid:
            return BAD_CLASS_LABEL, i
        top = -_INF
        for k in range(C):
            v = np.float64(P[i, k])
            if not v < _INF:  # NaN, +inf (-inf: masked)
                return BAD_LOGIT, i
            top = max(top, v)
        if top == -_INF:
            return BAD_LOGIT, i
        if bad_weight(w, i):
            return BAD_WEIGHT, i
    return OK, -1


@njit(**OPTS)
def first_error_bin(z, y, w):
    """(code, index) of the first invalid element (OK, -1 when valid)."""
    n = z.shape[0]
    for i in range(n):
        yi = y[i]
        if not (yi == 0 or yi == 1):
            return BAD_BINARY_LABEL, i
        v = np.float64(z[i])
        if not ((v > -_INF) & (v < _INF)):
            return BAD_LOGIT, i
        if bad_weight(w, i):
            return BAD_WEIGHT, i
    return OK, -1


@njit(**OPTS)
def scaled_sigmoid(z, beta):
    """float64 sigmoid(beta * z)."""
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        out[i] = sigmoid(beta * np.float64(z[i]))
    return out


@njit(**OPTS)
def scaled_softmax(P, beta):
    """float64 softmax(beta * z) per row."""
    n, C = P.shape
    out = np.empty((n, C))
    for i in range(n):
        m = np.float64(P[i, 0])
        for k in range(1, C):
            v = np.float64(P[i, k])
            m = max(m, v)
        s = 0.0
        for k in range(C):
            e = np.exp(beta * (np.float64(P[i, k]) - m))
            out[i, k] = e
            s += e
        for k in range(C):
            out[i, k] /= s
    return out
