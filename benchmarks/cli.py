"""Command-line benchmarks (issue 7), peers in the same run.

    python benchmarks/cli.py            # -> benchmarks/RESULTS-cli.md
    python benchmarks/cli.py --quick    # 1e6 rows, smoke run (not written)

Targets (issue 7):

* ``fastcal report`` on a 1e7-row CSV (confidence, label): >= 3x
  ``pandas.read_csv`` + scikit-learn metrics on the same file (ECE by
  searchsorted/bincount, ``brier_score_loss``, ``log_loss``,
  ``roc_auc_score``), peak memory < 300 MB;
* ``fastcal demo``: < 10 s on a fresh install after warm-up.

Each implementation runs in a fresh subprocess (interpreter start and imports
included in "wall"; "work" is the time after imports); rounds are
interleaved, medians reported; peak memory is the process's ru_maxrss.
The CSV is the registry's binary data written by pandas (17 significant
digits).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry as R  # noqa: E402

PEER = r'''
import time, resource, json, sys
t1 = time.perf_counter()
import numpy as np, pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
df = pd.read_csv(sys.argv[1])
p = df["confidence"].to_numpy(); y = df["label"].to_numpy()
edges = np.linspace(0, 1, 16)
b = np.searchsorted(edges[1:-1], p, side="left")
cnt = np.bincount(b, minlength=15); sc = np.bincount(b, p, 15); sy = np.bincount(b, y, 15)
ece = float(np.sum(np.abs(sy - sc)) / len(p))
r = (ece, brier_score_loss(y, p), log_loss(y, p), roc_auc_score(y, p))
t2 = time.perf_counter()
print(json.dumps({"work": t2 - t1, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "vals": [float(v) for v in r]}))
'''
OURS = r'''
import time, resource, json, io, contextlib, sys
t1 = time.perf_counter()
from fastcal.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(["report", sys.argv[1], "--json"])
t2 = time.perf_counter()
d = json.loads(out.getvalue())
print(json.dumps({"work": t2 - t1, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "vals": [d["ece"], d["brier"], d["nll"], d["auroc"]]}))
'''


WRITE = r'''
import sys
sys.path.insert(0, %r)
import pandas as pd
import registry as R
d = R.binary_data(int(sys.argv[2]))
pd.DataFrame({"confidence": d.p, "label": d.y}).to_csv(sys.argv[1], index=False)
''' % HERE


def run(code, path):
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                         timeout=1800)
    wall = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    d = json.loads(out.stdout.strip().splitlines()[-1])
    d["wall"] = wall
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    import pandas as pd

    import fastcal

    n = 1_000_000 if args.quick else 10_000_000
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="fastcal-cli-bench-") as tmp:
        path = os.path.join(tmp, "preds.csv")
        # written by a child process: on Linux a child's ru_maxrss starts from its parent's
        # resident size, so this process must stay small while it spawns the measured ones
        subprocess.run([sys.executable, "-c", WRITE, path, str(n)], check=True, timeout=1800)
        size = os.path.getsize(path)
        run(OURS, path)  # warm-up: compile / load kernels
        res = {"fastcal report": [], "pandas + scikit-learn": []}
        for _ in range(args.rounds):
            res["fastcal report"].append(run(OURS, path))
            res["pandas + scikit-learn"].append(run(PEER, path))
            print({k: v[-1] for k, v in res.items()}, flush=True)
    demo = []
    for _ in range(3):  # the first call may compile; the target is after warm-up
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fastcal", "demo"], capture_output=True,
                       timeout=1800, cwd=tempfile.gettempdir())
        demo.append(time.perf_counter() - t)
    loads.append(os.getloadavg()[0])
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "work")}
           for k, v in res.items()}
    rss = {k: max(r["rss"] for r in v) for k, v in res.items()}
    a, b = res["fastcal report"][0]["vals"], res["pandas + scikit-learn"][0]["vals"]
    # ECE, Brier, NLL exact to rounding; the command's AUROC is the streaming accumulator's
    # bounded histogram (certified bounds, about 1e-8 here), compared at 1e-7
    agree = all(abs(x - y) <= 1e-9 for x, y in zip(a[:3], b[:3])) and abs(a[3] - b[3]) <= 1e-7
    ratio_wall = med["pandas + scikit-learn"]["wall"] / med["fastcal report"]["wall"]
    ratio_work = med["pandas + scikit-learn"]["work"] / med["fastcal report"]["work"]
    demo_t = min(demo[1:])
    L = [f"# Command-line benchmarks{' (quick smoke run)' if args.quick else ''}", "",
         f"fastcal {fastcal.__version__}, pandas {pd.__version__}, numpy {np.__version__}, python "
         f"{platform.python_version()}, {os.cpu_count()} cores; load average start/end "
         f"{loads[0]:.2f}, {loads[-1]:.2f}. Written by `benchmarks/cli.py`; {args.rounds} "
         "interleaved rounds, medians.", "",
         "## Targets", "", "| target | required | measured | result |", "|---|---|---|---|",
         f"| `fastcal report` on a {n:.0e}-row CSV | >= 3x pandas.read_csv + scikit-learn | "
         f"{ratio_wall:.1f}x (whole process), {ratio_work:.1f}x (after imports) | "
         f"{'PASS' if ratio_wall >= 3 else 'MISS'} |",
         f"| peak memory of the same | < 300 MB | {rss['fastcal report']:.0f} MB "
         f"(peer {rss['pandas + scikit-learn']:.0f} MB) | "
         f"{'PASS' if rss['fastcal report'] < 300 else 'MISS'} |",
         f"| `fastcal demo` after warm-up | < 10 s | {demo_t:.1f} s | "
         f"{'PASS' if demo_t < 10 else 'MISS'} |", "",
         f"## The {n:.0e}-row CSV ({size / 1e6:.0f} MB)", "",
         "| implementation | wall (process) | after imports | peak RSS |", "|---|---|---|---|"]
    for k in res:
        L.append(f"| {k} | {med[k]['wall']:.2f} s | {med[k]['work']:.2f} s | {rss[k]:.0f} MB |")
    L += ["", f"Agreement (ECE, Brier, NLL within 1e-9; AUROC, from the command's bounded streaming "
          f"histogram, within 1e-7): {agree}; fastcal {a}, peer {b}.",
          "", f"`python -m fastcal demo` (3 runs, the first may compile): "
          f"{', '.join(f'{t:.1f} s' for t in demo)}."]
    text = "\n".join(L) + "\n"
    print(text)
    if not args.quick:
        with open(os.path.join(HERE, "RESULTS-cli.md"), "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
