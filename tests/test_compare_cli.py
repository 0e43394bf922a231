"""``fastcal compare``: the columns of one file, several files joined on an
id, --json equal to fastcal.compare, --fail-on, --plot, errors."""

import json
import sys

import numpy as np
import pytest

import fastcal
from fastcal.cli import main
from fastcal.cli.format import _jsonable


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def models():
    rng = np.random.default_rng(0)
    n = 2000
    x = rng.random(n)
    y = (rng.random(n) < x).astype(int)
    return y, {"a": x, "b": x ** 2, "c": np.clip(x + rng.normal(0, 0.05, n), 0, 1)}


def write_columns(path, y, preds):
    with open(path, "w") as f:
        f.write("y," + ",".join(preds) + "\n")
        for i in range(y.shape[0]):
            f.write(f"{y[i]}," + ",".join(repr(float(p[i])) for p in preds.values()) + "\n")
    return path


def write_file(path, ids, conf, correct):
    with open(path, "w") as f:
        f.write("qid,conf,correct\n")
        for i, c, k in zip(ids, conf, correct):
            f.write(f"{i},{float(c)!r},{int(k)}\n")
    return path


def test_columns_of_one_file_json_equals_compare(tmp_path, capsys, models):
    y, preds = models
    f = write_columns(tmp_path / "preds.csv", y, preds)
    code, out, err = run(capsys, "compare", f, "--confidence", "a,b,c", "--label", "y",
                         "--resamples", "100", "--json")
    assert code == 0, err
    want = _jsonable(fastcal.compare(y, preds, n_resamples=100, random_state=0).to_dict())
    assert json.loads(out) == json.loads(json.dumps(want))
    code, out, err = run(capsys, "compare", f, "--confidence", "a,b,c", "--label", "y",
                         "--resamples", "100", "--baseline", "c")
    assert code == 0 and "baseline 'c'" in out and "a - c:" in out and "b - c:" in out


def test_files_joined_on_string_ids(tmp_path, capsys, models):
    y, preds = models
    rng = np.random.default_rng(1)
    n = y.shape[0]
    ids = np.array([f"q{i}" for i in range(n)])
    corr_b = (rng.random(n) < preds["b"]).astype(int)
    fa = write_file(tmp_path / "A.csv", ids, preds["a"], y)
    perm = rng.permutation(n)  # B lists the same questions in another order
    fb = write_file(tmp_path / "B.csv", ids[perm], preds["b"][perm], corr_b[perm])
    code, out, err = run(capsys, "compare", fa, fb, "--id", "qid", "--confidence", "conf",
                         "--label", "correct", "--resamples", "100", "--json")
    assert code == 0, err
    want = fastcal.compare({"A": y, "B": corr_b}, {"A": preds["a"], "B": preds["b"]},
                           n_resamples=100, random_state=0)
    assert json.loads(out) == json.loads(json.dumps(_jsonable(want.to_dict())))
    # without --id the rows would pair by position: a different (wrong) pairing
    code, out2, _ = run(capsys, "compare", fa, fb, "--confidence", "conf", "--label",
                        "correct", "--resamples", "100", "--json")
    assert code == 0 and json.loads(out2)["differences"] != json.loads(out)["differences"]


def test_join_errors_name_the_id(tmp_path, capsys, models):
    y, preds = models
    ids = [f"q{i}" for i in range(10)]
    fa = write_file(tmp_path / "A.csv", ids, preds["a"][:10], y[:10])
    fb = write_file(tmp_path / "B.csv", ids[:9], preds["b"][:9], y[:9])
    code, _, err = run(capsys, "compare", fa, fb, "--id", "qid", "--confidence", "conf",
                       "--label", "correct")
    assert code == 2 and "B.csv: id 'q9' of" in err and "missing" in err
    fd = write_file(tmp_path / "D.csv", ids + ["q3"], np.r_[preds["b"][:10], 0.5],
                    np.r_[y[:10], 1])
    code, _, err = run(capsys, "compare", fa, fd, "--id", "qid", "--confidence", "conf",
                       "--label", "correct")
    assert code == 2 and "id 'q3' appears more than once (rows 4 and 11)" in err
    fe = write_file(tmp_path / "E.csv", ids[:9] + ["q99"], preds["b"][:10], y[:10])
    code, _, err = run(capsys, "compare", fa, fe, "--id", "qid", "--confidence", "conf",
                       "--label", "correct")
    assert code == 2 and "E.csv: id 'q9' of" in err
    code, _, err = run(capsys, "compare", fa, fb, "--id", "nope", "--confidence", "conf",
                       "--label", "correct")
    assert code == 2 and "no column 'nope' (for --id)" in err
    code, _, err = run(capsys, "compare", fa, fb, "--confidence", "conf", "--label", "correct")
    assert code == 2 and "same number of rows" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_fail_on_gate(tmp_path, capsys, models):
    y, preds = models
    f = write_columns(tmp_path / "preds.csv", y, preds)
    # b (overconfident x**2) is worse than a on ECE and Brier
    code, _, err = run(capsys, "compare", f, "--confidence", "a,b", "--label", "y",
                       "--resamples", "100", "--fail-on", "ece,brier")
    assert code == 1
    assert "'b' is worse than 'a' on ece" in err and "on brier" in err
    # a is not worse than b
    code, _, err = run(capsys, "compare", f, "--confidence", "b,a", "--label", "y",
                       "--resamples", "100", "--fail-on", "ece,brier")
    assert code == 0, err
    code, _, err = run(capsys, "compare", f, "--confidence", "a,b", "--label", "y",
                       "--fail-on", "confidence")
    assert code == 2 and "unknown gauge 'confidence'" in err
    code, _, err = run(capsys, "compare", f, "--confidence", "a,b", "--label", "y",
                       "--fail-on", "ece", "--no-ci")
    assert code == 2 and "--fail-on needs intervals" in err


def test_bad_usage(tmp_path, capsys, models):
    y, preds = models
    f = write_columns(tmp_path / "preds.csv", y, preds)
    for argv, msg in [
        (("--confidence", "a"), "give the models' columns"),
        (("--confidence", "a,b", "--baseline", "z"), "--baseline 'z' is not one of"),
        (("--confidence", "a,zz"), "no column 'zz'"),
        (("--confidence", "a,b", "--names", "x"), "--names: 1 names for 2 models"),
        (("--confidence", "a,b", "--ci", "1.5"), "--ci must be"),
    ]:
        code, _, err = run(capsys, "compare", f, "--label", "y", *argv)
        assert code == 2 and msg in err, (argv, err)
    bad = write_columns(tmp_path / "bad.csv", y[:5], {"a": preds["a"][:5],
                                                       "b": np.r_[preds["b"][:4], 1.5]})
    code, _, err = run(capsys, "compare", bad, "--confidence", "a,b", "--label", "y")
    assert code == 2 and "column 'b'" in err


def test_multiclass_files_must_share_labels(tmp_path, capsys):
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(4), size=(2, 300))
    y = rng.integers(0, 4, 300)
    fa, fb = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(fa, p=P[0], y=y)
    np.savez(fb, p=P[1], y=y)
    code, out, err = run(capsys, "compare", fa, fb, "--probs", "p", "--label", "y",
                         "--resamples", "50", "--json")
    assert code == 0, err
    want = fastcal.compare(y, {"a": P[0], "b": P[1]}, n_resamples=50, random_state=0)
    assert json.loads(out) == json.loads(json.dumps(_jsonable(want.to_dict())))
    y2 = y.copy()
    y2[7] = (y2[7] + 1) % 4
    np.savez(fb, p=P[1], y=y2)
    code, _, err = run(capsys, "compare", fa, fb, "--probs", "p", "--label", "y")
    assert code == 2 and "differ" in err and "row 8" in err


def test_plot(tmp_path, capsys, models, monkeypatch):
    y, preds = models
    f = write_columns(tmp_path / "preds.csv", y, preds)
    # import matplotlib fails inside the context; leaving it restores sys.modules exactly
    # (deleting the entry instead would re-import a matplotlib without its submodules)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "matplotlib", None)
        code, _, err = run(capsys, "compare", f, "--confidence", "a,b", "--label", "y",
                           "--no-ci", "--plot", tmp_path / "x.png")
    assert code == 2 and "pip install matplotlib" in err
    pytest.importorskip("matplotlib")
    out_png = tmp_path / "cmp.png"
    code, out, err = run(capsys, "compare", f, "--confidence", "a,b,c", "--label", "y",
                         "--no-ci", "--plot", out_png)
    assert code == 0, err
    assert out_png.stat().st_size > 1000 and "saved to" in out
