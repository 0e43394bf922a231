"""A kernel's cache entry holds the machine code of the kernels it calls from
other files, so it must not outlive an edit of any kernel file
(fastcal/_kernels/__init__.py keys every entry by the whole package's
sources). Run on a copy of the package, in fresh processes sharing one
NUMBA_CACHE_DIR, recording which fastcal kernels each process compiled."""

import json
import os
import shutil
import subprocess
import sys

import fastcal

PKG = os.path.dirname(os.path.abspath(fastcal.__file__))

SCRIPT = """
import json
from numba.core import event
compiled = []
class L(event.Listener):
    def on_start(self, ev):
        f = getattr(ev.data.get("dispatcher"), "py_func", None)
        if f is not None and f.__module__.startswith("fastcal"):
            compiled.append(f.__module__.replace("fastcal._kernels.", "") + "." + f.__qualname__)
    def on_end(self, ev):
        pass
event.register("numba:compile", L())
import numpy as np
import fastcal
assert fastcal.__file__.startswith({src!r}), fastcal.__file__
e = fastcal.ece(np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.9, 0.4]))
print(json.dumps({{"compiled": compiled, "ece": e}}))
"""


def test_an_edit_of_any_kernel_file_invalidates_the_cached_kernels(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(PKG, src / "fastcal", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(src),
               FASTCAL_COMPILE_AHEAD="0")

    def run():
        out = subprocess.run([sys.executable, "-c", SCRIPT.format(src=str(src))], env=env,
                             capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold = run()
    assert "metrics.binned.binary_ce" in cold["compiled"]
    warm = run()
    assert warm["compiled"] == [] and warm["ece"] == cold["ece"]
    # an edit of a callee's file only (binary_ce reaches _kernels.vmath.log_block through
    # binary_stats): the entries of metrics/binned.py must not load any more
    with open(src / "fastcal" / "_kernels" / "vmath.py", "a") as f:
        f.write("\n# an edit\n")
    edited = run()
    assert "metrics.binned.binary_ce" in edited["compiled"]
    assert edited["ece"] == cold["ece"]
