"""Convention profiles: reproduce other libraries' binned ECE/MCE/RMSCE exactly.

A profile says how to call the binning kernels so that the bins are those
of another library:

* ``"fastcal"``: docs/design.md, section 3 (right-closed, ``np.linspace`` edges).
* ``"torchmetrics"`` (``binary_calibration_error`` /
  ``multiclass_calibration_error``, torchmetrics 1.x): edges
  ``torch.linspace(0, 1, n_bins + 1)`` in the confidence dtype (torch's own
  linspace formula, which differs from numpy's in the last bit of some
  edges), bins ``bucketize(conf, edges, right=True) - 1``: left-closed, and
  a confidence of exactly 1.0 goes to an extra bin ``n_bins`` of its own.
  Multiclass confidences are cast to float32 first (``confidences.float()``),
  so float64 input is rounded to float32 before binning.
* ``"netcal"`` (``netcal.metrics.ECE`` / ``MCE``, equal intervals):
  confidences clipped to ``[eps, 1 - eps]`` with ``eps`` the machine epsilon
  of the input dtype, ``np.linspace`` edges, left-closed bins
  (``np.histogramdd``; after clipping nothing reaches 0 or 1).
* ``"sklearn"`` (``sklearn.calibration.calibration_curve``): uniform bins are
  fastcal's own (``np.linspace`` edges, right-closed via
  ``np.searchsorted(edges[1:-1], p)``); ``strategy="quantile"`` takes the
  edges ``np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)``, which can
  differ in the last bit from fastcal's ``np.quantile`` edges.
* ``"helm"`` (HELM, through ``uncertainty-calibration``'s ``get_ece_em``):
  equal-mass bins from midpoints between sorted runs of the confidences
  (``llm.helm.equal_mass_edges``), right-closed; the report adds HELM's five
  statistics (``llm.helm.helm_stats``).

Sums are float64 throughout; torchmetrics sums float32 input in float32,
so on float32 input the values agree to float32 rounding (the bins exactly).
"""

import functools
from fractions import Fraction

import numpy as np

from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E
from .._kernels.metrics import binned as B
from .._kernels.metrics import stats as S

CONVENTIONS = ("fastcal", "sklearn", "torchmetrics", "netcal", "helm")
_NORMS = ("l1", "l2", "max")


@functools.lru_cache(maxsize=64)
def _torch_linspace(n_bins, dtype_name):
    dt = np.dtype(dtype_name).type
    steps = n_bins + 1
    step = dt(1.0) / dt(n_bins)
    half = steps // 2
    out = np.empty(steps, dtype=np.float64)
    fs = Fraction(float(step))
    for i in range(steps):
        if i < half:
            out[i] = dt(step * dt(i))
        else:  # one rounding: a fused multiply-add
            out[i] = dt(float(1 - fs * (steps - i - 1)))
    return V.frozen(out)


def torch_linspace(n_bins, dtype):
    """float64 copy of ``torch.linspace(0, 1, n_bins + 1, dtype=dtype)`` (CPU).

    torch's formula in ``dtype``: ``step = 1 / n_bins``; the first half of
    the points are ``i * step``, the rest ``1 - (n_bins - i) * step``
    rounded once (torch 2.x compiles it to a fused multiply-add). Checked
    against torch for every ``n_bins`` below 300, float32 and float64.
    """
    return _torch_linspace(int(n_bins), np.dtype(dtype).name).copy()


def profile(name, n_bins, *, dtype=np.float64, multiclass=False, strategy="uniform",
            confidence=None):
    """How to reproduce library ``name``'s binned errors with fastcal's kernels.

    Parameters
    ----------
    name : {"fastcal", "sklearn", "torchmetrics", "netcal", "helm"}
    n_bins : int
        The library's ``n_bins`` / ``bins`` (HELM: 10).
    dtype : numpy dtype
        dtype of the probabilities passed to the library (float32 or float64).
    multiclass : bool
        Whether the input is (n, C) probabilities (top-label).
    strategy : {"uniform", "quantile"}
        ``"quantile"`` only for ``"sklearn"`` (``calibration_curve``'s
        percentile edges); HELM's bins are always equal-mass.
    confidence : array-like, optional
        The per-row confidences, for the conventions whose edges depend on
        the data (``"helm"``, ``"sklearn"`` with quantile bins); without it
        their ``edges`` are None.

    Returns
    -------
    dict
        ``edges`` float64 array (the kernel bins are ``len(edges) - 1``, one
        more than ``n_bins`` for torchmetrics), ``right`` (bool, the kernel's
        bin rule), ``clip`` (``None`` or the ``eps`` to clip confidences to
        ``[eps, 1 - eps]`` first), ``round_to`` (``None`` or a dtype the
        confidences are rounded to first), ``note`` (a description).

    Examples
    --------
    >>> from fastcal.metrics.conventions import profile
    >>> p = profile("torchmetrics", 3)
    >>> p["edges"].tolist(), p["right"]
    ([0.0, 0.3333333333333333, 0.6666666666666667, 1.0, 2.0], False)
    >>> profile("netcal", 3, dtype="float32")["clip"]
    1.1920928955078125e-07
    >>> profile("helm", 2, confidence=[0.9, 0.2, 0.6, 0.7])["edges"].tolist()
    [0.0, 0.65, 1.0]
    """
    V.check_choice(name, "convention", CONVENTIONS)
    n_bins = V.check_n_bins(n_bins)
    allowed = ("uniform", "quantile") if name in ("sklearn", "helm") else ("uniform",)
    V.check_choice(strategy, f"strategy (convention={name!r})", allowed)
    dtype = np.dtype(dtype)
    plain = {"right": True, "clip": None, "round_to": None}
    if name == "helm":
        from ..llm.helm import equal_mass_edges

        edges = None if confidence is None else equal_mass_edges(confidence, n_bins)
        return {"edges": edges, **plain,
                "note": ("HELM (uncertainty-calibration get_ece_em): equal-mass bins, inner edges "
                         "the midpoints between np.array_split runs of the sorted confidences, "
                         "right-closed (a, b]")}
    if name == "sklearn" and strategy == "quantile":
        edges = None
        if confidence is not None:
            c = np.asarray(confidence, dtype=np.float64)
            edges = np.percentile(c, np.linspace(0, 1, n_bins + 1) * 100)
        return {"edges": edges, **plain,
                "note": ("sklearn calibration_curve(strategy='quantile'): edges "
                         "np.percentile(confidence, np.linspace(0, 1, n_bins + 1) * 100), "
                         "right-closed (searchsorted(edges[1:-1], p))")}
    if name in ("fastcal", "sklearn"):
        return {"edges": V.uniform_edges(n_bins).ravel(), **plain,
                "note": "right-closed (a, b], np.linspace edges, 0 in the first bin"}
    if name == "torchmetrics":
        tdt = np.float32 if (multiclass or dtype == np.float32) else np.float64
        e = torch_linspace(n_bins, tdt)
        edges = np.concatenate([e, [2.0]])
        return {"edges": edges, "right": False,
                    "clip": None, "round_to": np.dtype(np.float32) if multiclass else None,
                    "note": ("left-closed [a, b) on torch.linspace edges in the confidence dtype; "
                          "confidence 1.0 in an extra bin of its own"
                          + ("; multiclass confidences cast to float32" if multiclass else ""))}
    eps = float(np.finfo(dtype).eps)
    edges = V.uniform_edges(n_bins).ravel()
    # netcal counts with np.histogramdd (float64 edges) but takes the bin means
    # from scipy's binned_statistic_dd, which casts the edges to the input dtype
    stat_edges = edges.astype(dtype).astype(np.float64)
    return {"edges": edges, "right": False, "clip": eps, "round_to": None,
                "stat_edges": None if np.array_equal(stat_edges, edges) else stat_edges,
                "note": f"confidences clipped to [eps, 1 - eps], eps = {eps!r} ({dtype} machine "
                     f"epsilon); left-closed [a, b), np.linspace edges"
                     + ("; bin means on the edges rounded to float32 (scipy), bin counts on "
                        "the float64 edges (numpy)" if dtype == np.float32 else "")}


def convention_bins(b, name, n_bins, strategy="uniform"):
    """``(bins, edges, profile)``: the (3, k) bin statistics of the per-row
    confidences and correctness of ``b`` (a ``core.pipeline.Binned`` with
    ``want_cc``) binned as library ``name`` bins them.  The profile's rounding
    and clipping are applied to ``b.conf`` in place."""
    prof = profile(name, n_bins, dtype=b.dtype, multiclass=b.layout == "top-label",
                   strategy=strategy, confidence=b.conf)
    if name == "fastcal":
        return b.bins, b.edges[0], prof
    conf = b.conf  # float64 per-row confidences owned by us: modify in place
    if prof["round_to"] is not None and b.dtype != prof["round_to"]:
        conf[:] = conf.astype(prof["round_to"])
    if prof["clip"] is not None:
        eps = prof["clip"]
        np.clip(conf, eps, float(np.asarray(1.0 - eps, dtype=b.dtype)), out=conf)
    bins = binned_on(b.corr, conf, b.w, prof["edges"], prof["right"])
    if prof.get("stat_edges") is not None:
        bins = _split_binning(bins, binned_on(b.corr, conf, b.w, prof["stat_edges"],
                                              prof["right"]))
    return bins, prof["edges"], prof


def ece_with_convention(y_true, y_prob, name, n_bins=15, norm="l1", *, sample_weight=None,
                        strategy="uniform"):
    """Binned calibration error computed with library ``name``'s convention.

    Parameters
    ----------
    y_true, y_prob : array-like
        As for :func:`fastcal.calibration_error` (probabilities, binary or
        top-label).
    name : {"fastcal", "sklearn", "torchmetrics", "netcal", "helm"}
    n_bins : int, default 15
    norm : {"l1", "l2", "max"}, default "l1"
        ECE, RMSCE (root of the weighted mean squared gap), MCE.
    sample_weight : array-like, optional
        An extension: the libraries themselves take no weights (HELM's
        equal-mass bins refuse them).
    strategy : {"uniform", "quantile"}, default "uniform"
        ``"quantile"``: scikit-learn's percentile edges (``"sklearn"``);
        ignored by ``"helm"``, whose bins are always equal-mass.

    Returns
    -------
    float

    Notes
    -----
    One validating pass (``core.pipeline.binned``) writes per-row float64
    confidences and correctness into arrays of its own; the profile's
    rounding and clipping are applied to that array in place (no copy of the
    input; rounding to float32 makes one float32 temporary), then a second
    pass bins it on the profile's edges.

    Examples
    --------
    >>> from fastcal.metrics.conventions import ece_with_convention
    >>> y, p = [1, 0, 1, 1], [1.0, 1.0, 0.95, 0.2]
    >>> [round(ece_with_convention(y, p, c, n_bins=2), 6) for c in ("fastcal", "torchmetrics", "netcal")]
    [0.4375, 0.4625, 0.4375]

    torchmetrics puts the two confidences of exactly 1.0 in a bin of their own.
    """
    V.check_choice(name, "convention", CONVENTIONS)
    V.check_choice(norm, "norm", _NORMS)
    b, _ = _convention_pass(y_true, y_prob, name, n_bins, sample_weight)
    bins, _, _ = convention_bins(b, name, n_bins, strategy)
    total, l1, l2, mx, _ = S.ce_from_bins(bins)
    if not total > 0:
        raise E.weight_sum_error()
    return float({"l1": l1, "l2": l2, "max": mx}[norm])


def _convention_pass(y_true, y_prob, name, n_bins, sample_weight):
    """``(b, weight_exp)``: the validating pass (per-row confidence and
    correctness) and the scale of the weights."""
    if name == "helm" and sample_weight is not None:
        raise ValueError("convention='helm' takes no sample_weight: HELM's equal-mass bins and "
                         "selective statistics count each instance once.")
    sample_weight, e = V.scaled_weight(sample_weight)  # ratios: the scale cancels
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy="uniform", right=True,
                     classwise=False, from_logits=False, sample_weight=sample_weight,
                     scores=False, want_cc=True)
    return b, e


def binned_on(corr, conf, w, edges, right):
    """(3, len(edges) - 1) bin statistics of validated per-row ``conf`` and
    ``corr`` on ``edges`` (right-closed with ``right``)."""
    edges = np.ascontiguousarray(edges, dtype=np.float64).reshape(1, -1)
    _, _, bins, _ = _core.run(B.binary_stats, conf.shape[0],
                              corr, conf, w, edges, False, V.on(right), None, None,
                              0.0, False, None, None, None)
    return bins


def _split_binning(count_bins, stat_bins):
    """netcal on float32 input: bin weights from ``count_bins``, bin means from
    ``stat_bins``, as one (3, k) array of sums; a bin with no weight (or no
    rows for its means) counts 0."""
    W = count_bins[0]
    n = stat_bins[0]
    ok = (n > 0) & (W > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(ok, stat_bins[1] / n, 0.0)
        acc = np.where(ok, stat_bins[2] / n, 0.0)
    return np.stack([W, W * conf, W * acc])


def check_options(name, strategy, extra=(), **given):
    """Refuse the options profile ``name`` cannot honour: ``given`` maps an
    option to ``(value, default)``; ``extra`` lists more refused options."""
    V.check_choice(name, "convention", CONVENTIONS)
    quantile_ok = name in ("sklearn", "helm")  # edges of their own from the data
    bad = [] if quantile_ok or strategy == "uniform" else [f"strategy={strategy!r}"]
    bad += [f"{k}={v!r}" for k, (v, d) in given.items() if v != d] + list(extra)
    if bad:
        raise ValueError(f"convention={name!r} reproduces that library's own binning of "
                         f"probabilities; it cannot be combined with {', '.join(bad)}.")


def report_with_convention(y_true, y_prob, name, *, n_bins, strategy, right, classwise,
                           from_logits, sample_weight, ignore_index, ci):
    """``calibration_report(..., convention=name)`` for ``name != "fastcal"``."""
    from .binned import curve_from_bins
    from .report import calibration_report

    check_options(name, strategy, right=(right, True), classwise=(classwise, False),
                  from_logits=(from_logits, False), ignore_index=(ignore_index, None),
                  ci=(ci, None))
    b, e = _convention_pass(y_true, y_prob, name, n_bins, sample_weight)
    bins, edges, prof = convention_bins(b, name, n_bins, strategy)
    conf0 = corr0 = None
    if name == "helm":
        conf0, corr0 = b.conf, b.corr  # HELM neither clips nor rounds
    # accuracy, confidence, Brier, NLL, AUROC: the library-independent gauges
    r = calibration_report(y_true, y_prob, n_bins=n_bins, sample_weight=sample_weight)
    total, l1, l2, mx, signed = S.ce_from_bins(bins)
    r.ece, r.mce, r.rmsce, r.signed_error = float(l1), float(mx), float(l2), float(signed)
    r.reliability = curve_from_bins(bins, edges, b.weighted, e)
    c = r.convention
    c["profile"] = name
    c["strategy"] = "equal-mass (HELM)" if name == "helm" else strategy
    c["closed"] = "right" if prof["right"] else "left"
    c["edges"] = prof["note"]
    if name == "helm":
        from ..llm.helm import _helm_stats

        r.helm = _helm_stats(corr0, conf0)
    return r
