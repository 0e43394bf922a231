"""Proper scores and ranking: the Brier score, the negative log-likelihood and
the AUROC of confidence against correctness (exact Mann-Whitney), one pass
each with validation fused in.
"""

import numpy as np

from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E
from .._kernels.metrics import stats as S
from .binned import _ONE_BIN, _check_total


def _scores(y_true, y_prob, from_logits, sample_weight, check, want_nll, ignore_index):
    from .._kernels.metrics import scores as SC

    sample_weight, _ = V.scaled_weight(sample_weight)  # ratios: the scale cancels
    x = V.prepare(y_true, y_prob, sample_weight, tokens=True)
    L = V.on(from_logits)
    CH = bool(check)
    IG = None if ignore_index is None else V.check_ignore_index(ignore_index, x.p)
    w = x.w
    if x.binary:
        code, idx, total, brier, nll = _core.run(
            SC.binary_scores, x.n, x.y, x.p, w, L, V.on(want_nll), x.eps, CH)
        if code:
            raise E.status_error(code, idx, x.y, x.p, w)
    else:
        # the top-label kernel with one bin: the same row statistics as the report
        bins, (brier, nll) = _core.binned_pass(x, _ONE_BIN, right=True, logits=L, scores=True,
                                               check=CH, ignore=IG)
        total = bins[0].sum()
    if not total > 0 and IG is not None and not (x.y != IG).any():
        w = None  # every row was ignored: say so, weighted or not
    _check_total(total, weighted=w is not None)
    return float(brier / total), float(nll / total)


def brier_score(y_true, y_prob, *, from_logits=False, sample_weight=None, check=True,
                ignore_index=None):
    """Brier score: binary mean (p - y)^2; multiclass mean over rows of
    sum_k (p_k - [y == k])^2 (range [0, 2]). Equals
    ``sklearn.metrics.brier_score_loss`` (for C > 2 with ``labels``).

    Examples
    --------
    >>> import fastcal
    >>> round(fastcal.brier_score([0, 1, 1], [0.1, 0.9, 0.8]), 6)
    0.02
    """
    return _scores(y_true, y_prob, from_logits, sample_weight, check, False, ignore_index)[0]


def nll(y_true, y_prob, *, from_logits=False, sample_weight=None, check=True,
        ignore_index=None):
    """Mean negative log-likelihood (natural log).

    From probabilities it equals ``sklearn.metrics.log_loss``: probabilities
    are clipped to ``[eps, 1 - eps]`` with ``eps`` the machine epsilon of the
    input dtype (float32: 1.19e-7, float64: 2.22e-16), and no renormalisation.
    From logits (``from_logits=True``) it is exact and unclipped:
    ``logsumexp(z) - z_y`` (binary: ``softplus(-z)`` for y = 1,
    ``softplus(z)`` for y = 0), computed in float64.

    Examples
    --------
    >>> import fastcal
    >>> round(fastcal.nll([0, 1, 1], [0.1, 0.9, 0.8]), 6)  # -(2 log 0.9 + log 0.8) / 3
    0.144622
    >>> round(fastcal.nll([1], [0.0]), 3)  # clipped at float64 eps
    36.044
    """
    return _scores(y_true, y_prob, from_logits, sample_weight, check, True, ignore_index)[1]


def auroc(y_true, y_score, *, sample_weight=None):
    """Area under the ROC curve of ``y_score`` for the binary ``y_true``.

    Exact Mann-Whitney statistic with ties counting 1/2, equal to
    ``sklearn.metrics.roc_auc_score``; computed with a radix partition of the
    scores (no comparison sort), in O(n). ``y_score`` may be any finite real
    (probabilities, logits, uncertainty scores). With a single class present
    the AUROC is undefined: returns NaN and warns ``UndefinedMetricWarning``.

    Examples
    --------
    >>> import fastcal
    >>> fastcal.auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y_score = one_score_per_sample(y_score, "y_score", "a binary problem", multiclass_hint=(
        " For a multiclass model, use calibration_report (AUROC of confidence against "
        "correctness)."))
    x = V.prepare(y_true, y_score, sample_weight, "y_score")
    y_true, y_score, w = x.y, x.p, x.w
    from .._kernels.metrics import scores as SC

    code, idx, lab = SC.binary_labels(y_true, y_score, w)
    E.raise_for_status(code, idx, y_true, y_score, w, prob_name="y_score")
    return auroc_from_labels(y_score, lab, w)


def one_score_per_sample(y_score, name, what="one score per sample of a binary problem",
                         multiclass_hint=""):
    """``y_score`` as a 1-D float array, or the error naming what it is
    (a scalar, a 2-D array) -- before the generic 1-D/2-D check of
    ``core.pipeline.prepare``, which would offer 2-D."""
    arr, _ = V.as_prob(y_score, name, ndims=None)
    if arr.ndim != 1:
        found = "a scalar" if arr.ndim == 0 else f"shape {arr.shape}"
        raise E.input_error(f"{{y_prob}} must be 1-D ({what}); found {found}."
                            + (multiclass_hint if arr.ndim == 2 else ""), {"y_prob": name},
                            param=name)
    return arr


def auroc_from_labels(score, lab, w):
    """AUROC of a validated score (float32/64) against 0/1 labels (uint8 or bool)."""
    if lab.dtype == np.bool_:
        lab = lab.view(np.uint8)
    if w is not None:  # u sums products of weights: scaled, it neither overflows nor underflows
        w = V.scale(w, V.weight_exponent(w))
    u, wpos, wneg, _ = _core.mann_whitney(score, lab, w)
    if not (wpos > 0.0 and wneg > 0.0):
        E.warn_undefined(
            "Only one class is present in y_true (or all weight is on one class): "
            "AUROC is not defined; returning nan."
        )
        return float("nan")
    return u / (wpos * wneg)


def rehearse_auroc(n, weighted, delong=False):
    """:func:`auroc_from_labels` (with ``delong``: ``uncertainty.delong.auroc_with_ci``,
    a report with ``ci``) on synthetic rows of the types a report on
    ``n`` rows passes it (float64 confidence, bool correctness, float64
    weights when ``weighted``), and enough of them to take the same path,
    then the calibration errors of a (3, n_bins) bin table: compiles what a
    report compiles after its binned pass (the compile-ahead task of
    ``fastcal.core.prefetch``)."""
    m = max(4, min(int(n), _core.SORT_MAX))
    conf = np.linspace(0.0, 1.0, m)
    corr = np.arange(m) % 3 != 0
    w = np.linspace(0.5, 1.5, m) if weighted else None
    if delong:
        from ..uncertainty.delong import auroc_with_ci

        auroc_with_ci(conf, corr, w, 0.95)
    else:
        auroc_from_labels(conf, corr, w)
    S.ce_from_bins(np.ones((3, 15)))


def compile_ahead_auroc(y_prob, sample_weight, delong=False):
    """Start rehearsing the AUROC a report of ``y_prob`` will need (with
    ``delong``: and DeLong's sums, a report with ``ci``; see
    ``fastcal.core.prefetch``); returns the handle to wait on."""
    from ..core import prefetch as _prefetch

    shape = getattr(y_prob, "shape", None)
    try:
        n = (len(y_prob) if shape is None else
             int(np.prod(shape[:-1])) if len(shape) > 1 else int(shape[0]))
    except Exception:  # validation will say what is wrong
        return _prefetch.NOTHING
    return _prefetch.start(rehearse_auroc, n, sample_weight is not None, bool(delong),
                           probe=(_core.mann_whitney_probe(n, delong),))
