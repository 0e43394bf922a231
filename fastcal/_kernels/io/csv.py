"""CSV/TSV tokenizer and number parser over raw bytes.

:func:`parse_block` walks a ``uint8`` buffer record by record (RFC 4180
quoting: a field that starts with ``"`` runs to the next ``"`` not doubled,
and may hold delimiters and newlines; ``\\r\\n`` and ``\\n`` both end a
record; blank lines are skipped) and parses only the selected fields, straight
into a float64 value array and an int64 label array.  It stops at the first
record that is not complete in the buffer (unless ``final``), when the output
is full, when the fallback list is full, or at the first bad field, and
returns where it stopped so the caller can refill the buffer and resume: a
record split across two reads is simply parsed again from its start.

Numbers: ``[+-] digits [. digits] [(e|E) [+-] digits]`` with surrounding
blanks.  The value is built from the integer mantissa ``m`` (at most 19
significant digits) and the power of ten ``q``:

* ``m <= 2**53`` and ``|q| <= 22``: ``m * 10**q`` or ``m / 10**-q``, one
  correctly rounded IEEE operation on two exact doubles (Clinger's fast path);
* otherwise the Eisel-Lemire algorithm (a 64 x 128-bit product with a
  truncated power of five), which either returns the correctly rounded double
  or declines;
* when it declines, or there are more than 19 significant digits, or the
  token is ``nan``/``inf``, the token's position goes to a fallback list and
  the caller parses it with Python's ``float()``.  Never silently wrong.

Labels: an integer (``1``, ``-3``, ``2.0`` with only zeros after the point) or
``true``/``false`` in any case.
"""


import numpy as np
from numba import njit

from ..common import OPTS
from .numbers import (
    NUM_BAD,
    NUM_EMPTY,
    NUM_FALLBACK,
    NUM_OK,
    _CR,
    _NL,
    _QUOTE,
    _SP,
    _TAB,
    _U0,
    _is_blank,
    _value,
    parse_label,
    parse_number,
)

# Status codes returned by parse_block.
DONE = 0  # final buffer fully consumed
NEED_MORE = 1  # stopped at an incomplete record: refill and resume at ``pos``
FULL = 2  # output arrays full
FB_FULL = 3  # fallback list full: parse the listed tokens and resume
ERR_FIELDS = 10  # record has too few fields
ERR_NUMBER = 11  # a value field is not a number
ERR_LABEL = 12  # a label field is not an integer / true / false
ERR_QUOTE = 13  # quoted field not closed at the end of the data
ERR_EMPTY = 14  # a selected field is empty

# Field slots: k >= 0 value column k, LABEL the label, SKIP ignored.
SKIP = -1
LABEL = -2

@njit(**OPTS)
def parse_block(buf, pos, end, final, delim, slots, vals, labels, row, fb, nfb):
    """Parse records of ``buf[pos:end]`` into ``vals[row:]`` / ``labels[row:]``.

    ``slots[f]`` says what field ``f`` of a record is (value column k >= 0,
    LABEL, SKIP); a record must have at least ``len(slots)`` fields, later
    fields are skipped.  Fallback tokens are listed in ``fb[j] = (row, slot,
    start, end)`` for ``j >= nfb`` and get NaN in ``vals``.

    Returns ``(status, pos, row, nfb, lines, field, tok_start, tok_end)``:
    ``pos`` is where parsing stopped (the start of the record concerned for
    NEED_MORE, FULL, FB_FULL and errors), ``lines`` the number of newline
    bytes in the records consumed, ``field``/``tok_*`` locate an error.
    """
    nf = slots.shape[0]
    cap = vals.shape[0]
    fbcap = fb.shape[0]
    lines = 0
    while True:
        # skip blank lines
        while pos < end:
            c = buf[pos]
            if c == _NL:
                pos += 1
                lines += 1
            elif c == _CR and pos + 1 < end and buf[pos + 1] == _NL:
                pos += 2
                lines += 1
            elif c == _CR and pos + 1 == end and final:
                pos += 1
            else:
                break
        if pos >= end:
            if final:
                return DONE, pos, row, nfb, lines, 0, 0, 0
            return NEED_MORE, pos, row, nfb, lines, 0, 0, 0
        if row >= cap:
            return FULL, pos, row, nfb, lines, 0, 0, 0
        if nfb + nf > fbcap:
            return FB_FULL, pos, row, nfb, lines, 0, 0, 0
        rec = pos
        p = pos
        f = 0
        nl = 0
        nfb0 = nfb
        while True:
            # one field starting at p
            k = -1
            v = np.nan
            if p < end and buf[p] == _QUOTE:
                q = p + 1
                closed = False
                while q < end:
                    c = buf[q]
                    if c == _QUOTE:
                        if q + 1 < end:
                            if buf[q + 1] == _QUOTE:
                                q += 2
                                continue
                            closed = True
                            break
                        if final:
                            closed = True
                        break
                    if c == _NL:
                        nl += 1
                    q += 1
                if not closed:
                    if final:
                        return ERR_QUOTE, rec, row, nfb0, lines, f, p, end
                    return NEED_MORE, rec, row, nfb0, lines, 0, 0, 0
                ts = p + 1
                te = q
                p = q + 1
                # anything up to the delimiter / newline after the closing quote
                while p < end and buf[p] != delim and buf[p] != _NL:
                    if not _is_blank(buf[p]):
                        return ERR_QUOTE, rec, row, nfb0, lines, f, ts - 1, p + 1
                    p += 1
            else:
                ts = p
                done = False
                if f < nf and slots[f] >= 0:
                    # Fast path: parse the number while scanning the field.  This
                    # is scan_number written out: a call that takes ``buf`` costs
                    # two atomic reference-count updates, more than the parse.
                    k = NUM_BAD
                    q = p
                    neg = False
                    if q < end and (buf[q] == 45 or buf[q] == 43):
                        neg = buf[q] == 45
                        q += 1
                    m = _U0
                    nd = 0
                    ex10 = 0
                    trunc = False
                    ndig = 0
                    while q < end:
                        c = buf[q]
                        if c < 48 or c > 57:
                            break
                        ndig += 1
                        if nd < 19:
                            if m != _U0 or c != 48:
                                m = m * np.uint64(10) + np.uint64(c - 48)
                                nd += 1
                        else:
                            ex10 += 1
                            if c != 48:
                                trunc = True
                        q += 1
                    if q < end and buf[q] == 46:
                        q += 1
                        while q < end:
                            c = buf[q]
                            if c < 48 or c > 57:
                                break
                            ndig += 1
                            if nd < 19:
                                if m != _U0 or c != 48:
                                    m = m * np.uint64(10) + np.uint64(c - 48)
                                    nd += 1
                                ex10 -= 1
                            elif c != 48:
                                trunc = True
                            q += 1
                    if ndig and q < end and (buf[q] == 101 or buf[q] == 69):
                        q += 1
                        eneg = False
                        if q < end and (buf[q] == 45 or buf[q] == 43):
                            eneg = buf[q] == 45
                            q += 1
                        if q < end and 48 <= buf[q] <= 57:
                            ex = 0
                            while q < end:
                                c = buf[q]
                                if c < 48 or c > 57:
                                    break
                                if ex < 100000:
                                    ex = ex * 10 + (int(c) - 48)
                                q += 1
                            ex10 += -ex if eneg else ex
                        else:
                            ndig = 0  # "1e", "1e+": not a number
                    if ndig:
                        k, v = _value(m, ex10, neg, trunc)
                    if k != NUM_BAD:
                        while q < end and (buf[q] == _SP or buf[q] == _CR
                                           or (buf[q] == _TAB and delim != _TAB)):
                            q += 1
                        if q < end and (buf[q] == delim or buf[q] == _NL) or q >= end and final:
                            p = q
                            te = q
                            done = True
                if not done:
                    k = -1
                    while p < end:
                        c = buf[p]
                        if c == delim or c == _NL:
                            break
                        p += 1
                    te = p
            if p >= end and not final:
                return NEED_MORE, rec, row, nfb0, lines, 0, 0, 0
            if f < nf:
                s = slots[f]
                if s >= 0:
                    if k < 0:
                        k, v = parse_number(buf, ts, te)
                    if k == NUM_OK:
                        vals[row, s] = v
                    elif k == NUM_FALLBACK:
                        vals[row, s] = np.nan
                        fb[nfb, 0] = row
                        fb[nfb, 1] = s
                        fb[nfb, 2] = ts
                        fb[nfb, 3] = te
                        nfb += 1
                    elif k == NUM_EMPTY:
                        return ERR_EMPTY, rec, row, nfb0, lines, f, ts, te
                    else:
                        return ERR_NUMBER, rec, row, nfb0, lines, f, ts, te
                elif s == LABEL:
                    if te == ts + 1 and 48 <= buf[ts] <= 57:  # one digit: no call
                        labels[row] = buf[ts] - 48
                        ok = True
                        lab = buf[ts] - 48
                    else:
                        ok, lab = parse_label(buf, ts, te)
                    if not ok:
                        if ts == te:
                            return ERR_EMPTY, rec, row, nfb0, lines, f, ts, te
                        return ERR_LABEL, rec, row, nfb0, lines, f, ts, te
                    labels[row] = lab
            f += 1
            if p >= end:
                break
            c = buf[p]
            p += 1
            if c == _NL:
                nl += 1
                break
        if f < nf:
            return ERR_FIELDS, rec, row, nfb0, lines, f, rec, p
        row += 1
        lines += nl
        pos = p


@njit(**OPTS)
def record_end(buf, pos, end, final):
    """End of the record starting at ``pos`` (just past its newline), or -1
    when it is not complete in ``buf[pos:end]`` (quotes respected)."""
    p = pos
    inq = False
    while p < end:
        c = buf[p]
        if inq:
            if c == _QUOTE:
                if p + 1 < end and buf[p + 1] == _QUOTE:
                    p += 2
                    continue
                if p + 1 >= end and not final:
                    return -1
                inq = False
        elif c == _QUOTE:
            inq = True
        elif c == _NL:
            return p + 1
        p += 1
    if final and not inq:
        return end
    return -1
