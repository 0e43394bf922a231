"""CSV and TSV files in chunks: raw bytes read in blocks and parsed by the Numba
tokenizer (``fastcal._kernels.io.csv``); the messages of bad records, and
the line of a data row.
"""

import csv
import gzip
import io
import os

import numpy as np

from .._kernels.io import csv as KCSV
from ..core.errors import InputError
from .columns import Progress, _BOM, _FB_CAP, _size, resolve_columns


# --------------------------------------------------------------------- CSV
class _ByteSource:
    """A growable uint8 buffer over a binary file."""

    def __init__(self, f, raw, block_size, path):
        self.path = path
        self.f = f
        self.raw = raw  # underlying file, for the bytes-read count
        self.buf = np.empty(max(16, int(block_size)), np.uint8)
        self.have = 0
        self.eof = False

    def refill(self, pos):
        """Keep ``buf[pos:have]``, move it to the front and read more (growing the
        buffer when the kept part already fills it)."""
        rem = self.have - pos
        if pos == 0 and rem == self.buf.shape[0]:
            nb = np.empty(2 * self.buf.shape[0], np.uint8)
            nb[:rem] = self.buf[:rem]
            self.buf = nb
        elif rem and pos:
            self.buf[:rem] = self.buf[pos:self.have]
        self.have = rem
        mv = memoryview(self.buf)
        try:
            while self.have < self.buf.shape[0]:
                k = self.f.readinto(mv[self.have:])
                if not k:
                    self.eof = True
                    break
                self.have += k
        except (OSError, EOFError) as exc:  # I/O errors, corrupt gzip data
            raise InputError(f"{self.path}: cannot read the file ({exc}).") from None

    def bytes_read(self):
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0


def _open_binary(path):
    raw = open(path, "rb")
    if str(path).lower().endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    return raw, raw


def header_names(head, delim, path, line):
    """The column names of a CSV/TSV header record (bytes, UTF-8 or else
    Latin-1; RFC 4180 quoting), stripped; an empty header is an error."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    try:
        names = next(csv.reader(io.StringIO(text.rstrip("\r\n"), newline=""),
                                delimiter=chr(delim)), [])
    except csv.Error as exc:
        raise InputError(f"{path}, line {line}: cannot read the header ({exc}).") from None
    names = [n.strip() for n in names]
    if not names or names == [""]:
        raise InputError(f"{path}, line {line}: empty header; expected the column names.")
    return names


def _csv_chunks(path, delim, cols, chunk_size, progress, block_size):
    f, raw = _open_binary(path)
    try:
        src = _ByteSource(f, raw, block_size, path)
        src.refill(0)
        start = 3 if src.buf[:3].tobytes() == _BOM and src.have >= 3 else 0
        # skip blank lines before the header
        while True:
            while start < src.have and src.buf[start] in (10, 13, 32, 9):
                start += 1
            if start < src.have or src.eof:
                break
            src.refill(start)
            start = 0
        if start >= src.have:
            raise InputError(f"{path} is empty: expected a header line naming the columns.")
        line = 1 + int(np.count_nonzero(src.buf[:start] == 10))
        while True:
            he = KCSV.record_end(src.buf, start, src.have, src.eof)
            if he >= 0:
                break
            if src.eof:
                raise InputError(f"{path}, line {line}: the header has a quoted field that is "
                                 "never closed.")
            src.refill(start)
            start = 0
        head = src.buf[start:he].tobytes()
        names = header_names(head, delim, path, line)
        line += head.count(b"\n")
        lab, vidx, two_d = resolve_columns(names, cols, path)
        # a slot for every column of the header: a record with fewer fields is
        # an error (the kernel's ERR_FIELDS), one with more is found by _check_fields
        nf = len(names)
        slots = np.full(nf, KCSV.SKIP, np.int64)
        slots[lab] = KCSV.LABEL
        for k, i in enumerate(vidx):
            slots[i] = k
        nv = len(vidx)
        cap = max(1, int(chunk_size) // nv)
        vals, labels = _alloc(path, cap, nv, chunk_size)
        fb = np.empty((max(_FB_CAP, 2 * nf), 4), np.int64)
        row = 0
        nfb = 0
        rows_done = 0
        pos = he
        bar = Progress(os.path.basename(str(path)), _size(path), progress)
        try:
            while True:
                pos0, row0, line0 = pos, row, line
                st, pos, row, nfb, nl, fld, ts, te = KCSV.parse_block(
                    src.buf, pos, src.have, src.eof, delim, slots, vals, labels, row, fb, nfb)
                if row > row0:
                    _check_fields(src.buf, pos0, pos, row - row0, delim, nf, path, line0,
                                  rows_done + row0)
                if nfb:
                    _fallbacks(src.buf, fb, nfb, vals, path, names, vidx, line, rows_done)
                    nfb = 0
                line += nl
                if st >= KCSV.ERR_FIELDS:
                    _csv_error(st, src.buf, pos, fld, ts, te, path, names, slots, line,
                               rows_done + row + 1)
                if st == KCSV.FULL or (st == KCSV.DONE and row):
                    out = vals[:row] if two_d else vals[:row, 0]
                    yield labels[:row], out
                    rows_done += row
                    row = 0
                    if st == KCSV.DONE:
                        break
                    vals, labels = _alloc(path, cap, nv, chunk_size)
                elif st == KCSV.NEED_MORE:
                    src.refill(pos)
                    pos = 0
                    bar.update(src.bytes_read())
                elif st == KCSV.DONE:
                    break
        finally:
            bar.close(src.bytes_read())
    finally:
        f.close()
        if raw is not f:
            raw.close()


def _alloc(path, cap, nv, chunk_size):
    """The (cap, nv) values and (cap,) labels buffers of a chunk."""
    try:
        return np.empty((cap, nv), np.float64), np.empty(cap, np.int64)
    except (MemoryError, ValueError):  # ValueError: larger than any array can be
        raise InputError(f"{path}: cannot allocate a chunk of {chunk_size} values "
                         f"({cap * (nv + 1) * 8 / 2 ** 30:.3g} GiB); lower the chunk size "
                         "(--chunk-size).") from None


_QUOTE = 34
_NL = 10


def _check_fields(buf, start, end, records, delim, nf, path, line, rows_before):
    """Every record of ``buf[start:end]`` (``records`` of them, each with at
    least ``nf`` fields) has exactly ``nf`` fields; else an error naming the
    first record with more.

    A delimiter outside quotes (an even number of quote bytes before it, which
    doubled quotes keep) separates fields, so the records hold ``nf`` fields
    each exactly when there are ``records * (nf - 1)`` such delimiters.
    """
    span = buf[start:end]
    isq = span == _QUOTE
    if isq.any():
        outside = np.bitwise_xor.accumulate(isq.view(np.uint8)) == 0
        n_delim = int(np.count_nonzero((span == delim) & outside))
    else:
        outside = None
        n_delim = int(np.count_nonzero(span == delim))
    if n_delim == records * (nf - 1):
        return
    # the slow path, only to name the record: walk the records one by one
    if outside is None:
        outside = np.ones(span.shape[0], bool)
    structural_nl = np.flatnonzero((span == _NL) & outside)
    delims = np.flatnonzero((span == delim) & outside)
    lo = 0
    row = rows_before
    for e in list(structural_nl) + [span.shape[0]]:
        a, b = np.searchsorted(delims, [lo, e])
        seg = span[lo:e]
        if seg.size and not np.all((seg == 13) | (seg == 32) | (seg == 9)):  # not a blank line
            row += 1
            fields = int(b - a) + 1
            if fields > nf:
                at = line + int(np.count_nonzero(span[:lo] == _NL))
                raise InputError(f"{path}, line {at} (row {row}): the record has {fields} fields; "
                                 f"the header has {nf}.")
        lo = e + 1
    raise InputError(f"{path}, after row {rows_before}: a record has more fields than the "
                     f"header's {nf}.")  # pragma: no cover - the walk finds it


def _fallbacks(buf, fb, nfb, vals, path, names, vidx, line, rows_done):
    """Tokens the kernel left to Python's float()."""
    for j in range(nfb):
        r, s, a, b = (int(v) for v in fb[j])
        tok = buf[a:b].tobytes()
        try:
            vals[r, s] = float(tok)
        except ValueError:  # pragma: no cover - the kernel's grammar is a subset of float()'s
            raise InputError(f"{path}, row {rows_done + r + 1}, column {names[vidx[s]]!r}: "
                             f"cannot parse {tok.decode('utf-8', 'replace')!r} as a number.") from None


def _csv_error(st, buf, rec, fld, ts, te, path, names, slots, line, row):
    at = line + int(np.count_nonzero(buf[rec:ts] == 10)) if ts >= rec else line
    tok = buf[ts:te].tobytes().decode("utf-8", "replace")
    if len(tok) > 40:
        tok = tok[:37] + "..."
    col = names[fld] if fld < len(names) else f"#{fld + 1}"
    where = f"{path}, line {at} (row {row})"
    if st == KCSV.ERR_FIELDS:
        missing = [names[i] for i in range(fld, slots.shape[0]) if slots[i] != KCSV.SKIP]
        if missing:
            raise InputError(f"{where}: the record has only {fld} field(s); column "
                             f"{missing[0]!r} is missing.")
        raise InputError(f"{where}: the record has only {fld} field(s); the header has "
                         f"{slots.shape[0]}.")
    if st == KCSV.ERR_NUMBER:
        raise InputError(f"{where}, column {col!r}: cannot parse {tok!r} as a number.")
    if st == KCSV.ERR_LABEL:
        raise InputError(f"{where}, column {col!r}: label {tok!r} is not an integer "
                         "(or true/false).")
    if st == KCSV.ERR_EMPTY:
        raise InputError(f"{where}, column {col!r}: empty value.")
    if st == KCSV.ERR_QUOTE:
        raise InputError(f"{where}, column {col!r}: malformed quoted field (a quote is never "
                         "closed, or text follows the closing quote).")
    raise RuntimeError(f"internal error: CSV kernel status {st}")  # pragma: no cover


def _csv_line_of_record(f, record, block_size):
    """The first line of the ``record``-th (1-based) record of a CSV byte
    stream, as the reader counts records: a newline inside quotes (after an
    odd number of quote bytes) does not end a record; an empty line (or a
    lone carriage return) is skipped, and before the header so is a line of
    spaces, tabs and carriage returns."""
    lines = 0          # newlines before this block
    inside = False     # within quotes at the start of this block
    # the record the block starts in: its first line, its length so far,
    # whether it is exactly "\r" so far, whether it has a byte other than
    # space, tab and carriage return
    start_line, cur_len, cur_cr, cur_text = 1, 0, False, False
    seen = 0           # records before this block (the header included)
    first = True
    while True:
        data = f.read(max(block_size, 3) if first else block_size)  # the whole BOM first
        if not data:
            break
        b = np.frombuffer(data, np.uint8)
        if first and data[:3] == _BOM:
            b = b[3:]
        first = False
        if b.shape[0] == 0:
            continue
        isq = b == _QUOTE
        q = (np.bitwise_xor.accumulate(isq.view(np.uint8)) != 0) ^ inside
        nl = np.flatnonzero(b == _NL)
        ends = nl[~q[nl]]  # the newlines that end a record
        starts = np.concatenate(([0], ends + 1))
        text = np.concatenate(([0], np.cumsum((b != 13) & (b != 32) & (b != 9) & (b != _NL))))
        # the records ended in this block: length, exactly "\r", has text
        length = ends - starts[:-1]
        lone_cr = (length == 1) & (b[np.minimum(starts[:-1], b.shape[0] - 1)] == 13)
        has_text = text[ends] > text[starts[:-1]]
        if ends.shape[0]:
            length[0] += cur_len
            lone_cr[0] = (cur_cr and length[0] == 1) or (cur_len == 0 and lone_cr[0])
            has_text[0] = has_text[0] or cur_text
        # a record counts when it is not empty (or "\r"), the header when it has text
        counts = ~((length == 0) | lone_cr)
        if seen == 0 and ends.shape[0]:
            h = np.flatnonzero(has_text)
            if h.shape[0]:
                counts[:h[0]] = False
            else:
                counts[:] = False
        total = np.cumsum(counts)
        if total.shape[0] and seen + total[-1] >= record:
            k = int(np.searchsorted(total, record - seen))  # first: seen + total >= record
            if k == 0:
                return start_line
            return lines + int(np.searchsorted(nl, ends[k - 1], side="right")) + 1
        if total.shape[0]:
            seen += int(total[-1])
        # the record left open at the end of the block
        s0 = int(starts[-1])
        if ends.shape[0]:
            start_line = lines + int(np.searchsorted(nl, ends[-1], side="right")) + 1
            cur_len, cur_cr, cur_text = 0, False, False
        rest = b[s0:]
        cur_cr = (cur_len == 0 and rest.shape[0] == 1 and rest[0] == 13) or \
            (cur_cr and rest.shape[0] == 0)
        cur_len += rest.shape[0]
        cur_text = cur_text or bool(text[-1] > text[s0])
        lines += nl.shape[0]
        inside = bool(q[-1])
    if cur_len and not cur_cr and (seen or cur_text) and seen + 1 == record:
        return start_line  # the last record, without a final newline
    return None
