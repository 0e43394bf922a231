"""JSON Lines scanner over raw bytes: the values at selected paths, nothing else.

:func:`scan_block` walks a ``uint8`` buffer line by line.  Each non-blank line
must be one JSON object; the scanner checks its structure (brackets, commas,
colons, strings with their escapes, literals) and, for every scalar whose path
matches a *path trie*, writes one record:

``rec[r] = (object, leaf, start, stop, nchar, nbyte, flags, packed)`` and
``val[r]`` (a float64).

* ``object``: the ordinal of the line's object in this call (``objs[object]``
  is its line, counted from ``pos``); ``leaf``: the matched path's id;
* ``start:stop``: the token's bytes (for a string, quotes included);
* strings: ``nchar`` / ``nbyte`` are the decoded text's code points and UTF-8
  bytes (an escaped surrogate pair is one code point, four bytes); when the
  text is a number (``"-0.2386"``) its value is in ``val``;
  ``packed`` holds the text stripped of spaces, up to 8 ASCII bytes, little
  endian (``P_PACKED``), for vectorised comparisons;
* numbers: the value (correctly rounded, or ``F_FALLBACK`` for the caller to
  parse with ``float()``); ``true`` / ``false`` are the numbers 1 / 0.

The trie: node ``v``'s edges are rows ``nodes[v, 0]:nodes[v + 1, 0]`` of
``edges``; ``nodes[v, 1]`` is its leaf id (-1: none).  An edge is
``(kind, arg, key_len, child)``: kind ``E_KEY`` matches the object key
``keys[arg:arg + key_len]`` (raw bytes), ``E_ANYKEY`` any key, ``E_INDEX``
array element ``arg``, ``E_ANYINDEX`` any element.  Node 0 is the root.

It stops at the first line that is not complete in the buffer (unless
``final``), when an output is full, or at the first malformed line (``ERR``:
``pos`` is that line's start, the last value where the error was seen), so
the caller can refill and resume or report.  Numbers in values outside the
trie are checked for their characters only.
"""

import numpy as np
from numba import njit

from ._common import OPTS
from ._csv import NUM_BAD, NUM_FALLBACK, NUM_OK, parse_number, scan_number

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


@njit(**OPTS)
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


@njit(**OPTS)
def _child_index(nodes, edges, v, idx):
    if v < 0:
        return -1
    for r in range(nodes[v, 0], nodes[v + 1, 0]):
        kind = edges[r, 0]
        if kind == E_ANYINDEX or (kind == E_INDEX and edges[r, 1] == idx):
            return edges[r, 3]
    return -1


@njit(**OPTS)
def _pack(buf, s, e):
    """(ok, packed): the bytes of buf[s:e] without surrounding spaces, at most 8."""
    while s < e and buf[s] == 32:
        s += 1
    while e > s and buf[e - 1] == 32:
        e -= 1
    if e - s > 8:
        return False, 0
    p = 0
    for k in range(e - s):
        p |= np.int64(buf[s + k]) << (8 * k)
    return True, p


@njit(**OPTS)
def _line(buf, s, e, nodes, edges, keys, rec, val, nrec, obj, stk):
    """Records of the object on ``buf[s:e]``: (new record count, error offset or -1);
    the count is -1 when ``rec`` is full."""
    cap = rec.shape[0]
    d = 0
    i = _ws(buf, s, e)
    if i >= e or buf[i] != 123:
        return nrec, i
    vnode = 0
    expect = 0  # 0 a value, 1 after a value, 2 a key, 3 a colon
    first = False  # a container was just opened (it may close at once)
    while True:
        i = _ws(buf, i, e)
        if i >= e:
            if expect == 1 and d == 0:
                return nrec, -1
            return nrec, i
        c = buf[i]
        if expect == 0:
            if c == 123 or c == 91:  # { [
                if d == MAX_DEPTH:
                    return nrec, i
                stk[d, 0] = vnode
                stk[d, 1] = 1 if c == 91 else 0
                stk[d, 2] = 0
                d += 1
                i += 1
                first = True
                if c == 123:
                    expect = 2
                else:
                    vnode = _child_index(nodes, edges, vnode, stk[d - 1, 2])
                continue
            if c == 93 and first and stk[d - 1, 1] == 1:  # [] empty
                d -= 1
                i += 1
                expect = 1
                first = False
                continue
            leaf = nodes[vnode, 1] if vnode >= 0 else -1
            t0 = i
            fl = 0
            x = np.nan
            nchar = 0
            nbyte = 0
            packed = 0
            if c == 34:
                stop, nchar, nbyte, fl = _string(buf, i, e)
                if stop < 0:
                    return nrec, i
                i = stop
                fl |= K_STRING
                if leaf >= 0 and (fl & F_ESCAPE) == 0:
                    k, x = parse_number(buf, t0 + 1, i - 1)
                    if k == NUM_OK:
                        fl |= F_NUMBER
                    elif k == NUM_FALLBACK:
                        fl |= F_FALLBACK
                    if (fl & F_NONASCII) == 0:
                        ok, packed = _pack(buf, t0 + 1, i - 1)
                        if ok:
                            fl |= P_PACKED
            elif c == 116 and _word(buf, i, e, _TRUE):
                i += 4
                fl = K_TRUE | F_NUMBER
                x = 1.0
            elif c == 102 and _word(buf, i, e, _FALSE):
                i += 5
                fl = K_FALSE | F_NUMBER
                x = 0.0
            elif c == 110 and _word(buf, i, e, _NULL):
                i += 4
                fl = K_NULL
            elif c == 78 and _word(buf, i, e, _NAN):  # NaN
                i += 3
                fl = K_NUMBER | F_NUMBER
            elif c == 73 or (c == 45 and i + 1 < e and buf[i + 1] == 73):  # [-]Infinity
                j = i + 1 if c == 45 else i
                if not _word(buf, j, e, _INFINITY):
                    return nrec, i
                i = j + 8
                fl = K_NUMBER | F_NUMBER
                x = -np.inf if c == 45 else np.inf
            else:
                k, x, stop = scan_number(buf, i, e)
                if k == NUM_BAD or stop == i:
                    return nrec, i
                i = stop
                fl = K_NUMBER | (F_NUMBER if k == NUM_OK else F_FALLBACK)
            if leaf >= 0:
                if nrec >= cap:
                    return -1, -1
                rec[nrec, 0] = obj
                rec[nrec, 1] = leaf
                rec[nrec, 2] = t0
                rec[nrec, 3] = i
                rec[nrec, 4] = nchar
                rec[nrec, 5] = nbyte
                rec[nrec, 6] = fl
                rec[nrec, 7] = packed
                val[nrec] = x
                nrec += 1
            expect = 1
            first = False
        elif expect == 1:
            if d == 0:
                return nrec, i  # something after the object
            arr = stk[d - 1, 1] == 1
            if c == 44:  # ,
                i += 1
                if arr:
                    stk[d - 1, 2] += 1
                    vnode = _child_index(nodes, edges, stk[d - 1, 0], stk[d - 1, 2])
                    expect = 0
                else:
                    expect = 2
            elif (c == 93 and arr) or (c == 125 and not arr):
                d -= 1
                i += 1
            else:
                return nrec, i
        elif expect == 2:
            if c == 125 and first:  # {} empty
                d -= 1
                i += 1
                expect = 1
                first = False
                continue
            if c != 34:
                return nrec, i
            stop, nchar, nbyte, fl = _string(buf, i, e)
            if stop < 0:
                return nrec, i
            vnode = _child_key(nodes, edges, keys, buf, stk[d - 1, 0], i + 1, stop - 1)
            i = stop
            expect = 3
            first = False
        else:
            if c != 58:  # :
                return nrec, i
            i += 1
            expect = 0


@njit(**OPTS)
def scan_block(buf, pos, end, final, nodes, edges, keys, rec, val, objs, stk):
    """Scan the lines of ``buf[pos:end]``.

    Returns ``(status, pos, lines, nobj, nrec, err)``: where to resume, the
    lines consumed (blank ones included), the objects (``objs[:nobj]``: their
    line numbers from the first line of this call) and records written, and
    for ``ERR`` the byte offset of the error (``pos`` is then its line's
    start and ``lines`` its line number).
    """
    nrec = 0
    nobj = 0
    line = 0
    while pos < end:
        j = pos
        while j < end and buf[j] != 10:
            j += 1
        if j == end and not final:
            return NEED_MORE, pos, line, nobj, nrec, -1
        if _ws(buf, pos, j) == j:  # blank line
            pos = j + 1
            line += 1
            continue
        if nobj == objs.shape[0]:
            return FULL, pos, line, nobj, nrec, -1
        r, err = _line(buf, pos, j, nodes, edges, keys, rec, val, nrec, nobj, stk)
        if err >= 0:
            return ERR, pos, line, nobj, nrec, err
        if r < 0:
            return FULL, pos, line, nobj, nrec, -1
        nrec = r
        objs[nobj] = line
        nobj += 1
        line += 1
        pos = j + 1
    return DONE, min(pos, end), line, nobj, nrec, -1
