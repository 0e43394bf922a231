"""``fastcal demo``: the whole report, a fit and a plot on synthetic data.
"""

import time

import numpy as np

from .args import DEFAULT_THRESHOLDS
from .report import _plot
from .format import format_bins, format_comparison, format_report


# --------------------------------------------------------------------- demo
def synthetic(n=100_000, n_classes=10, overconfidence=2.5, seed=0):
    """Deterministic synthetic classifier: (labels, true logits * overconfidence).

    Labels are drawn from softmax(true logits), so softmax(true logits) is
    perfectly calibrated and the scaled logits are overconfident.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, size=(n, n_classes))
    z[np.arange(n), rng.integers(0, n_classes, n)] += 2.0
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    y = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), n_classes - 1)
    return y, z * overconfidence


def _cmd_demo(args):
    from ..metrics.report import calibration_report
    from ..calibrators.temperature import TemperatureScaling

    n = max(1000, args.n)
    t0 = time.perf_counter()
    print(f"fastcal demo: SYNTHETIC data (a 10-class model, {n:,} test predictions, "
          "logits scaled by 2.5 so it is overconfident by design; not a real model)\n")
    y, z = synthetic(n=n)
    yv, zv = synthetic(n=max(1000, n // 5), seed=1)
    th = dict(DEFAULT_THRESHOLDS)
    r = calibration_report(y, z, from_logits=True)
    print(format_report(r, th, title="Report (top-label, from logits):"))
    print()
    print("Reliability:")
    print(format_bins(r))
    ts = TemperatureScaling().fit(zv, yv)
    # the calibrated logits z / T (softmax(z / T) is ts.predict_proba(z)): the
    # report reads them with the kernels the first report compiled
    r2 = calibration_report(y, z / ts.temperature_, from_logits=True)
    print(f"\nTemperature scaling fitted on {yv.shape[0]:,} separate SYNTHETIC validation "
          f"predictions: T = {ts.temperature_:.4f} (the data were made with 2.5)\n")
    print(format_comparison(r, r2, th))
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("\n(no plot: matplotlib is not installed; pip install matplotlib)")
            matplotlib = None
        try:
            from .. import plot  # noqa: F401
        except ImportError as exc:
            if matplotlib is not None:
                print(f"\n(no plot: fastcal.plot is not available: {exc})")
            matplotlib = None
        if matplotlib is not None:
            out = _plot(r2, args.plot, before=r,
                        title="SYNTHETIC data: before and after temperature scaling")
            print(f"\nReliability diagram saved to {out}")
    print(f"\nDone in {time.perf_counter() - t0:.1f} s. On your own predictions:\n"
          "  fastcal report preds.csv --confidence confidence --label correct\n"
          "  fastcal report preds.npz --logits logits --label y --fit temperature --fit-file val.npz")
    return 0
