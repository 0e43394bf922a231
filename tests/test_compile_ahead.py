"""Compile ahead (fastcal.core.prefetch): on a cold cache, a second process
compiles the kernels a call needs later, and this process loads them from the
on-disk cache instead of compiling them.

Each case runs a fresh interpreter on its own empty ``NUMBA_CACHE_DIR`` and
records, with Numba's compile events, which fastcal kernels that process
compiled itself.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastcal
from fastcal.core import prefetch as _prefetch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastcal.__file__)))

# Run a snippet in a fresh process; it prints one JSON line: the fastcal
# functions this process compiled, those it used (compiled or loaded from the
# cache; qualified names) and the snippet's result.
_HARNESS = """
import json, sys
from numba.core import event
compiled = []
class L(event.Listener):
    def on_start(self, ev):
        d = ev.data.get("dispatcher")
        f = getattr(d, "py_func", None)
        if f is not None and f.__module__.startswith("fastcal"):
            compiled.append(f.__module__.replace("fastcal._kernels.", "") + "." + f.__qualname__)
    def on_end(self, ev):
        pass
event.register("numba:compile", L())
import numpy as np
import fastcal
{body}
used = sorted(m.replace("fastcal._kernels.", "") + "." + f.py_func.__qualname__
              for m, mod in list(sys.modules.items()) if m.startswith("fastcal.")
              for f in list(vars(mod).values())
              if getattr(f, "py_func", None) is not None and f.py_func.__module__ == m
              and getattr(f, "signatures", None))
print(json.dumps({{"compiled": compiled, "used": used, "result": result}}))
"""


def _run(tmp_path, body, ahead=True, **env):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache),
               FASTCAL_COMPILE_AHEAD="1" if ahead else "0",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]), **env)
    code = _HARNESS.format(body=textwrap.dedent(body))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


needs_two_cores = pytest.mark.skipif(_prefetch._usable_cores() < 2,
                                     reason="compile-ahead needs two usable cores")

REPORT = """
rng = np.random.default_rng(3)
p = rng.random(3000)
y = (rng.random(3000) < p).astype(np.int64)
r = fastcal.calibration_report(y, p)
result = [r.ece, r.brier, r.nll, r.auroc]
"""


@needs_two_cores
def test_a_cold_report_loads_the_rehearsed_auroc_kernel(tmp_path):
    got = _run(tmp_path, REPORT)
    # this process compiled the binned pass itself, and not the AUROC kernel,
    # which it used: the worker compiled and cached it meanwhile, and this
    # process loaded it (with compile-ahead off it compiles it itself: the
    # switch is tested below)
    assert "metrics.binned.binary_stats" in got["compiled"]
    assert "uncertainty.delong.mann_whitney_sorted" in got["used"]
    assert not [f for f in got["compiled"] if f.startswith("uncertainty.delong.")]
    rng = np.random.default_rng(3)
    p = rng.random(3000)
    y = (rng.random(3000) < p).astype(np.int64)
    r = fastcal.calibration_report(y, p)
    assert got["result"] == [r.ece, r.brier, r.nll, r.auroc]


def _cli_report(tmp_path, **env):
    rng = np.random.default_rng(4)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(np.int64)
    csv = tmp_path / "preds.csv"
    rows = "".join(f"{a!r},{b}\n" for a, b in zip(p.tolist(), y.tolist()))
    csv.write_text("confidence,label\n" + rows)
    got = _run(tmp_path, f"""
        import contextlib, io
        from fastcal.cli import main
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["report", {str(csv)!r}, "--json"])
        result = [code, json.loads(buf.getvalue())["ece"]]
        """, **env)
    assert got["result"][0] == 0
    assert got["result"][1] == pytest.approx(fastcal.ece(y, p), rel=1e-12)
    return got["compiled"]


@needs_two_cores
def test_a_cold_command_line_report_loads_the_rehearsed_accumulator(tmp_path):
    compiled = _cli_report(tmp_path, FASTCAL_SMALL_FILE_BYTES="0")  # the Numba reader
    # this process compiled the reader and, meanwhile, the kernels of compute();
    # the worker the update's
    assert "io.csv.parse_block" in compiled
    assert "streaming.auroc_hist.hist_bounds" in compiled
    assert not [f for f in compiled if f.startswith("streaming.accumulate.")]


@needs_two_cores
def test_a_cold_command_line_report_of_a_small_file_loads_the_rehearsed_sums(tmp_path):
    compiled = _cli_report(tmp_path)  # 2000 rows: read whole, without the Numba reader
    # this process compiled the batch kernel; the worker the kernels of compute()
    assert "metrics.binned.binary_stats" in compiled
    assert not [f for f in compiled if f.startswith(("io.csv.", "streaming.accumulate.", "streaming.auroc_hist."))]


def test_a_warm_or_disabled_process_starts_no_worker(monkeypatch):
    from fastcal._kernels.uncertainty import delong as _delong

    fastcal.auroc([0, 1, 1], [0.1, 0.8, 0.4])  # compiled (or loaded) here: not cold
    assert not _prefetch.is_cold(_delong.mann_whitney_sorted)
    assert not _prefetch.start(print, "x", probe=(_delong.mann_whitney_sorted,))
    monkeypatch.setenv("FASTCAL_COMPILE_AHEAD", "0")
    assert not _prefetch.enabled()
