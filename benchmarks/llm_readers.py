"""LLM evaluation readers (issue 14): fastcal's byte scanner against a
per-line ``json.loads`` reader in Python, measured in the same run.

    python benchmarks/llm_readers.py           # full sizes -> benchmarks/RESULTS-llm-readers.md
    python benchmarks/llm_readers.py --quick   # small sizes, smoke run (not written)

Targets (issue 14):

* 1e6 OpenAI-style chat-completion lines (about 700 MB), answers and
  confidences with options A-D: >= 3x the json.loads reader, memory bounded
  (the file is streamed in 16 MiB blocks: the peak RSS rise is reported);
* an lm-eval samples file of 1e5 documents, the ``acc_norm`` report:
  >= 3x the json.loads reader (which then hands the same arrays to
  ``multiple_choice_report``).

Each timing is the median of 5 runs after a warm-up run, the two readers'
runs alternating so that both see the same load on a shared machine (the
file is in the page cache for both).  The scanner's compile time is measured in a
fresh process with an empty Numba cache, and its load time from the cache.
"""

import argparse
import datetime as _dt
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from machine import cpu_info, loadavg  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
import reference_llm_readers as ref  # noqa: E402

OPTIONS = ["A", "B", "C", "D"]
FIXTURE = os.path.join(ROOT, "tests", "data", "openai", "batch_output.jsonl")
MiB = 1 << 20


# ------------------------------------------------------------------ files
def _completion_line(rng, i):
    toks = OPTIONS[:] + [" " + o for o in OPTIONS[:2]] + ["The", "\n"]
    rng.shuffle(toks)
    z = [rng.gauss(0, 2) for _ in toks]
    m = max(z)
    lse = m + math.log(sum(math.exp(v - m) for v in z))
    top = sorted(((t, v - lse) for t, v in zip(toks, z)), key=lambda t: -t[1])
    body = {
        "id": f"chatcmpl-{i:08d}", "object": "chat.completion", "created": 1700000000 + i,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": top[0][0], "refusal": None},
                     "logprobs": {"content": [{"token": top[0][0], "logprob": top[0][1],
                                               "bytes": list(top[0][0].encode()),
                                               "top_logprobs": [
                                                   {"token": t, "logprob": lp,
                                                    "bytes": list(t.encode())}
                                                   for t, lp in top[:5]]}],
                                  "refusal": None}}],
        "usage": {"prompt_tokens": 91, "completion_tokens": 1, "total_tokens": 92},
    }
    return json.dumps({"id": f"batch_req_{i:08d}", "custom_id": f"request-{i}",
                       "response": {"status_code": 200, "request_id": f"req_{i:08d}",
                                    "body": body}, "error": None})


def make_openai(path, n, seed=0):
    rng = random.Random(seed)
    # distinct lines are expensive to make in Python: 997 templates, ids varied per line
    tmpl = [_completion_line(rng, i) for i in range(997)]
    with open(path, "w") as f:
        for i in range(n):
            t = tmpl[i % 997]
            f.write(t.replace(f"request-{i % 997}\"", f"request-{i}\"", 1) + "\n")
    return path


def make_lm_eval(path, n, seed=0):
    """n documents shaped like lm-eval's multiple-choice samples: its own fixture lines
    (tests/data/lm_eval, 2-5 options) with fresh doc ids, log-likelihoods, metric fields
    and longer questions."""
    import glob

    (src,) = glob.glob(os.path.join(ROOT, "tests", "data", "lm_eval", "samples_fc_mc_*.jsonl"))
    with open(src, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    rng = random.Random(seed)
    words = ("the of a to in is was for on that with as by at from his an were are which "
             "this be or has had it not but its first new after two also one been they who "
             "their other more time when during city can would about there most").split()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            d = docs[i % len(docs)]
            d["doc_id"] = i
            # a HellaSwag-sized context (about 300 characters), in the doc and every request
            q = " ".join(rng.choice(words) for _ in range(60)) + f" ({i})?"
            d["doc"]["question"] = q
            for a in d["arguments"].values():
                a["arg_0"] = f"Question: {q}\nAnswer:"
            lls = [str(-rng.random() * 5) for _ in d["filtered_resps"]]
            d["filtered_resps"] = [[x, "False"] for x in lls]
            d["resps"] = [[[x, "False"]] for x in lls]
            choices = [a["arg_1"][1:] for a in d["arguments"].values()]
            z = np.array([float(x) for x in lls]) / np.array([len(c) for c in choices])
            d["acc_norm"] = float(int(np.argmax(z)) == int(d["target"]))
            z = np.array([float(x) for x in lls])
            d["acc"] = float(int(np.argmax(z)) == int(d["target"]))
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------- json.loads readers
def json_loads_openai(path, options):
    """keys, answers, confidences: the tests' per-line json.loads reader."""
    keys, answers, conf = ref.openai_lines(path, options)
    return np.array(keys), np.array(answers), conf


def json_loads_lm_eval(path):
    """The acc_norm report: per line json.loads, the flat arrays, one
    multiple_choice_report (the same call fastcal's reader ends with)."""
    import fastcal

    gold, ll, off, lens = [], [], [0], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            ll += [float(r[0]) for r in d["filtered_resps"]]
            lens += [len(a["arg_1"]) - 1 for a in d["arguments"].values()]
            off.append(len(ll))
            gold.append(int(d["target"]))
    return fastcal.multiple_choice_report(gold, ll, offsets=off, option_lengths=lens)


# ------------------------------------------------------------------ timing
def interleaved_medians(fa, fb, repeat=5):
    """Median wall times of ``fa`` and ``fb`` called alternately ``repeat`` times each
    after one warm-up call of each: on a shared machine both see the same load."""
    import time

    fa()
    fb()
    ta, tb = [], []
    for _ in range(repeat):
        for f, ts in ((fa, ta), (fb, tb)):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
    return float(np.median(ta)), float(np.median(tb))


def _child(code, env=None):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_rise(path, options):
    """(RSS before, peak RSS while reading ``path``, bytes of the outputs) in a fresh
    process: the peak (VmHWM) is reset after a warm-up read (Linux clear_refs)."""
    code = f"""
import json, fastcal


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024


fastcal.openai_confidence({FIXTURE!r}, options={options!r})  # compiled / loaded
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak RSS to the current RSS
before = status("VmRSS")
out = fastcal.openai_confidence({path!r}, options={options!r})
after = status("VmHWM")
print(json.dumps([before, after, sum(a.nbytes for a in out)]))
"""
    return _child(code)


def compile_times():
    """(cold compile + first call, load from the cache + first call) of the scanner, in
    fresh processes: the first with an empty NUMBA_CACHE_DIR, the second reusing it."""
    code = """
import json, time
t = time.perf_counter()
from fastcal.io import jsonscan
from fastcal.llm import openai
line = (b'{"custom_id": "a", "response": {"body": {"choices": [{"logprobs": {"content": '
        b'[{"token": " A", "logprob": -0.1, "top_logprobs": []}]}}]}}}\\n')
for b in jsonscan.scan(line, openai.PATHS):
    pass
print(json.dumps(time.perf_counter() - t))
"""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, FASTCAL_QUIET="1")
        cold = _child(code, env)
        warm = _child(code, env)
    return cold, warm


# -------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; nothing written")
    ap.add_argument("--n-openai", type=int, default=1_000_000)
    ap.add_argument("--n-lm-eval", type=int, default=100_000)
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS-llm-readers.md"))
    a = ap.parse_args(argv)
    if a.quick:
        a.n_openai, a.n_lm_eval = 20_000, 5_000
    import fastcal

    load0 = loadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        po = make_openai(os.path.join(tmp, "batch_output.jsonl"), a.n_openai)
        size_o = os.path.getsize(po)
        want = json_loads_openai(po, OPTIONS)
        got = fastcal.openai_confidence(po, options=OPTIONS)
        assert (got.keys == want[0]).all() and (got.answers == want[1]).all()
        assert np.allclose(got.confidence, want[2], rtol=1e-14, atol=0)
        t_ref, t_fc = interleaved_medians(lambda: json_loads_openai(po, OPTIONS),
                                          lambda: fastcal.openai_confidence(po, options=OPTIONS))
        before, after, outputs = peak_rss_rise(po, OPTIONS)
        rows.append(("OpenAI batch output lines, options A-D", a.n_openai, size_o, t_ref, t_fc,
                     f"peak RSS rise {(after - before) / MiB:.0f} MiB (outputs "
                     f"{outputs / MiB:.0f} MiB; file {size_o / MiB:.0f} MiB)"))
        os.remove(po)

        pl = make_lm_eval(os.path.join(tmp, "samples_bench_2026-01-01T00-00-00.0.jsonl"),
                          a.n_lm_eval)
        size_l = os.path.getsize(pl)
        r_ref = json_loads_lm_eval(pl)
        r_fc = fastcal.lm_eval_report(pl, norm="chars")["bench"]
        assert r_fc.accuracy == r_ref.accuracy and math.isclose(r_fc.ece, r_ref.ece,
                                                                rel_tol=1e-12)
        t_ref, t_fc = interleaved_medians(lambda: json_loads_lm_eval(pl),
                                          lambda: fastcal.lm_eval_report(pl, norm="chars"))
        rows.append(("lm-eval samples, acc_norm report", a.n_lm_eval, size_l, t_ref, t_fc,
                     f"accuracy {r_fc.accuracy:.4f} = lm-eval's own acc_norm"))
    cold, warm = compile_times()
    load1 = loadavg()
    cpu, isa, usable = cpu_info()
    lines = [
        "# LLM evaluation readers: fastcal against a per-line json.loads reader",
        "",
        f"Made by `python benchmarks/llm_readers.py` on "
        f"{_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
        f"- machine: {cpu}" + (f" ({', '.join(isa)})" if isa else "")
        + f"; {os.cpu_count()} logical cores, {usable} usable; {platform.system()} "
        f"{platform.release()}",
        f"- load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in load0)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in load1)} at the end (a shared machine: other "
        "processes ran beside both readers)",
        f"- Python {platform.python_version()}, numpy {np.__version__}, numba "
        f"{__import__('numba').__version__}",
        "- each time: the median of 5 runs after a warm-up run, the two readers' runs "
        "alternating (so both see the same load), in this process on the same file (in the "
        "page cache); outputs checked equal first; fastcal scans each 16 MiB block in two "
        "threads (two parts split at a newline), the json.loads reader is one thread",
        "",
        "| file | lines | size | json.loads reader | fastcal | ratio | target | note |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, n, size, t_ref, t_fc, note in rows:
        lines.append(f"| {name} | {n:,} | {size / MiB:,.0f} MiB | {t_ref:.3f} s | "
                     f"{t_fc:.3f} s | {t_ref / t_fc:.1f}x | >= 3x | {note} |")
    lines += [
        "",
        f"Scanner compile (fresh process, empty Numba cache, import + first call): "
        f"{cold:.2f} s; from the on-disk cache: {warm:.2f} s. One specialisation "
        "(`scan_block` and its helpers, uint8 buffer in, int64/float64 arrays out).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not a.quick:
        with open(a.output, "w") as f:
            f.write(text)
        print(f"written to {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
