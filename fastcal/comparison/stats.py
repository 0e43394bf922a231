"""The statistics of a model comparison (see ``fastcal.comparison.compare``): the
paired bootstrap difference of each gauge, its percentile-inversion p-value,
the DeLong test of the AUROC difference, and Holm's adjustment across the
models compared with the baseline."""

import math

import numpy as np

from ..metrics import gauges as _G
from ..core import errors as E
from ..uncertainty.bootstrap import METRICS

#: Every gauge of a comparison (every gauge of the registry but the sizes), in
#: table order: the bootstrapped ones in their column order, then the others
#: (AUROC, by DeLong).
GAUGES = METRICS + tuple(g for g in _G.MEASURES if g not in METRICS)
_LABELS = {g.name: g.label for g in _G.pick(*GAUGES)}
#: Which way is better: -1 lower, +1 higher, 0 closer to 0 (signed error),
#: None no direction (mean confidence).
DIRECTION = {g.name: g.sign for g in _G.pick(*GAUGES)}
_NAN = float("nan")


def holm(p):
    """Holm (1979) step-down adjusted p-values of the family ``p`` (NaN
    entries are left out of the family and stay NaN)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = idx.size
    running = 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def bootstrap_p(d):
    """Two-sided percentile-inversion p-value of "no difference" from the
    replicate differences ``d`` (NaN replicates left out)."""
    d = d[~np.isnan(d)]
    R = d.shape[0]
    if R == 0:
        return _NAN
    k = min(int(np.count_nonzero(d <= 0.0)), int(np.count_nonzero(d >= 0.0)))
    return min(1.0, 2.0 * (k + 1) / (R + 1))


def _boot_differences(est, table, base_table, ci):
    """``{gauge: entry}`` of the bootstrapped gauges from two replicate tables."""
    out = {}
    lo_q, hi_q = (1.0 - ci) / 2.0, (1.0 + ci) / 2.0
    for j, g in enumerate(METRICS):
        d = table[:, j] - base_table[:, j]
        dk = d[~np.isnan(d)]
        if dk.shape[0]:
            lo, hi = np.quantile(dk, [lo_q, hi_q])
        else:
            lo = hi = _NAN
        out[g] = _entry(est[g], lo, hi, bootstrap_p(d))
    return out


def _entry(estimate, low=_NAN, high=_NAN, p=_NAN):
    return {"estimate": float(estimate), "low": float(low), "high": float(high),
            "p_value": float(p), "p_adjusted": _NAN}


def _auroc_entry(est, test, ci):
    """AUROC difference entry from ``test = (difference, variance)`` of
    DeLong: the p-value of :func:`fastcal.delong_test` on that difference and
    the Wald interval about ``est``."""
    from ..uncertainty.delong import _z, normal_test

    diff, var = test
    if math.isnan(var) or math.isnan(est):
        return _entry(est)
    _, _, p = normal_test(diff, var)
    half = _z(ci) * math.sqrt(var)
    return _entry(est, est - half, est + half, p)


def _adjust(differences, names):
    for g in GAUGES:
        p = [differences[k][g]["p_value"] for k in names]
        for k, q in zip(names, holm(p)):
            differences[k][g]["p_adjusted"] = float(q)


def _differences(r, table, conf, corr, w, e, base, ci):
    """``({gauge: entry}, paired AUROC test)`` of one model against the baseline."""
    rb, tb, conf_b, corr_b, w_b, e_b = base
    est = {g: float(getattr(r, g)) - float(getattr(rb, g)) for g in GAUGES}
    if ci is None:
        return {g: _entry(est[g]) for g in GAUGES}, None
    out = _boot_differences(est, table, tb, ci)
    paired = bool(np.array_equal(corr, corr_b))
    out["auroc"] = _auroc_entry(est["auroc"], _auroc_variance(
        conf, corr, w, e, conf_b, corr_b, w_b, e_b, paired), ci)
    return out, paired


def _auroc_method(paired):
    """``methods["auroc"]``: which DeLong variance each model's test used."""
    yes = "paired DeLong test (fastcal.delong_test: the same outcome labels), Wald interval"
    no = ("unpaired DeLong (sum of the two variances: the models' outcome labels differ), "
          "Wald interval")
    if all(paired.values()):
        return yes
    if not any(paired.values()):
        return no
    return "; ".join(f"{k}: {yes if v else no}" for k, v in paired.items())


def _auroc_variance(conf, corr, w, e, conf_b, corr_b, w_b, e_b, paired):
    """``(difference, variance)`` of AUROC(model) - AUROC(baseline) by DeLong:
    ``paired`` when the outcome labels are the same (the paired test), else
    the sum of the two variances."""
    import warnings

    from ..uncertainty.delong import _auroc_variance as one, paired_variance

    with warnings.catch_warnings():  # the reports already warned
        warnings.simplefilter("ignore", E.UndefinedMetricWarning)
        if paired:
            wt = None if w is None else np.ldexp(w, e)  # the true (frequency) weights
            return paired_variance(corr, conf, conf_b, wt)
        auc, var = one(corr, conf, w, e)
        auc_b, var_b = one(corr_b, conf_b, w_b, e_b)
        return auc - auc_b, var + var_b
