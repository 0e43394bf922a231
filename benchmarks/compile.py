"""Compile benchmark: the cold start of every entry point (issue 11).

    python benchmarks/compile.py                  # -> benchmarks/RESULTS-compile.md (+ .json)
    python benchmarks/compile.py --quick          # without fastcal.warmup() (minutes)
    python benchmarks/compile.py --cases report,cli_report --repeat 5
    python benchmarks/compile.py --wait-idle 600  # first wait for an idle machine

Each case runs in a fresh subprocess with its own empty ``NUMBA_CACHE_DIR``
(cold), then in another fresh subprocess with that now-filled cache (warm).
In-process steps are timed with ``time.perf_counter`` inside the child (the
clock starts before ``import numpy``, so "import" is numpy + numba + fastcal;
loading the test data from an .npz is not timed); whole commands
(``fastcal report FILE.csv``, ``fastcal demo``) are timed by wall clock around
the subprocess.  Every child records Numba's compile events
(``numba.core.event``): one "numba:compile" event per specialisation that
misses the cache (function, signature, inclusive time, self time = inclusive
minus the compiles nested directly in it) and the time spent holding
"numba:llvm_lock" (every call into LLVM's C API: parsing, optimising, machine
code) and "numba:compiler_lock" (the whole compiler; the difference is Numba's
Python front end: bytecode analysis, type inference, inlining, lowering to
LLVM IR).

The recorder is a ``sitecustomize`` module put on ``PYTHONPATH`` of the fastcal
children only.  It never imports numba itself: an import hook installs the
listeners right after whatever imports numba, so import times are not
distorted; because it is a ``sitecustomize``, it also records in any worker
process the child starts (a parallel ``warmup()``), and the console script
``fastcal`` runs unmodified.

The peer, in the same run and each time in a fresh process: numpy +
scikit-learn (``calibration_curve`` with one ``bincount`` for the ECE,
``brier_score_loss``, ``log_loss``, ``roc_auc_score``; plus pandas
``read_csv`` for the CSV case).  Ratios are fastcal cold / peer cold.

Only public API and the command line are used, so this keeps working while the
kernels change.  Nothing here asserts on time.
"""

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from machine import cpu_info  # noqa: E402
import registry as R  # noqa: E402

N_BINARY = 100_000
N_MULTI, C_MULTI = 10_000, 10
N_CSV = 10_000
TIMEOUT = 3600.0
MB = 1e6  # targets are in MB = 1e6 bytes

# ---------------------------------------------------------------------------
# the recorder, installed as sitecustomize in the fastcal children

PROBE = r'''
"""Compile-event recorder of benchmarks/compile.py (a sitecustomize on PYTHONPATH
of its child processes only).  Writes one JSON line per Numba compile event,
and the cumulative lock times, to $FASTCAL_BENCH_EVENTS/<pid>.jsonl.  It does not
import numba: an import hook installs the listeners right after numba's import."""
import os as _os
import sys as _sys

STEP = _os.environ.get("FASTCAL_BENCH_STEP", "process")
_DIR = _os.environ.get("FASTCAL_BENCH_EVENTS")


def set_step(name):
    """Label the events that follow (the benchmark's in-process steps)."""
    global STEP
    STEP = name


def _install():
    import atexit
    import json
    import threading
    import time

    from numba.core import event as ev

    clock = time.perf_counter
    tls = threading.local()
    locks = {}  # kind -> {step: seconds held, outermost acquisitions only}
    out = {"pid": None, "fh": None}

    def write(rec):
        pid = _os.getpid()
        if out["pid"] != pid:
            out["pid"] = pid
            out["fh"] = open(_os.path.join(_DIR, f"{pid}.jsonl"), "a")
        rec["pid"] = pid
        out["fh"].write(json.dumps(rec) + "\n")
        out["fh"].flush()  # a forked worker may end in os._exit

    def write_locks():
        write({"type": "locks", "locks": locks})

    class Compile(ev.Listener):
        def on_start(self, event):
            stack = getattr(tls, "stack", None)
            if stack is None:
                stack = tls.stack = []
            fn = getattr(event.data["dispatcher"], "py_func", None)
            stack.append([clock(), 0.0, getattr(fn, "__qualname__", "?")])

        def on_end(self, event):
            stack = getattr(tls, "stack", None)
            if not stack:
                return
            t0, nested, qualname = stack.pop()
            incl = clock() - t0
            if stack:
                stack[-1][1] += incl
            data = event.data or {}
            disp = data.get("dispatcher")
            fn = getattr(disp, "py_func", None)
            cache = getattr(disp, "_cache", None)
            write({"type": "compile", "step": STEP,
                   "qualname": getattr(fn, "__qualname__", type(disp).__name__),
                   "module": getattr(fn, "__module__", "?"),
                   "sig": ", ".join(str(a) for a in data.get("args", ())),
                   "incl": incl, "self": incl - nested, "depth": len(stack),
                   "parent": stack[-1][2] if stack else None,
                   "disk_cache": cache is not None and type(cache).__name__ != "NullCache",
                   "failed": getattr(event, "_exc_details", None) is not None})
            if not stack:
                write_locks()

    class Lock(ev.Listener):
        def __init__(self, kind):
            self.kind = kind
            self.depth = {}
            self.t0 = {}
            locks[kind] = {}

        def on_start(self, event):
            k = threading.get_ident()
            d = self.depth.get(k, 0)
            if d == 0:
                self.t0[k] = clock()
            self.depth[k] = d + 1

        def on_end(self, event):
            k = threading.get_ident()
            d = self.depth.get(k, 0) - 1
            if d < 0:
                return
            self.depth[k] = d
            if d == 0:
                tot = locks[self.kind]
                tot[STEP] = tot.get(STEP, 0.0) + clock() - self.t0[k]

    ev.register("numba:compile", Compile())
    ev.register("numba:compiler_lock", Lock("compiler_lock"))
    ev.register("numba:llvm_lock", Lock("llvm_lock"))

    def after_fork():
        out["pid"] = None
        tls.__dict__.clear()
        for tot in locks.values():
            tot.clear()

    _os.register_at_fork(after_in_child=after_fork)
    atexit.register(write_locks)


class _Hook:
    """Finds numba like the normal machinery, then runs _install after its import."""

    def find_spec(self, name, path=None, target=None):
        if name != "numba":
            return None
        try:
            _sys.meta_path.remove(self)
        except ValueError:
            pass
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_install(module):
            exec_module(module)
            try:
                _install()
            except Exception as exc:  # never break the measured process
                with open(_os.path.join(_DIR, f"{_os.getpid()}.jsonl"), "a") as fh:
                    fh.write('{"type": "error", "error": %r}\n' % repr(exc).replace('"', "'"))

        spec.loader.exec_module = exec_then_install
        return spec


if _DIR:
    _sys.meta_path.insert(0, _Hook())
'''

# ---------------------------------------------------------------------------
# the children

FASTCAL_CHILD = r'''
import sys, time
T0 = time.perf_counter()
probe = sys.modules.get("sitecustomize")
step = getattr(probe, "set_step", lambda name: None)
case, data, out = sys.argv[1:4]
res = {"steps": {}, "values": {}}
step("import")
import numpy as np
import fastcal
res["steps"]["import"] = time.perf_counter() - T0
step("data")
D = np.load(data)
y, p, yc, Z = D["y"], D["p"], D["yc"], D["Z"]


def timed(name, fn):
    step(name)
    t = time.perf_counter()
    r = fn()
    res["steps"][name] = time.perf_counter() - t
    step("after")
    return r


if case == "ece":
    res["values"]["ece"] = float(timed("ece", lambda: fastcal.ece(y, p)))
elif case == "report":
    r = timed("report", lambda: fastcal.calibration_report(y, p))
    res["values"] = {k: float(getattr(r, k)) for k in ("ece", "brier", "nll", "auroc")}
    timed("multiclass", lambda: fastcal.calibration_report(yc, Z, from_logits=True))
elif case == "temperature":
    t = timed("fit", lambda: fastcal.TemperatureScaling().fit(Z, yc))
    res["values"]["temperature"] = float(getattr(t, "temperature_", float("nan")))
elif case == "isotonic":
    timed("fit", lambda: fastcal.IsotonicRegression().fit(p, y))
elif case == "auroc":
    res["values"]["auroc"] = float(timed("auroc", lambda: fastcal.auroc(y, p)))
elif case == "accumulator":
    r = timed("stream", lambda: fastcal.CalibrationAccumulator().update(y, p).compute())
    res["values"]["ece"] = float(r.ece)
elif case == "warmup":
    res["values"]["returned"] = float(timed("warmup", fastcal.warmup))
elif case != "import":
    raise SystemExit(f"unknown case {case}")
import json
with open(out, "w") as fh:
    json.dump(res, fh)
'''

PEER_CHILD = r'''
import sys, time
T0 = time.perf_counter()
mode, data, out = sys.argv[1:4]
import numpy as np
if mode == "csv":
    import pandas as pd
if mode in ("ece", "report", "csv"):
    from sklearn.calibration import calibration_curve
if mode in ("report", "csv"):
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
if mode == "auroc":
    from sklearn.metrics import roc_auc_score
if mode == "isotonic":
    from sklearn.isotonic import IsotonicRegression
res = {"steps": {"import": time.perf_counter() - T0}, "values": {}}
if mode == "csv":
    t = time.perf_counter()
    df = pd.read_csv(data)
    p = df["confidence"].to_numpy()
    y = df["label"].to_numpy()
    res["steps"]["read"] = time.perf_counter() - t
else:
    D = np.load(data)
    y, p = D["y"], D["p"]


def ece():
    # right-closed bins like fastcal's default; calibration_curve drops empty
    # bins and does not return counts: one searchsorted + bincount adds them
    prob_true, prob_pred = calibration_curve(y, p, n_bins=15, strategy="uniform")
    cnt = np.bincount(np.searchsorted(np.linspace(0, 1, 16)[1:-1], p), minlength=15)
    cnt = cnt[cnt > 0]
    return float(np.sum(cnt * np.abs(prob_true - prob_pred)) / p.shape[0])


t = time.perf_counter()
if mode == "ece":
    res["values"]["ece"] = ece()
elif mode in ("report", "csv"):
    res["values"] = {"ece": ece(), "brier": float(brier_score_loss(y, p)),
                     "nll": float(log_loss(y, p)), "auroc": float(roc_auc_score(y, p))}
elif mode == "auroc":
    res["values"]["auroc"] = float(roc_auc_score(y, p))
elif mode == "isotonic":
    IsotonicRegression().fit(p, y)
res["steps"]["work"] = time.perf_counter() - t
import json
with open(out, "w") as fh:
    json.dump(res, fh)
'''

PRIME = r'''
import compileall, os, sys
import numpy, pandas, sklearn.calibration, sklearn.metrics, sklearn.isotonic
import fastcal, fastcal.cli
compileall.compile_dir(os.path.dirname(fastcal.__file__), quiet=1)
print(fastcal.__file__)
'''

# ---------------------------------------------------------------------------
# the cases

PEER_NAME = "numpy + scikit-learn"
CASES = {
    "import": dict(
        kind="inproc", title="`import fastcal`",
        steps={"import": "import numpy, fastcal"}, headline=("import",)),
    "ece": dict(
        kind="inproc", title=f"import + first `fastcal.ece`, {N_BINARY:.0e} binary float64",
        steps={"import": "import", "ece": "first `ece(y, p)`"}, headline=("import", "ece"),
        peer="ece", peer_title="import numpy, sklearn + ECE (`calibration_curve` + `bincount`)"),
    "report": dict(
        kind="inproc",
        title=f"import + first `calibration_report`, {N_BINARY:.0e} binary float64 (headline)",
        steps={"import": "import", "report": "first `calibration_report(y, p)`",
               "multiclass": f"then `calibration_report(y, Z, from_logits=True)`, "
                             f"({N_MULTI:.0e}, {C_MULTI}) float64 logits (same process)"},
        headline=("import", "report"),
        peer="report", peer_title="import numpy, sklearn + ECE, `brier_score_loss`, `log_loss`, "
                                  "`roc_auc_score`"),
    "temperature": dict(
        kind="inproc", title=f"import + `TemperatureScaling().fit`, ({N_MULTI:.0e}, {C_MULTI}) "
                             "float64 logits",
        steps={"import": "import", "fit": "`TemperatureScaling().fit(Z, y)`"},
        headline=("import", "fit")),
    "isotonic": dict(
        kind="inproc", title=f"import + `IsotonicRegression().fit`, {N_BINARY:.0e} binary float64",
        steps={"import": "import", "fit": "`IsotonicRegression().fit(p, y)`"},
        headline=("import", "fit"),
        peer="isotonic",
        peer_title="import numpy, sklearn + `sklearn.isotonic.IsotonicRegression().fit`"),
    "auroc": dict(
        kind="inproc", title=f"import + first `fastcal.auroc`, {N_BINARY:.0e} binary float64",
        steps={"import": "import", "auroc": "first `auroc(y, p)`"}, headline=("import", "auroc"),
        peer="auroc", peer_title="import numpy, sklearn + `roc_auc_score`"),
    "accumulator": dict(
        kind="inproc", title=f"import + `CalibrationAccumulator().update(y, p).compute()`, "
                             f"{N_BINARY:.0e} binary float64",
        steps={"import": "import", "stream": "`CalibrationAccumulator().update(y, p).compute()`"},
        headline=("import", "stream")),
    "cli_report": dict(
        kind="cmd", title=f"`fastcal report FILE.csv`, {N_CSV:,} rows, whole process",
        argv=("report", "{csv}"), peer="csv",
        peer_title="whole process: import numpy, pandas, sklearn + `read_csv` + the same four "
                   "metrics"),
    "demo": dict(kind="cmd", title="`fastcal demo`, whole process", argv=("demo",)),
    "warmup": dict(
        kind="inproc", title="import + `fastcal.warmup()` (one run, whatever `--repeat`)",
        steps={"import": "import", "warmup": "`fastcal.warmup()`"}, headline=("import", "warmup"),
        once=True),
}

# ---------------------------------------------------------------------------
# environment


def loadavg():
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def git_state(root=ROOT):
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


def _version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def source_digest(pkg_dir):
    """A hash of the package's Python sources (to notice edits during the run)."""
    import hashlib

    h = hashlib.sha1()
    for root, dirs, files in sorted(os.walk(pkg_dir)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                with open(os.path.join(root, f), "rb") as fh:
                    h.update(f.encode() + b"\0" + fh.read())
    return h.hexdigest()[:12]


def environment(fastcal_root=ROOT):
    cpu, isa, usable = cpu_info()
    import llvmlite
    import llvmlite.binding as llvm
    import numba

    try:
        host = llvm.get_host_cpu_name()
    except Exception:
        host = "?"
    return {
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu + (f" ({', '.join(isa)})" if isa else "") + f"; LLVM host CPU {host}",
        "cores": f"{os.cpu_count()} logical, {usable} usable",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": f"{numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads)",
        "llvmlite": llvmlite.__version__,
        "fastcal": f"{_version('fastcal')} ({git_state(fastcal_root)}"
                   + (", via --fastcal-path" if fastcal_root != ROOT else "") + ")",
        "scikit-learn": _version("scikit-learn"),
        "pandas": _version("pandas"),
    }


# ---------------------------------------------------------------------------
# running one child


def cache_size(path):
    nbytes = nfiles = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                nbytes += os.path.getsize(os.path.join(root, f))
                nfiles += 1
            except OSError:
                pass
    return {"bytes": nbytes, "files": nfiles}


def read_events(events_dir, main_pid):
    """Compile events and lock totals of every process of one run."""
    events, locks, errors = [], {}, []
    if not os.path.isdir(events_dir):
        return events, locks, errors
    for name in sorted(os.listdir(events_dir)):
        last_locks = None
        with open(os.path.join(events_dir, name)) as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                worker = rec.get("pid") != main_pid
                if rec["type"] == "compile":
                    if worker:
                        rec["step"] = "workers"
                    events.append(rec)
                elif rec["type"] == "locks":
                    last_locks = (worker, rec["locks"])
                else:
                    errors.append(rec.get("error", "?"))
        if last_locks:
            worker, lk = last_locks
            for kind, per_step in lk.items():
                for step, sec in per_step.items():
                    step = "workers" if worker else step
                    d = locks.setdefault(kind, {})
                    d[step] = d.get(step, 0.0) + sec
    return events, locks, errors


def run_child(argv, env, cwd, events_dir=None, main_pid_is_child=True, timeout=TIMEOUT):
    """Run argv; returns wall time, exit code, last stderr line, compile events."""
    if events_dir:
        os.makedirs(events_dir, exist_ok=True)
    t = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err = f"timeout after {timeout:.0f} s"
        wall = time.perf_counter() - t
    except OSError as exc:
        return {"wall": None, "rc": None, "error": repr(exc)}
    rec = {"wall": wall, "rc": proc.returncode, "error": None}
    if proc.returncode:
        lines = [ln for ln in (err or "").strip().splitlines() if ln.strip()]
        rec["error"] = lines[-1] if lines else f"exit code {proc.returncode}"
    if events_dir:
        ev, locks, errors = read_events(events_dir, proc.pid)
        rec.update(events=ev, locks=locks)
        if errors:
            rec["probe_errors"] = errors
    return rec


def child_result(rec, path):
    if rec.get("error") is None and os.path.exists(path):
        with open(path) as fh:
            rec.update(json.load(fh))
        os.remove(path)
    elif rec.get("error") is None:
        rec["error"] = "no result file"
    return rec


# ---------------------------------------------------------------------------
# summaries


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def headline(case, rec):
    """The case's main number: in-process import + main step(s), or the whole process."""
    if rec is None or rec.get("error"):
        return None
    if CASES[case]["kind"] == "cmd":
        return rec["wall"]
    steps = rec.get("steps", {})
    hl = CASES[case]["headline"]
    return sum(steps[s] for s in hl) if all(s in steps for s in hl) else None


def peer_headline(case, rec):
    if rec is None or rec.get("error"):
        return None
    if CASES[case].get("peer") == "csv":
        return rec["wall"]
    return sum(rec.get("steps", {}).values())


def timed_steps(case):
    """The steps a case's headline number covers (None: the whole process), plus
    the worker processes it starts."""
    c = CASES[case]
    return None if c["kind"] == "cmd" else tuple(c["headline"]) + ("workers",)


def compile_stats(rec, steps=None):
    """Specialisations, compile time (sum of outermost events), lock times: of
    every step (None), one step (a str) or some (a tuple)."""
    if isinstance(steps, str):
        steps = (steps,)
    if "events" not in rec and "stats_by_step" in rec:  # a later cold run, from the JSON
        parts = [v for k, v in rec["stats_by_step"].items() if steps is None or k in steps]
        return {k: sum(p[k] for p in parts) for k in ("n", "failed", "compile", "llvm",
                                                       "compiler")}
    ev = [e for e in rec.get("events", ()) if steps is None or e["step"] in steps]
    locks = rec.get("locks", {})

    def lock(kind):
        d = locks.get(kind, {})
        return sum(v for k, v in d.items() if steps is None or k in steps)

    return {"n": len(ev), "failed": sum(e["failed"] for e in ev),
            "compile": sum(e["incl"] for e in ev if e["depth"] == 0),
            "llvm": lock("llvm_lock"), "compiler": lock("compiler_lock")}


def fmt_s(t):
    if t is None:
        return "-"
    if t < 0.01:
        return f"{t * 1e3:.2f} ms"
    if t < 1:
        return f"{t * 1e3:.0f} ms"
    return f"{t:.2f} s"


def fmt_med_min(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    if len(xs) == 1:
        return fmt_s(xs[0])
    return f"{fmt_s(statistics.median(xs))} (min {fmt_s(min(xs))})"


def fmt_counts(xs):
    """One number when every run agrees, else each run's."""
    return str(xs[0]) if len(set(xs)) == 1 else ", ".join(str(x) for x in xs) if xs else ""


def fmt_cache(c):
    return f"{c['bytes'] / MB:.1f} MB, {c['files']} files" if c else "-"


def esc(s):
    return str(s).replace("|", "\\|")


def summarise(results):
    out = {}
    for case, runs in results.items():
        cold = [headline(case, r["cold"]) for r in runs]
        warm = [headline(case, r.get("warm")) for r in runs]
        peer = [peer_headline(case, r.get("peer")) for r in runs]
        s = {"cold_median": med(cold), "cold_min": min([x for x in cold if x is not None],
                                                       default=None),
             "cold": cold, "warm": warm, "peer": peer,
             "warm_median": med(warm), "peer_median": med(peer),
             "peer_min": min([x for x in peer if x is not None], default=None)}
        if s["cold_median"] and s["peer_median"]:
            s["ratio_median"] = s["cold_median"] / s["peer_median"]
            s["ratio_min"] = s["cold_min"] / s["peer_min"]
        ts = timed_steps(case)
        s["specialisations_cold"] = [compile_stats(r["cold"], ts)["n"] for r in runs]
        s["specialisations_warm"] = [compile_stats(r["warm"], ts)["n"] if r.get("warm") else None
                                     for r in runs]
        s["specialisations_cold_all_steps"] = [compile_stats(r["cold"])["n"] for r in runs]
        s["cache_after_cold"] = runs[0]["cold"].get("cache")
        out[case] = s
    return out


def targets(summary):
    rows = []

    def row(what, target, case, value, limit, fmt):
        if case not in summary or value is None:
            rows.append({"what": what, "target": target, "measured": None,
                         "text": "not run" if case not in summary else "failed",
                         "result": "-"})
            return
        ok = value <= limit
        rows.append({"what": what, "target": target, "measured": value, "text": fmt(value),
                     "result": "PASS" if ok else "MISS"})

    def med_min(case):
        s = summary[case]
        return lambda v: (f"{fmt_s(v)} (min {fmt_s(s['cold_min'])})"
                          if len([x for x in s["cold"] if x is not None]) > 1 else fmt_s(v))

    s = summary
    row(f"import + first `calibration_report`, {N_BINARY:.0e} binary float64", "<= 3 s",
        "report", s.get("report", {}).get("cold_median"), 3.0,
        med_min("report") if "report" in s else fmt_s)
    row(f"`fastcal report` on a {N_CSV:,}-row CSV, whole process", "<= 4 s", "cli_report",
        s.get("cli_report", {}).get("cold_median"), 4.0,
        med_min("cli_report") if "cli_report" in s else fmt_s)
    row("`fastcal demo`, whole process", "<= 10 s", "demo", s.get("demo", {}).get("cold_median"),
        10.0, med_min("demo") if "demo" in s else fmt_s)
    wu = s.get("warmup")
    wu_step = None
    if wu is not None:
        wu_step = wu.get("warmup_step")
    row("`fastcal.warmup()`", "<= 120 s", "warmup", wu_step, 120.0, fmt_s)
    cache = wu.get("cache_after_cold") if wu else None
    row("kernel cache after `warmup()`", "<= 25 MB", "warmup",
        cache["bytes"] / MB if cache else None, 25.0,
        lambda v: f"{v:.1f} MB in {cache['files']} files")
    return rows


# ---------------------------------------------------------------------------
# the report


def write_report(path, env, meta, results, summary, target_rows, top):
    load0, load1 = env["load_start"], env["load_end"]
    idle = max(load0[0], load1[0]) < 0.5
    fastcal_cmd = meta["command"]
    L = [f"# Compile benchmark: cold start{' (quick: without warmup)' if meta['quick'] else ''}",
         "", f"Written by `python benchmarks/compile.py{''.join(' ' + a for a in meta['argv'])}`"
         "; every number below comes from this one run"
         + (f" ({meta['wall_s'] / 60:.1f} min)." if meta["wall_s"] == meta["wall_s"] else "."), ""]
    if not idle:
        L += [f"**Load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end (1 min): "
              "the machine was busy (other processes compiling on 2 cores). These figures check "
              "that the script works; the figures of record come from a rerun on an idle "
              "machine.**", ""]
    if env.get("sources_changed"):
        L += ["**The fastcal sources changed during this run (edited while it ran): cold and "
              "warm runs, or cases, may have measured different code.**", ""]
    L += ["| | |", "|---|---|"]
    for k in ("date", "cpu", "cores", "os", "python", "numpy", "numba", "llvmlite", "fastcal",
              "scikit-learn", "pandas"):
        L.append(f"| {k} | {env[k]} |")
    L.append(f"| load average | {' '.join(f'{x:.2f}' for x in load0)} at start, "
             f"{' '.join(f'{x:.2f}' for x in load1)} at end (1/5/15 min) |")
    L.append(f"| runs | {meta['repeat']} cold run(s) per case (`warmup`: one), each followed by one "
             "warm run; medians (min) |")
    L.append(f"| command line | `{' '.join(fastcal_cmd)}` (the console script of this "
             "environment, run unmodified) |")
    L += ["",
          "Cold: a fresh process with its own empty `NUMBA_CACHE_DIR`; warm: a fresh process "
          "with the cache the cold run left. In-process cases are timed with `perf_counter` "
          "inside the child from before `import numpy` (data loading from an .npz not timed); "
          "`cli_report` and `demo` by wall clock around the whole process. Compile events: "
          "`numba.core.event` \"numba:compile\" (one per specialisation compiled, i.e. not "
          "loaded from the cache; inclusive time, self = inclusive minus the compiles nested "
          "directly in it), and the time holding \"numba:llvm_lock\" (inside LLVM's C API: "
          "parsing, optimising, machine code) and \"numba:compiler_lock\" (all of the compiler, "
          "LLVM included; the difference is Numba's Python front end: bytecode analysis, type "
          "inference, inlining, lowering to LLVM IR; in a warm run, loading from the cache). "
          "The peer runs cold in a fresh process in the same run; "
          "ratio = fastcal cold / peer (lower is better, 1 = as fast as the peer).", "",
          "## Targets (issue 11)", "", "| what | target | measured | result |", "|---|---|---|---|"]
    for r in target_rows:
        L.append(f"| {r['what']} | {r['target']} | {r['text']} | {r['result']} |")
    L += ["", "The issue's other two rows (`.ci/run` from a fresh clone; `benchmarks/RESULTS.md` "
          "still met) are measured by `.ci/run` and `benchmarks/run.py`, not here.", "",
          "## Every case, cold and warm, against the peer", "",
          "| case | timed | cold | warm | peer cold | cold / peer | specialisations "
          "(cold / warm) | compile (nested total) | LLVM lock / compiler lock | cache after cold |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for case, runs in results.items():
        s, c = summary[case], CASES[case]
        st = compile_stats(runs[0]["cold"], timed_steps(case))
        ratio = (f"{s['ratio_median']:.1f}x" + (f" (min/min {s['ratio_min']:.1f}x)"
                                               if len(runs) > 1 else "")
                 if "ratio_median" in s else "-")
        timed = "whole process" if c["kind"] == "cmd" else " + ".join(c["headline"])
        spec_c = fmt_counts(s["specialisations_cold"])
        spec_w = fmt_counts([x for x in s["specialisations_warm"] if x is not None])
        err = runs[0]["cold"].get("error")
        L.append(f"| {case} | {timed} | {fmt_med_min(s['cold']) if not err else 'error'} | "
                 f"{fmt_med_min(s['warm'])} | {fmt_med_min(s['peer']) if c.get('peer') else '-'} | "
                 f"{ratio} | {spec_c} / {spec_w or '-'} | {fmt_s(st['compile'])} | "
                 f"{fmt_s(st['llvm'])} / {fmt_s(st['compiler'])} | "
                 f"{fmt_cache(s['cache_after_cold'])} |")
    L += ["", "Specialisations, compile and lock times are those of the timed steps (a follow-on "
          "step such as the multiclass report is in the case's own section) in the first cold "
          "run (each run's count, comma-separated, where the runs differ). A warm run's "
          "specialisations are functions that are not cached on disk, or whose cache entry did "
          "not load.", ""]
    for case, runs in results.items():
        c = CASES[case]
        L += [f"## {case}: {c['title']}"]
        cold0 = runs[0]["cold"]
        if cold0.get("error"):
            L += ["", f"Cold run failed: `{esc(cold0['error'])}`"]
        if c["kind"] == "cmd":
            argv = [a.format(csv="FILE.csv") for a in c["argv"]]
            L += ["", f"`{' '.join(fastcal_cmd + argv)}`: cold "
                  f"{fmt_med_min(summary[case]['cold'])}, warm {fmt_med_min(summary[case]['warm'])}."]
            steps = {"process": "whole process"}
        else:
            steps = c["steps"]
        L += ["", "| step | cold | warm | specialisations | compile | LLVM lock | compiler lock |",
              "|---|---|---|---|---|---|---|"]
        extra = sorted({e["step"] for e in cold0.get("events", ())} - set(steps))
        for step in list(steps) + extra:
            label = steps.get(step, f"({step})")
            if c["kind"] == "cmd":
                cold = [r["cold"].get("wall") if not r["cold"].get("error") else None for r in runs]
                warm = [r["warm"].get("wall") if r.get("warm") and not r["warm"].get("error")
                        else None for r in runs]
            else:
                cold = [r["cold"].get("steps", {}).get(step) for r in runs]
                warm = [r["warm"].get("steps", {}).get(step) if r.get("warm") else None
                        for r in runs]
            st = compile_stats(cold0, step)
            L.append(f"| {label} | {fmt_med_min(cold)} | {fmt_med_min(warm)} | {st['n']}"
                     f"{' (' + str(st['failed']) + ' failed)' if st['failed'] else ''} | "
                     f"{fmt_s(st['compile'])} | {fmt_s(st['llvm'])} | {fmt_s(st['compiler'])} |")
        if c.get("peer"):
            pr = [r.get("peer") for r in runs]
            ok = [p for p in pr if p and not p.get("error")]
            if ok:
                parts = ", ".join(f"{k} {fmt_med_min([p['steps'].get(k) for p in ok])}"
                                  for k in ok[0]["steps"])
                L += ["", f"Peer ({PEER_NAME}{', pandas' if c['peer'] == 'csv' else ''}): "
                      f"{c['peer_title']}: {fmt_med_min(summary[case]['peer'])} ({parts}; "
                      f"whole process {fmt_med_min([p['wall'] for p in ok])})."]
                fv, pv = cold0.get("values", {}), ok[0].get("values", {})
                common = [k for k in pv if k in fv]
                if common:
                    diff = max(abs(fv[k] - pv[k]) for k in common)
                    L.append(f"Values ({', '.join(common)}) agree with the peer to {diff:.1e}.")
            elif pr and pr[0]:
                L += ["", f"Peer failed: `{esc(pr[0].get('error'))}`"]
        ev = sorted(cold0.get("events", ()), key=lambda e: -e["incl"])
        if ev:
            funcs = {}
            for e in ev:
                funcs.setdefault((e["module"], e["qualname"]), []).append(e)
            ours_f = {k: v for k, v in funcs.items() if k[0].split(".")[0] == "fastcal"}
            n_ours = sum(len(v) for v in ours_f.values())
            multi = sorted(((len(v), k[1]) for k, v in ours_f.items() if len(v) > 1),
                           key=lambda x: (-x[0], x[1]))
            L += ["", f"{len(ev)} specialisations of {len(funcs)} functions compiled in the first "
                  f"cold run: fastcal {n_ours} specialisations of {len(ours_f)} functions; "
                  f"Numba's own implementations (of numpy functions, builtins) {len(ev) - n_ours} "
                  f"of {len(funcs) - len(ours_f)}."]
            if multi:
                L[-1] += " fastcal functions compiled more than once: " + ", ".join(
                    f"`{q}` ({n})" for n, q in multi[:10]) + "."
            L += ["", f"Top {min(top, len(ev))} specialisations by inclusive compile time:", "",
                  "| # | function | module | signature | inclusive | self | nested in | step |",
                  "|---|---|---|---|---|---|---|---|"]
            for i, e in enumerate(ev[:top], 1):
                sig = e["sig"] if len(e["sig"]) <= 240 else e["sig"][:237] + "..."
                L.append(f"| {i} | `{esc(e['qualname'])}` | {esc(e['module'])} | `{esc(sig)}` | "
                         f"{fmt_s(e['incl'])} | {fmt_s(e['self'])} | "
                         f"{'`' + esc(e['parent']) + '`' if e['parent'] else '-'} | {e['step']} |")
            by_fn = sorted(funcs.items(), key=lambda kv: -sum(e["self"] for e in kv[1]))
            L += ["", "Self time summed per function (its specialisations): " + ", ".join(
                f"`{q}` {fmt_s(sum(e['self'] for e in v))} ({len(v)})"
                for (_, q), v in by_fn[:top]) + "."]
        L.append("")
    text = "\n".join(L) + "\n"
    with open(path, "w") as fh:
        fh.write(text)
    return text


EVENT_COLUMNS = ("step", "module", "qualname", "sig", "incl", "self", "depth", "parent",
                 "disk_cache", "failed")


def pack(results):
    """The runs for the JSON: each run's compile and lock totals per step; the events
    themselves (as rows, one a line) of the first cold run and of the warm runs."""
    out = {}
    for case, runs in results.items():
        packed = []
        for i, run in enumerate(runs):
            run = dict(run)
            for phase in ("cold", "warm"):
                rec = run.get(phase)
                if not rec or "events" not in rec:
                    continue
                rec = dict(rec)
                steps = {e["step"] for e in rec["events"]}
                for per_step in rec.get("locks", {}).values():
                    steps |= set(per_step)
                rec["stats_by_step"] = {st: compile_stats(rec, st) for st in sorted(steps)}
                if phase == "cold" and i > 0:
                    del rec["events"]
                else:
                    rec["events"] = {"columns": list(EVENT_COLUMNS),
                                     "rows": [[e.get(c) for c in EVENT_COLUMNS]
                                              for e in rec["events"]]}
                run[phase] = rec
            packed.append(run)
        out[case] = packed
    return out


def unpack(runs):
    for run in runs:
        for phase in ("cold", "warm"):
            ev = (run.get(phase) or {}).get("events")
            if isinstance(ev, dict):
                run[phase]["events"] = [dict(zip(ev["columns"], row)) for row in ev["rows"]]
    return runs


def dump_json(obj, path):
    """indent=1, floats to the microsecond, each event row on one line."""
    import re

    rows = []

    def sub(x):
        if isinstance(x, float):
            return round(x, 6)
        if isinstance(x, dict):
            if set(x) == {"columns", "rows"}:
                toks = []
                for r in x["rows"]:
                    rows.append(json.dumps(sub(r)))
                    toks.append(f"@@ROW{len(rows) - 1}@@")
                return {"columns": x["columns"], "rows": toks}
            return {k: v if k == "values" else sub(v) for k, v in x.items()}  # metric values exact
        if isinstance(x, (list, tuple)):
            return [sub(v) for v in x]
        return x

    text = json.dumps(sub(obj), indent=1)
    text = re.sub(r'"@@ROW(\d+)@@"', lambda m: rows[int(m.group(1))], text)
    with open(path, "w") as fh:
        fh.write(text + "\n")


def finish(out, env, meta, results, top):
    """Summarise, write the report and the JSON beside it; returns the JSON path."""
    summary = summarise(results)
    if "warmup" in results:
        summary["warmup"]["warmup_step"] = results["warmup"][0]["cold"].get(
            "steps", {}).get("warmup")
    target_rows = targets(summary)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    text = write_report(out, env, meta, results, summary, target_rows, top)
    raw = os.path.splitext(out)[0] + ".json"
    dump_json({"env": env, "meta": meta,
               "data": {"binary": [N_BINARY, "float64", "int64"],
                        "multiclass_logits": [N_MULTI, C_MULTI, "float64"], "csv_rows": N_CSV},
               "targets": target_rows, "summary": summary,
               "cases": {k: {"title": CASES[k]["title"], "kind": CASES[k]["kind"], "runs": v}
                         for k, v in pack(results).items()}}, raw)
    print(text)
    return raw


def rerender(path, out, top):
    """Write the report again from a run's JSON (after a change to the report's format)."""
    with open(path) as fh:
        d = json.load(fh)
    meta = d.get("meta") or {"argv": d.get("args", []), "repeat": d.get("repeat", 1),
                             "quick": "--quick" in d.get("args", []), "wall_s": float("nan"),
                             "command": ["fastcal"]}
    results = {k: unpack(v["runs"]) for k, v in d["cases"].items() if k in CASES}
    return finish(out, d["env"], meta, results, top)


# ---------------------------------------------------------------------------
# main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the warmup case (minutes)")
    ap.add_argument("--cases", help="comma-separated subset of " + ", ".join(CASES))
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="cold runs per case, each with a new empty cache and followed by a warm "
                    "run (median and min reported; warmup always runs once); default 3")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS-compile.md"),
                    help="report path (default benchmarks/RESULTS-compile.md; the JSON is written "
                    "beside it with the .json suffix)")
    ap.add_argument("--top", type=int, default=10, help="specialisations listed per case")
    ap.add_argument("--no-peer", action="store_true", help="skip the scikit-learn peer")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="first wait up to SECONDS for the 1-minute load average to drop below 0.5")
    ap.add_argument("--fastcal-path", metavar="DIR",
                    help="measure the fastcal package of this checkout (put first on PYTHONPATH "
                    "of the fastcal children, e.g. a `git worktree` of another commit) instead of "
                    "the installed one")
    ap.add_argument("--from-json", metavar="JSON", help="run nothing: write the report again "
                    "from the JSON of an earlier run (to --out)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (caches, "
                    "events) and print its path")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    if args.from_json:
        print(f"wrote {args.out} and {rerender(args.from_json, args.out, args.top)}")
        return 0

    cases = args.cases.split(",") if args.cases else list(CASES)
    for c in cases:
        if c not in CASES:
            ap.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    if args.quick:
        cases = [c for c in cases if c != "warmup"]

    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)

    if args.wait_idle > 0:
        deadline = time.time() + args.wait_idle
        while time.time() < deadline and loadavg()[0] >= 0.5:
            time.sleep(15)
    load_start = loadavg()
    fastcal_root = os.path.abspath(args.fastcal_path) if args.fastcal_path else ROOT
    pkg_dir = os.path.join(fastcal_root, "fastcal")
    if not os.path.isfile(os.path.join(pkg_dir, "__init__.py")):
        ap.error(f"no fastcal package in {fastcal_root}")
    digest_start = source_digest(pkg_dir)
    env = environment(fastcal_root)
    env["load_start"] = load_start
    for k in ("cpu", "cores", "numba", "fastcal"):
        log(f"{k}: {env[k]}")
    log(f"load average {load_start[0]:.2f}")

    exe = shutil.which("fastcal", path=os.path.dirname(sys.executable))
    fastcal_cmd = [exe] if exe else [sys.executable, "-m", "fastcal"]
    fastcal_shown = ["fastcal"] if exe else ["python", "-m", "fastcal"]

    tmp = tempfile.mkdtemp(prefix="fastcal-compile-bench-")
    try:
        probe_dir = os.path.join(tmp, "probe")
        os.makedirs(probe_dir)
        with open(os.path.join(probe_dir, "sitecustomize.py"), "w") as fh:
            fh.write(PROBE)
        data = os.path.join(tmp, "data.npz")
        b = R.binary_data(N_BINARY)
        m = R.logit_data(N_MULTI, C_MULTI, dtype=np.float64)
        np.savez(data, y=b.y, p=b.p, yc=m.y, Z=m.p)
        csv = os.path.join(tmp, "preds.csv")
        c = R.binary_data(N_CSV)
        with open(csv, "w") as fh:  # what pandas.to_csv writes: 17 significant digits
            fh.write("confidence,label\n")
            for pi, yi in zip(c.p.tolist(), c.y.tolist()):
                fh.write(f"{pi!r},{yi}\n")

        base_env = {k: v for k, v in os.environ.items()
                    if k not in ("NUMBA_CACHE_DIR", "FASTCAL_BENCH_EVENTS", "FASTCAL_BENCH_STEP")}

        def fastcal_env(cache, events):
            e = dict(base_env, NUMBA_CACHE_DIR=cache, FASTCAL_BENCH_EVENTS=events)
            e["PYTHONPATH"] = os.pathsep.join(
                [probe_dir] + ([fastcal_root] if args.fastcal_path else [])
                + ([base_env["PYTHONPATH"]] if base_env.get("PYTHONPATH") else []))
            return e

        # bytecode and the OS file cache: both sides start from an installed package
        prime_env = fastcal_env(os.path.join(tmp, "prime-cache"), os.path.join(tmp, "prime-ev"))
        del prime_env["FASTCAL_BENCH_EVENTS"]
        pr = subprocess.run([sys.executable, "-c", PRIME], env=prime_env, cwd=tmp,
                            capture_output=True, text=True, timeout=TIMEOUT)
        shutil.rmtree(os.path.join(tmp, "prime-cache"), ignore_errors=True)
        imported = pr.stdout.strip().splitlines()[-1] if pr.stdout.strip() else "?"
        env["fastcal_file"] = imported
        log(f"children import {imported}")
        if os.path.dirname(os.path.dirname(imported)) != fastcal_root:
            log(f"warning: the children do not import fastcal from {fastcal_root}")

        results = {}
        for case in cases:
            spec = CASES[case]
            reps = 1 if spec.get("once") else args.repeat
            runs = []
            for i in range(reps):
                run = {"load": loadavg()[0]}
                cache = os.path.join(tmp, f"cache-{case}-{i}")
                os.makedirs(cache)
                for phase in ("cold", "warm"):
                    events = os.path.join(tmp, f"events-{case}-{i}-{phase}")
                    cwd = os.path.join(tmp, f"cwd-{case}-{i}-{phase}")
                    os.makedirs(cwd)
                    res_path = os.path.join(tmp, "result.json")
                    if spec["kind"] == "cmd":
                        argv = fastcal_cmd + [a.format(csv=csv) for a in spec["argv"]]
                    else:
                        argv = [sys.executable, "-c", FASTCAL_CHILD, case, data, res_path]
                    rec = run_child(argv, fastcal_env(cache, events), cwd, events)
                    if spec["kind"] == "inproc":
                        child_result(rec, res_path)
                    rec["cache"] = cache_size(cache)
                    run[phase] = rec
                    st = compile_stats(rec)
                    log(f"{case} #{i + 1} {phase}: "
                        + (f"error: {rec['error']}" if rec.get("error") else
                           f"{fmt_s(headline(case, rec))} (process {fmt_s(rec['wall'])}), "
                           f"{st['n']} specialisations, compile {fmt_s(st['compile'])}, "
                           f"cache {fmt_cache(rec['cache'])}"))
                    shutil.rmtree(cwd, ignore_errors=True)
                    if not args.keep:
                        shutil.rmtree(events, ignore_errors=True)
                if spec.get("peer") and not args.no_peer:
                    src = csv if spec["peer"] == "csv" else data
                    res_path = os.path.join(tmp, "peer.json")
                    rec = run_child([sys.executable, "-c", PEER_CHILD, spec["peer"], src, res_path],
                                    base_env, tmp)
                    run["peer"] = child_result(rec, res_path)
                    log(f"{case} #{i + 1} peer: " + (f"error: {rec['error']}" if rec.get("error")
                                                     else fmt_s(peer_headline(case, rec))))
                if not args.keep:
                    shutil.rmtree(cache, ignore_errors=True)
                runs.append(run)
            results[case] = runs

        env["load_end"] = loadavg()
        env["sources_changed"] = source_digest(pkg_dir) != digest_start
        if env["sources_changed"]:
            log("warning: the fastcal sources changed during the run")
        meta = {"argv": args.argv, "repeat": args.repeat, "quick": args.quick,
                "wall_s": time.perf_counter() - t_start, "command": fastcal_shown}
        raw = finish(args.out, env, meta, results, args.top)
        log(f"wrote {args.out} and {raw}")
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
