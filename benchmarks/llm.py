"""LLM benchmarks (issue 6): calibration report from vocabulary-sized logits.

    python benchmarks/llm.py            # full sizes -> benchmarks/RESULTS-llm.md
    python benchmarks/llm.py --quick    # small sizes, smoke run (not written)

Targets (issue 6), each measured against a PyTorch CPU reference in the same run:

* report from (20000, 32000) float16 logits: >= 3x the reference
  (``softmax(logits.float())``, max, gather: the top-label confidence,
  correctness and the probability of the label, i.e. what a report needs);
* memory for the same: input + < 16 MiB (the reference materialises float32
  probabilities, 2.5 GB);
* (2000, 128000) bfloat16: the same ratios.

Each timing is the median of 3 runs after a warm-up run; the memory is the
peak RSS rise over the input in a fresh process per implementation.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from machine import median_time  # noqa: E402

MiB = 1 << 20


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


def make(n, v, fmt, seed=0):
    """Logits of a 'model' that is right about 40% of the time (labels int64), as a torch
    tensor of dtype fmt and its numpy view (float16 array or the torch tensor for bfloat16)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, v, generator=g, dtype=torch.float32).mul_(2.0)
    y = torch.randint(0, v, (n,), generator=g)
    hit = torch.rand(n, generator=g) < 0.4
    z[hit, y[hit]] += 12.0
    zt = z.to(torch.float16 if fmt == "float16" else torch.bfloat16)
    del z
    return zt, y


def torch_reference(zt, y):
    import torch

    p = torch.softmax(zt.float(), dim=-1)
    conf, pred = p.max(dim=-1)
    py = p.gather(1, y[:, None])[:, 0]
    return conf, pred == y, py


def fastcal_report(zt, y):
    import fastcal

    return fastcal.calibration_report(y, zt, from_logits=True)



def rss():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def mem_child(impl, n, v, fmt):
    import torch

    torch.set_num_threads(2)
    zt, y = make(n, v, fmt)
    small_z, small_y = make(64, v, fmt, seed=1)
    (fastcal_report if impl == "fastcal" else torch_reference)(small_z, small_y)  # compile/warm
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    base = rss()["VmRSS"]
    (fastcal_report if impl == "fastcal" else torch_reference)(zt, y)
    after = rss()
    peak = after["VmHWM"] if reset else after["VmRSS"]
    print(json.dumps({"rise": peak - base, "input": zt.numel() * 2, "reset": reset}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mem-child", nargs=4, metavar=("IMPL", "N", "V", "FMT"))
    args = ap.parse_args(argv)
    if args.mem_child:
        impl, n, v, fmt = args.mem_child
        mem_child(impl, int(n), int(v), fmt)
        return 0
    import torch

    import fastcal

    torch.set_num_threads(2)
    shapes = [(20000, 32000, "float16"), (2000, 128000, "bfloat16")]
    if args.quick:
        shapes = [(500, 32000, "float16"), (100, 128000, "bfloat16")]
    rows = []
    loads = [loadavg()]
    for n, v, fmt in shapes:
        zt, y = make(n, v, fmt)
        t_ref = median_time(lambda: torch_reference(zt, y))
        t_fc = median_time(lambda: fastcal_report(zt, y))
        # agreement: the report's gauges from the reference's per-row quantities
        conf, corr, py = torch_reference(zt, y)
        r = fastcal_report(zt, y)
        conf64 = conf.double().numpy()
        corr_np = corr.numpy()
        ece_ref = fastcal.ece(corr_np.astype(np.int8), conf64)
        nll_ref = float(-np.log(py.double().numpy()).mean())
        agree = abs(r.ece - ece_ref) < 1e-6 and abs(r.nll - nll_ref) < 1e-5
        mem = {}
        for impl in ("fastcal", "torch"):
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--mem-child", impl,
                                   str(n), str(v), fmt], capture_output=True, text=True,
                                  timeout=1800)
            mem[impl] = (json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0
                         else {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]})
        rows.append(dict(n=n, v=v, fmt=fmt, t_ref=t_ref, t_fc=t_fc, agree=agree,
                         ece=(r.ece, ece_ref), nll=(r.nll, nll_ref), mem=mem))
        print(rows[-1], flush=True)
        del zt, y
        loads.append(loadavg())
    L = [f"# LLM benchmarks{' (quick smoke run)' if args.quick else ''}", "",
         f"fastcal {fastcal.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
         f"python {platform.python_version()}, {os.cpu_count()} cores, torch threads 2; load "
         f"average {', '.join(f'{x:.2f}' for x in loads)}. Written by `benchmarks/llm.py`; "
         "medians of 3 after a warm-up run.", "",
         "Reference: `torch.softmax(logits.float(), -1)`, `max`, `gather` (confidence, "
         "correctness, probability of the label: what the report needs). fastcal: "
         "`fastcal.calibration_report(labels, logits, from_logits=True)` (every gauge: ECE, "
         "MCE, RMSCE, signed error, Brier, NLL, accuracy, confidence, AUROC, reliability "
         "curve), reading the 16-bit logits as they are.", "",
         "| logits | torch reference | fastcal report | ratio | extra memory fastcal | extra "
         "memory torch | agree |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        mf, mt = r["mem"]["fastcal"], r["mem"]["torch"]
        fm = f"{mf['rise'] / MiB:.1f} MiB" if "rise" in mf else mf.get("error")
        tm = f"{mt['rise'] / MiB:.0f} MiB" if "rise" in mt else mt.get("error")
        L.append(f"| ({r['n']}, {r['v']}) {r['fmt']} | {r['t_ref'] * 1e3:.0f} ms | "
                 f"{r['t_fc'] * 1e3:.0f} ms | {r['t_ref'] / r['t_fc']:.2f}x | {fm} | {tm} | "
                 f"{r['agree']} |")
    L += ["", "## Targets", "", "| target | required | measured | result |", "|---|---|---|---|"]
    for r in rows:
        ratio = r["t_ref"] / r["t_fc"]
        mf = r["mem"]["fastcal"]
        L.append(f"| ({r['n']}, {r['v']}) {r['fmt']} speed | >= 3x reference | {ratio:.2f}x | "
                 f"{'PASS' if ratio >= 3 else 'MISS'} |")
        if "rise" in mf:
            L.append(f"| ({r['n']}, {r['v']}) {r['fmt']} memory | input + < 16 MiB | input + "
                     f"{mf['rise'] / MiB:.1f} MiB | {'PASS' if mf['rise'] < 16 * MiB else 'MISS'} |")
    text = "\n".join(L) + "\n"
    print(text)
    if not args.quick:
        with open(os.path.join(HERE, "RESULTS-llm.md"), "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
