"""Run the whole benchmark registry and write ``benchmarks/RESULTS.md``.

    python benchmarks/run.py            # full sizes (n = 1e3, 1e6, 1e7); several minutes
    python benchmarks/run.py --quick    # small sizes, smoke run -> benchmarks/RESULTS-quick.md

Timing is timeit-style, one implementation at a time: a warm-up call (which
also yields the value checked for agreement), then ``repeats`` timed repeats
of ``loops`` calls each with the garbage collector off; the reported time is
the median over repeats of the per-call time.  Small inputs get more loops
and repeats, calls of a second or more get 5 repeats.

Extra peak memory is measured in a fresh subprocess per implementation
(data loaded from .npy, no transient), after a warm-up on small data:

* ``ru_maxrss``: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after the
  call minus before it (the high-water mark; a lower bound when the
  warm-up left the mark above the current RSS);
* ``VmHWM``: the kernel's peak-RSS mark reset (``/proc/self/clear_refs``
  <- 5) just before a second call, then ``VmHWM - VmRSS(before)``: exact
  up to page granularity, and sees allocations made inside Numba kernels
  (NRT) and torch, which tracemalloc does not;
* ``tracemalloc``: peak of traced Python/numpy allocations during a third
  call (blind to NRT and torch allocations).

The target verdicts use ``VmHWM`` when the kernel supports the reset and
``ru_maxrss`` otherwise.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import registry as R  # noqa: E402
from machine import cpu_info  # noqa: E402

MiB = 1024 * 1024

# ---------------------------------------------------------------------------
# timing


def calibrate(fn, *, min_repeat_time=0.02, budget=None):
    """Warm up ``fn`` and choose its loops per repeat and its number of repeats.

    Returns ``(value_of_warmup_call, loops, repeats)``: ``loops`` grows like
    timeit.autorange until one repeat takes ``min_repeat_time``; small calls
    get more repeats (15), calls of a second or more get 5, all within
    ``budget`` seconds when given (at least 3 repeats).
    """
    value = fn()  # warm-up (compilation, caches, lazy imports inside peers)
    loops = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_repeat_time:
            break
        loops *= 10 if dt < min_repeat_time / 20 else 2
    est = dt / loops
    if est >= 1.0:
        repeats = 5
    elif est >= 0.1:
        repeats = 7
    elif est * loops >= 0.01:
        repeats = 11
    else:
        repeats = 15
    if budget is not None:
        repeats = max(3, min(repeats, int(budget / (est * loops)) or 3))
    return value, loops, repeats


def time_interleaved(fns, plans):
    """Time several calls in interleaved rounds; per call the median and min seconds.

    Round r runs, one after the other, ``loops`` calls of every function that
    still needs a repeat, so a slow drift of the machine's load (a shared
    machine) hits all implementations alike instead of whichever ran during
    the busy minute.
    """
    times = {k: [] for k in fns}
    rounds = max(plans[k][1] for k in fns) if fns else 0
    gc.collect()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            for k, fn in fns.items():
                loops, repeats = plans[k]
                if r >= repeats:
                    continue
                t0 = time.perf_counter()
                for _ in range(loops):
                    fn()
                times[k].append((time.perf_counter() - t0) / loops)
    finally:
        if gc_was:
            gc.enable()
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def fmt_time(t):
    if t is None or not math.isfinite(t):
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.2f} us"
    if t < 1.0:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_ratio(r):
    if r is None or not math.isfinite(r):
        return "-"
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def fmt_n(n):
    e = math.log10(n)
    if n >= 1000 and abs(e - round(e)) < 1e-9:
        return f"1e{round(e)}"
    return str(n)


# ---------------------------------------------------------------------------
# environment


def _version(mod):
    try:
        m = __import__(mod)
        return getattr(m, "__version__", "?")
    except Exception:
        return "not installed"


def environment():
    cpu, isa, usable = cpu_info()
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import numba

    import fastcal

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not initialised"
    env = {
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu + (f" ({', '.join(isa)})" if isa else ""),
        "cores": f"{os.cpu_count()} logical, {usable} usable",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": f"{numba.__version__} (threading layer {layer}, {numba.config.NUMBA_NUM_THREADS} threads)",
        "fastcal": f"{fastcal.__version__} ({git_state()})",
    }
    for mod, label in (("sklearn", "scikit-learn"), ("scipy", "scipy"), ("torch", "torch"),
                       ("torchmetrics", "torchmetrics"), ("netcal", "netcal")):
        env[label] = _version(mod)
    if env["torch"] != "not installed":
        torch = R._torch()
        env["torch"] += f" (CPU, {torch.get_num_threads()} threads)"
    return env


def git_state():
    root = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fastcal"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.rstrip()
    except Exception:
        return "git state unknown"
    if not head:
        return "git state unknown"
    if dirty:
        files = sorted({ln[3:] for ln in dirty.splitlines() if ln.strip()})
        return f"git {head} + uncommitted changes in {', '.join(files)}"
    return f"git {head}"


# ---------------------------------------------------------------------------
# memory (subprocess per implementation)


def _read_status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mem_child(case_name, impl_name, datadir):
    """Child process: extra peak memory of one call on the saved data; prints JSON."""
    warnings.simplefilter("ignore")
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    own = _read_status()
    case = R.COMPARISONS[case_name]
    impl = case.impls[impl_name]
    data = R.Data(y=np.load(os.path.join(datadir, "y.npy")),
                  p=np.load(os.path.join(datadir, "p.npy")))
    small = R.binary_data(1 << 18, seed=1)  # above fastcal's parallel threshold
    impl(small)  # imports, compilation, thread pools
    fn = impl.setup(data)
    gc.collect()
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"ru_maxrss": r1 - r0, "vmhwm": None,
           # ru_maxrss starts at the launching process's mark (Linux keeps the
           # pre-exec mark); the parent launches children while still small
           "inherited_mark": start > own["VmHWM"] + 8 * MiB, "rss_before": r0}
    gc.collect()
    if _reset_hwm():
        before = _read_status()["VmRSS"]
        fn()
        out["vmhwm"] = max(0, _read_status()["VmHWM"] - before)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    out["tracemalloc"] = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    print(json.dumps(out))


def datagen_child(n, datadir):
    """Child process: write the binary data of size n as .npy (keeps the parent small)."""
    data = R.binary_data(int(n))
    np.save(os.path.join(datadir, "y.npy"), data.y)
    np.save(os.path.join(datadir, "p.npy"), data.p)


def measure_memory(cases, n, log):
    """Extra peak memory per (case, implementation) at size n, each in a fresh process.

    Runs before the parent imports torch or builds large arrays: on Linux a
    child's ru_maxrss starts at the parent's high-water mark, which would hide
    the child's own peak.
    """
    results = {}
    with tempfile.TemporaryDirectory(prefix="fastcal-bench-") as tmp:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--mem-datagen", str(n), tmp],
                       check=True, timeout=600)
        for cname in cases:
            case = R.COMPARISONS[cname]
            if not case.memory:
                continue
            for iname, impl in case.impls.items():
                if impl.baseline or not impl.available():
                    continue
                cmd = [sys.executable, os.path.abspath(__file__), "--mem-child", cname, iname, tmp]
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
                if proc.returncode != 0:
                    err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    results[(cname, iname)] = {"error": err}
                    log(f"  memory {cname:12s} {iname:14s} ERROR {err}")
                    continue
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                results[(cname, iname)] = res
                log(f"  memory {cname:12s} {iname:14s} ru_maxrss {res['ru_maxrss'] / MiB:8.2f} MiB"
                    f"  VmHWM {fmt_mib(res['vmhwm'])}  tracemalloc {res['tracemalloc'] / MiB:8.2f} MiB"
                    f"  ({time.perf_counter() - t0:.1f} s)")
    return results


def fmt_mib(b):
    if b is None:
        return "-"
    return f"{b / MiB:.2f} MiB"


def mem_primary(res):
    """The number the target uses: VmHWM reset when available, else ru_maxrss."""
    if res is None or "error" in res:
        return None
    return res["vmhwm"] if res.get("vmhwm") is not None else res["ru_maxrss"]


# ---------------------------------------------------------------------------
# main run


def run_timings(cases, sizes_for, log):
    """results[(case, impl, n)] = dict(time, min_time, value, expected, diff, ok, error, ...)."""
    results = {}
    for cname in cases:
        case = R.COMPARISONS[cname]
        for n in sizes_for(case):
            data = case.data(n)
            load = loadavg()
            log(f"{cname} {case.size_label}={fmt_n(n)}  [{data.describe()}]  load {load}")
            ref_ok = case.impls["fastcal"].available()
            budget = 40.0 if n >= 1_000_000 else 5.0
            fns, plans = {}, {}
            for iname, impl in case.impls.items():
                key = (cname, iname, n)
                if not impl.available():
                    results[key] = {"missing": impl.missing()}
                    log(f"  {iname:24s} missing ({', '.join(impl.missing())})")
                    continue
                try:
                    fn = impl.setup(data)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        value, loops, reps = calibrate(fn, budget=budget)
                except Exception as exc:  # a peer failing must not stop the run
                    results[key] = {"error": f"{type(exc).__name__}: {exc}"}
                    log(f"  {iname:24s} ERROR {type(exc).__name__}: {exc}")
                    continue
                r = {"repeats": reps, "loops": loops, "load": load}
                if impl.baseline:
                    r.update(ok=None)
                elif not ref_ok:
                    r.update(ok=None, value=float(value))
                else:
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            ok, v, e, d = R.check_agreement(case, iname, data, value=value)
                        r.update(ok=ok, value=v, expected=e, diff=d)
                    except Exception as exc:
                        r.update(ok=False, error=f"agreement check: {type(exc).__name__}: {exc}")
                results[key] = r
                fns[iname], plans[iname] = fn, (loops, reps)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timed = time_interleaved(fns, plans)
            for iname, (t, tmin) in timed.items():
                r = results[(cname, iname, n)]
                r.update(time=t, min_time=tmin)
                agree = ("-" if r["ok"] is None else
                         ("ok" if r["ok"] else "DISAGREES")
                         + f" (|diff| {r.get('diff', float('nan')):.1e})")
                log(f"  {iname:24s} {fmt_time(t):>10s} (min {fmt_time(tmin):>10s})  "
                    f"x{r['repeats']}x{r['loops']}  {agree}")
            fns.clear()
    return results


def ratio(results, case, peer, n, base="fastcal", key="time"):
    a = results.get((case, peer, n), {}).get(key)
    b = results.get((case, base, n), {}).get(key)
    if a is None or b is None:
        return None
    return a / b


# ---------------------------------------------------------------------------
# report


def write_report(path, env, results, mem, cases, sizes_for, mem_n, quick, wall):
    L = []
    L.append("# fastcal benchmark results")
    L.append("")
    L.append(f"Written by `python benchmarks/run.py{' --quick' if quick else ''}`; "
             f"every number below comes from this one run ({wall / 60:.1f} min).")
    if quick:
        L.append("")
        L.append("**Quick smoke run: small sizes. The targets are defined at n = 1e7 / "
                 "(1e6, 100) and are only indicative here.**")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    for k, v in env.items():
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("Times are medians over repeats (timeit-style: warm-up call, then repeats of "
             "`loops` calls with the GC off; the implementations of one case and size are timed "
             "in interleaved rounds, so load drift hits all alike; verdicts use the medians, "
             "the ratio of minimum times is shown beside them as a load-robust check; "
             "RESULTS.json has every min and the load average per case; the run itself adds "
             "about 1 to the load average). "
             "Ratio = peer time / fastcal time (higher is "
             "better for fastcal). Agreement: each value vs fastcal under the same bin "
             "convention, within the stated absolute tolerance (see `benchmarks/registry.py`). "
             "Peers run with their default argument validation; torch uses 2 threads; "
             "torch tensors are built (zero-copy) outside the timing.")
    L.append("")

    # ---- targets
    L.append("## Targets")
    L.append("")
    L += targets_table(results, mem, sizes_for, mem_n, quick, cases)
    L.append("")

    # ---- per case
    for cname in cases:
        case = R.COMPARISONS[cname]
        sizes = sizes_for(case)
        L.append(f"## {cname}: {case.title}")
        L.append("")
        ex = case.data(sizes[-1])
        L.append(f"Data at the largest size: {ex.describe()}." + (f" {case.note}" if case.note else ""))
        loads = [results.get((cname, "fastcal", n), {}).get("load") for n in sizes]
        L.append("Load average (1/5/15 min) when each size started: "
                 + "; ".join(f"{fmt_n(n)}: {ld}" for n, ld in zip(sizes, loads) if ld) + ".")
        L.append("")
        head = "| implementation | " + " | ".join(
            f"{case.size_label} = {fmt_n(n)} | ratio" for n in sizes) + " | agreement |"
        L.append(head)
        L.append("|---|" + "---:|---:|" * len(sizes) + "---|")
        notes = []
        for iname, impl in case.impls.items():
            cells = []
            oks, diffs, errors = [], [], []
            for n in sizes:
                r = results.get((cname, iname, n), {})
                if "missing" in r:
                    cells += ["not installed", "-"]
                    continue
                if "time" not in r:
                    cells += ["error", "-"]
                    errors.append(r.get("error", "?"))
                    continue
                rt = ratio(results, cname, iname, n)
                cells += [fmt_time(r["time"]), "1" if iname == "fastcal" else fmt_ratio(rt)]
                if r.get("ok") is not None:
                    oks.append(r["ok"])
                    diffs.append(r.get("diff", float("nan")))
                if "error" in r:
                    errors.append(r["error"])
            if impl.baseline:
                agree = "baseline (no value)"
            elif not oks:
                agree = "-" if not errors else "error"
            elif all(oks):
                agree = "exact" if max(diffs) == 0 else f"ok, max diff {max(diffs):.1e} (tol {impl.tol:g})"
            else:
                agree = f"**DISAGREES**: max diff {max(diffs):.2e} > tol {impl.tol:g}"
            conv = ""
            if impl.ref_kwargs:
                conv = " vs fastcal " + ", ".join(f"{k}={v}" for k, v in impl.ref_kwargs.items())
            L.append(f"| {iname} | " + " | ".join(cells) + f" | {agree}{conv} |")
            if impl.note:
                notes.append(f"- **{iname}**: {impl.note}")
            for e in dict.fromkeys(errors):
                notes.append(f"- **{iname}** error: `{e}`")
        L.append("")
        L += notes
        L.append("")

    # ---- memory
    if mem:
        L.append(f"## Extra peak memory at n = {fmt_n(mem_n)}")
        L.append("")
        L.append("Each implementation in a fresh subprocess: data loaded from .npy, warm-up on "
                 "2^18 samples, then the call on the full data. `ru_maxrss`: high-water-mark "
                 "delta over the first full call (a lower bound if warm-up left the mark above "
                 "the current RSS). `VmHWM`: peak-RSS mark reset through /proc/self/clear_refs "
                 "just before a second call, peak minus RSS before (sees Numba NRT and torch "
                 "allocations). `tracemalloc`: traced Python/numpy allocations only (blind to "
                 "Numba NRT and torch). The input itself is "
                 f"{(R.cached_data('binary', mem_n).p.nbytes + R.cached_data('binary', mem_n).y.nbytes) / MiB:.0f} MiB.")
        L.append("")
        L.append("| case | implementation | ru_maxrss delta | VmHWM delta | tracemalloc peak |")
        L.append("|---|---|---:|---:|---:|")
        for (cname, iname), res in mem.items():
            if "error" in res:
                L.append(f"| {cname} | {iname} | error: {res['error']} | | |")
                continue
            inh = " (inherited mark: lower bound)" if res.get("inherited_mark") else ""
            L.append(f"| {cname} | {iname} | {fmt_mib(res['ru_maxrss'])}{inh} | {fmt_mib(res['vmhwm'])} "
                     f"| {fmt_mib(res['tracemalloc'])} |")
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def targets_table(results, mem, sizes_for, mem_n, quick, cases):
    big = {c: sizes_for(R.COMPARISONS[c])[-1] for c in R.COMPARISONS}
    rows = []
    skipped = "not run (--cases / --no-memory)"

    def speed(label, case, peer, need):
        n = big[case]
        r = ratio(results, case, peer, n)
        tp = results.get((case, peer, n), {}).get("time")
        tf = results.get((case, "fastcal", n), {}).get("time")
        if r is None:
            rows.append((label, f">= {need}x" if need else "(peer)",
                         "not measured" if case in cases else skipped, "-",
                         ("MISS" if case in cases else "-") if need else "info"))
            return
        rmin = ratio(results, case, peer, n, key="min_time")
        meas = (f"{fmt_ratio(r)} ({peer} {fmt_time(tp)}, fastcal {fmt_time(tf)}); "
                f"ratio of min times {fmt_ratio(rmin)}")
        rows.append((label, f">= {need}x" if need else "(peer)", meas,
                     f"{R.COMPARISONS[case].size_label}={fmt_n(n)}",
                     ("PASS" if r >= need else "MISS") if need else "info"))

    def speed_at(label, case, peer, need, n):
        """speed() at size n when it was run, else at the largest size run
        (quick runs), labelled with the size actually measured."""
        sizes = sizes_for(R.COMPARISONS[case])
        if n in sizes:
            big[case], keep = n, big[case]
            try:
                speed(label, case, peer, need)
            finally:
                big[case] = keep
        elif n == max(R.COMPARISONS[case].sizes):
            speed(label, case, peer, need)

    speed("binary ECE vs torchmetrics", "binary_ece", "torchmetrics", 20)
    speed("binary ECE vs numpy searchsorted/bincount", "binary_ece", "numpy", 10)
    speed("binary MCE vs torchmetrics", "binary_mce", "torchmetrics", 20)
    speed("binary MCE vs numpy searchsorted/bincount", "binary_mce", "numpy", 10)
    speed("binary ECE vs sklearn calibration_curve", "binary_ece", "sklearn", 0)
    speed("binary ECE vs netcal", "binary_ece", "netcal", 0)
    speed("Brier vs sklearn brier_score_loss", "brier", "sklearn", 30)
    speed("NLL vs sklearn log_loss", "nll", "sklearn", 30)
    speed("AUROC vs sklearn roc_auc_score", "auroc", "sklearn", 10)
    # faster than one np.sort: ratio np.sort / fastcal > 1
    n = big["auroc"]
    r = ratio(results, "auroc", "np.sort", n)
    if r is None:
        rows.append(("AUROC faster than one np.sort of the scores", "> 1x",
                     "not measured" if "auroc" in cases else skipped, "-",
                     "MISS" if "auroc" in cases else "-"))
    else:
        rows.append(("AUROC faster than one np.sort of the scores", "> 1x",
                     f"{fmt_ratio(r)} (np.sort {fmt_time(results[('auroc', 'np.sort', n)]['time'])}, "
                     f"fastcal {fmt_time(results[('auroc', 'fastcal', n)]['time'])}); ratio of min "
                     f"times {fmt_ratio(ratio(results, 'auroc', 'np.sort', n, key='min_time'))}",
                     f"n={fmt_n(n)}", "PASS" if r > 1 else "MISS"))
    speed("AUROC vs torchmetrics binary_auroc", "auroc", "torchmetrics", 0)
    speed("top-label ECE vs torchmetrics", "toplabel_ece", "torchmetrics", 10)
    # issue 4: calibrators
    speed_at("IsotonicRegression.fit vs sklearn (ties)", "isotonic_fit", "sklearn", 5, 1_000_000)
    speed_at("IsotonicRegression.fit vs sklearn (ties)", "isotonic_fit", "sklearn", 5, 10_000_000)
    speed("IsotonicRegression.fit vs scipy presorted PAV (ties)", "isotonic_fit",
          "scipy presorted PAV", 0)
    for case in ("temperature_c10", "temperature_c1000"):
        speed(f"temperature fit {case[len('temperature_c'):]} classes vs torch LBFGS (Guo)", case,
              "torch LBFGS", 10)
        speed(f"temperature fit {case[len('temperature_c'):]} classes vs scipy minimize_scalar",
              case, "scipy minimize_scalar", 10)
    speed("Platt fit vs sklearn sigmoid calibration", "platt_fit", "sklearn sigmoid", 0)
    # memory
    for case in ("binary_ece", "brier", "nll"):
        res = mem.get((case, "fastcal")) if mem else None
        b = mem_primary(res)
        if b is None:
            measured = bool(mem) and case in cases
            rows.append((f"extra peak memory, {case}", "< 4 MiB",
                         "not measured" if measured else skipped, "-", "MISS" if measured else "-"))
            continue
        how = "VmHWM" if res.get("vmhwm") is not None else "ru_maxrss"
        peers = []
        for (c, i), pr in mem.items():
            if c == case and i != "fastcal" and mem_primary(pr) is not None:
                peers.append(f"{i} {mem_primary(pr) / MiB:.0f}")
        rows.append((f"extra peak memory, {case}", "< 4 MiB",
                     f"{b / MiB:.2f} MiB ({how}; ru_maxrss {fmt_mib(res['ru_maxrss'])}); peers MiB: "
                     + ", ".join(peers), f"n={fmt_n(mem_n)}", "PASS" if b < 4 * MiB else "MISS"))
    # small call
    t = results.get(("small_ece_64", "fastcal", 64), {}).get("time")
    tmin = results.get(("small_ece_64", "fastcal", 64), {}).get("min_time")
    others = []
    for i in ("fastcal check=False", "numpy", "torchmetrics update", "torchmetrics functional"):
        ti = results.get(("small_ece_64", i, 64), {}).get("time")
        if ti is not None:
            others.append(f"{i} {fmt_time(ti)}")
    rows.append(("one ECE call on 64 samples, with validation", "<= 3 us",
                 (fmt_time(t) + f" (min {fmt_time(tmin)})" if t else
                  ("not measured" if "small_ece_64" in cases else skipped))
                 + ("; " + ", ".join(others) if others else ""),
                 "n=64", "PASS" if t is not None and t <= 3e-6 else
                 ("MISS" if "small_ece_64" in cases else "-")))
    # agreement
    bad = [f"{c}/{i}/{fmt_n(n)}" for (c, i, n), r in results.items() if r.get("ok") is False]
    errs = [f"{c}/{i}/{fmt_n(n)}" for (c, i, n), r in results.items() if "error" in r]
    checked = sum(1 for r in results.values() if r.get("ok") is not None)
    rows.append(("every implementation agrees with fastcal", "all",
                 f"{checked - len(bad)}/{checked} agree" + (f"; disagree: {', '.join(bad)}" if bad else "")
                 + (f"; errors: {', '.join(errs)}" if errs else ""),
                 "all sizes", "PASS" if not bad and not errs and checked else "MISS"))
    out = ["| target | required | measured | at | result |", "|---|---|---|---|---|"]
    for row in rows:
        out.append("| " + " | ".join(row) + " |")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--output", help="report path (default benchmarks/RESULTS.md, "
                    "benchmarks/RESULTS-quick.md with --quick)")
    ap.add_argument("--cases", help="comma-separated subset of " + ", ".join(R.COMPARISONS))
    ap.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="first wait up to SECONDS for the 1-minute load average to drop below 0.5 "
                    "(timings on a shared 2-core machine are only as good as its idleness)")
    ap.add_argument("--mem-child", nargs=3, metavar=("CASE", "IMPL", "DATADIR"), help=argparse.SUPPRESS)
    ap.add_argument("--mem-datagen", nargs=2, metavar=("N", "DATADIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.mem_child:
        mem_child(*args.mem_child)
        return 0
    if args.mem_datagen:
        datagen_child(*args.mem_datagen)
        return 0

    out = args.output or os.path.join(HERE, "RESULTS-quick.md" if args.quick else "RESULTS.md")
    cases = args.cases.split(",") if args.cases else list(R.COMPARISONS)
    for c in cases:
        if c not in R.COMPARISONS:
            ap.error(f"unknown case {c!r}; choose from {', '.join(R.COMPARISONS)}")

    if args.quick:
        quick_sizes = {"binary": (1_000, 100_000), "toplabel": (1_000, 10_000),
                       "tied": (1_000, 100_000), "logits10": (1_000, 100_000),
                       "logits1000": (1_000, 10_000)}

        def sizes_for(case):
            if len(case.sizes) == 1:
                return case.sizes
            return quick_sizes[case.kind]

        mem_n = 1_000_000
    else:
        def sizes_for(case):
            return case.sizes

        mem_n = max(R.SIZES)

    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)

    if args.wait_idle > 0:
        deadline = time.time() + args.wait_idle
        while time.time() < deadline and float(loadavg().split()[0]) >= 0.5:
            time.sleep(15)
        log(f"load average {loadavg()}")
    load_start = loadavg()
    mem = {}
    if not args.no_memory:
        # first, while this process is still small (see measure_memory)
        log(f"memory at n={fmt_n(mem_n)} (one subprocess per implementation)")
        mem = measure_memory(cases, mem_n, log)
    log("warming up fastcal (compile or load from the disk cache)")
    import fastcal

    log(f"  fastcal.warmup: {fastcal.warmup():.1f} s")
    env = environment()
    for k, v in env.items():
        log(f"  {k}: {v}")
    results = run_timings(cases, sizes_for, log)
    env["load average"] = f"{load_start} at start, {loadavg()} at end (1/5/15 min)"
    wall = time.perf_counter() - t_start
    write_report(out, env, results, mem, cases, sizes_for, mem_n, args.quick, wall)
    raw = os.path.splitext(out)[0] + ".json"
    with open(raw, "w") as f:
        json.dump({"env": env,
                   "timings": [dict(case=c, impl=i, n=n, **r) for (c, i, n), r in results.items()],
                   "memory": [dict(case=c, impl=i, n=mem_n, **r) for (c, i), r in mem.items()]},
                  f, indent=1, default=str)
    log(f"wrote {out} and {raw}")
    return 0


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
