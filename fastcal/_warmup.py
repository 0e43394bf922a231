"""Compile every kernel ahead of time."""

import itertools
import time

import numpy as np


def warmup(*, verbose=False):
    """Compile (or load from the on-disk cache) the kernels behind every public
    function, for float32 and float64 input, probabilities and logits, with and
    without weights, serial (small input) and parallel (large input), and the
    ``check=False`` hot-loop variants of ``ece``, ``brier_score`` and ``nll``.
    Integer labels are int64; other label dtypes compile on first use.

    Kernels compile lazily on first use otherwise: each distinct combination
    of input kind and options costs one compilation (about 1-5 s on a 2-core
    machine) the first time it is ever used, and is then loaded from Numba's
    on-disk cache (milliseconds) by every later process. ``warmup`` pays all
    of that at once: 1-3 minutes on a fresh install, about 2 s afterwards.

    Returns
    -------
    float
        Seconds spent.

    Examples
    --------
    Not run by the test suite (minutes on a fresh install):

    >>> import fastcal
    >>> fastcal.warmup() >= 0  # doctest: +SKIP
    True
    """
    from . import _core
    from ._metrics import auroc, brier_score, calibration_error, ece, nll, reliability_curve
    from ._isotonic import IsotonicRegression, isotonic_regression
    from ._report import calibration_report
    from ._temperature import TemperatureScaling

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for dtype, n, weighted in itertools.product((np.float64, np.float32),
                                                (8, _core.PARALLEL_MIN), (False, True)):
        y = (rng.random(n) < 0.5).astype(np.int64)
        p = rng.random(n).astype(dtype)
        P = rng.random((n, 3)).astype(dtype)
        P /= P.sum(axis=1, keepdims=True)
        yc = rng.integers(0, 3, n)
        w = rng.random(n) if weighted else None
        for logits in (False, True):
            for yy, pp in ((y, p), (yc, P)):
                calibration_report(yy, pp, from_logits=logits, sample_weight=w)
                ece(yy, pp, from_logits=logits, sample_weight=w)
                brier_score(yy, pp, from_logits=logits, sample_weight=w)
                nll(yy, pp, from_logits=logits, sample_weight=w)
                reliability_curve(yy, pp, from_logits=logits, sample_weight=w, right=False)
                if not weighted:  # the hot-loop switch
                    ece(yy, pp, from_logits=logits, check=False)
                    brier_score(yy, pp, from_logits=logits, check=False)
                    nll(yy, pp, from_logits=logits, check=False)
            calibration_error(yc, P, classwise=True, from_logits=logits, sample_weight=w)
        calibration_error(y, p, strategy="quantile", sample_weight=w)
        auroc(y, p, sample_weight=w)
        if n == 8:
            isotonic_regression(p.astype(np.float64), sample_weight=w)
            IsotonicRegression().fit(p, y.astype(dtype), sample_weight=w).predict(p)
        TemperatureScaling().fit(P, yc, sample_weight=w).predict_proba(P)
    # streaming accumulators (small batches: the fused path; 2 chunks: both cores),
    # 16-bit vocabulary logits, the DeLong interval
    from ._accumulator import CalibrationAccumulator
    from ._delong import auroc_ci
    from ._kernels._common import CHUNK

    for n in (64, 2 * CHUNK):
        y = (rng.random(n) < 0.5).astype(np.int64)
        p = rng.random(n)
        Z = rng.normal(size=(n, 3))
        yc = rng.integers(0, 3, n)
        CalibrationAccumulator().update(y, p).update(y, p).compute()
        CalibrationAccumulator().update(yc, Z, from_logits=True).compute()
        auroc_ci(y, p)
    from ._histogram_binning import HistogramBinning
    from ._platt import PlattScaling

    p = rng.random(64)
    y = (rng.random(64) < p).astype(np.int64)
    PlattScaling().fit(p, y).predict_proba(p)
    HistogramBinning().fit(p, y).predict_proba(p)
    TemperatureScaling(objective="ece").fit(Z, yc)
    Z16 = rng.normal(size=(64, 50)).astype(np.float16)
    calibration_report(rng.integers(0, 50, 64), Z16, from_logits=True)
    t = time.perf_counter() - t0
    if verbose:
        print(f"fastcal.warmup: {t:.2f} s")
    return t
