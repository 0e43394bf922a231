"""Kernels for applying binned calibrators: the top-label confidence of (n, C)
input (validated, as the binned metrics compute it) and the bin lookup.

Binning never uses fastmath (``OPTS``): the bin of a value is found with the
metrics' own :func:`~fastcal._kernels.metrics.bins.find_bin`, so a confidence
falls in the same bin here as in ``fastcal.reliability_curve``.
"""

import numpy as np
from numba import njit

from ..metrics.bins import EXP_BLOCK, bad_value, find_bin, sigmoid
from ..metrics.rows import row_logits_tab
from ..common import BAD_LOGIT, BAD_PROB, BAD_ROW_SUM, OK, OPTS



@njit(**OPTS)
def toplabel_conf(P, K, shift, mask, one, logits, tol):
    """float64 top-label confidence of each row, and (code, index) of the
    first invalid row (``OK, -1`` when valid).

    Probabilities: ``P[i, first argmax]`` (rows in [0, 1], summing to 1
    within ``tol``).  Logits: ``1 / sum_k exp(z_k - max z)`` (finite rows),
    the expressions of the binned metrics.
    """
    n, C = P.shape
    out = np.empty(n)
    buf = np.empty(2 * EXP_BLOCK)
    for i in range(n):
        if logits is not None:
            _am, _zmax, s, _s2, nbad = row_logits_tab(P, K, None, i, shift, mask, one, None, buf)
            if nbad != 0:
                return out, BAD_LOGIT, i
            out[i] = 1.0 / s
        else:
            m = np.float64(P[i, 0])
            s = 0.0
            for k in range(C):
                v = np.float64(P[i, k])
                if not (v >= 0.0 and v <= 1.0):
                    return out, BAD_PROB, i
                s += v
                m = max(m, v)
            if not (abs(s - 1.0) <= tol):
                return out, BAD_ROW_SUM, i
            out[i] = m
    return out, OK, -1


@njit(**OPTS)
def lookup(c, edges, values, uniform, right, logits):
    """``values[bin of c_i]`` for each i, and the index of the first invalid
    value (not finite, or outside [0, 1] for probabilities), -1 when valid.
    With ``logits`` on, ``c`` holds logits and is binned as sigmoid(c).
    ``edges`` of shape (1, nb + 1), as the binned kernels take them."""
    n = c.shape[0]
    nb = values.shape[0]
    e = edges[0]
    out = np.empty(n)
    for i in range(n):
        v = np.float64(c[i])
        if bad_value(v, logits):
            return out, i
        if logits is not None:
            v = sigmoid(v)
        out[i] = values[find_bin(v, e, nb, uniform, right)]
    return out, -1
