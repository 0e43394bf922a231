"""``fastcal report``: a file's report, a fitted calibrator's before/after, a
plot, and ``--from`` the files of lm-evaluation-harness, OpenAI and HELM.
"""

import json
import os
import sys
import warnings

from ..metrics import gauges as _G
from ..io import csv_small as _csv_small
from ..io.readers import Columns, InputError, read_all
from ..core.errors import UndefinedMetricWarning
from .args import GAUGES, MAX_CHUNK_SIZE, UsageError, _fail_on, _thresholds
from .reading import _File, _chunks, _kept, _kept_rows, _toplabel, _update
from .format import (
    _fmt,
    _jsonable,
    _report_json,
    _threshold_text,
    format_bins,
    format_comparison,
    format_report,
    verdicts,
)


# ------------------------------------------------------------------- report
def _progress_default(flag):
    if flag is not None:
        return flag
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _fit_calibrator(args, cols, progress):
    from ..streaming.accumulator import CalibrationAccumulator
    from ..calibrators.isotonic import IsotonicRegression
    from ..calibrators.temperature import TemperatureScaling

    path = args.fit_file
    src = _File(path, args.format, f"--fit-file {path}")
    y, v = read_all(path, cols, format=args.format, chunk_size=args.chunk_size, progress=progress)
    # the same validation (and messages) as the file reported on
    ig = args.ignore_index
    _update(CalibrationAccumulator(), y, v, cols.from_logits, src, cols, 0, ig)
    rows = _kept_rows(y, ig)
    y, v = _kept(y, v, ig)
    if y.shape[0] == 0:
        raise UsageError(f"--fit-file {path}: every row has the label --ignore-index {ig}; "
                         "nothing to fit on.")
    try:
        if args.fit == "temperature":
            cal = TemperatureScaling().fit(v, y, from_probs=not cols.from_logits)
        else:
            yc, conf = _toplabel(y, v, cols.from_logits, path, cols, 0)
            cal = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(conf, yc)
    except (ValueError, TypeError) as exc:
        raise UsageError(src.error(exc, cols, 0, rows, ndim=v.ndim)) from None
    return cal


def _cmd_report(args):
    from ..streaming.accumulator import CalibrationAccumulator
    from ..streaming.in_memory import InMemoryAccumulator

    if args.bins is None:
        args.bins = 10 if args.source == "helm" else 15
    if args.source is not None:
        return _cmd_report_from(args)
    for flag, val in (("--norm", args.norm), ("--gold", args.gold), ("--options", args.options)):
        if val is not None:
            raise UsageError(f"{flag} needs --from (e.g. --from "
                             f"{'lm-eval' if flag == '--norm' else 'openai'}).")
    if args.bins < 1:
        raise UsageError(f"--bins must be a positive integer; found {args.bins}.")
    if args.bins > 1_000_000:
        raise UsageError(f"--bins must be at most 1000000; found {args.bins}.")
    if args.chunk_size < 1:
        raise UsageError(f"--chunk-size must be a positive integer; found {args.chunk_size}.")
    if args.chunk_size > MAX_CHUNK_SIZE:
        raise UsageError(f"--chunk-size must be at most {MAX_CHUNK_SIZE} values (8 GiB per "
                         f"chunk); found {args.chunk_size}.")
    if args.fit and not args.fit_file:
        raise UsageError(f"--fit {args.fit} needs --fit-file VAL (the file to fit on).")
    if args.fit_file and not args.fit:
        raise UsageError("--fit-file needs --fit temperature or --fit isotonic.")
    if args.save_calibrator and not args.fit:
        raise UsageError("--save-calibrator needs --fit.")
    th = _thresholds(args.threshold)
    fail_on = _fail_on(args.fail_on, th)
    cols = Columns(args.label, confidence=args.confidence, probs=args.probs, logits=args.logits)
    ig = args.ignore_index
    if ig is not None and cols.kind == "confidence":
        raise UsageError("--ignore-index applies to multiclass input (--probs or --logits); "
                         "for --confidence drop the rows instead.")
    progress = _progress_default(args.progress)
    path = args.file
    logits = cols.from_logits

    cal = _fit_calibrator(args, cols, progress) if args.fit else None
    # a small CSV/TSV file is read whole without the Numba tokenizer and summed
    # with fewer kernels to compile, half of them in a second process on a cold
    # cache (InMemoryAccumulator._compile_ahead): the same report (docs/cli.md)
    data = _csv_small.load(path, args.format) if cal is None else None
    before = CalibrationAccumulator(args.bins) if data is None else InMemoryAccumulator(args.bins)
    after = CalibrationAccumulator(args.bins) if cal is not None else None
    full = None
    note = None
    # cold cache: the accumulator's kernels compile in a second process while
    # this one compiles the file reader's
    ahead = (before._compile_ahead(cols.kind != "confidence", logits, ignore_index=ig)
             if cal is None else None)
    src = _File(path, args.format)
    for row0, y, v in _chunks(path, cols, args, progress, data):
        if ahead is not None:
            ahead.wait()
            ahead = None
        if cal is None:
            _update(before, y, v, logits, src, cols, row0, ig)
        elif args.fit == "temperature":
            _update(before, y, v, logits, src, cols, row0, ig)
            rows = _kept_rows(y, ig)
            y, v = _kept(y, v, ig)  # validated above, file rows located there
            try:
                p = cal.predict_proba(v, from_probs=not logits)
            except ValueError as exc:
                raise UsageError(src.error(exc, cols, row0, rows, ndim=v.ndim)) from None
            _update(after, y, p, False, src, cols, row0, rows=rows)
        else:
            rows = None
            if v.ndim == 2:  # validate the multiclass input as given
                if full is None:
                    full = CalibrationAccumulator(args.bins)
                _update(full, y, v, logits, src, cols, row0, ig)
                note = ("isotonic calibrates the top-label confidence: both columns score "
                        "confidence against correctness (binary Brier and NLL).")
                rows = _kept_rows(y, ig)
                y, v = _kept(y, v, ig)
            yc, conf = _toplabel(y, v, logits, path, cols, row0)
            _update(before, yc, conf, False, src, cols, row0, rows=rows)
            _update(after, yc, cal.predict(conf), False, src, cols, row0, rows=rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        try:
            rb = before.compute()
            ra = after.compute() if after is not None else None
        except ValueError as exc:  # e.g. every row has the --ignore-index label
            raise UsageError(src.error(exc, cols)) from None
    _notes(caught)
    final = ra if ra is not None else rb

    if args.save_calibrator:
        _write(args.save_calibrator, json.dumps(_jsonable(cal.to_dict()), indent=2) + "\n")
    plot_path = None
    if args.plot:
        title = f"Reliability diagram: {os.path.basename(str(path))}"
        if ra is not None:
            title += f" ({args.fit})"
        plot_path = _plot(final, args.plot, before=rb if ra is not None else None, title=title)

    if args.json:
        if ra is None:
            out = _report_json(rb, th)
            out["file"] = str(path)
        else:
            out = {"file": str(path), "fit": {"method": args.fit, "fit_file": str(args.fit_file),
                                              "calibrator": cal.to_dict()},
                   "before": _report_json(rb, th), "after": _report_json(ra, th)}
            if note:
                out["note"] = note
        print(json.dumps(_jsonable(out), indent=2))
    else:
        name = os.path.basename(str(path))
        if ra is None:
            print(format_report(rb, th, title=f"fastcal report: {name}"))
            print()
            print("Reliability:")
            print(format_bins(rb))
        else:
            print(f"fastcal report: {name}, before and after {_describe_cal(cal)} "
                  f"(fitted on {os.path.basename(str(args.fit_file))})")
            print(f"{rb.n:,} predictions; {rb.convention['target']}; {args.bins} equal-width bins")
            print()
            print(format_comparison(rb, ra, th, note))
            print()
            print("Reliability after calibration:")
            print(format_bins(ra))
        if args.save_calibrator:
            print(f"\nCalibrator saved to {args.save_calibrator}")
        if plot_path:
            print(f"Reliability diagram saved to {plot_path}")

    failed = [g for g in fail_on if not verdicts(final, {g: th[g]})[g]["pass"]]
    if failed:
        vd = verdicts(final, {g: th[g] for g in failed})
        parts = [f"{g} = {_fmt(vd[g]['value'])} (needs {_threshold_text(vd[g])})" for g in failed]
        print("fastcal: --fail-on: " + "; ".join(parts), file=sys.stderr)
        return 1
    return 0


def _notes(caught):
    seen = set()
    for w in caught:
        msg = " ".join(str(w.message).split())
        if msg not in seen:
            seen.add(msg)
            print(f"fastcal: note: {msg}", file=sys.stderr)


def _describe_cal(cal):
    t = getattr(cal, "temperature_", None)
    if t is not None:
        return f"temperature scaling (T = {t:.4f})"
    k = len(cal.X_thresholds_)
    return f"isotonic regression ({k} threshold{'s' if k != 1 else ''})"


def _write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc}).") from None


def _plot(report, out, before=None, title=None, labels=None):
    """Save the reliability diagram; returns the path written (matplotlib adds
    its default format's extension to a name without one).  With ``labels``,
    ``report`` is a list of reports drawn overlaid (``fastcal compare``)."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install matplotlib") from None
    out = str(out)
    if not os.path.splitext(out)[1]:
        out += "." + str(matplotlib.rcParams.get("savefig.format", "png"))
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    try:
        from .. import plot as fplot
    except ImportError as exc:
        raise UsageError(f"--plot: fastcal.plot is not available ({exc}).") from None
    data = report if before is None else [before, report]
    kw = {} if before is None else {"labels": ["before", "after"]}
    if labels is not None:
        kw = {"labels": list(labels)}
    if title:
        kw["title"] = title
    try:
        ax = fplot.reliability_diagram(data, **kw)
    except TypeError:  # a fastcal.plot without overlays or titles: the documented call
        ax = fplot.reliability_diagram(report)
    fig = ax.figure if hasattr(ax, "figure") else ax
    try:
        fig.savefig(out, dpi=120, bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise UsageError(f"{out}: cannot save the plot ({exc}).") from None
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return out


# ------------------------------------------------- report --from TOOL
def _cmd_report_from(args):
    """``fastcal report PATH --from TOOL``: the reports of an evaluation tool's files."""
    given = [f for f, v in (("--confidence", args.confidence), ("--probs", args.probs),
                            ("--logits", args.logits), ("--fit", args.fit),
                            ("--ignore-index", args.ignore_index), ("--format", args.format))
             if v is not None]
    if given:
        raise UsageError(f"{given[0]} does not apply to --from {args.source}.")
    if not 1 <= args.bins <= 1_000_000:
        raise UsageError(f"--bins must be an integer in [1, 1000000]; found {args.bins}.")
    th = _thresholds(args.threshold)
    fail_on = _fail_on(args.fail_on, th)
    reports, title, extra = _READERS[args.source](args)
    if args.json:
        out = {"tasks": {k: (None if r is None else _report_json(r, th))
                         for k, r in reports.items()}} if title is None else \
            dict(_report_json(reports[None], th), **extra)
        print(json.dumps(_jsonable(out), indent=2))
    elif title is None:
        print(format_tasks(reports, th))
    else:
        r = reports[None]
        print(format_report(r, th, title=title))
        print()
        print("Reliability:")
        print(format_bins(r))
        if "helm" in extra:
            print()
            print(format_helm(r.helm))
        if extra.get("plot"):
            print(f"Reliability diagram saved to {extra['plot']}")
    failed = [(k, g) for k, r in reports.items() if r is not None for g in fail_on
              if not verdicts(r, {g: th[g]})[g]["pass"]]
    if failed:
        print("fastcal: --fail-on: " + "; ".join(
            (f"{k}: " if k is not None else "") + f"{g} = {_fmt(float(getattr(reports[k], g)))} "
            f"(needs {_threshold_text(verdicts(reports[k], {g: th[g]})[g])})"
            for k, g in failed), file=sys.stderr)
        return 1
    return 0


def format_tasks(reports, thresholds):
    """One row per task: the gauges of each report (``None``: no confidence)."""
    cols = ("accuracy", "confidence", "ece", "signed_error", "brier", "nll", "auroc")
    w = max([4] + [len(k) for k in reports])
    lines = [f"  {'task':<{w}}  {'n':>7}" + "".join(f"{GAUGES[g][0]:>13}" for g in cols)
             + "  verdicts"]
    for k, r in reports.items():
        if r is None:
            lines.append(f"  {k:<{w}}  {'-':>7}  no confidence (not a multiple-choice task: no "
                         "option scores)")
            continue
        vd = verdicts(r, thresholds)
        bad = [GAUGES[g][0] for g, v in vd.items() if v["pass"] is False]
        lines.append(f"  {k:<{w}}  {r.n:>7,}" + "".join(
            f"{_G.BY_NAME[g].format(float(getattr(r, g))):>13}" for g in cols)
            + "  " + ("FAIL " + ", ".join(bad) if bad else "pass"))
    some = next((r for r in reports.values() if r is not None), None)
    if some is not None:
        c = some.convention
        lines.insert(0, f"{c['target']}; {c['n_bins']} {c['strategy']} {c['closed']}-closed "
                     "bins")
        lines.insert(1, "")
    return "\n".join(lines)


def _from_lm_eval(args):
    from .. import lm_eval_report

    if args.gold is not None or args.options is not None:
        raise UsageError("--gold and --options apply to --from openai.")
    if args.plot:
        raise UsageError("--plot applies to one report; with --from lm-eval use "
                         "fastcal.lm_eval_report and fastcal.plot (docs/llm.md).")
    reports = lm_eval_report(args.file, norm=args.norm or "none", n_bins=args.bins)
    return reports, None, {}


def _from_openai(args):
    from .. import openai_report

    if args.norm is not None:
        raise UsageError("--norm applies to --from lm-eval.")
    if args.gold is None:
        raise UsageError("--from openai needs --gold GOLD (a CSV or JSONL of the answers).")
    opts = None if args.options is None else [o for o in args.options.split(",")]
    try:
        r = openai_report(args.file, args.gold, options=opts, n_bins=args.bins)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise UsageError(f"--options: {exc}") from None
    extra = {"file": str(args.file), "gold": str(args.gold)}
    if args.plot:
        extra["plot"] = _plot(r, args.plot, title=f"Reliability diagram: "
                              f"{os.path.basename(str(args.file))}")
    return {None: r}, f"fastcal report: {os.path.basename(str(args.file))} (OpenAI logprobs)", \
        extra


def _from_helm(args):
    import warnings

    from .. import UndefinedMetricWarning, helm_report

    for flag, val in (("--norm", args.norm), ("--gold", args.gold), ("--options", args.options)):
        if val is not None:
            raise UsageError(f"{flag} does not apply to --from helm.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        r = helm_report(args.file, n_bins=args.bins)
    for w in caught:  # HELM skipped calibration (no logprobs): say so once, on stderr
        print(f"fastcal: {w.message}", file=sys.stderr)
    extra = {"run": str(args.file), "helm": r.helm}
    if args.plot:
        extra["plot"] = _plot(r, args.plot, title=f"Reliability diagram: "
                              f"{os.path.basename(os.path.normpath(str(args.file)))} (HELM)")
    return {None: r}, (f"fastcal report: {os.path.basename(os.path.normpath(str(args.file)))} "
                       "(HELM run, split test)"), extra


def format_helm(helm):
    """HELM's own calibration numbers (``report.helm``), one per line."""
    if helm is None:
        return "HELM: no calibration (the run has no negative logprob; HELM skips it)"
    return "HELM (as in its stats.json):\n" + "\n".join(
        f"  {k:<24}{v:.6f}" for k, v in helm.items())


#: ``--from`` readers: name -> function(args) returning (reports, title, extra).
#: ``reports`` is ``{task: report or None}`` (title None: one table row per
#: task) or ``{None: report}`` (one report under ``title``; ``extra`` goes
#: into its JSON).
_READERS = {"lm-eval": _from_lm_eval, "openai": _from_openai, "helm": _from_helm}
