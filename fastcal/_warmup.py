"""Compile every kernel ahead of time."""

import time

import numpy as np


def warmup(verbose=False):
    """Compile (or load from the on-disk cache) every kernel for float32 and float64.

    The first call in a fresh environment compiles and takes tens of seconds;
    later processes load the cached machine code in well under a second.
    Without ``warmup`` the same cost is paid lazily by the first call of each
    metric.

    Returns
    -------
    float
        Seconds spent.

    Examples
    --------
    >>> import fastcal
    >>> fastcal.warmup() >= 0
    True
    """
    from . import _core
    from ._metrics import auroc, brier_score, calibration_error, nll
    from ._report import calibration_report

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    big = _core.PARALLEL_MIN
    for dtype in (np.float64, np.float32):
        for n in (8, big):  # serial and parallel kernels
            y = (rng.random(n) < 0.5).astype(np.int64)
            p = rng.random(n).astype(dtype)
            P = rng.random((n, 3)).astype(dtype)
            P /= P.sum(axis=1, keepdims=True)
            yc = rng.integers(0, 3, n)
            for logits in (False, True):
                calibration_report(y, p, from_logits=logits)
                calibration_report(yc, P, from_logits=logits)
                calibration_error(yc, P, classwise=True, from_logits=logits)
                calibration_error(y, p, from_logits=logits)
                brier_score(y, p, from_logits=logits)
                brier_score(yc, P, from_logits=logits)
            auroc(y, p)
    t = time.perf_counter() - t0
    if verbose:
        print(f"fastcal.warmup: {t:.2f} s")
    return t
