"""The one-call path of a :class:`~fastcal.CalibrationAccumulator`'s small binary
batches (issue 13).

A binary batch of numpy arrays below 65536 rows, without weights or ignored
rows, into an accumulator without decay, exact AUROC or bootstrap, whose
state holds no weights, is validated, binned and added to the state by one
kernel call, ``_kernels/streaming/accumulate.binary_update``, under the
accumulator's lock: the same pass, and bitwise the same state, as the
general path of ``update``, which also runs for the first batch.  Per call
the accumulator's ``update`` does a few identity checks and calls the
kernel's compiled entry point (``fastcal.core.entry``) with what :func:`plan`
prepared: the state arrays, a workspace that holds the NLL clipping
epsilons, the bin edges, and the entry point for the label and probability
dtypes and the logits switch of the last such batch, whose NLL convention
is then recorded already.  The figures, before and after:
``benchmarks/RESULTS-streaming.md`` and docs/performance.md.
"""

import numpy as np

from ..core import validation as V
from ..core.entry import entry
from .._kernels.streaming import accumulate as KA
from .._kernels.common import CHUNK

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
# The most rows a workspace takes: batches from 2 * CHUNK rows on take the
# general path, on both cores (the accumulator's _PARALLEL_MIN).
_MAX_ROWS = 2 * CHUNK - 1


def plan(acc, rows=64):
    """Set (and return) ``acc._small``, what the one-call path passes its
    kernel: ``(dd, hist, ws, edges, right, rows, auc, y dtype, p dtype,
    logits, kernel)``: the state, the AUROC histogram (None without), a workspace
    for batches of up to ``rows`` rows, the bin edges (read-only, as the
    general path passes them: one specialisation of the pass), the
    right-closed switch, the AUROC
    state, then the label and probability dtypes and the logits switch of
    the last batch and the kernel's entry point for them (None before one:
    see :func:`first`).  None while the path does not apply (other
    settings, no binary batch yet, weights in the state).  Called, under
    the lock, whenever the state arrays, the AUROC state, the weight scale
    or the NLL modes may have changed."""
    acc._small = None
    if not (acc._small_ok and acc._layout == "binary" and not acc._wexp):
        return None
    nb = acc._n_bins
    old = getattr(acc, "_ws", None)
    if old is None or old[1] < rows:  # the workspace, kept across resets and merges
        rows = min(1 << max(6, (int(rows) - 1).bit_length()), _MAX_ROWS)
        ws = np.empty(KA.small_workspace_size(nb, rows))
        ws[0], ws[1] = V.eps_for(_F64), V.eps_for(_F32)
        acc._ws = old = (ws, rows)
    hist = None
    if acc._auc is not None:
        hist = acc._auc._h  # (a background addition may still run: see first())
        acc._auc._any_weight = None  # the kernel adds weight: look when needed
    acc._small = (acc._dd, hist, old[0], acc._edges, V.on(acc._right), old[1], acc._auc,
                  None, None, None, None)
    return acc._small


def first(acc, yd, y, p, logits, n):
    """A small batch (``acc``'s lock held) whose label dtype ``yd`` (``y``:
    the labels as the kernels take them), probability dtype or logits
    switch differ from the last one's, or which is longer: the kernel's
    entry point for its types, the batch added, and the plan set for the
    next batches of the same types.  ``(code, index)``."""
    small = plan(acc, n)
    dd, hist, ws, edges, right, rows, auc = small[:7]
    if auc is not None and auc._pending is not None:
        # the last general batch's rows first: every general batch ends with plan(),
        # so the next small one comes here before its kernel adds to the histogram
        auc._settle()
    args = (y, p, dd, hist, ws, edges, right, logits)
    kernel = entry(KA.binary_update, *args)
    code, idx = kernel(*args)
    if not code:
        if auc is not None:
            auc.n += n
        acc._n += n
        acc._nll_modes.add("logits" if logits else p.dtype.name)
        # the mode is recorded: later batches of these types do not add it
        acc._small = small[:7] + (yd, p.dtype, logits, kernel)
    return code, idx
