"""pytest options for the benchmarks (run with ``pytest benchmarks/``; never part of ``pytest``)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    parser.addoption(
        "--bench-max-n",
        action="store",
        type=float,
        default=None,
        help="Skip benchmark sizes above this n (e.g. 1e4 for a smoke run). "
        "Each case keeps at least its smallest size.",
    )
