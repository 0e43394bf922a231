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
  ``packed`` holds the decoded text stripped as by ``str.strip()``, when it
  is ASCII and at most 8 bytes remain, little endian (``P_PACKED``), for
  vectorised comparisons;
* numbers: the value (correctly rounded, or ``F_FALLBACK`` for the caller to
  parse with ``float()``); ``true`` / ``false`` are the numbers 1 / 0.

The trie: node ``v``'s edges are rows ``nodes[v, 0]:nodes[v + 1, 0]`` of
``edges``; ``nodes[v, 1]`` is its leaf id (-1: none); ``nodes[v, 2]`` is 1 for
a *light* leaf: a string recorded by its position only (flagged as escaped
and non-ASCII, counts 0: the caller decodes it when it needs it).  An edge is
``(kind, arg, key_len, child)``: kind ``E_KEY`` matches the object key
``keys[arg:arg + key_len]`` (raw bytes), ``E_ANYKEY`` any key, ``E_INDEX``
array element ``arg``, ``E_ANYINDEX`` any element.  Node 0 is the root.

It stops at the first line that is not complete in the buffer (unless
``final``), when an output is full, or at the first malformed line (``ERR``:
``pos`` is that line's start, the last value where the error was seen), so
the caller can refill and resume or report.  Values where no path can match
are checked less: numbers for their characters, objects and arrays for
balanced brackets and well-formed strings (a missing comma or colon in there
goes unnoticed; a truncated line never does).
"""

import numpy as np
from numba import njit

from ..common import OPTS
from .numbers import NUM_BAD, NUM_FALLBACK, NUM_OK, parse_number, scan_number
from .json_tokens import (
    DONE,
    ERR,
    FULL,
    F_ESCAPE,
    F_FALLBACK,
    F_NONASCII,
    F_NUMBER,
    K_FALSE,
    K_NULL,
    K_NUMBER,
    K_STRING,
    K_TRUE,
    MAX_DEPTH,
    NEED_MORE,
    P_PACKED,
    _FALSE,
    _INFINITY,
    _NAN,
    _NULL,
    _TRUE,
    _child_index,
    _child_key,
    _pack,
    _skip_container,
    _skip_string,
    _string,
    _word,
    _ws,
)


@njit(**OPTS)
def _line(buf, w, s, e, nodes, edges, keys, rec, val, nrec, obj, stk, tmp):
    """Records of the object on the line starting at ``s`` (``e``: the end of
    the data): (new record count, error offset or -1, start of the next line).
    The count is -1 when ``rec`` is full; the line ends at a newline (or at
    ``e``), which may not occur inside the object."""
    cap = rec.shape[0]
    d = 0
    i = _ws(buf, s, e)
    if i >= e or buf[i] != 123:
        return nrec, i, i
    vnode = 0
    expect = 0  # 0 a value, 1 after a value, 2 a key, 3 a colon
    first = False  # a container was just opened (it may close at once)
    while True:
        i = _ws(buf, i, e)
        if i >= e:
            if expect == 1 and d == 0:
                return nrec, -1, e
            return nrec, i, e
        c = buf[i]
        if c == 10:
            if expect == 1 and d == 0:
                return nrec, -1, i + 1
            return nrec, i, i + 1
        if expect == 0:
            if (c == 123 or c == 91) and vnode < 0:  # no path goes on in there
                i = _skip_container(buf, w, i, e)
                if i < 0:
                    return nrec, e, e
                expect = 1
                first = False
                continue
            if c == 123 or c == 91:  # { [
                if d == MAX_DEPTH:
                    return nrec, i, i
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
            expect = 1
            first = False
            if leaf < 0:  # not recorded: skip the value
                if c == 34:
                    i = _skip_string(buf, w, i, e)
                    if i < 0:
                        return nrec, e, e
                elif c == 116 and _word(buf, i, e, _TRUE):
                    i += 4
                elif c == 102 and _word(buf, i, e, _FALSE):
                    i += 5
                elif c == 110 and _word(buf, i, e, _NULL):
                    i += 4
                elif c == 78 and _word(buf, i, e, _NAN):
                    i += 3
                elif c == 73 and _word(buf, i, e, _INFINITY):
                    i += 8
                elif c == 45 and i + 1 < e and buf[i + 1] == 73:
                    if not _word(buf, i + 1, e, _INFINITY):
                        return nrec, i, i
                    i += 9
                else:  # a number: its characters only
                    j = i
                    digits = 0
                    while j < e:
                        c = buf[j]
                        if 48 <= c <= 57:
                            digits += 1
                        elif not (c == 45 or c == 43 or c == 46 or c == 101 or c == 69):
                            break
                        j += 1
                    if digits == 0:
                        return nrec, i, i
                    i = j
                continue
            t0 = i
            fl = 0
            x = np.nan
            nchar = 0
            nbyte = 0
            packed = 0
            if c == 34 and nodes[vnode, 2] == 1:  # a light leaf: where it is, nothing more
                i = _skip_string(buf, w, i, e)
                if i < 0:
                    return nrec, e, e
                fl = K_STRING | F_ESCAPE | F_NONASCII
            elif c == 34:
                stop, nchar, nbyte, fl = _string(buf, i, e)
                if stop < 0:
                    return nrec, e, e
                i = stop
                fl |= K_STRING
                if (fl & F_ESCAPE) == 0:
                    k, x = parse_number(buf, t0 + 1, i - 1)
                    if k == NUM_OK:
                        fl |= F_NUMBER
                    elif k == NUM_FALLBACK:
                        fl |= F_FALLBACK
                if (fl & F_NONASCII) == 0:
                    ok, packed = _pack(buf, t0 + 1, i - 1, tmp)
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
                    return nrec, i, i
                i = j + 8
                fl = K_NUMBER | F_NUMBER
                x = -np.inf if c == 45 else np.inf
            else:
                k, x, stop = scan_number(buf, i, e)
                if k == NUM_BAD or stop == i:
                    return nrec, i, i
                i = stop
                fl = K_NUMBER | (F_NUMBER if k == NUM_OK else F_FALLBACK)
            if nrec >= cap:
                return -1, -1, i
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
        elif expect == 1:
            if d == 0:
                return nrec, i, i  # something after the object
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
                return nrec, i, i
        elif expect == 2:
            if c == 125 and first:  # {} empty
                d -= 1
                i += 1
                expect = 1
                first = False
                continue
            if c != 34:
                return nrec, i, i
            stop = _skip_string(buf, w, i, e)
            if stop < 0:
                return nrec, e, e
            vnode = _child_key(nodes, edges, keys, buf, stk[d - 1, 0], i + 1, stop - 1)
            i = stop
            expect = 3
            first = False
        else:
            if c != 58:  # :
                return nrec, i, i
            i += 1
            expect = 0


@njit(**OPTS)
def scan_block(buf, pos, end, final, nodes, edges, keys, rec, val, objs, stk):
    """Scan the lines of ``buf[pos:end]``.

    Returns ``(status, pos, lines, nobj, nrec, err)``: where to resume, the
    lines consumed (blank ones included), the objects (``objs[:nobj]``: their
    line numbers from the first line of this call) and records written, and
    for ``ERR`` the byte offset of the error (``pos`` is then its line's
    start and ``lines`` its line number).  A line not complete in the buffer
    (no newline yet, unless ``final``) is left for the next call.
    """
    nrec = np.int64(0)  # not literals: _line compiles once, for int64 counts
    nobj = np.int64(0)
    line = 0
    tmp = np.empty(64, np.int64)
    w = buf[:buf.shape[0] - buf.shape[0] % 8].view(np.uint64)
    while pos < end:
        s = _ws(buf, pos, end)
        if s < end and buf[s] == 10:  # blank line
            pos = s + 1
            line += 1
            continue
        if s >= end:
            if final:
                return DONE, end, line, nobj, nrec, -1
            return NEED_MORE, pos, line, nobj, nrec, -1
        if nobj == objs.shape[0]:
            return FULL, pos, line, nobj, nrec, -1
        r, err, nxt = _line(buf, w, pos, end, nodes, edges, keys, rec, val, nrec, nobj, stk, tmp)
        if not final and (err >= 0 or (nxt == end and buf[end - 1] != 10)):
            j = pos
            while j < end and buf[j] != 10:
                j += 1
            if j == end:  # the line goes on in the next read
                return NEED_MORE, pos, line, nobj, nrec, -1
        if err >= 0:
            return ERR, pos, line, nobj, nrec, err
        if r < 0:
            return FULL, pos, line, nobj, nrec, -1
        nrec = r
        objs[nobj] = line
        nobj += 1
        line += 1
        pos = nxt
    return DONE, pos, line, nobj, nrec, -1
