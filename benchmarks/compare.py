"""Model comparison benchmark (issue 15): ``fastcal.compare`` against the
unpaired per-model reports it replaces, time and peak memory in the same run.

    python benchmarks/compare.py            # n = 1e6 -> benchmarks/RESULTS-compare.md
    python benchmarks/compare.py --quick    # n = 1e5, smoke run (not written)

Targets (issue 15):

* ``compare`` of 5 models on n = 1e6 binary, 1000 resamples: <= 3x the time
  of the 5 unpaired ``calibration_report(ci=0.95)`` calls it replaces, and no
  more than their total memory;
* ``compare`` without intervals (``ci=None``): <= 1.2x the 5 plain reports.

Data: the registry's binary data (Beta(2.5, 1.2) confidences, Bernoulli(p **
1.3) labels); the 5 models are ``p ** a`` for a in (1, 0.8, 0.9, 1.1, 1.2),
all scoring the same labels (so compare runs 4 paired DeLong tests).

Time: the two sides alternate, ``--repeat`` times each after a warm-up;
medians.  Memory: each workload runs in a fresh child process after a
warm-up on small data; the peak resident memory above the resident memory
just before the workload (``VmHWM - VmRSS``, the peak reset through
``/proc/self/clear_refs``), which counts Numba's allocations too.  For the 5
reports, both the peak of the sequence and the sum of each call's own peak
("their total memory") are recorded.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry as R  # noqa: E402
from machine import cpu_info  # noqa: E402

POWERS = (1.0, 0.8, 0.9, 1.1, 1.2)
OUT = os.path.join(HERE, "RESULTS-compare.md")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def models(n):
    d = R.binary_data(n)
    return d.y, {f"p^{a:g}": d.p ** a for a in POWERS}


def run_compare(y, preds, ci, n_resamples):
    import fastcal

    return fastcal.compare(y, preds, ci=ci, n_resamples=n_resamples, random_state=0)


def run_reports(y, preds, ci, n_resamples, each=None):
    import fastcal

    out = []
    for i, p in enumerate(preds.values()):
        kw = {} if ci is None else {"ci": ci, "n_resamples": n_resamples, "random_state": i}
        out.append(fastcal.calibration_report(y, p, **kw))
        if each is not None:
            each()
    return out


# ------------------------------------------------------------------ memory
def _status():
    d = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                d[k] = int(v.split()[0]) * 1024
    return d


def _reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(kind, n, ci, n_resamples):
    """Peak memory (bytes above the resident memory before) of one workload."""
    import gc

    ci = None if ci == "none" else float(ci)
    y, preds = models(n)
    ys, ps = models(5000)
    run_compare(ys, ps, ci, n_resamples)  # compile everything first
    run_reports(ys, ps, ci, n_resamples)
    gc.collect()
    _reset_peak()
    base = _status()["VmRSS"]
    if kind == "compare":
        run_compare(y, preds, ci, n_resamples)
        return {"peak": _status()["VmHWM"] - base}
    peaks = []

    def each():  # after each report: its own peak, then reset
        peaks.append(_status()["VmHWM"] - base)
        gc.collect()
        _reset_peak()

    run_reports(y, preds, ci, n_resamples, each)
    return {"peak": max(peaks), "sum": sum(peaks)}


def child_stream(total, batch, n_resamples):
    """CompareAccumulator of the 5 models over ``total`` rows fed in batches
    (each batch drawn on the fly): seconds, peak memory above the resident
    memory before, and the state's pickled size."""
    import gc
    import pickle

    import fastcal

    names = [f"p^{a:g}" for a in POWERS]
    rs = None if n_resamples == 0 else n_resamples

    def make():
        return fastcal.CompareAccumulator(names, n_resamples=rs, random_state=0)

    ys, ps = models(5000)
    make().update(ys, ps).compute()  # compile first
    rng = np.random.default_rng(1)
    acc = make()
    gc.collect()
    _reset_peak()
    base = _status()["VmRSS"]
    t = time.perf_counter()
    for _ in range(total // batch):
        p = rng.beta(2.5, 1.2, size=batch)
        y = (rng.random(batch) < p ** 1.3).astype(np.int64)
        acc.update(y, {k: p ** a for k, a in zip(names, POWERS)})
    acc.compute()
    dt = time.perf_counter() - t
    return {"seconds": dt, "peak": _status()["VmHWM"] - base,
            "state": len(pickle.dumps(acc)), "n": acc.n}


def measure_memory(n, ci, n_resamples):
    out = {}
    for kind in ("compare", "reports"):
        r = subprocess.run([sys.executable, __file__, "--child", kind, "--n", str(n),
                            "--ci", "none" if ci is None else str(ci),
                            "--resamples", str(n_resamples)],
                           capture_output=True, text=True, check=True)
        out[kind] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


# -------------------------------------------------------------------- time
def measure_time(y, preds, ci, n_resamples, repeat):
    run_compare(y, preds, ci, n_resamples)  # warm-up (compilation, page faults)
    run_reports(y, preds, ci, n_resamples)
    tc, tr = [], []
    for _ in range(repeat):  # alternate so that load changes hit both sides
        t = time.perf_counter()
        run_compare(y, preds, ci, n_resamples)
        tc.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_reports(y, preds, ci, n_resamples)
        tr.append(time.perf_counter() - t)
    return float(np.median(tc)), float(np.median(tr)), tc, tr


def mib(b):
    return f"{b / 2 ** 20:.1f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--output", default=None)
    ap.add_argument("--child", choices=("compare", "reports", "stream"), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ci", help=argparse.SUPPRESS)
    ap.add_argument("--resamples", type=int, default=1000, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "stream":
        print(json.dumps(child_stream(args.n, 1_000_000, args.resamples)))
        return 0
    if args.child:
        print(json.dumps(child(args.child, args.n, args.ci, args.resamples)))
        return 0
    import fastcal

    n = 100_000 if args.quick else 1_000_000
    R_ = 1000
    load_start = loadavg()
    y, preds = models(n)
    rows = []
    for label, ci, target_t in (("with intervals (ci=0.95, 1000 resamples)", 0.95, 3.0),
                                ("without intervals (ci=None)", None, 1.2)):
        tc, tr, all_c, all_r = measure_time(y, preds, ci, R_, args.repeat)
        mem = measure_memory(n, ci, R_)
        rows.append((label, ci, target_t, tc, tr, all_c, all_r, mem, loadavg()))
    n_stream = 10_000_000 if args.quick else 100_000_000
    streams = []
    for rs in (0, 100):
        r = subprocess.run([sys.executable, __file__, "--child", "stream", "--n", str(n_stream),
                            "--resamples", str(rs)], capture_output=True, text=True, check=True)
        streams.append((rs, json.loads(r.stdout.strip().splitlines()[-1]), loadavg()))
    load_end = loadavg()
    cpu, isa, usable = cpu_info()

    L = ["# Model comparison benchmark (issue 15)", ""]
    L.append(f"fastcal {fastcal.__version__}, numpy {np.__version__}, python "
             f"{platform.python_version()}; {cpu} ({', '.join(isa) or 'no avx2'}), {usable} "
             f"usable cores, shared with other jobs. Written by `benchmarks/compare.py` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    L.append(f"Load average (1/5/15 min): {load_start} at start, {load_end} at end.")
    L.append("")
    L.append(f"Workload: {len(preds)} binary models (`p ** a`, a in {POWERS}) on n = {n:,} rows "
             "with shared labels. `compare` = `fastcal.compare(y, models, ci=..., "
             "n_resamples=1000, random_state=0)` (paired bootstrap + 4 paired DeLong tests); "
             "the reports = one `fastcal.calibration_report(y, p, ci=..., n_resamples=1000, "
             "random_state=i)` per model. Times: medians of "
             f"{args.repeat} alternating runs after a warm-up. Memory: peak resident memory "
             "above the resident memory before the workload, in a fresh process after a "
             "warm-up (Numba's allocations included); for the reports, the largest single "
             "call's peak and the sum of the 5 calls' peaks (\"their total memory\").")
    L.append("")
    L.append("## Targets (ratios from the same run)")
    L.append("")
    L.append("| target | required | measured | result |")
    L.append("|---|---|---|---|")
    for label, ci, target_t, tc, tr, _, _, mem, _ in rows:
        ratio = tc / tr
        L.append(f"| `compare` {label}: time | <= {target_t:g}x the 5 reports | {ratio:.2f}x | "
                 f"{'PASS' if ratio <= target_t else 'MISS'} |")
        if ci is not None:
            m = mem["compare"]["peak"] / mem["reports"]["sum"]
            L.append(f"| `compare` {label}: peak memory | <= the 5 reports' total | "
                     f"{m:.2f}x | {'PASS' if m <= 1.0 else 'MISS'} |")
    L.append("")
    L.append("## Details")
    L.append("")
    L.append("| workload | compare (median) | 5 reports (median) | ratio | compare peak memory | "
             "one report's peak | 5 reports' peaks summed | load after |")
    L.append("|---|---|---|---|---|---|---|---|")
    for label, ci, target_t, tc, tr, all_c, all_r, mem, load in rows:
        L.append(f"| {label} | {tc * 1e3:.1f} ms | {tr * 1e3:.1f} ms | {tc / tr:.2f}x | "
                 f"{mib(mem['compare']['peak'])} | {mib(mem['reports']['peak'])} | "
                 f"{mib(mem['reports']['sum'])} | {load} |")
    L.append("")
    L.append(f"## Streaming: `CompareAccumulator`, {len(POWERS)} models, {n_stream:,} rows")
    L.append("")
    L.append("Batches of 1,000,000 rows drawn on the fly (the data never exist at once), "
             "`auroc=\"bounded\"`; peak resident memory above the resident memory before the "
             "stream, in a fresh process after a warm-up.")
    L.append("")
    L.append("| bootstrap | rows | time | peak memory | pickled state | load after |")
    L.append("|---|---|---|---|---|---|")
    for rs, st, load in streams:
        L.append(f"| {'none' if rs == 0 else f'{rs} resamples'} | {st['n']:,} | "
                 f"{st['seconds']:.1f} s | {mib(st['peak'])} | {mib(st['state'])} | {load} |")
    L.append("")
    L.append("Every run (seconds), compare / reports:")
    L.append("")
    for label, _, _, _, _, all_c, all_r, _, _ in rows:
        L.append(f"* {label}: " + ", ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(all_c, all_r)))
    L.append("")
    text = "\n".join(L)
    print(text)
    if not args.quick or args.output:
        with open(args.output or OUT, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
