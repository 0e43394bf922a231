"""Shared plumbing between the public metrics and the report: validated input
to binned sufficient statistics, serial or parallel, with the errors raised.
"""

import itertools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import validation as V
from . import errors as E
from .._kernels.streaming import accumulate as KA
from .._kernels.metrics import auroc as KAUC
from .._kernels.metrics import binned as B
from .._kernels.metrics import rows as KR
from .._kernels.uncertainty import bootstrap as KB
from .._kernels.uncertainty import delong as D
from .._kernels.calibrators import histogram_binning as KHB
from .._kernels.calibrators import isotonic as KI
from .._kernels.calibrators import platt as KP
from .._kernels.metrics import scores as SC
from .._kernels.calibrators import temperature as KT
from .._kernels.calibrators import temperature_ece as KTE
from .._kernels.common import CHUNK, OK

# Inputs with at least this many elements (rows x classes) use both cores.
PARALLEL_MIN = 1 << 17

# Only one parallel region at a time: whatever Numba threading layer is in
# use (the workqueue layer is not thread-safe), a second Python thread that
# finds the lock taken runs the serial kernel instead, which releases the GIL.
_PAR_LOCK = threading.Lock()
# Whether this process runs the ``prange`` twins (``parallel=`` of ``run``):
# not in a child forked after its parent ran one on Numba's GNU OpenMP layer,
# which is not fork-safe (Numba terminates such a child at its first parallel
# region); there the serial kernels run instead (see ``_forget_threads``).
_PRANGE_OK = True


def run(serial, work, *args, parallel=None, min_work=None):
    """``serial(*args)``, spread over the cores for large work (``min_work``:
    the threshold, ``PARALLEL_MIN`` read at call time): by threads running the
    serial kernel chunk by chunk when its chunks are registered below (no
    parallel twin to compile), else by its ``parallel`` twin."""
    if min_work is None:
        min_work = PARALLEL_MIN
    if work >= min_work and _PAR_LOCK.acquire(blocking=False):
        try:
            spec = _CHUNKED.get(serial)
            if spec is not None:
                return _threaded(serial, spec, args)
            if _PRANGE_OK:
                return parallel(*args)
        finally:
            _PAR_LOCK.release()
    return serial(*args)


# ---------------------------------------------------------------------------
# Parallel forms derived from the serial kernels.
#
# A chunked serial driver splits its rows into chunks of a fixed size (that
# depends on the input's shape only), computes each chunk into a zeroed
# partial result and adds the partials in chunk order, stopping at the first
# chunk with an invalid element.  Called on exactly one chunk's rows it
# returns that chunk's partial (added to zeros).  So worker threads can call
# it chunk by chunk on row slices, in any order, and adding the partials in
# chunk order reproduces the serial result bit for bit, whatever the number
# of threads.  The kernels release the GIL; the calling thread works too, and
# takes whatever chunks are left, so a busy machine slows a call down rather
# than stalling it on a thread that is not scheduled.  Compiling nothing
# parallel saves the most expensive compilations of all (see
# docs/performance.md, "Cold start").


class _Chunks:
    __slots__ = ("rows", "chunk", "offset", "combine", "status")

    def __init__(self, rows, combine, chunk=None, offset=None, status=True):
        # positions of the per-row arguments, sliced per chunk (None stays None):
        # every argument indexed by row, views of (n, C) input such as ``K`` included
        self.rows = rows
        self.combine = combine  # (results in chunk order) -> the serial driver's result
        self.chunk = chunk  # args -> rows per chunk (default CHUNK)
        self.offset = offset  # position of a global row offset argument (moved per chunk)
        self.status = status  # results start with (code, index): stop at the first error


def _add_in_order(arrays):
    """The arrays added in chunk order from zeros (the serial drivers' reduction)."""
    out = np.zeros_like(arrays[0])
    for a in arrays:
        out += a
    return out


def _sum_binned(results):
    """``(code, index, bins, scores)`` of valid chunks."""
    return (OK, -1, _add_in_order([r[2] for r in results]),
            _add_in_order([r[3] for r in results]))


def _sum_scalars(results):
    tot = [0.0] * (len(results[0]) - 2)
    for r in results:
        tot = [t + x for t, x in zip(tot, r[2:])]
    return (OK, -1, *tot)


def _rows_of_width(args):
    return int(B.chunk_rows(args[1].shape[1]))  # (n, C) input: rows per chunk from C


def _rows_argument(k):
    """Rows per chunk given as argument ``k`` (temperature scaling's kernels)."""
    return lambda args: int(args[k])


def _rows_of_length(args):
    return max(1, CHUNK // max(1, args[0].shape[1]))  # independent rows of (m, n) input


def _stack(results):
    return np.concatenate(results)


_CHUNKED = {
    # y, p, w, conf_out, corr_out, terms_out
    B.binary_stats: _Chunks((0, 1, 2, 10, 11, 12), _sum_binned),
    # y, P, K (a view of P), w, conf_out, corr_out, terms_out
    B.toplabel_stats: _Chunks((0, 1, 2, 7, 17, 18, 19), _sum_binned, chunk=_rows_of_width),
    B.classwise_stats: _Chunks((0, 1, 2, 7), _sum_binned, chunk=_rows_of_width),
    SC.binary_scores: _Chunks((0, 1, 2), _sum_scalars),
    KB.replicate_state: _Chunks((0, 1, 2, 3), _add_in_order, offset=8, status=False),
    KP.loss_derivs: _Chunks((0, 1, 2), _add_in_order, status=False),
    KT.nll_derivs_mc: _Chunks((0, 1, 2), _add_in_order, chunk=_rows_argument(5), status=False),
    KT.nll_derivs_bin: _Chunks((0, 1, 2), _add_in_order, chunk=_rows_argument(5), status=False),
    KTE.ece_bins: _Chunks((0, 1, 2), _add_in_order, chunk=_rows_argument(4), status=False),
    # one isotonic fit per row: any split of the rows gives the same rows
    KI.isotonic_rows: _Chunks((0, 1), _stack, chunk=_rows_of_length, status=False),
}

_POOL = None
_POOL_SIZE = 0


def _pool(k):
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE < k:
        _POOL = ThreadPoolExecutor(max_workers=k, thread_name_prefix="fastcal")
        _POOL_SIZE = k
    return _POOL


def threaded(serial, *args, threads=None):
    """``serial(*args)`` computed by its derived parallel form with ``threads``
    threads (default: Numba's thread count), whatever the size of the work:
    what ``run`` does for large work (for tests and benchmarks)."""
    return _threaded(serial, _CHUNKED[serial], args, threads)


def _threaded(serial, spec, args, threads=None):
    """``serial(*args)``, computed chunk by chunk by ``threads`` threads
    (default: Numba's thread count; the calling thread is one of them)."""
    n = args[spec.rows[1]].shape[0]
    cr = CHUNK if spec.chunk is None else spec.chunk(args)
    nch = max(1, -(-n // cr))
    threads = min(numba.get_num_threads() if threads is None else threads, nch)
    if threads < 2:
        return serial(*args)
    results = [None] * nch
    failed = [nch]  # the first chunk found invalid: later chunks are skipped
    lock = threading.Lock()
    order = itertools.count()  # next() is atomic under the GIL

    def call(i):
        lo = i * cr
        hi = min(n, lo + cr)
        a = list(args)
        for k in spec.rows:
            if a[k] is not None:
                a[k] = a[k][lo:hi]
        if spec.offset is not None:
            a[spec.offset] = a[spec.offset] + np.int64(lo)
        return serial(*a)

    def work():
        while True:
            i = next(order)
            if i >= nch or i > failed[0]:
                return
            r = call(i)
            results[i] = r
            if spec.status and r[0] != OK:
                with lock:
                    failed[0] = min(failed[0], i)

    futures = [_pool(threads - 1).submit(work) for _ in range(threads - 1)]
    work()
    for f in futures:
        f.result()
    if failed[0] < nch:
        i = failed[0]
        r = results[i]
        return (r[0], r[1] + i * cr, *r[2:])
    return spec.combine(results)


# ---------------------------------------------------------------------------
# Kernels whose threads claim blocks of rows themselves.
#
# A chunked driver called chunk by chunk costs a call through Numba's
# dispatcher and a Python slice per chunk, and two chunks per batch leave a
# thread that wakes late holding the batch up.  The streaming pass instead
# runs once per thread: every call takes the next block from one atomic
# counter until none is left, so a late thread takes fewer blocks and one
# that starts after the last block was claimed does nothing at all.

_NO_WS = np.empty(0)  # a workspace too short: each thread allocates its own


def _claimed(kernel, args, ctl, n_blocks, threads):
    """``kernel(*args)`` on the calling thread and on ``threads - 1`` pool
    threads at once; each call claims blocks from ``ctl[0]`` and counts
    the blocks it finished in ``ctl[1]``.  Returns when all ``n_blocks``
    are done (a pool thread still running holds no block)."""
    futures = [_pool(threads - 1).submit(kernel, *args) for _ in range(threads - 1)]
    kernel(*args)
    while ctl[1] < n_blocks:  # blocks a pool thread claimed, in progress
        # every call returned (each counts its blocks before it returns) and still
        # a block is not done: a call raised with a block claimed.  ctl[1] is read
        # again after the calls are seen done: a call may finish in between
        if all(f.done() for f in futures) and ctl[1] < n_blocks:
            for f in futures:
                f.result()
            raise RuntimeError(f"{kernel.__name__}: a block was claimed and not done")


def binary_batch(y, p, w, edges, right, logits, eps, check, conf, cell, *, min_work=None,
                 threads=None):
    """The streaming pass over a binary batch
    (``_kernels.streaming.accumulate.binary_batch``): ``(code, index, sums)``,
    the double-double sums ``(2, 3 * n_bins + 2)`` of the batch's blocks
    added in block order (bitwise the same for any thread count).  Batches of
    at least ``min_work`` rows (default ``PARALLEL_MIN``) run on Numba's
    thread count of threads; ``threads`` sets the count whatever the size
    (for tests and benchmarks)."""
    n = p.shape[0]
    nbk = _n_blocks(n)
    m = 3 * (edges.shape[1] - 1) + 2
    ctl = np.zeros(2 + 2 * nbk, np.int64)
    parts = np.empty((nbk, 2, m))
    args = (y, p, w, edges, right, logits, eps, check, conf, cell, _NO_WS, ctl, parts)
    if threads is None:
        big = n >= (PARALLEL_MIN if min_work is None else min_work)
        threads = numba.get_num_threads() if big else 1
    threads = min(threads, nbk)  # a thread per block at most
    if threads > 1 and _PAR_LOCK.acquire(blocking=False):
        try:
            _claimed(KA.binary_batch, args, ctl, nbk, threads)
        finally:
            _PAR_LOCK.release()
    else:
        KA.binary_batch(*args)
    out = np.empty((2, m))
    code, idx = KA.sum_blocks(ctl, parts, out)
    return code, idx, out


_n_blocks = getattr(KA.n_blocks, "py_func", KA.n_blocks)  # plain Python: no call into Numba


# Work started in the background (``in_background``), not yet finished: waited
# for before the process forks, so that a child never waits for a thread it
# does not have.
_BACKGROUND = set()


def in_background(kernel, *args):
    """``kernel(*args)`` started on a pool thread, for work whose result
    nobody needs before the caller's next step: its future, or None when
    Numba's thread count is one (then it has run in the caller's thread).
    Tasks start in the order given, but a pool of several threads may run two
    at once: a caller whose tasks must not overlap waits for the last one
    before it starts the next (as ``add_batch`` does, through
    ``AUROCAccumulator._hist``).  A claimed pass started meanwhile finds the
    pool thread busy and leaves it the blocks that remain."""
    if numba.get_num_threads() < 2:
        kernel(*args)
        return None
    f = _pool(1).submit(kernel, *args)
    _BACKGROUND.add(f)
    f.add_done_callback(_BACKGROUND.discard)
    return f


def _drain():
    for f in list(_BACKGROUND):
        f.result()


def _forget_threads():
    """In a forked child, which has only the thread that forked: forget the
    parent's pool (its threads are not here, so a task sent to it would never
    run and its caller would wait forever) and the parallel lock (another
    thread may have held it); and after a parent that ran a ``prange`` kernel
    on GNU OpenMP, run the serial kernels in its place."""
    global _POOL, _POOL_SIZE, _PAR_LOCK, _PRANGE_OK
    _POOL, _POOL_SIZE = None, 0
    _PAR_LOCK = threading.Lock()
    _BACKGROUND.clear()
    try:
        layer = numba.threading_layer()  # the parent's, if it ran a parallel region
    except ValueError:
        layer = None
    if layer == "omp" and sys.platform.startswith("linux"):
        _PRANGE_OK = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_drain, after_in_child=_forget_threads)


# Below this many scores the Mann-Whitney U comes from one stable radix sort
# and a scan of the tie blocks (``_kernels.uncertainty.delong.mann_whitney_sorted``: little code,
# quick to compile); from here on from the radix partition of ``_auroc``
# (several times the compile time, faster per call from 1e5 scores on, and
# parallel).  The figures: docs/performance.md, "Cold start".
SORT_MAX = 1 << 17


# the AUROC kernels' "unweighted": a float64 array of length 0 (one signature
# for both cases); everywhere above the kernels "unweighted" is None
_NO_WEIGHT = np.empty(0, dtype=np.float64)


def _f8(score):
    """Scores as the AUROC family's kernels take them: float64.  Their keys
    are float64 bits, into which float32 widens exactly, so a float32 score
    gives the same result; one copy costs far less than compiling the radix
    partition a second time (docs/performance.md, "Cold start")."""
    return score if score.dtype == np.float64 else score.astype(np.float64)


def mann_whitney(score, label, weight=None, want=False):
    """``(u, wpos, wneg, q)`` of validated scores, uint8 labels and float64
    weights (None: unweighted); ``q`` (DeLong's squared placements) is
    computed only with ``want`` and is None otherwise."""
    n = score.shape[0]
    score = _f8(score)
    if weight is None:
        weight = _NO_WEIGHT
    if n < SORT_MAX:
        u, wp, wn, q = D.mann_whitney_sorted(score, label, weight, bool(want))
        return u, wp, wn, (q if want else None)
    if want:
        return run(KAUC.mann_whitney_q, n, score, label, weight, parallel=KAUC.mann_whitney_q_parallel)
    u, wp, wn = run(KAUC.mann_whitney, n, score, label, weight, parallel=KAUC.mann_whitney_parallel)
    return u, wp, wn, None


def delong_pair(score_a, score_b, label, weight=None):
    """``(ua, ub, wpos, wneg, s10, s01)`` of two validated scores on the same
    uint8 labels, weights None or float64 (DeLong's paired statistics)."""
    return run(D.delong_pair, score_a.shape[0], _f8(score_a), _f8(score_b), label,
               _NO_WEIGHT if weight is None else weight, parallel=D.delong_pair_parallel)


def mann_whitney_probe(n, want=False):
    """The kernel :func:`mann_whitney` compiles first for ``n`` rows (whether
    it is compiled tells whether the AUROC family is, see ``fastcal.core.prefetch``)."""
    if n < SORT_MAX:
        return D.mann_whitney_sorted
    return KAUC.mann_whitney_q_parallel if want else KAUC.mann_whitney_parallel


def toplabel_confidence(y_prob, from_logits=False):
    """Top-label confidence of (n, C) probabilities or logits, by the kernel
    ``_kernels.calibrators.histogram_binning.toplabel_conf`` (the binned metrics' own expressions: the row
    maximum, or ``1 / sum_k exp(z_k - max z)`` for logits): float64 (n,) and
    the source dtype of ``y_prob`` (see :func:`fastcal.core.validation.as_prob`).

    Validates every row (probabilities in [0, 1] summing to 1, finite logits)
    and raises the error of the first invalid one.  The one routine for a
    top-label confidence outside the kernels (calibrators, command line)."""
    z, src = V.as_prob(y_prob, "y_prob", ndims=(2,))
    K, shift, mask, one = V.keys(z)
    conf, code, idx = KHB.toplabel_conf(z, K, shift, mask, one, V.on(from_logits),
                                       V.row_sum_tol(src, z.shape[1]))
    if code != OK:
        E.raise_for_status(code, idx, np.zeros(z.shape[0], np.int64), z)
    return conf, src


class Binned:
    """Result of one pass: binned statistics and the fused scores."""

    __slots__ = ("layout", "bins", "scores", "n", "n_classes", "edges", "conf", "corr",
                 "terms", "dtype", "from_logits", "weighted", "w", "keep")


def binned_pass(x, edges, *, right, logits, scores, check=True, ignore=None, conf=None,
                corr=None, terms=None, weight=None, min_work=None):
    """One pass of the binned kernel of prepared input ``x`` (binary or
    top-label, :class:`fastcal.core.validation.Prepared`): ``(bins, scores)``,
    the optional per-row outputs filled; the first invalid element raises its
    :class:`~fastcal.InputError`.  ``weight``: the weights to sum with when
    they are not ``x.w`` (scaled or decayed); messages name the caller's."""
    w = x.w if weight is None else weight
    if x.binary:
        code, idx, bins, sc = run(B.binary_stats, x.n, x.y, x.p, w, edges, True, right, logits,
                                  scores, x.eps, check, conf, corr, terms, min_work=min_work)
    else:
        K, shift, mask, one = x.keys
        code, idx, bins, sc = run(B.toplabel_stats, x.n * x.n_classes, x.y, x.p, K, shift,
                                  mask, one, x.tab, w, edges, True, right, logits, scores, x.eps,
                                  x.tol, check, ignore, conf, corr, terms, min_work=min_work)
    if code != OK:
        raise E.status_error(code, idx, x.y, x.p, x.w, ignore_index=ignore, src=x.src)
    return bins, sc


def classwise_pass(x, edges, *, uniform, right, logits, check=True):
    """Per-class binned sums ``(C, 3, n_bins)`` of prepared (n, C) input."""
    K, shift, mask, one = x.keys
    code, idx, bins, _ = run(B.classwise_stats, x.n * x.n_classes, x.y, x.p, K, shift, mask,
                             one, x.tab, x.w, edges, uniform, right, logits, x.tol, check)
    if code != OK:
        raise E.status_error(code, idx, x.y, x.p, x.w, src=x.src)
    return bins


def softmax_rows(x):
    """The kernels' own softmax of prepared (n, C) logits (float64)."""
    K, shift, mask, one = x.keys
    return KR.softmax_rows(x.p, K, x.tab, shift, mask, one)



def quantile_edges(conf, n_bins, weight):
    """Equal-mass edges ``np.quantile(conf, linspace(0, 1, n_bins + 1))`` (float64).

    With weights: numpy's "linear" quantile of the sample in which each row
    is repeated by its weight (the positions of the order statistics are
    measured in cumulative weight), computed with numpy's own formulas, so
    that unit weights give exactly the unweighted edges and integer weight k
    gives exactly the edges of the row repeated k times.
    """
    q = np.linspace(0.0, 1.0, n_bins + 1)
    conf = np.asarray(conf, dtype=np.float64)
    if weight is None:
        return np.ascontiguousarray(np.quantile(conf, q), dtype=np.float64)
    keep = weight > 0
    if not keep.any():
        raise E.weight_sum_error()
    order = np.argsort(conf[keep], kind="stable")
    xs = conf[keep][order]
    cum = np.cumsum(weight[keep][order])
    total = cum[-1]
    virtual = (total - 1) * q
    prev = np.floor(virtual)
    above = virtual >= total - 1
    below = virtual < 0
    last = xs.shape[0] - 1

    def at(pos):  # value at (0-based) position pos of the repeated sample
        return xs[np.minimum(np.searchsorted(cum, pos, side="right"), last)]

    a = np.where(above, xs[-1], np.where(below, xs[0], at(prev)))
    b = np.where(above, xs[-1], np.where(below, xs[0], at(prev + 1)))
    t = virtual - np.where(above, -1.0, np.where(below, 0.0, prev))
    diff = b - a
    e = a + diff * t
    e = np.where(t >= 0.5, b - diff * (1 - t), e)
    return np.ascontiguousarray(e, dtype=np.float64)


def binned(y_true, y_prob, *, n_bins, strategy, right, classwise, from_logits,
           sample_weight, scores, want_cc, check=True, want_terms=False, ignore_index=None):
    """Validate and compute binned statistics in one pass (two for quantile bins).

    Multiclass input may be (..., C) with labels (...), and float16/bfloat16
    (read as their bits). ``ignore_index``: rows with this label are skipped
    (their ``conf`` is NaN); ``out.n`` counts the rows kept, ``out.keep`` is
    the mask of kept rows (None when nothing is ignored).
    """
    n_bins = V.check_n_bins(n_bins)
    if strategy not in V.STRATEGIES:
        V.check_choice(strategy, "strategy", V.STRATEGIES)
    R = V.on(right)  # compile-time switches (see _kernels/metrics/binned.py)
    L = V.on(from_logits)
    SC = V.on(scores)
    CH = bool(check)  # a runtime switch
    x = V.prepare(y_true, y_prob, sample_weight, tokens=True)
    IG = None
    keep = None
    if ignore_index is not None:
        IG = V.check_ignore_index(ignore_index, x.p)
        keep = x.y != IG
        if keep.all():
            IG = keep = None
    n, w = x.n, x.w
    out = Binned()
    out.n = n if keep is None else int(np.count_nonzero(keep))
    out.keep = keep
    out.dtype = x.src
    out.from_logits = bool(from_logits)
    out.weighted = w is not None
    out.w = w
    out.n_classes = x.n_classes
    uniform = strategy == "uniform"
    edges = V.uniform_edges(n_bins)
    need_cc = want_cc or not uniform
    conf = np.empty(n) if need_cc else None
    corr = np.empty(n, np.bool_) if need_cc else None
    out.conf, out.corr = conf, corr
    # per-row Brier and NLL terms (top-label / binary), for resampling
    terms = np.empty((n, 2)) if want_terms and scores else None
    out.terms = terms
    if classwise:
        if x.binary:
            raise E.input_error(
                "classwise=True needs {y_prob} of shape (n, C); a 1-D {y_prob} is already the "
                "binary problem of class 1. For the two-class average pass "
                "np.column_stack([1 - p, p]) with integer labels.", {"y_prob": "y_prob"},
                param="y_prob")
        if IG is not None:
            raise ValueError("ignore_index is not supported with classwise=True; drop the "
                             "ignored rows first.")
        out.layout = "classwise"
        out.conf = out.corr = out.terms = None
        if not uniform:
            # validate first, then per-class quantile edges on the probabilities
            binned_pass(x, edges, right=R, logits=L, scores=None, check=CH)
            P = softmax_rows(x) if from_logits else (x.p if x.tab is None else x.tab[x.p])
            edges = V.frozen(np.stack([quantile_edges(P[:, k], n_bins, w)
                                        for k in range(x.n_classes)]))
        out.bins = classwise_pass(x, edges, uniform=uniform, right=R, logits=L, check=CH)
        # classwise bins carry no Brier/NLL sums (calibration_error needs none)
        out.scores, out.edges = np.zeros(2), edges
        return out
    out.layout = "binary" if x.binary else "top-label"
    bins, sc = binned_pass(x, edges, right=R, logits=L, scores=SC, check=CH, ignore=IG,
                           conf=conf, corr=corr, terms=terms)
    if not uniform:
        cc, cr, ww = conf, corr, w
        if keep is not None:
            cc, cr = conf[keep], corr[keep]
            ww = None if w is None else w[keep]
        edges = V.frozen(quantile_edges(cc, n_bins, ww).reshape(1, -1))
        code, idx, bins, _ = run(B.binary_stats, cc.shape[0],
                                 cr, cc, ww, edges, False, R, None, None, x.eps, False,
                                 None, None, None)
    out.bins = bins
    out.scores = sc
    out.edges = edges
    return out
