"""calibration_report: every gauge from one pass over the data (plus the
radix partition AUROC needs)."""

import numpy as np

from ..core import pipeline as _core
from . import gauges as _G
from ..core import validation as V
from .._kernels.metrics import stats as S
from .binned import _check_total, curve_from_bins
from .scores import auroc_from_labels, compile_ahead_auroc

_FIELDS = _G.NAMES  # every gauge of the registry, in its order


def _listed(a):
    """Nested lists of floats with NaN as None (JSON null)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim > 1:
        return [_listed(row) for row in a]
    return [None if np.isnan(v) else float(v) for v in a]


class CalibrationReport:
    """All calibration gauges for one set of predictions.

    Attributes
    ----------
    n : int
        Number of samples.
    weight : float
        Total sample weight (``n`` when unweighted).
    accuracy : float
        Weighted fraction correct (top-label), or of ``y_true == 1`` for binary input.
    confidence : float
        Weighted mean confidence (top-label), or mean ``y_prob`` for binary input.
    ece, mce, rmsce, signed_error : float
        Binned calibration errors (see :func:`fastcal.calibration_error`);
        ``signed_error > 0`` means overconfident.
    brier, nll : float
        Brier score and negative log-likelihood (see :func:`fastcal.nll` for clipping).
    auroc : float
        AUROC of confidence against correctness (binary input: of ``y_prob``
        against ``y_true``); NaN when only one outcome occurs.
    auroc_bounds : tuple of float
        ``(low, high)`` certified to contain the exact AUROC: equal to
        ``(auroc, auroc)`` when it is exact (the functional report, exact
        accumulators); wider for the bounded-memory histogram of
        :class:`~fastcal.CalibrationAccumulator`.
    reliability : ReliabilityCurve
        Every bin: edges, count, mean confidence, accuracy (one row per class
        for a classwise report); ``reliability.intervals()`` gives Wilson or
        Jeffreys intervals per bin.
    intervals : dict or None
        With ``ci``: gauge name -> ``(low, high)`` percentile interval of the
        Poisson bootstrap (see :func:`fastcal.calibration_report`).
    convention : dict
        Which binning, target and clipping convention produced these numbers
        (``convention["profile"]``: the ``convention=`` profile).
    helm : dict or None
        With ``convention="helm"``: HELM's ``ece_10_bin``, ``ece_1_bin``,
        ``selective_cov_acc_area``, ``selective_acc@10`` and
        ``platt_ece_10_bin`` (see :func:`fastcal.helm_report`).
    """

    __slots__ = _FIELDS + ("auroc_bounds", "reliability", "convention", "intervals", "helm")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def overconfident(self):
        """True when mean confidence exceeds accuracy over the bins (signed error > 0)."""
        return self.signed_error > 0

    def to_dict(self):
        """Plain-Python dict (JSON-serialisable; NaN stays float NaN)."""
        d = {k: (int(getattr(self, k)) if k == "n" else float(getattr(self, k))) for k in _FIELDS}
        d["auroc_bounds"] = [float(v) for v in self.auroc_bounds]
        d["intervals"] = (None if self.intervals is None else
                          {k: [float(a), float(b)] for k, (a, b) in self.intervals.items()})
        r = self.reliability
        d["reliability"] = {
            "edges": r.edges.tolist(),
            "count": r.count.tolist(),
            "confidence": _listed(r.confidence),
            "accuracy": _listed(r.accuracy),
        }
        if r.count.ndim == 1:  # Wilson 95% interval on each bin's accuracy
            lo, hi = r.intervals()
            d["reliability"]["accuracy_low"] = _listed(lo)
            d["reliability"]["accuracy_high"] = _listed(hi)
        d["convention"] = dict(self.convention)
        if self.helm is not None:
            d["helm"] = {k: float(v) for k, v in self.helm.items()}
        return d

    def __eq__(self, other):
        if not isinstance(other, CalibrationReport):
            return NotImplemented
        return _nan_safe(self.to_dict()) == _nan_safe(other.to_dict())

    def __repr__(self):
        c = self.convention
        lines = [
            f"CalibrationReport(n={self.n}, {c['target']}, {c['n_bins']} {c['strategy']} bins, "
            f"{c['closed']}-closed)",
            f"  accuracy     {self.accuracy:.4f}    confidence {self.confidence:.4f}",
            f"  ECE          {self.ece:.4f}    MCE        {self.mce:.4f}    RMSCE {self.rmsce:.4f}",
            f"  signed error {self.signed_error:+.4f}   ({'over' if self.overconfident else 'under'}confident)",
            f"  Brier        {self.brier:.4f}    NLL        {self.nll:.4f}    AUROC {self.auroc:.4f}",
        ]
        return "\n".join(lines)


def map_floats(x, f):
    """``x`` (a value, or dicts, lists and tuples of them, nested; tuples become
    lists) with every float ``v`` replaced by ``f(v)``."""
    if isinstance(x, dict):
        return {k: map_floats(v, f) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [map_floats(v, f) for v in x]
    return f(x) if isinstance(x, float) else x


def _nan_safe(x):
    """``x`` with every float NaN replaced by a marker, so equal reports compare equal."""
    return map_floats(x, lambda v: "nan" if v != v else v)


def convention(b, n_bins, strategy, right):
    if b.from_logits:
        nll = "exact from logits (logsumexp - z_y), no clipping"
    else:
        nll = f"probabilities clipped to [eps, 1 - eps], eps = {V.eps_for(b.dtype)!r} ({b.dtype} machine epsilon)"
    return {
        "profile": "fastcal",
        "target": b.layout,
        "n_bins": int(n_bins),
        "strategy": strategy,
        "closed": "right" if right else "left",
        "edges": ("np.linspace(0, 1, n_bins + 1)" if strategy == "uniform"
                  else "np.quantile(confidence, np.linspace(0, 1, n_bins + 1))"),
        "nll": nll,
        "auroc": "exact Mann-Whitney, ties count 1/2",
        "brier": "mean sum_k (p_k - [y == k])^2" if b.layout != "binary" else "mean (p - y)^2",
    }


def report_from_stats(n, bins, scores, edges, weighted, conv, auroc, auroc_bounds=None,
                      classwise_bins=None, classwise_edges=None, weight_exp=0):
    """The report from top-label (or binary) ``bins`` and ``scores``; with
    ``classwise_bins`` (C, 3, n_bins) the binned errors and the curve are the
    classwise ones.  ``weight_exp``: the weights were divided by
    ``2**weight_exp`` (``V.scaled_weight``); the weight sums reported are the
    true ones."""
    total = bins[0].sum()
    _check_total(total, weighted=weighted)
    if classwise_bins is None:
        _, l1, l2, mx, signed = S.ce_from_bins(bins)
        curve = curve_from_bins(bins, edges, weighted, weight_exp)
    else:
        _, l1, l2, mx, signed = S.classwise_ce_from_bins(classwise_bins)
        curve = curve_from_bins(classwise_bins, classwise_edges, weighted, weight_exp)
    auroc = float(auroc)
    if auroc_bounds is None:
        auroc_bounds = (auroc, auroc)
    return CalibrationReport(
        n=int(n),
        weight=float(V.unscale(total, weight_exp)),
        accuracy=float(bins[2].sum() / total),
        confidence=float(bins[1].sum() / total),
        ece=float(l1),
        mce=float(mx),
        rmsce=float(l2),
        signed_error=float(signed),
        brier=float(scores[0] / total),
        nll=float(scores[1] / total),
        auroc=auroc,
        auroc_bounds=(float(auroc_bounds[0]), float(auroc_bounds[1])),
        reliability=curve,
        convention=conv,
    )


def calibration_report(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True,
                       classwise=False, from_logits=False, sample_weight=None,
                       ignore_index=None, ci=None, n_resamples=1000, random_state=None,
                       convention="fastcal"):
    """Every calibration gauge in one call.

    Top-label for multiclass ``y_prob`` (n, C); for binary ``y_prob`` (n,) the
    gauges describe ``y_prob`` against ``y_true`` (for an LLM: stated
    confidence against "the answer was correct"). One fused pass computes
    the binned statistics, Brier and NLL; AUROC of confidence against
    correctness adds a radix partition of the confidences.

    Parameters are those of :func:`fastcal.calibration_error`. With
    ``classwise=True`` (multiclass only) the binned errors (``ece``, ``mce``,
    ``rmsce``, ``signed_error``) and the reliability curve (one row per class)
    are classwise; accuracy, confidence, Brier, NLL and AUROC stay top-label
    (a second pass over the data).

    With ``ci`` (e.g. 0.95), ``report.intervals`` holds percentile intervals of
    ECE, MCE, RMSCE, signed error, Brier, NLL, accuracy and confidence from a
    Poisson bootstrap of ``n_resamples`` replicates computed in one pass (the
    replicate weights are drawn inside the kernel from a hash of
    ``random_state``, the row and the replicate: deterministic for an int
    seed, no resample is ever materialised; the bin edges are those of the
    full data). The AUROC interval is DeLong's, in ``intervals["auroc"]``.
    Classwise reports give top-label intervals for the binned errors. The
    binned errors are biased upward (more so under resampling), so for a
    well-calibrated model the ECE interval can lie above the point estimate:
    read it as the sampling spread, and see ``calibration_error(...,
    norm="l2", debias=True)`` for a debiased estimate.

    ``convention`` (``"fastcal"``, ``"sklearn"``, ``"torchmetrics"``,
    ``"netcal"``, ``"helm"``) bins as that library does (see
    ``docs/conventions.md``): the binned errors and the reliability curve
    follow its bins; accuracy, confidence, Brier, NLL and AUROC are the same
    for every profile. ``"helm"`` bins on HELM's equal-mass edges (pass
    ``n_bins=10`` for HELM's ``ece_10_bin``) and fills ``report.helm`` with
    HELM's five statistics. A profile other than ``"fastcal"`` takes
    probabilities with the default ``right`` and no ``classwise``,
    ``ignore_index`` or ``ci``; ``strategy="quantile"`` only with
    ``"sklearn"`` (``"helm"``'s bins are equal-mass whatever the strategy).
    ``report.convention["profile"]`` records the profile.

    Returns
    -------
    CalibrationReport

    Examples
    --------
    >>> import fastcal
    >>> r = fastcal.calibration_report([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.7], n_bins=5)
    >>> round(r.ece, 4), round(r.brier, 4), r.auroc
    (0.28, 0.092, 1.0)
    >>> h = fastcal.calibration_report([0, 1, 1, 0, 1], [0.2, 0.9, 0.6, 0.4, 0.7],
    ...                                convention="helm", n_bins=10)
    >>> h.convention["profile"], h.ece == h.helm["ece_10_bin"]
    ('helm', True)
    """
    if convention != "fastcal":
        from .conventions import report_with_convention

        return report_with_convention(y_true, y_prob, convention, n_bins=n_bins,
                                      strategy=strategy, right=right, classwise=classwise,
                                      from_logits=from_logits, sample_weight=sample_weight,
                                      ignore_index=ignore_index, ci=ci)
    return report_parts(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                        classwise=classwise, from_logits=from_logits,
                        sample_weight=sample_weight, ignore_index=ignore_index, ci=ci,
                        n_resamples=n_resamples, random_state=random_state)[0]


def report_parts(y_true, y_prob, *, n_bins=15, strategy="uniform", right=True, classwise=False,
                 from_logits=False, sample_weight=None, ignore_index=None, ci=None,
                 n_resamples=1000, random_state=None):
    """:func:`calibration_report` and what it was computed from:
    ``(report, table, conf, corr, w, weight_exp)`` with ``table`` the (R, 8)
    replicate gauges of the bootstrap (None without ``ci``), ``conf``/``corr``
    the per-row confidence and correctness of the kept rows and ``w`` their
    weights divided by ``2**weight_exp`` (None when unweighted)."""
    want_ci = ci is not None
    if want_ci:
        from ..uncertainty.bootstrap import check_ci, check_n_resamples

        check_ci(ci)
        check_n_resamples(n_resamples, V.check_n_bins(n_bins))
    # on a cold cache the AUROC kernels compile in a second process meanwhile
    ahead = compile_ahead_auroc(y_prob, sample_weight, delong=want_ci)
    sample_weight, e = V.scaled_weight(sample_weight)  # gauges are ratios of weight sums
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                     classwise=False, from_logits=from_logits, sample_weight=sample_weight,
                     scores=True, want_cc=True, ignore_index=ignore_index, want_terms=want_ci)
    total = b.bins[0].sum()
    _check_total(total, b)
    conf, corr, w = b.conf, b.corr, b.w
    if b.keep is not None:  # ignored rows (padding) carry no confidence
        conf, corr = conf[b.keep], corr[b.keep]
        w = None if w is None else w[b.keep]
    ahead.wait()
    # NaN + UndefinedMetricWarning if one class; with ci, DeLong's interval
    # from the same pass
    if want_ci:
        from ..uncertainty.delong import auroc_with_ci

        auc, *auroc_iv = auroc_with_ci(conf, corr, w, ci, e)
    else:
        auc = auroc_from_labels(conf, corr, w)
    conv = convention(b, n_bins, strategy, right)
    cw = cw_edges = None
    if classwise:
        c = _core.binned(y_true, y_prob, n_bins=n_bins, strategy=strategy, right=right,
                         classwise=True, from_logits=from_logits, sample_weight=sample_weight,
                         scores=False, want_cc=False, check=False)
        cw = c.bins
        cw_edges = c.edges[0] if c.edges.shape[0] == 1 else c.edges
        conv["target"] = "classwise (binned errors); top-label (accuracy, confidence, AUROC)"
    table = None
    r = report_from_stats(b.n, b.bins, b.scores, b.edges[0], b.weighted, conv, auc,
                          classwise_bins=cw, classwise_edges=cw_edges, weight_exp=e)
    if want_ci:
        r.intervals, table = _intervals(b, conf, corr, w, ci, n_resamples, random_state, right)
        r.intervals["auroc"] = tuple(auroc_iv)
        conv["intervals"] = (f"{ci:g} percentile intervals of a Poisson bootstrap "
                             f"({n_resamples} replicates, edges of the full data); AUROC: DeLong")
    return r, table, conf, corr, w, e


def _intervals(b, conf, corr, w, ci, n_resamples, random_state, right):
    """The bootstrap intervals of the binned gauges and the replicate table."""
    from ..uncertainty.bootstrap import intervals_from_table, report_table

    if b.keep is not None:  # padding rows carry no statistics
        b.conf, b.corr, b.w, b.terms = conf, corr, w, b.terms[b.keep]
    table = report_table(b, n_resamples=n_resamples, random_state=random_state, right=right)
    return intervals_from_table(table, ci, b.terms is not None), table
