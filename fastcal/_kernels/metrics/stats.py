"""Gauges from sufficient statistics.

The functional metrics and the accumulators both end here, so they cannot
disagree.  ``bins`` is ``(3, n_bins)``: weight, weight * confidence and
weight * correct per bin.
"""

import numpy as np
from numba import njit

from ..common import OPTS


@njit(**OPTS)
def ce_from_bins(bins):
    """Return ``(total_weight, l1, l2, max, signed)`` calibration errors.

    l1 = sum_b (W_b / W) |acc_b - conf_b|, l2 = sqrt(sum_b (W_b / W)(acc_b -
    conf_b)^2), max over bins with positive weight, signed = sum_b (W_b / W)
    (conf_b - acc_b) (positive: overconfident).
    """
    nb = bins.shape[1]
    total = 0.0
    for b in range(nb):
        total += bins[0, b]
    l1 = 0.0
    l2 = 0.0
    mx = 0.0
    signed = 0.0
    if total > 0.0:
        for b in range(nb):
            wb = bins[0, b]
            if wb > 0.0:
                gap = bins[1, b] / wb - bins[2, b] / wb
                a = abs(gap)
                l1 += wb * a
                l2 += wb * a * a
                signed += wb * gap
                if a > mx:
                    mx = a
        l1 /= total
        l2 = np.sqrt(l2 / total)
        signed /= total
    return total, l1, l2, mx, signed


@njit(**OPTS)
def classwise_ce_from_bins(bins):
    """Mean over classes of ``ce_from_bins``; ``bins`` is (C, 3, n_bins)."""
    C = bins.shape[0]
    total = 0.0
    l1 = 0.0
    l2 = 0.0
    mx = 0.0
    signed = 0.0
    for k in range(C):
        t, a, b, c, d = ce_from_bins(bins[k])
        total = t
        l1 += a
        l2 += b
        mx += c
        signed += d
    return total, l1 / C, l2 / C, mx / C, signed / C
