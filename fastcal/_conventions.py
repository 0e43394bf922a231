"""Convention profiles: reproduce other libraries' binned ECE/MCE/RMSCE exactly.

A profile says how to call the binning kernels so that the bins are those
of another library:

* ``"fastcal"``: DESIGN.md section 3 (right-closed, ``np.linspace`` edges).
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

Sums are float64 throughout; torchmetrics sums float32 input in float32,
so on float32 input the values agree to float32 rounding (the bins exactly).
"""

import functools
from fractions import Fraction

import numpy as np

from . import _core
from . import _validation as V
from ._kernels import _binned as B
from ._kernels import _stats as S

CONVENTIONS = ("fastcal", "torchmetrics", "netcal")
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
    out.setflags(write=False)
    return out


def torch_linspace(n_bins, dtype):
    """float64 copy of ``torch.linspace(0, 1, n_bins + 1, dtype=dtype)`` (CPU).

    torch's formula in ``dtype``: ``step = 1 / n_bins``; the first half of
    the points are ``i * step``, the rest ``1 - (n_bins - i) * step``
    rounded once (torch 2.x compiles it to a fused multiply-add). Checked
    against torch for every ``n_bins`` below 300, float32 and float64.
    """
    return _torch_linspace(int(n_bins), np.dtype(dtype).name).copy()


def profile(name, n_bins, *, dtype=np.float64, multiclass=False):
    """How to reproduce library ``name``'s binned errors with fastcal's kernels.

    Parameters
    ----------
    name : {"fastcal", "torchmetrics", "netcal"}
    n_bins : int
        The library's ``n_bins`` / ``bins``.
    dtype : numpy dtype
        dtype of the probabilities passed to the library (float32 or float64).
    multiclass : bool
        Whether the input is (n, C) probabilities (top-label).

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
    >>> from fastcal._conventions import profile
    >>> p = profile("torchmetrics", 3)
    >>> p["edges"].tolist(), p["right"]
    ([0.0, 0.3333333333333333, 0.6666666666666667, 1.0, 2.0], False)
    >>> profile("netcal", 3, dtype="float32")["clip"]
    1.1920928955078125e-07
    """
    V.check_choice(name, "convention", CONVENTIONS)
    n_bins = V.check_n_bins(n_bins)
    dtype = np.dtype(dtype)
    if name == "fastcal":
        return {"edges": V.uniform_edges(n_bins).ravel(), "right": True, "clip": None, "round_to": None,
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


def ece_with_convention(y_true, y_prob, name, n_bins=15, norm="l1", *, sample_weight=None):
    """Binned calibration error computed with library ``name``'s convention.

    Parameters
    ----------
    y_true, y_prob : array-like
        As for :func:`fastcal.calibration_error` (probabilities, binary or
        top-label).
    name : {"fastcal", "torchmetrics", "netcal"}
    n_bins : int, default 15
    norm : {"l1", "l2", "max"}, default "l1"
        ECE, RMSCE (root of the weighted mean squared gap), MCE.
    sample_weight : array-like, optional
        An extension: the libraries themselves take no weights.

    Returns
    -------
    float

    Notes
    -----
    One validating pass (``_core.binned``) writes per-row float64
    confidences and correctness into arrays of its own; the profile's
    rounding and clipping are applied to that array in place (no copy of the
    input; rounding to float32 makes one float32 temporary), then a second
    pass bins it on the profile's edges.

    Examples
    --------
    >>> from fastcal._conventions import ece_with_convention
    >>> y, p = [1, 0, 1, 1], [1.0, 1.0, 0.95, 0.2]
    >>> [round(ece_with_convention(y, p, c, n_bins=2), 6) for c in ("fastcal", "torchmetrics", "netcal")]
    [0.4375, 0.4625, 0.4375]

    torchmetrics puts the two confidences of exactly 1.0 in a bin of their own.
    """
    V.check_choice(name, "convention", CONVENTIONS)
    V.check_choice(norm, "norm", _NORMS)
    sample_weight, _ = V.scaled_weight(sample_weight)  # ratios: the scale cancels
    b = _core.binned(y_true, y_prob, n_bins=n_bins, strategy="uniform", right=True,
                     classwise=False, from_logits=False, sample_weight=sample_weight,
                     scores=False, want_cc=True)
    if name == "fastcal":
        bins = b.bins
    else:
        prof = profile(name, n_bins, dtype=b.dtype, multiclass=b.layout == "top-label")
        conf = b.conf  # float64 per-row confidences owned by us: modify in place
        if prof["round_to"] is not None and b.dtype != prof["round_to"]:
            conf[:] = conf.astype(prof["round_to"])
        if prof["clip"] is not None:
            eps = prof["clip"]
            np.clip(conf, eps, float(np.asarray(1.0 - eps, dtype=b.dtype)), out=conf)
        right = True if prof["right"] else None
        bins = _rebin(b, conf, prof["edges"], right)
        if prof.get("stat_edges") is not None:
            return _split_binning(bins, _rebin(b, conf, prof["stat_edges"], right), norm)
    total, l1, l2, mx, _ = S.ce_from_bins(bins)
    if not total > 0:
        raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight.")
    return float({"l1": l1, "l2": l2, "max": mx}[norm])


def _rebin(b, conf, edges, right):
    """Bins of the per-row confidences ``conf`` (and ``b.corr``) on ``edges``."""
    _, _, bins, _ = _core.run(B.binary_stats, B.binary_stats_parallel, b.n,
                              b.corr, conf, b.w, edges.reshape(1, -1), None, right, None, None,
                              0.0, None, None, None, None)
    return bins


def _split_binning(count_bins, stat_bins, norm):
    """netcal on float32 input: bin weights from ``count_bins``, bin means from
    ``stat_bins``; a bin with no weight (or no rows for its means) counts 0."""
    W = count_bins[0]
    total = W.sum()
    if not total > 0:
        raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight.")
    n = stat_bins[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.where((n > 0) & (W > 0), stat_bins[2] / n - stat_bins[1] / n, 0.0)
    a = np.abs(gap)
    if norm == "l1":
        return float(np.sum(W / total * a))
    if norm == "max":
        return float(a.max())
    return float(np.sqrt(np.sum(W / total * a * a)))
