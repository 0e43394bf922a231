"""The streaming accumulator's report of data held in memory, with fewer
kernels to compile (the command line's small-file path, docs/cold_start.md).

:class:`InMemoryAccumulator` takes batches as
``CalibrationAccumulator(n_bins)`` does (unweighted, right-closed uniform
bins, the bounded AUROC histogram, no forgetting, no bootstrap): each batch
is validated when it arrives, by the kernel and with the errors of the
accumulator's own path for multiclass batches and for batches with ignored
rows (the functional API's binned kernel writing every row's confidence,
correctness and Brier/NLL terms). Instead of adding each batch into
double-double sums at once, it keeps those rows and adds them in
:meth:`InMemoryAccumulator.compute`, with the accumulator's kernels
(``dd_scatter``, ``hist_scatter``, ``hist_bounds``), into the report
``CalibrationAccumulator.compute`` gives on the same batches: counts and the
AUROC histogram exactly (integers), and every sum as a double-double sum of
the same per-row values, so within one float64 ulp of the exact sum, as the
accumulator's sums are whatever the batch split (``tests/test_cli_small.py``
checks that the reports agree to the last bit on every file it tries).

What it saves is compilation: the accumulator's one-pass binary kernel
(``_kernels/streaming/accumulate.binary_batch``) is its most expensive one, and a binary batch
here compiles the functional kernel instead, while a second process compiles
the kernels that add the rows up (:meth:`InMemoryAccumulator._compile_ahead`).
What it costs is memory: 25 bytes per row kept, so it is meant for small
inputs.
"""

import math

import numpy as np

from ..core import pipeline as _core
from ..core import errors as E
from ..core import validation as V
from .shared import (
    _AUROC_TEXT,
    _PARALLEL_MIN,
    _lo_where_infinite,
    _nll_mode,
    _nll_text,
    check_layout,
    read_only,
)
from .._kernels.streaming import accumulate as KA
from .._kernels.streaming import auroc_hist as KAH
from ..metrics.report import report_from_stats


class InMemoryAccumulator:
    """``CalibrationAccumulator(n_bins)``'s ``update`` and ``compute`` for
    unweighted input, keeping every row in memory until ``compute``.

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> from fastcal.streaming.in_memory import InMemoryAccumulator
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(1000); y = (rng.random(1000) < p).astype(np.int64)
    >>> a = InMemoryAccumulator(10).update(y[:600], p[:600]).update(y[600:], p[600:])
    >>> b = fastcal.CalibrationAccumulator(10).update(y[:600], p[:600]).update(y[600:], p[600:])
    >>> a.compute() == b.compute()
    True
    """

    def __init__(self, n_bins=15):
        self._n_bins = V.check_n_bins(n_bins)
        self._edges = V.uniform_edges(self._n_bins)
        self._layout = None
        self._n_classes = None
        self._n = 0
        self._nll_modes = set()
        self._rows = []  # per batch: (bins, conf, corr, terms) of the kept rows
        self._ahead = None  # the worker compiling the kernels of compute (_compile_ahead)

    n = read_only("_n", "Number of samples seen.")

    _fix_layout = check_layout

    def update(self, y_true, y_prob, *, from_logits=False, ignore_index=None):
        """Validate a batch and keep its rows; returns ``self``. A batch that
        fails validation raises (the accumulator's errors) and is not kept."""
        x = V.prepare(y_true, y_prob, None, tokens=True)
        IG = None if ignore_index is None else V.check_ignore_index(ignore_index, x.p)
        keep = None
        if IG is not None:
            keep = x.y != IG
        layout, C = ("binary", None) if x.binary else ("top-label", x.n_classes)
        self._fix_layout(layout, C)
        mode = _nll_mode(from_logits, x.src)
        n = x.n
        # the accumulator's path for batches it does not take in one pass
        conf, corr, terms = np.empty(n), np.empty(n, np.bool_), np.empty((n, 2))
        bins, _ = _core.binned_pass(x, self._edges, right=True, logits=V.on(from_logits),
                                    scores=True, ignore=IG, conf=conf, corr=corr, terms=terms,
                                    min_work=_PARALLEL_MIN)
        if keep is not None:
            conf, corr, terms = conf[keep], corr[keep], terms[keep]
        self._layout, self._n_classes = layout, C
        self._rows.append((bins, conf, corr, terms))
        self._n += conf.shape[0]
        self._nll_modes.add(mode)
        return self

    def _compile_ahead(self, multiclass=False, from_logits=False, ignore_index=None):
        """On a cold cache, start compiling the kernels of :meth:`compute` in a
        second process (see ``fastcal.core.prefetch``); :meth:`compute` joins it.
        This process meanwhile compiles the batch kernel on the first real
        :meth:`update` (so the arguments, which say what that kernel will be
        for the accumulator's own rehearsal, are not needed: the kernels of
        ``compute`` are the same for every kind of input). Returns a handle
        whose ``wait()`` returns at once, as the caller of
        ``CalibrationAccumulator._compile_ahead`` expects one."""
        from ..core import prefetch as _prefetch

        if self._ahead is None:
            self._ahead = _prefetch.start(rehearse_compute, self._n_bins, probe=(KA.dd_scatter,))
        return _prefetch.NOTHING

    def compute(self):
        """The :class:`~fastcal.CalibrationReport` ``CalibrationAccumulator(n_bins)``
        gives on the same batches."""
        if self._layout is None:
            raise ValueError("the accumulator is empty: call update() with at least one sample "
                             "before compute().")
        if not self._n:  # batches came, but every row had the ignored label
            raise E.all_ignored_error()
        if self._ahead is not None:
            self._ahead.wait()  # the worker compiling what follows (a no-op when none was started)
        rows = self._rows
        bins = rows[0][0].copy()
        for b in rows[1:]:
            bins += b[0]  # counts: exact integers
        conf = np.concatenate([r[1] for r in rows])
        corr = np.concatenate([r[2] for r in rows])
        terms = np.concatenate([r[3] for r in rows])
        sums, scores, (auc, lo, hi) = _totals(conf, corr, terms, bins, self._edges)
        if math.isnan(auc):
            E.warn_undefined(
                "Only one outcome has been seen (all correct, all wrong, or all weight on "
                "one): AUROC is not defined; returning nan.")
        conv = {
            "target": self._layout,
            "n_bins": self._n_bins,
            "strategy": "uniform",
            "closed": "right",
            "edges": "np.linspace(0, 1, n_bins + 1)",
            "nll": _nll_text(self._nll_modes),
            "auroc": _AUROC_TEXT["bounded"],
            "brier": ("mean sum_k (p_k - [y == k])^2" if self._layout != "binary"
                      else "mean (p - y)^2"),
        }
        edges = V.uniform_edges(self._n_bins)[0]
        return report_from_stats(self._n, sums, scores, edges, False, conv, auc, (lo, hi),
                                 classwise_bins=None, classwise_edges=edges, weight_exp=0)


def _totals(conf, corr, terms, bins, edges):
    """The bin table (3, n_bins), the Brier and NLL sums and the bounded AUROC
    ``(auc, low, high)`` of the rows, as the accumulator's state holds them:
    double-double sums (``dd_scatter``, the counts from ``bins``) and the
    AUROC histogram."""
    nb = edges.shape[1] - 1
    hi = np.zeros(3 * nb + 2)
    lo = np.zeros(3 * nb + 2)
    KA.dd_scatter(conf, corr, terms, None, edges, V.on(True), bins, hi, lo)
    _lo_where_infinite(hi, lo)
    s = hi + lo
    hist = np.empty((KAH.N_CELLS, 3))
    hist[:, :2] = 0.0
    hist[:, 2] = KAH.EMPTY
    KA.hist_scatter(hist, conf, corr, None)
    return s[:3 * nb].reshape(3, nb), s[3 * nb:3 * nb + 2], KAH.hist_bounds(hist)


def rehearse_compute(n_bins):
    """:meth:`InMemoryAccumulator.compute` and the report's ``to_dict`` on
    synthetic rows (no batch kernel): the task of the worker process of
    :meth:`InMemoryAccumulator._compile_ahead`."""
    m = 64
    acc = InMemoryAccumulator(n_bins)
    conf = np.linspace(0.01, 0.99, m)
    corr = np.arange(m) % 2 == 1
    terms = np.full((m, 2), 0.25)
    bins = np.zeros((3, acc._n_bins))
    bins[0, 0] = m  # (a table that sums to m: the counts are not checked against the rows)
    acc._rows.append((bins, conf, corr, terms))
    acc._layout, acc._n = "binary", m
    acc._nll_modes.add("float64")
    acc.compute().to_dict()


def warmup_task():
    """``fastcal warmup``'s task for the command line's small files: the batch
    kernels of float64 input with int64 labels (binary probabilities and
    logits, multiclass probabilities and logits, with and without
    ``--ignore-index``) and the kernels of :meth:`InMemoryAccumulator.compute`."""
    rng = np.random.default_rng(0)
    m = 64
    y2 = rng.integers(0, 2, m)
    y3 = rng.integers(0, 3, m)
    P = rng.dirichlet(np.ones(3), m)
    for y, v, kw in ((y2, rng.random(m), {}), (y2, rng.normal(size=m), {"from_logits": True}),
                     (y3, P, {}), (y3, np.log(P), {"from_logits": True}),
                     (np.where(np.arange(m) % 4 == 0, -100, y3), P, {"ignore_index": -100}),
                     (np.where(np.arange(m) % 4 == 0, -100, y3), np.log(P),
                      {"from_logits": True, "ignore_index": -100})):
        InMemoryAccumulator().update(y, v, **kw).compute().to_dict()
