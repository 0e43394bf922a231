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
    fastcal bench [--peers sklearn,torchmetrics,netcal] [--n N] [--repeat R]
    fastcal warmup [--processes N] [--quiet]

Exit codes: 0 ok, 1 a gauge listed in ``--fail-on`` failed its threshold,
2 bad usage or bad input (a one-line error naming the file, row and column;
never a traceback for a user error).  See ``docs/cli.md``.
"""

import os
import sys

from ..core.errors import InputError
from .args import UsageError, _parser
from .bench import _cmd_bench
from .demo import _cmd_demo
from .report import _cmd_report


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

            return _compare_cli.run(args)
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
