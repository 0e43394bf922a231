"""NumPy files in chunks: NPY (memory-mapped) and NPZ (streamed from the
archive member by member).
"""

import os
import zipfile

import numpy as np

from ..core.errors import InputError
from .columns import Progress, _lookup, resolve_columns


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
