"""Drift monitoring: a sliding window over the last k updates, and a recorder
that keeps the gauges as a time series while a stream goes by.

(Exponential forgetting is ``CalibrationAccumulator(half_life=...)``.)
"""

from collections import deque

import numpy as np

from ._accumulator import CalibrationAccumulator

_DEFAULT_GAUGES = ("accuracy", "confidence", "ece", "mce", "rmsce", "signed_error", "brier",
                   "nll", "auroc")


class WindowedAccumulator:
    """Calibration gauges over the last ``window`` updates (batches).

    Keeps one small accumulator state per batch in the window; ``compute()``
    merges them, so it equals :func:`fastcal.calibration_report` on the
    concatenation of the last ``window`` batches.

    Parameters
    ----------
    window : int
        Number of most recent updates kept.
    n_bins, right :
        As for :class:`~fastcal.CalibrationAccumulator`.

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> w = fastcal.WindowedAccumulator(2, n_bins=5)
    >>> for p in (0.9, 0.8, 0.6):
    ...     _ = w.update(np.array([1, 0]), np.array([p, p]))
    >>> r = w.compute()   # the batches at 0.8 and 0.6 only
    >>> r.n, round(r.confidence, 2)
    (4, 0.7)
    """

    def __init__(self, window, *, n_bins=15, right=True):
        if not (isinstance(window, (int, np.integer)) and not isinstance(window, bool)
                and window >= 1):
            raise ValueError(f"window must be a positive number of updates; found {window!r}.")
        self._window = int(window)
        self._proto = CalibrationAccumulator(n_bins, right=right)
        self._parts = deque(maxlen=self._window)

    @property
    def window(self):
        return self._window

    @property
    def n(self):
        """Number of samples in the window."""
        return sum(p.n for p in self._parts)

    def update(self, y_true, y_prob, *, from_logits=False, sample_weight=None):
        """Add a batch as the newest slot (the oldest drops out once the window is full)."""
        acc = CalibrationAccumulator(self._proto.n_bins, right=self._proto.right)
        acc.update(y_true, y_prob, from_logits=from_logits, sample_weight=sample_weight)
        if self._parts:
            self._parts[-1]._check_compatible(acc)  # same layout as the window so far
        self._parts.append(acc)
        return self

    def accumulator(self):
        """The merged :class:`~fastcal.CalibrationAccumulator` of the window."""
        total = self._proto.copy()
        for p in self._parts:
            total.merge(p)
        return total

    def compute(self):
        """The :class:`~fastcal.CalibrationReport` of the batches in the window."""
        return self.accumulator().compute()

    def reset(self):
        self._parts.clear()
        return self

    def __repr__(self):
        return (f"WindowedAccumulator(window={self._window}, n_bins={self._proto.n_bins}, "
                f"right={self._proto.right}, updates={len(self._parts)}, n={self.n})")


class GaugeRecorder:
    """Record gauges as a time series while streaming.

    Wraps an accumulator (:class:`~fastcal.CalibrationAccumulator`, decayed
    or not, or :class:`WindowedAccumulator`); :meth:`update` forwards the batch
    and, every ``every`` updates, appends the current gauges to
    :attr:`history`.

    Parameters
    ----------
    accumulator : CalibrationAccumulator or WindowedAccumulator
    every : int, default=1
        Record after every ``every``-th update.
    gauges : sequence of str
        Report attributes to record (default: every scalar gauge).

    Attributes
    ----------
    history : dict of lists
        ``"update"`` (1-based update count), ``"n_seen"`` (samples fed so far)
        and one list per gauge.

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> rec = fastcal.GaugeRecorder(fastcal.CalibrationAccumulator(n_bins=5, half_life=100),
    ...                             every=2, gauges=("ece", "accuracy"))
    >>> for p in (0.9, 0.9, 0.6, 0.6):
    ...     _ = rec.update(np.array([1, 1, 0, 1]), np.full(4, p))
    >>> rec.history["update"], rec.history["n_seen"]
    ([2, 4], [8, 16])
    >>> [round(v, 3) for v in rec.history["ece"]]
    [0.15, 0.14]
    """

    def __init__(self, accumulator, *, every=1, gauges=_DEFAULT_GAUGES):
        if not hasattr(accumulator, "update") or not hasattr(accumulator, "compute"):
            raise TypeError("accumulator must be a CalibrationAccumulator or a "
                            f"WindowedAccumulator; found {type(accumulator).__name__}.")
        if not (isinstance(every, (int, np.integer)) and not isinstance(every, bool)
                and every >= 1):
            raise ValueError(f"every must be a positive number of updates; found {every!r}.")
        gauges = tuple(gauges)
        unknown = [g for g in gauges if g not in _DEFAULT_GAUGES + ("n", "weight")]
        if unknown:
            raise ValueError(f"unknown gauge {unknown[0]!r}; choose from "
                             f"{', '.join(_DEFAULT_GAUGES + ('n', 'weight'))}.")
        self.accumulator = accumulator
        self.every = int(every)
        self.gauges = gauges
        self._updates = 0
        self._seen = 0
        self.history = {"update": [], "n_seen": [], **{g: [] for g in gauges}}

    def update(self, y_true, y_prob, **kwargs):
        """Forward the batch to the accumulator; record every ``every`` updates."""
        n_before = self._total_n()
        self.accumulator.update(y_true, y_prob, **kwargs)
        self._updates += 1
        self._seen += self._batch_len(y_true, n_before)
        if self._updates % self.every == 0:
            self.record()
        return self

    def _total_n(self):
        acc = self.accumulator
        return acc.n if isinstance(acc, CalibrationAccumulator) else None

    def _batch_len(self, y_true, n_before):
        if n_before is not None:
            return self.accumulator.n - n_before
        return len(y_true)

    def record(self):
        """Append the current gauges to :attr:`history` now."""
        r = self.accumulator.compute()
        self.history["update"].append(self._updates)
        self.history["n_seen"].append(self._seen)
        for g in self.gauges:
            v = getattr(r, g)
            self.history[g].append(int(v) if g == "n" else float(v))
        return r

    def to_frame(self):
        """The history as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is in the test extra
            raise ImportError("GaugeRecorder.to_frame needs pandas: pip install pandas") from None
        return pd.DataFrame(self.history)
