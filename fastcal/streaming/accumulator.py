"""Streaming calibration: an accumulator of binned sufficient statistics that
merges (docs/design.md, section 4).

State is a few fixed-size float64 arrays (per bin: weight, weight x
confidence, weight x correct; the Brier and NLL sums), kept as double-double
sums, times 2**-weight_exp (weights are scale-free); an update is one pass of
the functional API's own kernel over the batch (validation and per-row
values), whose rows are then added with compensation (``_accumulate``).
"""

import contextlib
import math
import threading

import numpy as np

from . import accumulator_state as _states
from . import accumulator_update as _updates
from . import small_batch as _small_path
from .._kernels.streaming import accumulate as KA
from .._kernels.streaming import auroc_hist as KAH
from ..core import errors as E
from ..core import validation as V
from ..metrics.report import report_from_stats
from .auroc_accumulator import AUROCAccumulator
from .shared import (
    _AUROC_MODES,
    _AUROC_TEXT,
    _PARALLEL_MIN,
    _Both,
    _check_half_life,
    _nll_text,
    check_layout,
    read_only,
)

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_FAST_LABELS = frozenset(np.dtype(t) for t in (np.int64, np.int32, np.uint8, np.int8,
                                               np.float64, np.float32, np.bool_))
_NO_LOCK = contextlib.nullcontext()
_ND = np.ndarray
_NOT_TAKEN = KA.NOT_TAKEN
class CalibrationAccumulator:
    """Streaming, mergeable calibration gauges in memory independent of the data.

    Feed batches with :meth:`update`; :meth:`compute` returns the same
    :class:`~fastcal.CalibrationReport` as :func:`fastcal.calibration_report`
    on all the data seen (equal up to float64 rounding of the sums: the
    accumulator's running sums are double-double, so they are at least as
    accurate). Accumulators of the same settings merge (``a + b``, ``a += b``,
    ``sum(parts)``), so shards of a dataset can be reduced in any order, on
    any machine.

    Parameters
    ----------
    n_bins : int, default=15
        Number of uniform bins on [0, 1] (quantile bins need all the data; use
        :func:`fastcal.calibration_report`).
    right : bool, default=True
        Right-closed bins (see :func:`fastcal.calibration_error`).
    classwise : bool, default=False
        Multiclass only: the binned errors and the curve are classwise (see
        :func:`fastcal.calibration_report`).
    auroc : {"bounded", "exact"} or None, default="bounded"
        AUROC of confidence against correctness. ``"bounded"`` keeps a
        fixed histogram over 188419 confidence cells per outcome (4.3 MiB):
        the report's ``auroc_bounds`` certify where the exact value lies, and
        the estimate is exact whenever no two distinct confidences share a
        cell (see :class:`~fastcal.AUROCAccumulator`). ``"exact"`` keeps
        every confidence (memory grows with the stream). ``None`` skips it
        (NaN in the report; the state is then a few hundred bytes).
    n_resamples, random_state, stream, ci : optional
        With ``n_resamples`` (e.g. 1000) the accumulator also keeps a Poisson
        bootstrap replicate state (``(3 n_bins + 2) x n_resamples`` float64,
        376 KB for 15 bins x 1000) and ``compute()`` fills
        ``report.intervals`` with ``ci`` percentile intervals, the same as
        :func:`fastcal.calibration_report` with ``ci`` on all the data (same
        ``random_state``; up to summation order). Shards to be merged need the
        same integer ``random_state`` and distinct ``stream`` ids. Not with
        ``half_life``.
    half_life : float, optional
        Exponential forgetting for drift monitoring: a sample ``half_life``
        samples older than the newest counts half as much. ``compute()`` then
        equals the functional report with ``sample_weight = 0.5 ** (age /
        half_life)`` (age 0 for the newest sample). At least ``1e-3``.

    Notes
    -----
    The layout (binary ``y_prob`` of shape (n,) or top-label (n, C)) and the
    number of classes are fixed by the first update; later batches must
    match. ``from_logits`` may differ between batches (the report's
    convention then says which NLL rules were mixed).

    Weights are scale-free: multiplying every weight by a factor from 1e-300
    to 1e300 changes no gauge, AUROC or interval (bitwise for a power of two),
    whatever the batch split and the merges; the state keeps the weight sums
    divided by a power of two (``weight_exp`` in :meth:`to_dict`), and the
    report's weight sums are in the caller's units.

    Threads: one accumulator may be updated (and merged, computed, copied,
    pickled) from several threads at once. A batch's compiled pass runs
    outside the accumulator's lock, into per-call partial sums that are
    added under it; small binary batches (under 65536 rows), decayed
    accumulators (``half_life``) and the AUROC histogram are updated under
    the lock. The result equals some serial order of the batches: counts
    exactly, sums up to float64 rounding (the order of the additions
    differs), and the bootstrap replicates depend on that order (the rows
    are numbered as they arrive).

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(10_000); y = (rng.random(10_000) < p).astype(int)
    >>> acc = fastcal.CalibrationAccumulator(n_bins=10)
    >>> for lo in range(0, 10_000, 1_000):
    ...     _ = acc.update(y[lo:lo + 1_000], p[lo:lo + 1_000])
    >>> r = acc.compute()
    >>> bool(np.isclose(r.ece, fastcal.ece(y, p, n_bins=10), rtol=1e-12))
    True
    >>> a, b = fastcal.CalibrationAccumulator(10), fastcal.CalibrationAccumulator(10)
    >>> merged = a.update(y[:5000], p[:5000]) + b.update(y[5000:], p[5000:])
    >>> merged.n, abs(merged.compute().ece - r.ece) < 1e-15
    (10000, True)
    """

    def __init__(self, n_bins=15, *, right=True, classwise=False, auroc="bounded",
                 half_life=None, n_resamples=None, random_state=None, stream=0, ci=0.95):
        self._n_bins = V.check_n_bins(n_bins)
        if auroc is not None and auroc is not False:
            V.check_choice(auroc, "auroc", _AUROC_MODES)
        self._auroc = auroc or None
        self._right = bool(right)
        self._classwise = bool(classwise)
        if half_life is not None:
            half_life = _check_half_life(half_life)
            if self._auroc == "exact":
                raise ValueError(
                    "auroc='exact' keeps every sample and cannot forget; with half_life use "
                    "auroc='bounded' (or None).")
        self._half_life = half_life
        self._edges = V.uniform_edges(self._n_bins)
        self._boot_settings = None
        if n_resamples is not None:
            from ..uncertainty.bootstrap import check_ci, check_n_resamples, seed_from

            if half_life is not None:
                raise ValueError("n_resamples (bootstrap intervals) cannot be combined with "
                                 "half_life: the replicates cannot forget.")
            self._boot_settings = {"n_resamples": check_n_resamples(n_resamples),
                                   "seed": int(seed_from(random_state)),
                                   "stream": int(stream), "ci": check_ci(ci)}
        self._lock = threading.RLock()
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self):
        """Forget everything seen (the settings stay)."""
        with self._lock:
            self._layout = None  # "binary" / "top-label" once the first batch arrives
            self._n_classes = None
            self._dd = self._hi = self._lo = None  # _dd (2, size): its rows _hi and _lo
            self._n = 0
            self._wexp = 0  # the state holds the weight sums times 2**-_wexp
            self._weighted = False
            self._nll_modes = set()
            self._t = 0.0  # decayed mode: samples since the weight reference
            self._auc = (None if self._auroc is None
                         else AUROCAccumulator(exact=self._auroc == "exact"))
            self._boot = self._new_boot()
            self._small_ok = self._small_path_ok()
            _small_path.plan(self)
        return self

    # compiling ahead on a cold cache (the command line): streaming/accumulator_update.py
    _compile_ahead = _updates.compile_ahead
    _compile_compute = _updates.compile_compute

    def _small_path_ok(self):
        """Settings under which small binary batches take the fused one-call path."""
        return self._half_life is None and self._auroc != "exact" and self._boot_settings is None

    def _new_boot(self):
        bs = self._boot_settings
        if bs is None:
            return None
        from ..uncertainty.bootstrap import BootstrapState

        return BootstrapState(self._edges[0], n_resamples=bs["n_resamples"],
                              random_state=bs["seed"], stream=bs["stream"], right=self._right)

    def _settings(self):
        d = {"n_bins": self._n_bins, "right": self._right, "classwise": self._classwise,
             "auroc": self._auroc, "half_life": self._half_life}
        if self._boot_settings is not None:  # only then: older states stay comparable
            bs = self._boot_settings
            d.update(n_resamples=bs["n_resamples"], random_state=bs["seed"], ci=bs["ci"])
        return d

    def _describe(self):
        s = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        if self._layout is not None:
            s += f", layout={self._layout!r}"
            if self._layout != "binary":
                s += f", n_classes={self._n_classes}"
        return f"CalibrationAccumulator({s})"

    def __repr__(self):
        return f"{self._describe()[:-1]}, n={self._n})"

    n_bins = read_only("_n_bins")
    right = read_only("_right")
    classwise = read_only("_classwise")
    half_life = read_only("_half_life")
    layout = read_only("_layout", '``"binary"``, ``"top-label"``, or None before the first update.')
    n_classes = read_only("_n_classes")
    n = read_only("_n", "Number of samples seen.")

    _fix_layout = check_layout

    def _size(self, n_classes):
        size = 3 * self._n_bins + 2
        if self._classwise:
            size += n_classes * 3 * self._n_bins
        return size

    def _alloc(self, layout, n_classes):
        self._dd = np.zeros((2, self._size(n_classes)))
        self._hi, self._lo = self._dd
        self._layout = layout
        self._n_classes = n_classes

    # ----------------------------------------------------------------- update
    # the batch's passes and their addition into the state: streaming/accumulator_update.py
    _update = _updates.update_batch
    _add_batch = _updates.add_batch
    _rescale = _updates.rescale
    _decay_weights = _updates.decay_weights

    def update(self, y_true, y_prob, *, from_logits=False, sample_weight=None,
               ignore_index=None):
        """Add a batch; returns ``self``.

        Parameters are those of :func:`fastcal.calibration_report` (token
        input (..., C) with labels (...), float16/bfloat16, ``ignore_index``
        for padding). A batch that fails validation raises and leaves the
        state unchanged.
        """
        small = self._small  # the one-call path of small binary batches, when it applies
        if (small is not None and type(y_prob) is _ND and type(y_true) is _ND
                and sample_weight is None and ignore_index is None
                and y_prob.ndim == 1 and y_true.ndim == 1):
            L = True if from_logits else None
            yd = y_true.dtype
            code = _NOT_TAKEN
            if small[8] is y_prob.dtype and small[7] is yd and small[9] is L:
                # the dtypes of the last batch: its kernel's entry point takes them (and
                # checks the lengths and strides)
                if yd is not _I64:
                    y_true = V.kernel_labels(y_true)
                lock = self._lock
                lock.acquire()  # the kernel adds into the state (a small batch: a short hold)
                try:
                    if small is self._small:  # (no reset() or merge in between)
                        dd, hist, ws, edges, right, _, auc, _, _, _, kernel = small
                        code, idx = kernel(y_true, y_prob, dd, hist, ws, edges, right, L)
                        if not code:
                            n = len(y_prob)
                            if auc is not None:
                                auc.n += n
                            self._n += n
                            return self
                finally:
                    lock.release()
            n = len(y_prob)
            if (code == _NOT_TAKEN and 0 < n < _PARALLEL_MIN and len(y_true) == n
                    and (y_prob.dtype is _F64 or y_prob.dtype is _F32)
                    and (yd is _I64 or yd in _FAST_LABELS)
                    and y_true.flags.c_contiguous and y_prob.flags.c_contiguous):
                y_true = V.kernel_labels(y_true)
                with self._lock:
                    if small is self._small:
                        code, idx = _small_path.first(self, yd, y_true, y_prob, L, n)
                        if not code:
                            return self
            if code > 0:
                E.raise_for_status(code, idx, y_true, y_prob)
        x = V.prepare(y_true, y_prob, sample_weight, tokens=True)
        IG = None if ignore_index is None else V.check_ignore_index(ignore_index, x.p)
        keep = None
        kept = x.n
        if IG is not None:
            keep = x.y != IG
            kept = int(np.count_nonzero(keep))
        layout, C = ("binary", None) if x.binary else ("top-label", x.n_classes)
        if self._classwise and layout == "binary":
            raise ValueError(
                "a classwise accumulator needs y_prob of shape (n, C); a 1-D y_prob is already "
                "the binary problem of class 1. Use CalibrationAccumulator(classwise=False).")
        if self._classwise and IG is not None:
            raise ValueError("ignore_index is not supported with classwise=True; drop the "
                             "ignored rows first.")
        self._fix_layout(layout, C)
        # Decayed: the weights depend on the clock, so the whole update holds
        # the lock; otherwise the passes below run unlocked into this call's
        # own arrays and only the additions into the state hold it.
        with (self._lock if self._half_life is not None else _NO_LOCK):
            return self._update(x, IG, keep, kept, layout, C, from_logits)

    def _sums(self):
        s = self._hi + self._lo
        nb = self._n_bins
        cw = s[3 * nb + 2:].reshape(-1, 3, nb) if self._classwise else None
        return s[:3 * nb].reshape(3, nb), s[3 * nb:3 * nb + 2], cw

    def compute(self):
        """The :class:`~fastcal.CalibrationReport` of everything seen."""
        with self._lock:
            return self._compute()

    def _compute(self):
        if self._hi is None:
            raise ValueError("the accumulator is empty: call update() with at least one sample "
                             "before compute().")
        if not self._n:  # batches came, but every row had the ignored label
            raise E.all_ignored_error()
        bins, scores, cw = self._sums()
        if self._half_life is not None and self._n:
            # report weights in units where the newest sample weighs 1 (with
            # no sample kept yet every weight is 0 and there is no newest)
            f = math.exp2(-(self._t - 1) / self._half_life)
            bins, scores = bins * f, scores * f
            cw = None if cw is None else cw * f
        conv = {
            "target": (self._layout if not self._classwise else
                       "classwise (binned errors); top-label (accuracy, confidence, AUROC)"),
            "n_bins": self._n_bins,
            "strategy": "uniform",
            "closed": "right" if self._right else "left",
            "edges": "np.linspace(0, 1, n_bins + 1)",
            "nll": _nll_text(self._nll_modes),
            "auroc": _AUROC_TEXT[self._auroc],
            "brier": ("mean sum_k (p_k - [y == k])^2" if self._layout != "binary"
                      else "mean (p - y)^2"),
        }
        if self._half_life is not None:
            conv["weights"] = (f"exponential forgetting: 0.5 ** (age / {self._half_life!r}), "
                               "newest sample weight 1")
        edges = V.uniform_edges(self._n_bins)[0]
        auc, lo, hi = self._auroc_bounds()
        r = report_from_stats(self._n, bins, scores, edges,
                              self._weighted or self._half_life is not None, conv,
                              auc, (lo, hi), classwise_bins=cw, classwise_edges=edges,
                              weight_exp=self._wexp)
        if self._boot is not None:
            bs = self._boot_settings
            r.intervals = self._boot.intervals(bs["ci"])
            conv["intervals"] = (f"{bs['ci']:g} percentile intervals of a Poisson bootstrap "
                                 f"({bs['n_resamples']} replicates, streamed)")
        return r

    def _auroc_bounds(self):
        nan = float("nan")
        if self._auroc is None:
            return nan, nan, nan
        if self._auroc == "exact":
            auc = self._auc.compute()  # warns when only one class was seen
            return auc, auc, auc
        auc, lo, hi = KAH.hist_bounds(self._auc._hist)
        if math.isnan(auc):
            E.warn_undefined(
                "Only one outcome has been seen (all correct, all wrong, or all weight on "
                "one): AUROC is not defined; returning nan.")
        return auc, lo, hi

    # ------------------------------------------------------------------ merge
    # the compatibility check and the addition of another state: accumulator_state.py
    _check_compatible = _states.check_compatible
    _merge = _states.merge_into

    def merge(self, other):
        """Add ``other``'s state into this one (in place); returns ``self``."""
        if not isinstance(other, CalibrationAccumulator):
            self._check_compatible(other)
        with _Both(self, other):
            return self._merge(other)

    def copy(self):
        import copy

        return copy.deepcopy(self)

    def __iadd__(self, other):
        return self.merge(other)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self.copy()
        self._check_compatible(other)
        return self.copy().merge(other)

    def __radd__(self, other):
        if isinstance(other, int) and other == 0:
            return self.copy()
        return NotImplemented

    # ------------------------------------------------------- persistence
    def __getstate__(self):
        return self.to_dict(_arrays=True)

    def __setstate__(self, state):
        self._load(state, pickled=True)

    def to_dict(self, _arrays=False):
        """JSON-serialisable state (versioned); :meth:`from_dict` restores it."""
        from .accumulator_state import state_dict

        with self._lock:
            return state_dict(self, _arrays)

    @classmethod
    def from_dict(cls, d):
        """Rebuild an accumulator from :meth:`to_dict` output.

        Every value is checked as the constructor and :meth:`update` check
        theirs (version, settings, counts, sums, lengths, the AUROC and
        bootstrap states); an invalid one raises ``ValueError`` naming the
        field.
        """
        obj = cls.__new__(cls)
        obj._load(d)
        return obj

    def _load(self, d, pickled=False):
        from .accumulator_state import load_into

        self._lock = threading.RLock()
        load_into(self, d, pickled)
        self._small_ok = self._small_path_ok()
        _small_path.plan(self)
