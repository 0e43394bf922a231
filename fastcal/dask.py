"""Calibration gauges over dask arrays and dask DataFrame columns.

Each partition is reduced to an accumulator state where it lives (a few
kilobytes), the states are summed in a tree, and the result equals the
in-memory call on the whole data (up to float64 rounding of the sums).
Needs the optional extra: ``pip install "dask[array,dataframe]" distributed``.

The same recipe works on any engine that maps over partitions and reduces:

* Spark: ``rdd.mapPartitions(lambda rows: [acc_of(rows)]).treeReduce(operator.add)``
* Ray: ``ray.get([remote_acc.remote(shard) for shard in shards])`` then ``sum(states)``

(see ``docs/distributed.md``).
"""

from ._accumulator import CalibrationAccumulator
from ._auroc_accumulator import AUROCAccumulator

_HINT = 'fastcal.dask needs dask: pip install "dask[array,dataframe]" distributed'


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise ImportError(_HINT) from None
    return dask, da


def _blocks(x, name, chunks=None):
    """Delayed numpy blocks of a dask array / Series / DataFrame (or an in-memory array)
    along the rows, rechunked to ``chunks`` (row chunk sizes) when given."""
    dask, da = _dask()
    if isinstance(x, da.Array):
        if x.ndim == 2 and x.numblocks[1] != 1:
            x = x.rechunk({1: -1})
        if chunks is not None and x.chunks[0] != chunks:
            x = x.rechunk({0: chunks})
        return list(x.to_delayed().ravel()), x.chunks[0]
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        dd = None
    if dd is not None and isinstance(x, (dd.Series, dd.DataFrame)):
        parts = x.to_delayed()
        return [dask.delayed(_to_numpy)(p) for p in parts], None
    if x is None:
        return None, None
    raise TypeError(f"{name} must be a dask array, a dask Series or a dask DataFrame; "
                    f"found {type(x).__name__}. For in-memory data call fastcal directly.")


def _to_numpy(part):
    return part.to_numpy()


def _partial(make, update_kw, y, p, w):
    acc = make()
    if len(p) == 0:  # an empty partition is an empty state (merges as zero)
        return acc
    return acc.update(y, p, sample_weight=w, **update_kw)


def _tree_sum(dask, parts, split_every):
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2; found {split_every!r}.")
    while len(parts) > 1:
        parts = [dask.delayed(sum)(parts[i:i + split_every], 0)
                 for i in range(0, len(parts), split_every)]
    return parts[0]


def _accumulate(make, update_kw, y_true, y_prob, sample_weight, split_every, prob_name):
    dask, da = _dask()
    p_blocks, chunks = _blocks(y_prob, prob_name)
    y_blocks, _ = _blocks(y_true, "y_true", chunks)
    w_blocks, _ = _blocks(sample_weight, "sample_weight", chunks)
    if len(y_blocks) != len(p_blocks) or (w_blocks is not None and len(w_blocks) != len(p_blocks)):
        raise ValueError(
            f"y_true and {prob_name} must be partitioned alike: found {len(y_blocks)} and "
            f"{len(p_blocks)} partitions.")
    if w_blocks is None:
        w_blocks = [None] * len(p_blocks)
    parts = [dask.delayed(_partial)(make, update_kw, y, p, w)
             for y, p, w in zip(y_blocks, p_blocks, w_blocks)]
    return _tree_sum(dask, parts, split_every)


def calibration_report(y_true, y_prob, *, n_bins=15, right=True, from_logits=False,
                       sample_weight=None, split_every=8, compute=True):
    """:func:`fastcal.calibration_report` over dask collections.

    Parameters
    ----------
    y_true, y_prob, sample_weight : dask arrays, Series or DataFrames
        Partitioned alike along the rows (dask arrays are rechunked to
        ``y_prob``'s row chunks). A 2-D ``y_prob`` (or a DataFrame of class
        columns) is multiclass, top-label.
    n_bins, right, from_logits :
        As for :func:`fastcal.calibration_report` (uniform bins).
    split_every : int, default=8
        Fan-in of the tree reduction.
    compute : bool, default=True
        ``False`` returns a ``dask.delayed`` of the merged
        :class:`~fastcal.CalibrationAccumulator` instead of the report.

    Returns
    -------
    CalibrationReport (or a Delayed accumulator)

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastcal, fastcal.dask
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(100_000); y = (rng.random(100_000) < p).astype(np.int8)
    >>> r = fastcal.dask.calibration_report(da.from_array(y, chunks=30_000),
    ...                                     da.from_array(p, chunks=30_000))
    >>> abs(r.ece - fastcal.ece(y, p)) < 1e-15, r.n
    (True, 100000)
    """
    def make():
        return CalibrationAccumulator(n_bins, right=right)

    make()  # validate the settings before building the graph
    acc = _accumulate(make, {"from_logits": from_logits}, y_true, y_prob, sample_weight,
                      split_every, "y_prob")
    if not compute:
        return acc
    return acc.compute().compute()


def auroc(y_true, y_score, *, sample_weight=None, exact=False, score_range=None,
          transform=None, return_bounds=False, split_every=8, compute=True):
    """:func:`fastcal.auroc` over dask collections, through
    :class:`~fastcal.AUROCAccumulator` states.

    ``exact=False`` (default) reduces bounded histograms (4.3 MiB per
    partition state, whatever its size) and is exact whenever no two distinct
    scores share a cell; ``return_bounds=True`` returns ``(auc, low, high)``
    with the certified interval. ``exact=True`` gathers every score to one
    place (memory grows with the data). ``score_range``/``transform`` as for
    :class:`~fastcal.AUROCAccumulator`.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastcal, fastcal.dask
    >>> rng = np.random.default_rng(1)
    >>> s = np.round(rng.random(50_000), 3); y = (rng.random(50_000) < s).astype(np.int8)
    >>> auc = fastcal.dask.auroc(da.from_array(y, chunks=20_000), da.from_array(s, chunks=20_000))
    >>> auc == fastcal.auroc(y, s)   # 3-decimal scores: the histogram is exact
    True
    """
    def make():
        return AUROCAccumulator(exact, score_range=score_range, transform=transform)

    make()
    acc = _accumulate(make, {}, y_true, y_score, sample_weight, split_every, "y_score")
    if not compute:
        return acc
    acc = acc.compute()
    if return_bounds:
        lo, hi = acc.bounds()
        return acc.compute(), lo, hi
    return acc.compute()


def accumulate(y_true, y_prob, *, make=CalibrationAccumulator, split_every=8, **update_kw):
    """Delayed merged accumulator: ``make()`` per partition, ``update(y, p, **update_kw)``,
    tree-summed. The building block of the functions here, for any accumulator
    with the protocol of DESIGN.md section 4."""
    sample_weight = update_kw.pop("sample_weight", None)
    return _accumulate(make, update_kw, y_true, y_prob, sample_weight, split_every, "y_prob")


__all__ = ["accumulate", "auroc", "calibration_report"]
