"""Drift monitoring: a sliding window over the last k updates, and a recorder
that keeps the gauges as a time series while a stream goes by.

(Exponential forgetting is ``CalibrationAccumulator(half_life=...)``.)
"""

import threading
from collections import deque

import numpy as np

from ..metrics import gauges as _G
from .accumulator import CalibrationAccumulator
from ..core.state_check import Check
from .shared import read_only

_DEFAULT_GAUGES = _G.MEASURES  # every gauge but the sizes
_KNOWN_GAUGES = _DEFAULT_GAUGES + _G.COUNTS


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

    Notes
    -----
    Safe to update from several threads: each batch is summarised outside
    the lock, then appended under it (the window keeps the batches in the
    order they were appended).

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
        self._lock = threading.Lock()

    window = read_only("_window")

    def _snapshot(self):
        with self._lock:  # the parts themselves never change once appended
            return list(self._parts)

    @property
    def n(self):
        """Number of samples in the window."""
        return sum(p.n for p in self._snapshot())

    def update(self, y_true, y_prob, *, from_logits=False, sample_weight=None):
        """Add a batch as the newest slot (the oldest drops out once the window is full)."""
        acc = CalibrationAccumulator(self._proto.n_bins, right=self._proto.right)
        acc.update(y_true, y_prob, from_logits=from_logits, sample_weight=sample_weight)
        with self._lock:
            if self._parts:
                self._parts[-1]._check_compatible(acc)  # same layout as the window so far
            self._parts.append(acc)
        return self

    def accumulator(self):
        """The merged :class:`~fastcal.CalibrationAccumulator` of the window."""
        total = self._proto.copy()
        for p in self._snapshot():
            total.merge(p)
        return total

    def compute(self):
        """The :class:`~fastcal.CalibrationReport` of the batches in the window."""
        return self.accumulator().compute()

    def reset(self):
        with self._lock:
            self._parts.clear()
        return self

    def __repr__(self):
        parts = self._snapshot()
        return (f"WindowedAccumulator(window={self._window}, n_bins={self._proto.n_bins}, "
                f"right={self._proto.right}, updates={len(parts)}, "
                f"n={sum(p.n for p in parts)})")

    # pickling (the lock is not state)
    def __getstate__(self):
        return {"version": 1, "window": self._window, "n_bins": self._proto.n_bins,
                "right": self._proto.right, "parts": self._snapshot()}

    def __setstate__(self, state):
        C = Check("pickled WindowedAccumulator")
        C.mapping(state, "the state")
        if "version" not in state and "_parts" in state:  # pickled before the lock: __dict__
            proto = C.get(state, "_proto", "_proto")
            if not isinstance(proto, CalibrationAccumulator):
                C.fail("_proto", "a CalibrationAccumulator", proto)
            state = {"version": 1, "window": state.get("_window"), "n_bins": proto.n_bins,
                     "right": proto.right, "parts": list(C.get(state, "_parts", "_parts"))}
        C.version(C.get(state, "version", "version"), range(1, 2))
        window = C.integer(C.get(state, "window", "window"), "window", lo=1)
        n_bins = C.integer(C.get(state, "n_bins", "n_bins"), "n_bins", lo=1, hi=1_000_000)
        right = C.boolean(C.get(state, "right", "right"), "right")
        parts = C.get(state, "parts", "parts")
        if not isinstance(parts, list) or len(parts) > window:
            C.fail("parts", f"a list of at most window = {window} accumulators", parts)
        proto = CalibrationAccumulator(n_bins, right=right)
        for k, p in enumerate(parts):
            if not isinstance(p, CalibrationAccumulator) or p._settings() != proto._settings():
                C.fail(f"parts[{k}]", f"a CalibrationAccumulator(n_bins={n_bins}, "
                       f"right={right}) state", p)
            if k:
                try:
                    parts[k - 1]._check_compatible(p)
                except ValueError as e:
                    C.fail(f"parts[{k}]", f"of the layout of parts[{k - 1}] ({e})", p)
        self._window = window
        self._proto = proto
        self._parts = deque(parts, maxlen=window)
        self._lock = threading.Lock()


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

    Notes
    -----
    Safe to call from several threads: an update (the forwarded batch and
    the recording that may follow it) holds the recorder's lock, so the
    history is a consistent time series of one order of the batches.

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
        unknown = [g for g in gauges if g not in _KNOWN_GAUGES]
        if unknown:
            raise ValueError(f"unknown gauge {unknown[0]!r}; choose from "
                             f"{', '.join(_KNOWN_GAUGES)}.")
        self.accumulator = accumulator
        self.every = int(every)
        self.gauges = gauges
        self._updates = 0
        self._seen = 0
        self.history = {"update": [], "n_seen": [], **{g: [] for g in gauges}}
        self._lock = threading.RLock()

    def update(self, y_true, y_prob, **kwargs):
        """Forward the batch to the accumulator; record every ``every`` updates."""
        with self._lock:  # n_seen counts this batch only; the history stays in order
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
        with self._lock:
            r = self.accumulator.compute()
            self.history["update"].append(self._updates)
            self.history["n_seen"].append(self._seen)
            for g in self.gauges:
                v = getattr(r, g)
                self.history[g].append(int(v) if g == "n" else float(v))
        return r

    # pickling (the lock is not state)
    def __getstate__(self):
        with self._lock:
            return {"version": 1, "accumulator": self.accumulator, "every": self.every,
                    "gauges": list(self.gauges), "updates": self._updates, "seen": self._seen,
                    "history": {k: list(v) for k, v in self.history.items()}}

    def __setstate__(self, state):
        C = Check("pickled GaugeRecorder")
        C.mapping(state, "the state")
        if "version" not in state and "_updates" in state:  # pickled before the lock: __dict__
            state = {"version": 1, "accumulator": state.get("accumulator"),
                     "every": state.get("every"), "gauges": list(state.get("gauges", ())),
                     "updates": state.get("_updates"), "seen": state.get("_seen"),
                     "history": state.get("history")}
        C.version(C.get(state, "version", "version"), range(1, 2))
        acc = C.get(state, "accumulator", "accumulator")
        if not isinstance(acc, (CalibrationAccumulator, WindowedAccumulator)):
            C.fail("accumulator", "a CalibrationAccumulator or WindowedAccumulator", acc)
        every = C.integer(C.get(state, "every", "every"), "every", lo=1)
        gauges = C.get(state, "gauges", "gauges")
        if not isinstance(gauges, list):
            C.fail("gauges", "a list of gauge names", gauges)
        for k, g in enumerate(gauges):
            C.choice(g, f"gauges[{k}]", _KNOWN_GAUGES)
        updates = C.integer(C.get(state, "updates", "updates"), "updates")
        seen = C.integer(C.get(state, "seen", "seen"), "seen")
        hist = C.mapping(C.get(state, "history", "history"), "history")
        keys = ["update", "n_seen", *gauges]
        if sorted(hist) != sorted(keys):
            C.fail("history", f"a dict of the lists {', '.join(keys)}", sorted(hist))
        m = updates // every
        for key in keys:
            col = hist[key]
            if not isinstance(col, list):
                C.fail(f"history[{key!r}]", "a list", col)
            if key in ("update", "n_seen", "n"):
                for j, v in enumerate(col):
                    C.integer(v, f"history[{key!r}][{j}]")
            else:
                for j, v in enumerate(col):
                    C.real(v, f"history[{key!r}][{j}]", nan=True)
            if len(col) != len(hist["update"]):
                C.fail(f"history[{key!r}]", f"as long as history['update'] "
                       f"({len(hist['update'])})", f"{len(col)} entries")
        if len(hist["update"]) < m:
            C.fail("history['update']", f"at least updates // every = {m} records",
                   len(hist["update"]))
        self.accumulator = acc
        self.every = every
        self.gauges = tuple(gauges)
        self._updates = updates
        self._seen = seen
        self.history = {k: list(hist[k]) for k in keys}
        self._lock = threading.RLock()

    def to_frame(self):
        """The history as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is in the test extra
            raise ImportError("GaugeRecorder.to_frame needs pandas: pip install pandas") from None
        return pd.DataFrame(self.history)
