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

from . import small_batch as _small_path
from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E
from .auroc_accumulator import AUROCAccumulator
from .shared import _Both, batch_exponent, new_exponent, scale_hist
from .._kernels.streaming import accumulate as A
from .._kernels.streaming import auroc_hist as KH
from .._kernels.metrics import binned as B
from .._kernels.metrics import stats as S
from .._kernels.common import CHUNK
from ..metrics.report import CalibrationReport, report_from_stats

# 2: optional bootstrap replicate state (version-1 states still load)
# 3: weight_exp (the sums and the AUROC histogram hold weights * 2**-weight_exp)
_STATE_VERSION = 3
_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_FAST_LABELS = frozenset(np.dtype(t) for t in (np.int64, np.int32, np.uint8, np.int8,
                                               np.float64, np.float32, np.bool_))
# Decayed mode: weights grow as 2 ** (t / half_life); the state is rescaled by
# an exact power of two once the exponent passes this many half-lives, with the
# clock brought back to about 0, so that a long stream rescales its state (the
# AUROC histogram included) once every _RENORM_HALF_LIVES half-lives, not at
# every update.
_RENORM_HALF_LIVES = 256
# The smallest half_life: the newest sample's weight then stays within
# 2 ** +-(1 / half_life + 256) of 1 (float64 reaches 2 ** +-1022), so the
# state and the report's rescaling stay finite and non-zero.
MIN_HALF_LIFE = 1e-3
_NLL_MODES = ("logits", "float64", "float32", "float16", "bfloat16")
_AUROC_MODES = ("bounded", "exact")
_NO_LOCK = contextlib.nullcontext()
_ND = np.ndarray
_NOT_TAKEN = A.NOT_TAKEN
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
    """The NLL mode of a batch: "logits" or the name of its probabilities'
    dtype (``src`` is a numpy dtype, or the name "float16"/"bfloat16" of a
    16-bit format numpy may not know: torch and ml_dtypes bfloat16)."""
    if from_logits:
        return "logits"
    return src if isinstance(src, str) else np.dtype(src).name


def _nll_eps(mode):
    """The clipping epsilon the update used for a batch of this NLL mode (the
    dtype's name; bfloat16 is known by name only)."""
    return V.eps_for(mode if mode == "bfloat16" else np.dtype(mode))


def _nll_text(modes):
    parts = []
    for m in sorted(modes):
        if m == "logits":
            parts.append("exact from logits (logsumexp - z_y), no clipping")
        else:
            parts.append(f"probabilities clipped to [eps, 1 - eps], eps = {_nll_eps(m)!r} "
                         f"({m} machine epsilon)")
    if len(parts) == 1:
        return parts[0]
    return "mixed batches: " + "; ".join(parts)


def _check_half_life(half_life):
    ok = (isinstance(half_life, (int, float, np.integer, np.floating))
          and not isinstance(half_life, (bool, np.bool_)))
    hl = float(half_life) if ok else math.nan
    if not (hl > 0 and math.isfinite(hl)):
        raise ValueError(
            f"half_life must be a positive number of samples or None; found {half_life!r}.")
    if hl < MIN_HALF_LIFE:
        raise ValueError(
            f"half_life must be at least {MIN_HALF_LIFE} samples (a finite number in "
            f"[{MIN_HALF_LIFE}, inf)); found {half_life!r}. A shorter half-life gives every "
            "sample but the newest a weight below 2**-1000, which float64 cannot hold next to it.")
    return hl


class IncompatibleMerge(TypeError, ValueError):
    """Two accumulators whose states cannot be added (one keeps bootstrap
    replicates, the other does not).  A ``TypeError``, and a ``ValueError``
    like the other incompatible merges."""


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

    def _compile_ahead(self, multiclass=False, from_logits=False, weighted=False,
                       ignore_index=None):
        """On a cold cache, start compiling (in a second process, see
        ``fastcal.core.prefetch``) the kernels that this accumulator's updates
        and ``compute`` will need for float64 input with int64 labels:
        binary confidences, or (n, C) probabilities or logits with
        ``multiclass``. For a caller that has other compiling to do
        first (the command line's file reader); returns the handle to
        ``wait()`` on before the first update."""
        from ..core import prefetch as _prefetch

        if self._half_life is not None or self._boot_settings is not None:
            return _prefetch.NOTHING  # rarer paths: compiled on use
        probe = B.toplabel_stats if multiclass else A.binary_batch
        settings = dict(n_bins=self._n_bins, right=self._right, classwise=self._classwise,
                        auroc=self._auroc)
        return _prefetch.start(rehearse, settings, 3 if multiclass else None, bool(from_logits),
                               bool(weighted), ignore_index, probe=(probe,),
                               meanwhile=self._compile_compute)

    def _compile_compute(self):
        """Compile (or load) the kernels of :meth:`compute`: the calibration
        errors of a bin table and the AUROC histogram's bounds (this
        process's share while a worker rehearses the updates)."""
        S.ce_from_bins(np.ones((3, self._n_bins)))
        if self._auroc == "bounded":
            KH.hist_bounds(np.ones((KH.N_CELLS, 3)))

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
        self._dd = np.zeros((2, self._size(n_classes)))
        self._hi, self._lo = self._dd
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
        y_true, y_prob, w, n, src = x.y, x.p, x.w, x.n, x.src
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
        if self._classwise and IG is not None:
            raise ValueError("ignore_index is not supported with classwise=True; drop the "
                             "ignored rows first.")
        self._fix_layout(layout, C)
        # Decayed: the weights depend on the clock, so the whole update holds
        # the lock; otherwise the passes below run unlocked into this call's
        # own arrays and only the additions into the state hold it.
        with (self._lock if self._half_life is not None else _NO_LOCK):
            return self._update(y_true, y_prob, w, n, src, IG, keep, kept, layout, C,
                                from_logits)

    def _update(self, y_true, y_prob, w, n, src, IG, keep, kept, layout, C, from_logits):
        edges = self._edges
        R, L = V.on(self._right), V.on(from_logits)
        weighted = w is not None
        mode = _nll_mode(from_logits, src)  # before the state changes: nothing fails after
        # weights are scale-free: the batch is summed with its weights divided by
        # 2**e (V.weight_exponent), and its sums are brought to the state's scale below
        w_user = w
        e, neutral = batch_exponent(w)
        w = V.scale(w, e)
        shift = 0
        if self._half_life is not None:
            shift, w = self._decay_weights(n, w, keep)
        eps = V.eps_for(src)
        if layout == "binary" and keep is None and self._boot is None:
            # one pass: validated, binned and summed with compensation into the
            # batch's double-double sums; per-row confidence and correctness
            # only for the AUROC state
            conf = corr = None
            if self._auc is not None:
                conf, corr = np.empty(n), np.empty(n, np.bool_)
            code, idx, dd = _core.run(A.binary_batch, n, y_true,
                                      y_prob, w, edges[0], R, L, eps, True, conf, corr,
                                      min_work=_PARALLEL_MIN)
            E.raise_for_status(code, idx, y_true, y_prob, w_user, src=src)
            bh, bl = dd[0], dd[1]
            return self._add_batch(bh, bl, conf, corr, None, w, w_user, e, neutral, shift,
                                   kept, layout, C, weighted, mode, None)
        # per-row confidence, correctness and Brier/NLL terms: summed with
        # compensation below (A.dd_scatter), and the AUROC/bootstrap input
        conf, corr, terms = np.empty(n), np.empty(n, np.bool_), np.empty((n, 2))
        if layout == "binary":
            code, idx, bins, sc = _core.run(
                B.binary_stats, n, y_true, y_prob, w, edges, True,
                R, L, True, eps, True, conf, corr, terms, min_work=_PARALLEL_MIN)
        else:
            K, shift_, mask, one = V.keys(y_prob, src)
            tab = V.table_for(y_prob, src)
            tol = V.row_sum_tol(src, C)
            code, idx, bins, sc = _core.run(
                B.toplabel_stats, n * C, y_true, y_prob, K, shift_,
                mask, one, tab, w, edges, True, R, L, True, eps, tol, True, IG, conf, corr,
                terms, min_work=_PARALLEL_MIN)
        E.raise_for_status(code, idx, y_true, y_prob, w_user, ignore_index=IG, src=src)
        # the batch's compensated sums (double-double), unlocked: the kernel's
        # float64 bins and scores are not used
        bh = np.zeros(self._size(C))
        bl = np.zeros(self._size(C))
        A.dd_scatter(conf, corr, terms, w, edges[0], R, bins, bh, bl)
        if self._classwise:  # validated above: this pass checks nothing
            A.dd_scatter_classwise(y_true, y_prob, K, shift_, mask, one, tab, w, edges[0], R, L,
                                   3 * self._n_bins + 2, bh, bl)
        if keep is not None:
            if conf is not None and kept < n:
                conf, corr = conf[keep], corr[keep]
                w = None if w is None else w[keep]
                w_user = None if w_user is None else w_user[keep]
                terms = None if terms is None else terms[keep]
        boot = self._boot
        part = None
        if boot is not None and kept:
            # number the rows now, compute their replicate sums unlocked, add them below
            with self._lock:
                row0 = boot.rows
                boot.rows = row0 + kept
            from ..uncertainty.bootstrap import replicate_state

            part = (row0, replicate_state(
                np.ascontiguousarray(conf), np.ascontiguousarray(corr),
                np.ascontiguousarray(terms), None if w is None else np.ascontiguousarray(w),
                boot.edges, right=boot.right, seed=boot.seed, stream=boot.stream,
                row_offset=row0, n_resamples=boot.n_resamples))
        return self._add_batch(bh, bl, conf, corr, terms, w, w_user, e, neutral, shift, kept,
                               layout, C, weighted, mode, part)

    def _add_batch(self, bh, bl, conf, corr, terms, w, w_user, e, neutral, shift, kept, layout,
                   C, weighted, mode, part):
        """Add a valid batch (its double-double sums ``bh + bl`` at weight scale
        ``2**e``, and its rows for the AUROC and bootstrap states) into the
        state, under the lock."""
        boot = self._boot
        # valid: from here on nothing can fail but a batch whose layout another
        # thread fixed differently in the meantime
        with self._lock:
            self._fix_layout(layout, C)
            if self._hi is None:
                self._alloc(layout, C)
            if shift:
                f = math.ldexp(1.0, -shift)
                A.scale_state(self._hi, self._lo, f)
                if self._auc is not None:
                    self._auc._hist[:, :2] *= f
                self._t -= shift * self._half_life
            # the state's weight scale: the batch's when nothing was kept yet, else
            # raised (the state rescaled exactly) when the batch needs a larger one
            E = self._wexp
            empty = self._hi is None or not self._hi.any()  # no weight yet
            new = new_exponent(E, e, neutral, empty)
            if new != E and not empty:
                self._rescale(E - new)
            self._wexp = new
            d = e - new  # the batch's sums times 2**d are in the state's scale
            if d:
                bh, bl = np.ldexp(bh, d), np.ldexp(bl, d)
            A.add_dd(self._hi, self._lo, bh, bl)
            _lo_where_infinite(self._hi, self._lo)
            if self._auroc == "bounded":
                self._auc._wexp = new
                if d:  # the rows' weights in the state's scale (true weights * 2**-new)
                    w = (np.full(conf.shape[0], math.ldexp(1.0, d)) if w is None
                         else np.ldexp(w, d))
                A.hist_scatter(self._auc._hist, conf, corr, w)
                self._auc._any_weight = None  # filled here: the AUROC state looks when needed
                self._auc.n += kept
            elif self._auroc == "exact" and kept:
                self._auc.update(corr, conf, sample_weight=w_user)
            self._n += kept
            self._weighted |= weighted
            self._nll_modes.add(mode)
            if self._boot is not None and kept:
                if part is not None and self._boot is boot:
                    lo, state = part
                    boot._claim(boot.ranges, boot.stream, lo, lo + kept)
                    boot._add(state, e)
                    boot.has_scores = True
                else:  # reset() in between: number the rows in the new state
                    self._boot.update(conf, corr, terms, w, weight_exp=e)
            if self._half_life is not None:
                self._t += kept
            _small_path.plan(self)
        return self

    def _rescale(self, k):
        """Multiply the sums and the AUROC histogram's weights by ``2**k`` (exact
        but for values that fall below float64's range)."""
        np.ldexp(self._hi, k, out=self._hi)
        np.ldexp(self._lo, k, out=self._lo)
        if self._auroc == "bounded":
            scale_hist(self._auc._hist, k)

    def _decay_weights(self, n, w, keep=None):
        """(shift, weights): the batch's row weights 2 ** ((t + i) / half_life)
        (times the user's) after the state is scaled by 2 ** -shift, which
        keeps every exponent at most ``_RENORM_HALF_LIVES``. ``i`` counts the
        kept rows only (ignored rows neither age the stream nor weigh)."""
        h = self._half_life
        m = n if keep is None else int(np.count_nonzero(keep))
        shift = max(0, math.ceil((self._t + m) / h - _RENORM_HALF_LIVES))
        if shift:  # and the clock back to about 0
            shift = max(shift, math.floor(self._t / h))
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
        auc, lo, hi = KH.hist_bounds(self._auc._hist)
        if math.isnan(auc):
            E.warn_undefined(
                "Only one outcome has been seen (all correct, all wrong, or all weight on "
                "one): AUROC is not defined; returning nan.")
        return auc, lo, hi

    # ------------------------------------------------------------------ merge
    def _check_compatible(self, other):
        if not isinstance(other, CalibrationAccumulator):
            raise TypeError(f"cannot merge a CalibrationAccumulator with {type(other).__name__}.")
        if (self._boot_settings is None) != (other._boot_settings is None):
            raise IncompatibleMerge(
                f"cannot merge {self._describe()} with {other._describe()}: one keeps bootstrap "
                "replicates (n_resamples) and the other does not, so the merged state could "
                "have no intervals. Create both with the same n_resamples, random_state and ci "
                "(and distinct streams).")
        mine, theirs = self._settings(), other._settings()
        bad = [k for k, v in mine.items() if theirs[k] != v]
        if (self._layout is not None and other._layout is not None
                and (self._layout, self._n_classes) != (other._layout, other._n_classes)):
            bad.append("layout")
        if bad:
            raise ValueError(
                f"cannot merge {self._describe()} with {other._describe()}: "
                f"{', '.join(bad)} differ{'s' if len(bad) == 1 else ''}.")

    def merge(self, other):
        """Add ``other``'s state into this one (in place); returns ``self``."""
        if not isinstance(other, CalibrationAccumulator):
            self._check_compatible(other)
        with _Both(self, other):
            return self._merge(other)

    def _merge(self, other):
        self._check_compatible(other)
        if other._hi is None:
            return self
        boot = None
        if self._boot is not None:  # first: the only merge step that can fail
            import copy

            boot = copy.copy(self._boot).merge(other._boot)  # new arrays, self._boot intact
        ohi, olo = other._hi, other._lo
        oauc = other._auc
        # one weight scale: the larger of the two (the other state rescaled exactly)
        mine, theirs = self._wexp, other._wexp
        empty = self._hi is None or not self._hi.any()  # no weight
        to = new_exponent(mine, theirs, not other._hi.any(), empty)
        if theirs != to:
            ohi, olo = np.ldexp(ohi, theirs - to), np.ldexp(olo, theirs - to)
            if self._auroc == "bounded":
                oauc = oauc.copy()
                scale_hist(oauc._hist, theirs - to)
                oauc._wexp = to
        if mine != to and not empty:
            self._rescale(mine - to)
        self._wexp = to
        if self._auroc == "bounded":
            self._auc._wexp = to
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
        with np.errstate(invalid="ignore"):  # inf - inf where the NLL sum is infinite
            s = hi + ohi
            bb = s - hi
            err = (hi - (s - bb)) + (ohi - bb)
            lo[:] = _lo_where_infinite(s, lo + olo + err)
        hi[:] = s
        if self._auc is not None:
            self._auc.merge(oauc)
        if boot is not None:
            self._boot = boot
        self._n += other._n
        self._weighted |= other._weighted
        self._nll_modes |= other._nll_modes
        _small_path.plan(self)
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


def _lo_where_infinite(hi, lo):
    """``lo`` with 0 where the sum ``hi`` is infinite (an infinite NLL term: a
    masked logit on the label's class), in place: TwoSum leaves ``inf - inf``
    (NaN) there, and the sum is ``hi`` itself."""
    bad = np.isinf(hi)
    if bad.any():
        lo[bad] = 0.0
    return lo


def rehearse(settings, n_classes, from_logits, weighted, ignore_index=None):
    """The first update of a ``CalibrationAccumulator(**settings)`` on
    synthetic float64 input with int64 labels: compiles what that update
    compiles on real input of the same kind (the task of
    :meth:`CalibrationAccumulator._compile_ahead`; the caller compiles the
    kernels of ``compute`` meanwhile)."""
    m = 64
    y = np.arange(m, dtype=np.int64) % (2 if n_classes is None else n_classes)
    if n_classes is None:
        p = np.linspace(0.01, 0.99, m)
    elif from_logits:
        p = np.linspace(-2.0, 2.0, m * n_classes).reshape(m, n_classes)
    else:
        p = np.full((m, n_classes), 1.0 / n_classes)
    w = np.linspace(0.5, 1.5, m) if weighted else None
    acc = CalibrationAccumulator(**settings)
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}
    acc.update(y, p, from_logits=from_logits, sample_weight=w, **kw)
