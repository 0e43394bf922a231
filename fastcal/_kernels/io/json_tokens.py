"""JSON Lines kernels, the token level: status and key codes, whitespace,
strings (with escapes), literals, the key trie lookups, skipping a value and
packing a short token (the method is described in jsonl.py).
"""

import numpy as np
from numba import njit

from ..common import OPTS


DONE = 0
NEED_MORE = 1
FULL = 2
ERR = 3

E_KEY = 0
E_ANYKEY = 1
E_INDEX = 2
E_ANYINDEX = 3

# record kinds (flags & 7) and flags
K_NUMBER = 0
K_STRING = 1
K_TRUE = 2
K_FALSE = 3
K_NULL = 4
F_ESCAPE = 8  # a string with escapes
F_NONASCII = 16  # a string with non-ASCII bytes
F_NUMBER = 32  # val holds the value (a number, or a string that is one)
F_FALLBACK = 64  # a number (or numeric string) for Python's float()
P_PACKED = 128  # packed holds the stripped text

# the trie lookups are inlined into the line parser: a call that passes arrays
# costs a reference-count pair, and they run for every key and array element
_INLINE = dict(OPTS, inline="always")
MAX_DEPTH = 512
NREC = 8


@njit(**OPTS)
def _ws(buf, i, e):
    while i < e:
        c = buf[i]
        if c == 32 or c == 9 or c == 13:
            i += 1
        else:
            break
    return i


@njit(**OPTS)
def _hex4(buf, i, e):
    if i + 4 > e:
        return -1
    v = 0
    for j in range(i, i + 4):
        c = buf[j]
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        else:
            return -1
        v = v * 16 + d
    return v


@njit(**OPTS)
def _string(buf, i, e):
    """(stop after the closing quote or -1, code points, UTF-8 bytes, flags) of
    the string whose opening quote is at ``i``."""
    j = i + 1
    nchar = 0
    nbyte = 0
    flags = 0
    while j < e:
        c = buf[j]
        if c == 34:
            return j + 1, nchar, nbyte, flags
        if c == 92:
            flags |= F_ESCAPE
            if j + 1 >= e:
                return -1, 0, 0, 0
            d = buf[j + 1]
            if d == 117:  # \uXXXX
                cp = _hex4(buf, j + 2, e)
                if cp < 0:
                    return -1, 0, 0, 0
                j += 6
                if 0xD800 <= cp < 0xDC00 and j + 1 < e and buf[j] == 92 and buf[j + 1] == 117:
                    lo = _hex4(buf, j + 2, e)
                    if 0xDC00 <= lo < 0xE000:
                        j += 6
                        nchar += 1
                        nbyte += 4
                        continue
                nchar += 1
                nbyte += 1 if cp < 0x80 else (2 if cp < 0x800 else 3)
                continue
            if d == 34 or d == 92 or d == 47 or d == 98 or d == 102 or d == 110 or d == 114 \
                    or d == 116:
                j += 2
                nchar += 1
                nbyte += 1
                continue
            return -1, 0, 0, 0
        if c < 32:
            return -1, 0, 0, 0
        if c >= 128:
            flags |= F_NONASCII
            if c >= 0xC0:
                nchar += 1
        else:
            nchar += 1
        nbyte += 1
        j += 1
    return -1, 0, 0, 0


_TRUE = np.frombuffer(b"true", np.uint8).copy()
_FALSE = np.frombuffer(b"false", np.uint8).copy()
_NULL = np.frombuffer(b"null", np.uint8).copy()
_NAN = np.frombuffer(b"NaN", np.uint8).copy()
_INFINITY = np.frombuffer(b"Infinity", np.uint8).copy()


@njit(**OPTS)
def _word(buf, i, e, w):
    """``buf[i:]`` starts with the bytes ``w`` (within ``e``)."""
    n = w.shape[0]
    if i + n > e:
        return False
    for k in range(n):
        if buf[i + k] != w[k]:
            return False
    return True


@njit(**_INLINE)
def _child_key(nodes, edges, keys, buf, v, ks, ke):
    if v < 0:
        return -1
    n = ke - ks
    for r in range(nodes[v, 0], nodes[v + 1, 0]):
        kind = edges[r, 0]
        if kind == E_ANYKEY:
            return edges[r, 3]
        if kind == E_KEY and edges[r, 2] == n:
            a = edges[r, 1]
            same = True
            for k in range(n):
                if keys[a + k] != buf[ks + k]:
                    same = False
                    break
            if same:
                return edges[r, 3]
    return -1


@njit(**_INLINE)
def _child_index(nodes, edges, v, idx):
    if v < 0:
        return -1
    for r in range(nodes[v, 0], nodes[v + 1, 0]):
        kind = edges[r, 0]
        if kind == E_ANYINDEX or (kind == E_INDEX and edges[r, 1] == idx):
            return edges[r, 3]
    return -1


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_QUOTES = np.uint64(0x2222222222222222)
_SLASHES = np.uint64(0x5C5C5C5C5C5C5C5C)
_SPACES = np.uint64(0x2020202020202020)


@njit(**OPTS)
def _plain8(x):
    """The 8 bytes of ``x`` hold no quote, backslash or control character
    (SWAR; a false "no" only sends the caller to its byte loop)."""
    t = x ^ _QUOTES
    u = x ^ _SLASHES
    m = ((t - _ONES) & ~t) | ((u - _ONES) & ~u) | ((x - _SPACES) & ~x)
    return (m & _HIGHS) == np.uint64(0)


@njit(**OPTS)
def _skip_string(buf, w, i, e):
    """Where the string whose opening quote is at ``i`` ends (after the
    closing quote), or -1 (unterminated, a control character, a bad escape).
    ``w`` is ``buf`` as aligned 8-byte words: plain stretches go a word at a time."""
    j = i + 1
    while j < e:
        if (j & 7) == 0:
            while j + 8 <= e and _plain8(w[j >> 3]):
                j += 8
            if j >= e:
                break
        c = buf[j]
        if c == 34:
            return j + 1
        if c == 92:
            if j + 1 >= e:
                return -1
            d = buf[j + 1]
            if d == 117:
                if _hex4(buf, j + 2, e) < 0:
                    return -1
                j += 6
                continue
            if not (d == 34 or d == 92 or d == 47 or d == 98 or d == 102 or d == 110
                    or d == 114 or d == 116):
                return -1
            j += 2
            continue
        if c < 32:
            return -1
        j += 1
    return -1


@njit(**OPTS)
def _skip_container(buf, w, i, e):
    """Where the object or array opening at ``i`` ends, or -1: only its
    brackets (balanced) and strings (terminated, valid escapes) are checked,
    as for a subtree in which no path can match."""
    depth = 0
    j = i
    while j < e:
        c = buf[j]
        if c == 34:
            j = _skip_string(buf, w, j, e)
            if j < 0:
                return -1
            continue
        if c == 123 or c == 91:
            depth += 1
        elif c == 125 or c == 93:
            depth -= 1
            if depth == 0:
                return j + 1
        elif c == 10:
            return -1
        j += 1
    return -1


@njit(**OPTS)
def _is_space(c):
    """ASCII characters Python's str.strip() removes."""
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


@njit(**OPTS)
def _pack(buf, s, e, tmp):
    """(ok, packed) of the string content ``buf[s:e]``: its decoded text, ASCII
    only, stripped as by str.strip(), when at most 8 bytes remain."""
    n = 0
    j = s
    while j < e:
        c = np.int64(buf[j])
        if c >= 128:
            return False, 0
        if c == 92:
            d = np.int64(buf[j + 1])
            if d == 117:
                c = _hex4(buf, j + 2, e)
                if c < 0 or c >= 128:
                    return False, 0
                j += 6
            else:
                if d == 98:
                    c = 8
                elif d == 102:
                    c = 12
                elif d == 110:
                    c = 10
                elif d == 114:
                    c = 13
                elif d == 116:
                    c = 9
                else:
                    c = d
                j += 2
        else:
            j += 1
        if n == tmp.shape[0]:
            return False, 0
        tmp[n] = c
        n += 1
    a = 0
    while a < n and _is_space(tmp[a]):
        a += 1
    while n > a and _is_space(tmp[n - 1]):
        n -= 1
    if n - a > 8:
        return False, 0
    p = 0
    for k in range(n - a):
        p |= np.int64(tmp[a + k]) << (8 * k)
    return True, p
