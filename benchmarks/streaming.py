"""Streaming benchmarks (issue 3): update throughput, per-call overhead, memory
while streaming, and Dask against in-memory fastcal, peers in the same run.

    python benchmarks/streaming.py                 # full sizes -> benchmarks/RESULTS-streaming.md
    python benchmarks/streaming.py --quick         # small sizes, smoke run (not written)
    python benchmarks/streaming.py --wait-idle 600 # first wait for an idle machine

Targets (issue 3, and issue 13 for the ratios to the functional passes):

* the default accumulator (bounded AUROC), 1e7 samples in batches of 65536:
  <= 0.7x the time of the three separate functional passes ``ece`` + ``nll``
  + ``brier_score`` on the same 1e7; ``auroc=None``: <= 0.5x;
* the default accumulator >= 20x torchmetrics ``BinaryCalibrationError``
  ``update`` + ``compute`` on the same stream;
* ``update`` on 64 samples with validation <= 2.5 us;
* ``calibration_report(ci=0.95)`` (1000 Poisson-bootstrap resamples) on 1e6
  <= 25x one ``calibration_report`` on the same data;
* peak memory while streaming 5e7 samples rises < 10 MiB (torchmetrics grows O(n));
* Dask, 1e8 samples on a 2-worker LocalCluster: within 2x of in-memory fastcal.

Also reported: the per-sample cost of each part of one update (the one-pass
kernel, the per-row AUROC input (confidence and histogram cell), the AUROC
histogram's scatter, the state addition), alone and inside the stream,
river's streaming ``LogLoss`` (the one gauge it shares; a Python update per
sample, timed on a prefix), and a numpy per-batch accumulator (``bincount``
per batch) as the plain-Python reference.

Data: binary confidences from Beta(2.5, 1.2), labels Bernoulli(p ** 1.3)
(the registry's binary data), int64 labels and float64 confidences.
Each timing is the median of repeated runs after a warm-up run; the load
average is recorded with every section.
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

MiB = 1 << 20
BATCH = 65536


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


def median_time(fn, repeat):
    fn()  # warm-up (compilation, caches)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), float(min(ts))


def per_call(fn, min_time=0.3, repeat=7):
    """Median over ``repeat`` rounds of the mean time of one call."""
    fn()
    k = 1
    while True:
        t = time.perf_counter()
        for _ in range(k):
            fn()
        if time.perf_counter() - t > min_time / repeat:
            break
        k *= 2
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(k):
            fn()
        ts.append((time.perf_counter() - t) / k)
    return float(np.median(ts))


# ---------------------------------------------------------------------------
# throughput and per-call overhead


def streamers(y, p):
    """name -> zero-argument callable that streams (y, p) in batches of BATCH."""
    import fastcal

    n = len(y)
    out = {}

    def fc(**kw):
        def run():
            acc = fastcal.CalibrationAccumulator(15, **kw)
            for lo in range(0, n, BATCH):
                acc.update(y[lo:lo + BATCH], p[lo:lo + BATCH])
            return finished(acc)
        return run

    out["fastcal (default: + bounded AUROC)"] = fc()
    out["fastcal auroc=None"] = fc(auroc=None)

    def three():
        return fastcal.ece(y, p), fastcal.nll(y, p), fastcal.brier_score(y, p)

    out[THREE] = three
    out["numpy per-batch accumulator (bincount)"] = lambda: numpy_stream(y, p)
    try:
        import torch
        from torchmetrics.classification import BinaryCalibrationError

        torch.set_num_threads(2)
        pt, yt = torch.from_numpy(p), torch.from_numpy(y)

        def tm():
            m = BinaryCalibrationError(n_bins=15, norm="l1")
            for lo in range(0, n, BATCH):
                m.update(pt[lo:lo + BATCH], yt[lo:lo + BATCH])
            return m

        out["torchmetrics BinaryCalibrationError.update"] = tm

        def tm_compute():
            m = tm()
            return float(m.compute())

        out["torchmetrics update + compute"] = tm_compute

        def fc_compute():
            return fc(auroc=None)().compute()

        out["fastcal auroc=None, update + compute"] = fc_compute
    except ImportError:
        pass
    return out


THREE = "functional ece + nll + brier_score (three passes, whole array)"


def finished(acc):
    """``acc`` once the last batch's rows are in its AUROC histogram (added on
    a pool thread while the caller goes on; whatever reads the state waits
    for them), so that a stream's time includes all of its work."""
    if acc._auc is not None and acc._auroc == "bounded":
        acc._auc._settle()
    return acc


def numpy_stream(y, p, n_bins=15):
    """The plain numpy reference: per batch, bin sums by ``bincount`` and the
    Brier / NLL sums, added into running totals."""
    cnt = np.zeros(n_bins)
    sc = np.zeros(n_bins)
    sy = np.zeros(n_bins)
    brier = nll = 0.0
    eps = np.finfo(np.float64).eps
    for lo in range(0, len(y), BATCH):
        yb, pb = y[lo:lo + BATCH], p[lo:lo + BATCH]
        k = np.clip(np.ceil(pb * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
        cnt += np.bincount(k, minlength=n_bins)
        sc += np.bincount(k, pb, minlength=n_bins)
        sy += np.bincount(k, yb, minlength=n_bins)
        brier += float(np.dot(pb - yb, pb - yb))
        q = np.clip(np.where(yb == 1, pb, 1.0 - pb), eps, 1.0 - eps)
        nll -= float(np.log(q).sum())
    return np.abs(sc - sy).sum() / cnt.sum(), nll / cnt.sum(), brier / cnt.sum()


def river_per_sample(y, p, m=100_000):
    """river ``LogLoss`` streamed one sample at a time over the first ``m``
    samples: seconds per sample (None when river is not installed)."""
    try:
        from river import metrics
    except ImportError:
        return None
    yl, pl = y[:m].astype(bool).tolist(), p[:m].tolist()

    def run():
        ll = metrics.LogLoss()
        for t, q in zip(yl, pl):
            ll.update(t, q)
        return ll.get()

    return median_time(run, 3)[0] / m


def update_parts(y, p):
    """Per-sample cost of each part of one 65536-row binary update (the
    accumulator's own kernels, called as it calls them): name -> seconds per sample."""
    import fastcal
    from fastcal.core import pipeline as _core
    from fastcal._kernels.streaming import accumulate as KA

    yb, pb = np.ascontiguousarray(y[:BATCH]), np.ascontiguousarray(p[:BATCH])
    acc = fastcal.CalibrationAccumulator(15).update(yb, pb)
    edges = acc._edges
    eps = float(np.finfo(np.float64).eps)
    conf, cell = np.empty(BATCH), np.empty(BATCH, np.int32)
    hist = acc._auc._hist.copy()
    hi, lo = acc._hi.copy(), acc._lo.copy()
    args = (yb, pb, None, edges, True, None, eps, True, None, None)
    dd = _core.binary_batch(*args, threads=1)[2]
    _core.binary_batch(*args[:-2], conf, cell, threads=1)
    parts = {
        "one pass (validate, bin, compensated sums), 2 threads":
            lambda: _core.binary_batch(*args, threads=2),
        "one pass, 1 thread": lambda: _core.binary_batch(*args, threads=1),
        "one pass + per-row AUROC input (confidence, cell), 2 threads":
            lambda: _core.binary_batch(*args[:-2], conf, cell, threads=2),
        "AUROC histogram scatter (one thread)":
            lambda: KA.hist_cells(hist, conf, cell, None),
        "state addition (double-double)": lambda: KA.add_dd(hi, lo, dd[0], dd[1]),
        "whole update, default (its histogram addition waited for)":
            lambda: finished(acc.update(yb, pb)),
    }
    return {k: per_call(f) / BATCH for k, f in parts.items()}


def stream_parts(y, p, repeat=5):
    """The default accumulator's whole stream (``y``, ``p`` in batches of
    ``BATCH``), each part timed inside it: the one-pass call, the AUROC
    histogram addition (on a pool thread, while the caller goes on to its
    next batch) and the caller's waits for it are wrapped where the update
    calls them, so they run on the caches the rest of the stream leaves
    (timed alone, the scatter finds the histogram in cache). Name ->
    seconds per sample (medians over ``repeat`` streams)."""
    import time

    import fastcal
    from fastcal.streaming import accumulator_update as U
    from fastcal.streaming.auroc_accumulator import AUROCAccumulator
    from fastcal._kernels.streaming import accumulate as KA

    spent = {"pass": 0.0, "scatter": 0.0, "wait": 0.0}
    run, scatter, settle = U._core.binary_batch, KA.hist_cells, AUROCAccumulator._settle

    def timed(fn, key):
        def call(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            spent[key] += time.perf_counter() - t
            return out
        return call

    def stream():
        acc = fastcal.CalibrationAccumulator()
        for lo in range(0, p.shape[0], BATCH):
            acc.update(y[lo:lo + BATCH], p[lo:lo + BATCH])
        finished(acc)

    rows = {"whole stream": [], "the one-pass call (2 threads)": [],
            "AUROC histogram addition (pool thread, beside the next batch's pass)": [],
            "waiting for the last batch's histogram addition": [],
            "the rest (Python, validation, lock, state addition)": []}
    U._core.binary_batch, KA.hist_cells = timed(run, "pass"), timed(scatter, "scatter")
    AUROCAccumulator._settle = timed(settle, "wait")
    try:
        stream()
        for _ in range(repeat):
            spent["pass"] = spent["scatter"] = spent["wait"] = 0.0
            t = time.perf_counter()
            stream()
            whole = time.perf_counter() - t
            vals = (whole, spent["pass"], spent["scatter"], spent["wait"],
                    whole - spent["pass"] - spent["wait"])
            for k, v in zip(rows, vals):
                rows[k].append(v / p.shape[0])
    finally:
        U._core.binary_batch, KA.hist_cells = run, scatter
        AUROCAccumulator._settle = settle
    return {k: float(np.median(v)) for k, v in rows.items()}


def bootstrap_ratio(n=1_000_000):
    """(one report, calibration_report(ci=0.95) with 1000 resamples) in seconds, n = 1e6."""
    import fastcal

    d = R.binary_data(n)
    one, _ = median_time(lambda: fastcal.calibration_report(d.y, d.p), 5)
    ci, _ = median_time(lambda: fastcal.calibration_report(d.y, d.p, ci=0.95, random_state=0), 3)
    return one, ci


def bootstrap_parts(n=1_000_000):
    """The parts of ``calibration_report(ci=0.95)`` (1000 resamples) on n rows,
    each timed alone as the report calls it: name -> seconds."""
    from fastcal._kernels.uncertainty import bootstrap as KB
    from fastcal.core import pipeline as _core
    from fastcal.uncertainty import bootstrap as BS
    from fastcal.uncertainty.delong import auroc_with_ci

    d = R.binary_data(n)
    kw = dict(n_bins=15, strategy="uniform", right=True, classwise=False, from_logits=False,
              sample_weight=None, scores=True, want_cc=True)
    b = _core.binned(d.y, d.p, want_terms=True, **kw)
    edges = b.edges[0]
    state = BS.replicate_state(b.conf, b.corr, b.terms, None, edges, right=True, seed=0,
                               stream=0, row_offset=0, n_resamples=1000)
    parts = {
        "binned pass with per-row terms (validation, bins, Brier/NLL)":
            lambda: _core.binned(d.y, d.p, want_terms=True, **kw),
        "AUROC and DeLong interval (one Mann-Whitney pass)":
            lambda: auroc_with_ci(b.conf, b.corr, None, 0.95),
        "replicate state (Poisson draws and weighted sums), 2 threads":
            lambda: BS.replicate_state(b.conf, b.corr, b.terms, None, edges, right=True, seed=0,
                                       stream=0, row_offset=0, n_resamples=1000),
        "replicate gauges and percentiles":
            lambda: BS.intervals_from_table(KB.replicate_gauges(state, 15), 0.95),
    }
    return {k: median_time(f, 3)[0] for k, f in parts.items()}


def small_parts(y, p):
    """Where the time of one 64-row update goes (default accumulator): the
    whole update, its kernel called from Python through the entry point the
    update calls (and through Numba's dispatcher), and the kernel alone in a
    compiled loop (no call overhead): name -> seconds."""
    from numba import njit

    import fastcal
    from fastcal._kernels.streaming import accumulate as KA

    y64, p64 = y[:64].copy(), p[:64].copy()
    acc = fastcal.CalibrationAccumulator(15).update(y64, p64).update(y64, p64)
    dd, hist, ws, edges, right = acc._small[:5]
    entry = acc._small[-1]
    args = (y64, p64, dd, hist, ws, edges, right, None)

    @njit
    def loop(k, y, p, dd, hist, ws, edges, right):
        s = 0
        for _ in range(k):
            s += KA.binary_update(y, p, dd, hist, ws, edges, right, None)[0]
        return s

    def compiled():
        loop(1000, *args[:-1])

    out = {"whole update": per_call(lambda: acc.update(y64, p64)),
           "kernel through the entry point the update calls": per_call(lambda: entry(*args)),
           "kernel through Numba's dispatcher": per_call(lambda: KA.binary_update(*args)),
           "kernel alone (a compiled loop of calls)": per_call(compiled) / 1000}
    return out


def small_updates(y, p):
    import fastcal

    y64, p64 = y[:64].copy(), p[:64].copy()
    out = {}
    for name, kw in (("fastcal (default)", {}), ("fastcal auroc=None", {"auroc": None})):
        acc = fastcal.CalibrationAccumulator(15, **kw).update(y64, p64)
        out[name] = (lambda a: lambda: a.update(y64, p64))(acc)
    try:
        import torch
        from torchmetrics.classification import BinaryCalibrationError

        torch.set_num_threads(2)
        pt, yt = torch.from_numpy(p64), torch.from_numpy(y64)
        m = BinaryCalibrationError(n_bins=15, norm="l1")
        calls = [0]

        def tm():
            calls[0] += 1
            if calls[0] % 10_000 == 0:  # its state keeps every prediction
                m.reset()
            m.update(pt, yt)

        out["torchmetrics update"] = tm
    except ImportError:
        pass
    return out


# ---------------------------------------------------------------------------
# memory while streaming (one subprocess per implementation)


def _status():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0]) * 1024
    return out


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def mem_child(name, total):
    """Stream ``total`` samples from a pool of 16 batches; print the peak rise."""
    pool = [R.binary_data(BATCH, seed=R.SEED + i) for i in range(16)]
    if name.startswith("fastcal"):
        import fastcal

        kw = {"auroc": None} if "None" in name else {}
        acc = fastcal.CalibrationAccumulator(15, **kw)
        acc.update(pool[0].y, pool[0].p)  # compile / load kernels before the baseline
        acc.reset()

        def upd(d):
            acc.update(d.y, d.p)
    else:
        import torch
        from torchmetrics.classification import BinaryCalibrationError

        torch.set_num_threads(2)
        m = BinaryCalibrationError(n_bins=15, norm="l1")
        tens = [(torch.from_numpy(d.p), torch.from_numpy(d.y)) for d in pool]
        m.update(*tens[0])
        m.reset()

        def upd(d, _t={id(d): t for d, t in zip(pool, tens)}):
            m.update(*_t[id(d)])
    import gc

    gc.collect()
    resettable = _reset_hwm()
    base = _status()
    done = 0
    i = 0
    while done < total:
        upd(pool[i % 16])
        done += BATCH
        i += 1
    after = _status()
    rise = (after["VmHWM"] if resettable else after["VmRSS"]) - base["VmRSS"]
    print(json.dumps({"rise": rise, "samples": done, "vmhwm_reset": resettable}))


def measure_memory(total, log):
    res = {}
    names = ["fastcal (default)", "fastcal auroc=None"]
    try:
        import torchmetrics  # noqa: F401

        names.append("torchmetrics BinaryCalibrationError")
    except ImportError:
        pass
    for name in names:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--mem-child", name,
                               str(int(total))], capture_output=True, text=True, timeout=3600)
        if proc.returncode:
            res[name] = {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
        else:
            res[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        log(f"  memory {name:40s} {res[name]}")
    return res


# ---------------------------------------------------------------------------
# Dask


def dask_times(n, log, repeat=3):
    import dask.array as da
    import distributed

    import fastcal
    import fastcal.dask as fd

    chunk = 10_000_000
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        rs = da.random.RandomState(R.SEED)
        p = rs.beta(2.5, 1.2, size=n, chunks=chunk)
        y = (rs.random_sample(n, chunks=chunk) < p ** 1.3).astype(np.int64)
        p, y = client.persist([p, y])
        distributed.wait([p, y])
        t_dask, _ = median_time(lambda: fd.calibration_report(y, p), repeat)
        log(f"  dask {n:.0e}: {t_dask * 1e3:.0f} ms ({p.numblocks[0]} partitions)")
        yn, pn = y.compute(), p.compute()
        rd = fd.calibration_report(y, p)
    finally:
        client.close()
        cluster.close()
    t_mem, _ = median_time(lambda: fastcal.calibration_report(yn, pn), repeat)
    t_acc, _ = median_time(lambda: fastcal.CalibrationAccumulator().update(yn, pn).compute(),
                           repeat)
    rm = fastcal.calibration_report(yn, pn)
    agree = abs(rd.ece - rm.ece) <= 1e-12 and rd.auroc_bounds[0] <= rm.auroc <= rd.auroc_bounds[1]
    log(f"  in-memory calibration_report {t_mem * 1e3:.0f} ms, accumulator {t_acc * 1e3:.0f} ms")
    return {"dask": t_dask, "in_memory_report": t_mem, "in_memory_accumulator": t_acc,
            "agree": bool(agree), "partitions": int(-(-n // chunk))}


# ---------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--wait-idle", type=float, default=0)
    ap.add_argument("--mem-child", nargs=2, metavar=("NAME", "TOTAL"))
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)
    if args.mem_child:
        mem_child(args.mem_child[0], int(args.mem_child[1]))
        return 0
    if args.wait_idle:
        t0 = time.time()
        while loadavg() > 0.5 and time.time() - t0 < args.wait_idle:
            time.sleep(10)

    def log(msg):
        print(msg, flush=True)

    import fastcal

    n_stream = 1_000_000 if args.quick else 10_000_000
    n_mem = 2_000_000 if args.quick else 50_000_000
    n_dask = 2_000_000 if args.quick else 100_000_000
    loads = [loadavg()]
    d = R.binary_data(n_stream)
    y, p = d.y, d.p
    log(f"throughput: n={n_stream:.0e} in batches of {BATCH}  load {loadavg():.2f}")
    thr = {}
    for name, fn in streamers(y, p).items():
        thr[name] = median_time(fn, 3 if "torch" in name else 7)
        log(f"  {name:45s} {thr[name][0] * 1e3:9.1f} ms")
    log(f"64-sample update  load {loadavg():.2f}")
    small = {}
    for name, fn in small_updates(y, p).items():
        small[name] = per_call(fn)
        log(f"  {name:45s} {small[name] * 1e6:9.2f} us")
    log(f"parts of one 64-row update  load {loadavg():.2f}")
    sparts = small_parts(y, p)
    for name, t in sparts.items():
        log(f"  {name:55s} {t * 1e9:7.0f} ns")
    log(f"parts of one {BATCH}-row update  load {loadavg():.2f}")
    parts = update_parts(y, p)
    for name, t in parts.items():
        log(f"  {name:55s} {t * 1e9:7.2f} ns/sample")
    log(f"parts of the default stream, inside it  load {loadavg():.2f}")
    iparts = stream_parts(y, p)
    for name, t in iparts.items():
        log(f"  {name:55s} {t * 1e9:7.2f} ns/sample")
    riv = river_per_sample(y, p, 20_000 if args.quick else 100_000)
    if riv is not None:
        log(f"  river LogLoss {riv * 1e9:.0f} ns/sample")
    log(f"bootstrap  load {loadavg():.2f}")
    boot = bootstrap_ratio(200_000 if args.quick else 1_000_000)
    log(f"  report {boot[0] * 1e3:.1f} ms, ci=0.95 {boot[1] * 1e3:.1f} ms")
    bparts = bootstrap_parts(200_000 if args.quick else 1_000_000)
    for name, t in bparts.items():
        log(f"  {name:60s} {t * 1e3:7.1f} ms")
    loads.append(loadavg())
    log(f"memory while streaming {n_mem:.0e}  load {loadavg():.2f}")
    mem = measure_memory(n_mem, log)
    dk = None
    if not args.no_dask:
        log(f"dask n={n_dask:.0e}  load {loadavg():.2f}")
        dk = dask_times(n_dask, log)
    loads.append(loadavg())

    tm = "torchmetrics BinaryCalibrationError.update"
    L = [f"# Streaming benchmarks{' (quick smoke run)' if args.quick else ''}", "",
         f"fastcal {fastcal.__version__}, numpy {np.__version__}, python "
         f"{platform.python_version()}, {os.cpu_count()} cores; load average at start/middle/end "
         f"{', '.join(f'{x:.2f}' for x in loads)}. Written by `benchmarks/streaming.py`; "
         "medians after a warm-up run.", ""]
    L += ["## Targets", "", "| target | required | measured | result |", "|---|---|---|---|"]
    fc_def = thr["fastcal (default: + bounded AUROC)"][0]
    fc_none = thr["fastcal auroc=None"][0]
    t3 = thr[THREE][0]

    def verdict(ok):
        return "PASS" if ok else "MISS"

    L.append(f"| default accumulator (bounded AUROC), {n_stream:.0e} in batches of {BATCH} | "
             f"<= 0.7x the three functional passes | {fc_def / t3:.2f}x "
             f"({fc_def * 1e3:.1f} ms vs {t3 * 1e3:.1f} ms) | {verdict(fc_def / t3 <= 0.7)} |")
    L.append(f"| `auroc=None` accumulator, same stream | <= 0.5x the three passes | "
             f"{fc_none / t3:.2f}x ({fc_none * 1e3:.1f} ms) | {verdict(fc_none / t3 <= 0.5)} |")
    tmc = "torchmetrics update + compute"
    if tmc in thr:
        r = thr[tmc][0] / fc_def
        L.append(f"| default accumulator vs torchmetrics `BinaryCalibrationError` update + "
                 f"compute, same stream | >= 20x | {r:.1f}x | {verdict(r >= 20)} |")
    s_def, s_none = small["fastcal (default)"], small["fastcal auroc=None"]
    L.append(f"| `update` on 64 samples, validated | <= 2.5 us | default {s_def * 1e6:.2f} us, "
             f"auroc=None {s_none * 1e6:.2f} us | {verdict(s_def <= 2.5e-6)} |")
    rb = boot[1] / boot[0]
    L.append(f"| `calibration_report(ci=0.95)`, 1000 resamples, n = "
             f"{200_000 if args.quick else 1_000_000:.0e} | <= 25x one report | {rb:.1f}x "
             f"({boot[1] * 1e3:.0f} ms vs {boot[0] * 1e3:.1f} ms) | {verdict(rb <= 25)} |")
    m_def = mem["fastcal (default)"].get("rise")
    m_none = mem["fastcal auroc=None"].get("rise")
    if m_def is not None:
        L.append(f"| peak memory rise streaming {n_mem:.0e} | < 10 MiB | default "
                 f"{m_def / MiB:.2f} MiB, auroc=None {m_none / MiB:.2f} MiB | "
                 f"{'PASS' if m_def < 10 * MiB else 'MISS'} |")
    if dk:
        ratio = dk["dask"] / dk["in_memory_report"]
        L.append(f"| Dask, {n_dask:.0e} samples, 2-worker LocalCluster | within 2x of in-memory | "
                 f"{dk['dask'] * 1e3:.0f} ms vs {dk['in_memory_report'] * 1e3:.0f} ms "
                 f"(`calibration_report`): {ratio:.2f}x | {'PASS' if ratio <= 2 else 'MISS'} |")
    L += ["", "## Throughput", "", f"n = {n_stream:.0e} binary samples in batches of {BATCH}.", "",
          "| implementation | median | min | ratio (time / fastcal auroc=None) |", "|---|---|---|---|"]
    for name, (med, mn) in thr.items():
        L.append(f"| {name} | {med * 1e3:.1f} ms | {mn * 1e3:.1f} ms | {med / fc_none:.2f} |")
    L += ["", f"## Parts of one {BATCH}-row update (default accumulator)", "",
          "Each part timed alone on the same batch (the accumulator's own kernels, called as it "
          "calls them), per sample. The whole update also validates the arguments in Python and "
          "takes the lock; its histogram addition runs on a pool thread, waited for here.", "",
          "| part | per sample |", "|---|---|"]
    for name, t in parts.items():
        L.append(f"| {name} | {t * 1e9:.2f} ns |")
    L += ["", "The same parts inside the whole default stream (the one-pass call, the "
          "histogram addition and the waits for it wrapped where the update calls them, so each "
          "runs on the caches the rest of the stream leaves; medians of 5 streams), per sample. "
          "The histogram addition runs on the pool thread while the caller goes on to the next "
          "batch, whose pass that thread joins when done: it is not part of the sum.", "",
          "| part | per sample |", "|---|---|"]
    for name, t in iparts.items():
        L.append(f"| {name} | {t * 1e9:.2f} ns |")
    per_none = fc_none / n_stream
    if riv is not None:
        L += ["", "river has no binned calibration error; its streaming `LogLoss` (one Python "
              f"`update` per sample, timed on a prefix of the stream) costs {riv * 1e9:.0f} ns "
              f"per sample: {riv / per_none:.0f}x the `auroc=None` accumulator's "
              f"{per_none * 1e9:.2f} ns per sample for every gauge."]
    L += ["", "## Parts of one 64-row update (default accumulator)", "",
          "The whole update; its kernel called from Python with the update's arguments, "
          "through the compiled entry point the update calls and through Numba's dispatcher; "
          "and the kernel alone, in a compiled loop. The update's Python share (checks, lock, "
          "counts) is the whole minus the entry-point call; the call overhead (unboxing 8 "
          "arguments, the returned tuple) the entry-point call minus the kernel alone.", "",
          "| part | per call |", "|---|---|"]
    for name, t in sparts.items():
        L.append(f"| {name} | {t * 1e9:.0f} ns |")
    L += ["", f"## Parts of `calibration_report(ci=0.95)`, 1000 resamples, n = "
          f"{200_000 if args.quick else 1_000_000:.0e}", "",
          "Each part timed alone, as the report calls it (medians). The report without `ci` "
          f"took {boot[0] * 1e3:.1f} ms, with it {boot[1] * 1e3:.0f} ms.", "",
          "| part | median |", "|---|---|"]
    for name, t in bparts.items():
        L.append(f"| {name} | {t * 1e3:.1f} ms |")
    L += ["", "## One update of 64 samples (validation on)", "", "| implementation | per call |",
          "|---|---|"]
    for name, t in small.items():
        L.append(f"| {name} | {t * 1e6:.2f} us |")
    L += ["", f"## Peak memory rise while streaming {n_mem:.0e} samples", "",
          "VmHWM after streaming minus VmRSS before, in a fresh process per implementation "
          "(kernels loaded, data pool of 16 batches allocated before the baseline).", "",
          "| implementation | rise |", "|---|---|"]
    for name, r in mem.items():
        L.append(f"| {name} | {r['rise'] / MiB:.2f} MiB |" if "rise" in r
                 else f"| {name} | error: {r['error']} |")
    if dk:
        L += ["", f"## Dask: {n_dask:.0e} samples, {dk['partitions']} partitions, 2 worker "
              "processes x 1 thread", "",
              "Data persisted on the workers before timing; in-memory runs on the same values in "
              "this process.", "",
              "| what | median |", "|---|---|",
              f"| `fastcal.dask.calibration_report` | {dk['dask'] * 1e3:.0f} ms |",
              f"| in-memory `fastcal.calibration_report` (exact AUROC) | "
              f"{dk['in_memory_report'] * 1e3:.0f} ms |",
              f"| in-memory `CalibrationAccumulator().update(...).compute()` | "
              f"{dk['in_memory_accumulator'] * 1e3:.0f} ms |",
              f"| agreement (ECE equal, exact AUROC within the bounds) | {dk['agree']} |"]
    text = "\n".join(L) + "\n"
    print(text)
    if not args.quick:
        with open(os.path.join(HERE, "RESULTS-streaming.md"), "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
