"""Small CSV/TSV files read whole in plain Python, without the Numba tokenizer.

The command line reads a CSV or TSV file of at most :func:`limit` bytes
(``SMALL_FILE_BYTES``, 2 MiB, or ``FASTCAL_SMALL_FILE_BYTES`` from the
environment, read at each call; a gzip-compressed file counts its
uncompressed bytes) with :func:`iter_chunks` here instead of
``fastcal.io.readers.iter_chunks``: on a cold cache the Numba tokenizer costs
seconds of compiling, more than Python takes to read such a file. The
reader here yields the same chunks as the Numba one (``io.csv._csv_chunks``)
and raises the same errors at the same points: it follows the kernel's
grammar (``_kernels/io/csv.py``: RFC 4180 quoting, blank lines, numbers
correctly rounded as ``float()`` rounds them, labels ``0``/``1.0``/``true``),
cuts the rows into chunks of the same size, and checks the field counts and
words its errors with the functions the Numba reader uses
(``_check_fields``, ``_csv_error``). Two kinds of file it leaves to
the Numba reader (same output, only slower on a cold cache): a label column
that is also a value column, and a quote byte inside an unquoted field (the
field count check then depends on where the kernel's blocks end).
"""

import gzip
import os
import re

import numpy as np

from . import readers as _io
from .columns import _BOM
from .csv import _check_fields, _csv_error, header_names
from .._kernels.io import csv as KCSV  # status codes and field slots only (importing compiles nothing)
from ..core.errors import InputError

#: The largest file (bytes, uncompressed) read here by default.
SMALL_FILE_BYTES = 2 << 20
#: The environment variable that overrides it (0: always the Numba reader).
ENV = "FASTCAL_SMALL_FILE_BYTES"

_LEAD = re.compile(rb"[\n\r \t]*")
_QUOTE_OR_NL = re.compile(rb'["\n]')
_SEP = {44: re.compile(rb"[,\n]"), 9: re.compile(rb"[\t\n]")}
# a quoted field without a delimiter, newline or quote inside, at the start
# of a field and followed by blanks up to the next delimiter or newline
_SIMPLE_QUOTED = {d: re.compile(rb'(?:(?<=[%s\n])|\A)"[^"%s\n]*"(?=[ \t\r]*(?:[%s\n]|\Z))'
                                % (c, c, c)) for d, c in ((44, b","), (9, b"\t"))}
_BLANKS = b" \t\r"
# a value: the kernel's number grammar, or nan/inf/infinity (Python's float()
# decides those); surrounding blanks allowed
_NUMBER = (rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
           rb"|[+-]?(?:[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)")
_VALUE = re.compile(rb"[ \t\r]*(?:" + _NUMBER + rb")[ \t\r]*")
# a label: an integer of at most 18 significant digits, optionally ".0..."
_LABEL = re.compile(rb"([+-]?[0-9]+)(?:\.0*)?")


def limit():
    """The size limit in bytes now: ``FASTCAL_SMALL_FILE_BYTES`` when set, else
    :data:`SMALL_FILE_BYTES`."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return SMALL_FILE_BYTES
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise InputError(f"{ENV} must be a number of bytes (0: never read a file whole); "
                         f"found {text!r}.")
    return n


def load(path, format=None, max_bytes=None):
    """The bytes of ``path`` when it is a CSV or TSV file (``.gz`` too) of at
    most ``max_bytes`` (default :func:`limit`) uncompressed bytes; else None
    (not a readable regular file of that kind and size: the Numba reader then
    reads it, and says what is wrong)."""
    n = limit() if max_bytes is None else int(max_bytes)
    if n <= 0:
        return None
    try:
        if _io.detect_format(path, format) not in ("csv", "tsv") or not os.path.isfile(path):
            return None
        if str(path).lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(n + 1)
        else:
            if os.path.getsize(path) > n:
                return None
            with open(path, "rb") as f:
                data = f.read(n + 1)
    except Exception:  # unreadable, corrupt gzip data, unknown format: the Numba reader's errors
        return None
    return data if len(data) <= n else None


def iter_chunks(path, columns, *, data, format=None, chunk_size=_io.CHUNK_SIZE, progress=False):
    """Yield ``(labels, values)`` chunks of ``data``, the bytes of the CSV/TSV
    file ``path`` (see :func:`load`): int64 labels and float64 values, exactly
    as ``fastcal.io.readers.iter_chunks(path, columns, format=format,
    chunk_size=chunk_size)`` yields them, with the same errors at the same
    points (``progress`` applies only when that reader reads the file)."""
    delim = 44 if _io.detect_format(path, format) == "csv" else 9
    end = len(data)
    start = 3 if data[:3] == _BOM and end >= 3 else 0
    start = _LEAD.match(data, start).end()  # blank lines before the header
    if start >= end:
        raise InputError(f"{path} is empty: expected a header line naming the columns.")
    line = 1 + data.count(b"\n", 0, start)
    he = _record_end(data, start)
    if he < 0:
        raise InputError(f"{path}, line {line}: the header has a quoted field that is "
                         "never closed.")
    names = header_names(data[start:he], delim, path, line)
    lab, vidx, two_d = _io.resolve_columns(names, columns, path)
    nf, nv = len(names), len(vidx)
    slots = np.full(nf, KCSV.SKIP, np.int64)
    slots[lab] = KCSV.LABEL
    for k, i in enumerate(vidx):
        slots[i] = k
    found = None if lab in vidx else _scan_fast(data, he, delim, slots)
    if found is None:  # a file the kernel must read itself (see the module's docstring)
        yield from _io.iter_chunks(path, columns, format=format, chunk_size=chunk_size,
                                   progress=progress)
        return
    starts, labels, cols, err = found
    n = len(labels)
    y = np.array(labels, dtype=np.int64)
    vals = np.empty((n, nv))
    for k, c in enumerate(cols):
        vals[:, k] = c
    buf = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(buf == 10)

    def line_at(pos):
        return 1 + int(np.searchsorted(nl, pos))

    # The Numba reader's calls to its kernel: each fills a chunk of ``cap``
    # rows (or stops at the end, or at a bad record), then its records' field
    # counts are checked and the chunk is yielded. (The kernel also stops when
    # its list of tokens for float() fills; without quote bytes outside quoted
    # fields, where it stops does not change the check.)
    cap = max(1, int(chunk_size) // nv)
    i0, pos = 0, he
    while True:
        pos0 = pos
        j = min(i0 + cap, n)
        if j == n and err is None:
            pos = end
        else:
            pos = int(starts[j])
        if j > i0:
            _check_fields(buf, pos0, pos, j - i0, delim, nf, path, line_at(pos0), i0)
        if j == n and err is not None and j - i0 < cap:
            code, fld, ts, te = err
            _csv_error(code, buf, pos, fld, ts, te, path, names, slots, line_at(pos), j + 1)
        if j > i0:
            yield y[i0:j], (vals[i0:j] if two_d else vals[i0:j, 0])
        if j == n and err is None:
            return
        i0 = j


def _record_end(data, pos):
    """``_kernels/io/csv.record_end`` on the whole data: the end of the record at
    ``pos`` (just past its newline, or the end), or -1 when a quote is never
    closed."""
    end = len(data)
    p = pos
    inq = False
    while p < end:
        if inq:
            q = data.find(b'"', p)
            if q < 0:
                return -1
            if q + 1 < end and data[q + 1] == 34:
                p = q + 2
                continue
            inq = False
            p = q + 1
        else:
            m = _QUOTE_OR_NL.search(data, p)
            if m is None:
                return end
            if data[m.start()] == 10:
                return m.start() + 1
            inq = True
            p = m.start() + 1
    return -1 if inq else end


def _label(tok):
    """The kernel's label of a field (``parse_label``): an integer, or None."""
    t = tok.strip(_BLANKS)
    low = t.lower()
    if low == b"true":
        return 1
    if low == b"false":
        return 0
    m = _LABEL.fullmatch(t)
    if m is None or len(m.group(1).lstrip(b"+-").lstrip(b"0")) > 18:
        return None
    return int(m.group(1))


def _scan_fast(data, he, delim, slots):
    """:func:`_scan_exact`, faster when no quoted field spans lines or holds a
    delimiter or a quote (every other file goes to :func:`_scan_exact`): then
    every record is one line, and the quote bytes can go (their fields' text
    is what remains, up to blanks the kernel strips too); the records are
    split at the delimiter."""
    nf = slots.shape[0]
    body = data[he:]
    text = body
    if b'"' in body:
        if 2 * len(_SIMPLE_QUOTED[delim].findall(body)) != body.count(b'"'):
            return _scan_exact(data, he, delim, slots)
        text = body.replace(b'"', b"")
    lines0 = body.split(b"\n")
    lines = lines0 if text is body else text.split(b"\n")
    lens = np.fromiter(map(len, lines0), np.int64, len(lines0))
    offs = np.empty(len(lines0), np.int64)
    offs[0] = he
    np.cumsum(lens[:-1] + 1, out=offs[1:])
    offs[1:] += he
    keep = [k for k, t in enumerate(lines0) if t and t != b"\r"]  # blank lines are skipped
    starts = offs[keep] if keep else np.zeros(0, np.int64)
    recs = lines if len(keep) == len(lines) else [lines[k] for k in keep]
    n = len(recs)
    sep = bytes([delim])
    counts = [r.count(sep) for r in recs]
    short = n  # the first record with too few fields
    if n and min(counts) == max(counts) == nf - 1:  # a grid: split at once
        flat = sep.join(recs).split(sep)

        def column(c, m):
            return flat[c:m * nf:nf]
    else:
        if n and min(counts) < nf - 1:
            short = next(r for r, k in enumerate(counts) if k < nf - 1)
        fields = [r.split(sep) for r in recs[:short]]

        def column(c, m):
            return [f[c] for f in fields[:m]]
    return _convert(data, delim, slots, starts, column, short, n)


def _convert(data, delim, slots, starts, column, bad, n):
    """``(starts, labels, values, error)`` from the records' fields:
    ``column(c, m)`` the text of field ``c`` of the first ``m`` records,
    ``bad`` the first record that the kernel rejects whatever its values
    (``n``: none), ``n`` the number of records. The selected columns are
    converted a column at a time; the first bad record's error is the
    kernel's (:func:`_check_record`)."""
    cols = [None] * int(np.count_nonzero(slots >= 0))
    labels = None
    for c in np.flatnonzero(slots != KCSV.SKIP):  # in field order
        toks = column(c, bad)
        s = int(slots[c])
        if s >= 0:
            m = _VALUE.fullmatch
            if not all(map(m, toks)):
                bad = next(r for r, t in enumerate(toks) if not m(t))
                toks = toks[:bad]
            cols[s] = list(map(float, toks))
        else:
            if set(toks) <= {b"0", b"1"}:
                labels = (np.frombuffer(b"".join(toks), np.uint8) - 48).tolist()
            else:
                labels = list(map(_label, toks))
                if None in labels:
                    bad = labels.index(None)
    labels, cols = labels[:bad], [c[:bad] for c in cols]
    err = None
    if bad < n:
        p = int(starts[bad])
        fl, q, qerr, _ = _tokenize(data, p, delim)
        err = _check_record(data, fl, q, qerr, p, slots)
        if err is None:  # pragma: no cover - the column checks and the record's disagree
            raise RuntimeError(f"internal error: record {bad + 1} was found bad, but not by "
                               "the record check")
    return starts, labels, cols, err


def _scan_exact(data, he, delim, slots):
    """``(starts, labels, values, error)``: the records of ``data`` after the
    header up to the first bad one, as the kernel parses them: each record's
    start (after skipped blank lines; one more, the bad record's, when there
    is one), its label, each value column's values, and the kernel's error
    ``(status, field, token start, token end)`` of the bad record (None when
    every record is good). None when a record before the first with a
    malformed quote or too few fields has a quote byte inside an unquoted
    field."""
    nf = slots.shape[0]
    end = len(data)
    pos = he
    starts, fields = [], []
    while True:
        while pos < end:  # blank lines: "\n", "\r\n", a final "\r"
            c = data[pos]
            if c == 10:
                pos += 1
            elif c == 13 and (pos + 1 == end or data[pos + 1] == 10):
                pos += 1 if pos + 1 == end else 2
            else:
                break
        if pos >= end:
            break
        starts.append(pos)
        fl, p, qerr, stray = _tokenize(data, pos, delim)
        if qerr is not None or len(fl) < nf:
            break
        if stray:
            return None
        fields.append([data[a:b] for a, b in fl])
        pos = p
    k = len(fields)

    def column(c, m):
        return [f[c] for f in fields[:m]]

    return _convert(data, delim, slots, starts, column, k, len(starts))


def _tokenize(data, p, delim):
    """The fields of the record at ``p`` as the kernel splits them: ``(fields,
    end, quote_error, stray)`` with ``fields`` the ``(start, end)`` of each
    field's text (inside the quotes of a quoted field: doubled quotes are not
    undone, as in the kernel), ``end`` just past the record's newline,
    ``quote_error`` the kernel's ``(field, token start, token end)`` of a
    malformed quoted field (the fields before it are listed), and ``stray``
    whether an unquoted field holds a quote byte."""
    end = len(data)
    fields = []
    stray = False
    sep = _SEP[delim]
    while True:
        f = len(fields)
        if p < end and data[p] == 34:
            q = p + 1
            while True:
                q = data.find(b'"', q)
                if q < 0:  # never closed
                    return fields, end, (f, p, end), stray
                if q + 1 < end and data[q + 1] == 34:
                    q += 2
                    continue
                break
            ts, te = p + 1, q
            p = q + 1
            while p < end:  # only blanks up to the delimiter or newline
                c = data[p]
                if c == delim or c == 10:
                    break
                if c != 32 and c != 9 and c != 13:
                    return fields, p, (f, ts - 1, p + 1), stray
                p += 1
        else:
            m = sep.search(data, p)
            ts, p = p, (m.start() if m is not None else end)
            te = p
            stray = stray or data.find(b'"', ts, te) >= 0
        fields.append((ts, te))
        if p >= end:
            return fields, p, None, stray
        c = data[p]
        p += 1
        if c == 10:
            return fields, p, None, stray


def _check_record(data, fields, p, qerr, rec, slots):
    """The kernel's error ``(status, field, token start, token end)`` of a
    tokenized record (the first in field order; then a malformed quote, then
    too few fields), or None."""
    nf = slots.shape[0]
    for f in range(min(nf, len(fields))):
        s = slots[f]
        if s == KCSV.SKIP:
            continue
        ts, te = fields[f]
        tok = data[ts:te]
        if s >= 0:
            if not tok.strip(_BLANKS):
                return KCSV.ERR_EMPTY, f, ts, te
            if not _VALUE.fullmatch(tok):
                return KCSV.ERR_NUMBER, f, ts, te
        elif _label(tok) is None:
            return KCSV.ERR_EMPTY if ts == te else KCSV.ERR_LABEL, f, ts, te
    if qerr is not None:
        return (KCSV.ERR_QUOTE,) + qerr
    if len(fields) < nf:
        return KCSV.ERR_FIELDS, len(fields), rec, p
    return None


def warmup_task():
    """``fastcal warmup``'s task for the command line's CSV/TSV files above the
    limit: the Numba tokenizer (``io.readers.iter_chunks``; the reader here compiles
    nothing)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.csv")
        with open(path, "w") as f:
            f.write('p,label\n0.25,1\n"0.5",true\n')
        list(_io.iter_chunks(path, _io.Columns("label", confidence="p")))
