"""Streaming state updates: one batch's binned statistics into an accumulator.

The batch pass is the functional API's own kernel (``_binned``); this module
adds its rows into the accumulator's state, and only when the batch was valid,
so a failed update leaves the state untouched.

State layout (float64, C-contiguous, 1-D): ``hi`` and ``lo`` hold an unevaluated
sum ``hi + lo`` (double-double) of, in order, the ``bins`` array of the batch
kernels flattened (``(3, n_bins)`` or ``(C, 3, n_bins)``) followed by the two
fused scores (weighted sums of the Brier and NLL terms).

Compensated within a batch too: the batch kernel (``_binned``, unchanged: the
functional path's hot loop) validates the batch and writes each row's
confidence, correctness and Brier/NLL terms; :func:`dd_scatter` then adds every
row into per-bin double-double sums (TwoSum), and those are added into the
state with TwoSum again.  So each bin's sum of weights, of weight x confidence
and of weight x correct, and the Brier and NLL sums, are the double-double
sums of the per-row float64 values (``w``, ``fl(w * c)``, ``w`` or 0,
``fl(w * term)``; with unit weights the first three are the exact data), off
by at most n * 2**-106 of their magnitude: within one float64 ulp of the exact
sum whatever the data and the batch split.  The classwise blocks are summed
the same way by :func:`dd_scatter_classwise` (the values of the classwise
kernel, recomputed with its expressions).

The AUROC histogram ``hist`` (``(2, n_cells)``: negatives, positives; see
``_auroc_hist``) receives each sample's weight in the cell of its confidence,
from the per-row confidence/correctness the batch kernel wrote to scratch.
"""

import numpy as np
from numba import njit

from . import _auroc_hist as KH
from ._binned import (EXP_BLOCK, binary_stats, class_label, find_bin, row_logits_tab,
                      toplabel_stats, value)
from ._vmath import exp_
from ._common import OK, OPTS


@njit(**OPTS)
def dd_add(hi, lo, k, x):
    """``hi[k] + lo[k] += x`` (TwoSum, the rounding error into ``lo[k]``)."""
    a = hi[k]
    s = a + x
    bb = s - a
    lo[k] += (a - (s - bb)) + (x - bb)
    hi[k] = s


# Interleaved copies of the per-bin double-double sums in dd_scatter: row i
# adds into copy i % _WAYS, so rows falling in the same bin one after the
# other do not wait on each other's store (a power of two).
_WAYS = 4


@njit(**OPTS)
def dd_scatter(conf, corr, terms, w, edges, right, bins, hi, lo):
    """Add each row (confidence ``conf``, correct ``corr``, Brier/NLL ``terms``
    (n, 2), weight ``w`` or None for 1) into the double-double sums ``hi + lo``
    of the state layout (``(3, n_bins)`` bins, then the two scores), in the
    bin the batch kernel used (uniform ``edges``).  Rows with a NaN confidence
    (ignored padding) are skipped.  Every addition is a TwoSum.

    Unweighted, the bin counts and correct counts are taken from the batch
    kernel's ``bins``: integers below 2**53, so its float64 sums are exact."""
    nb = edges.shape[0] - 1
    on = np.bool_(True)  # uniform bins (not a literal)
    m = 3 * nb
    bh = np.zeros(_WAYS * m)
    bl = np.zeros(_WAYS * m)
    b0 = 0.0  # Brier and NLL sums: (b0, b1) and (n0, n1) double-double
    b1 = 0.0
    n0 = 0.0
    n1 = 0.0
    for i in range(conf.shape[0]):
        c = conf[i]
        if c != c:
            continue
        wi = 1.0 if w is None else w[i]
        k = find_bin(c, edges, nb, on, right) + (i & (_WAYS - 1)) * m
        dd_add(bh, bl, nb + k, wi * c)
        if w is not None:
            dd_add(bh, bl, k, wi)
            dd_add(bh, bl, 2 * nb + k, wi * np.float64(corr[i]))  # exact: 0 or wi
        x = wi * terms[i, 0]
        s = b0 + x
        bb = s - b0
        b1 += (b0 - (s - bb)) + (x - bb)
        b0 = s
        x = wi * terms[i, 1]
        s = n0 + x
        bb = s - n0
        n1 += (n0 - (s - bb)) + (x - bb)
        n0 = s
    if w is None:  # exact integer counts
        for k in range(nb):
            bh[k] = bins[0, k]
            bh[2 * nb + k] = bins[2, k]
    for j in range(_WAYS):
        for k in range(m):
            dd_add(hi, lo, k, bh[j * m + k])
            lo[k] += bl[j * m + k]
    dd_add(hi, lo, m, b0)
    lo[m] += b1
    dd_add(hi, lo, m + 1, n0)
    lo[m + 1] += n1


@njit(**OPTS)
def dd_scatter_classwise(y, P, K, shift, mask, one, tab, w, edges, right, logits, off, hi, lo):
    """The classwise blocks ``(C, 3, n_bins)`` (from ``hi[off]`` on) of a
    validated (n, C) batch as double-double sums: per class k the binary
    problem (P[:, k] or its softmax, y == k), with exactly the values and bins
    of ``_binned.classwise_chunk`` (uniform ``edges``), every addition a TwoSum."""
    nb = edges.shape[0] - 1
    C = P.shape[1]
    on = np.bool_(True)
    buf = np.empty(2 * EXP_BLOCK)
    for i in range(P.shape[0]):
        lab, _ = class_label(y[i], C)
        wi = 1.0 if w is None else w[i]
        zmax = 0.0
        s = 1.0
        if logits is not None:
            am, zmax, s, s2, nbad = row_logits_tab(P, K, tab, i, shift, mask, one, None, buf)
        for k in range(C):
            if logits is not None:
                c = exp_(value(P, i, k, tab) - zmax) / s
            else:
                c = value(P, i, k, tab)
            b = off + k * 3 * nb + find_bin(c, edges, nb, on, right)
            dd_add(hi, lo, b, wi)
            dd_add(hi, lo, b + nb, wi * c)
            if k == lab:
                dd_add(hi, lo, b + 2 * nb, wi)


@njit(**OPTS)
def add_dd(hi, lo, bh, bl):
    """``hi + lo += bh + bl`` elementwise (double-double addition)."""
    for i in range(bh.shape[0]):
        a = hi[i]
        b = bh[i]
        s = a + b
        bb = s - a
        lo[i] += ((a - (s - bb)) + (b - bb)) + bl[i]
        hi[i] = s


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
def binary_update(y, p, w, edges, right, logits, eps, check, hi, lo, conf, corr, terms, hist):
    """Serial pass over a binary batch, added to the state when valid.

    Returns ``(code, index)``.  ``conf``, ``corr`` and ``terms`` are scratch
    arrays of n rows: the rows are added with compensation (:func:`dd_scatter`).
    With ``hist`` the rows also go into the AUROC histogram.
    """
    on = np.bool_(True)  # not a literal: the same specialisation as the public layer's
    code, idx, bins, sc = binary_stats(y, p, w, edges, on, right, logits, on, eps, check,
                                       conf, corr, terms)
    if code == OK:
        dd_scatter(conf, corr, terms, w, edges[0], right, bins, hi, lo)
        if hist is not None:
            hist_scatter(hist, conf, corr, w)
    return code, idx
