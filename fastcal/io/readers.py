"""Read prediction files in bounded-size chunks: ``(labels, values)`` numpy pairs.

Formats (chosen from the extension, or ``format=``):

* CSV / TSV (``.csv``, ``.tsv``, ``.tab``; ``.gz`` compressed too): a header
  line names the columns; RFC 4180 quoting (quoted fields may hold the
  delimiter, doubled quotes and newlines), ``\\n`` or ``\\r\\n`` line ends,
  a UTF-8 byte-order mark, blank lines skipped.  Parsed by a Numba tokenizer
  over raw bytes read in blocks (:mod:`fastcal._kernels.io.csv`): only the
  selected columns are converted, straight to float64 values and int64
  labels.  Numbers are correctly rounded (as Python's ``float()``).
* JSONL (``.jsonl``, ``.ndjson``): one JSON object per line.
* NPY (``.npy``): a structured array (columns are its field names) or a 2-D
  array (columns are ``"0"``, ``"1"``, ...), memory-mapped.
* NPZ (``.npz``): named arrays, streamed from the archive member by member.
* Parquet (``.parquet``, ``.pq``): read by record batches with pyarrow (an
  optional dependency: ``pip install pyarrow``).

Columns are named by ``label`` and exactly one of ``confidence`` (binary
probability or confidence against 0/1 correctness; 1-D values), ``probs`` or
``logits`` (multiclass; 2-D values).  For ``probs``/``logits`` the name is:

* in NPZ, the key of an (n, C) array (or of an (n,) array: binary);
* in JSONL or Parquet, a field holding a list of C numbers per row;
* in any table, a comma-separated list of columns in class order
  (``p0,p1,p2``), a single column (binary: probability or logit of class 1),
  or a prefix: every column whose name starts with it (``p_`` matches
  ``p_0 ... p_9``), ordered by the integer after the prefix when every
  suffix is an integer, else in file order.

Every error is a :class:`fastcal.InputError` (a ``ValueError``) whose
message names the file and, where it applies, the line, data row (1-based,
header excluded) and column; its attributes ``param``, ``index`` and the
others are None (they describe the arguments of the library's functions).
:func:`line_of_row` gives the line of a data row, for the errors a caller
finds in the values once they are read.
"""

import csv
import gzip
import io
import json
import os
import sys
import time
import zipfile

import numpy as np

from .._kernels.io import csv as K
# the one error class of bad input, files and arrays alike: the readers' errors
# carry no attributes (param, index, ... are None), their message names the
# file, line, data row and column
from ..core.errors import InputError

FORMATS = ("csv", "tsv", "jsonl", "npy", "npz", "parquet")
_EXT = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
        ".npy": "npy", ".npz": "npz", ".parquet": "parquet", ".pq": "parquet"}
_BOM = b"\xef\xbb\xbf"
CHUNK_SIZE = 1_000_000
BLOCK_SIZE = 1 << 23
_FB_CAP = 4096
PYARROW_HINT = "pip install pyarrow"




# ----------------------------------------------------------------- columns
class Columns:
    """Which columns hold the labels and the values.

    Exactly one of ``confidence``, ``probs`` and ``logits`` is given
    (``confidence="confidence"`` when none is).
    """

    __slots__ = ("label", "kind", "name")

    def __init__(self, label="label", *, confidence=None, probs=None, logits=None):
        given = [(k, v) for k, v in (("confidence", confidence), ("probs", probs),
                                     ("logits", logits)) if v is not None]
        if len(given) > 1:
            raise InputError("give only one of confidence, probs and logits; found "
                             + ", ".join(f"{k}={v!r}" for k, v in given) + ".")
        self.kind, self.name = given[0] if given else ("confidence", "confidence")
        if not isinstance(label, str) or not label:
            raise InputError(f"label must be a column name; found {label!r}.")
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"{self.kind} must be a column name; found {self.name!r}.")
        self.label = label

    @property
    def from_logits(self):
        return self.kind == "logits"

    def __repr__(self):
        return f"Columns(label={self.label!r}, {self.kind}={self.name!r})"


def _names_list(names):
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 20 else "")


def _lookup(names, want, path, what):
    hits = [i for i, n in enumerate(names) if n == want]
    if not hits:
        raise InputError(f"{path}: no column {want!r} (for {what}); the columns are "
                         f"{_names_list(names)}.")
    if len(hits) > 1:
        raise InputError(f"{path}: column {want!r} appears {len(hits)} times in the header.")
    return hits[0]


def resolve_columns(names, cols, path):
    """(label index, value indices, two_d) of ``cols`` among the column ``names``."""
    names = [str(n) for n in names]
    lab = _lookup(names, cols.label, path, "--label")
    opt = "--" + cols.kind
    if cols.kind == "confidence":
        return lab, [_lookup(names, cols.name, path, opt)], False
    name = cols.name
    if "," in name:
        parts = [p.strip() for p in name.split(",")]
        if any(not p for p in parts):
            raise InputError(f"{opt} {name!r}: empty column name in the list.")
        idx = [_lookup(names, p, path, opt) for p in parts]
        if len(idx) < 2:
            raise InputError(f"{opt} {name!r}: a list needs at least 2 columns.")
        return lab, idx, True
    if name in names:
        return lab, [_lookup(names, name, path, opt)], False
    idx = [i for i, n in enumerate(names) if n.startswith(name) and i != lab]
    if not idx:
        raise InputError(f"{path}: no column {name!r} and no column starting with {name!r} "
                         f"(for {opt}); the columns are {_names_list(names)}.")
    if len(idx) < 2:
        raise InputError(f"{path}: prefix {name!r} (for {opt}) matches only the column "
                         f"{names[idx[0]]!r}; multiclass input needs at least 2 columns "
                         "(for a binary problem name the column itself).")
    suffix = [names[i][len(name):] for i in idx]
    if all(s.isdigit() for s in suffix):
        idx = [i for _, i in sorted(zip((int(s) for s in suffix), idx))]
    return lab, idx, True


def detect_format(path, format=None):
    """The format name of ``path``: ``format`` if given, else from the extension."""
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"format must be one of {', '.join(FORMATS)}; found {format!r}.")
        return format
    base = str(path)
    if base.lower().endswith(".gz"):
        base = base[:-3]
    ext = os.path.splitext(base)[1].lower()
    if ext not in _EXT:
        found = repr(ext) if ext else "no extension"
        raise InputError(f"{path}: cannot tell the format from {found}; expected one of "
                         f"{', '.join(sorted(_EXT))} (optionally .gz for text formats), "
                         "or pass the format explicitly (--format).")
    fmt = _EXT[ext]
    if str(path).lower().endswith(".gz") and fmt not in ("csv", "tsv", "jsonl"):
        raise InputError(f"{path}: only text formats (csv, tsv, jsonl) may be gzip-compressed.")
    return fmt


# ---------------------------------------------------------------- progress
class Progress:
    """A one-line ``\\r`` progress display on stderr (no dependency)."""

    def __init__(self, label, total, enabled, unit="bytes", stream=None):
        self.label = label
        self.total = total
        self.enabled = bool(enabled)
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self._last = 0.0
        self._shown = False

    def _fmt(self, v):
        if self.unit == "bytes":
            return f"{v / 1e6:.1f} MB"
        return f"{v:,} rows"

    def update(self, done, force=False):
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        msg = f"\rfastcal: reading {self.label}: {self._fmt(done)}"
        if self.total:
            msg += f" / {self._fmt(self.total)} ({100.0 * done / self.total:.0f}%)"
        self.stream.write(msg)
        self.stream.flush()
        self._shown = True

    def close(self, done=None):
        if self.enabled and self._shown:
            if done is not None:
                self.update(done, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


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
            he = K.record_end(src.buf, start, src.have, src.eof)
            if he >= 0:
                break
            if src.eof:
                raise InputError(f"{path}, line {line}: the header has a quoted field that is "
                                 "never closed.")
            src.refill(start)
            start = 0
        head = src.buf[start:he].tobytes()
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
        line += head.count(b"\n")
        lab, vidx, two_d = resolve_columns(names, cols, path)
        # a slot for every column of the header: a record with fewer fields is
        # an error (the kernel's ERR_FIELDS), one with more is found by _check_fields
        nf = len(names)
        slots = np.full(nf, K.SKIP, np.int64)
        slots[lab] = K.LABEL
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
                st, pos, row, nfb, nl, fld, ts, te = K.parse_block(
                    src.buf, pos, src.have, src.eof, delim, slots, vals, labels, row, fb, nfb)
                if row > row0:
                    _check_fields(src.buf, pos0, pos, row - row0, delim, nf, path, line0,
                                  rows_done + row0)
                if nfb:
                    _fallbacks(src.buf, fb, nfb, vals, path, names, vidx, line, rows_done)
                    nfb = 0
                line += nl
                if st >= K.ERR_FIELDS:
                    _csv_error(st, src.buf, pos, fld, ts, te, path, names, slots, line,
                               rows_done + row + 1)
                if st == K.FULL or (st == K.DONE and row):
                    out = vals[:row] if two_d else vals[:row, 0]
                    yield labels[:row], out
                    rows_done += row
                    row = 0
                    if st == K.DONE:
                        break
                    vals, labels = _alloc(path, cap, nv, chunk_size)
                elif st == K.NEED_MORE:
                    src.refill(pos)
                    pos = 0
                    bar.update(src.bytes_read())
                elif st == K.DONE:
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
    if st == K.ERR_FIELDS:
        missing = [names[i] for i in range(fld, slots.shape[0]) if slots[i] != K.SKIP]
        if missing:
            raise InputError(f"{where}: the record has only {fld} field(s); column "
                             f"{missing[0]!r} is missing.")
        raise InputError(f"{where}: the record has only {fld} field(s); the header has "
                         f"{slots.shape[0]}.")
    if st == K.ERR_NUMBER:
        raise InputError(f"{where}, column {col!r}: cannot parse {tok!r} as a number.")
    if st == K.ERR_LABEL:
        raise InputError(f"{where}, column {col!r}: label {tok!r} is not an integer "
                         "(or true/false).")
    if st == K.ERR_EMPTY:
        raise InputError(f"{where}, column {col!r}: empty value.")
    if st == K.ERR_QUOTE:
        raise InputError(f"{where}, column {col!r}: malformed quoted field (a quote is never "
                         "closed, or text follows the closing quote).")
    raise RuntimeError(f"internal error: CSV kernel status {st}")  # pragma: no cover


# ------------------------------------------------------------------- JSONL
def _json_number(v, path, line, key, label):
    if isinstance(v, bool):
        if label:
            return int(v)
    elif isinstance(v, int):
        return v
    elif isinstance(v, float):
        if label:
            if not v.is_integer():
                raise InputError(f"{path}, line {line}, key {key!r}: label {v!r} is not an "
                                 "integer.")
            return int(v)
        return v
    what = "an integer label (or true/false)" if label else "a number"
    raise InputError(f"{path}, line {line}, key {key!r}: expected {what}; found {v!r}.")


def _jsonl_chunks(path, cols, chunk_size, progress):
    f, raw = _open_binary(path)
    bar = Progress(os.path.basename(str(path)), _size(path), progress)
    try:
        keys = None
        labs, vals = [], []
        width = None
        cap = None
        rows = 0
        for line, text in enumerate(_lines(f, path), 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                raise InputError(f"{path}, line {line}: not valid JSON ({exc}).") from None
            except RecursionError:
                raise InputError(f"{path}, line {line}: not valid JSON for a prediction (values "
                                 "nested too deeply to read).") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}, line {line}: expected a JSON object per line; "
                                 f"found {type(obj).__name__}.")
            if keys is None:
                names = list(obj)
                if cols.kind != "confidence" and isinstance(obj.get(cols.name), list):
                    lab = _lookup(names, cols.label, path, "--label")
                    keys = (names[lab], cols.name, True)
                else:
                    lab, vidx, two_d = resolve_columns(names, cols, path)
                    keys = (names[lab], [names[i] for i in vidx], two_d)
                width = None if keys[2] is False else (None if isinstance(keys[1], str)
                                                       else len(keys[1]))
                cap = max(1, chunk_size // max(1, width or 1))
            lk, vk, two_d = keys
            if lk not in obj:
                raise InputError(f"{path}, line {line}: no key {lk!r} (for --label).")
            labs.append(_json_number(obj[lk], path, line, lk, True))
            if isinstance(vk, str):  # a list per row
                v = obj.get(vk)
                if not isinstance(v, list):
                    raise InputError(f"{path}, line {line}, key {vk!r}: expected a list of "
                                     f"numbers; found {v!r}.")
                if width is None:
                    width = len(v)
                    cap = max(1, chunk_size // max(1, width))
                if len(v) != width:
                    raise InputError(f"{path}, line {line}, key {vk!r}: {len(v)} values; the "
                                     f"first row has {width}.")
                vals.append([_json_number(x, path, line, vk, False) for x in v])
            else:
                row = []
                for k in vk:
                    if k not in obj:
                        raise InputError(f"{path}, line {line}: no key {k!r} (for --{cols.kind}).")
                    row.append(_json_number(obj[k], path, line, k, False))
                vals.append(row if two_d else row[0])
            if len(labs) >= cap:
                yield _pack(labs, vals)
                rows += len(labs)
                labs, vals = [], []
                bar.update(raw.tell())
        if labs:
            yield _pack(labs, vals)
    finally:
        bar.close(raw.tell() if not raw.closed else None)
        f.close()
        if raw is not f:
            raw.close()


def _lines(f, path):
    try:
        yield from f
    except (OSError, EOFError) as exc:  # I/O errors, corrupt gzip data
        raise InputError(f"{path}: cannot read the file ({exc}).") from None


def _pack(labs, vals):
    try:
        y = np.array(labs, dtype=np.int64)
    except OverflowError:
        y = np.array(labs, dtype=np.float64)
    return y, np.array(vals, dtype=np.float64)


# ----------------------------------------------------------------- NPY/NPZ
def _npy_chunks(path, cols, chunk_size, progress):
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"{path}: not a readable .npy file ({exc}).") from None
    if arr.dtype.names:
        names = list(arr.dtype.names)
        lab, vidx, two_d = resolve_columns(names, cols, path)

        def get(a, b):
            y = np.ascontiguousarray(arr[names[lab]][a:b])
            if two_d:
                v = np.stack([np.asarray(arr[names[i]][a:b]) for i in vidx], axis=1)
            else:
                v = np.asarray(arr[names[vidx[0]]][a:b])  # (m, C) for a sub-array field
            return y, np.ascontiguousarray(v)
    elif arr.ndim == 2:
        names = [str(i) for i in range(arr.shape[1])]
        lab, vidx, two_d = resolve_columns(names, cols, path)

        def get(a, b):
            y = arr[a:b, lab]
            v = arr[a:b, vidx] if two_d else arr[a:b, vidx[0]]
            return np.ascontiguousarray(y), np.ascontiguousarray(v)
    else:
        raise InputError(f"{path}: a .npy file must hold a structured array (columns are its "
                         f"fields) or a 2-D array (columns '0', '1', ...); found shape "
                         f"{arr.shape}, dtype {arr.dtype}. For separate arrays use .npz.")
    n = arr.shape[0]
    width = len(vidx) if two_d else 1
    step = max(1, chunk_size // width)
    bar = Progress(os.path.basename(str(path)), n, progress, unit="rows")
    try:
        for a in range(0, n, step):
            yield get(a, min(n, a + step))
            bar.update(min(n, a + step))
    finally:
        bar.close(n)


class _Member:
    """Rows of one .npy member of a zip archive, read sequentially."""

    def __init__(self, zf, key, path):
        self.key = key
        self.f = zf.open(key + ".npy")
        try:
            version = np.lib.format.read_magic(self.f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(self.f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(self.f)
        except ValueError as exc:
            raise InputError(f"{path}: array {key!r} is not a readable .npy member ({exc}).") from None
        if dtype.hasobject:
            raise InputError(f"{path}: array {key!r} holds Python objects; save numbers.")
        if len(shape) not in (1, 2):
            raise InputError(f"{path}: array {key!r} must be 1-D or 2-D; found shape {shape}.")
        self.shape, self.dtype = shape, dtype
        self.full = None
        if fortran and len(shape) == 2:  # not row-major: read it whole
            self.full = np.lib.format.read_array(zf.open(key + ".npy"), allow_pickle=False)
        self.row_bytes = dtype.itemsize * (shape[1] if len(shape) == 2 else 1)
        self.done = 0

    def read(self, rows):
        if self.full is not None:
            out = self.full[self.done:self.done + rows]
        else:
            data = self.f.read(rows * self.row_bytes)
            out = np.frombuffer(data, dtype=self.dtype)
            if len(self.shape) == 2:
                out = out.reshape(-1, self.shape[1])
        self.done += out.shape[0]
        return out

    def close(self):
        self.f.close()


def _npz_chunks(path, cols, chunk_size, progress):
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not a valid .npz (zip) file.") from None
    members = []
    try:
        names = [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
        if cols.kind != "confidence" and cols.name in names:
            lab = _lookup(names, cols.label, path, "--label")
            keys, stack = [cols.name], False
        else:
            lab, vidx, stack = resolve_columns(names, cols, path)
            keys = [names[i] for i in vidx]
        members = [_Member(zf, names[lab], path)] + [_Member(zf, k, path) for k in keys]
        y, vm = members[0], members[1:]
        if len(y.shape) != 1:
            raise InputError(f"{path}: the labels {y.key!r} must be 1-D; found shape {y.shape}.")
        n = y.shape[0]
        for m in vm:
            if m.shape[0] != n:
                raise InputError(f"{path}: {y.key!r} has {n} rows but {m.key!r} has "
                                 f"{m.shape[0]}; they must match.")
            if stack and len(m.shape) != 1:
                raise InputError(f"{path}: {m.key!r} must be 1-D to be one column of "
                                 f"--{cols.kind}; found shape {m.shape}.")
        if cols.kind == "confidence" and len(vm[0].shape) != 1:
            raise InputError(f"{path}: --confidence {vm[0].key!r} must be 1-D; found shape "
                             f"{vm[0].shape} (use --probs or --logits for an (n, C) array).")
        width = sum(m.shape[1] if len(m.shape) == 2 else 1 for m in vm)
        step = max(1, chunk_size // width)
        bar = Progress(os.path.basename(str(path)), n, progress, unit="rows")
        done = 0
        try:
            while done < n:
                r = min(step, n - done)
                yl = y.read(r)
                parts = [m.read(r) for m in vm]
                v = np.stack(parts, axis=1) if stack else parts[0]
                done += r
                yield yl, v
                bar.update(done)
        finally:
            bar.close(done)
    finally:
        for m in members:
            m.close()
        zf.close()


# ----------------------------------------------------------------- Parquet
def _import_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"reading Parquet files needs pyarrow: {PYARROW_HINT}") from None
    return pq


def _parquet_chunks(path, cols, chunk_size, progress):
    pq = _import_pyarrow()
    import pyarrow as pa

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc}).") from None
    schema = pf.schema_arrow
    names = list(schema.names)
    listy = False
    if cols.kind != "confidence" and cols.name in names:
        typ = schema.field(cols.name).type
        listy = (pa.types.is_list(typ) or pa.types.is_large_list(typ)
                 or pa.types.is_fixed_size_list(typ))
    if listy:
        lab = _lookup(names, cols.label, path, "--label")
        keys, two_d = [cols.name], True
    else:
        lab, vidx, two_d = resolve_columns(names, cols, path)
        keys = [names[i] for i in vidx]
    n = pf.metadata.num_rows
    width = len(keys)
    if listy:
        first = next(pf.iter_batches(batch_size=1, columns=[cols.name]), None)
        width = len(first.column(0)[0]) if first is not None and first.num_rows else 1
    step = max(1, chunk_size // max(1, width))
    bar = Progress(os.path.basename(str(path)), n, progress, unit="rows")
    done = 0

    def numpy_col(arr, key):
        if arr.null_count:
            i = done + int(np.flatnonzero(np.asarray(arr.is_null()))[0]) + 1
            raise InputError(f"{path}, row {i}, column {key!r}: missing value (null).")
        return arr.to_numpy(zero_copy_only=False)

    try:
        for batch in pf.iter_batches(batch_size=step, columns=[names[lab]] + keys):
            m = batch.num_rows
            y = numpy_col(batch.column(0), names[lab])
            if listy:
                col = batch.column(1)
                if col.null_count:
                    numpy_col(col, keys[0])
                lens = np.asarray(col.value_lengths()) if hasattr(col, "value_lengths") else None
                if lens is not None and (lens != width).any():
                    i = int(np.flatnonzero(lens != width)[0])
                    raise InputError(f"{path}, row {done + i + 1}, column {keys[0]!r}: "
                                     f"{lens[i]} values; the first row has {width}.")
                flat = col.flatten()
                if flat.null_count:  # a null value inside a row's list: name that row
                    j = int(np.flatnonzero(np.asarray(flat.is_null()))[0])
                    raise InputError(f"{path}, row {done + j // width + 1}, column {keys[0]!r}: "
                                     f"missing value (null) at position {j % width} of the "
                                     "list.")
                v = numpy_col(flat, keys[0]).reshape(m, width)
            elif two_d:
                v = np.stack([numpy_col(batch.column(j + 1), keys[j]) for j in range(len(keys))],
                             axis=1)
            else:
                v = numpy_col(batch.column(1), keys[0])
            done += m
            yield y, v
            bar.update(done)
    finally:
        bar.close(done)


# ------------------------------------------------------------------ public
def iter_chunks(path, columns, *, format=None, chunk_size=CHUNK_SIZE, progress=False,
                block_size=BLOCK_SIZE):
    """Yield ``(labels, values)`` numpy chunks of ``path``.

    Parameters
    ----------
    path : str or path-like
        The file; its format comes from the extension unless ``format`` is given.
    columns : Columns
        Which columns hold the labels and the values.
    format : {"csv", "tsv", "jsonl", "npy", "npz", "parquet"}, optional
    chunk_size : int, default=1_000_000
        Values per chunk (rows x value columns): memory stays bounded whatever
        the file's size.
    progress : bool, default=False
        Show a ``\\r`` progress line on stderr.
    block_size : int
        Bytes read at a time from CSV/TSV files (the buffer grows when a single
        record is longer).

    Yields
    ------
    labels : ndarray of shape (m,)
        int64 for CSV/TSV/JSONL; the stored dtype for binary formats.
    values : ndarray of shape (m,) or (m, C)
        float64 for CSV/TSV/JSONL; the stored dtype for binary formats.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastcal.io.readers import Columns, iter_chunks
    >>> path = os.path.join(tempfile.mkdtemp(), "preds.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write('id,confidence,label\\n1,0.9,1\\n2,"0.25",0\\n3,0.6,true\\n')
    >>> [(y.tolist(), v.tolist()) for y, v in iter_chunks(path, Columns(confidence="confidence"))]
    [([1, 0, 1], [0.9, 0.25, 0.6])]
    """
    if not isinstance(columns, Columns):
        raise TypeError(f"columns must be a fastcal.io.readers.Columns; found {type(columns).__name__}.")
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer; found {chunk_size}.")
    fmt = detect_format(path, format)
    if fmt == "parquet":
        _import_pyarrow()  # the hint before anything else
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, not a file.")
    if fmt in ("csv", "tsv"):
        delim = 44 if fmt == "csv" else 9
        return _csv_chunks(path, delim, columns, chunk_size, progress, block_size)
    if fmt == "jsonl":
        return _jsonl_chunks(path, columns, chunk_size, progress)
    if fmt == "npy":
        return _npy_chunks(path, columns, chunk_size, progress)
    if fmt == "npz":
        return _npz_chunks(path, columns, chunk_size, progress)
    return _parquet_chunks(path, columns, chunk_size, progress)


def line_of_row(path, row, format=None, block_size=BLOCK_SIZE):
    """The 1-based line of ``path`` where data row ``row`` (1-based, as in the
    readers' messages) starts, for the text formats (CSV, TSV, JSONL); None
    for the others, or when the file has fewer rows.

    The records are counted as the readers count them: blank lines are
    skipped, a CSV record's quoted fields may hold newlines (the record
    starts on its first line), the CSV header is the first record.  Reads
    the file up to that row: meant for an error message.
    """
    fmt = detect_format(path, format)
    if fmt not in ("csv", "tsv", "jsonl") or row < 1:
        return None
    f, raw = _open_binary(path)
    try:
        if fmt == "jsonl":
            seen = 0
            for line, text in enumerate(f, 1):
                if text.strip():
                    seen += 1
                    if seen == row:
                        return line
            return None
        return _csv_line_of_record(f, row + 1, int(block_size))  # + 1: the header
    except (OSError, EOFError):
        return None
    finally:
        f.close()
        if raw is not f:
            raw.close()


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


def read_all(path, columns, **kw):
    """All of ``path`` as one ``(labels, values)`` pair (for fitting calibrators)."""
    ys, vs = [], []
    for y, v in iter_chunks(path, columns, **kw):
        ys.append(y)
        vs.append(v)
    if not ys:
        raise InputError(f"{path} has no data rows.")
    return np.concatenate(ys), np.concatenate(vs)


__all__ = ["Columns", "InputError", "detect_format", "iter_chunks", "line_of_row", "read_all",
           "resolve_columns", "FORMATS", "PYARROW_HINT"]
