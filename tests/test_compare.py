"""fastcal.compare: each model's numbers equal its own report, the paired
bootstrap (same weights per row and replicate for every model), the paired
DeLong test, Holm, coverage of the difference's interval, bad input."""

import json
import math
import warnings

import numpy as np
import pytest

import fastcal
from fastcal.uncertainty.bootstrap import METRICS
from fastcal.comparison.compare import GAUGES
from fastcal.comparison.stats import bootstrap_p, holm
from fastcal.metrics.report import report_parts


def binary_models(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    y = (rng.random(n) < x).astype(np.int64)
    return y, {"base": x, "over": x ** 2,
               "noisy": np.clip(x + rng.normal(0, 0.05, n), 0.0, 1.0)}


def multiclass_models(n=2000, C=5, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, C))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(C, p=row) for row in p])
    return y, {"t1": z, "t2": 2.0 * z, "t05": 0.5 * z}


# ------------------------------------------------------- equal to the reports
@pytest.mark.parametrize("opts", [{}, {"n_bins": 10, "right": False},
                                  {"strategy": "quantile"}])
def test_binary_models_equal_their_reports(opts):
    y, preds = binary_models()
    c = fastcal.compare(y, preds, n_resamples=100, random_state=7, **opts)
    assert list(c.models) == list(preds) and c.baseline == "base"
    for k, p in preds.items():
        r = fastcal.calibration_report(y, p, ci=0.95, n_resamples=100, random_state=7, **opts)
        assert c.models[k] == r
        assert c.models[k].intervals == r.intervals
    for k in ("over", "noisy"):
        for g in GAUGES:
            want = getattr(c.models[k], g) - getattr(c.models["base"], g)
            assert c.differences[k][g]["estimate"] == want


def test_multiclass_logits_and_weights_equal_their_reports():
    y, preds = multiclass_models()
    w = np.random.default_rng(3).random(y.shape[0]) * 3
    c = fastcal.compare(y, preds, from_logits=True, sample_weight=w, n_resamples=50,
                        random_state=1, baseline="t2")
    for k, z in preds.items():
        r = fastcal.calibration_report(y, z, from_logits=True, sample_weight=w, ci=0.95,
                                       n_resamples=50, random_state=1)
        assert c.models[k] == r
    assert set(c.differences) == {"t1", "t05"}


def test_without_intervals_equal_plain_reports():
    y, preds = multiclass_models()
    c = fastcal.compare(y, preds, ci=None, from_logits=True, classwise=True)
    for k, z in preds.items():
        assert c.models[k] == fastcal.calibration_report(y, z, from_logits=True, classwise=True)
    for d in c.differences.values():
        for e in d.values():
            assert math.isnan(e["low"]) and math.isnan(e["p_value"])
            assert math.isnan(e["p_adjusted"]) and not math.isnan(e["estimate"])
    assert c.ci is None and c.n_resamples is None
    with pytest.raises(ValueError, match="no p-values"):
        c.significantly_worse()


def test_per_model_labels():
    """LLM style: each model has its own correctness column."""
    rng = np.random.default_rng(5)
    n = 2000
    conf = {"a": rng.random(n), "b": rng.random(n)}
    corr = {k: (rng.random(n) < v).astype(int) for k, v in conf.items()}
    c = fastcal.compare(corr, conf, n_resamples=50, random_state=2)
    for k in conf:
        assert c.models[k] == fastcal.calibration_report(corr[k], conf[k], ci=0.95,
                                                         n_resamples=50, random_state=2)
    assert "unpaired" in c.methods["auroc"]
    _, va = fastcal.auroc_variance(corr["b"], conf["b"])
    _, vb = fastcal.auroc_variance(corr["a"], conf["a"])
    e = c.differences["b"]["auroc"]
    half = 1.959963984540054 * math.sqrt(va + vb)
    assert math.isclose(e["high"] - e["estimate"], half, rel_tol=1e-9)


# --------------------------------------------------------- paired bootstrap
def test_identical_models_differ_by_exactly_zero_in_every_replicate():
    """Shared weights: an unpaired bootstrap would give a non-degenerate interval."""
    y, preds = binary_models(n=500)
    c = fastcal.compare(y, {"a": preds["noisy"], "b": preds["noisy"].copy()},
                        n_resamples=200, random_state=3)
    for g in GAUGES:
        e = c.differences["b"][g]
        assert (e["estimate"], e["low"], e["high"], e["p_value"]) == (0.0, 0.0, 0.0, 1.0)


def _tables(y, preds, seeds, R):
    return {k: report_parts(y, p, ci=0.95, n_resamples=R, random_state=s)[1]
            for (k, p), s in zip(preds.items(), seeds)}


def test_interval_is_the_percentile_interval_of_shared_weight_differences():
    y, preds = binary_models(n=1500)
    R = 300
    c = fastcal.compare(y, preds, n_resamples=R, random_state=11)
    t = _tables(y, preds, [11, 11, 11], R)
    for k in ("over", "noisy"):
        for j, g in enumerate(METRICS):
            d = t[k][:, j] - t["base"][:, j]
            lo, hi = np.quantile(d, [(1 - 0.95) / 2, (1 + 0.95) / 2])  # as the reports'
            e = c.differences[k][g]
            assert (e["low"], e["high"]) == (lo, hi)
            assert e["p_value"] == bootstrap_p(d)


def test_paired_interval_narrower_than_unpaired_on_correlated_models():
    rng = np.random.default_rng(8)
    n = 4000
    x = rng.random(n)
    y = (rng.random(n) < x).astype(int)
    a = np.clip(x + rng.normal(0, 0.1, n), 0, 1)
    b = np.clip(a + rng.normal(0, 0.02, n), 0, 1)  # b is a with a little more noise
    preds = {"a": a, "b": b}
    R = 400
    c = fastcal.compare(y, preds, n_resamples=R, random_state=4)
    unpaired = _tables(y, preds, [4, 5], R)  # independent weights per model
    for j, g in enumerate(METRICS):
        if g == "accuracy":  # binary: the same labels, difference 0 either way
            continue
        lo, hi = np.quantile(unpaired["b"][:, j] - unpaired["a"][:, j], [0.025, 0.975])
        e = c.differences["b"][g]
        # at least 4x narrower for the means (measured 0.03-0.05x), narrower for the rest
        # (binned errors and NLL, measured 0.4-0.7x)
        ratio = 0.25 if g in ("brier", "confidence", "signed_error") else 0.8
        assert e["high"] - e["low"] < ratio * (hi - lo), g


def test_coverage_of_the_difference_for_models_of_the_same_distribution():
    """Two models of the same distribution: the 95% interval of each smooth
    gauge's difference covers 0 in about 95% of trials (300 trials: binomial
    sd 1.3%), and p < 0.05 in about 5%.  The binned errors are conservative
    (a difference of absolute gaps near 0: measured 99-100% coverage)."""
    rng = np.random.default_rng(2024)
    trials, n, R = 300, 1000, 200
    smooth = ("brier", "nll", "confidence", "signed_error")
    binned = ("ece", "rmsce", "mce")
    cover = {g: 0 for g in smooth + binned}
    reject = {g: 0 for g in smooth + binned}
    for t in range(trials):
        x = rng.random(n)
        y = (rng.random(n) < x).astype(int)
        a = np.clip(x + rng.normal(0, 0.15, n), 0.01, 0.99)
        b = np.clip(x + rng.normal(0, 0.15, n), 0.01, 0.99)
        c = fastcal.compare(y, {"a": a, "b": b}, n_bins=10, n_resamples=R, random_state=t)
        for g in cover:
            e = c.differences["b"][g]
            cover[g] += e["low"] <= 0.0 <= e["high"]
            reject[g] += e["p_value"] < 0.05
    for g in smooth:
        assert 0.90 <= cover[g] / trials <= 0.985, (g, cover[g] / trials)
        assert 0.015 <= reject[g] / trials <= 0.10, (g, reject[g] / trials)
    for g in binned:
        assert cover[g] / trials >= 0.93, (g, cover[g] / trials)
        assert reject[g] / trials <= 0.07, (g, reject[g] / trials)


# ----------------------------------------------------------------- AUROC
def test_auroc_is_the_paired_delong_test():
    y, preds = binary_models()
    w = np.random.default_rng(0).integers(1, 4, y.shape[0]).astype(float)
    for sw in (None, w):
        c = fastcal.compare(y, preds, n_resamples=20, random_state=0, sample_weight=sw)
        assert "paired DeLong" in c.methods["auroc"]
        for k in ("over", "noisy"):
            d, z, p = fastcal.delong_test(y, preds[k], preds["base"], sample_weight=sw)
            e = c.differences[k]["auroc"]
            assert e["p_value"] == p
            assert math.isclose(e["estimate"], d, rel_tol=0, abs_tol=1e-15)
            if z and math.isfinite(z):
                half = 1.959963984540054 * abs(d / z)
                assert math.isclose(e["high"] - e["estimate"], half, rel_tol=1e-9)


def test_multiclass_auroc_paired_only_on_identical_correctness():
    y, preds = multiclass_models()
    # temperature changes no argmax: the same correctness, so the paired test applies
    c = fastcal.compare(y, preds, from_logits=True, n_resamples=20, random_state=0)
    assert c.methods["auroc"].startswith("paired")
    z = preds["t1"]
    corr = (z.argmax(1) == y).astype(int)
    conf = {k: np.exp(v).max(1) / np.exp(v).sum(1) for k, v in preds.items()}
    _, _, p = fastcal.delong_test(corr, conf["t2"], conf["t1"])
    assert math.isclose(c.differences["t2"]["auroc"]["p_value"], p, rel_tol=1e-9)
    # other predictions: each model's AUROC ranks its own correctness
    noisy = z + np.random.default_rng(2).normal(0, 1.0, z.shape)
    c = fastcal.compare(y, {"t1": z, "noisy": noisy}, from_logits=True, n_resamples=20,
                        random_state=0)
    assert c.methods["auroc"].startswith("unpaired")
    e = c.differences["noisy"]["auroc"]
    assert e["low"] <= e["estimate"] <= e["high"] and 0 <= e["p_value"] <= 1


# ------------------------------------------------------ p-values and Holm
def test_bootstrap_p():
    assert bootstrap_p(np.zeros(99)) == 1.0
    assert bootstrap_p(np.ones(99)) == 2.0 / 100
    d = np.r_[-np.ones(5), np.ones(94)]
    assert bootstrap_p(d) == 2.0 * 6 / 100
    assert math.isnan(bootstrap_p(np.full(5, np.nan)))


def test_holm_against_a_direct_reference():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.random(rng.integers(1, 8)) ** 3
        m = p.size
        order = np.argsort(p)
        ref = np.empty(m)
        for i, j in enumerate(order):
            ref[j] = min(1.0, max((m - k) * p[order[k]] for k in range(i + 1)))
        np.testing.assert_array_equal(holm(p), ref)
    out = holm([0.01, np.nan, 0.04])
    assert out[0] == 0.02 and math.isnan(out[1]) and out[2] == 0.04


def test_p_adjusted_is_holm_across_the_models_compared():
    y, preds = binary_models()
    c = fastcal.compare(y, preds, n_resamples=100, random_state=0)
    for g in GAUGES:
        p = [c.differences[k][g]["p_value"] for k in ("over", "noisy")]
        got = [c.differences[k][g]["p_adjusted"] for k in ("over", "noisy")]
        np.testing.assert_array_equal(got, holm(p))


# --------------------------------------------------------- result object
def test_to_dict_ranking_table():
    y, preds = binary_models()
    c = fastcal.compare(y, preds, n_resamples=100, random_state=0, baseline="noisy")
    d = c.to_dict()
    assert d["baseline"] == "noisy"
    assert set(d["models"]) == set(preds) and set(d["differences"]) == {"base", "over"}
    assert d["models"]["over"] == c.models["over"].to_dict()
    for k in d["differences"]:
        assert set(d["differences"][k]) == set(GAUGES)
        for e in d["differences"][k].values():
            assert set(e) == {"estimate", "low", "high", "p_value", "p_adjusted"}
    json.dumps(d)
    assert c.ranking("brier")[0] == "base" and c.ranking("ece")[-1] == "over"
    assert c.ranking("signed_error")[-1] == "over"
    with pytest.raises(ValueError, match="no better direction"):
        c.ranking("confidence")
    assert ("over", "ece") in c.significantly_worse(["ece"])
    assert all(g == "ece" for _, g in c.significantly_worse(["ece"]))
    with pytest.raises(ValueError, match="no worse direction"):
        c.significantly_worse(["signed_error"])
    text = str(c)
    assert "baseline 'noisy'" in text and "over - noisy:" in text and "p (Holm)" in text


# ---------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors():
    y, preds = binary_models(n=100)
    with pytest.raises(ValueError, match="same rows.*'base' 100 rows.*'short' 99 rows"):
        fastcal.compare(y, {"base": preds["base"], "short": preds["over"][:99]})
    with pytest.raises(ValueError, match="unknown baseline 'nope'"):
        fastcal.compare(y, preds, baseline="nope")
    with pytest.raises(ValueError, match="at least two models.*'base'"):
        fastcal.compare(y, {"base": preds["base"]})
    with pytest.raises(TypeError, match="mapping of model name"):
        fastcal.compare(y, [preds["base"], preds["over"]])
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_bin'"):
        fastcal.compare(y, preds, n_bin=10)
    with pytest.raises(ValueError, match="classwise"):
        fastcal.compare(y, preds, classwise=True)
    with pytest.raises(ValueError, match="missing"):
        fastcal.compare({"base": y}, preds)
    with pytest.raises(ValueError, match="model 'over'.*y_prob"):
        bad = dict(preds, over=preds["over"] + 1.0)
        fastcal.compare(y, bad, ci=None)
    with pytest.raises(ValueError, match="ci must be"):
        fastcal.compare(y, preds, ci=1.5)
    with pytest.raises(TypeError, match="non-empty strings"):
        fastcal.compare(y, {1: preds["base"], 2: preds["over"]})


# ---------------------------------------------------------------- real data
def test_cifar10_models(data_dir):
    files = ["lenet-5-cifar-10", "vgg16-cifar-10", "wideresnet-16-4-cifar-10"]
    preds, y = {}, None
    for f in files:
        path = data_dir / "cifar" / f"{f}.npz"
        if not path.is_file():
            pytest.skip(f"{path} not found")
        with np.load(path) as z:
            preds[f] = z["predictions"]
            if y is None:
                y = z["ground_truth"]
            assert np.array_equal(y, z["ground_truth"])  # the same test set, same order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = fastcal.compare(y, preds, n_resamples=200, random_state=0)
        for k, p in preds.items():
            assert c.models[k] == fastcal.calibration_report(y, p, ci=0.95, n_resamples=200,
                                                             random_state=0)
    # both deeper networks are far more accurate than LeNet-5, and it shows
    for k in files[1:]:
        assert c.differences[k]["accuracy"]["low"] > 0.3
        assert c.differences[k]["nll"]["p_adjusted"] < 0.05
    assert c.ranking("accuracy")[-1] == "lenet-5-cifar-10"


def test_other_conventions_without_intervals():
    y, preds = binary_models(n=500)
    c = fastcal.compare(y, preds, ci=None, convention="sklearn", n_bins=10)
    for k, p in preds.items():
        assert c.models[k] == fastcal.calibration_report(y, p, convention="sklearn", n_bins=10)
    with pytest.raises(ValueError, match="ci=None"):
        fastcal.compare(y, preds, convention="sklearn")
