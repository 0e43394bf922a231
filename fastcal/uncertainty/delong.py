"""DeLong variance, confidence interval and paired test for the AUROC.

DeLong, DeLong and Clarke-Pearson (1988), "Comparing the areas under two or
more correlated receiver operating characteristic curves: a nonparametric
approach", Biometrics 44(3), 837-845.

With ``m`` positives ``x_i`` and ``n`` negatives ``y_j``, the placement
values (structural components) are

    V10_i = (#{j: y_j < x_i} + #{j: y_j = x_i} / 2) / n     (per positive)
    V01_j = (#{i: x_i > y_j} + #{i: x_i = y_j} / 2) / m     (per negative)

Both average to the AUROC ``A`` (the Mann-Whitney statistic, ties 1/2, equal
to :func:`fastcal.auroc` and ``sklearn.metrics.roc_auc_score``), and

    Var(A) = S10 / m + S01 / n,
    S10 = sum_i (V10_i - A)^2 / (m - 1),  S01 = sum_j (V01_j - A)^2 / (n - 1).

The sums of squared placements come from the same pass as the AUROC
(``core.pipeline.mann_whitney``: the radix partition of ``_kernels/metrics/auroc.py``, or below
``core.pipeline.SORT_MAX`` scores one radix sort), about the cost of one
:func:`fastcal.auroc`.  The paired test needs every sample's placements under
both scores (``_kernels/uncertainty/delong.py``: a stable radix argsort per score).
"""

import math
import warnings
from statistics import NormalDist

import numpy as np

from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E

METHODS = ("wald", "logit")


def _binary(y_true, y_score, sample_weight, name):
    """Validated (score, uint8 labels, weights or None, n, e) for a 1-D score;
    the weights are divided by ``2**e`` (``V.weight_exponent``: the kernels
    sum their products and cubes)."""
    from .._kernels.metrics import scores as SC

    from ..metrics.scores import one_score_per_sample

    y_score = one_score_per_sample(y_score, name)
    x = V.prepare(y_true, y_score, sample_weight, name)
    y_true, y_score, w, n = x.y, x.p, x.w, x.n
    code, idx, lab = SC.binary_labels(y_true, y_score, w)
    E.raise_for_status(code, idx, y_true, y_score, w, prob_name=name)
    e = V.weight_exponent(w)
    return y_score, lab, V.scale(w, e), n, e


def _check_level(level):
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise TypeError(f"level must be a number strictly between 0 and 1; found {level!r}.")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(
            f"level must be strictly between 0 and 1 (e.g. 0.95 for a 95% interval); found {level!r}."
        )
    return level


def _one_class():
    E.warn_undefined(
        "Only one class is present in y_true (or all weight is on one class): "
        "AUROC is not defined; returning nan."
    )


def _too_few(wp, wn):
    E.warn_undefined(
        "The DeLong variance needs at least two positives and two negatives "
        f"(total weight above 1 in each class); found {wp:g} positive and {wn:g} negative. "
        "Returning nan for the variance (sample_weight counts as repetitions)."
    )


def _variance(u, wp, wn, q, e=0):
    """(auc, variance) from the kernel's sums; variance nan when undefined.
    The weights were divided by ``2**e``: the variance uses the true class
    weights (frequency weights), the sums of squares scale out."""
    auc = float(u / (wp * wn))
    wpt, wnt = V.unscale(wp, e), V.unscale(wn, e)
    if not (wpt > 1.0 and wnt > 1.0):
        _too_few(wpt, wnt)
        return auc, float("nan")
    # Sums of squares about the mean of whichever placement (below or above)
    # has the smaller mean: no cancellation when the AUROC is near 0 or 1.
    if auc > 0.5:
        mean = 1.0 - auc
        s10, s01 = q[1], q[3]
    else:
        mean = auc
        s10, s01 = q[0], q[2]
    ss10 = max(s10 / (wn * wn) - wp * (mean * mean), 0.0)
    ss01 = max(s01 / (wp * wp) - wn * (mean * mean), 0.0)
    var = ss10 / (wpt - 1.0) / wp + ss01 / (wnt - 1.0) / wn
    return auc, float(var)


def auroc_variance(y_true, y_score, *, sample_weight=None):
    """AUROC and its DeLong (1988) variance, in one pass without sorting.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or bool.
    y_score : array-like of shape (n,)
        Any finite real scores, higher meaning "more likely positive".
    sample_weight : array-like of shape (n,), optional
        Frequency weights: weight ``k`` counts as ``k`` copies of the sample,
        so ``m`` and ``n`` in the variance are the weight sums of the
        positives and negatives (rescaling the weights changes the variance).

    Returns
    -------
    auroc : float
        Equal to :func:`fastcal.auroc`.
    variance : float
        ``S10 / m + S01 / n`` (see the module notes). NaN, with an
        ``UndefinedMetricWarning``, when a class has total weight <= 1.

    Notes
    -----
    One class only: ``(nan, nan)`` and an ``UndefinedMetricWarning``.

    Examples
    --------
    >>> from fastcal.uncertainty.delong import auroc_variance
    >>> auc, var = auroc_variance([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> round(auc, 4), round(var, 6)
    (0.8889, 0.024691)
    """
    return _auroc_variance(y_true, y_score, sample_weight)


def _auroc_variance(y_true, y_score, sample_weight, weight_exp=0):
    """:func:`auroc_variance` of weights given divided by ``2**weight_exp``."""
    score, lab, w, n, e = _binary(y_true, y_score, sample_weight, "y_score")
    u, wp, wn, q = _core.mann_whitney(score, lab, w, want=True)
    if not (wp > 0.0 and wn > 0.0):
        _one_class()
        return float("nan"), float("nan")
    return _variance(u, wp, wn, q, e + weight_exp)


def _z(level):
    return NormalDist().inv_cdf(0.5 + 0.5 * level)


def auroc_ci(y_true, y_score, *, level=0.95, method="wald", sample_weight=None):
    """AUROC with a DeLong confidence interval: ``(estimate, low, high)``.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or bool.
    y_score : array-like of shape (n,)
        Any finite real scores.
    level : float, default 0.95
        Coverage of the two-sided interval, strictly between 0 and 1.
    method : {"wald", "logit"}, default "wald"
        ``"wald"``: ``A -/+ z * sqrt(Var)`` clipped to [0, 1], as pROC's
        ``ci.auc(method="delong")``.  ``"logit"``: the same interval built on
        ``logit(A)`` with the delta-method standard error
        ``sqrt(Var) / (A (1 - A))`` and mapped back; it stays inside (0, 1)
        and is asymmetric, which covers better when ``A`` is near 1 in small
        samples.
    sample_weight : array-like of shape (n,), optional
        Frequency weights (weight ``k`` = ``k`` copies), see
        :func:`auroc_variance`.

    Returns
    -------
    (estimate, low, high) : tuple of float
        ``estimate`` equals :func:`fastcal.auroc`.

    Notes
    -----
    ``z`` is the standard normal quantile at ``(1 + level) / 2``.  When the
    estimate is exactly 0 or 1 the DeLong variance is 0 and both methods
    return the degenerate interval ``(A, A)``.  With one class only:
    ``(nan, nan, nan)`` and an ``UndefinedMetricWarning``; with fewer than two
    samples (total weight <= 1) in a class the estimate is returned with a NaN
    interval and the warning.  The variance is computed in the same radix pass
    as the AUROC (no sort).

    Examples
    --------
    >>> from fastcal.uncertainty.delong import auroc_ci
    >>> est, lo, hi = auroc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> round(est, 4), round(lo, 4), round(hi, 4)
    (0.8889, 0.5809, 1.0)
    >>> est, lo, hi = auroc_ci([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7],
    ...                        method="logit")
    >>> round(lo, 4), round(hi, 4)
    (0.2614, 0.9945)
    """
    return scaled_ci(y_true, y_score, level, method, sample_weight)


def scaled_ci(y_true, y_score, level, method, sample_weight, weight_exp=0):
    """:func:`auroc_ci` of weights given divided by ``2**weight_exp``."""
    level = _check_level(level)
    V.check_choice(method, "method", METHODS)
    auc, var = _auroc_variance(y_true, y_score, sample_weight, weight_exp)
    return _interval(auc, var, level, method)


def auroc_with_ci(score, correct, w, level, weight_exp=0):
    """``(auroc, low, high)`` of validated float64 scores against bool (or
    uint8 0/1) labels, weights divided by ``2**weight_exp`` or None: the AUROC
    of ``metrics.scores.auroc_from_labels`` (bitwise) and the Wald interval of
    :func:`scaled_ci`, from one Mann-Whitney pass (a report with ``ci``).
    One class only: NaN and the ``UndefinedMetricWarning`` of
    ``auroc_from_labels``; too few samples for the variance: NaN bounds,
    without a warning."""
    lab = correct.view(np.uint8) if correct.dtype == np.bool_ else correct
    e = 0
    if w is not None:  # scaled as auroc_from_labels and _binary scale them
        e = V.weight_exponent(w)
        w = V.scale(w, e)
    u, wp, wn, q = _core.mann_whitney(score, lab, w, want=True)
    nan = float("nan")
    if not (wp > 0.0 and wn > 0.0):
        _one_class()
        return nan, nan, nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", E.UndefinedMetricWarning)
        auc, var = _variance(u, wp, wn, q, e + weight_exp)
    return _interval(auc, var, level, "wald")


def _interval(auc, var, level, method):
    """``(auc, low, high)`` of the DeLong variance ``var`` (see :func:`auroc_ci`)."""
    if math.isnan(var):
        return auc, float("nan"), float("nan")
    z = _z(level)
    se = math.sqrt(var)
    if method == "wald" or se == 0.0 or not 0.0 < auc < 1.0:
        return auc, max(0.0, auc - z * se), min(1.0, auc + z * se)
    logit = math.log(auc / (1.0 - auc))
    half = z * se / (auc * (1.0 - auc))
    return auc, 1.0 / (1.0 + math.exp(-(logit - half))), 1.0 / (1.0 + math.exp(-(logit + half)))


def delong_test(y_true, score_a, score_b, *, sample_weight=None):
    """Paired DeLong test of two AUROCs on the same samples.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0/1 or bool.
    score_a, score_b : array-like of shape (n,)
        Two scores of the same samples (e.g. two models' confidences).
    sample_weight : array-like of shape (n,), optional
        Frequency weights (weight ``k`` = ``k`` copies).

    Returns
    -------
    difference : float
        ``AUROC(score_a) - AUROC(score_b)``.
    z : float
        ``difference / sqrt(Var(difference))`` with the DeLong covariance,
        ``Var = S10 / m + S01 / n`` where ``S10`` (``S01``) is the sample
        variance over the positives (negatives) of the difference of their
        placement values under the two scores.
    p_value : float
        Two-sided, from the standard normal: ``erfc(|z| / sqrt(2))``.

    Notes
    -----
    When the variance of the difference is exactly 0 (the two scores give
    every sample the same placements, e.g. identical scores or one a monotone
    transform of the other) and the difference is 0, the result is
    ``(0.0, 0.0, 1.0)``: no evidence of a difference (not NaN).  A non-zero
    difference with zero variance gives ``z = +/-inf`` and ``p = 0``.  One
    class only: NaN everywhere and an ``UndefinedMetricWarning``; fewer than
    two samples (weight <= 1) in a class: the difference with NaN ``z`` and
    ``p`` and the warning.  Cost: a stable radix argsort of each score
    (O(n), the two on two threads for large n) and a few passes.

    Examples
    --------
    >>> from fastcal.uncertainty.delong import delong_test
    >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
    >>> a = [0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.3, 0.9]
    >>> b = [0.3, 0.2, 0.4, 0.5, 0.6, 0.1, 0.7, 0.8]
    >>> d, z, p = delong_test(y, a, b)
    >>> round(d, 4), round(z, 4), round(p, 4)
    (0.4375, 1.5398, 0.1236)
    >>> delong_test(y, a, a)
    (0.0, 0.0, 1.0)
    """
    diff, var = paired_variance(y_true, score_a, score_b, sample_weight)
    if math.isnan(var):
        return diff, float("nan"), float("nan")
    return normal_test(diff, var)


def normal_test(diff, var):
    """``(difference, z, p)`` of :func:`delong_test` from the difference and
    its variance (0: ``(0, 0, 1)``, or ``z = +/-inf`` and ``p = 0``)."""
    if var == 0.0:
        if diff == 0.0:
            return 0.0, 0.0, 1.0
        return diff, math.copysign(math.inf, diff), 0.0
    z = diff / math.sqrt(var)
    return diff, z, math.erfc(abs(z) / math.sqrt(2.0))


def paired_variance(y_true, score_a, score_b, sample_weight=None):
    """``(AUROC(a) - AUROC(b), DeLong variance of the difference)`` behind
    :func:`delong_test` (NaN variance, with the warning, when undefined)."""
    sa, lab, w, n, e = _binary(y_true, score_a, sample_weight, "score_a")
    yt = V.as_labels(y_true)
    sb, _ = V.as_prob(score_b, "score_b", ndims=(1,))
    if sb.shape[0] != n:
        raise E.input_error(
            f"score_a and {{y_prob}} must have the same length: found {n} and {sb.shape[0]}.",
            {"y_prob": "score_b"}, param="score_b")
    from .._kernels.metrics import scores as SC

    code, idx, _ = SC.binary_labels(yt, sb, w)
    E.raise_for_status(code, idx, yt, sb, w, prob_name="score_b")
    ua, ub, wp, wn, s10, s01 = _core.delong_pair(sa, sb, lab, w)
    if not (wp > 0.0 and wn > 0.0):
        _one_class()
        return float("nan"), float("nan")
    diff = float(ua / (wp * wn) - ub / (wp * wn))
    wpt, wnt = V.unscale(wp, e), V.unscale(wn, e)  # frequency weights: the true class weights
    if not (wpt > 1.0 and wnt > 1.0):
        _too_few(wpt, wnt)
        return diff, float("nan")
    return diff, float(s10 / (wpt - 1.0) / wp + s01 / (wnt - 1.0) / wn)
