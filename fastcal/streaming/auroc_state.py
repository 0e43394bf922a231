"""The versioned state of an :class:`~fastcal.AUROCAccumulator` read back:
from a pickle or a :meth:`~fastcal.AUROCAccumulator.to_dict` dict, every
value checked (settings, counts, lengths, cell indices, that each
remembered score lies in its cell), an invalid one named by its field."""

import math

import numpy as np

from .shared import _WEXP_BOUND
from .._kernels.streaming import auroc_hist as KAH
from ..core import validation as V
from ..core.state_check import Check


_FORMAT = "fastcal.AUROCAccumulator"
_TRANSFORMS = ("sigmoid",)


def check_settings(exact, score_range, transform):
    if not isinstance(exact, (bool, np.bool_)):
        raise TypeError(f"exact must be True or False; found {exact!r}.")
    if transform is not None:
        V.check_choice(transform, "transform", _TRANSFORMS)
    if score_range is not None:
        if transform is not None:
            raise ValueError(
                f"pass either score_range or transform, not both; found score_range={score_range!r} "
                f"and transform={transform!r}.")
        try:
            lo, hi = score_range
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError):
            raise ValueError(
                f"score_range must be a pair (lo, hi) of finite numbers with lo < hi; "
                f"found {score_range!r}.") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(
                f"score_range must be a pair (lo, hi) of finite numbers with lo < hi; "
                f"found {score_range!r}.")
        score_range = (lo, hi)
    return bool(exact), score_range, transform


def load_pickled(cls, state):
    """The accumulator of a ``__getstate__`` state (a (version, dict) pair)."""
    C = Check("pickled AUROCAccumulator")
    if not (isinstance(state, tuple) and len(state) == 2):
        C.fail("the state", "a (version, dict) pair", state)
    version, d = state

    def newer(v):
        raise ValueError(f"this AUROCAccumulator was saved by a newer fastcal (state version "
                         f"{v}); this one reads up to {cls._STATE_VERSION}.")

    C.version(version, range(1, cls._STATE_VERSION + 1), newer)
    C.mapping(d, "the state")
    sr = C.get(d, "score_range", "score_range")
    if sr is not None and not isinstance(sr, tuple):
        C.fail("score_range", "None or a (lo, hi) tuple", sr)
    obj = _new(C, d, sr, cls)
    _set_wexp(C, obj, d, version)

    def raw(key, size, dtype):
        b = C.get(d, key, key)
        if not isinstance(b, bytes) or len(b) % size:
            C.fail(key, f"bytes of whole {dtype} values", b)
        return np.frombuffer(b, dtype)

    if obj._exact:
        w = C.get(d, "weights", "weights")
        _set_samples(C, obj, raw("scores", 8, "<f8"), raw("labels", 1, "u1"),
                     None if w is None else raw("weights", 8, "<f8"), "")
    else:
        cells = raw("cells", 4, "<i4")
        vals = raw("values", 24, "<f8")
        if vals.shape[0] != 3 * cells.shape[0]:
            raise ValueError(f"invalid pickled AUROCAccumulator state: values must hold "
                             f"3 float64 per cell ({cells.shape[0]} cells); found "
                             f"{vals.shape[0]} values.")
        vals = vals.reshape(-1, 3)
        _set_cells(C, obj, cells, vals[:, 0], vals[:, 1], vals[:, 2], "")
    return obj


def load_dict(cls, d):
    """The accumulator of a :meth:`~fastcal.AUROCAccumulator.to_dict` dict."""
    if not isinstance(d, dict) or d.get("format") != _FORMAT:
        found = f"format {d.get('format')!r}" if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"d must be a dict made by AUROCAccumulator.to_dict() "
                         f"(format {_FORMAT!r}); found {found}.")
    C = Check("AUROCAccumulator")

    def newer(v):
        raise ValueError(f"d has version {v}; this fastcal reads up to "
                         f"{cls._STATE_VERSION}.")

    version = C.version(C.get(d, "version", "version"), range(1, cls._STATE_VERSION + 1),
                        newer)
    sr = C.get(d, "score_range", "score_range")
    if sr is not None and not isinstance(sr, list):
        C.fail("score_range", "None or a list [lo, hi]", sr)
    obj = _new(C, d, sr, cls)
    _set_wexp(C, obj, d, version)
    nc = d.get("n_cells", KAH.N_CELLS)
    if nc != KAH.N_CELLS or not isinstance(nc, int) or isinstance(nc, bool):
        raise ValueError(f"d holds a histogram of {nc!r} cells; this fastcal "
                         f"uses {KAH.N_CELLS}.")
    if obj._exact:
        smp = C.mapping(C.get(d, "samples", "samples"), "samples")
        w = C.get(smp, "weights", "samples.weights")
        _set_samples(C, obj, C.get(smp, "scores", "samples.scores"),
                     C.get(smp, "labels", "samples.labels"), w, "samples.")
    else:
        c = C.mapping(C.get(d, "cells", "cells"), "cells")
        sc = C.get(c, "score", "cells.score")
        if not isinstance(sc, list):
            C.fail("cells.score", "a list of numbers or None", sc)
        mixed = np.array([r is None for r in sc], bool)
        rep = C.array([0.0 if r is None else r for r in sc], "cells.score")
        rep[mixed] = KAH.MIXED
        _set_cells(C, obj, C.get(c, "index", "cells.index"), C.get(c, "neg", "cells.neg"),
                   C.get(c, "pos", "cells.pos"), rep, "cells.")
    return obj


def _new(C, d, score_range, cls):
    """An empty accumulator of the state's checked settings and ``n``."""
    exact = C.boolean(C.get(d, "exact", "exact"), "exact")
    if score_range is not None:
        if len(score_range) != 2:
            C.fail("score_range", "None or a pair (lo, hi)", score_range)
        lo = C.real(score_range[0], "score_range[0]")
        hi = C.real(score_range[1], "score_range[1]")
        if not lo < hi:
            C.fail("score_range", "a pair (lo, hi) with lo < hi", score_range)
        score_range = (lo, hi)
    tr = C.choice(C.get(d, "transform", "transform"), "transform", (None,) + _TRANSFORMS)
    if score_range is not None and tr is not None:
        C.fail("score_range", "None when transform is set", score_range)
    obj = cls(exact, score_range=score_range, transform=tr)
    obj.n = C.integer(C.get(d, "n", "n"), "n")
    return obj


def _set_wexp(C, obj, d, version):
    """The histogram's weight exponent (version 2 on; 0 before), checked."""
    if version < 2:
        obj._wexp = 0
        return
    e = C.get(d, "weight_exp", "weight_exp")
    if not (isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_))
            and -_WEXP_BOUND <= e <= _WEXP_BOUND):
        C.fail("weight_exp", f"an integer in -{_WEXP_BOUND}..{_WEXP_BOUND}", e)
    if obj._exact and e:
        C.fail("weight_exp", "0 in exact mode (the kept weights are not scaled)", e)
    obj._wexp = int(e)


def _set_samples(C, obj, scores, labels, weights, pre):
    """Checked kept samples (exact mode) into the empty ``obj``."""
    lo, hi = (obj._lo, obj._hi) if obj._transform is None else (None, None)
    s = C.array(scores, pre + "scores", lo=lo, hi=hi)
    m = s.shape[0]
    y = C.array(labels, pre + "labels", length=m, lo=0.0, hi=1.0)
    k = np.flatnonzero((y != 0.0) & (y != 1.0))
    if k.size:
        C.fail(f"{pre}labels[{k[0]}]", "0 or 1", float(y[k[0]]))
    w = None if weights is None else C.array(weights, pre + "weights", length=m, lo=0.0)
    if w is not None and not math.isfinite(w.sum()):
        C.fail(pre + "weights", "weights with a finite total", "a total that overflows")
    if obj.n != m:
        C.fail("n", f"the number of kept samples ({m})", obj.n)
    if not m and weights is not None:
        C.fail(pre + "weights", "None when no sample is kept", weights)
    if m:
        obj._scores, obj._labels, obj._weights = [s + 0.0], [y.astype(np.uint8)], [w]


def _set_cells(C, obj, idx, neg, pos, rep, pre):
    """Checked histogram cells (bounded mode) into the empty ``obj``: indices
    increasing, weights finite and >= 0 with finite totals, each remembered
    score in range and in its own cell."""
    idx = C.array(idx, pre + "index", kind="i", lo=0, hi=KAH.N_CELLS - 1)
    m = idx.shape[0]
    neg = C.array(neg, pre + "neg", length=m, lo=0.0)
    pos = C.array(pos, pre + "pos", length=m, lo=0.0)
    rep = C.array(rep, pre + "score", length=m, finite=False)
    k = np.flatnonzero(np.diff(idx) <= 0)
    if k.size:
        C.fail(f"{pre}index[{k[0] + 1}]", f"greater than the previous index {idx[k[0]]}",
               int(idx[k[0] + 1]))
    for name, col in (("neg", neg), ("pos", pos)):
        if not math.isfinite(col.sum()):
            C.fail(pre + name, "weights with a finite total", "a total that overflows")
    k = np.flatnonzero((neg == 0.0) & (pos == 0.0) & (rep == KAH.EMPTY))
    if k.size:
        C.fail(f"{pre}index[{k[0]}]", "a cell holding weight or a score (empty cells are "
               "not stored)", int(idx[k[0]]))
    single = (rep != KAH.EMPTY) & (rep != KAH.MIXED)
    k = np.flatnonzero(np.isnan(rep) | (single & ((rep < obj._lo) | (rep > obj._hi))))
    if k.size:
        C.fail(f"{pre}score[{k[0]}]", f"a score in [{obj._lo!r}, {obj._hi!r}] or None",
               float(rep[k[0]]))
    rep = rep + 0.0  # -0.0 is stored as +0.0
    bad = KAH.first_misplaced(idx, rep, obj._lo, obj._hi - obj._lo, obj._affine, obj._logit)
    if bad >= 0:
        C.fail(f"{pre}score[{bad}]", f"a score that falls in cell {idx[bad]}",
               float(rep[bad]))
    h = obj._hist
    obj._any_weight = None
    h[idx, 0] = neg
    h[idx, 1] = pos
    h[idx, 2] = rep


def _used_cells(h):
    """Indices of the cells holding any weight or a remembered score."""
    return np.flatnonzero((h[:, 0] != 0.0) | (h[:, 1] != 0.0) | (h[:, 2] != KAH.EMPTY))


def plain_state(acc):
    """Plain-Python state: settings, n, and the data as little-endian bytes."""
    with acc._lock:
        d = {"exact": acc._exact, "score_range": acc._score_range,
             "transform": acc._transform, "n": int(acc.n),
             "weight_exp": int(acc._wexp)}
        if acc._exact:
            acc._compact()
            if acc._scores:
                d["scores"] = acc._scores[0].astype("<f8").tobytes()
                d["labels"] = acc._labels[0].astype("u1").tobytes()
                w = acc._weights[0]
                d["weights"] = None if w is None else w.astype("<f8").tobytes()
            else:
                d["scores"] = d["labels"] = b""
                d["weights"] = None
        else:
            h = acc._hist
            cells = _used_cells(h)
            d["cells"] = cells.astype("<i4").tobytes()
            d["values"] = h[cells].astype("<f8").tobytes()
    return d


def dict_state(acc):
    """The JSON-serialisable state of :meth:`AUROCAccumulator.to_dict`."""
    with acc._lock:
        d = {"format": _FORMAT, "version": acc._STATE_VERSION, "exact": acc._exact,
             "score_range": None if acc._score_range is None else list(acc._score_range),
             "transform": acc._transform, "n": int(acc.n), "n_cells": KAH.N_CELLS,
             "weight_exp": int(acc._wexp)}
        if acc._exact:
            acc._compact()
            if acc._scores:
                w = acc._weights[0]
                d["samples"] = {"scores": acc._scores[0].tolist(),
                                "labels": acc._labels[0].tolist(),
                                "weights": None if w is None else w.tolist()}
            else:
                d["samples"] = {"scores": [], "labels": [], "weights": None}
        else:
            h = acc._hist
            c = _used_cells(h)
            rep = h[c, 2]  # EMPTY here only if a kernel added weight without column 2
            d["cells"] = {
                "index": c.tolist(), "neg": h[c, 0].tolist(), "pos": h[c, 1].tolist(),
                # the one score seen in the cell, or None once it saw different scores
                "score": [float(r) if np.isfinite(r) else None for r in rep],
            }
    return d
