"""HELM's calibration numbers, and its run folders read in.

HELM (``crfm-helm``) derives five calibration statistics per split and
perturbation (``compute_calibration_metrics`` in its ``basic_metrics``
module) from two per-instance statistics, ``max_prob`` (the probability of
the model's answer) and ``exact_match``, with the ``uncertainty-calibration``
package (imported as ``calibration``):

* ``ece_10_bin``: ``get_ece_em(max_probs, correct, num_bins=10)``, the
  plug-in L1 calibration error on equal-mass bins (:func:`equal_mass_edges`);
* ``ece_1_bin``: ``get_ece(max_probs, correct, num_bins=1)``,
  ``|mean(max_prob) - accuracy|``;
* ``selective_cov_acc_area`` and ``selective_acc@10``: ``get_selective_stats``,
  the mean accuracy of the ``k`` most confident answers over k = 1..n, and the
  accuracy of the ``int(0.1 * n) + 1`` most confident ones, ranked by
  ``np.argsort(-max_prob)`` (numpy's default, unstable sort: tied confidences
  are ranked as numpy happens to order them, and so they are here, with the
  same call);
* ``platt_ece_10_bin``: ``ece_10_bin`` of the Platt-recalibrated confidences
  (``get_platt_scaler``: scikit-learn's ``LogisticRegression(C=1e10,
  solver="lbfgs")`` on ``log(c / (1 - c))``, ``c`` clipped to
  ``[1e-12, 1 - 1e-12]``; 0 when every answer is right or every one wrong).

``correct`` is ``int(exact_match)``: a partial match (0 < mean < 1) counts
as wrong.
"""

import json
import math
import os

import numpy as np

from ..core import errors as E
from ..io.readers import InputError
from .._kernels.metrics import stats as S

HELM_FIELDS = ("ece_10_bin", "ece_1_bin", "selective_cov_acc_area", "selective_acc@10",
               "platt_ece_10_bin")
_PLATT_EPS = 1e-12  # get_platt_scaler's clipping of the confidences


def equal_mass_edges(confidence, n_bins):
    """HELM's equal-mass bin edges (``calibration.get_equal_bins``) as fastcal edges.

    The sorted confidences are cut into ``min(n_bins, n)`` runs of
    consecutive values as ``np.array_split`` cuts them (the first ``n %
    n_bins`` runs one longer); each inner edge is the midpoint ``(a + b) /
    2`` of the last value of a run and the first of the next; the upper
    edges, with 1.0, are deduplicated and sorted.  Bins are right-closed
    (``np.searchsorted(edges, c)``, side left), so the returned array is
    ``[0.0, e_1, ..., 1.0]`` for fastcal's right-closed kernels.

    Examples
    --------
    >>> from fastcal.llm.helm import equal_mass_edges
    >>> equal_mass_edges([0.9, 0.2, 0.6, 0.7, 0.7], 2).tolist()   # runs [.2 .6 .7] [.7 .9]
    [0.0, 0.7, 1.0]
    """
    s = np.sort(np.asarray(confidence, dtype=np.float64))
    n = s.shape[0]
    nb = min(int(n_bins), n)
    q, r = divmod(n, nb)
    cut = np.arange(1, nb) * q + np.minimum(np.arange(1, nb), r)  # first index of runs 1..nb-1
    mids = (s[cut - 1] + s[cut]) / 2.0
    upper = np.unique(np.concatenate([mids, [1.0]]))
    return np.concatenate([[0.0], upper])


def _ece_em(conf, corr, n_bins):
    from ..metrics.conventions import binned_on

    bins = binned_on(corr, conf, None, equal_mass_edges(conf, n_bins), True)
    return float(S.ce_from_bins(bins)[1])


def _platt_probs(conf, correct):
    """HELM's Platt recalibration of ``conf`` (``calibration.get_platt_scaler``)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ImportError(
            "HELM's platt_ece_10_bin is fitted with scikit-learn's LogisticRegression(C=1e10, "
            "solver='lbfgs'), whose optimiser stops at a gradient tolerance, so only the same "
            "fit reproduces HELM's number; install it: pip install scikit-learn") from None
    clf = LogisticRegression(C=1e10, solver="lbfgs")
    x = np.clip(conf.astype(np.float64), _PLATT_EPS, 1 - _PLATT_EPS)
    x = np.log(x / (1 - x))
    clf.fit(x[:, None], correct)
    with np.errstate(over="ignore"):
        z = x * clf.coef_[0] + clf.intercept_
        return 1 / (1 + np.exp(-z))


def helm_stats(correct, confidence):
    """HELM's five calibration statistics of one split, as HELM computes them.

    Parameters
    ----------
    correct : array-like of shape (n,)
        0/1 (or bool): the answer was right (HELM: ``int(exact_match)``).
    confidence : array-like of shape (n,)
        Probability of the answer, in [0, 1] (HELM: ``max_prob``).

    Returns
    -------
    dict
        ``ece_10_bin``, ``ece_1_bin``, ``selective_cov_acc_area``,
        ``selective_acc@10``, ``platt_ece_10_bin`` (see the module docstring;
        the Platt fit needs scikit-learn).

    Examples
    --------
    >>> from fastcal.llm.helm import helm_stats
    >>> s = helm_stats([1, 0, 1, 1, 0, 1], [0.9, 0.8, 0.7, 0.6, 0.5, 0.95])
    >>> round(s["ece_1_bin"], 6), s["selective_acc@10"]
    (0.075, 1.0)
    """
    from ..uncertainty.selective import _inputs

    corr, conf = _inputs(correct, confidence)  # uint8 0/1, validated confidences
    conf = np.asarray(conf, dtype=np.float64)
    if not (conf.min() >= 0.0 and conf.max() <= 1.0):
        i = int(np.argmax((conf < 0) | (conf > 1)))
        raise ValueError(f"confidence must lie in [0, 1] (HELM's max_prob); found "
                         f"{conf[i]!r} at index {i}.")
    return _helm_stats(corr, conf)


def _helm_stats(corr, conf):
    """``helm_stats`` of validated uint8/bool ``corr`` and float64 ``conf``."""
    n = conf.shape[0]
    correct = corr.astype(np.int64)
    corr = corr.astype(np.bool_)  # the kernels' bool specialisation (no new compile)
    out = {"ece_10_bin": _ece_em(conf, corr, 10), "ece_1_bin": _ece_em(conf, corr, 1)}
    # get_selective_stats: numpy's own ranking, so ties are ordered as in HELM
    order = np.argsort(-conf)
    accs = np.cumsum(correct[order]) / np.arange(1, n + 1)
    out["selective_cov_acc_area"] = float(np.mean(accs))
    out["selective_acc@10"] = float(accs[int(0.1 * n)])
    k = int(correct.sum())
    if k == 0 or k == n:  # HELM stores 0: Platt scaling has nothing to fit
        out["platt_ece_10_bin"] = 0.0
    else:
        out["platt_ece_10_bin"] = _ece_em(_platt_probs(conf, correct), corr, 10)
    return out


# -- run folders ------------------------------------------------------------


def _load_json(path):
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file (a HELM run folder holds "
                                "per_instance_stats.json)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f"line {e.lineno} column {e.colno}: {e.msg}" if hasattr(e, "lineno") else str(e)
        raise InputError(f"{path}: not valid JSON (truncated?) at {where}") from None


def _field(obj, key, path, where):
    if not isinstance(obj, dict) or key not in obj:
        raise InputError(f"{path}: {where}: missing field {key!r}")
    return obj[key]


def _number(v, path, where, field):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"{path}: {where}: field {field!r} is not a finite number: {v!r}")
    return float(v)


def _run_file(run_dir, name):
    run_dir = os.fspath(run_dir)
    if os.path.isdir(run_dir):
        return os.path.join(run_dir, name)
    return run_dir


def read_helm(run_dir, *, split="test", train_trial=0):
    """Per-instance ``max_prob`` and correctness of one HELM run, as HELM reads them.

    Parameters
    ----------
    run_dir : path
        A HELM run folder (``benchmark_output/runs/<suite>/<run>``), or its
        ``per_instance_stats.json`` itself.
    split : str, default "test"
        The instances' split; stats with a sub-split or a perturbation are
        left out (HELM computes their calibration separately).
    train_trial : int, default 0
        HELM computes the statistics per train trial (``num_train_trials``)
        and ``stats.json`` holds their mean; this reads one trial.

    Returns
    -------
    dict
        ``instance_id`` (list of str), ``max_prob`` (float64 array),
        ``correct`` (int64 array, ``int(exact_match)`` as HELM takes it),
        ``logprobs`` (bool: some instance has a negative ``logprob`` sum;
        HELM computes no calibration without one) and ``path``.  Instances
        lacking either statistic, or whose statistic has no ``mean`` (count
        0), are skipped, as HELM skips them.

    Raises
    ------
    InputError (a ValueError)
        One line naming the file, the entry and the field: invalid JSON, a
        missing field, a non-numeric or out-of-range value, a statistic
        repeated within one instance.
    """
    path = _run_file(run_dir, "per_instance_stats.json")
    data = _load_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of per-instance entries, found "
                            f"{type(data).__name__}")
    ids, probs, corr = [], [], []
    logprobs = False
    seen_splits = set()
    for i, entry in enumerate(data):
        where = f"entry {i}"
        iid = _field(entry, "instance_id", path, where)
        where = f"entry {i} (instance {iid!r})"
        trial = _field(entry, "train_trial_index", path, where)
        stats = _field(entry, "stats", path, where)
        if not isinstance(stats, list):
            raise InputError(f"{path}: {where}: field 'stats' is not a list")
        if entry.get("perturbation") is not None or trial != train_trial:
            continue
        found = {}
        for j, stat in enumerate(stats):
            name = _field(stat, "name", path, f"{where} stat {j}")
            sname = _field(name, "name", path, f"{where} stat {j} field 'name'")
            seen_splits.add(name.get("split"))
            if (name.get("split") != split or name.get("sub_split") is not None
                    or name.get("perturbation") is not None):
                continue
            if sname == "logprob" and "sum" in stat:
                if _number(stat["sum"], path, f"{where} stat 'logprob'", "sum") < 0:
                    logprobs = True
            if sname not in ("max_prob", "exact_match"):
                continue
            if sname in found:
                raise InputError(f"{path}: {where}: stat {sname!r} appears twice for split "
                                    f"{split!r}")
            found[sname] = stat
        if len(found) < 2 or any(s.get("mean") is None for s in found.values()):
            continue  # HELM: no max_prob or exact_match (or no mean) -> not counted
        p = _number(found["max_prob"]["mean"], path, f"{where} stat 'max_prob'", "mean")
        c = _number(found["exact_match"]["mean"], path, f"{where} stat 'exact_match'", "mean")
        if not 0.0 <= p <= 1.0:
            raise InputError(f"{path}: {where}: stat 'max_prob' field 'mean' is not a "
                                f"probability: {p!r}")
        if not 0.0 <= c <= 1.0:
            raise InputError(f"{path}: {where}: stat 'exact_match' field 'mean' is outside "
                                f"[0, 1]: {c!r}")
        ids.append(str(iid))
        probs.append(p)
        corr.append(int(c))
    if not probs:
        have = sorted(repr(s) for s in seen_splits)
        raise InputError(
            f"{path}: no instance of split {split!r} (train trial {train_trial}, no perturbation) "
            f"has both 'max_prob' and 'exact_match' with a mean; splits in the file: "
            f"{', '.join(have) or 'none'}")
    return {"instance_id": ids, "max_prob": np.array(probs, dtype=np.float64),
            # int64: the common label dtype, so the kernels need no new specialisation
            "correct": np.array(corr, dtype=np.int64), "logprobs": logprobs, "path": path}


def helm_report(run_dir, *, split="test", train_trial=0, n_bins=10, **report_options):
    """Calibration report of a HELM run folder, with HELM's own numbers.

    Reads ``per_instance_stats.json`` (:func:`fastcal.read_helm`) and returns
    ``calibration_report(correct, max_prob, convention="helm", n_bins=10)``:
    binary gauges of ``max_prob`` against correctness on HELM's equal-mass
    bins (``report.ece`` is HELM's ``ece_10_bin``) and ``report.helm``, the
    five numbers of HELM's ``stats.json`` (``ece_10_bin``, ``ece_1_bin``,
    ``selective_cov_acc_area``, ``selective_acc@10``, ``platt_ece_10_bin``),
    also in ``report.to_dict()["helm"]``.

    When no instance has a negative ``logprob`` (a model that reports no
    log-probabilities), HELM computes no calibration: ``report.helm`` is then
    None and an ``UndefinedMetricWarning`` says so.

    Parameters
    ----------
    run_dir : path
        The run folder, or its ``per_instance_stats.json``.
    split, train_trial :
        As for :func:`fastcal.read_helm`.
    n_bins : int, default 10
        Equal-mass bins of ``report.ece`` and the reliability curve (HELM: 10).
    **report_options :
        Passed to :func:`fastcal.calibration_report`: ``convention``
        (default ``"helm"``; another profile bins as that library does and
        leaves ``report.helm`` None), and with ``convention="fastcal"``
        also ``ci``, ``n_resamples``, ``random_state`` (the profiles carry
        no bootstrap).

    Returns
    -------
    CalibrationReport
    """
    from ..metrics.report import calibration_report

    d = read_helm(run_dir, split=split, train_trial=train_trial)
    report_options.setdefault("convention", "helm")
    r = calibration_report(d["correct"], d["max_prob"], n_bins=n_bins, **report_options)
    if not d["logprobs"]:
        r.helm = None
        E.warn_undefined(
            f"{d['path']}: no instance has a negative 'logprob': the model reported no "
            "log-probabilities, so HELM computes no calibration for this run (report.helm is None).")
    r.convention["source"] = f"HELM per_instance_stats.json, split {split!r}, train trial {train_trial}"
    return r


def load_helm_stats(run_dir, *, split="test"):
    """HELM's own calibration numbers from a run's ``stats.json``:
    ``{name: mean}`` for the :data:`HELM_FIELDS` present for ``split`` with no
    sub-split or perturbation."""
    path = _run_file(run_dir, "stats.json")
    if os.path.basename(path) != "stats.json":
        path = os.path.join(os.path.dirname(path), "stats.json")
    data = _load_json(path)
    out = {}
    for i, stat in enumerate(data if isinstance(data, list) else []):
        name = _field(stat, "name", path, f"entry {i}")
        if (name.get("name") in HELM_FIELDS and name.get("split") == split
                and name.get("sub_split") is None and name.get("perturbation") is None):
            out[name["name"]] = _number(_field(stat, "mean", path, f"entry {i}"), path,
                                        f"entry {i} ({name['name']})", "mean")
    return out
