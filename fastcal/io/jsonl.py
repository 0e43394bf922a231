"""JSON Lines files in chunks: one JSON object per line.
"""

import json
import os

import numpy as np

from ..core.errors import InputError
from .columns import Progress, _lookup, _size, resolve_columns
from .csv import _open_binary


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
        for line, obj in json_objects(_lines(f, path), path):
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


def json_objects(lines, path):
    """``(line number, object)`` for each line of ``lines`` (the text lines of
    ``path``, numbered from 1) that is not blank; an InputError naming the
    line where one is not a JSON object."""
    for line, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path}, line {line}: not valid JSON ({exc}).") from None
        except RecursionError:
            raise InputError(f"{path}, line {line}: not valid JSON (values nested too deeply "
                             "to read).") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}, line {line}: expected a JSON object per line; "
                             f"found {type(obj).__name__}.")
        yield line, obj


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
