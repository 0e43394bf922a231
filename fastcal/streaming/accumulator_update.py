"""One batch into a :class:`~fastcal.CalibrationAccumulator` (the general
path; small binary batches take ``streaming/small_batch.py``): the batch's
passes (validated, binned, summed with compensation), its weights scaled and
decayed, and its sums added into the state under the accumulator's lock.
These are the accumulator's methods, written here: each takes the
accumulator first."""

import math

import numpy as np

from .._kernels.metrics import binned as B
from .._kernels.metrics import stats as S
from .._kernels.streaming import accumulate as KA
from .._kernels.streaming import auroc_hist as KAH
from ..core import errors as E
from ..core import pipeline as _core
from ..core import validation as V
from . import small_batch as _small_path
from .shared import (
    _PARALLEL_MIN,
    _RENORM_HALF_LIVES,
    _lo_where_infinite,
    _nll_mode,
    batch_exponent,
    new_exponent,
    scale_hist,
)


def update_batch(acc, x, IG, keep, kept, layout, C, from_logits):
    """One prepared batch (:class:`fastcal.core.validation.Prepared`) into the state."""
    y_true, y_prob, w, n, src = x.y, x.p, x.w, x.n, x.src
    edges = acc._edges
    R, L = V.on(acc._right), V.on(from_logits)
    weighted = w is not None
    mode = _nll_mode(from_logits, src)  # before the state changes: nothing fails after
    # weights are scale-free: the batch is summed with its weights divided by
    # 2**e (V.weight_exponent), and its sums are brought to the state's scale below
    w_user = w
    e, neutral = batch_exponent(w)
    w = V.scale(w, e)
    shift = 0
    if acc._half_life is not None:
        shift, w = acc._decay_weights(n, w, keep)
    eps = V.eps_for(src)
    if layout == "binary" and keep is None and acc._boot is None:
        # one pass: validated, binned and summed with compensation into the
        # batch's double-double sums; per-row confidence and AUROC cell
        # (2 * cell + label) only for the AUROC state
        conf = cell = None
        if acc._auc is not None:
            conf, cell = np.empty(n), np.empty(n, np.int32)
        code, idx, dd = _core.binary_batch(y_true, y_prob, w, edges, R, L, eps, True, conf,
                                           cell, min_work=_PARALLEL_MIN)
        E.raise_for_status(code, idx, y_true, y_prob, w_user, src=src)
        bh, bl = dd[0], dd[1]
        corr = None
        if acc._auroc == "exact":  # correctness, the low bit of the cell
            corr, cell = (cell & 1).astype(np.bool_), None
        return acc._add_batch(bh, bl, conf, corr, None, w, w_user, e, neutral, shift,
                               kept, layout, C, weighted, mode, None, cells=cell)
    # per-row confidence, correctness and Brier/NLL terms: summed with
    # compensation below (A.dd_scatter), and the AUROC/bootstrap input
    conf, corr, terms = np.empty(n), np.empty(n, np.bool_), np.empty((n, 2))
    # the functional API's entry point (the caller's weights in its messages)
    bins, _ = _core.binned_pass(x, edges, right=R, logits=L, scores=True, ignore=IG, conf=conf,
                                corr=corr, terms=terms, weight=w, min_work=_PARALLEL_MIN)
    # the batch's compensated sums (double-double), unlocked: the kernel's
    # float64 bins and scores are not used
    bh = np.zeros(acc._size(C))
    bl = np.zeros(acc._size(C))
    KA.dd_scatter(conf, corr, terms, w, edges, R, bins, bh, bl)
    if acc._classwise:  # validated above: this pass checks nothing
        K, shift_, mask, one = x.keys
        KA.dd_scatter_classwise(y_true, y_prob, K, shift_, mask, one, x.tab, w, edges, R, L,
                                3 * acc._n_bins + 2, bh, bl)
    if keep is not None:
        if conf is not None and kept < n:
            conf, corr = conf[keep], corr[keep]
            w = None if w is None else w[keep]
            w_user = None if w_user is None else w_user[keep]
            terms = None if terms is None else terms[keep]
    boot = acc._boot
    part = None
    if boot is not None and kept:
        # number the rows now, compute their replicate sums unlocked, add them below
        with acc._lock:
            row0 = boot.rows
            boot.rows = row0 + kept
        from ..uncertainty.bootstrap import replicate_state

        part = (row0, replicate_state(
            np.ascontiguousarray(conf), np.ascontiguousarray(corr),
            np.ascontiguousarray(terms), None if w is None else np.ascontiguousarray(w),
            boot.edges, right=boot.right, seed=boot.seed, stream=boot.stream,
            row_offset=row0, n_resamples=boot.n_resamples))
    return acc._add_batch(bh, bl, conf, corr, terms, w, w_user, e, neutral, shift, kept,
                           layout, C, weighted, mode, part)


def add_batch(acc, bh, bl, conf, corr, terms, w, w_user, e, neutral, shift, kept, layout,
               C, weighted, mode, part, *, cells=None):
    """Add a valid batch (its double-double sums ``bh + bl`` at weight scale
    ``2**e``, and its rows for the AUROC and bootstrap states) into the
    state, under the lock.  The rows: each one's confidence ``conf`` and
    correctness ``corr`` (bool), or instead of ``corr`` (None) their AUROC
    cells from ``binary_batch`` (``cells``, int32 ``2 * cell + label``)."""
    boot = acc._boot
    # valid: from here on nothing can fail but a batch whose layout another
    # thread fixed differently in the meantime
    with acc._lock:
        acc._fix_layout(layout, C)
        if acc._hi is None:
            acc._alloc(layout, C)
        if shift:
            f = math.ldexp(1.0, -shift)
            KA.scale_state(acc._hi, acc._lo, f)
            if acc._auc is not None:
                acc._auc._hist[:, :2] *= f
            acc._t -= shift * acc._half_life
        # the state's weight scale: the batch's when nothing was kept yet, else
        # raised (the state rescaled exactly) when the batch needs a larger one
        E = acc._wexp
        empty = acc._hi is None or not acc._hi.any()  # no weight yet
        new = new_exponent(E, e, neutral, empty)
        if new != E and not empty:
            acc._rescale(E - new)
        acc._wexp = new
        d = e - new  # the batch's sums times 2**d are in the state's scale
        if d:
            bh, bl = np.ldexp(bh, d), np.ldexp(bl, d)
        KA.add_dd(acc._hi, acc._lo, bh, bl)
        _lo_where_infinite(acc._hi, acc._lo)
        if acc._auroc == "bounded":
            acc._auc._wexp = new
            if d:  # the rows' weights in the state's scale (true weights * 2**-new)
                w = (np.full(conf.shape[0], math.ldexp(1.0, d)) if w is None
                     else np.ldexp(w, d))
            if cells is not None and w is None:
                # the rows go into the histogram on a pool thread while the caller
                # goes on (to its next batch, whose pass that thread joins when
                # done); they read only this update's scratch, and whatever reads
                # the histogram (AUROCAccumulator._hist) waits for them first
                h = acc._auc._hist  # (the last batch's are in)
                acc._auc._pending = _core.in_background(KA.hist_cells, h, conf, cells, None)
            elif cells is not None:  # weights: maybe the caller's array, which may change
                KA.hist_cells(acc._auc._hist, conf, cells, w)
            else:
                KA.hist_scatter(acc._auc._hist, conf, corr, w)
            acc._auc._any_weight = None  # filled here: the AUROC state looks when needed
            acc._auc.n += kept
        elif acc._auroc == "exact" and kept:
            acc._auc.update(corr, conf, sample_weight=w_user)
        acc._n += kept
        acc._weighted |= weighted
        acc._nll_modes.add(mode)
        if acc._boot is not None and kept:
            if part is not None and acc._boot is boot:
                lo, state = part
                boot._claim(boot.ranges, boot.stream, lo, lo + kept)
                boot._add(state, e)
                boot.has_scores = True
            else:  # reset() in between: number the rows in the new state
                acc._boot.update(conf, corr, terms, w, weight_exp=e)
        if acc._half_life is not None:
            acc._t += kept
        _small_path.plan(acc)
    return acc


def rescale(acc, k):
    """Multiply the sums and the AUROC histogram's weights by ``2**k`` (exact
    but for values that fall below float64's range)."""
    np.ldexp(acc._hi, k, out=acc._hi)
    np.ldexp(acc._lo, k, out=acc._lo)
    if acc._auroc == "bounded":
        scale_hist(acc._auc._hist, k)


def decay_weights(acc, n, w, keep=None):
    """(shift, weights): the batch's row weights 2 ** ((t + i) / half_life)
    (times the user's) after the state is scaled by 2 ** -shift, which
    keeps every exponent at most ``_RENORM_HALF_LIVES``. ``i`` counts the
    kept rows only (ignored rows neither age the stream nor weigh)."""
    h = acc._half_life
    m = n if keep is None else int(np.count_nonzero(keep))
    shift = max(0, math.ceil((acc._t + m) / h - _RENORM_HALF_LIVES))
    if shift:  # and the clock back to about 0
        shift = max(shift, math.floor(acc._t / h))
    t = acc._t - shift * h
    i = np.arange(n, dtype=np.float64) if keep is None else np.cumsum(keep) - 1.0
    d = np.exp2((t + i) / h)
    return shift, (d if w is None else d * w)

# ---------------------------------------------------------------- compute


def compile_ahead(acc, multiclass=False, from_logits=False, weighted=False,
                   ignore_index=None):
    """On a cold cache, start compiling (in a second process, see
    ``fastcal.core.prefetch``) the kernels that this accumulator's updates
    and ``compute`` will need for float64 input with int64 labels:
    binary confidences, or (n, C) probabilities or logits with
    ``multiclass``. For a caller that has other compiling to do
    first (the command line's file reader); returns the handle to
    ``wait()`` on before the first update."""
    from ..core import prefetch as _prefetch

    if acc._half_life is not None or acc._boot_settings is not None:
        return _prefetch.NOTHING  # rarer paths: compiled on use
    probe = B.toplabel_stats if multiclass else KA.binary_batch
    settings = dict(n_bins=acc._n_bins, right=acc._right, classwise=acc._classwise,
                    auroc=acc._auroc)
    return _prefetch.start(rehearse, settings, 3 if multiclass else None, bool(from_logits),
                           bool(weighted), ignore_index, probe=(probe,),
                           meanwhile=acc._compile_compute)


def compile_compute(acc):
    """Compile (or load) the kernels of :meth:`compute`: the calibration
    errors of a bin table and the AUROC histogram's bounds (this
    process's share while a worker rehearses the updates)."""
    S.ce_from_bins(np.ones((3, acc._n_bins)))
    if acc._auroc == "bounded":
        KAH.hist_bounds(np.ones((KAH.N_CELLS, 3)))


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
    from .accumulator import CalibrationAccumulator  # (it imports this module)

    acc = CalibrationAccumulator(**settings)
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}
    acc.update(y, p, from_logits=from_logits, sample_weight=w, **kw)
