"""The command line's small-file path (issue 11): a CSV/TSV file of at most
``FASTCAL_SMALL_FILE_BYTES`` is read whole in Python (fastcal.io.csv_small) and
summed by fastcal.streaming.in_memory.InMemoryAccumulator instead of the Numba
tokenizer and CalibrationAccumulator. Every test here runs both paths on the
same input (forced through the environment variable, read at each call) and
asserts the same output: stdout, stderr and exit code of the command, the
chunks and errors of the readers, the reports of the accumulators.
"""

import gzip
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fastcal
import fastcal.cli as cli
import fastcal.cli.reading as cli_reading
from fastcal.cli.demo import synthetic
from fastcal.io import csv_small as _csv_small
from fastcal.io import readers as _io
from fastcal.io.readers import Columns
from fastcal.metrics.report import _nan_safe
from fastcal.streaming.in_memory import InMemoryAccumulator

ENV = _csv_small.ENV


# ------------------------------------------------------------------ helpers
def _cli(monkeypatch, capsys, argv, small):
    """(exit code, stdout, stderr) of ``fastcal`` with the small-file path
    forced on or off; asserts which reader ran."""
    seen = []
    small_reader, numba_reader = _csv_small.iter_chunks, cli_reading.iter_chunks

    def spy_small(*a, **k):
        seen.append("small")
        return small_reader(*a, **k)

    def spy_numba(*a, **k):
        seen.append("numba")
        return numba_reader(*a, **k)

    with monkeypatch.context() as m:
        m.setenv(ENV, str(1 << 30) if small else "0")
        m.setenv("FASTCAL_COMPILE_AHEAD", "0")
        m.setattr(_csv_small, "iter_chunks", spy_small)
        m.setattr(cli_reading, "iter_chunks", spy_numba)
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
    return code, out, err, seen


def both(monkeypatch, capsys, *argv):
    """Run ``fastcal *argv`` on both paths; assert identical results and return them."""
    a = _cli(monkeypatch, capsys, argv, small=False)
    b = _cli(monkeypatch, capsys, argv, small=True)
    assert a[3] == ["numba"], a
    assert b[3] == ["small"], b
    assert b[:3] == a[:3]
    return a[:3]


def _write(path, text):
    data = text.encode() if isinstance(text, str) else text
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(11)
    n = 3000
    p = rng.random(n)
    y = (rng.random(n) < p ** 1.3).astype(np.int64)
    return y, p


@pytest.fixture(scope="module")
def multiclass():
    y, z = synthetic(n=1500, n_classes=4, seed=5)
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return y.astype(np.int64), z, P


def _rows(*cols, sep=",", end="\n"):
    return "".join(sep.join(c) + end for c in zip(*cols))


# ------------------------------------------------------- the command line
@pytest.mark.parametrize("extra", [
    [], ["--json"], ["--bins", "7", "--json"], ["--chunk-size", "400", "--json"],
    ["--threshold", "ece=0.001", "--fail-on", "ece,brier", "--threshold", "brier=0.01"],
    ["--progress"],
])
def test_binary_file_same_report(tmp_path, monkeypatch, capsys, binary, extra):
    y, p = binary
    f = _write(tmp_path / "preds.csv", "confidence,label\n"
               + _rows([repr(float(v)) for v in p], [str(int(v)) for v in y]))
    code, out, err = both(monkeypatch, capsys, "report", f, *extra)
    assert code == (1 if "--fail-on" in extra else 0), err
    if "--json" in extra:
        d = json.loads(out)
        assert d["n"] == 3000
        assert d["auroc_bounds"][0] <= d["auroc"] <= d["auroc_bounds"][1]
        assert d["ece"] == pytest.approx(fastcal.ece(y, p, n_bins=int(extra[1]) if "--bins" in
                                                     extra else 15), rel=1e-12)


def _quoted_variants(y, p):
    yy = [str(int(v)) for v in y]
    pp = [repr(float(v)) for v in p]
    text = [f'"note {i}, with ""quotes""\nand a newline"' if i % 7 == 0 else f"t{i}"
            for i in range(len(y))]
    words = ["true" if v else "FALSE" for v in y]
    return {
        "tsv.tsv": "confidence\tlabel\n" + _rows(pp, yy, sep="\t"),
        "crlf.csv": "confidence,label\r\n" + _rows(pp, yy, end="\r\n") + "\r\n",
        "gz.csv.gz": "label,confidence\n" + _rows(yy, pp),
        "bom.csv": "\ufeff\n\nid,confidence,label\n\n" + _rows([str(i) for i in range(len(y))],
                                                               pp, yy) + "\n\n",
        "quoted.csv": 'text,"confidence",label\n' + _rows(text, [f'"{v}"' for v in pp],
                                                          [f'"{v}" ' for v in yy]),
        "words.csv": "x,label,conf idence,y\n" + _rows(["a"] * len(y), words,
                                                        [f" {v}\t" for v in pp], ["b"] * len(y)),
        "no_final_newline.csv": ("confidence,label\n" + _rows(pp, yy)).rstrip("\n"),
    }


@pytest.mark.parametrize("name", ["tsv.tsv", "crlf.csv", "gz.csv.gz", "bom.csv", "quoted.csv",
                                  "words.csv", "no_final_newline.csv"])
def test_file_variants_same_report(tmp_path, monkeypatch, capsys, binary, name):
    y, p = binary[0][:500], binary[1][:500]
    f = _write(tmp_path / name, _quoted_variants(y, p)[name])
    col = ["--confidence", "conf idence"] if name == "words.csv" else []
    for extra in ([], ["--json", "--chunk-size", "64"]):
        code, out, err = both(monkeypatch, capsys, "report", f, *col, *extra)
        assert code == 0, err
    assert json.loads(out)["n"] == 500


def test_multiclass_same_report(tmp_path, monkeypatch, capsys, multiclass):
    y, z, P = multiclass
    yy = [str(int(v)) for v in y]
    c = [str(int(v == 1)) for v in y]
    f = _write(tmp_path / "mc.csv", "p_0,p_1,p_2,p_3,label,is1\n"
               + _rows(*[[repr(float(v)) for v in P[:, k]] for k in range(4)], yy, c))
    g = _write(tmp_path / "z.csv", "label,z0,z1,z2,z3,is1\n"
               + _rows(yy, *[[repr(float(v)) for v in z[:, k]] for k in range(4)], c))
    for argv in (["report", f, "--probs", "p_"], ["report", f, "--probs", "p_", "--json"],
                 ["report", f, "--probs", "p_0, p_1,p_2,p_3", "--json", "--chunk-size", "999"],
                 ["report", g, "--logits", "z", "--json", "--bins", "20"],
                 ["report", g, "--logits", "z1", "--label", "is1", "--json"],  # binary logits
                 ["report", f, "--probs", "p_1", "--label", "is1", "--json"]):  # binary
        code, out, err = both(monkeypatch, capsys, *argv)
        assert code == 0, err


def test_ignore_index_same_report(tmp_path, monkeypatch, capsys, multiclass):
    y, z, P = multiclass
    y = y.copy()
    y[::5] = -100
    f = _write(tmp_path / "pad.csv", "z0,z1,z2,z3,label\n"
               + _rows(*[[repr(float(v)) for v in z[:, k]] for k in range(4)],
                       [str(int(v)) for v in y]))
    code, out, err = both(monkeypatch, capsys, "report", f, "--logits", "z", "--ignore-index",
                          "-100", "--json", "--chunk-size", "2000")
    assert code == 0 and json.loads(out)["n"] == int(np.count_nonzero(y != -100))
    # every row ignored: the accumulator's error, worded for the file
    g = _write(tmp_path / "all.csv", "z0,z1,label\n0.5,0.1,-100\n0.3,0.2,-100\n")
    code, out, err = both(monkeypatch, capsys, "report", g, "--logits", "z", "--ignore-index",
                          "-100")
    assert code == 2 and "every row has the ignored label" in err


def test_one_outcome_same_notes(tmp_path, monkeypatch, capsys):
    f = _write(tmp_path / "ones.csv", "confidence,label\n0.9,1\n0.8,1\n0.7,1\n")
    code, out, err = both(monkeypatch, capsys, "report", f)
    assert code == 0 and "AUROC is not defined" in err and "n/a" in out


def test_fit_takes_the_numba_path(tmp_path, monkeypatch, capsys, binary):
    y, p = binary
    f = _write(tmp_path / "preds.csv", "confidence,label\n"
               + _rows([repr(float(v)) for v in p[:300]], [str(int(v)) for v in y[:300]]))
    code, out, err, seen = _cli(monkeypatch, capsys, ["report", f, "--fit", "isotonic",
                                                      "--fit-file", f], small=True)
    assert code == 0, err
    assert "small" not in seen


# -------------------------------------------------------------- user errors
@pytest.mark.parametrize("text, argv", [
    ("confidence,label\n0.5,1\n0.x,0\n", []),
    ("confidence,label\n0.5,1\n0.5,2\n", []),  # the library's error, located in the file
    ("confidence,label\n0.5,1\n1.5,0\n", []),
    ("confidence,label\r\n0.5,1\r\n\r\n0.5,-1\r\n", []),
    ('id,confidence,label\n"a\nb\nc",0.5,1\n"d",0.5,3\n', []),  # line 5, row 2
    ("confidence,label\n0.5,yes\n", []),
    ("confidence,label\n,1\n", []),
    ("confidence,label\n0.5,\n", []),
    ("confidence,label\n0.5, \n", []),
    ("confidence,label\n0.5\n", []),
    ("confidence,label\n0.5,1\n0.4,0,7\n", []),
    ("confidence,label\n0.5,1\n0.4,0,7\n0.x,1\n", []),
    ("confidence,label\n0.5,1\n0.x,0,7\n", []),
    ('confidence,label\n0.5,1\n"0.4"x,0\n', []),
    ('confidence,label\n0.5,1\n"0.4,0\n0.3,1\n', []),
    ('a,confidence,label\n0.5,0.5,1\n"x""y",0.4,0,"unclosed\n', []),
    ('"confidence,label\n0.5,1\n', []),
    ("", []),
    ("\n\n", []),
    ("confidence,label\n", []),
    ("confidence,label\n\n\r\n", []),
    ("conf,label\n0.5,1\n", []),
    ("confidence,label\n0.5,1234567890123456789\n", []),
    ("id,text,confidence,label\n1,5\" screen,0.5,1\n2,ok,0.7,0\n", []),  # a stray quote
    ("p0,p1,label\n0.5,0.5,1\n0.7,0.5,0\n", ["--probs", "p"]),
    ("p0,p1,label\n0.5,0.5,1\n0.3,0.7,-1\n", ["--probs", "p0,p1"]),
    ("p0,p1,label\n0.5,0.5,1\n0.3,0.7,2\n", ["--probs", "p0,p1", "--ignore-index", "-1"]),
    ("p0,label\n0.5,1\n", ["--probs", "p"]),
    # a bad label in the first chunk, an unreadable value in the second: the
    # first chunk's error; and the other way round
    ("confidence,label\n0.5,1\n0.5,7\n0.5,1\n0.x,1\n", ["--chunk-size", "2"]),
    ("confidence,label\n0.5,7\n0.5,1\n0.x,1\n", ["--chunk-size", "8"]),
])
def test_errors_same_message(tmp_path, monkeypatch, capsys, text, argv):
    f = _write(tmp_path / "f.csv", text)
    code, out, err = both(monkeypatch, capsys, "report", f, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("fastcal: error: "), err


def test_locations_in_errors(tmp_path, monkeypatch, capsys):
    """The line, row and column of an error (the line of a row from
    ``_io.line_of_row`` when the library finds the error in the values)."""
    f = _write(tmp_path / "f.csv", 'id,confidence,label\r\n"a\r\nb",0.5,1\r\n\r\n"d",0.5,3\r\n')
    code, out, err = both(monkeypatch, capsys, "report", f)
    assert ", line 5 (row 2), column 'label': " in err
    f = _write(tmp_path / "g.csv", 'id,confidence,label\n"a\nb",0.5,1\n"d",0.x,1\n')
    code, out, err = both(monkeypatch, capsys, "report", f)
    assert ", line 4 (row 2), column 'confidence': cannot parse '0.x'" in err


# ------------------------------------------------------------ the threshold
def test_threshold_is_the_file_size(tmp_path, monkeypatch):
    f = _write(tmp_path / "f.csv", "confidence,label\n0.5,1\n")
    size = f.stat().st_size
    assert _csv_small.load(f, max_bytes=size) == f.read_bytes()
    assert _csv_small.load(f, max_bytes=size - 1) is None
    monkeypatch.setenv(ENV, str(size))  # read at each call
    assert _csv_small.limit() == size and _csv_small.load(f) is not None
    monkeypatch.setenv(ENV, str(size - 1))
    assert _csv_small.load(f) is None
    monkeypatch.delenv(ENV)
    assert _csv_small.limit() == _csv_small.SMALL_FILE_BYTES
    # compressed: the uncompressed bytes count
    g = _write(tmp_path / "g.csv.gz", "confidence,label\n" + "0.5,1\n" * 1000)
    assert g.stat().st_size < 1000 < 6017
    assert _csv_small.load(g, max_bytes=6017) is not None
    assert _csv_small.load(g, max_bytes=6016) is None
    # not CSV/TSV, missing, a directory: the streaming reader's business
    j = _write(tmp_path / "f.jsonl", '{"confidence": 0.5, "label": 1}\n')
    assert _csv_small.load(j, max_bytes=1 << 20) is None
    assert _csv_small.load(tmp_path / "missing.csv", max_bytes=1 << 20) is None
    assert _csv_small.load(tmp_path, format="csv", max_bytes=1 << 20) is None


def test_bad_threshold_is_a_user_error(tmp_path, monkeypatch, capsys):
    f = _write(tmp_path / "f.csv", "confidence,label\n0.5,1\n")
    monkeypatch.setenv(ENV, "4MB")
    assert cli.main(["report", str(f)]) == 2
    assert f"{ENV} must be a number of bytes" in capsys.readouterr().err


# ------------------------------------------------------ the reader, fuzzed
def _chunks(read):
    out = []
    try:
        for y, v in read():
            out.append((y.dtype.str, v.dtype.str, v.shape, y.tobytes(), v.tobytes()))
    except Exception as exc:  # noqa: BLE001 - the comparison is the test
        return out, type(exc), str(exc)
    return out, None, None


def _same_chunks(path, cols, chunk_size):
    data = _csv_small.load(path, max_bytes=1 << 30)
    assert data is not None
    a = _chunks(lambda: _io.iter_chunks(path, cols, chunk_size=chunk_size))
    b = _chunks(lambda: _csv_small.iter_chunks(path, cols, data=data, chunk_size=chunk_size))
    assert b == a
    return a


_TOKENS = ["0", "1", "0.5", "1.0", "0.25", "-0", "+1", ".5", "5.", "1e-3", "2E+2", "1e", "0.x",
           "nan", "-inf", "Infinity", "true", "FALSE", "2", "-100", "1.00", "1.5",
           "0.1234567890123456789012", "9007199254740993e-16", "1e400", "4.9e-324", "",
           " ", " 0.5 ", "\t1\t", "x", '"0.5"', '"1"', '""', '"a,b"', '"x""y"', '"a\nb"',
           '"unclosed', '"a"b', '"a" ', '5"', "\r"]
_GOOD = {  # fields the kernel reads without complaint, per column
    "c": ["0", "1", "0.5", "0.25", "-0", ".5", "5.", "1e-3", "0.1234567890123456789012",
          "9007199254740993e-16", "4.9e-324", " 0.5 ", '"0.75"', '"0.5" ', "nan", "1e400"],
    "l": ["0", "1", "1.00", "true", "FALSE", "+1", "-0", '"1"', " 0 "],
    "x": ["a", "", " ", '"a,b"', '"x""y"', '"a\nb"', '"a\r\n,b"', "0.x", "t e x t"],
}
_HEADS = [("a,confidence,label", "xcl"), ("label,confidence", "lc"),
          ('"confidence",label,"b"', "clx")]


@st.composite
def _csv_bytes(draw):
    """Mostly well-formed files (the kernel's grammar, quoting, blank lines,
    CRLF), with a bad field or record now and then."""
    delim = draw(st.sampled_from([",", "\t"]))
    head, kinds = draw(st.sampled_from(_HEADS))
    lines = [head.replace(",", delim)]
    for _ in range(draw(st.integers(0, 14))):
        if draw(st.integers(0, 9)) == 0:  # anything
            k = draw(st.sampled_from([1, 2, 3, 3, 4]))
            fields = [draw(st.sampled_from(_TOKENS)) for _ in range(k)]
        else:
            fields = [draw(st.sampled_from(_GOOD[k])) for k in kinds]
        lines.append(delim.join(fields))
    ends = draw(st.lists(st.sampled_from(["\n", "\n", "\r\n", "\n\n", "\n\r\n"]),
                         min_size=len(lines), max_size=len(lines)))
    text = "".join(a + b for a, b in zip(lines, ends))
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    if draw(st.booleans()):
        text = "\ufeff\n" + text
    return delim, text.encode()


@settings(max_examples=300)
@given(_csv_bytes(), st.sampled_from([1, 2, 5, 1_000_000]))
def test_reader_matches_the_numba_reader(tmp_path_factory, case, chunk_size):
    delim, data = case
    path = tmp_path_factory.mktemp("csv") / ("f.csv" if delim == "," else "f.tsv")
    path.write_bytes(data)
    chunks, exc, msg = _same_chunks(path, Columns("label", confidence="confidence"), chunk_size)
    event(f"{len(chunks)} chunks, " + ("no error" if exc is None else msg.split(": ")[-1][:25]))


@st.composite
def _numbers_file(draw):
    n = draw(st.integers(1, 40))
    p = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    fmt = draw(st.sampled_from(["{!r}", "{:.3f}", "{:.17g}", "{:.2e}", " {!r} "]))
    rows = [fmt.format(a) + "," + str(b) for a, b in zip(p, y)]
    if draw(st.booleans()):  # one bad value somewhere
        i = draw(st.integers(0, n - 1))
        rows[i] = draw(st.sampled_from(["0.5,2", "1.5,1", "x,1", "0.5", "0.5,1,1", ",1"]))
    return "confidence,label\n" + "\n".join(rows) + "\n"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_numbers_file(), st.sampled_from([[], ["--json"], ["--json", "--chunk-size", "7"]]))
def test_command_line_matches_on_generated_files(tmp_path_factory, monkeypatch, capsys, text,
                                                 extra):
    f = tmp_path_factory.mktemp("cli") / "f.csv"
    f.write_text(text)
    both(monkeypatch, capsys, "report", f, *extra)


# ------------------------------------------------------ the accumulator twin
def _equal_reports(batches, n_bins=15, **kw):
    a = fastcal.CalibrationAccumulator(n_bins)
    b = InMemoryAccumulator(n_bins)
    for y, v in batches:
        a.update(y, v, **kw)
        b.update(y, v, **kw)
    assert b.n == a.n
    ra, rb = a.compute(), b.compute()
    assert _nan_safe(rb.to_dict()) == _nan_safe(ra.to_dict())


@settings(max_examples=60)
@given(st.integers(1, 3000), st.integers(1, 4), st.sampled_from([1, 3, 15, 100]),
       st.sampled_from(["probs", "logits", "multiclass", "multiclass-logits", "padded"]),
       st.integers(0, 2 ** 32 - 1))
def test_in_memory_accumulator_equals_the_accumulator(n, parts, n_bins, kind, seed):
    rng = np.random.default_rng(seed)
    kw = {}
    if kind in ("probs", "logits"):
        v = rng.random(n) if kind == "probs" else rng.normal(0, 3, n)
        if kind == "probs" and seed % 3 == 0:
            v = np.round(v, 2)  # ties in the AUROC histogram's cells
        y = (rng.random(n) < 0.5).astype(np.int64)
        kw["from_logits"] = kind == "logits"
    else:
        z = rng.normal(0, 2, (n, 5))
        y = rng.integers(0, 5, n)
        if kind == "multiclass":
            v = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        else:
            v, kw["from_logits"] = z, True
        if kind == "padded":
            y[rng.random(n) < 0.3] = -100
            kw["ignore_index"] = -100
    cuts = np.sort(rng.integers(0, n + 1, parts - 1))
    edges = [0, *cuts.tolist(), n]
    batches = [(y[a:b], v[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    if kind == "padded" and not np.any(y != -100):
        return
    _equal_reports(batches, n_bins, **kw)


@pytest.mark.parametrize("kind", ["probs", "logits", "multiclass"])
def test_in_memory_accumulator_equals_the_accumulator_on_large_batches(kind):
    """Batches large enough for both cores (the kernels run chunk by chunk on threads)."""
    rng = np.random.default_rng(21)
    n = 300_000
    if kind == "multiclass":
        v = rng.dirichlet(np.ones(3), n)
        y = rng.integers(0, 3, n)
        kw = {}
    else:
        v = rng.random(n) if kind == "probs" else rng.normal(0, 2, n)
        y = (rng.random(n) < 0.4).astype(np.int64)
        kw = {"from_logits": kind == "logits"}
    _equal_reports([(y[:200_000], v[:200_000]), (y[200_000:], v[200_000:])], 15, **kw)


def test_in_memory_accumulator_errors_and_warnings():
    acc = InMemoryAccumulator()
    with pytest.raises(ValueError, match="the accumulator is empty"):
        acc.compute()
    with pytest.raises(fastcal.InputError, match="must be 0/1") as e1:
        acc.update(np.array([0, 2]), np.array([0.5, 0.5]))
    with pytest.raises(fastcal.InputError) as e2:
        fastcal.CalibrationAccumulator().update(np.array([0, 2]), np.array([0.5, 0.5]))
    assert str(e1.value) == str(e2.value)
    assert (e1.value.param, e1.value.index) == (e2.value.param, e2.value.index) == ("y_true", 1)
    acc.update(np.array([1, 1]), np.array([0.5, 0.7]))
    with pytest.raises(ValueError, match=r"binary y_prob of shape \(n,\); the batch has y_prob "
                                         r"of shape \(n, 2\)"):
        acc.update(np.array([1]), np.array([[0.5, 0.5]]))
    with pytest.warns(fastcal.UndefinedMetricWarning, match="AUROC is not defined"):
        r = acc.compute()
    assert r.n == 2 and math.isnan(r.auroc)


# ------------------------------------------------------------------ warmup
# Run a snippet in a fresh process on the session's kernel cache; it prints
# one JSON line: each fastcal kernel's signatures in this process (requested by
# the snippet: loaded from the cache or compiled), the kernels that would not
# be cached, and the snippet's result.
_SIGNATURES = """
import contextlib, io, json, sys
from numba.core.caching import NullCache
{body}
sigs, uncached = {{}}, []
for name, mod in list(sys.modules.items()):
    if not name.startswith("fastcal."):
        continue
    for obj in list(vars(mod).values()):
        f = getattr(obj, "py_func", None)
        if f is not None and f.__module__ == name and getattr(obj, "signatures", None):
            key = name + "." + f.__qualname__
            sigs[key] = sorted(str(s) for s in obj.signatures)
            if isinstance(obj._cache, NullCache):
                uncached.append(key)
print(json.dumps({{"sigs": sigs, "uncached": uncached, "result": result}}))
"""


@pytest.mark.slow
def test_after_warmup_tasks_nothing_compiles(tmp_path):
    """``fastcal warmup``'s tasks for the command line leave nothing to compile
    for a small file of any kind, nor for the Numba reader: a fresh process
    running the commands needs no kernel signature beyond those a fresh
    process running the tasks asked for (whatever else the shared cache holds,
    and whether it was cold or warm), and every one of them is cached."""
    from fastcal.core import warmup as _warmup

    names = {t.func for t in _warmup._tasks()}
    assert {"fastcal.io.csv_small:warmup_task", "fastcal.streaming.in_memory:warmup_task"} <= names
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastcal.__file__)))
    env = dict(os.environ, FASTCAL_COMPILE_AHEAD="0",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    env.pop(ENV, None)

    def run(body, *argv):
        out = subprocess.run([sys.executable, "-c", _SIGNATURES.format(body=body), *argv],
                             env=env, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    warm = run("from fastcal.io import csv_small\n"
               "from fastcal.streaming import in_memory\n"
               "csv_small.warmup_task()\nin_memory.warmup_task()\nresult = None")
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(3), 50)
    y = rng.integers(0, 3, 50)
    y[::6] = -100
    f = _write(tmp_path / "mc.csv", "p0,p1,p2,label,ok\n" + _rows(
        *[[repr(float(v)) for v in P[:, k]] for k in range(3)], [str(v) for v in y],
        [str(int(v == 1)) for v in y]))
    g = _write(tmp_path / "big.csv", "label,p0\n" + "1,0.25\n" * 100)  # the Numba reader's
    argvs = [["report", str(f), "--probs", "p", "--ignore-index", "-100"],
             ["report", str(f), "--logits", "p", "--ignore-index", "-100", "--json"],
             ["report", str(f), "--confidence", "p1", "--label", "ok"],
             ["report", str(f), "--logits", "p1", "--label", "ok"]]
    got = run("from fastcal.cli import main\n"
              "from fastcal.io import readers\n"
              "result = []\n"
              "for argv in json.loads(sys.argv[1]):\n"
              "    with contextlib.redirect_stdout(io.StringIO()):\n"
              "        result.append(main(argv))\n"
              "cols = readers.Columns('label', probs='p0')\n"
              "result.append(len(list(readers.iter_chunks(sys.argv[2], cols))))",
              json.dumps(argvs), str(g))
    assert got["result"] == [0, 0, 0, 0, 1]
    assert "fastcal._kernels.io.csv.parse_block" in got["sigs"]  # the Numba reader ran
    extra = {k: sorted(set(v) - set(warm["sigs"].get(k, []))) for k, v in got["sigs"].items()}
    assert {k: v for k, v in extra.items() if v} == {}
    assert got["uncached"] == []
