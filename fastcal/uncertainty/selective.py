"""Selective prediction: the risk-coverage curve, its area (AURC) and the
prediction-rejection ratio (PRR), as used to evaluate the uncertainty of LLM
answers.

A model answers only its ``k`` most confident questions; the *risk* at
coverage ``k / n`` is the error rate among them.  When confidences tie, the
``k`` most confident are not unique.  Every function here is defined as the
**expectation over uniformly random orders of tied confidences**, computed in
closed form (``_kernels/uncertainty/selective.py``), so the result is deterministic and
invariant to the order of the input.  Implementations that rank with an
unstable ``np.argsort`` (LM-Polygraph, most research code) give a number that
depends on how the sort happens to order each tie block; they agree with this
one whenever the confidences are distinct.

Sample weights are not supported: a weighted "k most confident" has a random
coverage inside a tie block, and the weighted curve has no single natural
definition.
"""


import numpy as np

from ..core import validation as V
from ..core import errors as E
from .._kernels import common as KC

_EMPTY = np.empty(0, dtype=np.float64)


def _inputs(correct, confidence):
    """Validated (uint8 0/1 correctness, float confidence)."""
    from .._kernels.metrics import scores as SC

    c = V.as_labels(correct, "correct")
    s, _ = V.as_prob(confidence, "confidence", ndims=(1,))
    n = s.shape[0]
    terms = {"y_true": "correct", "y_prob": "confidence"}
    if c.shape[0] != n:
        raise E.input_error(
            f"{{y_true}} and {{y_prob}} must have the same length: found {c.shape[0]} and {n}.",
            terms, param="correct")
    if n == 0:
        raise E.input_error("{y_true} and {y_prob} are empty; at least one sample is required.",
                            terms, param="correct")
    code, idx, lab = SC.binary_labels(c, s, None)
    if code == KC.BAD_BINARY_LABEL:
        raise E.input_error(
            "{y_true} must be 0/1 (or bool), 1 meaning the answer was right; "
            f"found {c[idx].item()!r}{{at}}.", dict(terms, at=f" at index {idx}"),
            param="correct", index=int(idx), value=c[idx].item())
    E.raise_for_status(code, idx, c, s, prob_name="confidence")
    return lab, s


def _curve(correct, confidence, want_curve):
    from .._kernels.uncertainty import selective as KSEL

    lab, s = _inputs(correct, confidence)
    n = s.shape[0]
    out = np.empty(n, np.float64) if want_curve else _EMPTY
    total, errs = KSEL.risk_curve(lab, s, out)
    return n, float(total), int(errs), out


def risk_coverage_curve(correct, confidence):
    """Risk of answering only the ``k`` most confident samples, for every k.

    Parameters
    ----------
    correct : array-like of shape (n,)
        1 (or True) where the answer was right, 0 where it was wrong.
    confidence : array-like of shape (n,)
        Any finite real confidence, higher meaning "more likely right"
        (pass ``-uncertainty`` for an uncertainty score).

    Returns
    -------
    coverage : ndarray of shape (n,)
        ``k / n`` for k = 1..n.
    risk : ndarray of shape (n,)
        Expected error rate among the ``k`` most confident samples, the
        expectation taken over uniformly random orders of tied confidences:
        with ``E_k`` the expected number of errors among them,
        ``risk[k - 1] = E_k / k``.  ``risk[-1]`` is the overall error rate.

    Examples
    --------
    >>> from fastcal.uncertainty.selective import risk_coverage_curve
    >>> cov, risk = risk_coverage_curve([1, 0, 1, 1], [0.9, 0.8, 0.8, 0.3])
    >>> cov.tolist()
    [0.25, 0.5, 0.75, 1.0]
    >>> risk.tolist()   # the tie at 0.8 puts half an error in second place
    [0.0, 0.25, 0.3333333333333333, 0.25]
    """
    n, _, _, risk = _curve(correct, confidence, True)
    coverage = np.arange(1, n + 1, dtype=np.float64) / n
    return coverage, risk


def aurc(correct, confidence):
    """Area under the risk-coverage curve (Geifman & El-Yaniv 2017).

    ``AURC = (1 / n) sum_{k=1}^{n} E_k / k``: the mean, over k, of the error
    rate among the ``k`` most confident samples (ties: expectation over
    uniformly random orders, see :func:`risk_coverage_curve`).  Lower is
    better; a random ranking scores the error rate, the best possible ranking
    (every right answer first) scores ``(1 / n) sum_{k > C} (k - C) / k``
    with ``C`` the number of right answers.

    Y. Geifman and R. El-Yaniv, "Selective classification for deep neural
    networks", NeurIPS 2017; the area as the mean of the per-k risks is
    Geifman et al., "Bias-reduced uncertainty estimation for deep neural
    classifiers", ICLR 2019 (and LM-Polygraph's ``rcc-auc``).

    Examples
    --------
    >>> from fastcal.uncertainty.selective import aurc
    >>> aurc([1, 0, 1, 1], [0.9, 0.8, 0.8, 0.3])   # (0 + 1/4 + 1/3 + 1/4) / 4
    0.20833333333333331
    """
    n, total, _, _ = _curve(correct, confidence, False)
    return float(total / n)


def _oracle_aurc(n, n_err):
    c = n - n_err
    k = np.arange(c + 1, n + 1, dtype=np.float64)
    return float(np.sum(1.0 - c / k)) / n


def prediction_rejection_ratio(correct, confidence):
    """Prediction-rejection ratio: how much of the oracle's gain over a
    random ranking the confidence achieves, 1 = oracle, 0 = random.

    ``PRR = (AURC_random - AURC) / (AURC_random - AURC_oracle)`` where
    ``AURC`` is :func:`aurc` of the confidence, ``AURC_random`` = the error
    rate (the exact expectation of AURC under a uniformly random ranking) and
    ``AURC_oracle`` the AURC of the ranking that puts every right answer
    first.  Negative when the confidence ranks worse than chance.

    This is the PRR of Malinin et al. ("Ensemble distribution distillation",
    ICLR 2020, arXiv 2019; A. Malinin and M. Gales, "Uncertainty estimation
    in autoregressive structured prediction", ICLR 2021) in the form
    LM-Polygraph computes (Fadeeva et al. 2023; ``PredictionRejectionArea``
    normalised by ``normalize_metric``): the rejection curve is the mean
    quality (here: 1 - error) of the retained samples, averaged over the n
    retention sizes, so ``PRA = 1 - AURC`` and the ratio above is
    ``(PRA - PRA_random) / (PRA_oracle - PRA_random)``.  LM-Polygraph
    estimates ``PRA_random`` from 1000 random shuffles; this is its exact
    value.  Malinin's original curve counts the retained errors over all n
    samples (rejected ones replaced by the oracle) instead of over the
    retained k, which weights the coverages differently.

    Returns NaN with an ``UndefinedMetricWarning`` when every answer is right
    or every one is wrong (oracle = random).

    Examples
    --------
    >>> from fastcal.uncertainty.selective import prediction_rejection_ratio
    >>> # AURC 5/24, random 1/4, oracle 1/16: (1/4 - 5/24) / (1/4 - 1/16) = 2/9
    >>> round(prediction_rejection_ratio([1, 0, 1, 1], [0.9, 0.8, 0.8, 0.3]), 6)
    0.222222
    >>> prediction_rejection_ratio([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])
    1.0
    """
    n, total, n_err, _ = _curve(correct, confidence, False)
    if n_err == 0 or n_err == n:
        E.warn_undefined(
            "prediction_rejection_ratio is undefined when every answer is "
            + ("right" if n_err == 0 else "wrong")
            + " (the oracle and random rankings coincide); returning nan."
        )
        return float("nan")
    rand = n_err / n
    orc = _oracle_aurc(n, n_err)
    return float((rand - total / n) / (rand - orc))
