"""Streaming and distributed model comparison: one
:class:`~fastcal.CalibrationAccumulator` per model, all with the same seed and
stream, fed the same rows, so their bootstrap replicates are paired exactly
as in :func:`fastcal.compare` (a row's replicate weight depends only on the
seed, the stream, its row number and the replicate)."""

from collections.abc import Mapping

from ..streaming.accumulator import CalibrationAccumulator
from .compare import _check_baseline, _check_names, _labels, differences_from_states
from ..core.state_check import Check

_VERSION = 1
_FORMAT = "fastcal.CompareAccumulator"
_AUROC_NOTE = ("estimate only: the DeLong test needs every score, which a bounded-memory "
               "stream does not keep")


class CompareAccumulator:
    """Streaming, mergeable comparison of several models scored on one stream.

    Memory is that of one :class:`~fastcal.CalibrationAccumulator` per model
    (with ``n_resamples=1000`` and 15 bins: 376 KB of bootstrap replicates
    and, with ``auroc="bounded"``, a 4.3 MiB AUROC histogram per model),
    whatever the number of rows.  :meth:`compute` returns the same
    :class:`~fastcal.Comparison` as :func:`fastcal.compare` (uniform bins):
    every model's report, and the paired bootstrap differences with
    intervals and Holm-adjusted p-values; the AUROC difference is an
    estimate only (no DeLong test without every score).

    Parameters
    ----------
    models : sequence of str
        Model names (at least two), in table order.
    n_bins, right, auroc :
        As for :class:`~fastcal.CalibrationAccumulator`, shared by every model.
    baseline : str, optional
        The model the others are compared with (default: the first).
    n_resamples : int or None, default 1000
        Bootstrap replicates (None: gauges and differences only).
    random_state : None, int or numpy random generator
        Seed of the replicate weights, drawn once and shared by every model.
        Shards to be merged need the same integer seed.
    stream : int, default 0
        Stream id of this shard: give every shard its own (e.g. the partition
        number); merging shards of the same stream raises ``ValueError``.
    ci : float, default 0.95
        Level of the intervals.

    Notes
    -----
    Fed in one stream with ``stream=0``, the replicate weights are those of
    :func:`fastcal.compare` on the concatenated rows, so the intervals equal
    it up to the summation order of the replicate sums.  An update that
    fails for one model leaves every model's state unchanged.

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random(20_000); y = (rng.random(20_000) < x).astype(int)
    >>> acc = fastcal.CompareAccumulator(["a", "b"], n_resamples=200, random_state=0)
    >>> for lo in range(0, 20_000, 5_000):
    ...     _ = acc.update(y[lo:lo + 5_000], {"a": x[lo:lo + 5_000], "b": x[lo:lo + 5_000] ** 2})
    >>> c = acc.compute()
    >>> c.differences["b"]["brier"]["low"] > 0
    True
    """

    def __init__(self, models, n_bins=15, *, baseline=None, right=True, auroc="bounded",
                 n_resamples=1000, random_state=None, stream=0, ci=0.95):
        if isinstance(models, (str, Mapping)):
            raise TypeError("models must be a sequence of model names, e.g. ['a', 'b'].")
        self._names = _check_names(models, "models")
        self._baseline = _check_baseline(baseline, self._names)
        if n_resamples is not None:
            from ..uncertainty.bootstrap import seed_from

            random_state = int(seed_from(random_state))
        self._kw = dict(right=right, auroc=auroc, n_resamples=n_resamples,
                        random_state=random_state, stream=stream, ci=ci)
        self._n_bins = n_bins
        self._accs = {k: self._new() for k in self._names}
        self._rows = 0  # the next row number of this stream

    def _new(self):
        return CalibrationAccumulator(self._n_bins, **self._kw)

    @property
    def models(self):
        return list(self._names)

    @property
    def baseline(self):
        return self._baseline

    @property
    def n(self):
        """Rows seen (the same for every model)."""
        return self._accs[self._baseline].n

    @property
    def accumulators(self):
        """``{name: CalibrationAccumulator}`` (the live states; do not update them
        directly, or the models' rows stop being paired)."""
        return dict(self._accs)

    def __repr__(self):
        return (f"CompareAccumulator(models={self._names!r}, baseline={self._baseline!r}, "
                f"n={self.n})")

    # ----------------------------------------------------------------- update
    def update(self, y_true, predictions, *, from_logits=False, sample_weight=None,
               ignore_index=None):
        """Add a batch of rows scored by every model; returns ``self``.

        ``y_true``: the batch's labels (or a mapping model -> labels);
        ``predictions``: mapping model -> the batch's ``y_prob`` (every model
        of the accumulator, the same rows).  Other parameters as for
        :meth:`fastcal.CalibrationAccumulator.update`.
        """
        if not isinstance(predictions, Mapping):
            raise TypeError(f"predictions must be a mapping of model name -> y_prob; found "
                            f"{type(predictions).__name__}.")
        if set(predictions) != set(self._names):
            missing = [k for k in self._names if k not in predictions]
            extra = [k for k in predictions if k not in self._names]
            raise ValueError("predictions must hold exactly the models "
                             f"{self._names!r}: " + (f"missing {missing!r}" if missing
                                                     else f"unknown {extra!r}") + ".")
        labels = _labels(y_true, self._names)
        parts = {}
        for k in self._names:  # each batch into a fresh state: nothing changes on an error
            part = self._new()
            if part._boot is not None:
                part._boot.rows = self._rows  # number the rows after those seen
            try:
                part.update(labels[k], predictions[k], from_logits=from_logits,
                            sample_weight=sample_weight, ignore_index=ignore_index)
            except ValueError as exc:
                raise type(exc)(f"model {k!r}: {exc}") from None
            parts[k] = part
        kept = {k: p.n for k, p in parts.items()}
        if len(set(kept.values())) > 1:
            raise ValueError("every model must score the same rows: the batch kept "
                             + ", ".join(f"{v} rows of {k!r}" for k, v in kept.items())
                             + " (ignore_index with per-model labels).")
        for k in self._names:  # e.g. a batch of another layout: before any state changes
            self._accs[k]._check_compatible(parts[k])
        self._rows += kept[self._baseline]
        for k in self._names:
            acc = self._accs[k]
            acc.merge(parts[k])
            if acc._boot is not None:  # the stream's rows seen (a merge leaves them)
                acc._boot.rows = max(acc._boot.rows, self._rows)
        return self

    # ---------------------------------------------------------------- compute
    def compute(self):
        """The :class:`~fastcal.Comparison` of everything seen."""
        reports = {}
        for k in self._names:
            try:
                reports[k] = self._accs[k].compute()
            except ValueError as exc:
                raise type(exc)(f"model {k!r}: {exc}") from None
        boot = self._kw["n_resamples"] is not None
        tables = {k: (a._boot.replicates() if boot else None) for k, a in self._accs.items()}
        return differences_from_states(reports, tables, self._baseline,
                                       self._kw["ci"] if boot else None,
                                       self._kw["n_resamples"], _AUROC_NOTE)

    # ------------------------------------------------------------------ merge
    def _check_compatible(self, other):
        if not isinstance(other, CompareAccumulator):
            raise TypeError(f"cannot merge a CompareAccumulator with {type(other).__name__}.")
        if (self._names, self._baseline) != (other._names, other._baseline):
            raise ValueError(
                f"cannot merge comparisons of different models: {self._names!r} (baseline "
                f"{self._baseline!r}) and {other._names!r} (baseline {other._baseline!r}).")

    def merge(self, other):
        """Add another shard's state (the same models and settings, another
        stream) into this one; returns ``self``."""
        self._check_compatible(other)
        import copy

        merged = {k: copy.deepcopy(a) for k, a in self._accs.items()}
        for k in self._names:  # all or nothing
            merged[k].merge(other._accs[k])
        self._accs = merged
        return self

    # ``a + b``, ``a += b``, ``sum(shards)``: the protocol of the accumulators
    # (generic in _check_compatible, copy and merge)
    copy = CalibrationAccumulator.copy
    __iadd__ = CalibrationAccumulator.__iadd__
    __add__ = CalibrationAccumulator.__add__
    __radd__ = CalibrationAccumulator.__radd__

    # ------------------------------------------------------------ persistence
    def to_dict(self):
        """JSON-serialisable state (versioned); :meth:`from_dict` restores it."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "models": list(self._names),
            "baseline": self._baseline,
            "rows": int(self._rows),
            "accumulators": {k: a.to_dict() for k, a in self._accs.items()},
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict` output; every field is checked (the
        models' states as :meth:`fastcal.CalibrationAccumulator.from_dict`
        checks them, and that they were fed the same rows with the same
        settings) and an invalid one raises ``ValueError`` naming it."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise ValueError(f"not a {_FORMAT} state (missing format tag).")
        C = Check("CompareAccumulator")

        def newer(v):
            raise ValueError(f"CompareAccumulator state version {v!r} is newer than this "
                             f"fastcal understands ({_VERSION}); upgrade fastcal.")

        C.version(C.get(d, "version", "version"), range(1, _VERSION + 1), newer)
        names = C.get(d, "models", "models")
        if not isinstance(names, list):
            C.fail("models", "a list of model names", names)
        try:
            names = _check_names(names, "models")
        except (TypeError, ValueError) as exc:
            C.fail("models", "at least two distinct non-empty strings", f"{names!r} ({exc})")
        baseline = C.get(d, "baseline", "baseline")
        if baseline not in names:
            C.fail("baseline", f"one of the models {names!r}", baseline)
        rows = C.integer(C.get(d, "rows", "rows"), "rows")
        accs = C.mapping(C.get(d, "accumulators", "accumulators"), "accumulators")
        if set(accs) != set(names):
            C.fail("accumulators", f"a dict with one state per model {names!r}",
                   sorted(map(str, accs)))
        loaded = {}
        for k in names:
            try:
                loaded[k] = CalibrationAccumulator.from_dict(accs[k])
            except ValueError as exc:
                raise ValueError(f"invalid CompareAccumulator state: accumulators[{k!r}]: "
                                 f"{exc}") from None
        first = loaded[baseline]
        for k, a in loaded.items():
            f = f"accumulators[{k!r}]"
            if a._settings() != first._settings():
                C.fail(f + ".settings", f"the baseline's settings {first._settings()!r}",
                       a._settings())
            if a.n != first.n:
                C.fail(f + ".n", f"the baseline's n ({first.n})", a.n)
            if (a._boot is None) != (first._boot is None) or (
                    a._boot is not None and (a._boot.stream, a._boot.ranges)
                    != (first._boot.stream, first._boot.ranges)):
                C.fail(f + ".bootstrap", "the baseline's stream and row ranges (the models' "
                       "rows are paired)", None if a._boot is None else a._boot.ranges)
        obj = cls.__new__(cls)
        obj._names = names
        obj._baseline = baseline
        obj._n_bins = first.n_bins
        bs = first._boot_settings
        obj._kw = dict(right=first.right, auroc=first._auroc,
                       n_resamples=None if bs is None else bs["n_resamples"],
                       random_state=None if bs is None else bs["seed"],
                       stream=0 if bs is None else bs["stream"],
                       ci=0.95 if bs is None else bs["ci"])
        if bs is not None:
            own = [hi for lo, hi in first._boot.ranges.get(bs["stream"], [])]
            if rows < max(own, default=0):
                C.fail("rows", f"at least the rows of stream {bs['stream']} accumulated "
                       f"({max(own)})", rows)
        obj._accs = loaded
        obj._rows = rows
        return obj
