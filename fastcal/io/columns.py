"""The column selection, format detection and progress line shared by the
readers of every format (the formats are described in readers.py).
"""

import os
import sys
import time

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
    """(label index, value indices, two_d) of ``cols`` among the column ``names``;
    the label column may not be a value column too (a field is read once, as
    a label or as a value)."""
    lab, idx, two_d = _resolve(names, cols, path)
    if lab in idx:
        raise InputError(f"{path}: column {str(names[lab])!r} is both the label (--label) and a "
                         f"value column (--{cols.kind}); name two different columns.")
    return lab, idx, two_d


def _resolve(names, cols, path):
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
