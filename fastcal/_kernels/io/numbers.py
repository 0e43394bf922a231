"""Number and label tokens of text formats: a decimal float parsed exactly
(Eisel-Lemire on a 64-bit mantissa, correctly rounded; rare hard cases go
to Python's float), an integer or true/false label.  Shared by the CSV and
JSON Lines kernels.
"""

import math

import numpy as np
from numba import njit

from ..common import OPTS


# Token classes from parse_number.
NUM_OK = 0
NUM_FALLBACK = 1
NUM_BAD = 2
NUM_EMPTY = 3

_QUOTE = 34
_NL = 10
_CR = 13
_SP = 32
_TAB = 9

_POW10 = np.array([10.0 ** i for i in range(23)])
_TWO53 = 1 << 53


def _pow5_table():
    """128-bit truncated/rounded-up mantissas of 5**q, q in [-342, 308] (fast_float's table)."""
    hi, lo = [], []
    for q in range(-342, 309):
        if q >= 0:
            p = 5 ** q
            while p < (1 << 127):
                p <<= 1
            while p >= (1 << 128):
                p >>= 1
        else:
            p5 = 5 ** -q
            z = p5.bit_length()  # smallest z with 2**z >= 5**-q (never equal)
            b = z + 127 if q >= -27 else 2 * z + 128
            c = (1 << b) // p5 + 1
            while c >= (1 << 128):
                c >>= 1
            p = c
        hi.append(p >> 64)
        lo.append(p & 0xFFFFFFFFFFFFFFFF)
    return np.array(hi, dtype=np.uint64), np.array(lo, dtype=np.uint64)


_P5_HI, _P5_LO = _pow5_table()
_Q_MIN = -342
_Q_MAX = 308

_M32 = np.uint64(0xFFFFFFFF)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U32 = np.uint64(32)


@njit(**OPTS)
def _mul64(a, b):
    """Full 128-bit product of two uint64: (hi, lo)."""
    a0 = a & _M32
    a1 = a >> _U32
    b0 = b & _M32
    b1 = b >> _U32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    p11 = a1 * b1
    mid = (p00 >> _U32) + (p01 & _M32) + (p10 & _M32)
    lo = (p00 & _M32) | (mid << _U32)
    hi = p11 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)
    return hi, lo


@njit(**OPTS)
def _clz64(x):
    n = 0
    if x == _U0:
        return 64
    while (x & np.uint64(0x8000000000000000)) == _U0:
        x = x << _U1
        n += 1
    return n


@njit(**OPTS)
def eisel_lemire(m, q):
    """(ok, value) for ``m * 10**q`` correctly rounded; ok False when it declines.

    ``m`` is a nonzero uint64; subnormal results and overflow decline.
    """
    if q < _Q_MIN or q > _Q_MAX:
        return False, 0.0
    clz = _clz64(m)
    m = m << np.uint64(clz)
    # floor(log2(10) * q) + 64 + 1023 - clz
    e2 = ((217706 * q) >> 16) + 64 + 1023 - clz
    i = q - _Q_MIN
    xhi, xlo = _mul64(m, _P5_HI[i])
    if (xhi & np.uint64(0x1FF)) == np.uint64(0x1FF) and (xlo + m) < m:
        yhi, ylo = _mul64(m, _P5_LO[i])
        mhi = xhi
        mlo = xlo + yhi
        if mlo < xlo:
            mhi += _U1
        if ((mhi & np.uint64(0x1FF)) == np.uint64(0x1FF) and mlo + _U1 == _U0
                and (ylo + m) < m):
            return False, 0.0
        xhi = mhi
        xlo = mlo
    msb = xhi >> np.uint64(63)
    mant = xhi >> (msb + np.uint64(9))
    e2 -= 1 - int(msb)
    if xlo == _U0 and (xhi & np.uint64(0x1FF)) == _U0 and (mant & np.uint64(3)) == _U1:
        return False, 0.0
    mant += mant & _U1
    mant = mant >> _U1
    if (mant >> np.uint64(53)) > _U0:
        mant = mant >> _U1
        e2 += 1
    if e2 <= 0 or e2 >= 0x7FF:
        return False, 0.0
    # mant has 53 bits (the leading one included): the value is exact
    return True, math.ldexp(float(mant), e2 - 1075)


@njit(**OPTS)
def _is_blank(c):
    return c == _SP or c == _TAB or c == _CR


_INFINITY = np.frombuffer(b"infinity", np.uint8).copy()


@njit(**OPTS)
def _is_word(buf, i, e):
    """``buf[i:e]`` is nan, inf or infinity in any case."""
    n = e - i
    if n == 3 and (buf[i] | 32) == 110 and (buf[i + 1] | 32) == 97 and (buf[i + 2] | 32) == 110:
        return True
    if n != 3 and n != 8:
        return False
    for k in range(n):
        if (buf[i + k] | 32) != _INFINITY[k]:
            return False
    return True


@njit(**OPTS)
def _value(m, q, neg, truncated):
    """(class, value) of ``(-1)**neg * m * 10**q`` (scalars only: no array
    arguments, so calls cost no reference counting)."""
    if truncated:
        return NUM_FALLBACK, np.nan
    if m == _U0:
        return NUM_OK, (-0.0 if neg else 0.0)
    if m <= np.uint64(_TWO53) and -22 <= q <= 22:
        v = float(m)
        if q >= 0:
            v = v * _POW10[q]
        else:
            v = v / _POW10[-q]
        return NUM_OK, (-v if neg else v)
    ok, v = eisel_lemire(m, q)
    if not ok:
        return NUM_FALLBACK, np.nan
    return NUM_OK, (-v if neg else v)


@njit(**OPTS)
def scan_number(buf, s, e):
    """(class, value, stop): the longest number at ``buf[s:e]`` (no blanks skipped).

    ``stop`` is where the number's grammar ended; the class is NUM_BAD when
    no number starts at ``s`` (the caller then looks at the whole token)."""
    if s >= e:
        return NUM_BAD, np.nan, s
    i = s
    neg = False
    c = buf[i]
    if c == 45 or c == 43:  # - +
        neg = c == 45
        i += 1
    m = _U0
    nd = 0  # significant digits kept in m
    q = 0  # power of ten
    truncated = False
    ndigits = 0
    while i < e:
        c = buf[i]
        if c < 48 or c > 57:
            break
        ndigits += 1
        if nd < 19:
            if m != _U0 or c != 48:
                m = m * np.uint64(10) + np.uint64(c - 48)
                nd += 1
        else:
            q += 1
            if c != 48:
                truncated = True
        i += 1
    if i < e and buf[i] == 46:  # .
        i += 1
        while i < e:
            c = buf[i]
            if c < 48 or c > 57:
                break
            ndigits += 1
            if nd < 19:
                if m != _U0 or c != 48:
                    m = m * np.uint64(10) + np.uint64(c - 48)
                    nd += 1
                q -= 1
            elif c != 48:
                truncated = True
            i += 1
    if ndigits == 0:
        return NUM_BAD, np.nan, i
    if i < e and (buf[i] == 101 or buf[i] == 69):  # e E
        i += 1
        eneg = False
        if i < e and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i >= e or buf[i] < 48 or buf[i] > 57:
            return NUM_BAD, np.nan, i
        ex = 0
        while i < e:
            c = buf[i]
            if c < 48 or c > 57:
                break
            if ex < 100000:
                ex = ex * 10 + (int(c) - 48)
            i += 1
        q += -ex if eneg else ex
    k, v = _value(m, q, neg, truncated)
    return k, v, i


@njit(**OPTS)
def parse_number(buf, s, e):
    """(class, value) of the whole token ``buf[s:e]`` (surrounding blanks allowed);
    see NUM_* for the classes."""
    while s < e and _is_blank(buf[s]):
        s += 1
    while e > s and _is_blank(buf[e - 1]):
        e -= 1
    if s == e:
        return NUM_EMPTY, np.nan
    k, v, stop = scan_number(buf, s, e)
    if k != NUM_BAD and stop == e:
        return k, v
    # nan / inf / infinity (any case, signed): Python's float() decides
    w = s + 1 if buf[s] == 45 or buf[s] == 43 else s
    if _is_word(buf, w, e):
        return NUM_FALLBACK, np.nan
    return NUM_BAD, np.nan


@njit(**OPTS)
def parse_label(buf, s, e):
    """(ok, value): an integer (optionally ``.0...``) or true/false in any case."""
    while s < e and _is_blank(buf[s]):
        s += 1
    while e > s and _is_blank(buf[e - 1]):
        e -= 1
    if s == e:
        return False, 0
    n = e - s
    c0 = buf[s] | 32
    if n == 4 and c0 == 116 and (buf[s + 1] | 32) == 114 and (buf[s + 2] | 32) == 117 \
            and (buf[s + 3] | 32) == 101:
        return True, 1
    if n == 5 and c0 == 102 and (buf[s + 1] | 32) == 97 and (buf[s + 2] | 32) == 108 \
            and (buf[s + 3] | 32) == 115 and (buf[s + 4] | 32) == 101:
        return True, 0
    i = s
    neg = False
    if buf[i] == 45 or buf[i] == 43:
        neg = buf[i] == 45
        i += 1
    v = 0
    nd = 0
    while i < e:
        c = buf[i]
        if c < 48 or c > 57:
            break
        if nd >= 18:
            return False, 0
        v = v * 10 + (int(c) - 48)
        if v != 0:
            nd += 1
        i += 1
    if i == s or (i == s + 1 and (buf[s] == 45 or buf[s] == 43)):
        return False, 0
    if i < e and buf[i] == 46:
        i += 1
        while i < e and buf[i] == 48:
            i += 1
    if i != e:
        return False, 0
    return True, (-v if neg else v)
