"""Calibration gauges over dask arrays and dask DataFrame columns.

Each partition is reduced to an accumulator state where it lives (a few
kilobytes), the states are summed in a tree, and the result equals the
in-memory call on the whole data (up to float64 rounding of the sums).
Needs the optional extra: ``pip install "dask[array,dataframe]" distributed``.

The same recipe works on any engine that maps over partitions and reduces:

* Spark: ``rdd.mapPartitions(lambda rows: [acc_of(rows)]).treeReduce(operator.add)``
* Ray: ``ray.get([remote_acc.remote(shard) for shard in shards])`` then ``sum(states)``

(see ``docs/distributed.md``).

Examples
--------
One data set, partitioned, for :func:`calibration_report` and :func:`compare`:

>>> import numpy as np, dask.array as da, fastcal, fastcal.dask
>>> rng = np.random.default_rng(0)
>>> p = rng.random(100_000); y = (rng.random(100_000) < p).astype(np.int8)
>>> Y, P = da.from_array(y, chunks=30_000), da.from_array(p, chunks=30_000)
>>> r = fastcal.dask.calibration_report(Y, P)
>>> abs(r.ece - fastcal.ece(y, p)) < 1e-15, r.n   # the in-memory call's, up to rounding
(True, 100000)
>>> c = fastcal.dask.compare(Y, {"a": P, "b": P ** 2}, n_resamples=200, random_state=0)
>>> c.n, c.ranking("brier")
(100000, ['a', 'b'])
"""

from .streaming.accumulator import CalibrationAccumulator
from .streaming.auroc_accumulator import AUROCAccumulator

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

    The module docstring has an example (on the data set it shares with :func:`compare`).

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


def _compare_partial(names, kw, stream, y, preds, w, from_logits):
    from .comparison.stream import CompareAccumulator

    acc = CompareAccumulator(names, stream=stream, **kw)
    if len(preds[names[0]]) == 0:  # an empty partition merges as zero
        return acc
    if isinstance(y, tuple):  # one label block per model
        y = dict(zip(names, y))
    return acc.update(y, preds, sample_weight=w, from_logits=from_logits)


def _n_rows(x):
    """Rows of a dask array (None when unknown: a DataFrame, NaN chunks)."""
    shape = getattr(x, "shape", None)
    if not shape or not isinstance(shape[0], int):
        return None
    return shape[0]


def compare(y_true, predictions, *, baseline=None, n_bins=15, right=True, from_logits=False,
            sample_weight=None, ci=0.95, n_resamples=1000, random_state=None, split_every=8,
            compute=True):
    """:func:`fastcal.compare` over dask collections, through
    :class:`~fastcal.CompareAccumulator` states (bounded memory per partition).

    The module docstring has an example (on the data set it shares with
    :func:`calibration_report`).

    Parameters
    ----------
    y_true : dask array, Series or DataFrame, or a mapping model -> one
        Labels, shared or per model.
    predictions : mapping of model name -> dask array, Series or DataFrame
        Every model's ``y_prob``, partitioned alike along the rows (dask
        arrays are rechunked to the first model's row chunks).
    baseline, ci, n_resamples, random_state :
        As for :func:`fastcal.compare` (``ci=None``: no bootstrap).  The seed
        is drawn once; partition ``i`` is bootstrap stream ``i``, so the
        intervals are those of another (equally valid) draw of replicate
        weights than the in-memory call's; the gauges and estimates are the
        same up to float64 rounding.
    n_bins, right, from_logits, sample_weight, split_every, compute :
        As for :func:`calibration_report` here (``compute=False``: a delayed
        merged :class:`~fastcal.CompareAccumulator`).

    Returns
    -------
    Comparison (or a Delayed accumulator)
    """
    from collections.abc import Mapping

    from .uncertainty.bootstrap import seed_from
    from .comparison.stream import CompareAccumulator

    dask, _ = _dask()
    if not isinstance(predictions, Mapping):
        raise TypeError(f"predictions must be a mapping of model name -> dask collection; "
                        f"found {type(predictions).__name__}.")
    names = list(predictions)
    seed = None if ci is None else int(seed_from(random_state))
    kw = dict(n_bins=n_bins, baseline=baseline, right=right,
              n_resamples=None if ci is None else n_resamples, random_state=seed,
              ci=0.95 if ci is None else ci)
    CompareAccumulator(names, **kw)  # validate the settings before building the graph
    rows = {k: _n_rows(predictions[k]) for k in names}
    known = {v for v in rows.values() if v is not None}
    if len(known) > 1:
        raise ValueError("every model must score the same rows: found "
                         + ", ".join(f"{k!r} {v} rows" for k, v in rows.items()) + ".")
    blocks, chunks = {}, None
    for k in names:
        blocks[k], ch = _blocks(predictions[k], f"predictions[{k!r}]", chunks)
        chunks = ch if chunks is None else chunks
    n_parts = len(blocks[names[0]])
    if isinstance(y_true, Mapping):
        y_parts = [_blocks(y_true[k], f"y_true[{k!r}]", chunks)[0] for k in names]
        y_blocks = [tuple(ys) for ys in zip(*y_parts)]
        n_y = min(len(ys) for ys in y_parts)
    else:
        y_blocks, _ = _blocks(y_true, "y_true", chunks)
        n_y = len(y_blocks)
    w_blocks, _ = _blocks(sample_weight, "sample_weight", chunks)
    counts = {k: len(b) for k, b in blocks.items()}
    if len(set(counts.values())) > 1 or n_y != n_parts or (
            w_blocks is not None and len(w_blocks) != n_parts):
        raise ValueError("y_true, sample_weight and every model's predictions must be "
                         "partitioned alike: found " + ", ".join(
                             f"{k!r} {v}" for k, v in counts.items())
                         + f" and {n_y} label partitions.")
    if w_blocks is None:
        w_blocks = [None] * n_parts
    parts = [dask.delayed(_compare_partial)(names, kw, i, y_blocks[i],
                                            {k: blocks[k][i] for k in names}, w_blocks[i],
                                            from_logits)
             for i in range(n_parts)]
    acc = _tree_sum(dask, parts, split_every)
    if not compute:
        return acc
    return acc.compute().compute()


def accumulate(y_true, y_prob, *, make=CalibrationAccumulator, split_every=8, **update_kw):
    """Delayed merged accumulator: ``make()`` per partition, ``update(y, p, **update_kw)``,
    tree-summed. The building block of the functions here, for any accumulator
    with the protocol of docs/design.md, section 4."""
    sample_weight = update_kw.pop("sample_weight", None)
    return _accumulate(make, update_kw, y_true, y_prob, sample_weight, split_every, "y_prob")


__all__ = ["accumulate", "auroc", "calibration_report", "compare"]
