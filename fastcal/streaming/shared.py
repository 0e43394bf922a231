"""What the streaming accumulators share: the scale of the weights they hold
(sums and histograms keep weights times 2**-weight_exp, so no weight
overflows or underflows) and the locks of two accumulators taken in a fixed
order.
"""

import numpy as np

from ..core import validation as V


# Exponents of the histogram's weight scale (weights are held divided by
# 2**weight_exp): V.weight_exponent gives at most 1024 - W_EXP and at least
# -1074 + W_EXP - 1 for finite float64 weights.
_WEXP_BOUND = 1100


def batch_exponent(w):
    """``(e, neutral)``: the exponent of V.weight_exponent, and whether the
    batch holds no positive weight (all zero, empty, or invalid weights the
    kernel will report), in which case its scale must not change the state's."""
    if w is None:
        return 0, False
    if w.size == 0 or not float(np.max(w)) > 0.0:
        return 0, True
    return V.weight_exponent(w), False


def new_exponent(E, e, neutral, empty):
    """The state's weight exponent after a batch (or a merged state) of
    exponent ``e``: the batch's while the state is ``empty``, else the larger
    of the two; unchanged by a batch of no weight."""
    if neutral:
        return E
    return e if empty else max(E, e)


def scale_hist(hist, k):
    """Multiply the weights (columns 0-1) of a histogram by ``2**k`` in place
    (exact but for weights that fall below float64's range)."""
    if k:
        w = hist[:, :2]
        np.ldexp(w, k, out=w)

def _locked(*accs):
    """The locks of ``accs`` in a fixed order (no deadlock when two threads
    merge a into b and b into a)."""
    return sorted({id(a._lock): a._lock for a in accs}.items())


class _Both:
    """Context manager holding the locks of several accumulators."""

    __slots__ = ("_locks",)

    def __init__(self, *accs):
        self._locks = [lk for _, lk in _locked(*accs)]

    def __enter__(self):
        for lk in self._locks:
            lk.acquire()

    def __exit__(self, *exc):
        for lk in reversed(self._locks):
            lk.release()
