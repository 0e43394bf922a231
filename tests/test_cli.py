"""The fastcal command line (fastcal.cli): in-process through main([...]), plus one
subprocess test of the installed script and ``python -m fastcal``."""

import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastcal
from fastcal.cli import main
from fastcal.cli.args import DEFAULT_THRESHOLDS
from fastcal.cli.demo import synthetic


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(7)
    n = 3000
    p = np.round(rng.random(n), 6)
    y = (rng.random(n) < p ** 1.4).astype(np.int64)
    return y, p


@pytest.fixture(scope="module")
def multiclass():
    y, z = synthetic(n=2000, n_classes=4, seed=3)
    return y.astype(np.int64), z


def write_csv(path, y, p, names=("confidence", "label")):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for a, b in zip(p, y):
            f.write(f"{float(a)!r},{int(b)}\n")
    return str(path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code in (0, 1), err
    return code, json.loads(out)


# ------------------------------------------------------------------ report
def test_report_text_and_numbers(tmp_path, capsys, binary):
    y, p = binary
    f = write_csv(tmp_path / "preds.csv", y, p)
    code, out, err = run(capsys, "report", f)
    assert code == 0, err
    for word in ("ECE", "MCE", "RMSCE", "signed error", "Brier", "NLL", "AUROC", "< 0.1",
                 "< 0.25", "< 2.5", "> 0.85", "Reliability", "3,000 predictions"):
        assert word in out
    assert "OVERCONFIDENT" in out  # p ** 1.4 < p: fewer positives than predicted
    code, d = run_json(capsys, "report", f)
    ref = fastcal.calibration_report(y, p)
    for k in ("n", "accuracy", "confidence", "ece", "mce", "rmsce", "signed_error", "brier", "nll"):
        assert d[k] == pytest.approx(getattr(ref, k), rel=1e-12, abs=1e-15), k
    assert abs(d["auroc"] - ref.auroc) < 1e-3
    assert set(ref.to_dict()) <= set(d)
    assert d["overconfident"] is True and d["file"] == f
    assert d["verdicts"]["ece"] == {"value": d["ece"], "op": "<", "threshold": 0.1,
                                    "pass": d["ece"] < 0.1}
    assert set(d["verdicts"]) == set(DEFAULT_THRESHOLDS)


def test_report_chunking_and_bins(tmp_path, capsys, binary):
    y, p = binary
    f = write_csv(tmp_path / "preds.csv", y, p)
    _, a = run_json(capsys, "report", f, "--bins", "10")
    _, b = run_json(capsys, "report", f, "--bins", "10", "--chunk-size", "77")
    assert a["convention"]["n_bins"] == 10 and len(a["reliability"]["count"]) == 10
    for k in ("ece", "mce", "brier", "nll", "auroc"):
        assert a[k] == pytest.approx(b[k], rel=1e-12), k
    assert a["reliability"]["count"] == b["reliability"]["count"]


def test_formats_give_identical_reports(tmp_path, capsys, multiclass):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    y, z = multiclass
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    df = pd.DataFrame({"y": y, **{f"p_{k}": P[:, k] for k in range(4)}})
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_csv(tmp_path / "d.tsv", index=False, sep="\t")
    df.to_parquet(tmp_path / "d.parquet", row_group_size=500)
    with open(tmp_path / "d.jsonl", "w") as f:
        for i in range(len(y)):
            f.write(json.dumps({"y": int(y[i]), "p": list(P[i])}) + "\n")
    np.savez(tmp_path / "d.npz", y=y, p=P)
    rec = df.to_records(index=False)
    np.save(tmp_path / "d.npy", rec)
    runs = [("d.csv", "p_"), ("d.tsv", "p_0,p_1,p_2,p_3"), ("d.parquet", "p_"),
            ("d.jsonl", "p"), ("d.npz", "p"), ("d.npy", "p_")]
    outs = []
    for name, probs in runs:
        _, d = run_json(capsys, "report", tmp_path / name, "--probs", probs, "--label", "y",
                        "--chunk-size", "4000")
        d.pop("file")
        outs.append(d)
    for (name, _), d in zip(runs[1:], outs[1:]):
        assert d == outs[0], name
    ref = fastcal.calibration_report(y, P)
    assert outs[0]["ece"] == pytest.approx(ref.ece, rel=1e-12)


def test_logits_and_thresholds(tmp_path, capsys, multiclass):
    y, z = multiclass
    np.savez(tmp_path / "z.npz", label=y, logits=z)
    f = tmp_path / "z.npz"
    code, d = run_json(capsys, "report", f, "--logits", "logits", "--threshold", "ece=0.5,mce=0.9",
                       "--threshold", "brier=0.01")
    ref = fastcal.calibration_report(y, z, from_logits=True)
    assert d["nll"] == pytest.approx(ref.nll, rel=1e-12)
    assert d["verdicts"]["ece"]["threshold"] == 0.5 and d["verdicts"]["ece"]["pass"]
    assert d["verdicts"]["brier"]["pass"] is False
    # --fail-on: exit 1 and a one-line reason when a listed gauge fails
    code, out, err = run(capsys, "report", f, "--logits", "logits", "--fail-on", "ece,nll")
    assert code == 1
    assert err.startswith("fastcal: --fail-on: ece = ") and "(needs < 0.1)" in err
    code, out, err = run(capsys, "report", f, "--logits", "logits", "--fail-on", "ece",
                         "--threshold", "ece=0.9")
    assert code == 0, err
    # a signed-error threshold is on its absolute value
    code, d = run_json(capsys, "report", f, "--logits", "logits", "--threshold", "signed-error=0.01")
    assert d["verdicts"]["signed_error"]["op"] == "|<|"


def test_undefined_gauge(tmp_path, capsys):
    f = write_csv(tmp_path / "one.csv", [1, 1, 1], [0.5, 0.75, 0.9])
    code, d = run_json(capsys, "report", f)
    assert d["auroc"] is None and d["verdicts"]["auroc"]["pass"] is None  # NaN -> null
    code, out, err = run(capsys, "report", f)
    assert code == 0 and "n/a" in out
    assert "fastcal: note: Only one outcome" in err and "Traceback" not in err
    code, out, err = run(capsys, "report", f, "--fail-on", "auroc")
    assert code == 1 and "auroc = nan" in err


# --------------------------------------------------------------------- fit
def test_fit_temperature(tmp_path, capsys, multiclass):
    y, z = multiclass
    yv, zv = synthetic(n=1500, n_classes=4, seed=4)
    np.savez(tmp_path / "test.npz", label=y, logits=z)
    np.savez(tmp_path / "val.npz", label=yv.astype(np.int64), logits=zv)
    cal = tmp_path / "cal.json"
    code, out, err = run(capsys, "report", tmp_path / "test.npz", "--logits", "logits", "--fit",
                         "temperature", "--fit-file", tmp_path / "val.npz", "--save-calibrator", cal)
    assert code == 0, err
    assert "before and after temperature scaling (T = " in out and "Calibrator saved" in out
    ts = fastcal.TemperatureScaling.from_dict(json.loads(cal.read_text()))
    ref = fastcal.TemperatureScaling().fit(zv, yv)
    assert ts.temperature_ == pytest.approx(ref.temperature_, rel=1e-12)
    code, d = run_json(capsys, "report", tmp_path / "test.npz", "--logits", "logits", "--fit",
                       "temperature", "--fit-file", tmp_path / "val.npz")
    assert d["after"]["ece"] < d["before"]["ece"]
    after = fastcal.calibration_report(y, ref.predict_proba(z))
    assert d["after"]["ece"] == pytest.approx(after.ece, rel=1e-9)
    assert d["fit"]["calibrator"]["fitted"]["temperature"] == pytest.approx(ref.temperature_)


def test_fit_isotonic(tmp_path, capsys, binary):
    y, p = binary
    f = write_csv(tmp_path / "test.csv", y[:2000], p[:2000])
    v = write_csv(tmp_path / "val.csv", y[2000:], p[2000:])
    code, d = run_json(capsys, "report", f, "--fit", "isotonic", "--fit-file", v)
    assert d["after"]["ece"] < d["before"]["ece"]
    iso = fastcal.IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p[2000:], y[2000:])
    ref = fastcal.calibration_report(y[:2000], iso.predict(p[:2000]))
    assert d["after"]["ece"] == pytest.approx(ref.ece, rel=1e-9)


def test_fit_isotonic_multiclass(tmp_path, capsys, multiclass):
    y, z = multiclass
    np.savez(tmp_path / "t.npz", label=y, logits=z)
    code, out, err = run(capsys, "report", tmp_path / "t.npz", "--logits", "logits", "--fit",
                         "isotonic", "--fit-file", tmp_path / "t.npz")
    assert code == 0, err
    assert "isotonic calibrates the top-label confidence" in out


# ---------------------------------------------------------------- plotting
def test_plot(tmp_path, capsys, binary):
    pytest.importorskip("matplotlib")
    pytest.importorskip("fastcal.plot")
    y, p = binary
    f = write_csv(tmp_path / "preds.csv", y, p)
    out = tmp_path / "rel.png"
    code, o, err = run(capsys, "report", f, "--plot", out)
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
    # before/after overlay with a fit
    out2 = tmp_path / "fit.png"
    code, o, err = run(capsys, "report", f, "--plot", out2, "--fit", "isotonic", "--fit-file", f)
    assert code == 0, err
    assert out2.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out2.stat().st_size > 1000


def test_plot_path_with_a_stub(tmp_path, capsys, binary, monkeypatch):
    """The --plot plumbing (Agg backend, savefig, message) against the documented call
    ``fastcal.plot.reliability_diagram(report) -> Axes``, whatever fastcal.plot draws."""
    pytest.importorskip("matplotlib")
    import types

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seen = []

    def reliability_diagram(report, **kw):
        seen.append(report)
        fig, ax = plt.subplots()
        ax.bar(report.reliability.edges[:-1], report.reliability.count)
        return ax

    stub = types.ModuleType("fastcal.plot")
    stub.reliability_diagram = reliability_diagram
    monkeypatch.setitem(sys.modules, "fastcal.plot", stub)
    monkeypatch.setattr(fastcal, "plot", stub, raising=False)
    y, p = binary
    f = write_csv(tmp_path / "preds.csv", y, p)
    out = tmp_path / "rel.png"
    code, o, err = run(capsys, "report", f, "--plot", out)
    assert code == 0, err
    assert f"Reliability diagram saved to {out}" in o
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen and seen[0].n == len(y)
    code, o, err = run(capsys, "report", f, "--plot", tmp_path / "no-dir" / "x.png")
    assert code == 2 and "cannot save the plot" in err


# ------------------------------------------------------------ user errors
@pytest.mark.parametrize("setup, argv, match", [
    (None, ["report", "{d}/missing.csv"], r"missing\.csv: no such file"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--confidence", "conf"],
     r"f\.csv: no column 'conf' \(for --confidence\); the columns are 'confidence', 'label'"),
    ("confidence,label\n0.5,1\n0.x,0\n", ["report", "{f}"],
     r"f\.csv, line 3 \(row 2\), column 'confidence': cannot parse '0\.x' as a number"),
    ("confidence,label\n0.5,1\n0.5,2\n", ["report", "{f}"],
     r"f\.csv, line 3 \(row 2\), column 'label': the labels must be 0/1 .* found 2\."),
    ("confidence,label\n0.5,1\n1.5,0\n", ["report", "{f}"],
     r"f\.csv, line 3 \(row 2\), column 'confidence': --confidence 'confidence' must hold "
     r"probabilities in \[0, 1\]; found 1\.5\."),
    ("confidence,label\n0.5,yes\n", ["report", "{f}"], r"column 'label': label 'yes' is not"),
    ("", ["report", "{f}"], r"f\.csv is empty"),
    ("confidence,label\n", ["report", "{f}"], r"f\.csv has no data rows"),
    ("x", ["report", "{d}/preds.xlsx"], r"cannot tell the format from '\.xlsx'"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--bins", "0"], r"--bins must be a positive"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--threshold", "ece"], r"expected GAUGE=VALUE"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--threshold", "foo=1"], r"unknown gauge 'foo'"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--threshold", "ece=x"], r"'x' is not a number"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--fail-on", "brier"],
     r"--fail-on brier: no threshold for brier; add --threshold brier=VALUE"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--fit", "temperature"], r"needs --fit-file"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--fit-file", "{f}"], r"--fit-file needs --fit"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--fit", "isotonic", "--fit-file",
                                   "{d}/nope.csv"], r"nope\.csv: no such file"),
    ("confidence,label\n0.5,1\n", ["report", "{f}", "--probs", "p", "--logits", "q"],
     r"not allowed with argument"),
    (None, ["frobnicate"], r"invalid choice: 'frobnicate'"),
    ("p0,p1,label\n0.5,0.5,1\n0.7,0.5,0\n", ["report", "{f}", "--probs", "p"],
     r"f\.csv, line 3 \(row 2\): each row of --probs 'p' must sum to 1; this row sums to 1\.2"),
    ("confidence,label\n0.5,1\n0.5,2\n", ["report", "{d}/preds.xlsx", "--format", "csv", "--fit",
                                         "isotonic", "--fit-file", "{f}"],
     r"--fit-file .*f\.csv, line 3 \(row 2\), column 'label': the labels must be 0/1"),
    ("confidence,label\n0.0,1\n0.5,0\n", ["report", "{f}", "--fit", "temperature", "--fit-file",
                                         "{f}"], r"--confidence 'confidence' holds probabilities of exactly 0"),
])
def test_user_errors_exit_2_with_one_line(tmp_path, capsys, setup, argv, match):
    f = tmp_path / "f.csv"
    if setup is not None:
        f.write_text(setup)
        (tmp_path / "preds.xlsx").write_text(setup)
    argv = [a.format(f=f, d=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("fastcal")
    import re

    assert re.search(match, lines[0]), lines[0]


def test_format_option(tmp_path, capsys, binary):
    y, p = binary
    f = write_csv(tmp_path / "preds.txt", y[:100], p[:100])
    code, d = run_json(capsys, "report", f, "--format", "csv")
    assert code in (0, 1) and d["n"] == 100


def test_parquet_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, out, err = run(capsys, "report", tmp_path / "x.parquet")
    assert code == 2 and "pip install pyarrow" in err


def test_help_and_version(capsys):
    code, out, err = run(capsys, "--version")
    assert code == 0 and out.strip() == f"fastcal {fastcal.__version__}"
    code, out, err = run(capsys, "report", "--help")
    assert code == 0 and "--fail-on" in out


# -------------------------------------------------------------- demo, bench
def test_demo(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "demo", "--n", "3000", "--no-plot")
    assert code == 0, err
    assert "SYNTHETIC" in out and "Temperature scaling fitted" in out and "AUROC" in out
    assert not os.listdir(tmp_path)


def test_bench_builtin(capsys):
    pytest.importorskip("sklearn")
    code, out, err = run(capsys, "bench", "--builtin", "--n", "2000", "--peers", "sklearn",
                         "--repeat", "1")
    assert code == 0, err
    assert "scikit-learn" in out and "ratio" in out and " NO" not in out
    code, out, err = run(capsys, "bench", "--builtin", "--peers", "none", "--n", "100")
    assert code == 0 and "no peer installed" in out


def test_bench_is_the_built_in_comparison_even_in_a_checkout(capsys):
    # the benchmark suite (benchmarks/run.py) is not run by the installed package
    code, out, err = run(capsys, "bench", "--peers", "none", "--n", "100")
    assert code == 0 and "fastcal bench (built-in)" in out and "benchmarks/run.py" in out
    code, out, err = run(capsys, "bench", "--full")
    assert code == 2 and "--full" in err


# --------------------------------------------------------- installed script
def test_console_script_and_python_m(tmp_path, binary):
    exe = shutil.which("fastcal")
    if exe is None:
        pytest.skip("the fastcal console script is not installed (pip install -e .)")
    y, p = binary
    f = write_csv(tmp_path / "preds.csv", y[:200], p[:200])
    a = subprocess.run([exe, "report", f, "--json"], capture_output=True, text=True, timeout=600)
    b = subprocess.run([sys.executable, "-m", "fastcal", "report", f, "--json"],
                       capture_output=True, text=True, timeout=600)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert json.loads(a.stdout) == json.loads(b.stdout)
    assert math.isfinite(json.loads(a.stdout)["ece"])


# ------------------------------------------------- issue 16: the last user errors
def _deep_jsonl():
    return ('{"label": 1, "confidence": 0.5}\n'
            '{"label": 1, "confidence": ' + "[" * 5000 + "]" * 5000 + "}\n")


@pytest.mark.parametrize("name, setup, argv, match", [
    ("f.csv", "confidence,label\n0.5,1\n", ["--bins", "2000000"],
     r"--bins must be at most 1000000; found 2000000\."),
    ("f.csv", "confidence,label\n0.5,1\n", ["--chunk-size", "99999999999999"],
     r"--chunk-size must be at most \d+ values"),
    ("f.jsonl", _deep_jsonl(), [], r"f\.jsonl, line 2: not valid JSON .*nested too deeply"),
    ("f.csv", "confidence,label\n0.5,1\n0.4,0,7\n", [],
     r"f\.csv, line 3 \(row 2\): the record has 3 fields; the header has 2\."),
    ("f.csv", "p0,p1,label\n0.5,0.5,1\n0.3,0.7,-1\n", ["--probs", "p0,p1"],
     r"f\.csv, line 3 \(row 2\), column 'label': .*found -1\. If -1 marks padding, use "
     r"--ignore-index -1\.$"),
    ("f.csv", "confidence,label\n0.5,1\n", ["--ignore-index", "-1"],
     r"--ignore-index applies to multiclass input \(--probs or --logits\)"),
    ("f.csv", "p0,p1,label\n0.5,0.5,-1\n", ["--probs", "p0,p1", "--ignore-index", "-1"],
     r"f\.csv: no row is left to score: every row has the ignored label \(--ignore-index\)"),
])
def test_last_user_errors_exit_2_with_one_line(tmp_path, capsys, name, setup, argv, match):
    f = tmp_path / name
    f.write_text(setup)
    code, out, err = run(capsys, "report", f, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    import re

    assert lines[0].startswith("fastcal: error: ") and re.search(match, lines[0]), lines[0]


def test_ignore_index_option(tmp_path, capsys, multiclass):
    y, z = multiclass
    y = y.copy()
    y[::7] = -100
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    f = tmp_path / "pad.csv"
    with open(f, "w") as fh:
        fh.write("p0,p1,p2,p3,label\n")
        for row, lab in zip(p, y):
            fh.write(",".join(repr(float(v)) for v in row) + f",{lab}\n")
    code, d = run_json(capsys, "report", f, "--probs", "p", "--ignore-index", "-100")
    keep = y != -100
    ref = fastcal.calibration_report(y[keep], p[keep])
    assert d["n"] == keep.sum()
    for k in ("ece", "brier", "nll", "accuracy"):
        assert d[k] == pytest.approx(getattr(ref, k), rel=1e-9), k
    # a fit skips them too (the validation file has the padding rows)
    code, d = run_json(capsys, "report", f, "--probs", "p", "--ignore-index", "-100",
                       "--fit", "temperature", "--fit-file", f)
    assert d["before"]["n"] == d["after"]["n"] == keep.sum()
    code, d = run_json(capsys, "report", f, "--probs", "p", "--ignore-index", "-100",
                       "--fit", "isotonic", "--fit-file", f)
    assert d["before"]["n"] == d["after"]["n"] == keep.sum()


def test_plot_without_extension_names_the_file_written(tmp_path, capsys, binary):
    pytest.importorskip("matplotlib")
    pytest.importorskip("fastcal.plot")
    y, p = binary
    f = write_csv(tmp_path / "preds.csv", y[:200], p[:200])
    out = tmp_path / "outnoext"
    code, o, err = run(capsys, "report", f, "--plot", out)
    assert code == 0, err
    assert f"Reliability diagram saved to {out}.png" in o
    assert (tmp_path / "outnoext.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not out.exists()


@pytest.mark.parametrize("small", ["0", str(1 << 20)])
def test_label_column_may_not_be_a_value_column(tmp_path, capsys, monkeypatch, small):
    # the field would be read once, as a value: the labels were never written
    # (uninitialised memory in the report) before this was an error
    monkeypatch.setenv("FASTCAL_SMALL_FILE_BYTES", small)
    f = tmp_path / "same.csv"
    f.write_text("p,q,y\n1,0.5,0\n0,0.5,1\n1,0.5,1\n")
    for extra in (["--confidence", "p"], ["--probs", "p,q"]):
        code, out, err = run(capsys, "report", f, "--label", "p", *extra)
        assert code == 2 and "column 'p' is both the label (--label) and a value column" in err
    g = tmp_path / "same.jsonl"
    g.write_text('{"p": 1, "y": 0}\n{"p": 0, "y": 1}\n')
    code, out, err = run(capsys, "report", g, "--label", "p", "--confidence", "p")
    assert code == 2 and "is both the label" in err
