"""``fastcal compare``: several models on the same rows, from one file's
columns or several files joined on an id column (see ``docs/cli.md``).

Uses only the public layer (:func:`fastcal.compare`) and the ``report``
command's readers and helpers."""

import csv
import gzip
import io
import json
import os
import sys
import warnings

import numpy as np

from ..comparison import compare as _compare
from ..io.jsonl import json_objects
from ..io.readers import FORMATS, Columns, InputError, detect_format, read_all
from .args import MAX_CHUNK_SIZE, UsageError
from .format import _jsonable
from .reading import FIXES, _File
from .report import _notes, _plot, _progress_default

#: Gauges --fail-on accepts: those with a worse direction for a difference
#: (lower or higher is better), in the comparison's table order.
FAIL_GAUGES = tuple(g for g in _compare.GAUGES if _compare.DIRECTION[g] in (-1, 1))


def add_parser(sub, reading_options):
    c = sub.add_parser(
        "compare", help="compare the calibration of several models on the same rows",
        description="Every gauge of several models scored on the same rows, and each model's "
        "difference from the baseline (the first) with a paired bootstrap interval and a "
        "Holm-adjusted p-value. Models are the columns of one file (--confidence a,b,c) or "
        "several files joined on --id (or paired by row order without --id). The rows are "
        "held in memory; for larger-than-memory streams use fastcal.CompareAccumulator.")
    c.add_argument("files", nargs="+", metavar="FILE",
                   help="CSV, TSV, JSONL, NPY, NPZ or Parquet file(s)")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--confidence", metavar="COL[,COL...]",
                   help="one file: the comma-separated columns of the models' binary "
                   "probabilities or confidences; several files: the column in each "
                   "(default: 'confidence')")
    g.add_argument("--probs", metavar="NAME", help="several files: multiclass probabilities "
                   "in each (as for fastcal report)")
    g.add_argument("--logits", metavar="NAME", help="like --probs, for logits")
    c.add_argument("--label", metavar="COL", default="label",
                   help="column of labels (0/1 or true/false for --confidence; class indices "
                   "for --probs/--logits); per file, so each model may have its own (default: "
                   "'label')")
    c.add_argument("--id", metavar="COL", help="several files: join the rows on this column "
                   "(every id exactly once in every file); without it rows pair by position")
    c.add_argument("--names", metavar="A,B,...", help="model names (default: the columns, or "
                   "the file names)")
    c.add_argument("--baseline", metavar="NAME", help="the model the others are compared with "
                   "(default: the first)")
    c.add_argument("--format", choices=FORMATS, help="file format (default: from the extension)")
    c.add_argument("--bins", type=int, default=15, metavar="N",
                   help="equal-width bins (default 15)")
    c.add_argument("--ci", type=float, default=0.95, metavar="LEVEL",
                   help="level of the intervals (default 0.95)")
    c.add_argument("--no-ci", dest="ci", action="store_const", const=None,
                   help="gauges and differences only: no bootstrap, no p-values")
    c.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="bootstrap replicates (default 1000)")
    c.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the bootstrap weights (default 0: the same output every run)")
    c.add_argument("--fail-on", metavar="GAUGES", default="",
                   help="exit 1 when a model is significantly worse than the baseline (Holm-"
                   "adjusted p below 1 - ci) on one of these gauges, e.g. ece,brier; from "
                   + ", ".join(FAIL_GAUGES))
    c.add_argument("--json", action="store_true",
                   help="print the comparison's to_dict() as JSON instead of tables")
    c.add_argument("--plot", metavar="OUT.png",
                   help="save the overlaid reliability diagrams (matplotlib)")
    reading_options(c)
    return c


def _split(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def _fail_gauges(text, UsageError):
    names = [s.lower().replace("-", "_") for s in _split(text)]
    for n in names:
        if n not in FAIL_GAUGES:
            raise UsageError(f"--fail-on: unknown gauge {n!r} for a comparison; choose from "
                             f"{', '.join(FAIL_GAUGES)}.")
    return names


def _model_names(args, default, UsageError):
    if not args.names:
        names = default
    else:
        names = _split(args.names)
        if len(names) != len(default):
            raise UsageError(f"--names: {len(names)} names for {len(default)} models.")
    if len(set(names)) != len(names):
        raise UsageError(f"--names: the model names must be distinct; found {names!r}.")
    return names


def _file_names(paths):
    stems = [os.path.splitext(os.path.basename(str(p)))[0] for p in paths]
    stems = [s[:-4] if s.endswith((".csv", ".tsv")) else s for s in stems]  # x.csv.gz
    return stems if len(set(stems)) == len(stems) else [str(p) for p in paths]


def _read_ids(path, col, fmt, kw):
    """The id column of ``path``: as text for CSV/TSV/JSONL (ids need not be
    numbers), through the file readers (integers) for the binary formats."""
    if fmt not in ("csv", "tsv", "jsonl"):
        return read_all(path, Columns(col, probs=col), **kw)[0]
    opener = gzip.open if str(path).endswith(".gz") else open
    ids = []
    with opener(path, "rb") as raw:
        f = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        if fmt == "jsonl":
            for line_no, row in json_objects(f, path):
                if col not in row:
                    raise InputError(f"{path}, line {line_no}: no field {col!r} (for --id).")
                v = row[col]
                ids.append(v if isinstance(v, str) else json.dumps(v))
        else:
            rows = csv.reader(f, delimiter="," if fmt == "csv" else "\t")
            header = next(rows, [])
            if col not in header:
                raise InputError(f"{path}: no column {col!r} (for --id); the columns are "
                                 f"{', '.join(repr(h) for h in header)}.")
            j = header.index(col)
            ids = [r[j] for r in rows if r]
    return np.array(ids, dtype=object)


def _index(ids, path, UsageError):
    """{id: row} of one file; a duplicated id is an error naming it."""
    pos = {}
    for i, v in enumerate(ids.tolist()):
        if v in pos:
            raise UsageError(f"{path}: id {v!r} appears more than once (rows {pos[v] + 1} "
                             f"and {i + 1}).")
        pos[v] = i
    return pos


def _join(files, ids, UsageError):
    """Per file, the row order that aligns it with the first file's ids."""
    first = _index(ids[0], files[0], UsageError)
    orders = [np.arange(len(first))]
    for path, idv in zip(files[1:], ids[1:]):
        pos = _index(idv, path, UsageError)
        for v in first:
            if v not in pos:
                raise UsageError(f"{path}: id {v!r} of {files[0]} is missing.")
        for v in pos:
            if v not in first:
                raise UsageError(f"{path}: id {v!r} is not in {files[0]}.")
        orders.append(np.fromiter((pos[v] for v in first), dtype=np.intp, count=len(first)))
    return orders


def _load(args, UsageError, progress):
    """(labels (shared array or per-model dict), {name: values}, from_logits,
    {name: (file, column, rows)}): each model's file, its values' column and
    the file row (0-based) of each row it scores (None: the file's order)."""
    kw = dict(format=args.format, chunk_size=args.chunk_size, progress=progress)
    files = args.files
    if len(files) == 1:
        if args.probs or args.logits:
            raise UsageError("one file compares the columns of --confidence a,b,...; for "
                             "--probs/--logits give one file per model.")
        cols = _split(args.confidence or "")
        if len(cols) < 2:
            raise UsageError("one file: give the models' columns, e.g. --confidence a,b,c (or "
                             "several files).")
        if args.id:
            raise UsageError("--id joins several files; one file's columns are already on the "
                             "same rows.")
        y, v = read_all(files[0], Columns(args.label, probs=",".join(cols)), **kw)
        names = _model_names(args, cols, UsageError)
        return y, {k: np.ascontiguousarray(v[:, j]) for j, k in enumerate(names)}, False, \
            {k: (files[0], c, None) for k, c in zip(names, cols)}
    if args.confidence and "," in args.confidence:
        raise UsageError("several files: --confidence names the one column in each file.")
    cols = Columns(args.label, confidence=args.confidence, probs=args.probs, logits=args.logits)
    data = [read_all(p, cols, **kw) for p in files]
    orders = [None] * len(files)
    if args.id:
        ids = [_read_ids(p, args.id, detect_format(p, args.format), kw) for p in files]
        orders = _join(files, ids, UsageError)
        data = [(y[o], v[o]) for (y, v), o in zip(data, orders)]
    else:
        n = [y.shape[0] for y, _ in data]
        if len(set(n)) > 1:
            raise UsageError("without --id the files pair by row order and need the same "
                             "number of rows; found " + ", ".join(
                                 f"{p}: {k}" for p, k in zip(files, n)) + " (join with --id).")
    names = _model_names(args, _file_names(files), UsageError)
    ys = [y for y, _ in data]
    shared = all(np.array_equal(ys[0], y) for y in ys[1:])
    if not shared and cols.kind != "confidence":
        i = next(j for j, y in enumerate(ys) if not np.array_equal(ys[0], y))
        r = int(np.flatnonzero(ys[0] != ys[i])[0]) if ys[i].shape == ys[0].shape else 0
        raise UsageError(f"{files[i]}: the class labels (column {args.label!r}) differ from "
                         f"{files[0]}'s (joined row {r + 1}): the files do not score the same "
                         "examples.")
    labels = ys[0] if shared else dict(zip(names, ys))
    return labels, {k: v for k, (_, v) in zip(names, data)}, cols.from_logits, \
        {k: (p, cols.name, o) for k, p, o in zip(names, files, orders)}


def run(args):
    """The ``fastcal compare`` command; returns the exit code."""
    import fastcal

    if not 1 <= args.bins <= 1_000_000:
        raise UsageError(f"--bins must be in 1..1000000; found {args.bins}.")
    if not 1 <= args.chunk_size <= MAX_CHUNK_SIZE:
        raise UsageError(f"--chunk-size must be in 1..{MAX_CHUNK_SIZE}; found "
                         f"{args.chunk_size}.")
    if args.ci is not None and not 0.0 < args.ci < 1.0:
        raise UsageError(f"--ci must be strictly between 0 and 1; found {args.ci}.")
    if args.resamples < 2:
        raise UsageError(f"--resamples must be at least 2; found {args.resamples}.")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer; found {args.seed}.")
    fail_on = _fail_gauges(args.fail_on, UsageError)
    if fail_on and args.ci is None:
        raise UsageError("--fail-on needs intervals (drop --no-ci).")
    labels, preds, logits, sources = _load(args, UsageError, _progress_default(args.progress))
    names = list(preds)
    if args.baseline is not None and args.baseline not in names:
        raise UsageError(f"--baseline {args.baseline!r} is not one of the models: "
                         f"{', '.join(names)}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", fastcal.UndefinedMetricWarning)
        try:
            c = fastcal.compare(labels, preds, baseline=args.baseline, ci=args.ci,
                                n_resamples=args.resamples, random_state=args.seed,
                                n_bins=args.bins, from_logits=logits)
        except (ValueError, TypeError) as exc:
            raise UsageError(_locate(exc, sources, args, preds)) from None
    _notes(caught)
    plot_path = None
    if args.plot:
        plot_path = _plot([c.models[k] for k in names], args.plot, labels=names,
                            title=f"Reliability diagrams: {', '.join(names)}")
    if args.json:
        print(json.dumps(_jsonable(c.to_dict()), indent=2))
    else:
        print(c.format())
        if plot_path:
            print(f"\nReliability diagrams saved to {plot_path}")
    if not fail_on:
        return 0
    worse = c.significantly_worse(fail_on)
    if not worse:
        return 0
    parts = []
    for k, g in worse:
        e = c.differences[k][g]
        parts.append(f"{k!r} is worse than {c.baseline!r} on {g}: {e['estimate']:+.4f} "
                     f"[{e['low']:+.4f}, {e['high']:+.4f}], p (Holm) = {e['p_adjusted']:.3g}")
    print("fastcal: --fail-on: " + "; ".join(parts), file=sys.stderr)
    return 1


#: One file's models are its --confidence columns: no --probs/--logits there.
_ONE_FILE_FIXES = {"logits": "give one file per model with --logits",
                   "multiclass": "give one file per model with --probs or --logits"}


def _locate(exc, sources, args, preds):
    """A library error about one model's input as a message naming its file,
    row and column (see ``fastcal.cli._File.error``); another error as it is."""
    if not isinstance(exc, InputError) or exc.model not in sources:
        return " ".join(str(exc).split())
    path, col, rows = sources[exc.model]
    kind = "logits" if args.logits else "probs" if args.probs else "confidence"
    one = len(args.files) == 1
    # one file: the model is a column of it, named also when no row is at fault
    return _File(path, args.format).error(exc, Columns(args.label, **{kind: col}), 0, rows,
                                            _ONE_FILE_FIXES if one else FIXES,
                                            column=col if one else None,
                                            ndim=np.ndim(preds[exc.model]))
