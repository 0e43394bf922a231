"""LLM evaluation files straight in (issue 14): lm-evaluation-harness samples,
OpenAI-style chat completions with logprobs, and the JSON Lines byte scanner
under both, each against an obvious per-line ``json.loads`` reader
(tests/reference_llm_readers.py) on files the real tools wrote
(tests/data/lm_eval, tests/data/openai: see their make_fixtures.py)."""

import glob
import importlib.util
import io
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
import reference_llm_readers as ref
from fastcal.io import jsonscan as J
from fastcal.cli import main

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
LM = os.path.join(DATA, "lm_eval")
OA = os.path.join(DATA, "openai")


def samples(task):
    (f,) = glob.glob(os.path.join(LM, f"samples_{task}_*.jsonl"))
    return f


def lm_config(task):
    (f,) = glob.glob(os.path.join(LM, "results_*.json"))
    with open(f) as fh:
        return json.load(fh)["configs"][task]


def cut(src, dst, edit):
    """Copy the samples file ``src`` to ``dst`` with ``edit(lines)`` applied."""
    with open(src, encoding="utf-8") as f:
        lines = f.read().splitlines()
    edit(lines)
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return str(dst)


# ------------------------------------------------------------------ lm-eval
@pytest.mark.parametrize("norm", ["none", "chars", "bytes"])
def test_lm_eval_reports_equal_the_reference_and_lm_evals_own_accuracy(norm):
    reports = fastcal.lm_eval_report(LM, norm=norm, n_bins=10)
    assert sorted(reports) == ["fc_gen", "fc_mc", "fc_mi", "fc_text"]
    assert reports["fc_gen"] is None  # generation task: no option scores
    metric = {"none": "acc", "chars": "acc_norm", "bytes": "acc_bytes"}[norm]
    checked = 0
    for task in ("fc_mc", "fc_mi", "fc_text"):
        cfg = lm_config(task)
        mi = task == "fc_mi"
        correct, conf = ref.lm_eval_toplabel(samples(task), norm=norm, mutual_info=mi,
                                             delimiter=cfg["target_delimiter"])
        gold, probs, own = ref.lm_eval_samples(samples(task), norm=norm, mutual_info=mi,
                                               delimiter=cfg["target_delimiter"])
        r = reports[task]
        assert r.n == len(correct) == 40
        assert r.accuracy == correct.mean()
        if metric in own[0]:  # lm-eval's own per-document field
            assert r.accuracy == np.mean([o[metric] for o in own])
            checked += 1
        want = fastcal.calibration_report(correct, conf, n_bins=10)
        for g in ("confidence", "ece", "mce", "auroc"):
            assert math.isclose(getattr(r, g), getattr(want, g), rel_tol=1e-12, abs_tol=1e-14), g
        # multiclass Brier and NLL over each document's options
        brier = np.mean([np.sum((p - np.eye(len(p))[g]) ** 2) for g, p in zip(gold, probs)])
        nll = np.mean([-math.log(p[g]) for g, p in zip(gold, probs)])
        assert math.isclose(r.brier, brier, rel_tol=1e-12) and math.isclose(r.nll, nll,
                                                                           rel_tol=1e-12)
    assert checked >= 1


def test_lm_eval_one_file_task_filter_and_no_results_file(tmp_path):
    one = fastcal.lm_eval_report(samples("fc_mc"), norm="chars")
    assert list(one) == ["fc_mc"]
    assert one["fc_mc"] == fastcal.lm_eval_report(LM, norm="chars", task="fc_mc")["fc_mc"]
    # without results_<date>.json: a space as the delimiter (fc_mc's), found in the file
    alone = shutil.copy(samples("fc_mc"), tmp_path)
    assert fastcal.lm_eval_report(alone, norm="bytes")["fc_mc"] == \
        fastcal.lm_eval_report(LM, norm="bytes", task="fc_mc")["fc_mc"]
    # fc_text's delimiter ': ' is in its config: without it the options' texts (and
    # lengths) are not what lm-eval scored, which is an error, never a silent difference
    alone = shutil.copy(samples("fc_text"), tmp_path)
    with pytest.raises(ValueError, match=r"line 1, field target: 'plum' is neither an option "
                                         "index nor the text of an option"):
        fastcal.lm_eval_report(alone, norm="chars")
    with pytest.raises(ValueError, match="no samples of task 'nope'"):
        fastcal.lm_eval_report(LM, task="nope")
    with pytest.raises(ValueError, match="norm must be one of"):
        fastcal.lm_eval_report(LM, norm="tokens")


def test_lm_eval_ragged_options_and_text_targets_are_real():
    with open(samples("fc_mc"), encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    assert len({len(d["filtered_resps"]) for d in docs}) >= 3
    with open(samples("fc_text"), encoding="utf-8") as f:
        assert not json.loads(f.readline())["target"].isdigit()


@pytest.mark.parametrize("edit, match", [
    (lambda ls: ls.__setitem__(3, ls[3][:len(ls[3]) // 2]),
     r"samples_fc_mc_.*\.jsonl, line 4: truncated JSON"),
    (lambda ls: ls.__setitem__(1, ls[1].replace('"target": "', '"targte": "')),
     r"samples_fc_mc_.*\.jsonl, line 2, field target: missing"),
    (lambda ls: ls.__setitem__(2, ls[2].replace('"filtered_resps": [["', '"filtered_resps": [["x'))
     , r"samples_fc_mc_.*\.jsonl, line 3, field filtered_resps\[i\]\[0\] \(log-likelihood\): "
       r"expected a number; found \"x-0\."),
    (lambda ls: ls.__setitem__(0, ls[0].replace('"target": "', '"target": "9')),
     r"line 1, field target: gold index 9\d* but the document has \d options"),
    (lambda ls: ls.__setitem__(5, ls[5].replace('"filter": "none"', '"filter": "take_first"')),
     r"jsonl, field filter: the task has 2 filters \(none, take_first\)"),
])
def test_lm_eval_bad_files_name_file_line_and_field(tmp_path, edit, match):
    bad = cut(samples("fc_mc"), tmp_path / os.path.basename(samples("fc_mc")), edit)
    with pytest.raises(ValueError, match=match) as e:
        fastcal.lm_eval_report(bad)
    assert "\n" not in str(e.value)


def test_lm_eval_mutual_information_with_a_broken_pair_is_refused(tmp_path):
    def drop_last_unconditional(lines):
        d = json.loads(lines[5])
        k = len(d["filtered_resps"])
        d["filtered_resps"].pop()
        d["resps"].pop()
        d["arguments"].pop(f"gen_args_{k - 1}")
        lines[5] = json.dumps(d, ensure_ascii=False)

    bad = cut(samples("fc_mi"), tmp_path / os.path.basename(samples("fc_mi")),
              drop_last_unconditional)
    with pytest.raises(ValueError, match=r"line 6, field filtered_resps: the task scores "
                                         r"acc_mutual_info.*mixes option counts"):
        fastcal.lm_eval_report(bad)


LM_EVAL = os.environ.get("FASTCAL_LM_EVAL") or shutil.which("lm_eval")


@pytest.mark.skipif(LM_EVAL is None or importlib.util.find_spec("lm_eval") is None and
                    not os.environ.get("FASTCAL_LM_EVAL"),
                    reason="lm-eval not installed (pip install lm-eval, or FASTCAL_LM_EVAL="
                    "/path/to/lm_eval)")
def test_lm_eval_itself_writes_what_the_reader_reads(tmp_path):
    """Runs lm-eval (dummy model, offline) anew: every report's accuracy is
    lm-eval's own mean acc / acc_norm / acc_bytes of its fresh output."""
    subprocess.run([sys.executable, os.path.join(LM, "make_fixtures.py"), "--lm-eval", LM_EVAL,
                    "--out", str(tmp_path)], check=True, capture_output=True, timeout=600)
    for norm, metric in (("none", "acc"), ("chars", "acc_norm"), ("bytes", "acc_bytes")):
        reports = fastcal.lm_eval_report(tmp_path, norm=norm)
        assert reports["fc_gen"] is None
        for task in ("fc_mc", "fc_mi", "fc_text"):
            (f,) = glob.glob(str(tmp_path / f"samples_{task}_*.jsonl"))
            with open(f) as fh:
                own = [json.loads(line).get(metric) for line in fh]
            if own[0] is not None:
                assert reports[task].accuracy == np.mean(own)


# ------------------------------------------------------------------- openai
@pytest.mark.parametrize("name", ["completions.jsonl", "batch_output.jsonl"])
@pytest.mark.parametrize("options", [None, ["A", "B", "C", "D"]])
def test_openai_confidence_equals_the_reference(name, options):
    path = os.path.join(OA, name)
    keys, answers, conf = ref.openai_lines(path, options)
    out = fastcal.openai_confidence(path, options=options)
    assert out.keys.tolist() == keys
    assert out.answers.tolist() == answers
    np.testing.assert_allclose(out.confidence, conf, rtol=1e-15, atol=0)
    # the fixtures hold what the rules are about
    assert "" in answers and any(a not in "ABCD" for a in answers)
    with open(path) as f:
        text = f.read()
    assert "-9999.0" in text and '"token":" ' in text.replace('"token": " ', '"token":" ')


def test_openai_objects_and_openai_types():
    from openai.types.chat import ChatCompletion

    path = os.path.join(OA, "completions.jsonl")
    with open(path) as f:
        objs = [ChatCompletion.model_validate_json(line) for line in f]
    a = fastcal.openai_confidence(path, options="A,B,C,D")
    b = fastcal.openai_confidence(objs, options="A,B,C,D")
    c = fastcal.openai_confidence([o.model_dump() for o in objs], options="A,B,C,D")
    for x in (b, c):
        assert x.answers.tolist() == a.answers.tolist()
        assert x.confidence.tolist() == a.confidence.tolist()


def test_openai_report_joins_gold_by_custom_id_and_by_line_order():
    by_key = fastcal.openai_report(os.path.join(OA, "batch_output.jsonl"),
                                   os.path.join(OA, "gold.jsonl"), options="A,B,C,D", n_bins=10)
    by_line = fastcal.openai_report(os.path.join(OA, "completions.jsonl"),
                                    os.path.join(OA, "gold.csv"), options="A,B,C,D", n_bins=10)
    # the same completions, shuffled and keyed (sums in another order: to rounding)
    assert by_key.n == by_line.n and by_key.accuracy == by_line.accuracy
    for g in ("confidence", "ece", "brier", "nll", "auroc"):
        assert math.isclose(getattr(by_key, g), getattr(by_line, g), rel_tol=1e-12), g
    keys, answers, conf = ref.openai_lines(os.path.join(OA, "batch_output.jsonl"), "ABCD")
    with open(os.path.join(OA, "gold.jsonl")) as f:
        gold = {d["custom_id"]: d["answer"] for d in map(json.loads, f)}
    correct = np.array([int(a == gold[k]) for k, a in zip(keys, answers)])
    want = fastcal.calibration_report(correct, conf, n_bins=10)
    assert by_key.accuracy == want.accuracy
    assert math.isclose(by_key.ece, want.ece, rel_tol=1e-12)


def _write_gold(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return str(path)


def test_openai_gold_join_errors_name_the_key(tmp_path):
    batch = os.path.join(OA, "batch_output.jsonl")
    with open(os.path.join(OA, "gold.jsonl")) as f:
        gold = [json.loads(line) for line in f]
    cases = [
        (gold[1:], r"custom_id 'request-0' has no gold answer"),
        (gold + [{"custom_id": "request-99", "answer": "A"}],
         r"custom_id 'request-99' has no completion"),
        (gold + [gold[3]], r"gold\.jsonl: custom_id 'request-3' appears more than once"),
    ]
    for rows, match in cases:
        with pytest.raises(ValueError, match=match):
            fastcal.openai_report(batch, _write_gold(tmp_path / "gold.jsonl", rows))
    with open(batch) as f:
        lines = f.read().splitlines()
    dup = tmp_path / "dup.jsonl"
    dup.write_text("\n".join(lines + lines[:1]) + "\n")
    first = json.loads(lines[0])["custom_id"]
    with pytest.raises(ValueError, match=f"dup.jsonl: custom_id '{first}' appears more"):
        fastcal.openai_report(str(dup), os.path.join(OA, "gold.jsonl"))
    with pytest.raises(ValueError, match=r"completion 39 \(line order\) has no gold answer"):
        fastcal.openai_report(os.path.join(OA, "completions.jsonl"), ["A"] * 39)


def test_openai_bad_lines(tmp_path):
    with open(os.path.join(OA, "batch_output.jsonl")) as f:
        lines = f.read().splitlines()
    failed = json.loads(lines[2])
    failed["response"], failed["error"] = None, {"code": "server_error", "message": "boom"}
    bad = tmp_path / "b.jsonl"
    bad.write_text("\n".join(lines[:2] + [json.dumps(failed)] + lines[3:]) + "\n")
    with pytest.raises(ValueError, match=rf"b.jsonl, line 3 \(custom_id '{failed['custom_id']}'"
                                         r"\), field choices\[0\].logprobs.content\[0\].token: "
                                         "missing"):
        fastcal.openai_confidence(str(bad))
    bad.write_text("\n".join(lines[:5] + [lines[5][:-40]]) + "\n")
    with pytest.raises(ValueError, match=r"b.jsonl, line 6: truncated JSON"):
        fastcal.openai_confidence(str(bad))
    with pytest.raises(ValueError, match="options must be at least two distinct"):
        fastcal.openai_confidence(str(bad), options=["A", " A"])


# ---------------------------------------------------------------------- cli
def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_from_lm_eval(capsys):
    code, out, err = run(capsys, "report", LM, "--from", "lm-eval", "--norm", "chars", "--json")
    assert code == 0, err
    d = json.loads(out)
    r = fastcal.lm_eval_report(LM, norm="chars")
    assert d["tasks"]["fc_gen"] is None
    for t in ("fc_mc", "fc_mi", "fc_text"):
        assert d["tasks"][t]["accuracy"] == r[t].accuracy
        assert d["tasks"][t]["ece"] == r[t].ece
    code, out, err = run(capsys, "report", LM, "--from", "lm-eval")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("  fc_")]
    assert [row.split()[0] for row in rows] == ["fc_gen", "fc_mc", "fc_mi", "fc_text"]
    assert "no confidence" in rows[0]


def test_cli_from_openai(capsys, tmp_path):
    code, out, err = run(capsys, "report", os.path.join(OA, "batch_output.jsonl"), "--from",
                         "openai", "--gold", os.path.join(OA, "gold.jsonl"), "--options",
                         "A,B,C,D", "--json")
    assert code == 0, err
    d = json.loads(out)
    r = fastcal.openai_report(os.path.join(OA, "batch_output.jsonl"),
                              os.path.join(OA, "gold.jsonl"), options="A,B,C,D")
    assert d["accuracy"] == r.accuracy and d["ece"] == r.ece
    code, out, err = run(capsys, "report", os.path.join(OA, "completions.jsonl"), "--from",
                         "openai", "--gold", os.path.join(OA, "gold.csv"))
    assert code == 0 and "ECE" in out, err
    code, out, err = run(capsys, "report", os.path.join(OA, "completions.jsonl"), "--from",
                         "openai")
    assert code == 2 and "needs --gold" in err and len(err.splitlines()) == 1
    code, out, err = run(capsys, "report", LM, "--from", "lm-eval", "--gold", "x.csv")
    assert code == 2 and "--gold and --options apply to --from openai" in err
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"choices": [\n')
    code, out, err = run(capsys, "report", bad, "--from", "openai", "--gold", "g.csv")
    assert code == 2 and "c.jsonl, line 1: truncated JSON" in err and len(err.splitlines()) == 1


# ------------------------------------------------------------------ scanner
def _walk(paths, value, trail, out, obj):
    """The reference matcher: (obj, leaf, value) of each scalar on a path."""
    for path, leaf in paths.items():
        if _match(path, trail) and not isinstance(value, (dict, list)):
            out.append((obj, leaf, value))
            break
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(paths, v, trail + [k], out, obj)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(paths, v, trail + [i], out, obj)


def _steps(path):
    out = []
    for m in J._STEP.finditer(path):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append("[*]" if m.group(2) == "*" else int(m.group(2)))
    return out


def _match(path, trail):
    steps = _steps(path)
    if len(steps) != len(trail):
        return False
    for s, t in zip(steps, trail):
        if s == "*":
            if not isinstance(t, str):
                return False
        elif s == "[*]":
            if not isinstance(t, int):
                return False
        elif s != t:
            return False
    return True


PATHS = {"a": 0, "b[*]": 1, "c[1].x": 2, "d.*.y": 3, "c[0][*]": 4, "b[*][0]": 5}
_keys = st.sampled_from(["a", "b", "c", "d", "x", "y", "é", "k\"q", "\\"])
_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
            | st.sampled_from(["-0.25", " B ", "1e400", "True", "\t"]))
_values = st.recursive(_scalars, lambda kids: st.lists(kids, max_size=4)
                       | st.dictionaries(_keys, kids, max_size=4), max_leaves=20)
_objects = st.dictionaries(_keys, _values, max_size=5)


def _expected_number(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _record(b, r):
    """What a test needs of record ``r`` of block ``b``, read before the next block."""
    fl = int(b.rec[r, J.FLAGS])
    num = None
    if fl & (J.NUMBER | J.FALLBACK):
        try:
            num = b.numbers([r], "f", "x")[0]
        except ValueError:
            num = "bad"
    return dict(obj=b.obj0 + int(b.rec[r, J.OBJ]), leaf=int(b.rec[r, J.LEAF]), flags=fl,
                text=b.text(r) if fl & 7 == J.STRING else None, nchar=int(b.rec[r, J.NCHAR]),
                nbyte=int(b.rec[r, J.NBYTE]), packed=int(b.rec[r, J.PACKED]), number=num)


@given(st.lists(_objects, min_size=1, max_size=4), st.booleans(), st.integers(24, 200))
def test_scanner_matches_a_json_loads_walk(objs, ascii, block):
    text = "\n\n".join(json.dumps(o, ensure_ascii=ascii) for o in objs) + "\n"
    want = []
    for i, o in enumerate(objs):
        _walk(PATHS, o, [], want, i)
    P = J.Paths(PATHS)
    got = []
    for b in J.scan(io.BytesIO(text.encode("utf-8")), P, block_size=block):
        got += [_record(b, r) for r in range(b.rec.shape[0])]  # a block is valid until the next
        assert (np.diff(b.lines) > 0).all()
    assert [(g["obj"], g["leaf"]) for g in got] == [(o, lf) for o, lf, _ in want]
    for g, (_, _, v) in zip(got, want):
        fl = g["flags"]
        if isinstance(v, str):
            assert fl & 7 == J.STRING
            assert g["text"] == v
            assert (g["nchar"], g["nbyte"]) == (len(v), len(v.encode("utf-8", "surrogatepass")))
            if fl & J.IS_PACKED:
                assert g["packed"].to_bytes(8, "little").rstrip(b"\0") == v.strip().encode()
        x = _expected_number(v)
        if v is None or (isinstance(v, str) and (x is None or fl & J.ESCAPE)):
            continue
        if isinstance(v, str) and not (fl & (J.NUMBER | J.FALLBACK)):
            continue  # a string Python reads as a number but JSON grammar does not ("1_0")
        assert g["number"] == x or (math.isnan(x) and math.isnan(g["number"]))


@given(_objects, st.data())
def test_scanner_refuses_every_truncation(obj, data):
    line = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    k = data.draw(st.integers(1, len(line) - 1))
    with pytest.raises(ValueError, match=r"^<bytes>, line 2: (truncated|not valid) JSON"):
        list(J.scan(b'{"a": 1}\n' + line[:k] + b"\n", J.Paths(PATHS)))


def test_openai_fixtures_are_what_their_script_makes(tmp_path):
    pytest.importorskip("openai")
    subprocess.run([sys.executable, os.path.join(OA, "make_fixtures.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    for name in ("gold.csv", "gold.jsonl"):
        with open(os.path.join(OA, name), "rb") as a, open(tmp_path / name, "rb") as b:
            assert a.read() == b.read(), name
    # the completions as read (another openai version may serialise more fields)
    for name in ("completions.jsonl", "batch_output.jsonl"):
        a = fastcal.openai_confidence(os.path.join(OA, name), options="A,B,C,D")
        b = fastcal.openai_confidence(str(tmp_path / name), options="A,B,C,D")
        assert a.keys.tolist() == b.keys.tolist() and a.answers.tolist() == b.answers.tolist()
        assert a.confidence.tolist() == b.confidence.tolist()


def test_scanner_output_overflow_and_threads_change_nothing(monkeypatch):
    """Tiny output arrays (every call fills them: FULL, then more arrays or a grown
    one) and one or two threads give the records of one roomy single-thread scan."""
    path = os.path.join(OA, "batch_output.jsonl")
    from fastcal.llm import openai as _openai

    def records(block_size):
        out = []
        with open(path, "rb") as f:
            for b in J.scan(f, _openai.PATHS, block_size=block_size):
                out += [(b.obj0 + int(b.rec[r, J.OBJ]), int(b.lines[b.rec[r, J.OBJ]]),
                         int(b.rec[r, J.LEAF]), b.text(r) if b.rec[r, J.FLAGS] & 7 == J.STRING
                         else float(b.val[r])) for r in range(b.rec.shape[0])]
        return out

    want = records(1 << 24)
    small = J._outputs
    monkeypatch.setattr(J, "_outputs", lambda cap: small(4 if cap >= 1 << 16 else cap))
    for nt in (1, 2):
        monkeypatch.setattr(J, "_threads", lambda nt=nt: nt)
        for block in (1 << 24, 3000, 700):
            assert records(block) == want
