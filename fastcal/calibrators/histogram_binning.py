"""Histogram binning (Zadrozny & Elkan 2001): bin the confidence, predict the
bin's empirical accuracy.

The bins are exactly those of fastcal's metrics (docs/design.md, section 3): the
fit is one pass of the same binned-statistics kernel as
``fastcal.reliability_curve``, so ``bin_values_`` is the reliability curve's
accuracy (with empty bins filled, see :class:`HistogramBinning`).
"""

import numpy as np

from ..core import validation as V
from ..core import errors as E
from ..core.pipeline import binned
from .._kernels.calibrators import histogram_binning as KHB
from .base import ConfidenceCalibrator

class HistogramBinning(ConfidenceCalibrator):
    """Histogram binning calibrator: ``p' = accuracy of the bin holding p``.

    Parameters
    ----------
    n_bins : int, default 15
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width bins ``np.linspace(0, 1, n_bins + 1)`` or equal-mass bins
        (``np.quantile`` of the fitted confidences; weighted quantiles with
        ``sample_weight``), as in ``fastcal.calibration_error``.
    right : bool, default True
        Right-closed bins ``(e_i, e_{i+1}]`` with 0 in the first bin
        (scikit-learn, Guo et al.); False: left-closed ``[e_i, e_{i+1})`` with
        1 in the last bin (numpy.histogram, netcal).  Values below the first
        or above the last edge (quantile bins) fall in the first or last bin.

    Attributes
    ----------
    bin_edges_ : ndarray of shape (n_bins + 1,)
        float64 edges.
    bin_values_ : ndarray of shape (n_bins,)
        The calibrated value of each bin: its (weighted) accuracy, or for an
        empty bin (no positive weight) the midpoint of its edges.
    bin_weights_ : ndarray of shape (n_bins,)
        Weight (count) of each bin in the fitting data.
    binary_, n_classes_ : bool, int
        Fitted on binary (n,) input (``n_classes_ == 2``), or top-label
        (n, C) input (``n_classes_ == C``).

    Notes
    -----
    Binary input: ``y_prob`` (n,) is the probability that ``y_true == 1``
    and a bin's value is the weighted frequency of ``y_true == 1`` in it.
    (n, C) input: top-label binning: the confidence is ``max_k p_k`` (from
    logits, the top softmax probability), the target is "the first argmax
    equals ``y_true``", and :meth:`predict_proba` returns the recalibrated
    confidence of the predicted class, shape (n,) (Gupta & Ramdas 2022,
    "top-label calibration"; netcal instead fits one binary binning per
    class and renormalises).  With ``from_logits=True`` (binary), the
    confidence is ``sigmoid(z)``.

    Empty bins predict the midpoint of their edges (netcal's rule): with no
    data the map stays close to the identity there.  With quantile bins
    duplicate edges give empty bins of zero width, which no value reaches.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.calibrators.histogram_binning import HistogramBinning
    >>> hb = HistogramBinning(n_bins=2).fit([0.2, 0.3, 0.7, 0.9], [0, 1, 1, 1])
    >>> hb.bin_values_.tolist()
    [0.5, 1.0]
    >>> hb.predict_proba([0.1, 0.5, 0.51]).tolist()
    [0.5, 0.5, 1.0]
    """

    _FORMAT = "fastcal.HistogramBinning"
    _FITTED = "bin_values_"
    _PARAMS = ("n_bins", "strategy", "right")

    def __init__(self, *, n_bins=15, strategy="uniform", right=True):
        self.n_bins = n_bins
        self.strategy = strategy
        self.right = right

    def _check_params(self):
        n_bins = V.check_n_bins(self.n_bins)
        V.check_choice(self.strategy, "strategy", V.STRATEGIES)
        if not isinstance(self.right, (bool, np.bool_)):
            raise TypeError(f"right must be True or False; found {self.right!r}.")
        return n_bins

    # -- fitting -----------------------------------------------------------
    def fit(self, y_prob, y_true, sample_weight=None, *, from_logits=False):
        """Bin ``y_prob`` (or logits) and store each bin's accuracy."""
        n_bins = self._check_params()
        sample_weight, e = V.scaled_weight(sample_weight)  # bin values are ratios
        b = binned(y_true, y_prob, n_bins=n_bins, strategy=self.strategy, right=bool(self.right),
                   classwise=False, from_logits=from_logits, sample_weight=sample_weight,
                   scores=False, want_cc=False)
        W = b.bins[0]
        if not W.sum() > 0:
            raise E.weight_sum_error()
        edges = np.array(b.edges[0], dtype=np.float64)
        mid = 0.5 * (edges[:-1] + edges[1:])
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = b.bins[2] / W
        self.bin_edges_ = edges
        self.bin_values_ = np.where(W > 0, acc, mid)
        self.bin_weights_ = np.array(V.unscale(W, e), dtype=np.float64)
        self.binary_ = b.layout == "binary"
        self.n_classes_ = int(b.n_classes)
        return self

    # -- prediction --------------------------------------------------------
    def _predict(self, p, logits, src):
        return KHB.lookup(p, self.bin_edges_.reshape(1, -1), self.bin_values_,
                          self.strategy == "uniform", V.on(self.right), logits)

    # -- serialisation -----------------------------------------------------
    def _params_state(self):
        return {"n_bins": int(self.n_bins), "strategy": str(self.strategy),
                "right": bool(self.right)}

    def _fitted_state(self):
        return {
            "bin_edges": [float(v) for v in self.bin_edges_],
            "bin_values": [float(v) for v in self.bin_values_],
            "bin_weights": [float(v) for v in self.bin_weights_],
            "binary": bool(self.binary_),
            "n_classes": int(self.n_classes_),
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict` output (predictions are identical).

        Every value is checked (parameters as the constructor takes them;
        edges finite, sorted, in [0, 1] and the uniform ones exactly
        ``np.linspace(0, 1, n_bins + 1)``; bin values probabilities in [0, 1];
        bin weights non-negative); an invalid one raises ``ValueError`` naming
        the field.
        """
        C, _, p = cls._open(d)
        n_bins = C.integer(C.get(p, "n_bins", "params.n_bins"), "params.n_bins", lo=1,
                           hi=1_000_000)
        strategy = C.choice(C.get(p, "strategy", "params.strategy"),
                            "params.strategy", V.STRATEGIES)
        right = C.boolean(C.get(p, "right", "params.right"), "params.right")
        obj = cls(n_bins=n_bins, strategy=strategy, right=right)
        f = d.get("fitted")  # absent: not fitted
        if "fitted" in d:
            C.mapping(f, "fitted")
            edges, values = C.get(f, "bin_edges", "fitted.bin_edges"), C.get(
                f, "bin_values", "fitted.bin_values")
            if not (isinstance(edges, (list, np.ndarray)) and len(edges) == n_bins + 1
                    and isinstance(values, (list, np.ndarray)) and len(values) == n_bins):
                raise ValueError(f"d['fitted'] must hold {n_bins + 1} finite bin_edges and "
                                 f"{n_bins} finite bin_values.")
            edges = C.array(edges, "fitted.bin_edges", length=n_bins + 1, lo=0.0, hi=1.0)
            if strategy == "uniform":
                if not np.array_equal(edges, V.uniform_edges(n_bins)[0]):
                    C.fail("fitted.bin_edges", f"np.linspace(0, 1, {n_bins + 1}) (uniform bins)",
                           edges.tolist())
            else:
                k = np.flatnonzero(np.diff(edges) < 0)
                if k.size:
                    C.fail(f"fitted.bin_edges[{k[0] + 1}]",
                           f"at least the previous edge {float(edges[k[0]])!r}",
                           float(edges[k[0] + 1]))
            values = C.array(values, "fitted.bin_values", length=n_bins, lo=0.0, hi=1.0)
            # weights in the caller's units: a total past the float64 range is inf
            weights = C.array(C.get(f, "bin_weights", "fitted.bin_weights"),
                              "fitted.bin_weights", length=n_bins, lo=0.0, finite=False)
            k = np.flatnonzero(np.isnan(weights))
            if k.size:
                C.fail(f"fitted.bin_weights[{k[0]}]", "a non-negative weight", float("nan"))
            if not weights.sum() > 0:
                C.fail("fitted.bin_weights", "weights with a positive total (fit needs one)",
                       weights.tolist())
            binary, n_classes = cls._read_classes(C, f)
            cls._restore(obj, bin_edges=edges, bin_values=values, bin_weights=weights,
                         binary=binary, n_classes=n_classes)
        return obj
