"""Public calibration metrics (functional API)."""

from typing import NamedTuple

import numpy as np

from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E
from .._kernels.metrics import binned as B
from .._kernels.metrics import stats as S

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
_FAST_LABELS = frozenset(np.dtype(t) for t in (np.int64, np.int32, np.uint8, np.int8,
                                               np.float64, np.float32, np.bool_))
_I64 = np.dtype(np.int64)
_NORM_INDEX = {"l1": 1, "l2": 2, "max": 3, "signed": 4}
_ONE_BIN = V.uniform_edges(1)


class ReliabilityCurve(NamedTuple):
    """Every bin of a reliability diagram.

    Attributes
    ----------
    edges : ndarray of shape (n_bins + 1,)
        Bin edges (``(C, n_bins + 1)`` for classwise quantile bins).
    count : ndarray of shape (n_bins,)
        Number of samples per bin (int64), or the sum of their weights
        (float64) when ``sample_weight`` was given.
    confidence : ndarray of shape (n_bins,)
        Mean confidence per bin, NaN where the bin is empty.
    accuracy : ndarray of shape (n_bins,)
        Fraction correct (binary: fraction of ``y_true == 1``) per bin, NaN
        where the bin is empty.

    The classwise report's curve has one row per class: ``count``,
    ``confidence`` and ``accuracy`` of shape (C, n_bins) (the binary problem
    ``(y_prob[:, k], y_true == k)`` in row k).
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    def intervals(self, level=0.95, method="wilson"):
        """``(low, high)`` interval on every bin's accuracy (NaN for empty bins).

        ``method="wilson"`` (score interval) or ``"jeffreys"`` (equal-tailed
        Beta(x + 1/2, n - x + 1/2)); a bin's count, or weight sum (weights
        are frequency weights), is the number of trials.

        Examples
        --------
        >>> import fastcal
        >>> c = fastcal.reliability_curve([0, 1, 1, 1], [0.2, 0.3, 0.8, 0.9], n_bins=2)
        >>> lo, hi = c.intervals()
        >>> lo.round(3).tolist(), hi.round(3).tolist()
        ([0.095, 0.342], [0.905, 1.0])
        """
        from ..uncertainty.intervals import bin_intervals

        return bin_intervals(self, level=level, method=method)


def curve_from_bins(bins, edges, weighted, weight_exp=0):
    """Curve from ``bins`` (3, n_bins), or (C, 3, n_bins) for per-class curves;
    ``weight_exp``: the bins hold weights divided by ``2**weight_exp``
    (``V.scaled_weight``), the counts are the true weight sums."""
    w = bins[..., 0, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(w > 0, bins[..., 1, :] / w, np.nan)
        acc = np.where(w > 0, bins[..., 2, :] / w, np.nan)
    count = V.unscale(w.copy(), weight_exp) if weighted else np.rint(w).astype(np.int64)
    return ReliabilityCurve(np.array(edges, dtype=np.float64), count, conf, acc)


def _check_total(total, b=None, weighted=True):
    """Raise when no weight is left.  ``b`` (a ``core.pipeline.Binned``) tells whether
    rows were ignored; ``weighted=False``: no weights were given, so every row
    was ignored."""
    if total > 0.0:
        return
    if b is not None:
        weighted = b.weighted
        if b.keep is not None and not b.keep.any():
            weighted = False
    if not weighted:
        raise E.all_ignored_error()
    raise E.weight_sum_error(kept=b is not None and b.keep is not None)


def calibration_error(y_true, y_prob, *, n_bins=15, norm="l1", strategy="uniform",
                      right=True, classwise=False, from_logits=False, sample_weight=None,
                      check=True, ignore_index=None, debias=False, convention="fastcal"):
    """Binned calibration error: ECE (``norm="l1"``), RMSCE (``"l2"``), MCE (``"max"``)
    or the signed error (``"signed"``, positive when overconfident).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary: 0/1 (bool, integers or floats exactly 0/1), "the answer was
        correct" for an LLM. Multiclass: integer labels in ``[0, C)``.
    y_prob : array-like of shape (n,), (n, C) or (..., C)
        Binary: probability that ``y_true == 1``. Multiclass: rows of class
        probabilities summing to 1. Logits with ``from_logits=True``.
        Token-level input (..., C), e.g. (batch, seq, vocab) with ``y_true``
        of shape (batch, seq), is flattened to rows (no copy). float16 and
        bfloat16 (ml_dtypes arrays, torch CPU tensors) are read as they are,
        without an upcast copy.
    n_bins : int, default=15
        Number of bins.
    norm : {"l1", "l2", "max", "signed"}, default="l1"
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins on [0, 1], or equal-mass bins with edges
        ``np.quantile(confidence, linspace(0, 1, n_bins + 1))`` (weighted:
        the ``inverted_cdf`` quantile).
    right : bool, default=True
        Right-closed bins ``(e_i, e_{i+1}]`` with 0 in the first bin
        (scikit-learn, Guo et al. 2017, Kumar et al. 2019). ``False``:
        left-closed ``[e_i, e_{i+1})`` with 1 in the last bin (numpy.histogram,
        netcal).
    classwise : bool, default=False
        Multiclass only: average over classes k of the binary calibration
        error of ``(y_prob[:, k], y_true == k)``. Default is top-label:
        confidence ``max_k p_k``, correct when the first argmax equals ``y_true``.
    from_logits : bool, default=False
        ``y_prob`` holds logits: sigmoid for 1-D, softmax (float64, per row) for 2-D.
    sample_weight : array-like of shape (n,), optional
        Non-negative weights; weight k equals repeating the row k times.
    check : bool, default=True
        ``False`` skips the value checks (range, finiteness, row sums) in the
        kernel, for hot loops on trusted input. Shapes, lengths and label
        ranges are always checked, so bad input cannot crash the interpreter.
    ignore_index : int, optional
        Multiclass / token input: rows whose label equals it (padding, -100
        in common LLM training code) are skipped, neither counted nor
        validated.
    debias : bool, default=False
        With ``norm="l2"``: the debiased estimator of Kumar, Liang & Ma
        (2019), ``sqrt(max(0, sum_b (W_b / W) [(conf_b - acc_b)^2 -
        acc_b (1 - acc_b) / (W_b - 1)]))`` (classwise: the root of the mean
        over classes of the clipped per-class estimates).
    convention : {"fastcal", "sklearn", "torchmetrics", "netcal", "helm"}, default="fastcal"
        Reproduce another library's binning exactly (``l1``, ``l2``, ``max``
        norms, probabilities): torchmetrics' float32 ``torch.linspace``
        edges with confidence 1.0 in an extra bin, netcal's clipping and
        left-closed bins, scikit-learn's percentile edges
        (``strategy="quantile"``), HELM's equal-mass bins (``n_bins=10`` is
        HELM's ``ece_10_bin``). See ``docs/conventions.md``.

    Returns
    -------
    float

    Notes
    -----
    ECE = sum_b (W_b / W) |acc_b - conf_b| over non-empty bins, where W_b is
    the bin's count (or weight). Confidences are compared with the float64
    edges ``np.linspace(0, 1, n_bins + 1)``; no fastmath is used, so a value
    exactly on an edge lands in the bin the convention says.

    Examples
    --------
    >>> import fastcal
    >>> fastcal.calibration_error([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3], n_bins=5)
    0.2
    >>> fastcal.calibration_error([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3], n_bins=5, norm="max")
    0.4
    """
    k = _NORM_INDEX.get(norm)
    if k is None:
        V.check_choice(norm, "norm", V.NORMS)
    if convention != "fastcal":
        return _with_convention(y_true, y_prob, n_bins, norm, strategy, right, classwise,
                                from_logits, sample_weight, ignore_index, debias, convention)
    if debias:
        return _debiased(y_true, y_prob, n_bins, norm, strategy, right, classwise, from_logits,
                         sample_weight, check, ignore_index)
    return _ce(y_true, y_prob, n_bins, k, strategy, right, classwise, from_logits,
               sample_weight, check, ignore_index)


def _with_convention(y_true, y_prob, n_bins, norm, strategy, right, classwise, from_logits,
                     sample_weight, ignore_index, debias, convention):
    from .conventions import check_options, ece_with_convention

    check_options(convention, strategy, ["norm='signed'"] if norm == "signed" else [],
                  right=(right, True), classwise=(classwise, False),
                  from_logits=(from_logits, False), ignore_index=(ignore_index, None),
                  debias=(debias, False))
    return ece_with_convention(y_true, y_prob, convention, n_bins=n_bins, norm=norm,
                               sample_weight=sample_weight, strategy=strategy)


def _debiased(y_true, y_prob, n_bins, norm, strategy, right, classwise, from_logits,
              sample_weight, check, ignore_index):
    from .smooth import debiased_l2_from_bins

    if norm != "l2":
        raise ValueError(f"debias=True is defined for norm='l2' (Kumar et al. 2019); found "
                         f"norm={norm!r}.")
    sample_weight, e = V.scaled_weight(sample_weight)
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                     classwise=classwise, from_logits=from_logits,
                     sample_weight=sample_weight, scores=False, want_cc=False, check=check,
                     ignore_index=ignore_index)
    _check_total(b.bins[..., 0, :].sum() / (b.bins.shape[0] if b.bins.ndim == 3 else 1), b)
    if b.layout == "classwise":
        sq = [max(debiased_l2_from_bins(b.bins[k], squared=True, weight_exp=e), 0.0)
              for k in range(b.bins.shape[0])]
        return float(np.sqrt(np.mean(sq)))
    return float(debiased_l2_from_bins(b.bins, weight_exp=e))


def _ce(y_true, y_prob, n_bins, k, strategy, right, classwise, from_logits, sample_weight,
        check, ignore_index=None):
    # Fast path for the hot-loop case: 1-D numpy input, uniform bins, no weights.
    if (type(y_prob) is np.ndarray and type(y_true) is np.ndarray and y_prob.ndim == 1
            and y_true.ndim == 1 and (y_prob.dtype is _F64 or y_prob.dtype is _F32)
            and y_true.dtype in _FAST_LABELS and strategy == "uniform"
            and sample_weight is None and not classwise and type(n_bins) is int
            and ignore_index is None
            and 0 < n_bins <= 1_000_000 and y_prob.shape[0] == y_true.shape[0]
            and 0 < y_prob.shape[0] < _core.PARALLEL_MIN):
        if y_true.dtype is not _I64:
            y_true = V.kernel_labels(y_true)
        r = B.binary_ce(y_true, y_prob, None, V.uniform_edges(n_bins), True,
                         V.on(right), V.on(from_logits), bool(check))
        if r[0]:
            E.raise_for_status(r[0], r[1], y_true, y_prob)
        return r[k + 2]
    sample_weight, _ = V.scaled_weight(sample_weight)  # ratios: the scale cancels
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                     classwise=classwise, from_logits=from_logits,
                     sample_weight=sample_weight, scores=False, want_cc=False, check=check,
                     ignore_index=ignore_index)
    if b.layout == "classwise":
        res = S.classwise_ce_from_bins(b.bins)
    else:
        res = S.ce_from_bins(b.bins)
    _check_total(res[0], b)
    return res[k]


def _fixed_norm(name, norm, doc):
    """:func:`calibration_error` with ``norm`` fixed (and no ``debias``), as ``name``."""

    def f(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True, classwise=False,
          from_logits=False, sample_weight=None, check=True, ignore_index=None,
          convention="fastcal"):
        return calibration_error(y_true, y_prob, n_bins=n_bins, norm=norm, strategy=strategy,
                                 right=right, classwise=classwise, from_logits=from_logits,
                                 sample_weight=sample_weight, check=check,
                                 ignore_index=ignore_index, convention=convention)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


ece = _fixed_norm("ece", "l1", """Expected calibration error: :func:`calibration_error` with ``norm="l1"``.

    Examples
    --------
    >>> import fastcal
    >>> round(fastcal.ece([1, 1, 0, 1], [0.9, 0.8, 0.7, 0.95], n_bins=10), 4)  # (.1+.2+.7+.05)/4
    0.2625
    """)
mce = _fixed_norm("mce", "max", """Maximum calibration error over non-empty bins: ``norm="max"``.

    Examples
    --------
    >>> import fastcal
    >>> fastcal.mce([1, 1, 0, 1], [0.9, 0.8, 0.7, 0.95], n_bins=10)
    0.7
    """)
rmsce = _fixed_norm("rmsce", "l2", """Root-mean-square calibration error: ``norm="l2"``.

    Examples
    --------
    >>> import fastcal
    >>> round(fastcal.rmsce([1, 1, 0, 1], [0.9, 0.8, 0.7, 0.95], n_bins=10), 4)
    0.3683
    """)


def reliability_curve(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True,
                      from_logits=False, sample_weight=None, ignore_index=None):
    """Per-bin count, mean confidence and accuracy (top-label for multiclass).

    Returns every bin, empty ones included (NaN confidence and accuracy), so
    the output shape depends only on ``n_bins``. See :func:`calibration_error`
    for the parameters and the bin convention.

    Returns
    -------
    ReliabilityCurve
        ``(edges, count, confidence, accuracy)``.

    Examples
    --------
    >>> import fastcal
    >>> c = fastcal.reliability_curve([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3], n_bins=2)
    >>> c.count.tolist(), c.accuracy.tolist()
    ([2, 2], [0.0, 1.0])
    """
    sample_weight, e = V.scaled_weight(sample_weight)
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                     classwise=False, from_logits=from_logits, sample_weight=sample_weight,
                     scores=False, want_cc=False, ignore_index=ignore_index)
    _check_total(b.bins[0].sum(), b)
    return curve_from_bins(b.bins, b.edges[0], b.weighted, e)
