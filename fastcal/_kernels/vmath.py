"""Vectorisable ``exp``, ``log`` and ``log1p`` for Numba kernels.

Numba without SVML compiles ``np.exp`` / ``np.log`` in an ``@njit`` loop to
scalar libm calls, which keep the loop from vectorising.  The functions here
are plain float64 arithmetic, integer bit operations on the float's bits,
fused multiply-adds and selects, with no calls and no branches that LLVM
cannot turn into selects, so a loop that calls them vectorises (AVX2/AVX-512:
4 or 8 float64 per instruction).  No fastmath anywhere: every operation is
the IEEE one written, so results are bitwise identical on every machine.

Scalar functions (inlined into the caller; accept float32 or float64, compute
and return float64)
------------------------------------------------------------------------------
``exp_(x)``
    exp(x).  ``x > 709.782712893384`` -> ``inf``; subnormal results are
    rounded once, onto the subnormal grid; ``x <= -745.1332191019412`` -> 0;
    ``exp_(-inf) == 0``, ``exp_(inf) == inf``, NaN -> NaN.
``exp_fast_(x)``
    exp(x) with about half the work of ``exp_`` and the same special values;
    error < 1 ulp (faithful).  For sums of exponentials (softmax
    normalisers); prefer ``exp_`` where results are compared.
``log_(x)``
    log(x) for x > 0, subnormal x included.  ``log_(0) == -inf``,
    ``log_(inf) == inf``, x < 0 or NaN -> NaN.
``log1p_(x)``
    log(1 + x) for x > -1, accurate for tiny x.  ``log1p_(-1) == -inf``,
    ``log1p_(inf) == inf``, x < -1 or NaN -> NaN.

A loop that accumulates (``t += log_(q[i])``) still does not vectorise: without
fastmath LLVM keeps the sequential order of the additions.  Fill a buffer
with a ``*_block`` helper, then reduce it with ``sum_block``.

Block helpers (the shape in which binned kernels call them: small contiguous
float64 buffers, e.g. 256 elements)
------------------------------------------------------------------------------
``exp_block(src, dst, n)``, ``exp_fast_block(src, dst, n)``,
``log_block(src, dst, n)``, ``log1p_block(src, dst, n)``
    ``dst[i] = f(src[i])`` for ``i < n``; ``src`` float64 or float32,
    ``dst`` float64, both 1-D and contiguous (``src is dst`` is allowed).
``sum_block(src, n)``
    sum of ``src[:n]`` in a fixed order that is not latency-bound: element
    ``i < n - n % 16`` goes to partial sum ``i % 16`` (each partial summed in
    increasing ``i``), the 16 partials are combined as a balanced pairwise
    tree ``((p0 + p8) + (p4 + p12)) + ((p2 + p10) + (p6 + p14))`` + the same
    for the odd partials (see :func:`sum_block`), and the last ``n % 16``
    elements are then added one by one in increasing ``i``.  The result is a
    function of ``src[:n]`` only (never of the machine or thread count).

Accuracy (measured against mpmath at 200 bits, see ``tests/test_vmath.py``)
------------------------------------------------------------------------------
``exp_``, ``log_`` and ``log1p_`` have a maximum error below 0.51 ulp
(measured 0.5016; the tests assert <= 0.51 ulp on hypothesis draws over the
whole finite range, 100k-point random samples and dense sweeps of the hard
regions) and return the correctly rounded result for more than 99.99 % of
arguments (measured: 1 to 3 misrounded per 100 000).  They are not proven
correctly rounded.  ``exp_fast_``: < 1 ulp (measured 0.75, 0.82 for
subnormal results; the tests assert < 1 ulp), correctly rounded about 94 %
of the time.

Cost: a fraction of the scalar libm calls ``np.exp`` / ``np.log`` /
``np.log1p`` compile to in an njit loop, since the blocks vectorise
(docs/performance.md, "Vectorised exp and log", has the figures).

Method.  ``exp``: ``n = round(x / ln2)``, ``r = x - n ln2`` with the first
product exact by an FMA and a second constant for the tail of ln2, then
``exp(r) = 1 + r + r^2/2 + r^3/6 + r^4 Q(r)`` (Taylor to degree 15, |r| <=
0.347) where the first four terms are summed in double-double arithmetic, and
the scaling by ``2^n`` done on the exponent bits in two factors (one final
rounding onto the subnormal grid for tiny results).  ``log``: ``x = 2^k m``
with ``m`` in [sqrt(1/2), sqrt(2)), ``f = m - 1`` (exact), ``s = f / (2 +
f)`` in double-double, ``log(1 + f) = 2s + s w P(w)``, ``w = s^2`` (series
of atanh to degree 25, leading coefficient in double-double), plus ``k ln2``
as a two-constant product.  ``log1p``: the same kernel applied to ``f = x``
when ``x`` is in [sqrt(1/2) - 1, sqrt(2) - 1), otherwise to ``u = 1 + x``
with the exact rounding error of that sum carried as a correction.

Monotonicity.  The error is far below half an ulp except within a hair of
rounding midpoints, and ``exp_`` was found non-decreasing on every ordered
sample checked (about 4e8 inputs: random over [-746, 710] and [-2, 2], runs
of consecutive floats around every reduction boundary ``(j + 1/2) ln2``,
around small arguments and the under/overflow thresholds; ``log_`` and
``log1p_`` likewise on consecutive runs).  This is empirical, not a
guarantee: only a correctly rounded function is certainly monotone, and
these are not proven correctly rounded.  ``exp_fast_`` passed the same
checks, but with errors up to 0.82 ulp a decreasing pair is likelier there.
A caller that needs a certified order should compare the arguments, not the
results.

Bit reinterpretation (float64 <-> int64) and the FMA (one correctly rounded
operation) are LLVM intrinsics, in ``_bits``.
"""

import math

import numpy as np
from numba import njit

from .bits import bits_f64, f64_bits, fma  # noqa: F401  (the bit casts and the FMA)
from .common import OPTS

# ------------------------------------------------------------- constants
_INV_LN2 = 1.4426950408889634
# ln2 = _LN2 + _LN2_T to about 2^-107 (for exp: n * _LN2 is subtracted by an FMA)
_LN2 = float.fromhex("0x1.62e42fefa39efp-1")
_LN2_T = float.fromhex("0x1.abc9e3b39803fp-56")
# fdlibm's split: _LN2_H has 32 significant bits, so k * _LN2_H is exact
_LN2_H = float.fromhex("0x1.62e42fee00000p-1")
_LN2_L = float.fromhex("0x1.a39ef35793c76p-33")
_C6_H = 1.0 / 6.0
_C6_L = 9.25185853854297e-18  # 1/6 - _C6_H
_C23_H = 2.0 / 3.0
_C23_L = 3.700743415417188e-17  # 2/3 - _C23_H
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
_TWO54 = 18014398509481984.0
_TINY = 2.2250738585072014e-308  # 2^-1022, smallest normal
_TWO_M64 = 2.0 ** -64
_LOG1P_LO = -0.29289321881345254  # sqrt(1/2) - 1
_LOG1P_HI = 0.41421356237309503  # sqrt(2) - 1

# exp: 1/k! for k = 4 .. 15
_E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13, _E14, _E15 = (
    1.0 / math.factorial(k) for k in range(4, 16)
)
# exp_fast_: 1/k! for k = 2 .. 13
_F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10, _F11, _F12, _F13 = (
    1.0 / math.factorial(k) for k in range(2, 14)
)
# log: 2 / (2j + 3) for j = 1 .. 11
_L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8, _L9, _L10, _L11 = (
    2.0 / (2 * j + 3) for j in range(1, 12)
)
_NAN = np.nan
_INF = np.inf


# ------------------------------------------------------------------- exp
@njit(inline="always", **OPTS)
def exp_(x):
    """exp(x) in float64, vectorisable; < 0.51 ulp (see the module notes).

    Examples
    --------
    >>> from fastcal._kernels.vmath import exp_
    >>> exp_(1.0) == 2.718281828459045
    True
    >>> exp_(-746.0), exp_(710.0)
    (0.0, inf)
    """
    x = float(x)
    # explicit selects, not max/min: NaN -> -746 here (fixed up at the end)
    xc = x if x > -746.0 else -746.0  # noqa: FURB136
    xc = xc if xc < 710.0 else 710.0  # noqa: FURB136
    kf = np.floor(xc * _INV_LN2 + 0.5)
    n = np.int64(kf)
    rh = fma(-kf, _LN2, xc)  # exact: see the module notes
    rl = -kf * _LN2_T
    # exp(rh) = 1 + rh + rh^2/2 + rh^3/6 + rh^4 Q(rh), first terms double-double
    r2h = rh * rh
    r2l = fma(rh, rh, -r2h)
    r3h = r2h * rh
    r3l = fma(r2h, rh, -r3h) + r2l * rh
    th = r3h * _C6_H
    tl = fma(r3h, _C6_H, -th) + (r3h * _C6_L + r3l * _C6_H)
    q = _E15
    q = fma(q, rh, _E14)
    q = fma(q, rh, _E13)
    q = fma(q, rh, _E12)
    q = fma(q, rh, _E11)
    q = fma(q, rh, _E10)
    q = fma(q, rh, _E9)
    q = fma(q, rh, _E8)
    q = fma(q, rh, _E7)
    q = fma(q, rh, _E6)
    q = fma(q, rh, _E5)
    q = fma(q, rh, _E4)
    q = q * (r2h * r2h)
    s1 = 1.0 + rh
    e1 = (1.0 - s1) + rh
    h2 = 0.5 * r2h
    s2 = s1 + h2
    e2 = (s1 - s2) + h2
    s3 = s2 + th
    e3 = (s2 - s3) + th
    tail = (((e1 + e2) + e3) + (0.5 * r2l + tl)) + (q + rl * (s3 + q))
    # normal results: (s3 + tail) * 2^(n - a) * 2^a, both factors normal
    pos = n > 0
    a = np.int64(1) if pos else np.int64(-64)
    y = (s3 + tail) * bits_f64((n - a + 1023) << 52)
    y = y * (2.0 if pos else _TWO_M64)
    # subnormal results: one rounding onto the grid of 2^-1074
    m = n + 1022
    m = m if m < 0 else np.int64(0)
    sc = bits_f64((m + 1023) << 52)
    vh = s3 * sc
    vl = tail * sc
    hi = 1.0 + vh
    lo = ((1.0 - hi) + vh) + vl
    ysub = ((hi + lo) - 1.0) * _TINY
    y = ysub if y < _TINY else y
    return x if np.isnan(x) else y


@njit(inline="always", **OPTS)
def exp_fast_(x):
    """exp(x) in float64 with about half the work of :func:`exp_`; < 1 ulp.

    Same special values as :func:`exp_`.  Faithful (max error measured 0.75
    ulp, 0.82 ulp for subnormal results, correctly rounded about 94 % of the
    time); no decreasing pair was found on ordered samples, but that is less
    assured than for :func:`exp_`.  Use it where the results are summed
    (softmax normalisers), :func:`exp_` where they are compared.

    Examples
    --------
    >>> from fastcal._kernels.vmath import exp_fast_
    >>> abs(exp_fast_(1.0) - 2.718281828459045) <= 4.5e-16
    True
    """
    x = float(x)
    # explicit selects, not max/min: NaN -> -746 here (fixed up at the end)
    xc = x if x > -746.0 else -746.0  # noqa: FURB136
    xc = xc if xc < 710.0 else 710.0  # noqa: FURB136
    kf = np.floor(xc * _INV_LN2 + 0.5)
    n = np.int64(kf)
    r = fma(-kf, _LN2_T, fma(-kf, _LN2, xc))  # rounded once
    q = _F13
    q = fma(q, r, _F12)
    q = fma(q, r, _F11)
    q = fma(q, r, _F10)
    q = fma(q, r, _F9)
    q = fma(q, r, _F8)
    q = fma(q, r, _F7)
    q = fma(q, r, _F6)
    q = fma(q, r, _F5)
    q = fma(q, r, _F4)
    q = fma(q, r, _F3)
    q = fma(q, r, _F2)
    s1 = 1.0 + r
    e1 = (1.0 - s1) + r  # 1 + r = s1 + e1 exactly
    y = s1 + fma(r * r, q, e1)
    pos = n > 0
    a = np.int64(1) if pos else np.int64(-64)
    y = y * bits_f64((n - a + 1023) << 52)
    y = y * (2.0 if pos else _TWO_M64)  # subnormal results: rounded a second time
    return x if np.isnan(x) else y


# ------------------------------------------------------------------- log
@njit(inline="always", **OPTS)
def _log_core(f, kf, extra):
    """k ln2 + log(1 + f) + extra for exact f in [sqrt(1/2) - 1, sqrt(2) - 1]."""
    dh = 2.0 + f
    dl = (2.0 - dh) + f
    sh = f / dh
    sl = (fma(-sh, dh, f) - sh * dl) / dh  # s = f / (2 + f) = sh + sl
    wh = sh * sh
    wl = fma(sh, sh, -wh) + 2.0 * sh * sl  # w = s^2
    q = _L11
    q = fma(q, wh, _L10)
    q = fma(q, wh, _L9)
    q = fma(q, wh, _L8)
    q = fma(q, wh, _L7)
    q = fma(q, wh, _L6)
    q = fma(q, wh, _L5)
    q = fma(q, wh, _L4)
    q = fma(q, wh, _L3)
    q = fma(q, wh, _L2)
    q = fma(q, wh, _L1)
    q = q * wh
    ph = _C23_H + q  # P(w) = 2/3 + w Q(w)
    pl = ((_C23_H - ph) + q) + _C23_L
    swh = sh * wh
    swl = fma(sh, wh, -swh) + (sh * wl + sl * wh)
    th = swh * ph  # T = s w P(w)
    tl = fma(swh, ph, -th) + (swh * pl + swl * ph)
    s2h = 2.0 * sh
    ah = s2h + th
    ae = (s2h - ah) + th
    lo = (ae + 2.0 * sl) + tl
    kh = kf * _LN2_H
    bh = kh + ah
    be = (kh - bh) + ah
    return bh + (((be + kf * _LN2_L) + lo) + extra)


@njit(inline="always", **OPTS)
def log_(x):
    """log(x) in float64, vectorisable; < 0.51 ulp (see the module notes).

    Examples
    --------
    >>> from fastcal._kernels.vmath import log_
    >>> log_(2.0) == 0.6931471805599453
    True
    >>> log_(0.0), log_(5e-324) == -744.4400719213812
    (-inf, True)
    """
    x = float(x)
    sub = x < _TINY
    xs = x * _TWO54 if sub else x
    ix = f64_bits(xs)
    k = (ix - _SQRT_HALF_BITS) >> 52
    f = bits_f64(ix - (k << 52)) - 1.0
    kf = float(k - 54) if sub else float(k)
    y = _log_core(f, kf, 0.0)
    y = -_INF if x == 0.0 else y
    y = _NAN if x < 0.0 else y
    return x if (x == _INF) | np.isnan(x) else y


@njit(inline="always", **OPTS)
def log1p_(x):
    """log(1 + x) in float64, vectorisable; < 0.51 ulp (see the module notes).

    Examples
    --------
    >>> from fastcal._kernels.vmath import log1p_
    >>> log1p_(1e-20), log1p_(1.0) == 0.6931471805599453, log1p_(-1.0)
    (1e-20, True, -inf)
    """
    x = float(x)
    mid = (x >= _LOG1P_LO) & (x < _LOG1P_HI)
    u = 1.0 + x
    b = u - 1.0
    c = (1.0 - (u - b)) + (x - b)  # 1 + x = u + c exactly
    iu = f64_bits(u)
    k = (iu - _SQRT_HALF_BITS) >> 52
    fu = bits_f64(iu - (k << 52)) - 1.0
    f = x if mid else fu
    kf = 0.0 if mid else float(k)
    extra = 0.0 if mid else c / (u if u != 0.0 else 1.0)  # u = 0 at x = -1 only
    y = _log_core(f, kf, extra)
    y = x if abs(x) < _TWO_M64 else y  # correctly rounded (and no underflow in s)
    y = -_INF if x == -1.0 else y
    y = _NAN if x < -1.0 else y
    return x if (x == _INF) | np.isnan(x) else y


# ---------------------------------------------------------------- blocks
@njit(**OPTS)
def exp_block(src, dst, n):
    """``dst[i] = exp_(src[i])`` for ``i < n`` (vectorised loop).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal._kernels.vmath import exp_block
    >>> d = np.empty(3); exp_block(np.array([0.0, 1.0, -np.inf]), d, 3); d
    array([1.        , 2.71828183, 0.        ])
    """
    for i in range(n):
        dst[i] = exp_(src[i])


@njit(**OPTS)
def exp_fast_block(src, dst, n):
    """``dst[i] = exp_fast_(src[i])`` for ``i < n`` (vectorised loop).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal._kernels.vmath import exp_fast_block
    >>> d = np.empty(3); exp_fast_block(np.array([0.0, -1.0, np.inf]), d, 3); d
    array([1.        , 0.36787944,        inf])
    """
    for i in range(n):
        dst[i] = exp_fast_(src[i])


@njit(**OPTS)
def log_block(src, dst, n):
    """``dst[i] = log_(src[i])`` for ``i < n`` (vectorised loop).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal._kernels.vmath import log_block
    >>> d = np.empty(3); log_block(np.array([1.0, np.e, 0.0]), d, 3); d
    array([  0.,   1., -inf])
    """
    for i in range(n):
        dst[i] = log_(src[i])


@njit(**OPTS)
def log1p_block(src, dst, n):
    """``dst[i] = log1p_(src[i])`` for ``i < n`` (vectorised loop).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal._kernels.vmath import log1p_block
    >>> d = np.empty(2); log1p_block(np.array([0.0, -0.5]), d, 2); d
    array([ 0.        , -0.69314718])
    """
    for i in range(n):
        dst[i] = log1p_(src[i])


@njit(**OPTS)
def sum_block(src, n):
    """Sum of ``src[:n]`` with 16 partial sums in a fixed, documented order.

    Element ``i < n - n % 16`` is added to partial ``p[i % 16]`` (in increasing
    ``i``); the partials are combined as
    ``E + O`` with ``E = ((p0 + p8) + (p4 + p12)) + ((p2 + p10) + (p6 + p14))``
    and ``O`` the same with ``p1, p9, p5, p13, p3, p11, p7, p15``; then the
    last ``n % 16`` elements are added one by one.  Not compensated: the
    error bound is that of pairwise-ish summation, about
    ``(n / 16 + 5) * eps * sum |src|``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal._kernels.vmath import sum_block
    >>> sum_block(np.arange(20.0), 20)
    190.0
    """
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0.0
    p8 = p9 = p10 = p11 = p12 = p13 = p14 = p15 = 0.0
    m = n - n % 16
    for i in range(0, m, 16):
        p0 += src[i]
        p1 += src[i + 1]
        p2 += src[i + 2]
        p3 += src[i + 3]
        p4 += src[i + 4]
        p5 += src[i + 5]
        p6 += src[i + 6]
        p7 += src[i + 7]
        p8 += src[i + 8]
        p9 += src[i + 9]
        p10 += src[i + 10]
        p11 += src[i + 11]
        p12 += src[i + 12]
        p13 += src[i + 13]
        p14 += src[i + 14]
        p15 += src[i + 15]
    e = ((p0 + p8) + (p4 + p12)) + ((p2 + p10) + (p6 + p14))
    o = ((p1 + p9) + (p5 + p13)) + ((p3 + p11) + (p7 + p15))
    s = e + o
    for i in range(m, n):
        s += src[i]
    return s
