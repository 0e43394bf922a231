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

from . import _core
from . import _validation as V
from ._auroc_accumulator import (AUROCAccumulator, _Both, _WEXP_BOUND, batch_exponent,
                                 new_exponent, scale_hist)
from ._state_check import Check
from ._kernels import _accumulate as A
from ._kernels import _auroc_hist as KH
from ._kernels import _binned as B
from ._kernels import _stats as S
from ._kernels._common import CHUNK
from ._report import CalibrationReport, report_from_stats

# 2: optional bootstrap replicate state (version-1 states still load)
# 3: weight_exp (the sums and the AUROC histogram hold weights * 2**-weight_exp)
_STATE_VERSION = 3
_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_EPS = {_F64: V.eps_for(_F64), _F32: V.eps_for(_F32)}
_MODE = {_F64: "float64", _F32: "float32"}
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
            from ._bootstrap import check_ci, check_n_resamples, seed_from

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
            self._hi = None
            self._lo = None
            self._n = 0
            self._wexp = 0  # the state holds the weight sums times 2**-_wexp
            self._weighted = False
            self._nll_modes = set()
            self._t = 0.0  # decayed mode: samples since the weight reference
            self._auc = (None if self._auroc is None
                         else AUROCAccumulator(exact=self._auroc == "exact"))
            self._boot = self._new_boot()
            self._scratch = None  # per-row scratch of the small-batch path (never serialised)
            self._small_ok = self._small_path_ok()
        return self

    def _compile_ahead(self, multiclass=False, from_logits=False, weighted=False,
                       ignore_index=None):
        """On a cold cache, start compiling (in a second process, see
        ``fastcal._prefetch``) the kernels that this accumulator's updates
        and ``compute`` will need for float64 input with int64 labels:
        binary confidences, or (n, C) probabilities or logits with
        ``multiclass``. For a caller that has other compiling to do
        first (the command line's file reader); returns the handle to
        ``wait()`` on before the first update."""
        from . import _prefetch

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
        R = V.on(self._right)
        L = True if from_logits else None
        # fast path: 1-D numpy float input, no weights, not decayed
        if (type(y_prob) is np.ndarray and type(y_true) is np.ndarray and y_prob.ndim == 1
                and y_true.ndim == 1 and (y_prob.dtype is _F64 or y_prob.dtype is _F32)
                and y_true.dtype in _FAST_LABELS and sample_weight is None
                and ignore_index is None and self._small_ok and self._layout == "binary"
                and not self._wexp
                and 0 < y_prob.shape[0] == y_true.shape[0] < _PARALLEL_MIN):
            if y_true.dtype is not _I64:
                y_true = V.kernel_labels(y_true)
            src = y_prob.dtype
            n = y_prob.shape[0]
            code = 0
            with self._lock:  # the kernel adds into the state (a small batch: a short hold)
                if self._layout == "binary" and not self._wexp:  # (a reset() may have come)
                    sc = self._scratch
                    if sc is None or sc[0] != n:  # reused: no allocation per small update
                        sc = self._scratch = (n, np.empty(n), np.empty(n, np.bool_),
                                              np.empty(A.workspace_size(self._n_bins)))
                    code, idx = A.binary_update(
                        y_true, y_prob, None, edges[0], R, L, _EPS[src], True, self._hi,
                        self._lo, sc[1], sc[2], None if self._auc is None else self._auc._hist,
                        sc[3])
                    if self._auc is not None:
                        self._auc._any_weight = None  # filled by the kernel: look when needed
                    if not code:
                        if self._auc is not None:
                            self._auc.n += n
                        self._n += n
                        self._nll_modes.add("logits" if L else _MODE[src])
                        return self
            if code:
                V.raise_for_status(code, idx, y_true, y_prob)
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
        if self._classwise and IG is not None:
            raise ValueError("ignore_index is not supported with classwise=True; drop the "
                             "ignored rows first.")
        self._fix_layout(layout, C)
        # Decayed: the weights depend on the clock, so the whole update holds
        # the lock; otherwise the passes below run unlocked into this call's
        # own arrays and only the additions into the state hold it.
        with (self._lock if self._half_life is not None else _NO_LOCK):
            return self._update(y_true, y_prob, w, n, src, IG, keep, kept, layout, C,
                                from_logits, R, L)

    def _update(self, y_true, y_prob, w, n, src, IG, keep, kept, layout, C, from_logits, R, L):
        edges = self._edges
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
            V.raise_for_status(code, idx, y_true, y_prob, w_user, src=src)
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
        V.raise_for_status(code, idx, y_true, y_prob, w_user, ignore_index=IG, src=src)
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
            from ._bootstrap import replicate_state

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
            raise ValueError("no row is left to score: every row has the ignored label "
                             "(ignore_index).")
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
            V.warn_undefined(
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
            self._lo = _lo_where_infinite(s, lo + olo + err)
        self._hi = s
        if self._auc is not None:
            self._auc.merge(oauc)
        if boot is not None:
            self._boot = boot
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
        self._load(state, pickled=True)

    def to_dict(self, _arrays=False):
        """JSON-serialisable state (versioned); :meth:`from_dict` restores it."""
        def arr(a):
            if a is None:
                return None
            return a.copy() if _arrays else a.tolist()

        with self._lock:
            return {
                "format": "fastcal.CalibrationAccumulator",
                "version": _STATE_VERSION,
                "settings": self._settings(),
                "layout": self._layout,
                "n_classes": self._n_classes,
                "n": int(self._n),
                "weighted": bool(self._weighted),
                "weight_exp": int(self._wexp),
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
        if not isinstance(d, dict) or d.get("format") != "fastcal.CalibrationAccumulator":
            raise ValueError("not a fastcal.CalibrationAccumulator state (missing format tag).")
        C = Check("pickled CalibrationAccumulator" if pickled else "CalibrationAccumulator")

        def newer(v):
            raise ValueError(
                f"CalibrationAccumulator state version {v!r} is newer than this fastcal "
                f"understands ({_STATE_VERSION}); upgrade fastcal.")

        version = C.version(C.get(d, "version", "version"), range(1, _STATE_VERSION + 1), newer)
        s = C.mapping(C.get(d, "settings", "settings"), "settings")
        n_bins = C.integer(C.get(s, "n_bins", "settings.n_bins"), "settings.n_bins", lo=1,
                           hi=1_000_000)
        right = C.boolean(C.get(s, "right", "settings.right"), "settings.right")
        classwise = C.boolean(C.get(s, "classwise", "settings.classwise", False),
                              "settings.classwise")
        auroc = C.choice(C.get(s, "auroc", "settings.auroc"), "settings.auroc",
                         (None,) + _AUROC_MODES)
        hl = C.get(s, "half_life", "settings.half_life")
        if hl is not None:
            hl = C.real(hl, "settings.half_life", lo=MIN_HALF_LIFE)
            if auroc == "exact":
                C.fail("settings.auroc", "'bounded' or None with a half_life", auroc)
        boot_keys = ("n_resamples", "random_state", "ci")
        known = {"n_bins", "right", "classwise", "auroc", "half_life", *boot_keys}
        extra = sorted(str(k) for k in s if k not in known)
        if extra:
            C.fail("settings", f"a dict of the keys {', '.join(sorted(known))}",
                   f"unknown key {extra[0]}")
        bt = C.get(d, "bootstrap", "bootstrap", None)  # absent in version-1 states
        if bt is None:
            if any(k in s for k in boot_keys):
                C.fail("bootstrap", "a bootstrap state when settings has n_resamples", None)
            boot_settings = boot = None
        else:
            if hl is not None:
                C.fail("bootstrap", "None with a half_life (replicates cannot forget)", "a state")
            boot_settings, boot = _boot_load(C, C.mapping(bt, "bootstrap"), s, n_bins, right,
                                             pickled)
        layout = C.choice(C.get(d, "layout", "layout"), "layout", (None, "binary", "top-label"))
        nc = C.get(d, "n_classes", "n_classes")
        if layout == "top-label":
            nc = C.integer(nc, "n_classes", lo=2)
        elif nc is not None:
            C.fail("n_classes", f"None for layout {layout!r}", nc)
        if classwise and layout == "binary":
            C.fail("layout", "'top-label' or None with classwise=True", layout)
        n = C.integer(C.get(d, "n", "n"), "n")
        weighted = C.boolean(C.get(d, "weighted", "weighted"), "weighted")
        wexp = 0  # versions 1-2: weights as given
        if version >= 3:
            wexp = C.integer(C.get(d, "weight_exp", "weight_exp"), "weight_exp",
                             lo=-_WEXP_BOUND, hi=_WEXP_BOUND)
            if wexp and not weighted:
                C.fail("weight_exp", "0 when no batch had weights (weighted is False)", wexp)
        modes = C.get(d, "nll_modes", "nll_modes")
        if not isinstance(modes, (list, tuple, set)):
            C.fail("nll_modes", "a list of NLL modes", modes)
        for k, m in enumerate(modes):
            C.choice(m, f"nll_modes[{k}]", _NLL_MODES)
        if len(set(modes)) != len(modes):
            C.fail("nll_modes", "a list of distinct NLL modes", list(modes))
        if hl is None:
            t = C.real(C.get(d, "t", "t"), "t", lo=0.0, hi=0.0)
        else:  # the clock is renormalised to at most _RENORM_HALF_LIVES half-lives
            t = C.real(C.get(d, "t", "t"), "t", lo=0.0, hi=(_RENORM_HALF_LIVES + 1) * hl)
        size = None if layout is None else 3 * n_bins + 2 + (
            nc * 3 * n_bins if classwise else 0)
        hl_arr = {}
        for name in ("hi", "lo"):
            a = C.get(d, name, name)
            if (a is None) != (layout is None):
                C.fail(name, "None exactly when layout is None (no batch yet)", a)
            if a is not None:
                a = C.array(a, name, length=size, finite=False)
                # finite, but for an infinite NLL sum (a masked logit on the label)
                nll = 3 * n_bins + 1
                bad = np.flatnonzero(~np.isfinite(a))
                for i in bad:
                    if not (name == "hi" and i == nll and a[i] == np.inf):
                        C.fail(f"{name}[{i}]", "a finite number (hi: or +inf for the NLL sum)",
                               float(a[i]))
            hl_arr[name] = a
        hi, lo = hl_arr["hi"], hl_arr["lo"]
        if hi is not None and np.isinf(hi[3 * n_bins + 1]) and lo[3 * n_bins + 1] != 0.0:
            C.fail(f"lo[{3 * n_bins + 1}]", "0 where the NLL sum is infinite",
                   float(lo[3 * n_bins + 1]))
        if hi is not None:
            _check_sums(C, hi, lo, n_bins, classwise, nc, n, weighted or hl is not None)
        a = C.get(d, "auroc_state", "auroc_state")
        if (a is None) != (auroc is None):
            C.fail("auroc_state", "None exactly when settings.auroc is None", a)
        if a is not None:
            if isinstance(a, dict):
                a = AUROCAccumulator.from_dict(a)
            elif not isinstance(a, AUROCAccumulator):
                C.fail("auroc_state", "an AUROCAccumulator state", a)
            else:
                a = a.copy()
            if a._settings() != (auroc == "exact", None, None):
                C.fail("auroc_state", f"an AUROCAccumulator(exact={auroc == 'exact'}) state "
                       "on [0, 1]", a)
            if a.n != n:
                C.fail("auroc_state.n", f"the accumulator's n ({n})", a.n)
            if not a._exact and a._wexp != wexp:
                C.fail("auroc_state.weight_exp", f"the accumulator's weight_exp ({wexp})",
                       a._wexp)
            if not a._exact and not (isinstance(a._hist, np.ndarray)
                                     and a._hist.shape == (AUROCAccumulator.N_CELLS, 3)):
                C.fail("auroc_state", "a histogram of shape (188419, 3)", a._hist)
        if boot is not None:
            claimed = sum(h - l for rs in boot.ranges.values() for l, h in rs)
            if claimed != n:
                C.fail("bootstrap.state.ranges", f"row ranges covering n = {n} rows",
                       f"{claimed} rows")
        # all valid: set the state
        self._lock = threading.RLock()
        self._n_bins = n_bins
        self._edges = V.uniform_edges(n_bins)
        self._right = right
        self._classwise = classwise
        self._auroc = auroc
        self._half_life = hl
        self._boot_settings = boot_settings
        self._boot = boot
        self._auc = a
        self._scratch = None
        self._small_ok = self._small_path_ok()
        self._layout = layout
        self._n_classes = nc
        self._n = n
        self._weighted = weighted
        self._wexp = wexp
        self._nll_modes = set(modes)
        self._t = t
        self._hi, self._lo = hi, lo


# Tolerance of the per-bin checks: a bin's sum of confidences (or of correct
# outcomes) is at most its weight, up to the rounding of the batch sums.
_SUM_RTOL = 1e-6


def _lo_where_infinite(hi, lo):
    """``lo`` with 0 where the sum ``hi`` is infinite (an infinite NLL term: a
    masked logit on the label's class), in place: TwoSum leaves ``inf - inf``
    (NaN) there, and the sum is ``hi`` itself."""
    bad = np.isinf(hi)
    if bad.any():
        lo[bad] = 0.0
    return lo


def _check_sums(C, hi, lo, n_bins, classwise, nc, n, weighted):
    """The sums are non-negative, finite in total, no bin has more
    confidence or correct weight than weight, and unweighted counts add up to n."""
    tot = hi + lo
    bad = np.flatnonzero((hi < 0) | ~(tot >= 0))
    if bad.size:
        C.fail(f"hi[{bad[0]}] + lo[{bad[0]}]", "a non-negative sum",
               float(tot[bad[0]]))
    blocks = [("hi[0:3 n_bins]", tot[:3 * n_bins].reshape(3, n_bins))]
    if classwise:
        cw = tot[3 * n_bins + 2:].reshape(nc, 3, n_bins)
        blocks += [(f"hi[classwise block {k}]", cw[k]) for k in range(min(nc, 2))]
        blocks.append(("hi[classwise blocks]", cw.transpose(1, 0, 2).reshape(3, -1)))
    with np.errstate(over="ignore", invalid="ignore"):
        for field, b in blocks:
            w, c, k = b
            if not (math.isfinite(w.sum()) and math.isfinite(c.sum()) and math.isfinite(k.sum())):
                C.fail(field, "sums with finite totals", "totals that overflow")
            slack = w * _SUM_RTOL + 1e-300
            j = np.flatnonzero((c > w + slack) | (k > w + slack))
            if j.size:
                C.fail(f"{field} (bin {j[0]})", "confidence and correct sums at most the bin's "
                       f"weight {float(w[j[0]])!r}",
                       f"confidence {float(c[j[0]])!r}, correct {float(k[j[0]])!r}")
    if not weighted:
        w = tot[:n_bins]
        if not (np.all(w == np.floor(w)) and w.sum() == n):
            C.fail("hi[0:n_bins]", f"integer counts adding up to n = {n} (unweighted)",
                   f"counts adding up to {float(w.sum())!r}")


def _boot_json(boot):
    version, d = boot.__getstate__()
    return {"version": version, "edges": d["edges"].tolist(), "n_resamples": d["n_resamples"],
            "seed": d["seed"], "right": d["right"], "stream": d["stream"], "rows": d["rows"],
            "ranges": {str(k): [list(r) for r in v] for k, v in d["ranges"].items()},
            "state": d["state"].tolist(), "has_scores": d["has_scores"],
            "weight_exp": d["weight_exp"]}


_U64 = 2 ** 64 - 1


def _boot_load(C, bt, s, n_bins, right, pickled):
    """(settings, BootstrapState) from a state's ``bootstrap`` entry, every
    value checked against the accumulator's settings."""
    from ._bootstrap import BootstrapState, coalesce

    bs = C.mapping(C.get(bt, "settings", "bootstrap.settings"), "bootstrap.settings")
    R = C.integer(C.get(bs, "n_resamples", "bootstrap.settings.n_resamples"),
                  "bootstrap.settings.n_resamples", lo=2)
    seed = C.integer(C.get(bs, "seed", "bootstrap.settings.seed"), "bootstrap.settings.seed",
                     hi=_U64)
    stream = C.integer(C.get(bs, "stream", "bootstrap.settings.stream"),
                       "bootstrap.settings.stream", hi=_U64)
    ci = C.real(C.get(bs, "ci", "bootstrap.settings.ci"), "bootstrap.settings.ci", lo=0.0,
                hi=1.0, lo_open=True)
    if ci == 1.0:
        C.fail("bootstrap.settings.ci", "strictly between 0 and 1", bs["ci"])
    for key, want in (("n_resamples", R), ("random_state", seed), ("ci", ci)):
        v = C.get(s, key, f"settings.{key}")
        if v != want or isinstance(v, bool):
            C.fail(f"settings.{key}", f"bootstrap.settings' value {want!r}", v)
    st = C.get(bt, "state", "bootstrap.state")
    if pickled and isinstance(st, tuple) and len(st) == 2:
        version, st = st
    else:
        st = C.mapping(st, "bootstrap.state")
        version = C.get(st, "version", "bootstrap.state.version")
    C.version(version, range(1, BootstrapState._VERSION + 1), field="bootstrap.state.version")
    C.mapping(st, "bootstrap.state")
    f = "bootstrap.state."
    edges = C.array(C.get(st, "edges", f + "edges"), f + "edges", length=n_bins + 1)
    if not np.array_equal(edges, V.uniform_edges(n_bins)[0]):
        C.fail(f + "edges", f"np.linspace(0, 1, {n_bins + 1})", edges.tolist())
    for key, want in (("n_resamples", R), ("seed", seed), ("stream", stream)):
        v = C.get(st, key, f + key)
        if v != want or isinstance(v, bool):
            C.fail(f + key, f"bootstrap.settings' value {want!r}", v)
    if C.boolean(C.get(st, "right", f + "right"), f + "right") != right:
        C.fail(f + "right", f"settings.right ({right!r})", st["right"])
    rows = C.integer(C.get(st, "rows", f + "rows"), f + "rows")
    ranges = C.mapping(C.get(st, "ranges", f + "ranges"), f + "ranges")
    out = {}
    for key, rs in ranges.items():
        k = key
        if not pickled and isinstance(key, str) and key.isdigit():
            k = int(key)
        k = C.integer(k, f"{f}ranges key", hi=_U64)
        if not isinstance(rs, list):
            C.fail(f"{f}ranges[{key!r}]", "a list of [lo, hi) row ranges", rs)
        got = []
        for j, r in enumerate(rs):
            fj = f"{f}ranges[{key!r}][{j}]"
            if not (isinstance(r, (list, tuple)) and len(r) == 2):
                C.fail(fj, "a pair [lo, hi)", r)
            a = C.integer(r[0], fj + "[0]")
            b = C.integer(r[1], fj + "[1]", lo=a + 1)
            for a2, b2 in got:
                if a < b2 and a2 < b:
                    C.fail(fj, "a row range disjoint from the others of its stream", [a, b])
            if k == stream and b > rows:
                C.fail(fj, f"a range of rows below bootstrap.state.rows ({rows})", [a, b])
            got.append((a, b))
        if k in out:
            C.fail(f"{f}ranges", "a dict with one entry per stream", f"stream {k} twice")
        out[k] = coalesce(got)
    state = C.array(C.get(st, "state", f + "state"), f + "state", shape=(3 * n_bins + 2, R),
                    lo=0.0)
    hs = C.get(st, "has_scores", f + "has_scores")
    if hs is not None:
        hs = C.boolean(hs, f + "has_scores")
    bexp = 0  # version 1: weights as given
    if version >= 2:
        bexp = C.integer(C.get(st, "weight_exp", f + "weight_exp"), f + "weight_exp",
                         lo=-_WEXP_BOUND, hi=_WEXP_BOUND)
    extra = sorted(str(k) for k in st if k not in {
        "version", "edges", "n_resamples", "seed", "right", "stream", "rows", "ranges", "state",
        "has_scores", "weight_exp"})
    if extra:
        C.fail(f[:-1], "a BootstrapState", f"unknown key {extra[0]}")
    b = BootstrapState.__new__(BootstrapState)
    b.__setstate__((version, {"edges": edges, "n_resamples": R, "seed": seed, "right": right,
                              "stream": stream, "rows": rows, "ranges": out, "state": state,
                              "has_scores": hs, "weight_exp": bexp}))
    return {"n_resamples": R, "seed": seed, "stream": stream, "ci": ci}, b


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
