"""The command line's arguments: the parser of every command, the gauges and
default thresholds its verdicts use, and the error of bad usage.
"""

import argparse
import math

from ..io.readers import FORMATS
from ..metrics import gauges as _G

#: The tools whose files ``fastcal report --from`` reads.
SOURCES = ("lm-eval", "openai", "helm")

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
    r.add_argument("--from", dest="source", choices=SOURCES, metavar="TOOL",
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
                       description="A small built-in comparison against whichever of "
                       "scikit-learn, torchmetrics and netcal are installed. The full benchmark "
                       "suite is benchmarks/run.py in a source checkout.")
    # (the built-in comparison is the only one: --builtin is accepted and changes nothing)
    b.add_argument("--builtin", action="store_true", help=argparse.SUPPRESS)
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
