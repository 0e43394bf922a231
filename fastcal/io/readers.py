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

import os

import numpy as np

# the one error class of bad input, files and arrays alike: the readers' errors
# carry no attributes (param, index, ... are None), their message names the
# file, line, data row and column
from ..core.errors import InputError
from .columns import (
    BLOCK_SIZE,
    CHUNK_SIZE,
    Columns,
    FORMATS,
    PYARROW_HINT,
    detect_format,
    resolve_columns,
)
from .csv import _csv_chunks, _csv_line_of_record, _open_binary
from .parquet import _import_pyarrow, _parquet_chunks
from .jsonl import _jsonl_chunks
from .npy import _npy_chunks, _npz_chunks

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
