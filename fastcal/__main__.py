"""``python -m fastcal``: the ``fastcal`` command line.

With no arguments it runs ``fastcal demo`` (every gauge, a temperature fit and
a reliability diagram on built-in deterministic SYNTHETIC data); otherwise
it is the same command as the ``fastcal`` console script (see
:mod:`fastcal.cli` and ``docs/cli.md``).
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["demo"]))
