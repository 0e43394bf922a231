"""Calibration estimators beyond the binned plug-in errors.

* :func:`debiased_l2_from_bins`: Kumar, Liang & Ma (2019), the debiased
  plug-in estimator of the squared L2 calibration error (and its root).
* :func:`smooth_ece`: Blasiok & Nakkiran (2023), smooth ECE with the
  bandwidth fixed point, as ``relplot.smECE`` computes it.
* :func:`brier_decomposition`: Murphy's reliability / resolution /
  uncertainty from bins, with the two within-bin terms of Stephenson et al.
  (2008) that make the identity exact.
* :func:`corp_decomposition`: Dimitriadis, Gneiting & Jordan (2021), CORP
  miscalibration / discrimination / uncertainty via the PAV fit.
"""

import numpy as np

from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E
from ..calibrators.isotonic import isotonic_regression
from .._kernels.metrics import smooth as KSM

# relplot defaults (relplot.config.smECE_mesh_pts, smooth's eps, smECE's eps
# and the number of bisection steps of search_param).
SMECE_MESH = 200
SMECE_DENS_EPS = 1e-4
SMECE_MIN_SIGMA = 1e-3
SMECE_REFINE = 10


def _pairs(y_true, y_prob, sample_weight, n_bins=15, strategy="uniform", right=True):
    """Validated binary / top-label (conf, corr, w) and bins, and ``e``: the
    weights are scaled by ``2**-e`` (``V.scaled_weight``)."""
    sample_weight, e = V.scaled_weight(sample_weight)
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                     classwise=False, from_logits=False, sample_weight=sample_weight,
                     scores=False, want_cc=True)
    return b, e


def debiased_l2_from_bins(bins, *, squared=False, weight_exp=0):
    """Debiased L2 calibration error from binned sufficient statistics.

    Kumar, Liang & Ma (2019), "Verified uncertainty calibration", the
    debiased plug-in estimator (their ``unbiased_square_ce``): per bin with
    weight ``W_b >= 2``

        e_b = (conf_b - acc_b)^2 - acc_b (1 - acc_b) / (W_b - 1)

    (bins with ``W_b < 2`` contribute 0), and the estimate of the squared
    L2 error is ``sum_b (W_b / W) e_b``, which can be negative.

    Parameters
    ----------
    bins : array (3, n_bins)
        Per bin: weight, weight * confidence, weight * correct.
    squared : bool, default False
        Return the squared-error estimate itself (may be negative).
    weight_exp : int, default 0
        The weights in ``bins`` are the true ones divided by ``2**weight_exp``
        (``W_b - 1`` uses the true bin weight).

    Returns
    -------
    float
        ``squared=False`` (default): ``sqrt(max(estimate, 0))``, the value of
        ``calibration.get_calibration_error(p=2, debias=True)`` with the same
        bins (``unbiased_l2_ce``); ``squared=True``: the unclipped estimate.

    Notes
    -----
    With ``sample_weight`` the weights act as frequency weights (weight k =
    the row repeated k times), so ``W_b - 1`` uses the bin's total weight.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.metrics.smooth import debiased_l2_from_bins
    >>> bins = np.array([[4.0, 6.0], [1.2, 4.8], [1.0, 5.0]])  # weight, sum conf, sum correct
    >>> round(debiased_l2_from_bins(bins, squared=True), 6)
    -0.04
    >>> debiased_l2_from_bins(bins)
    0.0
    """
    bins = np.asarray(bins, dtype=np.float64)
    W = bins[0]
    total = W.sum()
    if not total > 0:
        raise ValueError("the bins hold no weight; at least one sample needs a positive weight.")
    Wt = V.unscale(W, weight_exp)  # the true bin weights (inf past the float64 range)
    ok = Wt >= 2
    Wk = W[ok]
    acc = bins[2][ok] / Wk
    conf = bins[1][ok] / Wk
    e = (conf - acc) ** 2 - acc * (1.0 - acc) / (Wt[ok] - 1.0)
    est = float(np.dot(Wk / total, e))
    if squared:
        return est
    return float(np.sqrt(max(est, 0.0)))


def debiased_l2(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True,
                sample_weight=None, squared=False):
    """:func:`debiased_l2_from_bins` of the binary or top-label bins.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.metrics.smooth import debiased_l2
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(20000); y = (rng.random(20000) < p).astype(int)
    >>> debiased_l2(y, p) < 0.01   # calibrated: the plug-in RMSCE is biased up, this is not
    True
    """
    b, e = _pairs(y_true, y_prob, sample_weight, n_bins, strategy, right)
    return debiased_l2_from_bins(b.bins, squared=squared, weight_exp=e)


# ---------------------------------------------------------------------------
# smooth ECE


def _apply(conf, corr, w, sigma, t, cache):
    """relplot ReflectedGaussianKernel(sigma).smooth on the points t:
    (smoothed residual / density, density)."""
    m = max(2000, round(20 / sigma)) // 2 + 1
    g = cache.get(m)
    if g is None:
        g = cache[m] = KSM.grid_sums(conf, corr, w, m)
    grid = np.linspace(0, 1, m)
    ker = np.exp(-(grid - 0.5) * (grid - 0.5) / (2 * sigma ** 2))
    ker /= np.sqrt(2 * np.pi) * sigma
    sm = KSM.reflect_convolve(g, ker)
    # relplot.kernels.interpolate
    inds = (t * (m - 1)).astype(int).clip(0, m - 2)
    bucket = 1 / (m - 1)
    res = (t - inds * bucket) / bucket
    vals = sm[:, inds] * (1 - res) + sm[:, inds + 1] * res
    dens = vals[1] + SMECE_DENS_EPS
    return vals[0] / dens, dens


def _smece_at(conf, corr, w, sigma, cache):
    ev = max(round(10 / sigma), SMECE_MESH)
    t = np.linspace(0, 1, ev)
    rs, dens = _apply(conf, corr, w, sigma, t, cache)
    return float(np.sum(np.abs(rs) * dens) / np.sum(dens))


def _smece_weights(w):
    """The weights in units of the smallest positive one (None: unweighted).

    relplot's density term (+1e-4) is in units of rows.  Measured in the
    smallest positive weight, the result does not depend on the weights'
    scale, and integer weights whose smallest positive value is 1 are
    exactly repeated rows.  (The unit is raised to max / 1e200 when the
    weights span more than 1e200, so no weight becomes infinite.)
    """
    if w is None:
        return None
    pos = w[w > 0]
    if pos.size == 0:
        raise E.weight_sum_error()
    unit = max(float(pos.min()), float(pos.max()) * 1e-200)
    return w if unit == 1.0 else w / unit


def smooth_ece(y_true, y_prob, *, sigma=None, sample_weight=None, return_sigma=False):
    """Smooth ECE (Blasiok & Nakkiran 2023), equal to ``relplot.smECE``.

    The residuals ``f - y`` (confidence minus correctness; binary input:
    ``y_prob`` minus ``y_true``) are kernel-smoothed over the confidence with
    a Gaussian kernel of bandwidth ``sigma`` reflected at 0 and 1, and
    smECE_sigma = integral |smoothed residual| x smoothed density / integral
    density.  Without ``sigma`` the bandwidth is the fixed point
    ``sigma* = smECE_sigma*`` found as relplot does (bisection on [0, 1],
    10 steps, ``sigma >= 1e-3``).

    Parameters
    ----------
    y_true, y_prob : array-like
        Binary ``y_prob`` (n,) or multiclass (n, C) probabilities (top-label:
        confidence = max, correct = first argmax == y).
    sigma : float, optional
        Fixed bandwidth (``relplot.smECE_sigma``); default: the fixed point.
    sample_weight : array-like, optional
        Row weights (an extension; relplot takes none).  relplot's density
        term is in units of rows; here it is in units of the smallest
        positive weight, so the result does not depend on the weights'
        scale, and integer weights whose smallest positive value is 1 equal
        repeating the rows.  All-zero weights raise ``ValueError``.
    return_sigma : bool, default False
        Also return the bandwidth used.

    Returns
    -------
    float, or (float, float) with ``return_sigma``

    Notes
    -----
    Computed like relplot: values are spread linearly onto a grid of
    ``m = max(2000, round(20 / sigma)) // 2 + 1`` points (one pass over the
    rows per distinct ``m``; ``m = 1001`` for every ``sigma >= 0.01``), the
    grid is convolved with the reflected kernel (compiled, skipping kernel
    entries that underflow to 0), interpolated to
    ``max(round(10 / sigma), 200)`` points, and the density gets relplot's
    ``+1e-4``.  Same formulas, other summation order: agreement to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.metrics.smooth import smooth_ece
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(5000); y = (rng.random(5000) < p ** 2).astype(int)
    >>> round(smooth_ece(y, p), 4)
    0.1617
    """
    b, _ = _pairs(y_true, y_prob, sample_weight)
    conf, corr, w = b.conf, b.corr, _smece_weights(b.w)
    cache = {}
    if sigma is not None:
        sigma = float(sigma)
        if not 0 < sigma <= 1e3:  # also rejects NaN
            raise ValueError(f"sigma must be a positive bandwidth (e.g. 0.05); got {sigma!r}.")
        v = _smece_at(conf, corr, w, sigma, cache)
        return (v, sigma) if return_sigma else v

    def ok(alpha):
        return alpha < SMECE_MIN_SIGMA or alpha < _smece_at(conf, corr, w, alpha, cache)

    # relplot.metrics.search_param(ok, start=1, refine=10)
    if ok(1):
        s = 1
    else:
        s, e = 1, 0
        for _ in range(SMECE_REFINE):
            mid = (s + e) / 2
            if ok(mid):
                e = mid
            else:
                s = mid
    v = _smece_at(conf, corr, w, s, cache)
    return (v, s) if return_sigma else v


# ---------------------------------------------------------------------------
# decompositions


def brier_decomposition(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True,
                        sample_weight=None):
    """Murphy decomposition of the (binary or top-label) Brier score from bins.

    With bin weights ``W_b``, mean confidence ``f_b``, accuracy ``o_b`` and
    overall accuracy ``o``:

    * reliability ``REL = sum_b (W_b / W)(f_b - o_b)^2`` (the squared RMSCE),
    * resolution ``RES = sum_b (W_b / W)(o_b - o)^2``,
    * uncertainty ``UNC = o (1 - o)``.

    Parameters are those of :func:`fastcal.calibration_error`.

    Returns
    -------
    (reliability, resolution, uncertainty) : tuple of float

    Notes
    -----
    The score decomposed is the Brier score of the confidence against
    correctness, ``mean (f_i - o_i)^2`` (binary input: ``mean (p - y)^2``,
    :func:`fastcal.brier_score`; multiclass input: the top-label score, not
    the multiclass Brier score).  ``REL - RES + UNC`` equals it exactly only
    when the confidence is constant within each bin; in general
    (Stephenson, Coelho & Jolliffe 2008)

        Brier = REL - RES + UNC + WBV - 2 WBC,

    with the within-bin variance ``WBV = (1/W) sum_b sum_{i in b} w_i (f_i -
    f_b)^2 >= 0`` and covariance ``WBC = (1/W) sum_b sum_{i in b} w_i (f_i -
    f_b)(o_i - o_b)``.  ``brier_decomposition_terms`` returns all five.

    Examples
    --------
    >>> from fastcal.metrics.smooth import brier_decomposition
    >>> rel, res, unc = brier_decomposition([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.7], n_bins=5)
    >>> round(rel, 4), round(res, 4), round(unc, 4)
    (0.092, 0.24, 0.24)
    """
    rel, res, unc, _, _ = brier_decomposition_terms(
        y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
        sample_weight=sample_weight)
    return rel, res, unc


def brier_decomposition_from_bins(bins):
    """(REL, RES, UNC) from binned sufficient statistics (3, n_bins)."""
    bins = np.asarray(bins, dtype=np.float64)
    W = bins[0]
    total = W.sum()
    if not total > 0:
        raise ValueError("the bins hold no weight; at least one sample needs a positive weight.")
    ne = W > 0
    f = bins[1][ne] / W[ne]
    o = bins[2][ne] / W[ne]
    p = W[ne] / total
    obar = bins[2].sum() / total
    rel = float(np.dot(p, (f - o) ** 2))
    res = float(np.dot(p, (o - obar) ** 2))
    unc = float(obar * (1.0 - obar))
    return rel, res, unc


def brier_decomposition_terms(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True,
                              sample_weight=None):
    """``(REL, RES, UNC, WBV, WBC)``; ``REL - RES + UNC + WBV - 2 WBC`` is the
    top-label Brier score (see :func:`brier_decomposition`)."""
    b, _ = _pairs(y_true, y_prob, sample_weight, n_bins, strategy, right)
    rel, res, unc = brier_decomposition_from_bins(b.bins)
    nb = b.bins.shape[1]
    edges = b.edges[0]
    idx = np.searchsorted(edges[1:-1], b.conf, side="left" if right else "right")
    w = np.ones(b.n) if b.w is None else b.w
    W = np.bincount(idx, w, nb)
    total = W.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        fb = np.where(W > 0, b.bins[1] / W, 0.0)
        ob = np.where(W > 0, b.bins[2] / W, 0.0)
    df = b.conf - fb[idx]
    do = b.corr - ob[idx]
    wbv = float(np.dot(w, df * df) / total)
    wbc = float(np.dot(w, df * do) / total)
    return rel, res, unc, wbv, wbc


def corp_decomposition(y_true, y_prob, *, sample_weight=None):
    """CORP decomposition of the Brier score (Dimitriadis, Gneiting & Jordan 2021).

    ``p_iso`` is the isotonic (PAV) regression of the outcome on the
    confidence, exactly tied confidences pooled as in CORP
    (:func:`fastcal.isotonic_regression` over the distinct confidences); with ``S`` the mean Brier score and ``o`` the mean outcome:

    * miscalibration ``MCB = S(p) - S(p_iso)`` (>= 0),
    * discrimination ``DSC = S(o) - S(p_iso)`` (>= 0),
    * uncertainty ``UNC = S(o) = o (1 - o)``,

    so ``Brier = MCB - DSC + UNC`` (exactly, up to rounding).

    Parameters
    ----------
    y_true, y_prob : array-like
        Binary ``y_prob`` (n,), or multiclass (n, C): the top-label problem
        (confidence, correct).
    sample_weight : array-like, optional

    Returns
    -------
    (mcb, dsc, unc) : tuple of float

    Examples
    --------
    >>> from fastcal.metrics.smooth import corp_decomposition
    >>> mcb, dsc, unc = corp_decomposition([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.7])
    >>> round(mcb, 4), round(dsc, 4), round(unc, 4), round(mcb - dsc + unc, 4)
    (0.092, 0.24, 0.24, 0.092)
    """
    b, _ = _pairs(y_true, y_prob, sample_weight)
    conf = b.conf
    o = b.corr.astype(np.float64)
    w = b.w
    total = float(b.bins[0].sum())
    if not total > 0:
        raise E.weight_sum_error()
    # exact ties pooled (CORP): PAV over the distinct confidences, each with
    # its total weight and mean outcome.  (IsotonicRegression would also pool
    # values within 1e-15, as scikit-learn does.)
    xs, inv = np.unique(conf, return_inverse=True)
    wg = np.bincount(inv, w, xs.shape[0]) if w is not None else np.bincount(inv, None, xs.shape[0]).astype(np.float64)
    yg = np.bincount(inv, o if w is None else o * w, xs.shape[0])
    pos = wg > 0
    fit = np.zeros(xs.shape[0])
    fit[pos] = isotonic_regression(yg[pos] / wg[pos], sample_weight=wg[pos])
    piso = fit[inv]

    def S(q):
        d = q - o
        return float(np.dot(d * d, w) / total if w is not None else np.dot(d, d) / total)

    obar = float(b.bins[2].sum() / total)
    s_p = S(conf)
    s_iso = S(piso)
    unc = S(np.full_like(o, obar))
    return s_p - s_iso, unc - s_iso, unc
