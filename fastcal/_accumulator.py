"""Streaming calibration: an accumulator of binned sufficient statistics that
merges (DESIGN.md section 4).

State is a few fixed-size float64 arrays (per bin: weight, weight x
confidence, weight x correct; the Brier and NLL sums), kept as double-double
sums; an update is one pass of the functional API's own kernel over the batch.
"""

import math

import numpy as np

from . import _core
from . import _validation as V
from ._auroc_accumulator import AUROCAccumulator
from ._kernels import _accumulate as A
from ._kernels import _auroc_hist as KH
from ._kernels import _binned as B
from ._kernels._common import CHUNK
from ._report import CalibrationReport, report_from_stats

# 2: optional bootstrap replicate state (version-1 states still load)
_STATE_VERSION = 2
_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_EPS = {_F64: V.eps_for(_F64), _F32: V.eps_for(_F32)}
_MODE = {_F64: "float64", _F32: "float32"}
_FAST_LABELS = frozenset(np.dtype(t) for t in (np.int64, np.int32, np.uint8, np.int8,
                                               np.float64, np.float32, np.bool_))
# Decayed mode: weights grow as 2 ** (t / half_life); the state is rescaled by
# an exact power of two once the exponent passes this many half-lives.
_RENORM_HALF_LIVES = 256
_AUROC_MODES = ("bounded", "exact")
# Batches from this many elements on use both cores: two chunks, one per core
# (streams typically arrive in batches of 2**16).
_PARALLEL_MIN = 2 * CHUNK
_AUROC_TEXT = {
    None: "not computed (auroc=None)",
    "exact": "exact Mann-Whitney, ties count 1/2 (every confidence kept)",
    "bounded": (f"histogram of {KH.N_CELLS} confidence cells per outcome (bounded memory); "
                "ties within a cell count 1/2, auroc_bounds certify the exact value"),
}


def _nll_mode(from_logits, src):
    if from_logits:
        return "logits"
    return str(np.dtype(src))


def _nll_text(modes):
    parts = []
    for m in sorted(modes):
        if m == "logits":
            parts.append("exact from logits (logsumexp - z_y), no clipping")
        else:
            parts.append(f"probabilities clipped to [eps, 1 - eps], eps = {V.eps_for(m)!r} "
                         f"({m} machine epsilon)")
    if len(parts) == 1:
        return parts[0]
    return "mixed batches: " + "; ".join(parts)


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
        half_life)`` (age 0 for the newest sample).

    Notes
    -----
    The layout (binary ``y_prob`` of shape (n,) or top-label (n, C)) and the
    number of classes are fixed by the first update; later batches must
    match. ``from_logits`` may differ between batches (the report's
    convention then says which NLL rules were mixed).

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
            hl = float(half_life) if isinstance(half_life, (int, float, np.number)) else None
            if hl is None or not (hl > 0 and math.isfinite(hl)):
                raise ValueError(
                    f"half_life must be a positive number of samples or None; found {half_life!r}.")
            half_life = hl
            if self._auroc == "exact":
                raise ValueError(
                    "auroc='exact' keeps every sample and cannot forget; with half_life use "
                    "auroc='bounded' (or None).")
        self._half_life = half_life
        self._edges = V.uniform_edges(self._n_bins)
        self._boot_settings = None
        if n_resamples is not None:
            from ._bootstrap import check_ci, check_n_resamples, seed_from

            if half_life is not None:
                raise ValueError("n_resamples (bootstrap intervals) cannot be combined with "
                                 "half_life: the replicates cannot forget.")
            self._boot_settings = {"n_resamples": check_n_resamples(n_resamples),
                                   "seed": int(seed_from(random_state)),
                                   "stream": int(stream), "ci": check_ci(ci)}
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self):
        """Forget everything seen (the settings stay)."""
        self._layout = None  # "binary" / "top-label" once the first batch arrives
        self._n_classes = None
        self._hi = None
        self._lo = None
        self._n = 0
        self._weighted = False
        self._nll_modes = set()
        self._t = 0.0  # decayed mode: samples since the weight reference
        self._auc = (None if self._auroc is None
                     else AUROCAccumulator(exact=self._auroc == "exact"))
        self._boot = self._new_boot()
        self._scratch = None  # per-row scratch of the small-batch path (never serialised)
        self._small_ok = self._small_path_ok()
        return self

    def _small_path_ok(self):
        """Settings under which small binary batches take the fused one-call path."""
        return self._half_life is None and self._auroc != "exact" and self._boot_settings is None

    def _new_boot(self):
        bs = self._boot_settings
        if bs is None:
            return None
        from ._bootstrap import BootstrapState

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

    @property
    def n_bins(self):
        return self._n_bins

    @property
    def right(self):
        return self._right

    @property
    def classwise(self):
        return self._classwise

    @property
    def half_life(self):
        return self._half_life

    @property
    def layout(self):
        """``"binary"``, ``"top-label"``, or None before the first update."""
        return self._layout

    @property
    def n_classes(self):
        return self._n_classes

    @property
    def n(self):
        """Number of samples seen."""
        return self._n

    def _fix_layout(self, layout, n_classes):
        if self._layout is None:
            return
        if layout != self._layout or n_classes != self._n_classes:
            have = ("binary y_prob of shape (n,)" if self._layout == "binary"
                    else f"y_prob of shape (n, {self._n_classes})")
            got = ("binary y_prob of shape (n,)" if layout == "binary"
                   else f"y_prob of shape (n, {n_classes})")
            raise ValueError(
                f"this accumulator holds {have}; the batch has {got}. "
                "Use one accumulator per kind of input.")

    def _size(self, n_classes):
        size = 3 * self._n_bins + 2
        if self._classwise:
            size += n_classes * 3 * self._n_bins
        return size

    def _alloc(self, layout, n_classes):
        size = self._size(n_classes)
        self._hi = np.zeros(size)
        self._lo = np.zeros(size)
        self._layout = layout
        self._n_classes = n_classes

    # ----------------------------------------------------------------- update
    def update(self, y_true, y_prob, *, from_logits=False, sample_weight=None,
               ignore_index=None):
        """Add a batch; returns ``self``.

        Parameters are those of :func:`fastcal.calibration_report` (token
        input (..., C) with labels (...), float16/bfloat16, ``ignore_index``
        for padding). A batch that fails validation raises and leaves the
        state unchanged.
        """
        edges = self._edges
        R = True if self._right else None
        L = True if from_logits else None
        # fast path: 1-D numpy float input, no weights, not decayed
        if (type(y_prob) is np.ndarray and type(y_true) is np.ndarray and y_prob.ndim == 1
                and y_true.ndim == 1 and (y_prob.dtype is _F64 or y_prob.dtype is _F32)
                and y_true.dtype in _FAST_LABELS and sample_weight is None
                and ignore_index is None and self._small_ok and self._layout == "binary"
                and 0 < y_prob.shape[0] == y_true.shape[0] < _PARALLEL_MIN):
            if y_true.dtype == np.bool_:
                y_true = y_true.view(np.uint8)
            src = y_prob.dtype
            n = y_prob.shape[0]
            if self._auc is None:
                code, idx = A.binary_update(y_true, y_prob, None, edges, R, L, _EPS[src], True,
                                            self._hi, self._lo, None, None, None)
            else:
                sc = self._scratch
                if sc is None or sc[0] != n:  # reused: no allocation per small update
                    sc = self._scratch = (n, np.empty(n), np.empty(n, np.bool_))
                code, idx = A.binary_update(y_true, y_prob, None, edges, R, L, _EPS[src], True,
                                            self._hi, self._lo, sc[1], sc[2], self._auc._hist)
            if code:
                V.raise_for_status(code, idx, y_true, y_prob)
            if self._auc is not None:
                self._auc.n += n
            self._n += n
            self._nll_modes.add("logits" if L else _MODE[src])
            return self
        y_true, y_prob, w, n, src = _core.prepare(y_true, y_prob, sample_weight, tokens=True)
        IG = None if ignore_index is None else V.check_ignore_index(ignore_index, y_prob)
        keep = None
        kept = n
        if IG is not None:
            keep = y_true != IG
            kept = int(np.count_nonzero(keep))
        if y_prob.ndim == 1:
            layout, C = "binary", None
        else:
            layout, C = "top-label", y_prob.shape[1]
        if self._classwise and layout == "binary":
            raise ValueError(
                "a classwise accumulator needs y_prob of shape (n, C); a 1-D y_prob is already "
                "the binary problem of class 1. Use CalibrationAccumulator(classwise=False).")
        self._fix_layout(layout, C)
        weighted = w is not None
        shift = 0
        if self._half_life is not None:
            shift, w = self._decay_weights(n, w, keep)
        eps = V.eps_for(src)
        conf = corr = terms = None
        if self._auc is not None or self._boot is not None:
            conf, corr = np.empty(n), np.empty(n, np.bool_)
        if self._boot is not None:
            terms = np.empty((n, 2))
        if layout == "binary":
            code, idx, bins, sc = _core.run(
                B.binary_stats, B.binary_stats_parallel, n, y_true, y_prob, w, edges, True,
                R, L, True, eps, True, conf, corr, terms, min_work=_PARALLEL_MIN)
        else:
            K, shift_, mask, one = V.keys(y_prob, src)
            tab = V.table_for(y_prob, src)
            tol = V.row_sum_tol(src, C)
            code, idx, bins, sc = _core.run(
                B.toplabel_stats, B.toplabel_stats_parallel, n * C, y_true, y_prob, K, shift_,
                mask, one, tab, w, edges, True, R, L, True, eps, tol, True, IG, conf, corr,
                terms, min_work=_PARALLEL_MIN)
        V.raise_for_status(code, idx, y_true, y_prob, w, ignore_index=IG, src=src)
        cw = None
        if self._classwise:  # validated above: the second pass checks nothing
            if IG is not None:
                raise ValueError("ignore_index is not supported with classwise=True; drop the "
                                 "ignored rows first.")
            code, idx, cw, _ = _core.run(
                B.classwise_stats, B.classwise_stats_parallel, n * C, y_true, y_prob, K, shift_,
                mask, one, tab, w, edges, True, R, L, tol, None, min_work=_PARALLEL_MIN)
        if keep is not None:
            if conf is not None and kept < n:
                conf, corr = conf[keep], corr[keep]
                w = None if w is None else w[keep]
                terms = None if terms is None else terms[keep]
        # valid: from here on nothing can fail
        if self._hi is None:
            self._alloc(layout, C)
        if shift:
            f = math.ldexp(1.0, -shift)
            A.scale_state(self._hi, self._lo, f)
            if self._auc is not None:
                self._auc._hist[:, :2] *= f
            self._t -= shift * self._half_life
        A.add_batch(self._hi, self._lo, bins, sc)
        if self._auroc == "bounded":
            A.hist_scatter(self._auc._hist, conf, corr, w)
            self._auc.n += kept
        elif self._auroc == "exact" and kept:
            self._auc.update(corr, conf, sample_weight=w)
        if cw is not None:
            A.two_sum_into(self._hi, self._lo, cw.reshape(-1), 3 * self._n_bins + 2)
        self._n += kept
        self._weighted |= weighted
        self._nll_modes.add(_nll_mode(from_logits, src))
        if self._boot is not None and kept:
            self._boot.update(conf, corr, terms, w)
        if self._half_life is not None:
            self._t += kept
        return self

    def _decay_weights(self, n, w, keep=None):
        """(shift, weights): the batch's row weights 2 ** ((t + i) / half_life)
        (times the user's) after the state is scaled by 2 ** -shift, which
        keeps every exponent at most ``_RENORM_HALF_LIVES``. ``i`` counts the
        kept rows only (ignored rows neither age the stream nor weigh)."""
        h = self._half_life
        m = n if keep is None else int(np.count_nonzero(keep))
        shift = max(0, math.ceil((self._t + m) / h - _RENORM_HALF_LIVES))
        t = self._t - shift * h
        i = np.arange(n, dtype=np.float64) if keep is None else np.cumsum(keep) - 1.0
        d = np.exp2((t + i) / h)
        return shift, (d if w is None else d * w)

    # ---------------------------------------------------------------- compute
    def _sums(self):
        s = self._hi + self._lo
        nb = self._n_bins
        cw = s[3 * nb + 2:].reshape(-1, 3, nb) if self._classwise else None
        return s[:3 * nb].reshape(3, nb), s[3 * nb:3 * nb + 2], cw

    def compute(self):
        """The :class:`~fastcal.CalibrationReport` of everything seen."""
        if self._hi is None:
            raise ValueError("the accumulator is empty: call update() with at least one sample "
                             "before compute().")
        bins, scores, cw = self._sums()
        if self._half_life is not None:
            # report weights in units where the newest sample weighs 1
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
                              auc, (lo, hi), classwise_bins=cw, classwise_edges=edges)
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
        auc, lo, hi = KH.hist_bounds(self._auc._hist)
        if math.isnan(auc):
            V.warn_undefined(
                "Only one outcome has been seen (all correct, all wrong, or all weight on "
                "one): AUROC is not defined; returning nan.")
        return auc, lo, hi

    # ------------------------------------------------------------------ merge
    def _check_compatible(self, other):
        if not isinstance(other, CalibrationAccumulator):
            raise TypeError(f"cannot merge a CalibrationAccumulator with {type(other).__name__}.")
        bad = [k for k, v in self._settings().items() if other._settings()[k] != v]
        if (self._layout is not None and other._layout is not None
                and (self._layout, self._n_classes) != (other._layout, other._n_classes)):
            bad.append("layout")
        if bad:
            raise ValueError(
                f"cannot merge {self._describe()} with {other._describe()}: "
                f"{', '.join(bad)} differ{'s' if len(bad) == 1 else ''}.")

    def merge(self, other):
        """Add ``other``'s state into this one (in place); returns ``self``."""
        self._check_compatible(other)
        if other._hi is None:
            return self
        ohi, olo = other._hi, other._lo
        oauc = other._auc
        if self._half_life is not None and self._hi is not None:
            # align both weight references to the later one (parallel shards end "now")
            dt = self._t - other._t
            if dt >= 0:
                f = math.exp2(dt / self._half_life)
                ohi, olo = ohi * f, olo * f
                if oauc is not None:
                    oauc = oauc.copy()
                    oauc._hist[:, :2] *= f
            else:
                f = math.exp2(-dt / self._half_life)
                A.scale_state(self._hi, self._lo, f)
                if self._auc is not None:
                    self._auc._hist[:, :2] *= f
                self._t = other._t
        elif self._half_life is not None:
            self._t = other._t
        if self._hi is None:
            self._alloc(other._layout, other._n_classes)
        hi, lo = self._hi, self._lo
        s = hi + ohi
        bb = s - hi
        err = (hi - (s - bb)) + (ohi - bb)
        self._lo = lo + olo + err
        self._hi = s
        if self._auc is not None:
            self._auc.merge(oauc)
        if self._boot is not None:
            self._boot.merge(other._boot)
        self._n += other._n
        self._weighted |= other._weighted
        self._nll_modes |= other._nll_modes
        return self

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
        self._load(state)

    def to_dict(self, _arrays=False):
        """JSON-serialisable state (versioned); :meth:`from_dict` restores it."""
        def arr(a):
            if a is None:
                return None
            return a.copy() if _arrays else a.tolist()

        return {
            "format": "fastcal.CalibrationAccumulator",
            "version": _STATE_VERSION,
            "settings": self._settings(),
            "layout": self._layout,
            "n_classes": self._n_classes,
            "n": int(self._n),
            "weighted": bool(self._weighted),
            "nll_modes": sorted(self._nll_modes),
            "t": float(self._t),
            "hi": arr(self._hi),
            "lo": arr(self._lo),
            "auroc_state": (None if self._auc is None
                            else self._auc.copy() if _arrays else self._auc.to_dict()),
            "bootstrap": (None if self._boot is None else
                          {"settings": dict(self._boot_settings),
                           "state": self._boot.__getstate__() if _arrays
                           else _boot_json(self._boot)}),
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild an accumulator from :meth:`to_dict` output."""
        obj = cls.__new__(cls)
        obj._load(d)
        return obj

    def _load(self, d):
        if not isinstance(d, dict) or d.get("format") != "fastcal.CalibrationAccumulator":
            raise ValueError("not a fastcal.CalibrationAccumulator state (missing format tag).")
        v = d.get("version")
        if not isinstance(v, int) or v > _STATE_VERSION:
            raise ValueError(
                f"CalibrationAccumulator state version {v!r} is newer than this fastcal "
                f"understands ({_STATE_VERSION}); upgrade fastcal.")
        s = d["settings"]
        self._n_bins = V.check_n_bins(int(s["n_bins"]))
        self._edges = V.uniform_edges(self._n_bins)
        self._right = bool(s["right"])
        self._half_life = None if s["half_life"] is None else float(s["half_life"])
        self._auroc = s["auroc"]
        if self._auroc is not None:
            V.check_choice(self._auroc, "auroc", _AUROC_MODES)
        a = d["auroc_state"]
        if (a is None) != (self._auroc is None):
            raise ValueError("corrupt CalibrationAccumulator state: auroc setting and state "
                             "disagree.")
        self._auc = (a if isinstance(a, AUROCAccumulator) or a is None
                     else AUROCAccumulator.from_dict(a))
        self._scratch = None
        bt = d.get("bootstrap")  # absent in version-1 states
        self._boot_settings = None if bt is None else dict(bt["settings"])
        self._boot = None if bt is None else _boot_load(bt["state"])
        self._small_ok = self._small_path_ok()
        self._layout = d["layout"]
        self._n_classes = None if d["n_classes"] is None else int(d["n_classes"])
        self._n = int(d["n"])
        self._weighted = bool(d["weighted"])
        self._nll_modes = set(d["nll_modes"])
        self._t = float(d["t"])
        self._classwise = bool(s.get("classwise", False))
        size = None if self._n_classes is None and self._classwise else self._size(self._n_classes)
        for name in ("hi", "lo"):
            a = d[name]
            if a is not None:
                a = np.array(a, dtype=np.float64)
                if size is None or a.shape != (size,):
                    raise ValueError(f"corrupt CalibrationAccumulator state: {name} has shape "
                                     f"{a.shape}, expected ({size},).")
            setattr(self, "_" + name, a)


def _boot_json(boot):
    version, d = boot.__getstate__()
    return {"version": version, "edges": d["edges"].tolist(), "n_resamples": d["n_resamples"],
            "seed": d["seed"], "right": d["right"], "stream": d["stream"], "rows": d["rows"],
            "ranges": {str(k): [list(r) for r in v] for k, v in d["ranges"].items()},
            "state": d["state"].tolist(), "has_scores": d["has_scores"]}


def _boot_load(st):
    from ._bootstrap import BootstrapState

    b = BootstrapState.__new__(BootstrapState)
    if isinstance(st, tuple):  # pickled
        b.__setstate__(st)
        return b
    d = dict(st)
    version = d.pop("version")
    d["edges"] = np.array(d["edges"], dtype=np.float64)
    d["state"] = np.array(d["state"], dtype=np.float64)
    d["ranges"] = {int(k): [tuple(r) for r in v] for k, v in d["ranges"].items()}
    b.__setstate__((version, d))
    return b
