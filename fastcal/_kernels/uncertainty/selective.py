"""Risk-coverage curve and its area for selective prediction, averaged over
the orders of tied confidences in closed form.

Samples are ranked by decreasing confidence with the stable radix argsort of
``_delong``.  Within a block of ``m`` tied samples holding ``e`` errors that
starts after ``a`` samples with ``E_a`` errors, a uniformly random order puts
``j e / m`` errors in expectation among its first ``j``, so the expected
number of errors among the ``k = a + j`` most confident is
``E_k = E_a + j e / m`` (exact rational arithmetic up to the last division).
The result depends only on each block's ``(m, e)``: it is deterministic and
invariant to any permutation of the input.

``risk_curve(correct, confidence, out) -> (sum_k E_k / k, n_errors)``:
``correct`` uint8 0/1, ``confidence`` float32/float64 finite; ``out`` of
length n receives ``E_k / k`` for k = 1..n, or has length 0 (area only).
No validation (docs/design.md, section 1).
"""

import numpy as np
from numba import njit

from ..common import OPTS
from .delong import argsort_keys


@njit(**OPTS)
def risk_curve(correct, confidence, out):
    n = confidence.shape[0]
    curve = out.shape[0] > 0
    k, order = argsort_keys(confidence)
    total = 0.0
    errs = 0  # errors among the samples already placed (E_a)
    hi = n  # blocks are walked from the highest key down
    a = 0
    while hi > 0:
        lo = hi - 1
        kk = k[lo]
        while lo > 0 and k[lo - 1] == kk:
            lo -= 1
        m = hi - lo
        e = 0
        for t in range(lo, hi):
            e += np.intp(correct[order[t]] == 0)
        for j in range(1, m + 1):
            # expected errors among the first a + j: E_a + j e / m
            r = (np.float64(errs) + np.float64(j * e) / np.float64(m)) / np.float64(a + j)
            total += r
            if curve:
                out[a + j - 1] = r
        errs += e
        a += m
        hi = lo
    return total, errs
