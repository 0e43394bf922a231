"""``fastcal bench``: a small built-in speed comparison against the installed
peers (the full benchmark suite is benchmarks/run.py in a source checkout).
"""

import math
import time

import numpy as np


# -------------------------------------------------------------------- bench
def _cmd_bench(args):
    import fastcal

    n = max(100, args.n)
    rng = np.random.default_rng(0)
    p = rng.random(n)
    y = (rng.random(n) < p ** 1.2).astype(np.int64)
    wanted = [s.strip() for s in args.peers.split(",") if s.strip()]
    rows = []  # (metric, peer, t_fastcal, t_peer, agree)

    def add(metric, peer, ours, theirs):
        a = ours()
        b = theirs()
        rows.append((metric, peer, _best(ours, args.repeat), _best(theirs, args.repeat),
                     abs(float(a) - float(b)) < 1e-6))

    _add_peers(wanted, add, fastcal, y, p)
    print(f"fastcal bench (built-in): n = {n:,} binary predictions, best of {args.repeat} "
          "(the full benchmark suite: benchmarks/run.py in a source checkout)")
    if not rows:
        print("no peer installed (pip install scikit-learn torchmetrics netcal); nothing to compare.")
        return 0
    print(f"\n  {'metric':<8}{'peer':<15}{'fastcal':>11}{'peer':>11}{'ratio':>9}  agree")
    for m, peer, a, b, ok in rows:
        print(f"  {m:<8}{peer:<15}{a * 1e3:>9.2f}ms{b * 1e3:>9.2f}ms{b / a:>8.1f}x  "
              f"{'yes' if ok else 'NO'}")
    print("\nratio = peer time / fastcal time (higher is better for fastcal); timings on a busy "
          "machine are indicative only.")
    return 0


def _best(fn, repeat):
    fn()
    best = math.inf
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _add_peers(wanted, add, fastcal, y, p):
    import importlib.util

    if "sklearn" in wanted and importlib.util.find_spec("sklearn"):
        from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

        add("Brier", "scikit-learn", lambda: fastcal.brier_score(y, p),
            lambda: brier_score_loss(y, p))
        add("NLL", "scikit-learn", lambda: fastcal.nll(y, p), lambda: log_loss(y, p))
        add("AUROC", "scikit-learn", lambda: fastcal.auroc(y, p), lambda: roc_auc_score(y, p))
    if "torchmetrics" in wanted and importlib.util.find_spec("torchmetrics"):
        import torch
        from torchmetrics.functional.classification import binary_calibration_error

        pt, yt = torch.from_numpy(p), torch.from_numpy(y)
        # torchmetrics bins are left-closed (1.0 in an extra bin): compare right=False
        add("ECE", "torchmetrics", lambda: fastcal.ece(y, p, right=False),
            lambda: binary_calibration_error(pt, yt, n_bins=15).item())
    if "netcal" in wanted and importlib.util.find_spec("netcal"):
        from netcal.metrics import ECE

        e = ECE(bins=15)
        add("ECE", "netcal", lambda: fastcal.ece(y, p, right=False), lambda: e.measure(p, y))
