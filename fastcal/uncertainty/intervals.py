"""Binomial proportion intervals for the accuracy of each reliability bin.

Wilson score and Jeffreys intervals, vectorised over bins. The Wilson
interval needs one normal quantile, the Jeffreys interval Beta quantiles,
both from ``fastcal.uncertainty.special`` (numpy and ``math`` only, no scipy at
runtime). The Jeffreys interval iterates in Python per bin, far slower than
Wilson's closed form, so it is computed when it is asked for, not on every
metric call.

fastcal's sample weights are frequency weights (weight k is the row repeated
k times), so a bin's weight sum plays the number of trials ``n`` and its
weighted number correct the number of successes: both may be fractional.

Examples
--------
The two methods on the same counts (8 successes in 10 trials, 95%):

>>> from fastcal.uncertainty.intervals import jeffreys_interval, wilson_interval
>>> for interval in (wilson_interval, jeffreys_interval):
...     lo, hi = interval(8, 10)
...     print(interval.__name__, round(lo, 4), round(hi, 4))
wilson_interval 0.4902 0.9433
jeffreys_interval 0.4972 0.9559
"""

import numbers

import numpy as np

from ..core import validation as V
from .special import beta_ppf, norm_ppf

METHODS = ("wilson", "jeffreys")


# ------------------------------------------------------------------ intervals
def _check_level(level):
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise TypeError(f"level must be a number in (0, 1); found {level!r} ({type(level).__name__}).")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), for example 0.95; found {level!r}.")
    return level


def _check_counts(successes, n):
    x = V._to_numpy(successes, "successes")
    t = V._to_numpy(n, "n")
    for arr, name in ((x, "successes"), (t, "n")):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold non-negative numbers; found dtype {arr.dtype}.")
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    try:
        x, t = np.broadcast_arrays(x, t)
    except ValueError:
        raise ValueError(
            f"successes and n must have the same shape (or broadcast); found shapes {x.shape} and {t.shape}."
        ) from None
    bad = ~(np.isfinite(t) & (t >= 0))
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise ValueError(f"n must be finite and non-negative; found {float(t.ravel()[i])!r} at index {i}.")
    bad = ~(np.isfinite(x) & (x >= 0) & (x <= t * (1 + 1e-12)))
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise ValueError(
            f"successes must be finite and in [0, n]; found {float(x.ravel()[i])!r} with n = "
            f"{float(t.ravel()[i])!r} at index {i}."
        )
    return np.minimum(x, t), t


def _finish(x, t, low, high):
    """The bounds both methods return: clipped to [0, 1], ``low = 0`` where
    ``x == 0`` and ``high = 1`` where ``x == t`` exactly, NaN for an empty
    bin (``t == 0``); floats for scalar counts."""
    low = np.where(x == 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(x == t, 1.0, np.clip(high, 0.0, 1.0))
    empty = t == 0
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def wilson_interval(successes, n, level=0.95):
    """Wilson score interval for a binomial proportion, vectorised.

    Parameters
    ----------
    successes : float or array-like
        Number of successes (the weighted number correct in a bin; may be
        fractional).
    n : float or array-like
        Number of trials (a bin's count or weight sum), broadcast against
        ``successes``.  Sample weights are frequency weights: weight k counts
        as k trials.
    level : float, default=0.95
        Coverage, in (0, 1).

    Returns
    -------
    low, high : float or ndarray
        Bounds in [0, 1]; NaN where ``n == 0`` (an empty bin).

    Notes
    -----
    The bounds are the roots of ``(p_hat - pi)^2 = z^2 pi (1 - pi) / n`` with
    ``z = Phi^{-1}(1 - (1 - level) / 2)``.  The root nearer 1/2 is computed
    directly and the other from the product of the roots, so neither
    cancels; ``low = 0`` exactly when ``successes == 0`` and ``high = 1``
    exactly when ``successes == n``.

    Examples
    --------
    (The module docstring compares it with :func:`jeffreys_interval` on the same counts.)

    >>> from fastcal.uncertainty.intervals import wilson_interval
    >>> lo, hi = wilson_interval([0, 3], [0, 4], level=0.9)   # an empty bin gives NaN
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([nan, 0.3562], [nan, 0.9421])
    """
    level = _check_level(level)
    x, t = _check_counts(successes, n)
    z = norm_ppf(0.5 + 0.5 * level)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = t - x
        p_hat = x / t
        q_hat = f / t
        k = z * z / t
        # roots for the smaller of p_hat, q_hat (by symmetry pi <-> 1 - pi)
        r = np.minimum(p_hat, q_hat)
        centre = (r + 0.5 * k) / (1.0 + k)
        half = z / (1.0 + k) * np.sqrt(r * (1.0 - r) / t + 0.25 * k / t)
        far = centre + half  # the root nearer 1/2: no cancellation
        near = r * r / ((1.0 + k) * far)  # product of the roots = r^2 / (1 + k)
        low = np.where(p_hat <= q_hat, near, 1.0 - far)
        high = np.where(p_hat <= q_hat, far, 1.0 - near)
    return _finish(x, t, low, high)


def jeffreys_interval(successes, n, level=0.95):
    """Jeffreys interval for a binomial proportion, vectorised.

    The equal-tailed interval of the Beta(successes + 1/2, n - successes +
    1/2) posterior (Jeffreys prior), with the usual boundary convention of
    Brown, Cai & DasGupta (2001): ``low = 0`` when ``successes == 0`` and
    ``high = 1`` when ``successes == n``.

    Parameters
    ----------
    successes, n, level
        As in :func:`wilson_interval` (fractional counts allowed).

    Returns
    -------
    low, high : float or ndarray
        NaN where ``n == 0`` (an empty bin).

    Notes
    -----
    The Beta quantiles are computed without scipy and agree with
    ``scipy.stats.beta.ppf`` to about 1e-12 relative, including bins of 1e9
    samples.

    Examples
    --------
    (The module docstring compares it with :func:`wilson_interval` on the same counts.)

    >>> from fastcal.uncertainty.intervals import jeffreys_interval
    >>> jeffreys_interval(0, 10)[0]   # no success: the low bound is 0
    0.0
    """
    level = _check_level(level)
    x, t = _check_counts(successes, n)
    alpha = 1.0 - level
    a = x + 0.5
    b = (t - x) + 0.5
    low = beta_ppf(np.full(a.shape, 0.5 * alpha), a, b)
    high = beta_ppf(np.full(a.shape, 1.0 - 0.5 * alpha), a, b)
    return _finish(x, t, low, high)


def bin_intervals(curve, level=0.95, method="wilson"):
    """Interval on the accuracy of every bin of a reliability curve.

    Parameters
    ----------
    curve : ReliabilityCurve
        From :func:`fastcal.reliability_curve` or ``report.reliability``.
        A bin's count (or weight sum) is the number of trials and
        ``accuracy * count`` the number of successes.
    level : float, default=0.95
        Coverage, in (0, 1).
    method : {"wilson", "jeffreys"}, default="wilson"

    Returns
    -------
    low, high : ndarray of shape (n_bins,)
        NaN for empty bins.

    Examples
    --------
    >>> import fastcal
    >>> from fastcal.uncertainty.intervals import bin_intervals
    >>> c = fastcal.reliability_curve([0, 1, 1, 0, 1, 1], [0.1, 0.2, 0.8, 0.7, 0.9, 0.6], n_bins=2)
    >>> c.accuracy.tolist()
    [0.5, 0.75]
    >>> lo, hi = bin_intervals(c)
    >>> lo.round(3).tolist(), hi.round(3).tolist()
    ([0.095, 0.301], [0.905, 0.954])
    """
    count = getattr(curve, "count", None)
    accuracy = getattr(curve, "accuracy", None)
    if count is None or accuracy is None:
        raise TypeError(
            "curve must be a ReliabilityCurve (from fastcal.reliability_curve or report.reliability); "
            f"found {type(curve).__name__}."
        )
    method = V.check_choice(method, "method", METHODS)
    level = _check_level(level)
    n = np.asarray(count, dtype=np.float64)
    acc = np.asarray(accuracy, dtype=np.float64)
    if n.shape != acc.shape or n.ndim != 1:
        raise ValueError(
            f"curve.count and curve.accuracy must be 1-D of the same length; found shapes {n.shape} and {acc.shape}."
        )
    succ = np.where(n > 0, np.nan_to_num(acc) * n, 0.0)
    # acc == 1 gives successes == n exactly; keep it so.
    succ = np.where(acc == 1.0, n, succ)
    fn = wilson_interval if method == "wilson" else jeffreys_interval
    low, high = fn(succ, n, level)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
