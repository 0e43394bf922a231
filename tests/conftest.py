"""Shared test configuration: hypothesis profiles, the reference module on
sys.path (pytest runs with --import-mode=importlib), the real-data directory."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))  # so test files can `import reference`

# The command line's one-line compile notice on stderr depends on the state of
# Numba's cache; tests that assert on stderr must not see it
# (tests/test_warmup.py tests the notice with the variable unset).
os.environ.setdefault("FASTCAL_QUIET", "1")

# ../shared/data beside the checkout (never copied into the repository)
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

# Deadline off: the first example of a test may pay Numba compilation.
settings.register_profile(
    "default", max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", max_examples=400, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def data_dir():
    """The real-data directory; skips the test when it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"real model outputs not found at {DATA_DIR}")
    return DATA_DIR


# The test files whose cold run (empty Numba cache) is longest, longest first:
# most of a cold run is Numba compiling, and a few files with few tests
# compile (or run cold subprocesses) for tens of seconds.  pytest-xdist hands
# out whole files (--dist loadfile) in collection order (--no-loadscope-reorder
# in pyproject.toml; its default order, by number of tests, left these files
# to the end, where one of them kept one core busy while the other idled).
# Longest first keeps both cores busy to the end.  The order changes only the
# wall time of a run, never what a test sees.
LONGEST_FIRST = [
    "test_metrics.py", "test_serial_parallel.py", "test_cli_small.py",
    "test_state_validation.py", "test_accumulate_kernels.py", "test_validation.py",
    "test_compile_ahead.py", "test_accumulator_small.py", "test_tokens.py",
    "test_accumulator_exact_sums.py", "test_accumulator.py", "test_warmup.py",
    "test_auroc_kernel.py", "test_temperature.py", "test_accumulator_scale.py",
    "test_masked_logits.py", "test_accumulator_hardening.py", "test_kernel_cache_stamp.py",
]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
