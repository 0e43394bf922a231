"""convention="helm": HELM's five calibration statistics, checked against
uncertainty-calibration (what HELM calls) and HELM's own
compute_calibration_metrics arithmetic, on random inputs with ties and tiny n."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
from fastcal.metrics.conventions import ece_with_convention, profile
from fastcal.llm.helm import HELM_FIELDS, equal_mass_edges, helm_stats

cal = pytest.importorskip("calibration")  # the uncertainty-calibration package
pytest.importorskip("sklearn")


def helm_reference(max_probs, correct):
    """HELM's compute_calibration_metrics (basic_metrics.py), its arithmetic
    line for line on plain lists, as HELM passes them."""
    max_probs = [float(p) for p in max_probs]
    correct = [int(float(c)) for c in correct]
    out = {
        "ece_10_bin": cal.get_ece_em(max_probs, correct, num_bins=10),
        "ece_1_bin": cal.get_ece(max_probs, correct, num_bins=1),
    }
    out["selective_cov_acc_area"], out["selective_acc@10"] = cal.get_selective_stats(
        max_probs, correct)
    if np.sum(correct) == 0 or np.sum(correct) == len(correct):
        out["platt_ece_10_bin"] = 0.0
    else:
        scaler = cal.get_platt_scaler(np.array(max_probs), np.array(correct))
        out["platt_ece_10_bin"] = cal.get_ece_em(scaler(np.array(max_probs)), correct,
                                                 num_bins=10)
    return {k: float(v) for k, v in out.items()}


def assert_helm_equal(got, exp):
    assert set(got) == set(HELM_FIELDS)
    for k in HELM_FIELDS:
        # selective stats: numpy's own ranking, the same bits; binned errors:
        # fastcal's kernel sums against np.mean, to rounding
        if k.startswith("selective"):
            assert got[k] == exp[k], k
        else:
            np.testing.assert_allclose(got[k], exp[k], rtol=1e-12, atol=1e-15, err_msg=k)


@st.composite
def helm_case(draw):
    n = draw(st.integers(1, 80))
    # ties: draw from a few values (including 0, 1 and the midpoints HELM makes)
    pool = draw(st.lists(st.floats(0, 1), min_size=1, max_size=6)) + [0.0, 1.0, 0.5]
    vals = st.one_of(st.sampled_from(pool), st.floats(0, 1))
    p = np.array(draw(st.lists(vals, min_size=n, max_size=n)), dtype=np.float64)
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return y, p


@given(helm_case())
def test_helm_stats_equal_helm_and_uncertainty_calibration(case):
    y, p = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's lbfgs may warn, in both
        exp = helm_reference(p, y)
        got = helm_stats(y, p)
        r = fastcal.calibration_report(y, p, convention="helm", n_bins=10)
    assert_helm_equal(got, exp)
    assert r.helm == got
    assert r.ece == got["ece_10_bin"]  # the report's bins are HELM's bins
    assert r.convention["profile"] == "helm"
    d = r.to_dict()
    assert d["helm"] == got and json.loads(json.dumps(d))["helm"] == got


@given(helm_case(), st.integers(1, 30))
def test_equal_mass_edges_are_get_equal_bins(case, n_bins):
    y, p = case
    edges = equal_mass_edges(p, n_bins)
    assert edges[0] == 0.0
    assert edges[1:].tolist() == cal.get_equal_bins(list(p), num_bins=n_bins)
    # any n_bins: the binned L1 error is get_ece_em's
    np.testing.assert_allclose(fastcal.ece(y, p, n_bins=n_bins, convention="helm"),
                               cal.get_ece_em(p, y, num_bins=n_bins), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ece_with_convention(y, p, "helm", n_bins, "l2"),
                               cal.utils.plugin_ce(cal.utils.bin(list(zip(p, y)),
                                                                 cal.get_equal_bins(p, n_bins)),
                                                   power=2), rtol=1e-12, atol=1e-15)


def test_ties_and_tiny_n():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y, p in (([1], [0.3]), ([0], [1.0]), ([1, 0], [0.5, 0.5]), ([0, 1], [1.0, 1.0]),
                     ([1, 0, 1], [0.0, 0.0, 1.0]),
                     ([1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0], [0.7] * 6 + [0.2] * 5),
                     (np.arange(25) % 3 == 0, np.repeat([0.9, 0.6, 0.3, 0.8, 0.5], 5))):
            y = np.asarray(y).astype(int)
            p = np.asarray(p, dtype=np.float64)
            assert_helm_equal(helm_stats(y, p), helm_reference(p, y))


def test_partial_match_counts_as_wrong_and_all_correct_platt_is_zero():
    # HELM: correct = int(exact_match); every answer right: platt_ece_10_bin = 0
    s = helm_stats([1, 1, 1], [0.9, 0.4, 0.7])
    assert s["platt_ece_10_bin"] == 0.0 and s["selective_cov_acc_area"] == 1.0
    assert s["ece_1_bin"] == pytest.approx(1 - (0.9 + 0.4 + 0.7) / 3, abs=1e-15)


def test_real_data_sized_input_matches():
    rng = np.random.default_rng(7)
    n = 5003
    p = np.round(rng.beta(5, 2, n), 3)  # rounded: many ties
    y = (rng.random(n) < p ** 1.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_helm_equal(helm_stats(y, p), helm_reference(p, y))


def test_helm_convention_errors():
    with pytest.raises(ValueError, match="sample_weight"):
        fastcal.calibration_report([0, 1], [0.2, 0.8], convention="helm", sample_weight=[1, 2])
    with pytest.raises(ValueError, match="confidence"):
        helm_stats([0, 1], [0.2, 1.5])
    with pytest.raises(ValueError, match="classwise"):
        fastcal.calibration_report([0, 1], [[0.8, 0.2], [0.3, 0.7]], convention="helm",
                                   classwise=True)
    with pytest.raises(ValueError, match="ci"):
        fastcal.calibration_report([0, 1], [0.2, 0.8], convention="netcal", ci=0.9)
    with pytest.raises(ValueError, match="strategy"):
        fastcal.ece([0, 1], [0.2, 0.8], convention="netcal", strategy="quantile")
    with pytest.raises(ValueError, match="convention"):
        fastcal.calibration_report([0, 1], [0.2, 0.8], convention="HELM")
    assert profile("helm", 10)["edges"] is None  # data-dependent edges need the data


def test_multiclass_helm_is_top_label():
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(4), 300)
    y = rng.integers(0, 4, 300)
    conf = P.max(1)
    corr = (P.argmax(1) == y).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fastcal.calibration_report(y, P, convention="helm", n_bins=10)
        assert_helm_equal(r.helm, helm_reference(conf, corr))


# -- convention= on calibration_report for every profile ---------------------


@st.composite
def any_case(draw):
    n = draw(st.integers(2, 60))
    n_bins = draw(st.integers(1, 15))
    e = np.linspace(0, 1, n_bins + 1).tolist()
    vals = st.one_of(st.sampled_from([0.0, 1.0] + e), st.floats(0, 1))
    p = np.array(draw(st.lists(vals, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return y, p, n_bins


@given(any_case())
def test_report_convention_equals_the_convention_metrics(case):
    y, p, n_bins = case
    base = fastcal.calibration_report(y, p, n_bins=n_bins)
    assert base.convention["profile"] == "fastcal"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("sklearn", "torchmetrics", "netcal", "helm"):
            r = fastcal.calibration_report(y, p, n_bins=n_bins, convention=name)
            assert r.convention["profile"] == name
            assert r.ece == ece_with_convention(y, p, name, n_bins, "l1")
            assert r.mce == ece_with_convention(y, p, name, n_bins, "max")
            assert r.rmsce == ece_with_convention(y, p, name, n_bins, "l2")
            # the library-independent gauges do not depend on the profile
            for k in ("accuracy", "confidence", "brier", "nll", "auroc", "n"):
                v, b = getattr(r, k), getattr(base, k)
                assert v == b or (v != v and b != b), k
            assert r.reliability.count.sum() == len(y)
            assert (r.helm is not None) == (name == "helm")


@given(any_case())
def test_sklearn_profile_equals_calibration_curve(case):
    from sklearn.calibration import calibration_curve

    y, p, n_bins = case
    for strategy in ("uniform", "quantile"):
        r = fastcal.calibration_report(y, p, n_bins=n_bins, convention="sklearn",
                                       strategy=strategy)
        c = r.reliability
        ne = c.count > 0
        if len(set(y)) < 2:
            continue  # calibration_curve needs both classes
        prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
        np.testing.assert_allclose(c.accuracy[ne], prob_true, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(c.confidence[ne], prob_pred, rtol=1e-12, atol=1e-15)
    assert fastcal.ece(y, p, n_bins=n_bins, convention="sklearn") == fastcal.ece(
        y, p, n_bins=n_bins)


# -- HELM run folders: real runs of HELM (tests/data/helm/make_fixtures.py) ---

HELM_DIR = __import__("pathlib").Path(__file__).resolve().parent / "data" / "helm"
RUN_DIRS = sorted(p for p in HELM_DIR.iterdir() if (p / "per_instance_stats.json").exists())


def test_fixtures_are_helm_runs_of_a_local_model_at_temperature_1():
    assert len(RUN_DIRS) >= 2
    for run in RUN_DIRS:
        spec = json.loads((run / "run_spec.json").read_text())
        assert spec["adapter_spec"]["model"] == "huggingface/tinygpt"
        assert spec["adapter_spec"]["temperature"] == 1
        assert spec["adapter_spec"]["method"] == "multiple_choice_joint"


@pytest.mark.parametrize("run", RUN_DIRS, ids=lambda p: p.name)
def test_helm_report_equals_helms_own_stats_json(run):
    from fastcal.llm.helm import load_helm_stats

    want = load_helm_stats(run)
    assert set(want) == set(HELM_FIELDS)  # HELM computed calibration for this run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fastcal.helm_report(run)
    assert_helm_equal(r.helm, want)
    assert r.ece == r.helm["ece_10_bin"] and r.convention["profile"] == "helm"
    # accuracy and mean confidence: HELM's own test-split means of the stats
    stats = json.loads((run / "stats.json").read_text())
    mean = {s["name"]["name"]: s.get("mean") for s in stats
            if s["name"].get("split") == "test" and "perturbation" not in s["name"]
            and "sub_split" not in s["name"]}
    assert r.accuracy == pytest.approx(mean["exact_match"], rel=1e-12)
    assert r.confidence == pytest.approx(mean["max_prob"], rel=1e-12)
    d = fastcal.read_helm(run / "per_instance_stats.json")
    assert r.n == len(d["instance_id"]) == len(json.loads(
        (run / "per_instance_stats.json").read_text()))
    assert d["logprobs"]


def _write(tmp_path, data, text=None):
    p = tmp_path / "per_instance_stats.json"
    p.write_text(text if text is not None else json.dumps(data))
    return p


def _fixture():
    return json.loads((RUN_DIRS[0] / "per_instance_stats.json").read_text())


def _stat(entry, name):
    return next(s for s in entry["stats"] if s["name"] == {"name": name, "split": "test"})


def test_bad_files_give_one_line_errors_naming_file_and_field(tmp_path):
    text = (RUN_DIRS[0] / "per_instance_stats.json").read_text()
    p = _write(tmp_path, None, text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"per_instance_stats.json: not valid JSON .*line \d+"):
        fastcal.read_helm(tmp_path)
    for mutate, pattern in (
        (lambda d: d[3].pop("stats"), r"entry 3 \(instance 'id3'\): missing field 'stats'"),
        (lambda d: d[2].pop("instance_id"), r"entry 2: missing field 'instance_id'"),
        (lambda d: _stat(d[5], "max_prob").update(mean="0.4"),
         r"instance 'id5'\) stat 'max_prob': field 'mean' is not a finite number: '0.4'"),
        (lambda d: _stat(d[1], "max_prob").update(mean=[1]),
         r"stat 'max_prob': field 'mean' is not a finite number: \[1\]"),
        (lambda d: _stat(d[0], "max_prob").update(mean=1.5),
         r"'max_prob' field 'mean' is not a probability: 1.5"),
        (lambda d: _stat(d[0], "exact_match").update(mean=2),
         r"'exact_match' field 'mean' is outside \[0, 1\]: 2"),
        (lambda d: d[0]["stats"].append(dict(_stat(d[0], "max_prob"))),
         r"stat 'max_prob' appears twice"),
        (lambda d: d[0]["stats"][0].pop("name"), r"entry 0 \(instance 'id0'\) stat 0: missing "
         r"field 'name'"),
    ):
        d = _fixture()
        mutate(d)
        p = _write(tmp_path, d)
        with pytest.raises(ValueError, match=pattern) as e:
            fastcal.read_helm(p)
        assert "\n" not in str(e.value) and str(p) in str(e.value)
    with pytest.raises(FileNotFoundError, match="per_instance_stats.json"):
        fastcal.read_helm(tmp_path / "nothing")
    with pytest.raises(ValueError, match=r"no instance of split 'valid'.*splits in the file: "
                       r"'test'"):
        fastcal.read_helm(RUN_DIRS[0], split="valid")


def test_stats_without_mean_perturbations_and_trials_are_skipped(tmp_path):
    d = _fixture()
    n = len(d)
    s = _stat(d[0], "max_prob")
    for k in ("mean", "sum", "min", "max", "variance", "stddev"):
        s.pop(k, None)
    s["count"] = 0  # a stat that was never added to: no mean, skipped as HELM does
    extra = json.loads(json.dumps(d[1]))
    extra["perturbation"] = {"name": "typos"}
    other_trial = json.loads(json.dumps(d[2]))
    other_trial["train_trial_index"] = 1
    d += [extra, other_trial]
    got = fastcal.read_helm(_write(tmp_path, d))
    assert len(got["max_prob"]) == n - 1 and "id0" not in got["instance_id"]
    assert fastcal.read_helm(_write(tmp_path, d), train_trial=1)["instance_id"] == ["id2"]


def test_partial_exact_match_is_truncated_as_helm_does(tmp_path):
    d = _fixture()
    _stat(d[0], "exact_match")["mean"] = 0.75
    _stat(d[1], "exact_match")["mean"] = 1.0
    got = fastcal.read_helm(_write(tmp_path, d))
    assert got["correct"][0] == 0 and got["correct"][1] == 1


def test_no_negative_logprob_means_no_helm_calibration(tmp_path):
    d = _fixture()
    for e in d:
        for s in e["stats"]:
            if s["name"]["name"] == "logprob":
                s["sum"] = s["mean"] = 0.0
    p = _write(tmp_path, d)
    with pytest.warns(fastcal.UndefinedMetricWarning, match="HELM computes no calibration"):
        r = fastcal.helm_report(p)
    assert r.helm is None and "helm" not in r.to_dict()


def test_cli_from_helm(tmp_path, capsys):
    from fastcal.llm.helm import load_helm_stats
    from fastcal.cli import main

    run = RUN_DIRS[-1]
    assert main(["report", str(run), "--from", "helm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert_helm_equal(out["helm"], load_helm_stats(run))
    assert out["convention"]["profile"] == "helm" and out["convention"]["n_bins"] == 10
    assert out["ece"] == out["helm"]["ece_10_bin"]
    assert main(["report", str(run), "--from", "helm"]) == 0
    text = capsys.readouterr().out
    assert "HELM (as in its stats.json)" in text and "platt_ece_10_bin" in text
    bad = tmp_path / "per_instance_stats.json"
    bad.write_text((run / "per_instance_stats.json").read_text()[:1000])
    assert main(["report", str(tmp_path), "--from", "helm"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "per_instance_stats.json: not valid JSON" in err
    assert main(["report", str(run), "--from", "helm", "--gold", "x.csv"]) == 2
    assert "--gold does not apply to --from helm" in capsys.readouterr().err
