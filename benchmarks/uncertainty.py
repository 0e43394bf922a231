"""Uncertainty benchmarks (issue 5), peers in the same run.

    python benchmarks/uncertainty.py            # full sizes -> benchmarks/RESULTS-uncertainty.md
    python benchmarks/uncertainty.py --quick    # small sizes, smoke run (not written)

Targets (issue 5):

* DeLong interval, n = 1e7: <= 2x one AUROC (``fastcal.auroc``);
* 1000-resample bootstrap of ECE + Brier + NLL, n = 1e6: <= 20x one point estimate;
* smooth ECE, n = 1e6: >= 5x ``relplot.smECE`` (when relplot is installed).

Data: the registry's binary data (Beta(2.5, 1.2) confidences, Bernoulli(p ** 1.3) labels).
Medians after a warm-up run.
"""

import argparse
import importlib.util
import os
import platform
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry as R  # noqa: E402
from machine import median_time  # noqa: E402


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


def cases(quick):
    """(name, n, {impl: callable}, baseline impl, target ratio, 'le' or 'ge', note)."""
    import fastcal

    out = []
    n = 1_000_000 if quick else 10_000_000
    d = R.binary_data(n)
    out.append(("DeLong interval (`auroc_ci`)", n, {
        "fastcal.auroc (one AUROC)": lambda d=d: fastcal.auroc(d.y, d.p),
        "fastcal.auroc_ci": lambda d=d: fastcal.auroc_ci(d.y, d.p),
    }, "fastcal.auroc (one AUROC)", 2.0, "le", "cost of the interval relative to one AUROC"))
    n = 100_000 if quick else 1_000_000
    d = R.binary_data(n)  # (the lambdas above bind their own d)
    boot = {"fastcal.calibration_report (point estimate)":
            lambda: fastcal.calibration_report(d.y, d.p)}
    if _has_param(fastcal.calibration_report, "ci"):
        boot["calibration_report(ci=0.95, n_resamples=1000)"] = (
            lambda: fastcal.calibration_report(d.y, d.p, ci=0.95, n_resamples=1000,
                                               random_state=0))
    out.append(("1000-resample bootstrap of every gauge", n, boot,
                "fastcal.calibration_report (point estimate)", 20.0, "le",
                "cost of the intervals relative to one report"))
    if hasattr(fastcal, "smooth_ece"):
        sm = {"fastcal.smooth_ece": lambda: fastcal.smooth_ece(d.y, d.p)}
        if importlib.util.find_spec("relplot") is not None:
            import relplot

            sm["relplot.smECE"] = lambda: relplot.smECE(d.p, d.y)
        out.append(("smooth ECE", n, sm, "fastcal.smooth_ece", 5.0, "ge",
                    "peer time / fastcal time"))
    return out


def _has_param(fn, name):
    import inspect

    return name in inspect.signature(fn).parameters


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    import fastcal

    loads = [loadavg()]
    L = [f"# Uncertainty benchmarks{' (quick smoke run)' if args.quick else ''}", "",
         f"fastcal {fastcal.__version__}, numpy {np.__version__}, python "
         f"{platform.python_version()}, {os.cpu_count()} cores. Written by "
         "`benchmarks/uncertainty.py`; medians after a warm-up run.", ""]
    targets = ["## Targets", "", "| target | required | measured | result |", "|---|---|---|---|"]
    for title, n, impls, base, target, kind, note in cases(args.quick):
        times = {k: median_time(f, 3 if n >= 1_000_000 else 7) for k, f in impls.items()}
        print(title, {k: f"{v * 1e3:.1f} ms" for k, v in times.items()}, flush=True)
        L += [f"## {title}, n = {n:.0e}", "", f"load {loadavg():.2f}; ratio: {note}.", "",
              "| implementation | median | ratio to the baseline |", "|---|---|---|"]
        for k, v in times.items():
            L.append(f"| {k} | {v * 1e3:.1f} ms | {v / times[base]:.2f} |")
        L.append("")
        others = [k for k in times if k != base]
        for k in others:
            r = times[k] / times[base]
            if kind == "le":
                targets.append(f"| {title}: {k} | <= {target:g}x {base} | {r:.2f}x | "
                               f"{'PASS' if r <= target else 'MISS'} |")
            else:
                targets.append(f"| {title}: {base} vs {k} | >= {target:g}x | {r:.2f}x | "
                               f"{'PASS' if r >= target else 'MISS'} |")
    loads.append(loadavg())
    L.insert(3, f"Load average at start/end: {loads[0]:.2f}, {loads[-1]:.2f}.")
    text = "\n".join(L[:5] + targets + [""] + L[5:]) + "\n"
    print(text)
    if not args.quick:
        with open(os.path.join(HERE, "RESULTS-uncertainty.md"), "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
