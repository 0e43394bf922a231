"""Streaming state updates: one batch's binned statistics into an accumulator.

Binary batches (without ignored rows or bootstrap) take one pass:
:func:`binary_batch` validates, bins and sums each block of ``BLOCK`` rows
with compensation (:func:`binary_chunk`, the functional kernel's per-row
values); the threads that run it at once (``fastcal.core.pipeline.binary_batch``)
claim the blocks one by one, and :func:`sum_blocks` adds the blocks'
double-double sums in block order, so the result is bitwise the same
whatever the thread count.  A small batch
(one call per batch, a few tens of rows) takes the same pass through
:func:`binary_update`, which adds it to the state and the AUROC histogram
itself and keeps every buffer in one workspace, so that its caller passes
few arguments.
Other batches run the functional API's kernel (``_binned``), which writes
each row's values to scratch, and this module adds those rows
(:func:`dd_scatter`).  Either way rows reach the state only when the whole
batch was valid, so a failed update leaves the state untouched.

Compensated within a batch too: every row is added into per-bin double-double
sums (TwoSum), and those are added into the state with TwoSum again.  So each bin's sum of weights, of weight x confidence
and of weight x correct, and the Brier and NLL sums, are the double-double
sums of the per-row float64 values (``w``, ``fl(w * c)``, ``w`` or 0,
``fl(w * term)``; with unit weights the first three are the exact data), off
by at most n * 2**-106 of their magnitude: within one float64 ulp of the exact
sum whatever the data and the batch split.  The classwise blocks are summed
the same way by :func:`dd_scatter_classwise` (the values of the classwise
kernel, recomputed with its expressions).

The AUROC histogram ``hist`` (``(n_cells, 3)``: negatives, positives, the
score seen; see ``auroc_hist``) receives each sample's weight in the cell of
its confidence, from the per-row confidence and cell the binary batch kernel
wrote to scratch (:func:`hist_cells`; the vectorised pass computes the cells),
or from per-row confidence and correctness (:func:`hist_scatter`).
"""

import numpy as np
from numba import njit

from . import auroc_hist as KH
from ..metrics.bins import _EDGE_SLACK, EXP_BLOCK, ROW_BLOCK, class_label, find_bin
from ..metrics.rows import row_logits_tab, value
from ..metrics.binned import binary_element, binary_first_error, nll_arg, nll_terms
from ..vmath import exp_
from ..common import OK, INNER, OPTS, fetch_add


@njit(**OPTS)
def dd_add(hi, lo, k, x):
    """``hi[k] + lo[k] += x`` (TwoSum, the rounding error into ``lo[k]``)."""
    a = hi[k]
    s = a + x
    bb = s - a
    lo[k] += (a - (s - bb)) + (x - bb)
    hi[k] = s


@njit(**OPTS)
def two_sum(s, e, x):
    """``(s', e')`` with ``s' + e' = s + e + x`` up to the rounding of ``e``:
    TwoSum of ``s + x``, its error added to ``e`` (a running double-double)."""
    t = s + x
    bb = t - s
    return t, e + ((s - (t - bb)) + (x - bb))


# Interleaved copies of the per-bin double-double sums in dd_scatter: row i
# adds into copy i % _WAYS, so rows falling in the same bin one after the
# other do not wait on each other's store (a power of two).
_WAYS = 4


@njit(**OPTS)
def _fold(bh, bl, m, b0, b1, n0, n1, hi, lo):
    """Add the ``_WAYS`` interleaved copies of the per-bin double-double sums
    (``bh + bl``, ``m`` entries each) and the Brier ``(b0, b1)`` and NLL
    ``(n0, n1)`` double-doubles into ``hi + lo`` (state layout)."""
    for j in range(_WAYS):
        for k in range(m):
            dd_add(hi, lo, k, bh[j * m + k])
            lo[k] += bl[j * m + k]
    dd_add(hi, lo, m, b0)
    lo[m] += b1
    dd_add(hi, lo, m + 1, n0)
    lo[m + 1] += n1


@njit(**OPTS)
def dd_scatter(conf, corr, terms, w, edges, right, bins, hi, lo):
    """Add each row (confidence ``conf``, correct ``corr``, Brier/NLL ``terms``
    (n, 2), weight ``w`` or None for 1) into the double-double sums ``hi + lo``
    of the state layout (``(3, n_bins)`` bins, then the two scores), in the
    bin the batch kernel used (uniform ``edges``, (1, n_bins + 1) like every
    binned kernel's).  Rows with a NaN confidence
    (ignored padding) are skipped.  Every addition is a TwoSum.

    Unweighted, the bin counts and correct counts are taken from the batch
    kernel's ``bins``: integers below 2**53, so its float64 sums are exact."""
    e = edges[0]
    nb = e.shape[0] - 1
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
        k = find_bin(c, e, nb, on, right) + (i & (_WAYS - 1)) * m
        dd_add(bh, bl, nb + k, wi * c)
        if w is not None:
            dd_add(bh, bl, k, wi)
            dd_add(bh, bl, 2 * nb + k, wi * np.float64(corr[i]))  # exact: 0 or wi
        b0, b1 = two_sum(b0, b1, wi * terms[i, 0])
        n0, n1 = two_sum(n0, n1, wi * terms[i, 1])
    if w is None:  # exact integer counts
        for k in range(nb):
            bh[k] = bins[0, k]
            bh[2 * nb + k] = bins[2, k]
    _fold(bh, bl, m, b0, b1, n0, n1, hi, lo)


@njit(**OPTS)
def dd_scatter_classwise(y, P, K, shift, mask, one, tab, w, edges, right, logits, off, hi, lo):
    """The classwise blocks ``(C, 3, n_bins)`` (from ``hi[off]`` on) of a
    validated (n, C) batch as double-double sums: per class k the binary
    problem (P[:, k] or its softmax, y == k), with exactly the values and bins
    of ``_kernels.metrics.binned.classwise_chunk`` (uniform (1, n_bins + 1)
    ``edges``), every addition a TwoSum."""
    e = edges[0]
    nb = e.shape[0] - 1
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
            b = off + k * 3 * nb + find_bin(c, e, nb, on, right)
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


# Independent double-double lanes of the Brier and NLL sums in binary_chunk:
# element j of a block goes into lane j % _LANES, so the TwoSum chains do not
# wait on each other, and the loop over the lanes vectorises (8 or 16 lanes
# do not: Numba runs no SLP vectoriser, and LLVM's loop vectoriser does not
# find a loop of 8 or 16 worth its overlap checks).
_LANES = 32
# Scratch rows of ROW_BLOCK elements in the workspace of binary_chunk.
_ROWS = 7


@njit(**OPTS)
def hist_cells(hist, conf, cell, w):
    """Add each row's weight (``w``, or None for 1) to the AUROC histogram:
    row ``i`` has confidence ``conf[i]`` and ``cell[i] = 2 * cell_of(conf[i])
    + label`` (written by :func:`binary_chunk`; no ignored rows).  The state
    is bitwise what :func:`hist_scatter` leaves (``auroc_hist.add`` per row,
    in row order)."""
    h = hist.reshape(-1)  # (n_cells, 3), C-contiguous
    one = np.uint64(1)
    for i in range(conf.shape[0]):
        # unsigned indices: no test for a negative (wrapping) index
        q = np.uint64(cell[i])
        b = (q >> one) * np.uint64(3)
        wi = 1.0 if w is None else w[i]
        h[b + (q & one)] += wi
        if w is None or wi > 0.0:
            v = conf[i] + 0.0  # -0.0 -> +0.0
            r = h[b + np.uint64(2)]
            if r != v and r != KH.MIXED:  # else unchanged (auroc_hist.add_cell)
                h[b + np.uint64(2)] = v if r == KH.EMPTY else KH.MIXED


@njit(**OPTS)
def workspace_size(n_bins):
    """Length of the float64 scratch of :func:`binary_chunk` (one thread's
    blocks of :func:`binary_batch`) for ``n_bins`` bins."""
    return 2 * _WAYS * 3 * n_bins + _ROWS * ROW_BLOCK + 4 * _LANES


@njit(**OPTS)
def dd_lanes(x, n, hi, lo):
    """Add ``x[:n]`` into the ``_LANES`` double-double lanes ``hi + lo``:
    element ``j`` into lane ``j % _LANES``, each addition a TwoSum."""
    L = _LANES
    m = n - n % L
    for b in range(0, m, L):
        for k in range(L):  # independent lanes: vectorised
            a = hi[k]
            v = x[b + k]
            s = a + v
            bb = s - a
            lo[k] += (a - (s - bb)) + (v - bb)
            hi[k] = s
    for k in range(n - m):
        hi[k], lo[k] = two_sum(hi[k], lo[k], x[m + k])


@njit(**OPTS)
def fold_lanes(hi, lo):
    """The double-double lanes ``hi + lo`` (see :func:`dd_lanes`) added in
    lane order: ``(hi, lo)``."""
    s = 0.0
    e = 0.0
    for k in range(hi.shape[0]):
        s, e = two_sum(s, e, hi[k])
        e += lo[k]
    return s, e


@njit(**INNER)
def binary_chunk(y, p, w, lo, hi, edges, right, logits, eps, check, part, conf, cell, ws):
    """Rows ``lo:hi`` of a binary batch in one pass: validated, binned and
    added with TwoSum into the double-double ``part`` (``(2, 3 * n_bins + 2)``:
    row 0 the high parts, row 1 the low parts, in the state layout), with the
    values of the functional kernel (``_kernels.metrics.binned.binary_chunk``): per bin the
    weight, weight x confidence and weight x correct, then the weighted Brier
    and NLL terms.  Unweighted, the counts are exact integers and are added
    plainly.  With ``conf`` / ``cell`` (int32) each row's confidence and
    ``2 * auroc_hist.cell_of(confidence) + label`` are written there too (the
    AUROC histogram's input, :func:`hist_cells`).  ``ws``: float64 scratch of at
    least :func:`workspace_size` elements.  Returns whether every row was
    valid; ``part`` is only written when it was.

    Per block of ``ROW_BLOCK`` rows: a loop without branches or scatter (it
    vectorises) validates the rows and computes each one's bin guess
    ``int(c * n_bins)``, Brier term and NLL argument; rows within 1e-9 of an
    edge (a block that has any) are binned again by ``find_bin``; then a
    scatter loop adds the rows into the per-bin sums, the NLL terms are
    evaluated in one vectorised block, and the Brier and NLL terms are added
    into ``_LANES`` independent double-double lanes, folded at the end."""
    e = edges[0]  # uniform, (1, n_bins + 1)
    nb = e.shape[0] - 1
    on = np.bool_(True)  # uniform bins (not a literal)
    m = 3 * nb
    W = _WAYS * m
    bh = ws[:W]
    bl = ws[W:2 * W]
    bh[:] = 0.0
    bl[:] = 0.0
    R = ROW_BLOCK
    o = 2 * W
    qb = ws[o:o + R]
    ab = ws[o + R:o + 2 * R]
    lb = ws[o + 2 * R:o + 3 * R]
    wb = ws[o + 3 * R:o + 4 * R]
    tb = ws[o + 4 * R:o + 5 * R]
    cb = ws[o + 5 * R:o + 6 * R]
    kb = ws[o + 6 * R:o + 7 * R].view(np.int64)
    L = _LANES
    lanes = ws[o + 7 * R:o + 7 * R + 4 * L]
    lanes[:] = 0.0
    sh = lanes[:L]  # Brier: sh + sl; NLL: nh + nl
    sl = lanes[L:2 * L]
    nh = lanes[2 * L:3 * L]
    nl = lanes[3 * L:]
    unb = np.uint64(nb)
    unb2 = np.uint64(2 * nb)
    top = np.float64(nb - 1)
    fnb = np.float64(nb)
    ok = True
    for b0 in range(lo, hi, R):
        b1 = min(hi, b0 + R)
        cnt = b1 - b0
        near = 0
        # block slices, indexed from 0: LLVM then knows no index wraps
        # around, and the loop vectorises (indexing by b0 + j, it does not)
        ys = y[b0:b1]
        ps = p[b0:b1]
        wsl = None if w is None else w[b0:b1]
        cs = None if conf is None else conf[b0:b1]
        es = None if cell is None else cell[b0:b1]
        for j in range(cnt):
            t, wi, z, c, valid = binary_element(ys, ps, wsl, j, logits, check)
            ok &= valid
            # find_bin's guess (grid_cell), clamped before the conversion
            x = c * fnb
            xc = x if x > 0.0 else 0.0
            xc = xc if xc < top else top
            k = np.int64(xc)
            f = x - k
            near += not (f > _EDGE_SLACK and f < 1.0 - _EDGE_SLACK)
            kb[j] = k
            cb[j] = c
            d = c - t
            tb[j] = wi * (d * d)
            if w is not None:
                wb[j] = wi
            qb[j] = nll_arg(t, z, c, logits, eps)
            if conf is not None:
                cs[j] = c
                es[j] = np.int32(2 * KH.cell_of(c) + np.int64(t == 1.0))
        if not ok:
            return False
        if near:
            for j in range(cnt):
                kb[j] = find_bin(cb[j], e, nb, on, right)
        for j in range(cnt):
            # unsigned: no test for a negative index (which wraps around)
            k = np.uint64(kb[j] + (j & (_WAYS - 1)) * m)
            t = np.float64(ys[j])
            if w is None:
                dd_add(bh, bl, k + unb, cb[j])
                bh[k] += 1.0
                bh[k + unb2] += t
            else:
                wi = wb[j]
                dd_add(bh, bl, k + unb, wi * cb[j])
                dd_add(bh, bl, k, wi)
                dd_add(bh, bl, k + unb2, wi * t)  # exact: 0 or wi
        dd_lanes(tb, cnt, sh, sl)
        nll_terms(qb, ab, lb, cnt, logits)  # (ab: scratch)
        if w is not None:
            for j in range(cnt):
                lb[j] = wb[j] * lb[j]
        dd_lanes(lb, cnt, nh, nl)
    s0, s1 = fold_lanes(sh, sl)
    n0, n1 = fold_lanes(nh, nl)
    _fold(bh, bl, m, s0, s1, n0, n1, part[0], part[1])
    return True


# Rows per block of a binary batch.  Each block's double-double sums are
# computed alone, by whichever thread claims it, and the blocks are added in
# block order, so the sums do not depend on the thread count or on which
# thread took which block.  A 65536-row batch is 8 blocks: a thread that
# starts late leaves its share to the others instead of holding the batch
# up; a block is long enough that folding its per-bin copies (``_fold``) is
# a few percent of it.
BLOCK = 1 << 13


@njit(**OPTS)
def n_blocks(n):
    """Blocks of ``BLOCK`` rows in a batch of ``n`` rows (at least one)."""
    return max(1, (n + BLOCK - 1) // BLOCK)


@njit(**OPTS)
def binary_batch(y, p, w, edges, right, logits, eps, check, conf, cell, ws, ctl, parts):
    """One thread's share of a binary batch (uniform (1, n_bins + 1)
    ``edges``): blocks of ``BLOCK`` rows (see :func:`binary_chunk`) claimed
    one at a time from ``ctl[0]``, each one's double-double sums written to
    ``parts[i]`` (``(n_blocks, 2, 3 * n_bins + 2)``).  ``ctl`` (int64,
    ``2 + 2 * n_blocks``, zeroed by the caller): the next block to claim, the
    number of blocks done (counted after the block's results are written),
    then per block the status code and the index of its first invalid row
    (``OK``, 0 when valid).  Any number of threads may call it at once on
    the same arguments: each block is claimed by exactly one of them.  ``ws``:
    float64 scratch of at least :func:`workspace_size` elements, or a shorter
    array (an empty one for several threads), in place of which the call
    allocates its own.  :func:`sum_blocks` then adds the blocks."""
    nbk = parts.shape[0]
    if ws.shape[0] < workspace_size(edges.shape[1] - 1):
        ws = np.empty(workspace_size(edges.shape[1] - 1))
    n = p.shape[0]
    while True:
        i = fetch_add(ctl, 0)
        if i >= nbk:
            return
        lo = i * BLOCK
        hi = min(n, lo + BLOCK)
        part = parts[i]
        part[:] = 0.0
        if not binary_chunk(y, p, w, lo, hi, edges, right, logits, eps, check, part, conf,
                            cell, ws):
            code, idx = binary_first_error(y, p, w, lo, hi, logits, check)
            ctl[2 + i] = code
            ctl[2 + nbk + i] = idx
        fetch_add(ctl, 1)  # a full barrier: the block's results are written


@njit(**OPTS)
def sum_blocks(ctl, parts, out):
    """``(code, index)`` of a batch whose blocks :func:`binary_batch` has
    all done: the first invalid block's, or ``(OK, -1)`` with the blocks'
    sums added in block order into ``out`` (``(2, m)``, zeroed first).  It
    starts with a full barrier (an atomic add to the claim counter, which no
    call reads any more), so the blocks are read after the done count that
    said so, on any CPU (x86 keeps that order anyway)."""
    fetch_add(ctl, 0)
    nbk = parts.shape[0]
    out[:] = 0.0
    for i in range(nbk):
        if ctl[2 + i] != OK:
            return ctl[2 + i], ctl[2 + nbk + i]
    for i in range(nbk):
        add_dd(out[0], out[1], parts[i, 0], parts[i, 1])
    return OK, -1


# The head of the small-batch workspace (see small_workspace_size): the NLL
# clipping epsilon of float64 and of float32 probabilities.
_HEAD = 2
# binary_update's code for a batch it does not take (and leaves alone): empty,
# longer than its workspace, labels and probabilities of different lengths,
# or rows that are not contiguous.
NOT_TAKEN = -1


def small_workspace_size(n_bins, rows):
    """Length of the float64 workspace of :func:`binary_update` for batches of
    at most ``rows`` rows: the two epsilons, :func:`workspace_size` for the
    pass, the blocks' control words and sums and the batch's sums (see
    :func:`_small_parts`), then each row's confidence (float64) and AUROC
    cell (int32, 2 per element).  Plain Python (the kernel checks the same
    sum): a caller sizing the workspace compiles nothing for it."""
    size = getattr(workspace_size, "py_func", workspace_size)  # (NUMBA_DISABLE_JIT: itself)
    nbk = getattr(n_blocks, "py_func", n_blocks)(rows)
    return _HEAD + size(n_bins) + (2 + 2 * nbk) + (nbk + 1) * 2 * (3 * n_bins + 2) + rows \
        + (rows + 1) // 2


@njit(**OPTS)
def _small_parts(ws, a, nbk, m):
    """The control words, the blocks' sums and the batch's sums that
    :func:`binary_update` keeps in its workspace from ``a`` on (``m`` sums),
    and where the rows' values start."""
    c = 2 + 2 * nbk
    ctl = ws[a:a + c].view(np.int64)
    ctl[:] = 0
    b = a + c + nbk * 2 * m
    return (ctl, ws[a + c:b].reshape((nbk, 2, m)), ws[b:b + 2 * m].reshape((2, m)),
            b + 2 * m)


# A call takes about a microsecond: releasing the GIL and taking it back (some
# tens of ns) buys nothing; its caller holds the accumulator's lock anyway.
@njit(**dict(OPTS, nogil=False))
def binary_update(y, p, dd, hist, ws, edges, right, logits):
    """Serial pass over a small binary batch, added to the double-double state
    ``dd`` (``(2, 3 * n_bins + 2)``: high parts, low parts) when valid,
    without allocating: ``ws`` is a float64 workspace of
    :func:`small_workspace_size` elements or more, whose head holds the
    clipping epsilon of float64 input and that of float32 input; the rows'
    confidence and AUROC cell, the AUROC histogram's input, are written
    after the pass's workspace (and added to ``hist`` unless it is None).
    The pass is :func:`binary_batch`'s, on one thread, and its blocks are
    added as :func:`sum_blocks` adds them: bitwise the sums of the general
    path.  Returns ``(code, index)``: ``(NOT_TAKEN, -1)``, nothing done, for a batch
    it does not take (see :data:`NOT_TAKEN`; the strides are checked as well
    as the types say ``C``: a caller of the compiled entry point may pass
    any array of the right dtype)."""
    nb = edges.shape[1] - 1
    m = 3 * nb + 2
    n = p.shape[0]
    nbk = n_blocks(n)
    a = _HEAD + workspace_size(nb)
    r = a + (2 + 2 * nbk) + (nbk + 1) * 2 * m  # small_workspace_size
    if (n == 0 or y.shape[0] != n or ws.shape[0] < r + n + (n + 1) // 2
            or (n > 1 and (y.strides[0] != y.itemsize or p.strides[0] != p.itemsize))):
        return NOT_TAKEN, -1
    eps = ws[0] if p.itemsize == 8 else ws[1]
    work = ws[_HEAD:a]
    ctl, parts, out, r = _small_parts(ws, a, nbk, m)
    conf = ws[r:r + n]
    cell = ws[r + n:r + n + (n + 1) // 2].view(np.int32)[:n]
    # conf and cell even without hist: one binary_batch specialisation, the
    # general path's with the AUROC (Numba types both sides of an ``is None`` branch)
    binary_batch(y, p, None, edges, right, logits, eps, np.bool_(True), conf, cell, work, ctl,
                 parts)
    code, idx = sum_blocks(ctl, parts, out)
    if code == OK:
        add_dd(dd[0], dd[1], out[0], out[1])
        if hist is not None:
            hist_cells(hist, conf, cell, None)
    return code, idx
