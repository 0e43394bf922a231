"""The cold start: the first-compile notice (library: logging; command line: one
stderr line), and ``warmup`` running its tasks in worker processes.

The distribution machinery is tested with cheap stand-in tasks (standard
library functions run in the workers); the full kernel warmup takes minutes
and is not run here.
"""

import importlib
import json
import logging
import os
import subprocess
import sys

import numba
import pytest

import fastcal
from fastcal.core import cache as _cache, warmup as _warmup
from fastcal.core.warmup import Task, WarmupError, run_tasks
from fastcal.cli import main


@pytest.fixture
def fresh_notice(monkeypatch):
    """This process has not noticed a compilation yet."""
    monkeypatch.setattr(_cache, "_NOTICED", False)
    monkeypatch.setattr(_cache, "_HOOKS", [])


def _fake_fastcal_function():
    """A trivial function that Numba treats as fastcal's (compiles in milliseconds)."""
    ns = {}
    exec("def fake_kernel(x):\n    return x + 1\n", ns)
    f = ns["fake_kernel"]
    f.__module__ = "fastcal._fake_for_tests"
    return numba.njit(f)


# ---------------------------------------------------------------- the notice
def test_library_logs_a_real_compile_once_and_prints_nothing(fresh_notice, caplog, capsys):
    caplog.set_level(logging.INFO, logger="fastcal")
    f = _fake_fastcal_function()
    assert f(1) == 2  # a real compilation: Numba's "numba:compile" event
    assert f(1.5) == 2.5  # a second one (another signature): no second message
    g = _fake_fastcal_function()
    g(2)
    msgs = [r for r in caplog.records if "compiling kernels on first use" in r.getMessage()]
    assert len(msgs) == 1
    rec = msgs[0]
    assert rec.name == "fastcal" and rec.levelno == logging.INFO
    text = rec.getMessage()
    assert "fastcal warmup" in text and "fastcal.warmup()" in text
    assert _cache.cache_location()["text"] in text
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_other_packages_compiling_is_not_noticed(fresh_notice, caplog):
    caplog.set_level(logging.INFO, logger="fastcal")

    @numba.njit
    def not_ours(x):
        return x * 2

    assert not_ours(3) == 6
    assert not [r for r in caplog.records if "compiling kernels" in r.getMessage()]
    assert not _cache._NOTICED


def test_notice_hooks_and_cli_line(fresh_notice, monkeypatch, capsys):
    from fastcal.cli import _compile_notice

    seen = []
    _cache.add_notice_hook(seen.append)
    _cache.add_notice_hook(_compile_notice)
    monkeypatch.delenv("FASTCAL_QUIET", raising=False)
    _fake_fastcal_function()(1)
    assert seen == [_cache.cache_location()["text"]]
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("fastcal: compiling kernels on first use (once per environment, cached "
                          "in ") and "`fastcal warmup` does this ahead of time" in err
    monkeypatch.setenv("FASTCAL_QUIET", "1")
    _compile_notice("/somewhere")
    assert capsys.readouterr().err == ""


def test_cache_location_follows_numba(monkeypatch, tmp_path):
    from numba.core import config

    loc = _cache.cache_location()
    if config.CACHE_DIR:
        assert loc["kind"] == "NUMBA_CACHE_DIR"
        assert loc["root"] == os.path.abspath(config.CACHE_DIR)
    else:
        assert loc["kind"] in ("in-tree", "user-wide")
    assert loc["dirs"] and all(os.path.isdir(d) for d in loc["dirs"])
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    from numba.core.caching import FunctionCache

    # what Numba itself would pick for a kernel's source file under this setting
    from fastcal._kernels.metrics import binned as B

    disp = next(v for v in vars(B).values() if isinstance(v, numba.core.dispatcher.Dispatcher))
    monkeypatch.setattr(disp, "_cache", None, raising=False)
    want = FunctionCache(disp.py_func).cache_path
    loc = _cache.cache_location(disp)
    assert loc["kind"] == "NUMBA_CACHE_DIR" and loc["root"] == str(tmp_path)
    assert loc["dirs"] == [want] and want.startswith(str(tmp_path))
    info = _cache.cache_info()
    assert info["bytes"] >= 0 and info["files"] >= 0


def _cli_env(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env.pop("FASTCAL_QUIET", None)
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


@pytest.mark.slow
def test_cli_says_once_on_a_cold_cache_and_nothing_on_a_warm_one(tmp_path):
    f = tmp_path / "tiny.jsonl"
    f.write_text("".join(json.dumps({"label": i % 2, "confidence": c}) + "\n"
                         for i, c in enumerate((0.9, 0.2, 0.7, 0.4))))
    cache = tmp_path / "numba-cache"
    cmd = [sys.executable, "-m", "fastcal", "report", str(f)]
    cold = subprocess.run(cmd, capture_output=True, text=True, env=_cli_env(cache))
    assert cold.returncode == 0, cold.stderr
    lines = [s for s in cold.stderr.splitlines() if "compiling kernels" in s]
    assert len(lines) == 1, cold.stderr
    assert lines[0].startswith("fastcal: compiling kernels on first use") and str(cache) in lines[0]
    assert "fastcal warmup" in lines[0]
    assert "compiling" not in cold.stdout
    warm = subprocess.run(cmd, capture_output=True, text=True, env=_cli_env(cache))
    assert warm.returncode == 0 and warm.stdout == cold.stdout
    assert warm.stderr == "", warm.stderr


# ------------------------------------------------------------------ workers
def test_run_tasks_in_worker_processes():
    calls = []
    tasks = [Task("pid a", "os:getpid", []), Task("add", "operator:add", [1, 2]),
             Task("pid b", "os:getpid", [])]
    out = run_tasks(tasks, processes=2, progress=lambda *a: calls.append(a))
    assert set(out) == {"pid a", "add", "pid b"}
    assert out["add"][0] == 3
    assert os.getpid() not in (out["pid a"][0], out["pid b"][0])
    assert sorted(c[0] for c in calls) == [1, 2, 3] and {c[1] for c in calls} == {3}
    assert {c[2].name for c in calls} == set(out)


def test_a_failing_task_is_named():
    tasks = [Task("fine", "os:getpid", []), Task("square root of -1", "math:sqrt", [-1.0])]
    with pytest.raises(WarmupError, match=r"task 'square root of -1' failed: ValueError: math "
                                          r"domain error"):
        run_tasks(tasks, processes=2)


def test_a_dying_worker_is_named_not_a_hang():
    with pytest.raises(WarmupError, match=r"task 'exits' failed: its worker process exited "
                                          r"with code 3"):
        run_tasks([Task("exits", "os:_exit", [3])], processes=1)


def test_processes_must_be_positive():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="processes"):
            run_tasks([Task("x", "os:getpid", [])], processes=bad)
    assert run_tasks([], processes=1) == {}


def test_every_real_task_resolves_to_a_function():
    tasks = _warmup._tasks()
    assert len({t.name for t in tasks}) == len(tasks) >= 20
    for t in tasks:
        mod, _, name = t.func.partition(":")
        assert callable(getattr(importlib.import_module(mod), name)), t
        json.dumps(t.args)
    # both dtypes, probabilities and logits, weighted or not, for both layouts
    names = {t.name for t in tasks}
    for layout in ("binary", "multiclass"):
        for d in ("float64", "float32"):
            for kind in ("probs", "logits"):
                assert f"calibration_report {layout} {d} {kind}" in names
                assert f"calibration_report {layout} {d} {kind} weighted" in names


@pytest.fixture
def fake_tasks(monkeypatch):
    tasks = [Task("stand-in one", "os:getpid", []), Task("stand-in two", "operator:add", [2, 3])]
    monkeypatch.setattr(_warmup, "_tasks", lambda: list(tasks))
    return tasks


def test_warmup_logs_progress_and_cache_and_prints_nothing(fake_tasks, caplog, capsys):
    caplog.set_level(logging.INFO, logger="fastcal")
    t = fastcal.warmup(processes=2)
    assert isinstance(t, float) and t >= 0
    msgs = [r.getMessage() for r in caplog.records if r.name == "fastcal"]
    assert any(m.startswith("[1/2] stand-in") for m in msgs)
    assert any(m.startswith("[2/2] stand-in") for m in msgs)
    assert any("kernel cache:" in m and "bytes" in m and "files" in m for m in msgs)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_warmup_verbose_shows_progress_on_stderr(fake_tasks, capsys):
    level = logging.getLogger("fastcal").level
    fastcal.warmup(processes=1, verbose=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "fastcal.warmup: [2/2] stand-in" in err and "kernel cache:" in err
    assert logging.getLogger("fastcal").level == level
    assert not [h for h in logging.getLogger("fastcal").handlers
                if isinstance(h, logging.StreamHandler) and h.stream is sys.stderr]


def test_warmup_failure_raises_naming_the_task(monkeypatch):
    monkeypatch.setattr(_warmup, "_tasks", lambda: [Task("broken", "math:sqrt", [-1.0])])
    with pytest.raises(RuntimeError, match="task 'broken' failed"):
        fastcal.warmup(processes=1)


def test_warmup_command(fake_tasks, capsys):
    assert main(["warmup", "--processes", "2"]) == 0
    out, err = capsys.readouterr()
    assert "[1/2] stand-in" in err and "[2/2] stand-in" in err
    assert out.startswith("fastcal warmup: 2 tasks in 2 worker processes")
    assert "kernel cache: " in out and " bytes (" in out and " files" in out
    assert main(["warmup", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_warmup_command_errors(monkeypatch, capsys):
    assert main(["warmup", "--processes", "0"]) == 2
    assert "--processes must be a positive integer" in capsys.readouterr().err
    monkeypatch.setattr(_warmup, "_tasks", lambda: [Task("broken", "math:sqrt", [-1.0])])
    assert main(["warmup", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "fastcal: error: task 'broken' failed: ValueError: math domain error"]
