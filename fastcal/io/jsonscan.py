"""Values at selected paths of a JSON Lines file, read in blocks by the byte
scanner of :mod:`fastcal._kernels.io.jsonl` (the LLM readers' common reader).

A path is dotted keys with ``[i]`` / ``[*]`` array steps and ``*`` for any
key: ``"choices[0].logprobs.content[0].top_logprobs[*].token"``.
:func:`scan` yields one :class:`Block` per buffer: the records of its lines,
with the buffer itself so that the caller can decode the strings it needs
before the next block replaces it.
"""

import json
import os
import re

import numpy as np

from .readers import InputError
from .._kernels.io import jsonl as KJ
from .._kernels.io import json_tokens as KJT

BLOCK_SIZE = 1 << 24
_strip = np.strings.strip if hasattr(np, "strings") else np.char.strip
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]|\.")

# record columns
OBJ, LEAF, START, STOP, NCHAR, NBYTE, FLAGS, PACKED = range(KJT.NREC)
STRING, NUMBER, ESCAPE, NONASCII, FALLBACK, IS_PACKED = (
    KJT.K_STRING, KJT.F_NUMBER, KJT.F_ESCAPE, KJT.F_NONASCII, KJT.F_FALLBACK, KJT.P_PACKED)


class Paths:
    """The trie of ``{path: leaf id}`` in the scanner's array form (strings
    of the ``light`` leaf ids: positions only, see :mod:`fastcal._kernels.io.jsonl`).  A
    wildcard step (``*``, ``[*]``) may have no sibling step (the scanner
    follows one edge), so the paths never overlap."""

    def __init__(self, paths, light=()):
        kids = [[]]  # node -> [(kind, arg, child)]
        leaf = [-1]
        keys = bytearray()
        for path, lid in paths.items():
            v = 0
            for m in _STEP.finditer(path):
                name, idx = m.group(1), m.group(2)
                if name is None and idx is None:
                    continue
                if name == "*":
                    step = (KJT.E_ANYKEY, b"")
                elif name is not None:
                    step = (KJT.E_KEY, name.encode())
                elif idx == "*":
                    step = (KJT.E_ANYINDEX, b"")
                else:
                    step = (KJT.E_INDEX, int(idx))
                for kind, arg, child in kids[v]:
                    if (kind, arg) == step:
                        v = child
                        break
                else:
                    kids.append([])
                    leaf.append(-1)
                    kids[v].append((step[0], step[1], len(kids) - 1))
                    v = len(kids) - 1
            leaf[v] = lid
        for ks in kids:
            kinds = {k for k, _, _ in ks}
            if (KJT.E_ANYKEY in kinds and len(ks) > 1) or (KJT.E_ANYINDEX in kinds and len(ks) > 1):
                raise ValueError(f"paths {list(paths)} overlap: a wildcard step has siblings")
        nodes = np.zeros((len(kids) + 1, 3), np.int64)
        edges = []
        for v, ks in enumerate(kids):
            nodes[v, 0] = len(edges)
            nodes[v, 1] = leaf[v]
            nodes[v, 2] = leaf[v] in light and leaf[v] >= 0
            for kind, arg, child in ks:
                if kind == KJT.E_KEY:
                    edges.append((kind, len(keys), len(arg), child))
                    keys += arg
                elif kind == KJT.E_INDEX:
                    edges.append((kind, arg, 0, child))
                else:
                    edges.append((kind, 0, 0, child))
        nodes[len(kids), 0] = len(edges)
        nodes[len(kids), 1] = -1
        self.nodes = nodes
        self.edges = np.array(edges, np.int64).reshape(-1, 4)
        self.keys = np.frombuffer(bytes(keys) or b"\0", np.uint8).copy()


class Block:
    """The records of one buffer, valid until the next block is asked for:
    ``rec`` (int64, columns OBJ ... PACKED),
    ``val`` (float64), ``lines`` (1-based line of each object; OBJ counts the
    objects from ``obj0``, the count before this block) and ``buf``."""

    __slots__ = ("buf", "rec", "val", "lines", "obj0")

    def __init__(self, buf, rec, val, lines, obj0):
        self.buf, self.rec, self.val, self.lines, self.obj0 = buf, rec, val, lines, obj0

    def text(self, r):
        """The decoded string of record row ``r``."""
        s, e, fl = int(self.rec[r, START]), int(self.rec[r, STOP]), int(self.rec[r, FLAGS])
        raw = self.buf[s:e].tobytes()
        if fl & ESCAPE:
            return json.loads(raw)
        return raw[1:-1].decode("utf-8")

    def texts(self, rows):
        """The decoded strings of record rows ``rows`` as a numpy str array
        (plain ASCII ones gathered at once, the rest one by one)."""
        rows = np.asarray(rows, np.int64)
        if rows.size == 0:
            return np.array([], dtype=str)
        rec = self.rec[rows]
        s, n = rec[:, START] + 1, rec[:, STOP] - rec[:, START] - 2
        plain = (rec[:, FLAGS] & (ESCAPE | NONASCII)) == 0
        width = max(1, int(n[plain].max()) if plain.any() else 1)
        # rows of a sliding-window view of the buffer: one uint8 gather, no index array
        plain &= s + width <= self.buf.shape[0]
        p = np.flatnonzero(plain)
        out = np.zeros((rows.size, width), np.uint8)
        if p.size:
            win = np.lib.stride_tricks.sliding_window_view(self.buf, width)
            out[p] = win[s[p]]
            out[p] *= np.arange(width)[None, :] < n[p, None]  # clear what follows the text
        res = out.view(f"S{width}").ravel().astype(str)
        other = np.flatnonzero(~plain)
        if other.size:
            res = res.astype(object)
            for i in other:
                res[i] = self.text(rows[i])
            res = res.astype(str)
        return res

    def stripped(self, rows):
        """The decoded strings of string record rows ``rows`` stripped of
        whitespace, as a numpy str array (packed ones at once)."""
        rows = np.asarray(rows, np.int64)
        packed = (self.rec[rows, FLAGS] & IS_PACKED) != 0
        codes = np.ascontiguousarray(self.rec[rows[packed], PACKED]).astype("<i8")
        short = codes.view("S8").astype("U8")
        other = np.flatnonzero(~packed)
        if other.size == 0:
            return short
        rest = _strip(self.texts(rows[other]))
        out = np.empty(rows.shape[0], dtype=f"U{max(8, rest.dtype.itemsize // 4)}")
        out[packed] = short
        out[other] = rest
        return out

    def numbers(self, rows, file, field):
        """float64 values of record rows ``rows`` (numbers or numeric strings);
        an error naming the file, line and field for anything else."""
        rows = np.asarray(rows, np.int64)
        x = self.val[rows].copy()
        fl = self.rec[rows, FLAGS]
        for i in np.flatnonzero((fl & NUMBER) == 0):
            r = rows[i]
            raw = self.buf[self.rec[r, START]:self.rec[r, STOP]].tobytes().decode("utf-8", "replace")
            try:
                if not fl[i] & FALLBACK:
                    raise ValueError
                x[i] = float(raw.strip('"'))
            except ValueError:
                line = self.lines[self.rec[r, OBJ]]
                raise InputError(f"{file}, line {line}, field {field}: expected a number; "
                                 f"found {raw[:60]}.") from None
        return x


def _line_error(buf, pos, have, err, file, line):
    """The one-line error for the malformed line starting at ``pos``."""
    nl = np.flatnonzero(buf[pos:have] == 10)
    raw = buf[pos:pos + (int(nl[0]) if nl.size else have - pos)].tobytes()
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        col = getattr(exc, "colno", None)
        cut = msg.startswith("Unterminated") or (col is not None and exc.pos >= len(raw.rstrip()))
        what = "truncated JSON" if cut else "not valid JSON"
        return InputError(f"{file}, line {line}: {what} ({msg}"
                          + (f", column {col})" if col is not None else ")"))
    if not isinstance(obj, dict):
        return InputError(f"{file}, line {line}: expected a JSON object; found a "
                          f"{type(obj).__name__}.")
    return InputError(f"{file}, line {line}: cannot be read (nested deeper than "
                      f"{KJT.MAX_DEPTH} levels, or a malformed number at byte {err - pos}).")


def scan(source, paths, *, block_size=BLOCK_SIZE, name=None):
    """Yield a :class:`Block` per buffer of ``source`` (a path, bytes, or a
    binary file object read ``block_size`` bytes at a time)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        # writable (one signature) and a whole number of 8-byte words long
        data = np.zeros(-(-len(source) // 8) * 8, np.uint8)
        data[:len(source)] = np.frombuffer(source, np.uint8)
        yield from _scan_buffer(data, len(source), paths, name or "<bytes>")
        return
    if hasattr(source, "readinto"):
        yield from _scan_file(source, paths, -(-block_size // 8) * 8, name or "<file>")
        return
    name = name or os.fspath(source)
    with open(source, "rb") as f:
        yield from _scan_file(f, paths, -(-block_size // 8) * 8, name)


def _outputs(cap):
    return (np.empty((cap, KJT.NREC), np.int64), np.empty(cap), np.empty(max(16, cap // 4), np.int64),
            np.empty((KJT.MAX_DEPTH, 3), np.int64))


def _threads():
    try:
        return max(1, min(2, len(os.sched_getaffinity(0))))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, min(2, os.cpu_count() or 1))


def _scan_part(buf, a, b, paths, outs):
    """Scan the complete lines of ``buf[a:b]`` (the scanner releases the GIL, so
    parts run in threads side by side); ``outs`` is this part's list of output
    arrays, reused from block to block.  Returns the chunks
    ``(rec, val, objs, lines, status, pos, err)`` of its scanner calls."""
    chunks = []
    k = 0
    pos = a
    while True:
        if k == len(outs):
            outs.append(_outputs(outs[-1][0].shape[0]))
        rec, val, objs, stk = outs[k]
        st, pos2, lines, nobj, nrec, err = KJ.scan_block(
            buf, np.int64(pos), np.int64(b), np.bool_(True), paths.nodes, paths.edges,
            paths.keys, rec, val, objs, stk)
        if st == KJT.FULL and nobj == 0:  # one line has more records than fit: grow
            outs[k] = _outputs(2 * rec.shape[0])
            continue
        chunks.append((rec[:nrec], val[:nrec], objs[:nobj], lines, st, pos2, err))
        if st != KJT.FULL:
            return chunks
        k += 1
        pos = pos2


def _emit(buf, have, parts, line0, obj0, name):
    """Yield the blocks of scanned parts in file order; returns (line0, obj0)."""
    for chunks in parts:
        for rec, val, objs, lines, st, pos, err in chunks:
            if objs.shape[0]:
                # views of arrays the next block reuses: a Block is read before the next
                yield Block(buf, rec, val, objs + (line0 + 1), obj0)
            if st == KJT.ERR:
                raise _line_error(buf, pos, have, err, name, line0 + lines + 1)
            line0 += lines
            obj0 += objs.shape[0]
    return line0, obj0


def _scan_buffer(data, have, paths, name):
    yield from _emit(data, have, [_scan_part(data, 0, have, paths, [_outputs(1 << 16)])], 0, 0,
                     name)


def _newline(buf, a, b, last):
    """The first (``last``: the last) newline in ``buf[a:b]``, or -1."""
    step = 1 << 16
    if last:
        k = b
        while k > a:
            lo = max(a, k - step)
            idx = np.flatnonzero(buf[lo:k] == 10)
            if idx.size:
                return lo + int(idx[-1])
            k = lo
        return -1
    k = a
    while k < b:
        hi = min(b, k + step)
        idx = np.flatnonzero(buf[k:hi] == 10)
        if idx.size:
            return k + int(idx[0])
        k = hi
    return -1


def _scan_file(f, paths, block_size, name):
    """Blocks of a file read ``block_size`` bytes at a time: each block's complete
    lines are split at newlines into one part per thread (two at most), while
    another thread reads the next block into a second buffer."""
    bufs = [np.empty(block_size, np.uint8), np.empty(block_size, np.uint8)]
    buf = bufs[0]
    have, line0, obj0 = 0, 0, 0
    eof = False
    nt = _threads()
    outs = [[_outputs(1 << 18)] for _ in range(nt)]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(nt + 1)
    pending = None  # the read of the next block, running

    def fill(dst, start):
        n = f.readinto(memoryview(dst)[start:])
        return n

    try:
        while True:
            if pending is not None:
                n = pending.result()
                pending = None
                eof = n == 0
                have += n
            elif not eof and have < buf.shape[0]:
                n = f.readinto(memoryview(buf)[have:])
                eof = n == 0
                have += n
            if have == 0:
                return
            stop = have if eof else _newline(buf, 0, have, True) + 1
            if stop == 0:  # no complete line in the buffer: a longer line
                if have == buf.shape[0]:
                    bigger = np.empty(2 * buf.shape[0], np.uint8)
                    bigger[:have] = buf[:have]
                    bufs = [bigger, np.empty(2 * buf.shape[0], np.uint8)]
                    buf = bufs[0]
                continue
            cuts = [0]
            for t in range(1, nt):
                nl = _newline(buf, max(cuts[-1], stop * t // nt), stop, False)
                if nl >= 0 and nl + 1 < stop:
                    cuts.append(nl + 1)
            cuts.append(stop)
            ranges = list(zip(cuts[:-1], cuts[1:]))
            # the rest of the buffer starts the other one, which fills meanwhile
            nxt = bufs[1] if buf is bufs[0] else bufs[0]
            rest = have - stop
            if not eof:
                nxt[:rest] = buf[stop:have]
                pending = pool.submit(fill, nxt, rest)
            futs = [pool.submit(_scan_part, buf, a, b, paths, outs[i])
                    for i, (a, b) in enumerate(ranges)]
            parts = [fu.result() for fu in futs]
            line0, obj0 = yield from _emit(buf, have, parts, line0, obj0, name)
            if eof:
                return
            buf = nxt
            have = rest
    finally:
        if pending is not None:
            pending.result()
        pool.shutdown()
