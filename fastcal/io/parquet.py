"""Parquet files in chunks, read by record batches with pyarrow (an optional
dependency).
"""

import os

import numpy as np

from ..core.errors import InputError
from .columns import PYARROW_HINT, Progress, _lookup, resolve_columns


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
