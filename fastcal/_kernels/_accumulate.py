"""Streaming state updates: one batch's binned statistics into an accumulator.

The batch pass is the functional API's own kernel (``_binned``); this module
only adds its result into the accumulator's state, and only when the batch
was valid, so a failed update leaves the state untouched.

State layout (float64, C-contiguous, 1-D): ``hi`` and ``lo`` hold an unevaluated
sum ``hi + lo`` (double-double) of, in order, the ``bins`` array of the batch
kernels flattened (``(3, n_bins)`` or ``(C, 3, n_bins)``) followed by the two
fused scores (weighted sums of the Brier and NLL terms).  Every addition is a
TwoSum, so a stream of 1e9 samples in 1e5 batches loses nothing to rounding in
the running sums (each batch's own float64 sum is the functional kernel's).

The AUROC histogram ``hist`` (``(2, n_cells)``: negatives, positives; see
``_auroc_hist``) receives each sample's weight in the cell of its confidence,
from the per-row confidence/correctness the batch kernel wrote to scratch.
"""

import numpy as np
from numba import njit

from . import _auroc_hist as KH
from ._binned import binary_stats, toplabel_stats
from ._common import OK, OPTS


@njit(**OPTS)
def two_sum_into(hi, lo, x, off):
    """``hi[off + i] + lo[off + i] += x[i]`` for every i (TwoSum, error into lo)."""
    for i in range(x.shape[0]):
        a = hi[off + i]
        b = x[i]
        s = a + b
        bb = s - a
        lo[off + i] += (a - (s - bb)) + (b - bb)
        hi[off + i] = s


@njit(**OPTS)
def add_batch(hi, lo, bins, scores):
    """Add one batch's ``bins`` (any shape, C order) and ``scores`` (2,) to the state."""
    flat = bins.reshape(-1)
    two_sum_into(hi, lo, flat, 0)
    two_sum_into(hi, lo, scores, flat.shape[0])


@njit(**OPTS)
def scale_state(hi, lo, f):
    """Multiply the state by ``f`` (a power of two keeps it exact)."""
    for i in range(hi.shape[0]):
        hi[i] *= f
        lo[i] *= f


@njit(**OPTS)
def hist_scatter(hist, conf, corr, w):
    """Add each row's weight to the AUROC histogram cell of its confidence
    (positives: correct rows, or ``y_true == 1`` for binary input)."""
    for i in range(conf.shape[0]):
        c = conf[i]
        if c != c:  # an ignored (padding) row
            continue
        wi = 1.0 if w is None else w[i]
        KH.add(hist, np.intp(corr[i]), c, wi)


@njit(**OPTS)
def binary_update(y, p, w, edges, right, logits, eps, check, hi, lo, conf, corr, hist):
    """Serial pass over a binary batch, added to the state when valid.

    Returns ``(code, index)``.  With ``hist`` (then ``conf``/``corr`` are
    scratch arrays of length n) the rows also go into the AUROC histogram.
    """
    on = np.bool_(True)  # not a literal: the same specialisation as the public layer's
    code, idx, bins, sc = binary_stats(y, p, w, edges, on, right, logits, on, eps, check,
                                       conf, corr, None)
    if code == OK:
        add_batch(hi, lo, bins, sc)
        if hist is not None:
            hist_scatter(hist, conf, corr, w)
    return code, idx
