"""Model comparison: every gauge of several models scored on the same rows,
and the paired difference of each against a baseline.

Paired Poisson bootstrap.  Each model's replicate pass is the one of
:func:`fastcal.calibration_report` (``ci=``) with the same seed, stream 0 and
the same row numbering: the replicate weight of a row is a pure function of
``(seed, stream, row, replicate)`` (``fastcal.uncertainty.bootstrap``), so in replicate
``r`` every model sees the same resample.  The difference of a gauge in
replicate ``r`` is the difference of the two models' replicate gauges; its
interval is the percentile interval of those ``R`` differences, and the
p-value of "no difference" inverts that interval:

    p = min(1, 2 (min(#{d_r <= 0}, #{d_r >= 0}) + 1) / (R + 1))

(the smallest two-sided level whose percentile interval excludes 0, with the
usual +1 Monte Carlo correction so that p is never 0).  AUROC: the paired
DeLong test (:func:`fastcal.delong_test`) when the two models' outcome labels
are the same (binary input with one ``y_true``), else the unpaired DeLong
variance (sum of the two variances).  p-values are Holm-adjusted, per gauge,
across the models compared with the baseline.
"""

import math
from collections.abc import Mapping

import numpy as np

from ..metrics import gauges as _G
from ..core import validation as V
from ..core import errors as E
from ..uncertainty.bootstrap import check_ci, check_n_resamples, seed_from
from ..metrics.report import calibration_report, report_parts

from .stats import (
    DIRECTION,
    GAUGES,
    _LABELS,
    _adjust,
    _auroc_method,
    _boot_differences,
    _differences,
    _entry,
)

_OPTIONS = ("n_bins", "strategy", "right", "classwise", "from_logits", "sample_weight",
            "ignore_index", "convention")


def _check_names(names, what="predictions"):
    names = list(names)
    for k in names:
        if not isinstance(k, str) or not k:
            raise TypeError(f"model names must be non-empty strings; {what} has {k!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be distinct; {what} repeats one: {names!r}.")
    if len(names) < 2:
        raise ValueError(
            f"a comparison needs at least two models; found {len(names)} "
            f"({', '.join(repr(k) for k in names) or 'none'}). For one model use "
            "fastcal.calibration_report.")
    return names


def _check_baseline(baseline, names):
    if baseline is None:
        return names[0]
    if baseline not in names:
        raise ValueError(f"unknown baseline {baseline!r}: the models are "
                         f"{', '.join(repr(k) for k in names)}.")
    return baseline


def _rows(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return int(shape[0]) if len(shape) else 0


def _labels(y_true, names, what="predictions"):
    """``{name: labels}`` from one array of labels or a mapping with the same names."""
    if isinstance(y_true, Mapping):
        if set(y_true) != set(names):
            missing = [k for k in names if k not in y_true]
            extra = [k for k in y_true if k not in names]
            raise ValueError(
                f"y_true as a mapping needs the same model names as {what}: "
                + (f"missing {missing!r}" if missing else f"unknown {extra!r}") + ".")
        return {k: y_true[k] for k in names}
    return {k: y_true for k in names}


class Comparison:
    """Gauges of several models on the same rows and their paired differences.

    Attributes
    ----------
    baseline : str
        The model the others are compared with.
    models : dict of str -> CalibrationReport
        Every model's report (equal to its own
        :func:`fastcal.calibration_report` with the same options, ``ci``,
        ``n_resamples`` and integer ``random_state``).
    differences : dict of str -> dict of str -> dict
        For every model but the baseline, per gauge of :data:`GAUGES`:
        ``{"estimate", "low", "high", "p_value", "p_adjusted"}``: model minus
        baseline, the ``ci`` interval of the difference, the p-value of "no
        difference" and its Holm adjustment across the models compared (NaN
        where there is no interval: ``ci=None``, or the AUROC of a streamed
        comparison).
    ci : float or None
        Confidence level of the intervals.
    n_resamples : int or None
        Bootstrap replicates.
    methods : dict
        How the intervals and p-values were made (plain text).
    """

    __slots__ = ("baseline", "models", "differences", "ci", "n_resamples", "methods")

    def __init__(self, baseline, models, differences, ci, n_resamples, methods):
        self.baseline = baseline
        self.models = models
        self.differences = differences
        self.ci = ci
        self.n_resamples = n_resamples
        self.methods = methods

    @property
    def n(self):
        """Rows compared."""
        return self.models[self.baseline].n

    def to_dict(self):
        """Plain-Python dict (JSON-serialisable; NaN stays float NaN):
        ``{"baseline", "models": {name: report.to_dict()}, "differences":
        {name: {gauge: {"estimate", "low", "high", "p_value", "p_adjusted"}}},
        "ci", "n_resamples", "methods"}``."""
        return {
            "baseline": self.baseline,
            "models": {k: r.to_dict() for k, r in self.models.items()},
            "differences": {k: {g: dict(e) for g, e in d.items()}
                            for k, d in self.differences.items()},
            "ci": self.ci,
            "n_resamples": self.n_resamples,
            "methods": dict(self.methods),
        }

    def ranking(self, gauge="ece"):
        """Model names from best to worst on ``gauge`` (lower is better for the
        errors, Brier and NLL; higher for accuracy and AUROC; closer to 0 for
        the signed error). NaN values come last; ties keep the models' order."""
        V.check_choice(gauge, "gauge", GAUGES)
        sign = DIRECTION[gauge]
        if sign is None:
            raise ValueError("mean confidence has no better direction; rank by another gauge "
                             f"({', '.join(g for g in GAUGES if DIRECTION[g] is not None)}).")

        def key(k):
            v = float(getattr(self.models[k], gauge))
            if math.isnan(v):
                return (1, 0.0)
            return (0, abs(v) if sign == 0 else -sign * v)

        return sorted(self.models, key=key)

    def significantly_worse(self, gauges=None, *, adjusted=True):
        """``[(model, gauge), ...]`` where a model is worse than the baseline
        with (Holm-adjusted, unless ``adjusted=False``) p-value below
        ``1 - ci``: a higher error, Brier or NLL, a lower accuracy or AUROC.
        ``gauges`` defaults to every gauge with a direction but the signed
        error (whose difference does not say which is closer to 0)."""
        usable = [g for g in GAUGES if DIRECTION[g] in (-1, 1)]
        if gauges is None:
            gauges = usable
        for g in gauges:
            if g not in usable:
                raise ValueError(f"gauge {g!r} has no worse direction for a difference; choose "
                                 f"from {', '.join(usable)}.")
        if self.ci is None:
            raise ValueError("this comparison has no p-values (ci=None).")
        alpha = 1.0 - self.ci
        key = "p_adjusted" if adjusted else "p_value"
        out = []
        for k, d in self.differences.items():
            for g in gauges:
                e = d[g]
                if e[key] < alpha and e["estimate"] * DIRECTION[g] < 0:
                    out.append((k, g))
        return out

    def __repr__(self):
        return self.format()

    __str__ = __repr__

    def format(self, gauges=GAUGES):
        """The plain-text tables: every model's gauges, then each model's
        differences from the baseline with intervals and p-values."""
        names = list(self.models)
        w = max(12, max(len(k) for k in names) + 2)
        lines = [f"Comparison of {len(names)} models on {self.n:,} rows; baseline "
                 f"{self.baseline!r}"]
        if self.ci is not None:
            lines.append(f"{self.ci:.0%} intervals: {self.methods['intervals']}; p-values Holm-"
                         "adjusted across the models compared")
        lines.append("")
        lines.append(f"  {'gauge':<14}" + "".join(f"{k:>{w}}" for k in names))
        for g in gauges:
            vals = [float(getattr(self.models[k], g)) for k in names]
            lines.append(f"  {_LABELS[g]:<14}" + "".join(
                f"{_G.BY_NAME[g].format(v):>{w}}" for v in vals))
        for k, d in self.differences.items():
            lines.append("")
            lines.append(f"{k} - {self.baseline}:")
            lines.append(f"  {'gauge':<14}{'difference':>11}  {'interval':<22}{'p':>8}"
                         f"{'p (Holm)':>10}")
            for g in gauges:
                e = d[g]
                iv = ("-" if math.isnan(e["low"]) else
                      f"[{e['low']:+.4f}, {e['high']:+.4f}]")
                lines.append(f"  {_LABELS[g]:<14}{_num(e['estimate'], True):>11}  {iv:<22}"
                             f"{_p(e['p_value']):>8}{_p(e['p_adjusted']):>10}")
        return "\n".join(lines)


def _num(v, signed=False):
    if math.isnan(v):
        return "nan"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def _p(p):
    if math.isnan(p):
        return "-"
    return f"{p:.3g}" if p >= 1e-3 else f"{p:.1e}"


def _methods(ci, n_resamples, auroc):
    if ci is None:
        return {"intervals": "none (ci=None): estimates only"}
    return {
        "intervals": (f"paired Poisson bootstrap, {n_resamples} replicates (the same weights "
                      "for every model in a replicate), percentile intervals"),
        "p_value": ("percentile inversion: min(1, 2 (min(#d <= 0, #d >= 0) + 1) / (R + 1)) "
                    "over the replicate differences d; Holm-adjusted per gauge across the "
                    "models compared"),
        "auroc": auroc,
    }


def compare(y_true, predictions, *, baseline=None, ci=0.95, n_resamples=1000,
            random_state=None, **report_options):
    """Compare the calibration of several models scored on the same rows.

    Parameters
    ----------
    y_true : array-like, or mapping of model name -> array-like
        Labels as for :func:`fastcal.calibration_report`: one array shared by
        every model, or one per model (e.g. each model's own "was the answer
        correct" column of an LLM evaluation).
    predictions : mapping of model name -> array-like
        Each model's ``y_prob`` (binary (n,), (n, C) probabilities or logits,
        (..., C) token logits), in the order the table shows them.  At least
        two models, all scoring the same rows in the same order.
    baseline : str, optional
        The model the others are compared with (default: the first).
    ci : float or None, default 0.95
        Level of the intervals of the differences (and of each model's own
        ``report.intervals``).  ``None``: gauges and differences only (no
        bootstrap, no tests).
    n_resamples : int, default 1000
        Poisson-bootstrap replicates.
    random_state : None, int or numpy random generator
        Seed of the replicate weights, drawn once and shared by every model.
    **report_options
        ``n_bins``, ``strategy``, ``right``, ``classwise``, ``from_logits``,
        ``sample_weight``, ``ignore_index``, ``convention``: as for
        :func:`fastcal.calibration_report`, the same for every model (a
        ``convention`` other than ``"fastcal"`` only with ``ci=None``).

    Returns
    -------
    Comparison

    Notes
    -----
    Paired bootstrap: in replicate ``r`` every row has the same Poisson(1)
    weight for every model (a pure function of the seed, the row and ``r``),
    so each replicate difference is the difference on one resample; the
    interval is the percentile interval of the ``n_resamples`` differences
    and the p-value of "no difference" the percentile-inversion one,
    ``min(1, 2 (min(#{d <= 0}, #{d >= 0}) + 1) / (R + 1))``.  AUROC: the
    paired DeLong test (equal to :func:`fastcal.delong_test`) and its Wald
    interval when the two models' outcome labels are identical (binary input
    with one ``y_true``); otherwise (top-label AUROC, whose labels are each
    model's correctness) the unpaired DeLong variance, the sum of the two.  p-values
    are Holm-adjusted per gauge across the ``k - 1`` models compared.  The
    binned errors keep the bin edges of each model's full data in every
    replicate (see :func:`fastcal.calibration_report`).  ``classwise=True``
    is only available with ``ci=None`` (the bootstrap is top-label).

    Examples
    --------
    >>> import numpy as np, fastcal
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random(5000); y = (rng.random(5000) < x).astype(int)
    >>> c = fastcal.compare(y, {"calibrated": x, "overconfident": x ** 2},
    ...                     n_resamples=200, random_state=0)
    >>> c.ranking("brier")
    ['calibrated', 'overconfident']
    >>> d = c.differences["overconfident"]["brier"]
    >>> d["low"] > 0 and d["p_value"] < 0.05
    True
    """
    if not isinstance(predictions, Mapping):
        raise TypeError(f"predictions must be a mapping of model name -> y_prob (e.g. "
                        f"{{'a': p_a, 'b': p_b}}); found {type(predictions).__name__}.")
    names = _check_names(predictions)
    baseline = _check_baseline(baseline, names)
    labels = _labels(y_true, names)
    bad = sorted(k for k in report_options if k not in _OPTIONS)
    if bad:
        raise TypeError(f"compare() got an unexpected keyword argument {bad[0]!r} (the report "
                        f"options are {', '.join(_OPTIONS)}).")
    rows = {k: _rows(predictions[k]) for k in names}
    if len(set(rows.values())) > 1:
        raise ValueError("every model must score the same rows: found "
                         + ", ".join(f"{k!r} {v} rows" for k, v in rows.items()) + ".")
    profile = report_options.pop("convention", "fastcal")
    if profile != "fastcal" and ci is not None:
        raise ValueError(f"convention={profile!r} reports carry no bootstrap intervals; compare "
                         "them with ci=None (or use the default convention).")
    if ci is not None:
        ci = check_ci(ci)
        n_resamples = check_n_resamples(n_resamples, V.check_n_bins(
            report_options.get("n_bins", 15)))
        if report_options.get("classwise"):
            raise ValueError("classwise=True has classwise binned errors but top-label "
                             "bootstrap replicates; compare them with ci=None.")
        seed = int(seed_from(random_state))
    else:
        seed = None
        n_resamples = None
    order = [baseline] + [k for k in names if k != baseline]
    reports, differences, paired = {}, {}, {}
    base = None
    for k in order:
        try:
            if profile == "fastcal":
                r, table, conf, corr, w, e = report_parts(
                    labels[k], predictions[k], ci=ci, n_resamples=n_resamples or 1000,
                    random_state=seed, **report_options)
            else:  # another library's bins: the report only (ci is None)
                r = calibration_report(labels[k], predictions[k], convention=profile,
                                       **report_options)
                table = conf = corr = w = e = None
        except E.InputError as exc:
            raise E.model_error(exc, k) from None
        except ValueError as exc:
            raise type(exc)(f"model {k!r}: {exc}") from None
        reports[k] = r
        if base is None:
            base = (r, table, conf, corr, w, e)
            continue
        if r.n != base[0].n:
            raise ValueError(f"every model must score the same rows: {baseline!r} kept "
                             f"{base[0].n} rows and {k!r} {r.n} (ignore_index).")
        differences[k], paired[k] = _differences(r, table, conf, corr, w, e, base, ci)
    auroc_method = None
    if ci is not None:
        auroc_method = _auroc_method(paired)
    _adjust(differences, [k for k in names if k != baseline])
    return Comparison(baseline, {k: reports[k] for k in names},
                      {k: differences[k] for k in names if k != baseline}, ci, n_resamples,
                      _methods(ci, n_resamples, auroc_method))


def differences_from_states(reports, tables, baseline, ci, n_resamples, auroc_note):
    """A :class:`Comparison` from each model's report and replicate table
    (None without bootstrap): the streaming path.  AUROC differences are
    estimates only."""
    names = list(reports)
    rb, tb = reports[baseline], tables[baseline]
    differences = {}
    for k in names:
        if k == baseline:
            continue
        r = reports[k]
        est = {g: float(getattr(r, g)) - float(getattr(rb, g)) for g in GAUGES}
        if tb is None:
            differences[k] = {g: _entry(est[g]) for g in GAUGES}
        else:
            differences[k] = _boot_differences(est, tables[k], tb, ci)
            differences[k]["auroc"] = _entry(est["auroc"])
    others = [k for k in names if k != baseline]
    _adjust(differences, others)
    if tb is None:
        ci = n_resamples = None
    return Comparison(baseline, dict(reports), differences, ci, n_resamples,
                      _methods(ci, n_resamples, auroc_note))

