"""Chunked file readers (fastcal.io.readers) and the CSV byte tokenizer (fastcal._kernels.io.csv)."""

import csv
import gzip
import io
import json
import struct
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastcal.io.columns import _FB_CAP
from fastcal.io.readers import (
    Columns,
    InputError,
    detect_format,
    iter_chunks,
    read_all,
    resolve_columns,
)
from fastcal._kernels.io import csv as KCSV


# ------------------------------------------------------------ number parser
def parse(text):
    b = np.frombuffer(text.encode("latin-1"), np.uint8)
    return KCSV.parse_number(b, 0, b.shape[0])


def bits(x):
    return struct.pack("<d", x)


def check_against_float(text):
    kind, v = parse(text)
    assert kind in (KCSV.NUM_OK, KCSV.NUM_FALLBACK), text
    if kind == KCSV.NUM_OK:
        assert bits(v) == bits(float(text)), (text, v, float(text))
    return kind


digits = st.text("0123456789", min_size=1, max_size=30)


@st.composite
def decimal_strings(draw):
    form = draw(st.integers(0, 4))
    if form == 0:  # shortest round-trip repr of any finite double
        x = draw(st.floats(allow_nan=False, allow_infinity=False))
        return repr(x)
    if form == 1:  # %e / %f / %g with any precision
        x = draw(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
        spec = draw(st.sampled_from(["e", "E", "f", "g"]))
        prec = draw(st.integers(0, 25 if spec != "f" else 12))
        return f"%.{prec}{spec}" % x
    if form == 2:  # digit strings with a point and an exponent
        sign = draw(st.sampled_from(["", "-", "+"]))
        a = draw(digits)
        b = draw(st.one_of(st.just(""), digits))
        point = "." if b or draw(st.booleans()) else ""
        e = draw(st.one_of(st.just(""), st.integers(-400, 400).map(lambda k: f"e{k}")))
        return sign + a + point + b + e
    if form == 3:  # fractions only: ".5", "0.000123"
        return "." + draw(digits) + draw(st.sampled_from(["", "E-3", "e+7"]))
    # probabilities as written by numpy / pandas (the CLI's common case)
    x = draw(st.floats(0, 1))
    return draw(st.sampled_from([repr(x), "%.17g" % x, "%.18e" % x, "%.6f" % x]))


@given(decimal_strings())
def test_float_parser_rounds_as_python_float(text):
    check_against_float(text)


@given(st.lists(decimal_strings(), min_size=1, max_size=20), st.sampled_from([",", "\t"]))
def test_csv_numbers_round_as_python_float(tmp_path_factory, texts, delim):
    # the tokenizer's inlined fast path, not only parse_number
    p = tmp_path_factory.mktemp("num") / ("n.csv" if delim == "," else "n.tsv")
    p.write_text("confidence" + delim + "label\n" + "".join(f"{t}{delim}1\n" for t in texts))
    y, v = joined(str(p))
    assert [bits(a) for a in v] == [bits(float(t)) for t in texts]


@given(st.integers(1, 2 ** 64 - 1), st.integers(-360, 330))
def test_float_parser_mantissa_exponent_grid(m, q):
    # includes the halfway and near-halfway mantissas (long digit strings)
    text = f"{m}e{q}"
    check_against_float(text)
    check_against_float(f"{m}5e{q - 1}")  # one more digit: often exactly halfway


def test_float_parser_exact_cases():
    cases = ["0", "-0", "0.0", "1", "0.5", ".5", "5.", "1e-5", "1E5", "+2.5e+3", "  0.25\r",
             "0.1", "0.30000000000000004", "9007199254740993", "2.2250738585072014e-308",
             "1.7976931348623157e308", "4.9e-324", "1e-400", "1e400", "123456789012345678901234",
             "0.13436424411240122", "8.988465674311580536566680e307"]
    for t in cases:
        check_against_float(t)
    assert parse("0.5") == (KCSV.NUM_OK, 0.5)
    assert parse("  0.75 ") == (KCSV.NUM_OK, 0.75)
    # more than 19 significant digits, subnormals, overflow: Python's float() decides
    assert parse("1" * 25)[0] == KCSV.NUM_FALLBACK
    assert parse("4.9e-324")[0] == KCSV.NUM_FALLBACK
    assert parse("1e400")[0] == KCSV.NUM_FALLBACK
    for t in ("nan", "NaN", "inf", "-Infinity"):
        assert parse(t)[0] == KCSV.NUM_FALLBACK
    assert parse("")[0] == KCSV.NUM_EMPTY
    assert parse("  ")[0] == KCSV.NUM_EMPTY
    for t in ("abc", "1e", "1e+", "1..2", "1.2.3", "--1", "1_000", "0x10", "1,5", ".", "-", "e5",
              "1 2", "infinite", "nanx"):
        assert parse(t)[0] == KCSV.NUM_BAD, t


def test_label_parser():
    def lab(text):
        b = np.frombuffer(text.encode(), np.uint8)
        return KCSV.parse_label(b, 0, b.shape[0])

    assert lab("1") == (True, 1)
    assert lab(" 0 ") == (True, 0)
    assert lab("-3") == (True, -3)
    assert lab("2.000") == (True, 2)
    assert lab("7.") == (True, 7)
    assert lab("True") == (True, 1)
    assert lab("FALSE") == (True, 0)
    for t in ("", "1.5", "yes", "1e0", "-", "+", "0x1", "12345678901234567890"):
        assert not lab(t)[0], t


# ------------------------------------------------------------------ helpers
def write(path, text, mode="w"):
    with open(path, mode, newline="") as f:
        f.write(text)
    return str(path)


def chunks(path, cols=None, **kw):
    cols = cols or Columns(confidence="confidence")
    return list(iter_chunks(path, cols, **kw))


def joined(path, cols=None, **kw):
    out = chunks(path, cols, **kw)
    return np.concatenate([y for y, _ in out]), np.concatenate([v for _, v in out])


# --------------------------------------------------------------------- CSV
def test_csv_edge_cases(tmp_path):
    text = ('\ufeffid,"note, with comma",confidence,label\r\n'
            '1,"hello\r\nworld, ""quoted""",0.9,1\r\n'
            '2,plain,"0.25",0\r\n'
            '\r\n'
            '3,,  .5 ,FALSE\r\n'
            '4,"x",1e-1,true\r\n'
            '\r\n')
    p = write(tmp_path / "e.csv", text, "w")
    with open(p, "wb") as f:
        f.write(text.encode("utf-8"))
    ref_y, ref_v = [1, 0, 0, 1], [0.9, 0.25, 0.5, 0.1]
    for block in (7, 16, 23, 64, 1 << 20):  # records split across reads, buffer growth
        for chunk in (1, 3, 1000):
            y, v = joined(p, block_size=block, chunk_size=chunk)
            assert y.tolist() == ref_y and v.tolist() == ref_v, (block, chunk)
            assert y.dtype == np.int64 and v.dtype == np.float64


def test_csv_no_trailing_newline_and_lf(tmp_path):
    p = write(tmp_path / "a.csv", "label,confidence\n1,0.75\n0,0.5")
    assert [x.tolist() for x in joined(p)] == [[1, 0], [0.75, 0.5]]


def test_tsv_and_gzip(tmp_path):
    p = write(tmp_path / "a.tsv", "confidence\tlabel\ttext\n0.2\t0\ta,b\n0.8\t1\t\"q\tq\"\n")
    assert [x.tolist() for x in joined(p)] == [[0, 1], [0.2, 0.8]]
    g = tmp_path / "a.csv.gz"
    with gzip.open(g, "wb") as f:
        f.write(b"confidence,label\n0.2,0\n0.8,1\n")
    assert [x.tolist() for x in joined(str(g), block_size=5)] == [[0, 1], [0.2, 0.8]]


def test_corrupt_gzip(tmp_path):
    texts = {"t.csv.gz": b"confidence,label\n" + b"0.5,1\n" * 20000,
             "t.jsonl.gz": b'{"confidence": 0.5, "label": 1}\n' * 20000}
    for name, text in texts.items():
        data = gzip.compress(text)
        (tmp_path / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(InputError, match=rf"{name}: cannot read the file \(Compressed file ended"):
            chunks(str(tmp_path / name), block_size=4096)
    (tmp_path / "g.csv.gz").write_bytes(b"garbage")
    with pytest.raises(InputError, match=r"g\.csv\.gz: cannot read the file \(Not a gzipped file"):
        chunks(str(tmp_path / "g.csv.gz"))


def test_csv_fallback_tokens_are_exact(tmp_path):
    vals = ["0.1234567890123456789012345", "1e-400", "4.9e-324", "0.5"]
    p = write(tmp_path / "f.csv", "confidence,label\n" + "".join(f"{v},1\n" for v in vals))
    y, v = joined(p)
    assert [bits(a) for a in v] == [bits(float(t)) for t in vals]
    # a fallback list smaller than the data: parsed and resumed
    many = [f"0.{'7' * 22}{i}" for i in range(_FB_CAP + 100)]
    p = write(tmp_path / "g.csv", "confidence,label\n" + "".join(f"{t},0\n" for t in many))
    y, v = joined(p, chunk_size=3000)
    assert [bits(a) for a in v] == [bits(float(t)) for t in many]


@st.composite
def tables(draw):
    n = draw(st.integers(1, 30))
    conf = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    lab = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    text = draw(st.lists(st.text(alphabet='ab ,"\n\r\t', max_size=6), min_size=n, max_size=n))
    fmt = draw(st.sampled_from(["repr", "%.6f", "%.18e"]))
    term = draw(st.sampled_from(["\n", "\r\n"]))
    order = draw(st.permutations(["note", "confidence", "label"]))
    quote_all = draw(st.booleans())
    return conf, lab, text, fmt, term, order, quote_all


@given(tables(), st.integers(4, 64), st.integers(1, 12))
def test_csv_random_tables(tmp_path_factory, table, block, chunk):
    conf, lab, text, fmt, term, order, quote_all = table
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=term,
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    w.writerow(order)
    written = []
    for c, y, t in zip(conf, lab, text):
        s = repr(c) if fmt == "repr" else fmt % c
        written.append(float(s))
        row = {"note": t, "confidence": s, "label": y}
        w.writerow([row[k] for k in order])
    p = tmp_path_factory.mktemp("csv") / "t.csv"
    p.write_bytes(buf.getvalue().encode())
    y, v = joined(str(p), block_size=block, chunk_size=chunk)
    assert y.tolist() == lab
    assert [bits(a) for a in v] == [bits(b) for b in written]


@given(st.sampled_from([b"confidence,label\n", b"confidence,label", b""]),
       st.binary(max_size=200) | st.text('01.e-+," \n\r\tax\x00', max_size=200).map(str.encode),
       st.integers(4, 40))
def test_csv_any_bytes_parse_or_raise_input_error(tmp_path_factory, head, body, block):
    # never a crash, a hang or another exception, whatever the bytes
    p = tmp_path_factory.mktemp("fuzz") / "f.csv"
    p.write_bytes(head + body)
    try:
        out = chunks(str(p), block_size=block, chunk_size=3)
    except InputError:
        return
    for y, v in out:
        assert y.dtype == np.int64 and v.dtype == np.float64 and y.shape == v.shape


# ------------------------------------------------------------ CSV errors
@pytest.mark.parametrize("body, match", [
    ("confidence,label\n0.5,1\n0.x5,0\n", r"b\.csv, line 3 \(row 2\), column 'confidence': cannot parse '0\.x5' as a number"),
    ("confidence,label\n0.5,1\n0.4\n", r"line 3 \(row 2\): the record has only 1 field\(s\); column 'label' is missing"),
    ("confidence,label\n0.5,1\n,0\n", r"line 3 \(row 2\), column 'confidence': empty value"),
    ("confidence,label\n0.5,maybe\n", r"line 2 \(row 1\), column 'label': label 'maybe' is not an integer"),
    ('confidence,note,label\n0.5,"a\nb",1\n0.5,"open,1\n', r"line 4 \(row 2\), column 'note': malformed quoted field"),
    ('confidence,label\n"0.5"x,1\n', r"line 2 \(row 1\), column 'confidence': malformed quoted field"),
    ("note,confidence,label\n\"a\nb\nc\",0.5,1\n\"x\",oops,1\n", r"line 5 \(row 2\), column 'confidence'"),
])
def test_csv_errors_name_line_row_column(tmp_path, body, match):
    p = write(tmp_path / "b.csv", body)
    with pytest.raises(InputError, match=match):
        chunks(p, block_size=8)


def test_csv_header_errors(tmp_path):
    with pytest.raises(InputError, match=r"e\.csv is empty: expected a header"):
        chunks(write(tmp_path / "e.csv", ""))
    with pytest.raises(InputError, match=r"e\.csv is empty"):
        chunks(write(tmp_path / "e.csv", "\ufeff\n\n"))
    assert chunks(write(tmp_path / "h.csv", "confidence,label\n")) == []
    with pytest.raises(InputError, match=r"no column 'conf' \(for --confidence\); the columns are 'p', 'label'"):
        chunks(write(tmp_path / "m.csv", "p,label\n0.5,1\n"), Columns(confidence="conf"))
    with pytest.raises(InputError, match=r"no column 'y' \(for --label\)"):
        chunks(write(tmp_path / "m.csv", "p,label\n0.5,1\n"), Columns("y", confidence="p"))
    with pytest.raises(InputError, match=r"column 'p' appears 2 times"):
        chunks(write(tmp_path / "d.csv", "p,p,label\n0.5,0.5,1\n"), Columns(confidence="p"))


# ------------------------------------------------------------ columns
def test_resolve_columns():
    names = ["id", "label", "p_10", "p_2", "p_0", "p_1"]
    assert resolve_columns(names, Columns(probs="p_"), "f") == (1, [4, 5, 3, 2], True)
    assert resolve_columns(names, Columns(logits="p_1,p_0"), "f") == (1, [5, 4], True)
    assert resolve_columns(names, Columns(probs="p_2"), "f") == (1, [3], False)
    names2 = ["label", "pa", "pb"]
    assert resolve_columns(names2, Columns(probs="p"), "f") == (0, [1, 2], True)  # file order
    with pytest.raises(InputError, match=r"prefix 'pa' \(for --probs\) matches only the column 'pab'"):
        resolve_columns(["label", "pab"], Columns(probs="pa"), "f")
    with pytest.raises(InputError, match=r"no column 'q' and no column starting with 'q'"):
        resolve_columns(names, Columns(probs="q"), "f")
    with pytest.raises(InputError, match=r"give only one of confidence, probs and logits"):
        Columns(confidence="a", probs="b")
    with pytest.raises(InputError, match="empty column name"):
        resolve_columns(names, Columns(probs="p_0,,p_1"), "f")


def test_detect_format():
    assert detect_format("a.CSV") == "csv"
    assert detect_format("a.tsv.gz") == "tsv"
    assert detect_format("x.weird", "jsonl") == "jsonl"
    with pytest.raises(InputError, match=r"a\.xlsx: cannot tell the format from '\.xlsx'"):
        detect_format("a.xlsx")
    with pytest.raises(InputError, match="cannot tell the format from no extension"):
        detect_format("data")
    with pytest.raises(InputError, match="only text formats"):
        detect_format("a.npz.gz")
    with pytest.raises(InputError, match="format must be one of"):
        detect_format("a.csv", "xls")


# ---------------------------------------------------------- other formats
@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    n = 57
    P = rng.dirichlet(np.ones(4), n)
    y = rng.integers(0, 4, n).astype(np.int64)
    return y, P


def test_formats_agree(tmp_path, data):
    pd = pytest.importorskip("pandas")
    y, P = data
    df = pd.DataFrame({"label": y, **{f"p{k}": P[:, k] for k in range(4)}})
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_csv(tmp_path / "d.tsv", index=False, sep="\t")
    with open(tmp_path / "d.jsonl", "w") as f:
        for i in range(len(y)):
            f.write(json.dumps({"label": int(y[i]), **{f"p{k}": P[i, k] for k in range(4)}}) + "\n")
    rec = np.zeros(len(y), dtype=[("label", "i8")] + [(f"p{k}", "f8") for k in range(4)])
    rec["label"] = y
    for k in range(4):
        rec[f"p{k}"] = P[:, k]
    np.save(tmp_path / "d.npy", rec)
    np.save(tmp_path / "d2.npy", np.column_stack([y, P]))
    np.savez(tmp_path / "d.npz", label=y, probs=P)
    np.savez_compressed(tmp_path / "dc.npz", label=y, **{f"p{k}": P[:, k] for k in range(4)})
    cols = Columns(probs="p")
    y0, v0 = joined(str(tmp_path / "d.csv"), cols, chunk_size=40)
    np.testing.assert_array_equal(y0, y)
    np.testing.assert_array_equal(v0, P)  # pandas writes round-trip reprs
    for name, c in [("d.tsv", cols), ("d.npy", cols), ("d2.npy", Columns("0", probs="1,2,3,4")),
                    ("d.npz", Columns(probs="probs")), ("dc.npz", cols)]:
        yy, vv = joined(str(tmp_path / name), c, chunk_size=40)
        np.testing.assert_array_equal(yy, y, err_msg=name)
        np.testing.assert_array_equal(vv, P, err_msg=name)
        assert len(chunks(str(tmp_path / name), c, chunk_size=40)) == 6  # 10 rows x 4 values
    yy, vv = joined(str(tmp_path / "d.jsonl"), cols)
    np.testing.assert_array_equal(yy, y)
    np.testing.assert_array_equal(vv, P)


def test_parquet(tmp_path, data):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    y, P = data
    t = pa.table({"label": y, "probs": list(P), "conf": P.max(axis=1)})
    pq.write_table(t, tmp_path / "d.parquet", row_group_size=20)
    yy, vv = joined(str(tmp_path / "d.parquet"), Columns(probs="probs"), chunk_size=40)
    np.testing.assert_array_equal(yy, y)
    np.testing.assert_array_equal(vv, P)
    yy, vv = joined(str(tmp_path / "d.parquet"), Columns(confidence="conf"), chunk_size=10)
    np.testing.assert_array_equal(vv, P.max(axis=1))
    t2 = pa.table({"label": pa.array([1, None], type=pa.int64()), "conf": [0.5, 0.5]})
    pq.write_table(t2, tmp_path / "n.parquet")
    with pytest.raises(InputError, match=r"n\.parquet, row 2, column 'label': missing value"):
        chunks(str(tmp_path / "n.parquet"), Columns(confidence="conf"))


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        iter_chunks(str(tmp_path / "x.parquet"), Columns())


def test_jsonl(tmp_path):
    lines = ['{"label": true, "confidence": 0.75, "probs": [0.75, 0.25]}', "",
             '{"label": 0, "confidence": 0.5, "probs": [0.5, 0.5]}']
    p = write(tmp_path / "a.jsonl", "\n".join(lines) + "\n")
    assert [x.tolist() for x in joined(p)] == [[1, 0], [0.75, 0.5]]
    y, v = joined(p, Columns(probs="probs"))
    assert v.tolist() == [[0.75, 0.25], [0.5, 0.5]]
    bad = write(tmp_path / "b.jsonl", '{"label": 1, "confidence": "0.5"}\n')
    with pytest.raises(InputError, match=r"b\.jsonl, line 1, key 'confidence': expected a number; found '0\.5'"):
        chunks(bad)
    bad = write(tmp_path / "c.jsonl", '{"label": 1, "confidence": 0.5}\n{"label": 1\n')
    with pytest.raises(InputError, match=r"c\.jsonl, line 2: not valid JSON"):
        chunks(bad)
    bad = write(tmp_path / "d.jsonl", '{"label": 1, "confidence": 0.5}\n{"confidence": 0.5}\n')
    with pytest.raises(InputError, match=r"d\.jsonl, line 2: no key 'label'"):
        chunks(bad)
    bad = write(tmp_path / "e.jsonl", '{"label": 0.5, "confidence": 0.5}\n')
    with pytest.raises(InputError, match=r"label 0\.5 is not an integer"):
        chunks(bad)


def test_npz_and_npy_errors(tmp_path):
    np.savez(tmp_path / "a.npz", label=np.zeros(3, np.int64), conf=np.zeros(4))
    with pytest.raises(InputError, match=r"'label' has 3 rows but 'conf' has 4"):
        chunks(str(tmp_path / "a.npz"), Columns(confidence="conf"))
    np.savez(tmp_path / "b.npz", label=np.zeros(3, np.int64), conf=np.zeros((3, 2)))
    with pytest.raises(InputError, match=r"--confidence 'conf' must be 1-D"):
        chunks(str(tmp_path / "b.npz"), Columns(confidence="conf"))
    np.save(tmp_path / "c.npy", np.zeros(3))
    with pytest.raises(InputError, match=r"c\.npy: a \.npy file must hold a structured array"):
        chunks(str(tmp_path / "c.npy"))
    write(tmp_path / "z.npz", "not a zip")
    with pytest.raises(InputError, match=r"z\.npz: not a valid \.npz"):
        chunks(str(tmp_path / "z.npz"))


def test_missing_file_and_read_all(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        iter_chunks(str(tmp_path / "nope.csv"), Columns())
    with pytest.raises(InputError, match=r"h\.csv has no data rows"):
        read_all(write(tmp_path / "h.csv", "confidence,label\n"), Columns())


def test_progress_line(tmp_path, capsys):
    p = write(tmp_path / "a.csv", "confidence,label\n" + "0.5,1\n" * 2000)
    y, v = joined(p, progress=True, block_size=1024)
    err = capsys.readouterr().err
    assert "\rfastcal: reading a.csv:" in err and "(100%)" in err and err.endswith("\n")
    joined(p, progress=False)
    assert capsys.readouterr().err == ""


def test_chunk_bound(tmp_path):
    rows = "".join(f"{i % 2},{(i % 10) / 10}\n" for i in range(1000))
    p = write(tmp_path / "a.csv", "label,confidence\n" + rows)
    sizes = [len(y) for y, _ in chunks(p, chunk_size=128)]
    assert sum(sizes) == 1000 and max(sizes) == 128
    with pytest.raises(InputError, match="chunk_size must be a positive integer"):
        iter_chunks(p, Columns(), chunk_size=0)


# ------------------------------------------------------- issue 16 (items 7, 8, 12)
@pytest.mark.parametrize("body, match", [
    ("confidence,label\n0.5,1\n0.4,0,7\n0.2,0\n",
     r"x\.csv, line 3 \(row 2\): the record has 3 fields; the header has 2\."),
    ("confidence,label\n0.5,1,\n", r"line 2 \(row 1\): the record has 3 fields; the header has 2"),
    # delimiters and newlines inside quotes are not field separators
    ('confidence,note,label\n0.5,"a,b",1\n0.3,"x""y,",0\n0.2,"multi\nline,",0\n0.4,z,1,9\n',
     r"line 6 \(row 4\): the record has 4 fields; the header has 3"),
    ("confidence,label\n" + "0.5,1\n" * 50 + "0.5,1,1\n",
     r"line 52 \(row 51\): the record has 3 fields; the header has 2"),
    # a short record is rejected even when the missing column is not used
    ("confidence,label,x\n0.5,1,a\n0.5,1\n",
     r"line 3 \(row 2\): the record has only 2 field\(s\); the header has 3\."),
])
def test_csv_records_have_exactly_the_header_fields(tmp_path, body, match):
    p = write(tmp_path / "x.csv", body)
    for block in (8, 1 << 20):
        with pytest.raises(InputError, match=match):
            chunks(p, block_size=block, chunk_size=3)


def test_csv_quoted_delimiters_and_wide_headers_still_parse(tmp_path):
    p = write(tmp_path / "q.csv", 'confidence,note,label\n0.5,"a,b",1\n0.25,"x""y,\nz",0\n')
    y, v = joined(p, block_size=8)
    assert y.tolist() == [1, 0] and v.tolist() == [0.5, 0.25]
    # more columns than the fallback-token buffer holds: no endless FB_FULL loop
    names = [f"c{i}" for i in range(2 * _FB_CAP)] + ["confidence", "label"]
    row = ",".join(["1"] * (2 * _FB_CAP)) + ",0.5,1\n"
    p = write(tmp_path / "w.csv", ",".join(names) + "\n" + row * 3)
    y, v = joined(p)
    assert y.tolist() == [1, 1, 1] and v.tolist() == [0.5] * 3


def test_chunk_too_large_to_allocate_is_an_input_error(tmp_path):
    p = write(tmp_path / "a.csv", "confidence,label\n0.5,1\n")
    for size in (2 ** 45, 2 ** 62):  # 256 TiB (MemoryError); larger than any array (ValueError)
        with pytest.raises(InputError, match=r"a\.csv: cannot allocate a chunk of \d+ values"):
            chunks(p, chunk_size=size)


def test_jsonl_nested_too_deeply_is_an_input_error(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    p = write(tmp_path / "d.jsonl", '{"label": 1, "confidence": 0.5}\n'
              '{"label": 1, "confidence": ' + deep + "}\n")
    with pytest.raises(InputError, match=r"d\.jsonl, line 2: not valid JSON .*nested too deeply"):
        chunks(p)


@pytest.mark.parametrize("fixed", [False, True])
def test_parquet_null_inside_a_list_names_its_row(tmp_path, fixed):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    typ = pa.list_(pa.float64(), 2) if fixed else pa.list_(pa.float64())
    probs = pa.array([[0.5, 0.5], [0.4, 0.6], [0.3, None], [0.2, 0.8], [0.1, 0.9]], type=typ)
    pq.write_table(pa.table({"label": [0, 1, 0, 1, 1], "probs": probs}), tmp_path / "n.parquet")
    for chunk_size in (4, 1000):  # row 3 in the second batch of two rows, or in the first
        with pytest.raises(InputError, match=r"n\.parquet, row 3, column 'probs': missing value "
                                             r"\(null\) at position 1 of the list"):
            chunks(str(tmp_path / "n.parquet"), Columns(probs="probs"), chunk_size=chunk_size)
