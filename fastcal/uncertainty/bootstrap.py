"""Bootstrap intervals for every binned gauge, by a Poisson bootstrap that
never materialises a resample.

Each row gets, per replicate, an integer weight drawn from Poisson(1) (the
Poisson bootstrap, Hanley & MacGibbon 2006; Chamandy et al. 2012): as the
number of rows grows it is the ordinary multinomial bootstrap, and unlike it
the weight of a row does not depend on the other rows, so one pass over the
rows (or a stream of batches, or shards on several machines) accumulates all
``R`` replicates at once.  The weights are a pure function of
``(seed, stream, row index, replicate)`` (a counter-based hash, see
``fastcal._kernels.uncertainty.bootstrap``): the result is deterministic given
``random_state`` and independent of chunking, thread count and batch split.

Intervals are percentile intervals: ``(q_{(1 - ci)/2}, q_{(1 + ci)/2})`` of
the replicate values (numpy's default linear quantile).  The bin edges are
held fixed at those of the full data (for ``strategy="quantile"`` the edges
are not re-estimated per replicate).
"""

import bisect
import numbers

import numpy as np

from ..core import pipeline as _core
from ..metrics import gauges as _G
from ..core import validation as V
from .._kernels.uncertainty import bootstrap as KB
from .._kernels.common import CHUNK

# Gauges with an interval, in the column order of the replicate table.
METRICS = tuple(g.name for g in _G.pick(
    "ece", "mce", "rmsce", "signed_error", "brier", "nll", "accuracy", "confidence"))
_SCORES = ("brier", "nll")
_MASK64 = (1 << 64) - 1
# Percentile intervals settle long before this many replicates; the replicate
# state is (3 n_bins + 2, n_resamples) float64, one copy per thread.
MAX_RESAMPLES = 1_000_000
MAX_STATE_BYTES = 1 << 31


def seed_from(random_state):
    """uint64 seed of the weight hash from ``random_state``.

    ``None``: fresh OS entropy (a different result every call); a
    non-negative int: that seed; a ``numpy.random.Generator`` or
    ``RandomState``: one 64-bit draw from it.
    """
    if random_state is None:
        return np.uint64(np.random.SeedSequence().entropy & _MASK64)
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError(f"random_state must be None, a non-negative int or a numpy random "
                        f"generator; got {random_state!r}.")
    if isinstance(random_state, numbers.Integral):
        if random_state < 0 or random_state > _MASK64:
            raise ValueError(f"random_state must be an int in [0, 2**64); got {random_state!r}.")
        return np.uint64(int(random_state))
    if isinstance(random_state, np.random.Generator):
        return np.uint64(random_state.integers(0, 1 << 64, dtype=np.uint64))
    if isinstance(random_state, np.random.RandomState):
        return np.uint64(random_state.randint(0, 1 << 64, dtype=np.uint64))
    raise TypeError(f"random_state must be None, a non-negative int or a numpy random "
                    f"generator; got {type(random_state).__name__}.")


def check_ci(ci):
    if isinstance(ci, (bool, np.bool_)) or not isinstance(ci, numbers.Real) or not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a confidence level strictly between 0 and 1 (e.g. 0.95); "
                         f"got {ci!r}.")
    return float(ci)


def check_n_resamples(n_resamples, n_bins=None):
    """``n_resamples`` as an int in [2, MAX_RESAMPLES]; with ``n_bins``, also
    a replicate state of at most MAX_STATE_BYTES."""
    if (isinstance(n_resamples, (bool, np.bool_)) or not isinstance(n_resamples, numbers.Integral)
            or n_resamples < 2):
        raise ValueError(f"n_resamples must be an integer >= 2 (e.g. 1000); got {n_resamples!r}.")
    if n_resamples > MAX_RESAMPLES:
        raise ValueError(f"n_resamples must be at most {MAX_RESAMPLES} (percentile intervals "
                         f"settle long before; e.g. 1000); got {n_resamples!r}.")
    if n_bins is not None:
        size = (3 * int(n_bins) + 2) * int(n_resamples) * 8
        if size > MAX_STATE_BYTES:
            raise ValueError(
                f"n_resamples={n_resamples} with n_bins={n_bins} needs a {size / 2 ** 30:.3g} GiB "
                f"replicate state (3 n_bins + 2 values per replicate); at most "
                f"{MAX_STATE_BYTES / 2 ** 30:g} GiB: lower n_resamples or n_bins.")
    return int(n_resamples)


def _check_stream(stream):
    if (isinstance(stream, (bool, np.bool_)) or not isinstance(stream, numbers.Integral)
            or not 0 <= stream <= _MASK64):
        raise ValueError(f"stream must be an int in [0, 2**64); got {stream!r}.")
    return int(stream)


def replicate_state(conf, corr, terms, w, edges, *, right, seed, stream, row_offset, n_resamples):
    """The (3 n_bins + 2, R) replicate state of rows ``row_offset ..`` (see
    ``fastcal._kernels.uncertainty.bootstrap`` for the layout); serial for one chunk,
    parallel above.  ``edges``: one row of n_bins + 1, 1-D or of shape (1, n_bins + 1)."""
    args = (conf, corr, terms, w, np.ascontiguousarray(edges, dtype=np.float64).reshape(1, -1),
            V.on(right),
            np.uint64(seed), np.uint64(stream), np.int64(row_offset), np.int64(n_resamples))
    return _core.run(KB.replicate_state, conf.shape[0], *args,
                     min_work=2 * CHUNK)


def intervals_from_table(table, ci, has_scores=True):
    """``{metric: (low, high)}`` percentile intervals from the (R, 8) table of
    replicate gauges (replicates of total weight 0 are left out)."""
    lo_q = (1.0 - ci) / 2.0
    hi_q = (1.0 + ci) / 2.0
    out = {}
    keep = ~np.isnan(table[:, 0])
    t = table[keep]
    for j, name in enumerate(METRICS):
        if name in _SCORES and not has_scores:
            continue
        if t.shape[0] == 0:
            out[name] = (float("nan"), float("nan"))
            continue
        lo, hi = np.quantile(t[:, j], [lo_q, hi_q])
        out[name] = (float(lo), float(hi))
    return out


def _start(r):
    return r[0]


def coalesce(ranges):
    """Disjoint row ranges ``[(lo, hi), ...]`` sorted, adjacent ones joined."""
    out = []
    for a, b in sorted(ranges):
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class BootstrapState:
    """Mergeable Poisson-bootstrap replicate state (for streaming and shards).

    Parameters
    ----------
    edges : array of float64, shape (n_bins + 1,)
        Bin edges (fixed for the whole stream).
    n_resamples : int, default 1000
        Number of replicates ``R``.
    random_state : None, int or numpy random generator
        Seed of the weight hash (see :func:`seed_from`); shards that are to be
        merged must share it (pass an int).
    stream : int, default 0
        Stream id of this shard.  The weight of a row is a function of
        ``(seed, stream, row index, replicate)``: two shards with the same
        stream and overlapping row indices would reuse weights, so give each
        shard its own stream (e.g. the partition number), or disjoint
        ``row_offset`` ranges in one stream.  Merging states whose
        ``(stream, row)`` ranges overlap raises ``ValueError``.
    right : bool, default True
        Right-closed bins (docs/design.md, section 3).

    Notes
    -----
    ``state`` is float64 ``(3 n_bins + 2, R)``; see
    ``fastcal._kernels.uncertainty.bootstrap`` for the row layout.  It holds the
    replicate sums times ``2**-weight_exp`` (a power of two chosen from the
    first weighted rows, raised exactly when later rows or a merged state need
    it), so the intervals do not depend on the scale of the weights.  An accumulator fed
    the rows in batches with ``stream=0`` has exactly the weights of
    :func:`report_intervals` on the concatenated rows (same seed), so the
    same intervals up to floating-point summation order.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.uncertainty.bootstrap import BootstrapState
    >>> edges = np.linspace(0, 1, 11)
    >>> conf = np.array([0.2, 0.9, 0.6, 0.4, 0.7]); corr = np.array([0, 1, 1, 0, 1], bool)
    >>> a = BootstrapState(edges, n_resamples=200, random_state=0).update(conf[:2], corr[:2])
    >>> b = BootstrapState(edges, n_resamples=200, random_state=0).update(conf, corr)
    >>> a.update(conf[2:], corr[2:]).state.shape
    (32, 200)
    >>> bool(np.allclose(a.state, b.state))
    True
    """

    # 2: weight_exp (version-1 states load with 0)
    _VERSION = 2

    def __init__(self, edges, *, n_resamples=1000, random_state=None, stream=0, right=True):
        edges = np.ascontiguousarray(edges, dtype=np.float64).ravel()
        if edges.shape[0] < 2 or not np.all(np.diff(edges) >= 0):
            raise ValueError("edges must be a non-decreasing array of at least 2 bin edges.")
        self.edges = edges
        self.n_resamples = check_n_resamples(n_resamples, edges.shape[0] - 1)
        self.seed = int(seed_from(random_state))
        self.right = bool(right)
        self.stream = _check_stream(stream)
        self.rows = 0  # next row index of this stream
        self.ranges = {}  # stream -> list of [lo, hi) row ranges accumulated
        nb = edges.shape[0] - 1
        self.state = np.zeros((3 * nb + 2, self.n_resamples))
        self.has_scores = None
        self.weight_exp = 0

    @property
    def n_bins(self):
        return self.edges.shape[0] - 1

    def update(self, conf, corr, terms=None, sample_weight=None, *, row_offset=None,
               weight_exp=0):
        """Add rows (``conf`` float64 (n,), ``corr`` bool (n,), ``terms`` float64
        (n, 2) Brier/NLL terms or None, ``sample_weight`` (n,) or None) with
        global row indices ``row_offset ..`` (default: after the rows seen).
        ``weight_exp``: the weights were already divided by ``2**weight_exp``
        (otherwise they are scaled here, see :func:`V.weight_exponent`)."""
        conf = np.ascontiguousarray(conf, dtype=np.float64)
        corr = np.ascontiguousarray(corr, dtype=np.bool_)
        n = conf.shape[0]
        if corr.shape != (n,):
            raise ValueError(f"corr must have shape ({n},); got {corr.shape}.")
        if terms is not None:
            terms = np.ascontiguousarray(terms, dtype=np.float64)
            if terms.shape != (n, 2):
                raise ValueError(f"terms must have shape ({n}, 2); got {terms.shape}.")
        has = terms is not None
        if self.has_scores is not None and has != self.has_scores and n:
            raise ValueError("terms must be given on every update or on none.")
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (n,):
                raise ValueError(f"sample_weight must have shape ({n},); got {sample_weight.shape}.")
            if not np.all((sample_weight >= 0) & (sample_weight < np.inf)):
                raise ValueError("sample_weight must be finite and non-negative.")
        lo = self.rows if row_offset is None else int(row_offset)
        if lo < 0:
            raise ValueError(f"row_offset must be >= 0; got {row_offset!r}.")
        if n == 0:
            return self
        e = V.weight_exponent(sample_weight)
        sample_weight = V.scale(sample_weight, e)
        self._claim(self.ranges, self.stream, lo, lo + n)
        self._add(replicate_state(conf, corr, terms, sample_weight, self.edges,
                                  right=self.right, seed=self.seed, stream=self.stream,
                                  row_offset=lo, n_resamples=self.n_resamples),
                  int(weight_exp) + e)
        self.rows = max(self.rows, lo + n)
        self.has_scores = has
        return self

    def _add(self, part, e):
        """``state += part * 2**e``, kept in one scale: the part's own while the
        state holds no weight, else the larger of the two (the other rescaled
        exactly by a power of two)."""
        self.state, self.weight_exp = _add_scaled(self.state, self.weight_exp, part, e)

    @staticmethod
    def _claim(ranges, stream, lo, hi):
        """Record rows ``[lo, hi)`` of ``stream`` (raises when already recorded).
        Each stream's ranges stay sorted, disjoint and coalesced, so a stream of
        batches keeps one range and a claim costs O(log ranges)."""
        rs = ranges.setdefault(stream, [])
        i = bisect.bisect_right(rs, lo, key=_start)  # rs[i - 1] starts at or before lo
        for a, b in rs[max(0, i - 1):i + 1]:
            if lo < b and a < hi:
                raise ValueError(
                    f"rows [{lo}, {hi}) of stream {stream} overlap rows [{a}, {b}) already "
                    f"accumulated: their bootstrap weights would repeat. Give each shard its "
                    f"own stream.")
        if lo >= hi:
            return
        if i > 0 and rs[i - 1][1] == lo:
            i -= 1
            lo = rs.pop(i)[0]
        if i < len(rs) and rs[i][0] == hi:
            hi = rs.pop(i)[1]
        rs.insert(i, (lo, hi))

    def merge(self, other):
        """Add another state of the same settings (different stream or rows)."""
        if not isinstance(other, BootstrapState):
            raise TypeError(f"can only merge a BootstrapState, not {type(other).__name__}.")
        mine = (self.n_resamples, self.seed, self.right, self.edges.tolist())
        theirs = (other.n_resamples, other.seed, other.right, other.edges.tolist())
        if mine != theirs:
            raise ValueError(
                f"cannot merge bootstrap states of different settings: (n_resamples, seed, "
                f"right, edges) = {mine[:3]} vs {theirs[:3]} (edges equal: "
                f"{mine[3] == theirs[3]}).")
        if (self.has_scores is not None and other.has_scores is not None
                and self.has_scores != other.has_scores):
            raise ValueError("cannot merge a state with Brier/NLL terms and one without.")
        ranges = {k: list(v) for k, v in self.ranges.items()}
        for s, rs in other.ranges.items():
            for lo, hi in rs:
                self._claim(ranges, s, lo, hi)
        self.ranges = ranges
        self.state, self.weight_exp = _add_scaled(self.state, self.weight_exp, other.state,
                                                  other.weight_exp, copy=True)
        if self.has_scores is None:
            self.has_scores = other.has_scores
        return self

    def replicates(self):
        """(R, 8) float64: per replicate the gauges of :data:`METRICS`."""
        return KB.replicate_gauges(self.state, self.n_bins)

    def intervals(self, ci=0.95):
        """``{metric: (low, high)}`` percentile intervals."""
        return intervals_from_table(self.replicates(), check_ci(ci), bool(self.has_scores))

    def __getstate__(self):
        return (self._VERSION, {k: getattr(self, k) for k in
                                ("edges", "n_resamples", "seed", "right", "stream", "rows",
                                 "ranges", "state", "has_scores", "weight_exp")})

    def __setstate__(self, st):
        version, d = st
        if version not in (1, self._VERSION):
            raise ValueError(f"unknown BootstrapState pickle version {version}")
        self.weight_exp = 0  # version 1: weights as given
        for k, v in d.items():
            setattr(self, k, v)
        self.ranges = {k: coalesce(v) for k, v in self.ranges.items()}  # sorted, for _claim


def _add_scaled(state, E, part, e, copy=False):
    """``(state', E')`` with ``state' * 2**E' = state * 2**E + part * 2**e``:
    E' is e while ``state`` holds no weight, else the larger exponent (the
    other array multiplied exactly by a power of two; values far below the
    larger scale may round).  In place unless ``copy``."""
    if not part.any():  # no weight: its scale must not change the state's
        return (state.copy() if copy else state), E
    if not state.any():
        E = e
    new = max(E, e)
    if new != E:
        state = np.ldexp(state, E - new)
    elif copy:
        state = state.copy()
    if new != e:
        part = np.ldexp(part, e - new)
    state += part
    return state, new


def report_intervals(b, *, ci=0.95, n_resamples=1000, random_state=None, right=True):
    """Percentile bootstrap intervals of every gauge from a :class:`core.pipeline.Binned`.

    Parameters
    ----------
    b : fastcal.core.pipeline.Binned
        From ``core.pipeline.binned(..., classwise=False, want_cc=True, scores=True,
        want_terms=True)`` (without ``terms`` Brier and NLL get no interval).
    ci : float, default 0.95
        Confidence level.
    n_resamples : int, default 1000
        Number of Poisson-bootstrap replicates.
    random_state : None, int or numpy random generator
        Seed of the weight hash; an int gives the same intervals every call.
    right : bool, default True
        The ``right`` the bins of ``b`` were computed with.

    Returns
    -------
    dict
        ``metric -> (low, high)`` for ``ece``, ``mce``, ``rmsce``,
        ``signed_error``, ``brier``, ``nll``, ``accuracy``, ``confidence``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.core import pipeline
    >>> from fastcal.uncertainty.bootstrap import report_intervals
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random(2000); y = (rng.random(2000) < p).astype(int)
    >>> b = pipeline.binned(y, p, n_bins=10, strategy="uniform", right=True, classwise=False,
    ...                  from_logits=False, sample_weight=None, scores=True, want_cc=True,
    ...                  want_terms=True)
    >>> iv = report_intervals(b, n_resamples=500, random_state=0)
    >>> lo, hi = iv["brier"]
    >>> bool(lo < 0.1685 < hi)
    True
    """
    ci = check_ci(ci)
    table = report_table(b, n_resamples=n_resamples, random_state=random_state, right=right)
    return intervals_from_table(table, ci, b.terms is not None)


def report_table(b, *, n_resamples=1000, random_state=None, right=True):
    """The (R, 8) table of replicate gauges (columns :data:`METRICS`) behind
    :func:`report_intervals`: stream 0, rows numbered from 0.  Two calls with
    the same seed and number of rows draw the same weights for every row and
    replicate, whatever the predictions (the paired bootstrap of
    :func:`fastcal.compare`)."""
    n_resamples = check_n_resamples(n_resamples, b.edges.shape[-1] - 1)
    if b.layout == "classwise" or b.conf is None:
        raise ValueError("report_intervals needs top-label or binary binned statistics with "
                         "per-row confidences (core.pipeline.binned(..., classwise=False, want_cc=True)).")
    seed = seed_from(random_state)
    state = replicate_state(b.conf, b.corr, b.terms, b.w, b.edges, right=right, seed=seed,
                            stream=0, row_offset=0, n_resamples=n_resamples)
    return KB.replicate_gauges(state, b.edges.shape[1] - 1)
