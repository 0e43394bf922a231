"""Streaming, mergeable AUROC: exact (keeps the scores) or in bounded memory
with a certified interval (a per-class histogram over fixed score cells).

The kernels and the state layout are in ``_kernels/streaming/auroc_hist.py``; this class
validates input, keeps the settings and serialises the state.
"""

import math
import numbers
import threading

import numpy as np

from ..core import validation as V
from ..core import errors as E
from .auroc_state import check_settings
from .._kernels.streaming import auroc_hist as KAH
from .._kernels import common as KC
from .shared import _Both, batch_exponent, new_exponent, read_only, scale_hist

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_U8 = np.dtype(np.uint8)
# label dtypes the kernel takes as they are; others become float64 (exact for 0/1)
_KERNEL_LABELS = frozenset((np.dtype(np.int64), _U8, _F64))
# bool and int8 are viewed as uint8 (an invalid int8 label stays invalid: -1 -> 255)
_AS_U8 = frozenset((np.dtype(np.bool_), np.dtype(np.int8)))
_FAST_LABELS = _KERNEL_LABELS | _AS_U8
# exact mode: concatenate the kept batches once this many have piled up
_COMPACT = 256


class AUROCAccumulator:
    """AUROC over a stream of batches, mergeable across batches, processes and machines.

    Parameters
    ----------
    exact : bool, default=False
        ``True`` keeps every score, label and weight (memory grows with the
        data) and :meth:`compute` returns exactly :func:`fastcal.auroc` of
        everything seen. ``False`` (default) keeps a fixed histogram of
        per-class weights over 188419 score cells (4.3 MiB whatever the
        stream length) and :meth:`bounds` says how far the estimate can be
        from the exact value.
    score_range : (float, float), optional
        Scores are expected in [0, 1] (probabilities, confidences). For
        scores on another bounded scale, ``(lo, hi)`` maps ``[lo, hi]``
        affinely onto the cells; a score outside it raises.
    transform : {"sigmoid"}, optional
        For logits and other unbounded scores: any finite score is accepted.
        Cells are ``2**-12`` (2.4e-4) wide for ``|score| < 16``, the
        resolution that cells on ``sigmoid(score)`` have there, and
        ``2**-10`` of ``|score|`` beyond, up to ``2**32`` (larger scores
        share the two end cells). The cell is computed with exact
        operations (no ``exp``), so the order of the scores is kept exactly
        and the interval stays certified.

    Attributes
    ----------
    n : int
        Number of samples seen (rows, whatever their weights).
    N_CELLS : int
        Cells per class of the bounded histogram (188419).

    Notes
    -----
    The AUROC is the Mann-Whitney statistic with ties counting 1/2
    (= :func:`fastcal.auroc` = ``sklearn.metrics.roc_auc_score``).

    Bounded mode. The histogram estimate counts each positive/negative pair
    in different cells exactly (the cell map is monotone) and a pair sharing
    a cell as 1/2. Each cell also remembers whether all its samples had one
    and the same score; pairs in a cell that saw two different scores are
    the only unknown ones (their true contribution is in [0, 1]), so the
    exact AUROC lies within ``+/- half_width = 1/2 * sum_cells pos * neg /
    (P * N)`` over those cells. The estimate is exact, and :meth:`bounds`
    returns ``(auc, auc)``, whenever no two distinct scores share a cell:
    in particular for all float16 values in [0, 1] and for scores rounded to
    3 or 4 decimals. Cells resolve a score relative to its distance to the
    nearer of 0 and 1: ``2**-12`` of that distance, down to ``2**-24``
    (5.96e-8); the widest cells are ``2**-14 = 6.1e-5`` wide (scores between
    0.25 and 0.75). Weights are float64: integer counts are exact up to
    2**53 per cell and never overflow; totals are summed with compensation.
    Weights are scale-free: the histogram holds them divided by a power of
    two (chosen from the first weighted batch, raised exactly when a later
    batch or a merged state needs it), so multiplying every weight by any
    factor from 1e-300 to 1e300 leaves the results unchanged (bitwise for a
    power of two).

    Merging (``a.merge(b)``, ``a + b``, ``a += b``, ``sum(parts)``) gives the
    state of one accumulator fed all the batches: bitwise for unweighted
    (integer) data, whatever the split and the order. ``update`` validates
    the whole batch before touching the state, so a failed update leaves the
    accumulator exactly as it was.

    Threads: one instance may be updated, merged, computed and serialised
    from several threads at once; a lock serialises the changes to the
    state (bounded mode: the whole histogram update; exact mode: the
    validation pass runs outside it), so the result equals some serial
    order of the updates (bitwise for unweighted data, whose histogram sums
    are integers).

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.streaming.auroc_accumulator import AUROCAccumulator
    >>> acc = AUROCAccumulator()
    >>> acc.update([0, 0, 1], [0.1, 0.4, 0.35]).update([1], [0.8]).compute()
    0.75
    >>> acc.bounds()
    (0.75, 0.75)
    >>> logits = AUROCAccumulator(transform="sigmoid")
    >>> logits.update([0, 1, 0, 1], [-3.0, 2.5, 0.2, 7.0]).compute()
    1.0

    Continuous scores share cells now and then; the interval says how much
    that can matter:

    >>> rng = np.random.default_rng(0)
    >>> s = rng.random(10_000); y = rng.random(10_000) < s
    >>> acc = AUROCAccumulator().update(y, s)
    >>> low, high = acc.bounds()
    >>> round(acc.compute(), 6), round(high - low, 6)
    (0.830593, 3.2e-05)
    >>> import fastcal
    >>> bool(low <= fastcal.auroc(y, s) <= high)
    True
    """

    # 2: weight_exp (the histogram's weights are scaled by 2**-weight_exp)
    _STATE_VERSION = 2
    N_CELLS = KAH.N_CELLS
    # A CalibrationAccumulator's AUROC state may still be receiving its last
    # batch's rows on a pool thread (streaming/accumulator_update.add_batch);
    # ``_hist`` waits for that first: every reader and writer of the histogram
    # goes through it, the background addition alone through ``_h``.
    _pending = None

    @property
    def _hist(self):
        if self._pending is not None:
            self._settle()
        return self._h

    @_hist.setter
    def _hist(self, h):
        if self._pending is not None:
            self._settle()
        self._h = h

    def _settle(self):
        """Wait for the histogram's background addition, if one is running."""
        f = self._pending
        if f is not None:
            f.result()
            if self._pending is f:
                self._pending = None

    def __init__(self, exact=False, *, score_range=None, transform=None):
        self._exact, self._score_range, self._transform = check_settings(
            exact, score_range, transform)
        self._lock = threading.RLock()
        if self._transform == "sigmoid":
            self._lo, self._hi, self._affine, self._logit = -math.inf, math.inf, None, True
        elif self._score_range is not None:
            self._lo, self._hi = self._score_range
            self._affine, self._logit = True, None
        else:
            self._lo, self._hi, self._affine, self._logit = 0.0, 1.0, None, None
        self.reset()

    # -- settings ------------------------------------------------------------
    exact = read_only("_exact")
    score_range = read_only("_score_range")
    transform = read_only("_transform")

    def _settings(self):
        return (self._exact, self._score_range, self._transform)

    def __repr__(self):
        return (f"AUROCAccumulator(exact={self._exact}, score_range={self._score_range!r}, "
                f"transform={self._transform!r})")

    # -- state ---------------------------------------------------------------
    def reset(self):
        """Forget every sample seen (the settings stay)."""
        with self._lock:
            self.n = 0
            self._wexp = 0  # bounded mode: the histogram holds weights * 2**-_wexp
            self._any_weight = False  # whether it holds any weight (None: look)
            if self._exact:
                self._hist = None
                self._scores, self._labels, self._weights = [], [], []
            else:
                self._hist = np.empty((KAH.N_CELLS, 3))
                self._hist[:, :2] = 0.0
                self._hist[:, 2] = KAH.EMPTY
                self._scores = self._labels = self._weights = None
        return self

    def update(self, y_true, y_score, *, sample_weight=None):
        """Add one batch.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            0/1 labels (bool, integers or floats exactly 0/1).
        y_score : array-like of shape (n,)
            Finite scores, higher meaning "more likely 1": in [0, 1] unless
            the accumulator was created with ``score_range`` or ``transform``.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights; weight k equals repeating the row k times.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On an invalid label, score or weight anywhere in the batch; the
            accumulator is then left exactly as it was.
        """
        w = sample_weight
        # fast path (hot loops): 1-D contiguous numpy input of the kernel's dtypes
        if (not self._exact and type(y_score) is np.ndarray and type(y_true) is np.ndarray
                and y_score.ndim == 1 and y_true.ndim == 1
                and (y_score.dtype is _F64 or y_score.dtype is _F32)
                and y_true.dtype in _FAST_LABELS and 0 < y_score.shape[0] == y_true.shape[0]
                and y_score.flags.c_contiguous and y_true.flags.c_contiguous
                and (w is None or (type(w) is np.ndarray and w.dtype is _F64 and w.ndim == 1
                                   and w.shape[0] == y_score.shape[0]
                                   and w.flags.c_contiguous))):
            y = y_true.view(_U8) if y_true.dtype in _AS_U8 else y_true
            with self._lock:  # the kernel adds into the shared histogram
                code, idx = self._hist_update(y, y_score, w)
            if code:
                self._raise(code, idx, y_true, y_score, w)
            return self
        y_score, _ = V.as_prob(y_score, "y_score", ndims=(1,))
        y_orig = V.as_labels(y_true)
        n = V.check_lengths(y_orig, y_score, "y_score")
        w = V.as_weight(sample_weight, n)
        if y_orig.dtype in _KERNEL_LABELS:
            y = y_orig
        elif y_orig.dtype in _AS_U8:
            y = y_orig.view(_U8)
        else:
            y = y_orig.astype(np.float64)
        y = np.ascontiguousarray(y)
        s = np.ascontiguousarray(y_score)
        if w is not None:
            w = np.ascontiguousarray(w)
        if not self._exact:
            with self._lock:
                code, idx = self._hist_update(y, s, w)
            if code:
                self._raise(code, idx, y_orig, y_score, w)
        else:
            code, idx = KAH.check(y, s, w, self._lo, self._hi)
            if code:
                self._raise(code, idx, y_orig, y_score, w)
            s = np.array(s, dtype=np.float64)
            y = (y != 0).view(_U8)
            w = None if w is None else np.array(w, dtype=np.float64)
            with self._lock:
                self._scores.append(s)
                self._labels.append(y)
                self._weights.append(w)
                if len(self._scores) >= _COMPACT:
                    self._compact()
                self.n += n
        return self

    def _hist_update(self, y, s, w):
        """Validate and add one batch to the histogram (under the lock), in
        the state's weight scale: the scale is the batch's own when nothing
        was added yet, and is raised (the histogram rescaled exactly) when
        the batch's weights need a larger one.  (code, index) of the kernel."""
        e, neutral = batch_exponent(w)
        E = self._wexp
        new = new_exponent(E, e, neutral, not self._weighty())
        if new != E and self._weighty():
            code, idx = KAH.check(y, s, w, self._lo, self._hi)  # the state changes only if valid
            if code:
                return code, idx
            scale_hist(self._hist, E - new)
        if new:
            w = np.full(s.shape[0], math.ldexp(1.0, -new)) if w is None else np.ldexp(w, -new)
        code, idx = KAH.update(self._hist, y, s, w, self._lo, self._hi, self._affine,
                              self._logit)
        if not code:
            self._wexp = new
            self.n += s.shape[0]
            if not neutral:
                self._any_weight = True
        return code, idx

    def _weighty(self):
        """Whether the histogram holds any weight (bounded mode)."""
        if self._any_weight is None:  # unknown after a load or merge: look
            self._any_weight = bool(self._hist[:, :2].any())
        return self._any_weight

    def _raise(self, code, idx, y_true, y_score, w):
        i = int(idx)
        if code == KC.BAD_PROB:
            v = E._f(y_score[i])
            at = {"param": "y_score", "index": i, "value": E._scalar(y_score[i])}
            terms = {"y_prob": "y_score", "at": f" at index {i}"}
            if self._score_range is None:
                raise E.input_error(
                    "{y_prob} must lie in [0, 1] (the accumulator's cells cover [0, 1]); found "
                    f"{v}{{at}}. For scores on another scale create the accumulator with "
                    "score_range=(lo, hi) (mapped affinely onto [0, 1]) or transform='sigmoid' "
                    "(order-preserving; for logits and unbounded scores).", terms, **at)
            lo, hi = self._score_range
            raise E.input_error(
                f"{{y_prob}} must lie in score_range=({lo!r}, {hi!r}); found {v}{{at}}. "
                "Widen score_range, or use transform='sigmoid' for unbounded scores.", terms,
                **at)
        E.raise_for_status(code, idx, y_true, y_score, w, prob_name="y_score")

    def _compact(self):
        if len(self._scores) > 1:
            weighted = any(w is not None for w in self._weights)
            s = np.concatenate(self._scores)
            y = np.concatenate(self._labels)
            w = None
            if weighted:
                w = np.concatenate([np.ones(a.shape[0]) if b is None else b
                                    for a, b in zip(self._scores, self._weights)])
            self._scores, self._labels, self._weights = [s], [y], [w]

    # -- results -------------------------------------------------------------
    def compute(self):
        """AUROC of everything seen: exact, or the histogram estimate (see :meth:`bounds`).

        NaN with an ``UndefinedMetricWarning`` while one class (or none) has been seen.
        """
        if self._exact:
            return self._exact_auc()
        with self._lock:
            auc, _ = KAH.hist_auroc(self._hist)
        if math.isnan(auc):
            self._warn()
        return float(auc)

    def bounds(self):
        """Certified interval ``(low, high)`` that contains the exact AUROC of
        everything seen; ``(auc, auc)`` in exact mode and whenever no two
        distinct scores shared a histogram cell.

        (NaN, NaN) with an ``UndefinedMetricWarning`` while one class has been seen.
        """
        if self._exact:
            a = self._exact_auc()
            return a, a
        with self._lock:
            auc, lo, hi = KAH.hist_bounds(self._hist)
        if math.isnan(auc):
            self._warn()
        return float(lo), float(hi)

    def _warn(self):
        E.warn_undefined(
            "Only one class has been seen (or all weight is on one class): AUROC is not "
            "defined; returning nan.")

    def _exact_auc(self):
        from ..metrics.scores import auroc_from_labels

        with self._lock:  # the kept arrays are never modified in place: use them unlocked
            self._compact()
            kept = (self._scores[0], self._labels[0], self._weights[0]) if self._scores else None
        if kept:
            s, y, w = kept
            pos = y.astype(bool)
            if w is None:
                both = 0 < np.count_nonzero(pos) < y.shape[0]
            else:
                both = w[pos].sum() > 0 and w[~pos].sum() > 0
            if both:
                return float(auroc_from_labels(s, y, w))
        self._warn()
        return float("nan")

    # -- merging -------------------------------------------------------------
    def merge(self, other):
        """Add the samples of ``other`` (same settings) to this accumulator; returns self."""
        if not isinstance(other, AUROCAccumulator):
            raise TypeError(
                f"can only merge an AUROCAccumulator with another; found {type(other).__name__}.")
        if self._settings() != other._settings():
            diff = ", ".join(f"{k}={a!r} vs {b!r}" for k, a, b in zip(
                ("exact", "score_range", "transform"), self._settings(), other._settings())
                if a != b)
            raise ValueError(
                f"cannot merge {self!r} with {other!r}: the settings differ ({diff}). Create "
                "both accumulators with the same exact, score_range and transform.")
        with _Both(self, other):
            if self._exact:
                s, y, w = list(other._scores), list(other._labels), list(other._weights)
                self._scores += s
                self._labels += y
                self._weights += w
                if len(self._scores) >= _COMPACT:
                    self._compact()
            else:
                src = other._hist
                mine, theirs = self._wexp, other._wexp
                to = new_exponent(mine, theirs, not other._weighty(), not self._weighty())
                if mine != to:
                    scale_hist(self._hist, mine - to)
                if theirs != to:
                    src = src.copy()
                    scale_hist(src, theirs - to)
                KAH.merge_into(self._hist, src)
                self._wexp = to
                self._any_weight = self._any_weight or other._any_weight
            self.n += other.n
        return self

    def copy(self):
        """An independent copy."""
        new = object.__new__(type(self))
        with self._lock:
            new.__dict__.update(self.__dict__)
            if self._exact:  # the kept arrays are never modified in place: share them
                new._scores, new._labels = list(self._scores), list(self._labels)
                new._weights = list(self._weights)
            else:
                new._hist = self._hist.copy()
        new._lock = threading.RLock()
        return new

    def __add__(self, other):
        if not isinstance(other, AUROCAccumulator):
            return NotImplemented
        return self.copy().merge(other)

    def __radd__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # sum(parts) starts from 0
            return self.copy()
        return NotImplemented

    def __iadd__(self, other):
        if not isinstance(other, AUROCAccumulator):
            return NotImplemented
        return self.merge(other)

    # -- serialisation -------------------------------------------------------
    def _state(self):
        """Plain-Python state: settings, n, and the data as little-endian bytes."""
        from .auroc_state import plain_state

        return plain_state(self)

    def __getstate__(self):
        return (self._STATE_VERSION, self._state())

    def __setstate__(self, state):
        from .auroc_state import load_pickled

        obj = load_pickled(type(self), state)
        self.__dict__.clear()
        self.__dict__.update(obj.__dict__)

    def to_dict(self):
        """JSON-serialisable state: settings, and the histogram stored sparsely
        (indices of the non-empty cells and their values) or the kept samples.

        Examples
        --------
        >>> import json
        >>> from fastcal.streaming.auroc_accumulator import AUROCAccumulator
        >>> acc = AUROCAccumulator().update([0, 1, 1], [0.2, 0.9, 0.9])
        >>> d = acc.to_dict()
        >>> d["cells"]["neg"], d["cells"]["pos"], d["cells"]["score"]
        ([1.0, 0.0], [0.0, 2.0], [0.2, 0.9])
        >>> AUROCAccumulator.from_dict(json.loads(json.dumps(d))).compute()
        1.0
        """
        from .auroc_state import dict_state

        return dict_state(self)

    @classmethod
    def from_dict(cls, d):
        """Rebuild an accumulator from :meth:`to_dict` output.

        Every value is checked (settings, counts, lengths, cell indices, that
        each remembered score lies in its cell); an invalid one raises
        ``ValueError`` naming the field.
        """
        from .auroc_state import load_dict

        return load_dict(cls, d)


