"""The ``fastcal`` command line (also ``python -m fastcal``).

::

    fastcal report FILE [--confidence COL | --probs NAME | --logits NAME] [--label COL]
                        [--ignore-index LABEL]
                        [--bins N] [--threshold GAUGE=VALUE ...] [--fail-on GAUGE,...]
                        [--json] [--plot OUT.png]
                        [--fit temperature|isotonic --fit-file VAL [--save-calibrator OUT.json]]
    fastcal report PATH --from lm-eval [--norm none|chars|bytes] [--json]
    fastcal report FILE --from openai --gold GOLD [--options A,B,C,D] [--json] [--plot OUT.png]
    fastcal compare FILE --confidence A,B[,...] [--label COL] [--fail-on GAUGE,...]
                         [--json] [--plot OUT.png]
    fastcal compare A B [...] [--id COL] [--confidence COL | --probs NAME | --logits NAME]
                        [--label COL] [--baseline NAME] [--no-ci] [--fail-on GAUGE,...]
    fastcal demo  [--plot OUT.png | --no-plot]
    fastcal bench [--builtin] [--full] [--peers sklearn,torchmetrics,netcal]
    fastcal warmup [--processes N] [--quiet]

Exit codes: 0 ok, 1 a gauge listed in ``--fail-on`` failed its threshold,
2 bad usage or bad input (a one-line error naming the file, row and column;
never a traceback for a user error).  See ``docs/cli.md``.
"""

import argparse
import functools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from ..metrics import gauges as _G
from ..io import csv_small as _csv_small
from ..io.readers import FORMATS, Columns, InputError, iter_chunks, line_of_row, read_all
from ..core.errors import UndefinedMetricWarning

# gauge -> (label in tables, comparison): "<" passes below the threshold,
# ">" above it, "|<|" when the absolute value is below it.  Every gauge of the
# registry but the sizes (n, weight), in the report's field order.
GAUGES = {g.name: (g.label, g.op) for g in _G.GAUGES if not g.count}
#: Default verdict thresholds (a practitioners' guide's rules of thumb).
DEFAULT_THRESHOLDS = _G.default_thresholds()
#: Largest --chunk-size: 2**30 values (8 GiB of float64 per chunk).
MAX_CHUNK_SIZE = 1 << 30


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


# ------------------------------------------------------------------ parsing
class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _parser():
    from .. import __version__

    p = _Parser(prog="fastcal", description="Fast, exact calibration metrics on prediction files.",
                epilog="Without a command, runs the demo. Exit codes: 0 ok, 1 a gauge listed in "
                "--fail-on failed, 2 bad usage or bad input. See docs/cli.md.")
    p.add_argument("--version", action="version", version=f"fastcal {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{report,compare,demo,bench,warmup}",
                           parser_class=_Parser)

    r = sub.add_parser("report", help="calibration report of a predictions file",
                       description="Every calibration gauge of a predictions file, read in chunks "
                       "(any size), with verdicts against thresholds.")
    r.add_argument("file", metavar="FILE", help="CSV, TSV, JSONL, NPY, NPZ or Parquet file")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--confidence", metavar="COL",
                   help="column of binary probabilities or confidences (default: 'confidence')")
    g.add_argument("--probs", metavar="NAME",
                   help="multiclass probabilities: an NPZ key / list column, a comma-separated "
                   "list of columns, or a column prefix")
    g.add_argument("--logits", metavar="NAME", help="like --probs, for logits")
    r.add_argument("--label", metavar="COL", default="label",
                   help="column of labels: 0/1 (or true/false) for --confidence, class indices "
                   "for --probs/--logits (default: 'label')")
    r.add_argument("--ignore-index", type=int, metavar="LABEL",
                   help="with --probs/--logits: skip rows whose label is LABEL (padding, "
                   "e.g. -100)")
    r.add_argument("--format", choices=FORMATS, help="file format (default: from the extension)")
    r.add_argument("--from", dest="source", choices=tuple(SOURCES), metavar="TOOL",
                   help="read an LLM evaluation tool's own output: " + ", ".join(SOURCES)
                   + " (see docs/llm.md)")
    r.add_argument("--norm", choices=("none", "chars", "bytes"), default=None,
                   help="--from lm-eval: divide the option scores by the option length in "
                   "characters (acc_norm) or UTF-8 bytes (acc_bytes) (default none: acc)")
    r.add_argument("--gold", metavar="GOLD", help="--from openai: CSV or JSONL of the gold "
                   "answers (an answer column; custom_id when the completions have one)")
    r.add_argument("--options", metavar="A,B,C,D", help="--from openai: the answer options; "
                   "the confidence is the answer's share of their top_logprobs probabilities")
    r.add_argument("--bins", type=int, default=None, metavar="N",
                   help="equal-width bins (default 15, at most 1000000; --from helm: HELM's "
                   "10 equal-mass bins)")
    r.add_argument("--threshold", action="append", default=[], metavar="GAUGE=VALUE",
                   help="verdict threshold, e.g. ece=0.05 (repeatable or comma-separated); "
                   "defaults: " + ", ".join(f"{k}={v}" for k, v in DEFAULT_THRESHOLDS.items()))
    r.add_argument("--fail-on", metavar="GAUGES", default="",
                   help="exit 1 when one of these gauges fails its threshold, e.g. ece,mce")
    r.add_argument("--json", action="store_true", help="print JSON (the report's to_dict() plus "
                   "verdicts) instead of tables")
    r.add_argument("--plot", metavar="OUT.png", help="save the reliability diagram (matplotlib)")
    r.add_argument("--fit", choices=("temperature", "isotonic"),
                   help="fit a calibrator on --fit-file and report FILE before and after it")
    r.add_argument("--fit-file", metavar="VAL", help="validation file for --fit (same columns; "
                   "read into memory)")
    r.add_argument("--save-calibrator", metavar="OUT.json",
                   help="write the fitted calibrator's to_dict() as JSON")
    add_reading_options(r)

    from . import compare as _compare_cli

    _compare_cli.add_parser(sub, add_reading_options)

    d = sub.add_parser("demo", help="every gauge, a temperature fit and a plot on synthetic data",
                       description="The report, a temperature fit and (with matplotlib) a "
                       "reliability diagram on built-in deterministic SYNTHETIC data.")
    d.add_argument("--plot", metavar="OUT.png", default="fastcal-demo.png",
                   help="where to save the diagram (default fastcal-demo.png)")
    d.add_argument("--no-plot", dest="plot", action="store_const", const=None)
    d.add_argument("--n", type=int, default=100_000, help=argparse.SUPPRESS)

    b = sub.add_parser("bench", help="speed against the installed peers (ratio table)",
                       description="From a source checkout: runs benchmarks/run.py (--quick unless "
                       "--full) and prints its tables. Otherwise (or with --builtin): a small "
                       "built-in comparison against whichever of scikit-learn, torchmetrics and "
                       "netcal are installed.")
    b.add_argument("--builtin", action="store_true", help="the built-in comparison even in a checkout")
    b.add_argument("--full", action="store_true", help="benchmarks/run.py at full size (minutes)")
    b.add_argument("--cases", help="benchmarks/run.py: comma-separated subset of cases")
    b.add_argument("--output", metavar="PATH", help="benchmarks/run.py: keep the report here")
    b.add_argument("--n", type=int, default=1_000_000, help="built-in: samples (default 1e6)")
    b.add_argument("--peers", default="sklearn,torchmetrics,netcal",
                   help="built-in: peers to try (default sklearn,torchmetrics,netcal)")
    b.add_argument("--repeat", type=int, default=3, help="built-in: timed repeats (best is shown)")

    wu = sub.add_parser("warmup", help="compile every kernel now, in parallel (once per "
                        "environment)",
                        description="Compile every kernel into Numba's on-disk cache in parallel "
                        "worker processes, so that no later command or call compiles; then say "
                        "where the cache lives and how big it is. See docs/cold_start.md.")
    wu.add_argument("--processes", type=int, metavar="N",
                    help="worker processes (default: one per available core)")
    wu.add_argument("--quiet", action="store_true", help="no progress line and no summary")
    return p


def add_reading_options(p):
    """--progress/--no-progress and --chunk-size (the commands that read files)."""
    p.add_argument("--progress", action="store_true", default=None,
                   help="show a progress line on stderr (default: only when stderr is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--chunk-size", type=int, default=1_000_000, metavar="N",
                   help="values read per chunk (bounds memory; default 1000000, at most "
                   f"{MAX_CHUNK_SIZE})")


def _thresholds(items):
    th = dict(DEFAULT_THRESHOLDS)
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, val = part.partition("=")
            name = name.strip().lower().replace("-", "_")
            if not sep:
                raise UsageError(f"--threshold {part!r}: expected GAUGE=VALUE, e.g. ece=0.05.")
            if name not in GAUGES or GAUGES[name][1] is None:
                ok = ", ".join(k for k, v in GAUGES.items() if v[1])
                raise UsageError(f"--threshold: unknown gauge {name!r}; choose from {ok}.")
            try:
                v = float(val)
            except ValueError:
                raise UsageError(f"--threshold {part!r}: {val!r} is not a number.") from None
            if not math.isfinite(v):
                raise UsageError(f"--threshold {part!r}: the threshold must be finite.")
            th[name] = v
    return th


def _fail_on(text, th):
    names = [s.strip().lower().replace("-", "_") for s in text.split(",") if s.strip()]
    for n in names:
        if n not in GAUGES or GAUGES[n][1] is None:
            ok = ", ".join(k for k, v in GAUGES.items() if v[1])
            raise UsageError(f"--fail-on: unknown gauge {n!r}; choose from {ok}.")
        if n not in th:
            raise UsageError(f"--fail-on {n}: no threshold for {n}; add --threshold {n}=VALUE.")
    return names


# ----------------------------------------------------------------- verdicts
def verdicts(report, thresholds):
    """``{gauge: {"value", "op", "threshold", "pass"}}`` for every gauge with a threshold.

    ``pass`` is None when the gauge is undefined (NaN): an undefined gauge
    neither passes nor fails, except under ``--fail-on`` where it fails.
    """
    out = {}
    for g, t in thresholds.items():
        op = GAUGES[g][1]
        v = float(getattr(report, g))
        if math.isnan(v):
            ok = None
        elif op == "<":
            ok = v < t
        elif op == ">":
            ok = v > t
        else:
            ok = abs(v) < t
        out[g] = {"value": v, "op": op, "threshold": t, "pass": ok}
    return out


def _interval(report, gauge):
    """(lo, hi) when the report carries an interval for ``gauge``, else None."""
    iv = getattr(report, "intervals", None)
    if isinstance(iv, dict) and gauge in iv:
        lo, hi = iv[gauge]
        return float(lo), float(hi)
    if gauge == "auroc":
        b = getattr(report, "auroc_bounds", None)
        if b is not None:
            lo, hi = float(b[0]), float(b[1])
            if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
                return lo, hi
    return None


def _fmt(v, signed=False):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def _verdict_text(vd):
    if vd is None:
        return "-"
    if vd["pass"] is None:
        return "n/a"
    return "pass" if vd["pass"] else "FAIL"


def _threshold_text(vd):
    if vd is None:
        return "-"
    op = "|x| <" if vd["op"] == "|<|" else vd["op"]
    return f"{op} {vd['threshold']:g}"


def _confidence_sentence(r):
    s = r.signed_error
    if math.isnan(s):
        return "Over/under-confidence: undefined."
    if s == 0:
        return f"Neither over- nor under-confident: mean confidence equals accuracy ({r.accuracy:.4f})."
    word, rel = ("overconfident", ">") if s > 0 else ("underconfident", "<")
    if abs(s) < 0.01:
        return (f"Calibrated on average (|signed error| < 0.01), slightly {word}: mean confidence "
                f"{r.confidence:.4f} {rel} accuracy {r.accuracy:.4f} (signed error {s:+.4f}).")
    return (f"The model is {word.upper()}: mean confidence {r.confidence:.4f} {rel} accuracy "
            f"{r.accuracy:.4f} (signed calibration error {s:+.4f}).")


def format_report(report, thresholds, title=None):
    """The gauge table, verdicts and the over/under-confidence line, as text."""
    vds = verdicts(report, thresholds)
    c = report.convention
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{report.n:,} predictions; {c['target']}; {c['n_bins']} {c['strategy']} "
                 f"{c['closed']}-closed bins")
    lines.append("")
    lines.append(f"  {'gauge':<14}{'value':>9}  {'interval':<20}{'threshold':<12}verdict")
    for g, (label, _) in GAUGES.items():
        v = float(getattr(report, g))
        iv = _interval(report, g)
        ivs = f"[{iv[0]:.4f}, {iv[1]:.4f}]" if iv else "-"
        vd = vds.get(g)
        lines.append(f"  {label:<14}{_G.BY_NAME[g].format(v):>9}  {ivs:<20}"
                     f"{_threshold_text(vd):<12}{_verdict_text(vd)}")
    lines.append("")
    lines.append(_confidence_sentence(report))
    return "\n".join(lines)


def format_comparison(before, after, thresholds, note=None):
    """Before/after gauge table of a calibrator."""
    vb, va = verdicts(before, thresholds), verdicts(after, thresholds)
    lines = [f"  {'gauge':<14}{'before':>9}{'after':>9}  {'threshold':<12}{'before':<8}after"]
    for g, (label, _) in GAUGES.items():
        fmt = _G.BY_NAME[g].format
        lines.append(f"  {label:<14}{fmt(float(getattr(before, g))):>9}"
                     f"{fmt(float(getattr(after, g))):>9}  {_threshold_text(vb.get(g)):<12}"
                     f"{_verdict_text(vb.get(g)):<8}{_verdict_text(va.get(g))}")
    lines.append("")
    lines.append("before: " + _confidence_sentence(before))
    lines.append("after:  " + _confidence_sentence(after))
    if note:
        lines.append(note)
    return "\n".join(lines)


def format_bins(report):
    """The reliability table: every bin's count, mean confidence, accuracy and gap."""
    c = report.reliability
    closed = report.convention.get("closed", "right")
    lines = [f"  {'bin':<16}{'count':>10}  {'confidence':>10}  {'accuracy':>9}  {'gap':>8}"]
    for i in range(len(c.count)):
        lo, hi = c.edges[i], c.edges[i + 1]
        b = f"({lo:.3f}, {hi:.3f}]" if closed == "right" else f"[{lo:.3f}, {hi:.3f})"
        cnt = c.count[i]
        cnt_s = f"{cnt:,.0f}" if float(cnt).is_integer() else f"{cnt:,.2f}"
        if cnt == 0:
            lines.append(f"  {b:<16}{cnt_s:>10}  {'-':>10}  {'-':>9}")
            continue
        gap = c.confidence[i] - c.accuracy[i]
        lines.append(f"  {b:<16}{cnt_s:>10}  {c.confidence[i]:>10.4f}  {c.accuracy[i]:>9.4f}  "
                     f"{gap:>+8.4f} {'#' * min(40, int(round(abs(gap) * 100)))}")
    return "\n".join(lines)


def _jsonable(x):
    """``x`` with float NaN/inf replaced by None (strict JSON)."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _report_json(report, thresholds):
    d = report.to_dict()
    d["overconfident"] = bool(report.signed_error > 0)
    d["verdicts"] = verdicts(report, thresholds)
    return d


# ------------------------------------------------------------------ reading
#: The fix an InputError suggests (its ``hint``), in command-line terms.
FIXES = {"logits": "use --logits", "multiclass": "use --probs or --logits",
         "ignore_index": "use --ignore-index {value}"}


class _File:
    """A file a command reads, to name its rows in error messages: ``path``
    (read as ``format``), shown as ``shown`` (e.g. ``--fit-file VAL``)."""

    __slots__ = ("path", "format", "shown")

    def __init__(self, path, format=None, shown=None):
        self.path, self.format = path, format
        self.shown = str(path) if shown is None else shown

    def __str__(self):
        return self.shown

    def where(self, row=None, column=None):
        """``FILE, line L (row N), column 'X'`` for data row ``row`` (1-based;
        no line in binary formats) and ``column``, the parts that are known."""
        where = self.shown
        if row is not None:
            line = line_of_row(self.path, row, self.format)
            where += f", line {line} (row {row})" if line else f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        return where

    def error(self, exc, cols, row0=0, rows=None, fixes=FIXES, column=None, ndim=None):
        """A library error about rows of this file read with ``cols`` as one
        line about the file.  ``row0``: the data rows before the chunk the
        library saw; ``rows``: the chunk's row (0-based) of each row it saw
        (when it saw a subset or another order); ``column``: the column to
        name when the error is not about one row; ``ndim``: 1 when the values
        were one column.  An :class:`InputError` is worded from its
        attributes; another error is shown as it is."""
        if not isinstance(exc, InputError):
            return f"{self.shown}: {exc}"
        row = None
        if exc.index is not None:
            i = exc.index if rows is None else int(rows[exc.index])
            row = row0 + i + 1
            column = _column(exc, cols, ndim)
        terms = {"y_true": "the labels" if exc.param == "y_true" and column is not None
                 else f"the labels (column {cols.label!r})",
                 "y_prob": f"--{cols.kind} {cols.name!r}", "ignore_index": "--ignore-index",
                 "at": "", "row": "this row", "model": ""}
        fix = fixes.get(exc.hint)
        if fix is not None:
            terms["fix"] = fix.format(value=_label_text(exc.value))
        return f"{self.where(row, column)}: {exc.reword(**terms)}"


def _column(exc, cols, ndim=None):
    """The file column of the value an :class:`InputError` is about, when one
    column holds it."""
    if exc.param == "y_true":
        return cols.label
    if exc.param in (None, "sample_weight", "ignore_index"):
        return None
    if cols.kind == "confidence" or ndim == 1:
        return cols.name
    names = [s.strip() for s in cols.name.split(",")]
    if len(names) > 1 and exc.column is not None and exc.column < len(names):
        return names[exc.column]
    return None  # an (n, C) key or list column, a prefix: the message names it


def _label_text(v):
    """A label as --ignore-index takes it: an integer (-1, also for -1.0)."""
    try:
        if float(v).is_integer():
            return str(int(v))
    except (TypeError, ValueError, OverflowError):
        pass
    return str(v)


def _update(acc, y, v, from_logits, src, cols, row0, ignore_index=None, rows=None):
    try:
        if ignore_index is None:
            acc.update(y, v, from_logits=from_logits)
        else:
            acc.update(y, v, from_logits=from_logits, ignore_index=ignore_index)
    except (ValueError, TypeError) as exc:
        raise UsageError(src.error(exc, cols, row0, rows, ndim=np.ndim(v))) from None


def _kept(y, v, ignore_index):
    """The rows of a (validated) chunk whose label is not ``ignore_index``."""
    if ignore_index is None:
        return y, v
    keep = np.asarray(y) != ignore_index
    return (y, v) if keep.all() else (y[keep], v[keep])


def _kept_rows(y, ignore_index):
    """The chunk's row of each row :func:`_kept` keeps (None: all of them)."""
    if ignore_index is None:
        return None
    keep = np.asarray(y) != ignore_index
    return None if keep.all() else np.flatnonzero(keep)


def _chunks(path, cols, args, progress, data=None):
    """(row0, labels, values) of ``path`` (``data``: its bytes, read whole by
    ``_csv_small.load``); an error for a file without rows."""
    row0 = 0
    read = iter_chunks if data is None else functools.partial(_csv_small.iter_chunks, data=data)
    for y, v in read(path, cols, format=args.format, chunk_size=args.chunk_size,
                     progress=progress):
        yield row0, y, v
        row0 += y.shape[0]
    if row0 == 0:
        raise UsageError(f"{path} has no data rows.")


def _toplabel(y, v, from_logits, path, cols, row0):
    """(correct, top-label confidence) of a chunk, for the isotonic calibrator."""
    from ..core.pipeline import toplabel_confidence

    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        return y, (1.0 / (1.0 + np.exp(-v)) if from_logits else v)
    C = v.shape[1]
    yi = np.asarray(y)
    bad = ~((yi >= 0) & (yi < C) & (yi == np.floor(yi)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UsageError(f"{path}, row {row0 + i + 1}: the labels (column {cols.label!r}) must be "
                         f"class indices in [0, {C}); found {yi[i]!r}.")
    pred = v.argmax(axis=1)
    conf, _ = toplabel_confidence(v, from_logits)  # the binned metrics' own numbers
    return (pred == yi).astype(np.int64), conf  # int64: the labels every other path feeds


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
    reports, title, extra = SOURCES[args.source](args)
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
SOURCES = {"lm-eval": _from_lm_eval, "openai": _from_openai, "helm": _from_helm}


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


# -------------------------------------------------------------------- bench
def find_benchmarks():
    """``benchmarks/run.py`` of the source checkout fastcal is installed from, or None."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = os.path.join(root, "benchmarks", "run.py")
    reg = os.path.join(root, "benchmarks", "registry.py")
    return run if os.path.isfile(run) and os.path.isfile(reg) else None


def _cmd_bench(args):
    run = None if args.builtin else find_benchmarks()
    if run is None:
        return _bench_builtin(args)
    out = args.output
    tmp = None
    if out is None:
        tmp = tempfile.mkdtemp(prefix="fastcal-bench-")
        out = os.path.join(tmp, "RESULTS.md")
    cmd = [sys.executable, run, "--output", out]
    if not args.full:
        cmd.append("--quick")
    if args.cases:
        cmd += ["--cases", args.cases]
    print(f"fastcal bench: running {' '.join(cmd[1:])}", file=sys.stderr)
    rc = subprocess.call(cmd, stdout=sys.stderr)
    if rc != 0:
        raise UsageError(f"benchmarks/run.py failed (exit code {rc}).")
    with open(out) as f:
        print(f.read())
    return 0


def _best(fn, repeat):
    fn()
    best = math.inf
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _bench_builtin(args):
    import importlib.util

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
    print(f"fastcal bench (built-in): n = {n:,} binary predictions, best of {args.repeat}")
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


# ------------------------------------------------------------------- warmup
def _cmd_warmup(args):
    from ..core import warmup as _warmup

    if args.processes is not None and args.processes < 1:
        raise UsageError(f"--processes must be a positive integer; found {args.processes}.")
    return _warmup.command(processes=args.processes, quiet=args.quiet)


def _compile_notice(where):
    """The one stderr line when a command first compiles kernels (FASTCAL_QUIET=1: none)."""
    if os.environ.get("FASTCAL_QUIET", "").strip() not in ("", "0"):
        return
    print(f"fastcal: compiling kernels on first use (once per environment, cached in {where}); "
          "`fastcal warmup` does this ahead of time", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- main
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 1 ``--fail-on``, 2 error).

    Examples
    --------
    >>> from fastcal.cli import main
    >>> main(["report", "no-such-file.csv"])  # doctest: +SKIP
    2
    """
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    from ..core.cache import add_notice_hook, remove_notice_hook

    hook = add_notice_hook(_compile_notice)
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "compare":
            from . import compare as _compare_cli

            return _compare_cli.run(args, sys.modules[__name__])
        if args.command == "bench":
            return _cmd_bench(args)
        if args.command == "warmup":
            return _cmd_warmup(args)
        if args.command == "demo" or args.command is None:
            return _cmd_demo(args if args.command else _parser().parse_args(["demo"]))
        raise UsageError(f"unknown command {args.command!r}")  # pragma: no cover
    except BrokenPipeError:  # `fastcal report ... | head`: stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # pragma: no cover - no real stdout
            pass
        return 0
    except UsageError as exc:
        return _error(str(exc))
    except (InputError, ImportError) as exc:
        return _error(str(exc))
    except MemoryError as exc:
        return _error(f"out of memory ({exc or 'allocation failed'}); lower --chunk-size or "
                      "--bins.")
    except OSError as exc:
        name = exc.filename if exc.filename is not None else ""
        return _error(f"{name}: {exc.strerror or exc}" if name else str(exc))
    except KeyboardInterrupt:
        print("\nfastcal: interrupted", file=sys.stderr)
        return 130
    finally:
        remove_notice_hook(hook)


def _error(msg):
    msg = " ".join(str(msg).split())  # one line
    if not msg.startswith("fastcal"):
        msg = "fastcal: error: " + msg
    print(msg, file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
