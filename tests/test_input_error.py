"""fastcal.InputError (issue 12, deliverable 4): bad input raises a ValueError
that says, as attributes, which argument and which row is at fault, and the
command line words its messages from those attributes (never from the text).
"""

import gzip
import pickle

import numpy as np
import pytest

import fastcal
from fastcal.io import readers as _io
from fastcal.uncertainty.delong import auroc_variance
from fastcal.cli import main

# three full parallel chunks of 2**15 rows and a partial one: a bad row in a
# later chunk must still be reported by its index in the whole input
N = 3 * 2 ** 15 + 5
LATE = 2 * 2 ** 15 + 7


def _raises(f, *args, **kw):
    with pytest.raises(fastcal.InputError) as info:
        f(*args, **kw)
    exc = info.value
    assert isinstance(exc, ValueError)
    # the message is the template with the library's terms
    assert str(exc) == exc.problem.format(**exc.terms)
    return exc


def _ones(n=N):
    return np.ones(n, np.int64)


# ------------------------------------------------------------ one per kind
@pytest.mark.parametrize("f", [fastcal.ece, fastcal.brier_score, fastcal.nll,
                               fastcal.calibration_report])
def test_bad_binary_label(f):
    y = _ones()
    y[LATE], y[N - 1] = 2, 5
    exc = _raises(f, y, np.full(N, 0.5))
    assert (exc.param, exc.index, exc.value, exc.hint) == ("y_true", LATE, 2, "multiclass")
    assert str(exc) == ("y_true must be 0/1 (or bool) for a 1-D y_prob; found 2 at index "
                        f"{LATE}. For multiclass labels pass y_prob of shape (n, C).")


def test_bad_class_label_and_the_ignore_index_hint():
    P = np.full((N, 3), 1 / 3)
    y = np.zeros(N, np.int64)
    y[LATE] = 3
    exc = _raises(fastcal.ece, y, P)
    assert (exc.param, exc.index, exc.value, exc.hint) == ("y_true", LATE, 3, None)
    y[5] = -100
    exc = _raises(fastcal.nll, y, P)
    assert (exc.param, exc.index, exc.value, exc.hint) == ("y_true", 5, -100, "ignore_index")
    assert exc.terms["fix"] == "pass ignore_index=-100"
    assert str(exc).endswith("found -100 at index 5. If -100 marks padding, pass "
                             "ignore_index=-100.")
    # float labels: the value as given, the fix as the integer ignore_index takes
    exc = _raises(fastcal.ece, np.array([0.0, -1.0]), [[0.5, 0.5], [0.5, 0.5]])
    assert (exc.index, exc.value, exc.terms["fix"]) == (1, -1.0, "pass ignore_index=-1")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probability_out_of_range(dtype):
    p = np.full(N, 0.5, dtype)
    p[LATE], p[N - 2] = 1.5, -1.0
    exc = _raises(fastcal.ece, np.zeros(N, np.int64), p)
    assert (exc.param, exc.index, exc.column, exc.value, exc.hint) == (
        "y_prob", LATE, None, 1.5, "logits")
    P = np.full((N, 4), 0.25, dtype)
    P[LATE, 2], P[LATE, 3] = 1.25, -0.25  # the row still sums to 1
    exc = _raises(fastcal.brier_score, np.zeros(N, np.int64), P)
    assert (exc.param, exc.index, exc.column, exc.value) == ("y_prob", LATE, 2, 1.25)
    assert str(exc).startswith(f"y_prob must hold probabilities in [0, 1]; found 1.25 in row "
                               f"{LATE}.")


def test_row_not_summing_to_one():
    P = np.full((N, 3), 1 / 3)
    P[LATE] = [0.5, 0.4, 0.3]
    P[N - 1] = [0.1, 0.1, 0.1]
    exc = _raises(fastcal.ece, np.zeros(N, np.int64), P)
    assert (exc.param, exc.index, exc.column, exc.hint) == ("y_prob", LATE, None, "logits")
    assert exc.value == pytest.approx(1.2)
    assert exc.terms["row"] == f"row {LATE}"


def test_non_finite_logits():
    z = np.zeros(N)
    z[LATE] = np.inf
    exc = _raises(fastcal.nll, np.zeros(N, np.int64), z, from_logits=True)
    assert (exc.param, exc.index, exc.value) == ("y_prob", LATE, np.inf)
    assert str(exc) == f"y_prob (logits) must be finite; found inf at index {LATE}."
    Z = np.zeros((N, 3))
    Z[LATE, 1] = np.nan
    exc = _raises(fastcal.ece, np.zeros(N, np.int64), Z, from_logits=True)
    assert (exc.param, exc.index, exc.column) == ("y_prob", LATE, 1)
    assert np.isnan(exc.value)
    Z[LATE, 1] = 0.0
    Z[LATE + 1] = -np.inf  # a row of masked classes only
    exc = _raises(fastcal.nll, np.zeros(N, np.int64), Z, from_logits=True)
    assert (exc.index, exc.column, exc.value) == (LATE + 1, None, None)
    # the calibrator names its own argument
    exc = _raises(fastcal.TemperatureScaling().fit, [[0.0, 1.0], [np.nan, 2.0]], [0, 1])
    assert (exc.param, exc.index, exc.column) == ("logits", 1, 0)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_weight(bad):
    w = np.ones(N)
    w[LATE] = bad
    for f in (fastcal.ece, fastcal.brier_score, fastcal.auroc):
        exc = _raises(f, np.r_[np.zeros(N - 1, np.int64), 1], np.full(N, 0.5), sample_weight=w)
        assert (exc.param, exc.index) == ("sample_weight", LATE)
        np.testing.assert_equal(exc.value, bad)
    exc = _raises(fastcal.ece, [0, 1], [0.5, 0.5], sample_weight=[0.0, 0.0])
    assert (exc.param, exc.index) == ("sample_weight", None)


def test_bad_score():
    s = np.linspace(-3, 3, N)
    s[LATE] = np.nan
    y = np.r_[np.zeros(N // 2, np.int64), np.ones(N - N // 2, np.int64)]
    for f in (fastcal.auroc, fastcal.auroc_ci, auroc_variance):
        exc = _raises(f, y, s)
        assert (exc.param, exc.index) == ("y_score", LATE)
    exc = _raises(fastcal.delong_test, y, np.zeros(N), s)
    assert (exc.param, exc.index) == ("score_b", LATE)
    # the streaming AUROC's own range (its histogram cells cover [0, 1] or score_range)
    p = np.full(N, 0.5)
    p[LATE] = 3.0
    for acc in (fastcal.AUROCAccumulator(), fastcal.AUROCAccumulator(score_range=(0, 2))):
        exc = _raises(acc.update, y, p)
        assert (exc.param, exc.index, exc.value) == ("y_score", LATE, 3.0)
        assert str(exc).startswith("y_score must lie in ")
    exc = _raises(fastcal.auroc, [0, 1], [[0.1, 0.9], [0.2, 0.8]])
    assert (exc.param, exc.index) == ("y_score", None)


def test_length_mismatch():
    exc = _raises(fastcal.ece, [0, 1, 1], [0.5, 0.5])
    assert (exc.param, exc.index) == ("y_true", None)
    assert exc.terms == {"y_true": "y_true", "y_prob": "y_prob"}
    exc = _raises(fastcal.auroc, [0, 1, 1], [0.5, 0.5])
    assert (exc.param, exc.terms["y_prob"]) == ("y_true", "y_score")
    exc = _raises(fastcal.ece, [0, 1], [0.5, 0.5], sample_weight=[1.0])
    assert (exc.param, exc.index) == ("sample_weight", None)
    exc = _raises(fastcal.delong_test, [0, 1], [0.5, 0.5], [0.5])
    assert exc.param == "score_b"
    exc = _raises(fastcal.ece, np.zeros((2, 3), np.int64), np.full((2, 4, 3), 1 / 3))
    assert (exc.param, exc.index) == ("y_true", None)


# ----------------------------------------------------- where the row is
def test_token_input_reports_the_flattened_row():
    P = np.full((6, 40, 5), 0.2)
    P[4, 17, 3] = 0.9  # row 4 * 40 + 17 of the (240, 5) flattening
    y = np.zeros((6, 40), np.int64)
    exc = _raises(fastcal.ece, y, P)
    assert (exc.param, exc.index, exc.value) == ("y_prob", 4 * 40 + 17, pytest.approx(1.7))
    P[4, 17, 3] = 0.2
    y[5, 1] = 7
    exc = _raises(fastcal.nll, y, np.log(P), from_logits=True)
    assert (exc.param, exc.index, exc.value) == ("y_true", 5 * 40 + 1, 7)
    # large token input: a later parallel chunk
    T = np.full((N // 5 + 1, 5, 2), 0.5)
    T[-1, 3, 0] = 1.5
    exc = _raises(fastcal.brier_score, np.zeros(T.shape[:2], np.int64), T)
    assert (exc.index, exc.column) == (T.shape[0] * 5 - 2, 0)


@pytest.mark.parametrize("first", [3, 2 ** 15 + 1, LATE])
def test_the_first_bad_row_of_several_chunks(first):
    p = np.full(N, 0.5)
    p[[first, LATE + 2 ** 15 - 10, N - 1]] = 2.0
    for f in (fastcal.ece, fastcal.nll,
              lambda y, p: fastcal.CalibrationAccumulator().update(y, p)):
        exc = _raises(f, np.zeros(N, np.int64), p)
        assert exc.index == first


def test_accumulator_and_ignore_index():
    acc = fastcal.CalibrationAccumulator()
    y = np.full(N, -100)
    y[::3] = 1
    y[LATE] = 4
    exc = _raises(acc.update, y, np.full((N, 3), 1 / 3), ignore_index=-100)
    assert (exc.param, exc.index, exc.value, exc.hint) == ("y_true", LATE, 4, None)
    acc.update([-100], [[0.5, 0.5]], ignore_index=-100)
    exc = _raises(acc.compute)
    assert (exc.param, exc.index, exc.hint) == ("y_true", None, "ignore_index")
    assert exc.reword(ignore_index="--ignore-index").endswith("(--ignore-index).")


def test_compare_names_the_model():
    exc = _raises(fastcal.compare, [0, 1, 1], {"a": [0.2, 0.7, 0.6], "b": [0.5, 0.5, 1.5]},
                  ci=None)
    assert (exc.model, exc.param, exc.index, exc.value) == ("b", "y_prob", 2, 1.5)
    assert str(exc).startswith("model 'b': y_prob must hold")
    assert exc.reword(model="").startswith("y_prob must hold")


# --------------------------------------------------------- the class
def test_one_class_for_files_and_arrays(tmp_path):
    assert _io.InputError is fastcal.InputError
    assert "InputError" in fastcal.__all__
    f = tmp_path / "f.csv"
    f.write_text("confidence,label\n0.5,1\n")
    with pytest.raises(fastcal.InputError) as info:
        _io.read_all(f, _io.Columns("label", confidence="conf"))
    exc = info.value
    assert (exc.param, exc.index, exc.column, exc.value, exc.hint, exc.model) == (None,) * 6
    assert exc.reword(y_prob="ignored") == str(exc)  # a reader's message has no fields


def test_reword_pickle_and_a_message_with_braces():
    exc = _raises(fastcal.ece, [0, 1], [0.5, 1.5])
    assert exc.reword(y_prob="p", at="", fix="use logits") == (
        "p must hold probabilities in [0, 1]; found 1.5. If these are logits, use logits.")
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is fastcal.InputError and str(back) == str(exc)
    assert (back.param, back.index, back.value, back.terms) == ("y_prob", 1, 1.5, exc.terms)
    e = fastcal.InputError("a {literal} message", param="x")
    assert str(e) == e.reword() == "a {literal} message"
    assert type(exc).__module__ == "fastcal"  # tracebacks say fastcal.InputError


# ----------------------------------------------------- the file's lines
def test_line_of_row(tmp_path):
    f = tmp_path / "a.csv"
    # blank lines before the header may hold blanks, after it only \r\n or \n
    text = ('\ufeff \r\n  \t\r\nx,confidence,label\r\n\r\n\n"multi\nline, ""quoted""",0.1,1\r\n'
            'b,0.2,0\r\n\r\n"c\n\n",0.3,1\r\nd,0.4,0')
    f.write_text(text, encoding="utf-8", newline="")
    want = {1: 6, 2: 8, 3: 10, 4: 13, 5: None}
    for bs in (1, 2, 3, 7, 1 << 20):  # blocks split quotes, CRLFs and records
        assert {r: _io.line_of_row(f, r, block_size=bs) for r in want} == want, bs
    g = tmp_path / "a.csv.gz"
    g.write_bytes(gzip.compress(f.read_bytes()))
    assert _io.line_of_row(g, 4) == 13
    j = tmp_path / "a.jsonl"
    j.write_text('{"a": 1}\n\n   \n{"a": "x\\ny"}\n{"a": 2}\n')
    assert [_io.line_of_row(j, r) for r in (1, 2, 3, 4)] == [1, 4, 5, None]
    np.savez(tmp_path / "a.npz", p=np.zeros(3))
    assert _io.line_of_row(tmp_path / "a.npz", 1) is None
    # the rows the reader reads are the rows counted
    y, v = _io.read_all(f, _io.Columns("label", confidence="confidence"))
    assert v.tolist() == [0.1, 0.2, 0.3, 0.4]


# ------------------------------------------------------- command line
def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("chunk", ["3", "7", "1000000"])
def test_cli_names_the_file_row_of_a_later_chunk(tmp_path, capsys, chunk):
    f = tmp_path / "f.csv"
    rows = ["0.5,1"] * 40
    rows[29] = "1.5,0"
    rows[33] = "0.5,3"
    f.write_text("confidence,label\n\n" + "\n".join(rows[:10]) + '\n\n' + "\n".join(rows[10:]))
    err = _cli(capsys, "report", f, "--chunk-size", chunk)
    # row 30: after the header (line 1) and two blank lines
    assert err.endswith("f.csv, line 33 (row 30), column 'confidence': --confidence "
                        "'confidence' must hold probabilities in [0, 1]; found 1.5. If these "
                        "are logits, use --logits."), err
    rows[29] = "0.5,0"
    f.write_text("confidence,label\n" + "\n".join(rows))
    err = _cli(capsys, "report", f, "--chunk-size", chunk)
    assert "f.csv, line 35 (row 34), column 'label': the labels must be 0/1 (or bool) for a " \
        "1-D --confidence 'confidence'; found 3. For multiclass labels use --probs or " \
        "--logits." in err, err


def test_cli_multiclass_columns_and_ignored_rows(tmp_path, capsys):
    f = tmp_path / "m.csv"
    rows = ["0.2,0.3,0.5,1"] * 12
    rows[2] = "0.2,0.3,0.5,-100"
    rows[9] = "0.2,1.3,-0.5,2"
    f.write_text("p0,p1,p2,label\n" + "\n".join(rows) + "\n")
    err = _cli(capsys, "report", f, "--probs", "p0,p1,p2", "--chunk-size", "6",
               "--ignore-index", "-100")
    assert "m.csv, line 11 (row 10), column 'p1': --probs 'p0,p1,p2' must hold" in err, err
    rows[9] = "0.2,0.3,0.6,2"
    f.write_text("p0,p1,p2,label\n" + "\n".join(rows) + "\n")
    err = _cli(capsys, "report", f, "--probs", "p", "--chunk-size", "6")
    assert "m.csv, line 4 (row 3), column 'label': the labels must hold integer class labels " \
        "in [0, 3)" in err and err.endswith("use --ignore-index -100."), err
    err = _cli(capsys, "report", f, "--probs", "p", "--ignore-index", "-100")
    assert "m.csv, line 11 (row 10): each row of --probs 'p' must sum to 1; this row sums " \
        "to 1.1." in err, err
    # a calibrator's error after the ignored rows were dropped: still the file's row
    v = tmp_path / "v.csv"
    v.write_text("p0,p1,p2,label\n0.2,0.3,0.5,-100\n0.2,0.3,0.5,1\n0.0,0.5,0.5,2\n")
    err = _cli(capsys, "report", f, "--probs", "p", "--ignore-index", "-100", "--fit",
               "temperature", "--fit-file", v)
    assert "--fit-file " in err and "v.csv, line 4 (row 3): --probs 'p' holds probabilities " \
        "of exactly 0" in err and err.endswith("or use --logits."), err
    # a list of columns: the column at fault
    err = _cli(capsys, "report", f, "--probs", "p0,p1,p2", "--ignore-index", "-100", "--fit",
               "temperature", "--fit-file", v)
    assert "v.csv, line 4 (row 3), column 'p0': --probs 'p0,p1,p2' holds" in err, err


def test_cli_binary_formats_name_the_row(tmp_path, capsys):
    P = np.full((50, 3), 1 / 3)
    P[41, 2] = 1.4
    np.savez(tmp_path / "a.npz", p=P, y=np.zeros(50, np.int64))
    err = _cli(capsys, "report", tmp_path / "a.npz", "--probs", "p", "--label", "y",
               "--chunk-size", "30")
    assert err.endswith("a.npz, row 42: --probs 'p' must hold probabilities in [0, 1]; found "
                        "1.4. If these are logits, use --logits."), err


def test_cli_compare_names_the_file_row_of_joined_files(tmp_path, capsys):
    a, b = tmp_path / "A.csv", tmp_path / "B.csv"
    a.write_text("id,y,c\n1,0,0.1\n2,1,0.8\n3,1,0.7\n4,0,0.3\n")
    b.write_text("id,y,c\n3,1,0.7\n4,0,0.2\n1,0,0.1\n2,1,1.5\n")
    err = _cli(capsys, "compare", a, b, "--id", "id", "--confidence", "c", "--label", "y",
               "--no-ci")
    assert err.endswith("B.csv, line 5 (row 4), column 'c': --confidence 'c' must hold "
                        "probabilities in [0, 1]; found 1.5. If these are logits, use "
                        "--logits."), err
    one = tmp_path / "one.csv"
    one.write_text("y,a,b\n0,0.1,0.2\n1,0.8,0.9\n1,0.7,1.5\n")
    err = _cli(capsys, "compare", one, "--confidence", "a,b", "--label", "y", "--no-ci")
    assert "one.csv, line 4 (row 3), column 'b': --confidence 'b' must hold" in err, err


def test_cli_words_errors_from_the_attributes_only(tmp_path):
    from fastcal.cli.reading import _File

    exc = fastcal.InputError("some other wording altogether", param="y_prob", index=4,
                             value=2.0, hint="logits",
                             problem="{y_prob} is {fix}{at}", terms={"y_prob": "y_prob",
                                                                     "fix": "x", "at": " @4"})
    cols = _io.Columns("label", confidence="c")
    assert _File("f.npz").error(exc, cols, row0=10) == \
        "f.npz, row 15, column 'c': --confidence 'c' is use --logits"
