"""Reading prediction files for the command line: the file's chunks into an
accumulator, and errors worded as file, line and column.
"""

import functools

import numpy as np

from ..io import csv_small as _csv_small
from ..io.readers import InputError, iter_chunks, line_of_row
from .args import UsageError


# ------------------------------------------------------------------ reading
#: The fix an InputError suggests (its ``hint``), in command-line terms.
FIXES = {"logits": "use --logits", "multiclass": "use --probs or --logits",
         "ignore_index": "use --ignore-index {value}"}


class _File:
    """A file a command reads, to name its rows in error messages: ``path``
    (read as ``format``), shown as ``shown`` (e.g. ``--fit-file VAL``)."""

    __slots__ = ("path", "format", "shown")

    def __init__(self, path, format=None, shown=None):
        self.path, self.format = path, format
        self.shown = str(path) if shown is None else shown

    def __str__(self):
        return self.shown

    def where(self, row=None, column=None):
        """``FILE, line L (row N), column 'X'`` for data row ``row`` (1-based;
        no line in binary formats) and ``column``, the parts that are known."""
        where = self.shown
        if row is not None:
            line = line_of_row(self.path, row, self.format)
            where += f", line {line} (row {row})" if line else f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        return where

    def error(self, exc, cols, row0=0, rows=None, fixes=FIXES, column=None, ndim=None):
        """A library error about rows of this file read with ``cols`` as one
        line about the file.  ``row0``: the data rows before the chunk the
        library saw; ``rows``: the chunk's row (0-based) of each row it saw
        (when it saw a subset or another order); ``column``: the column to
        name when the error is not about one row; ``ndim``: 1 when the values
        were one column.  An :class:`InputError` is worded from its
        attributes; another error is shown as it is."""
        if not isinstance(exc, InputError):
            return f"{self.shown}: {exc}"
        row = None
        if exc.index is not None:
            i = exc.index if rows is None else int(rows[exc.index])
            row = row0 + i + 1
            column = _column(exc, cols, ndim)
        terms = {"y_true": "the labels" if exc.param == "y_true" and column is not None
                 else f"the labels (column {cols.label!r})",
                 "y_prob": f"--{cols.kind} {cols.name!r}", "ignore_index": "--ignore-index",
                 "at": "", "row": "this row", "model": ""}
        fix = fixes.get(exc.hint)
        if fix is not None:
            terms["fix"] = fix.format(value=_label_text(exc.value))
        return f"{self.where(row, column)}: {exc.reword(**terms)}"


def _column(exc, cols, ndim=None):
    """The file column of the value an :class:`InputError` is about, when one
    column holds it."""
    if exc.param == "y_true":
        return cols.label
    if exc.param in (None, "sample_weight", "ignore_index"):
        return None
    if cols.kind == "confidence" or ndim == 1:
        return cols.name
    names = [s.strip() for s in cols.name.split(",")]
    if len(names) > 1 and exc.column is not None and exc.column < len(names):
        return names[exc.column]
    return None  # an (n, C) key or list column, a prefix: the message names it


def _label_text(v):
    """A label as --ignore-index takes it: an integer (-1, also for -1.0)."""
    try:
        if float(v).is_integer():
            return str(int(v))
    except (TypeError, ValueError, OverflowError):
        pass
    return str(v)


def _update(acc, y, v, from_logits, src, cols, row0, ignore_index=None, rows=None):
    try:
        if ignore_index is None:
            acc.update(y, v, from_logits=from_logits)
        else:
            acc.update(y, v, from_logits=from_logits, ignore_index=ignore_index)
    except (ValueError, TypeError) as exc:
        raise UsageError(src.error(exc, cols, row0, rows, ndim=np.ndim(v))) from None


def _kept(y, v, ignore_index):
    """The rows of a (validated) chunk whose label is not ``ignore_index``."""
    if ignore_index is None:
        return y, v
    keep = np.asarray(y) != ignore_index
    return (y, v) if keep.all() else (y[keep], v[keep])


def _kept_rows(y, ignore_index):
    """The chunk's row of each row :func:`_kept` keeps (None: all of them)."""
    if ignore_index is None:
        return None
    keep = np.asarray(y) != ignore_index
    return None if keep.all() else np.flatnonzero(keep)


def _chunks(path, cols, args, progress, data=None):
    """(row0, labels, values) of ``path`` (``data``: its bytes, read whole by
    ``_csv_small.load``); an error for a file without rows."""
    row0 = 0
    read = iter_chunks if data is None else functools.partial(_csv_small.iter_chunks, data=data)
    for y, v in read(path, cols, format=args.format, chunk_size=args.chunk_size,
                     progress=progress):
        yield row0, y, v
        row0 += y.shape[0]
    if row0 == 0:
        raise UsageError(f"{path} has no data rows.")


def _toplabel(y, v, from_logits, path, cols, row0):
    """(correct, top-label confidence) of a chunk, for the isotonic calibrator."""
    from ..core.pipeline import toplabel_confidence

    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        return y, (1.0 / (1.0 + np.exp(-v)) if from_logits else v)
    C = v.shape[1]
    yi = np.asarray(y)
    bad = ~((yi >= 0) & (yi < C) & (yi == np.floor(yi)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UsageError(f"{path}, row {row0 + i + 1}: the labels (column {cols.label!r}) must be "
                         f"class indices in [0, {C}); found {yi[i]!r}.")
    pred = v.argmax(axis=1)
    conf, _ = toplabel_confidence(v, from_logits)  # the binned metrics' own numbers
    return (pred == yi).astype(np.int64), conf  # int64: the labels every other path feeds
