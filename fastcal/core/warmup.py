"""Compile every kernel ahead of time, in parallel worker processes.

:func:`warmup`: the work list, split into independent tasks (small
module-level functions, each triggering one family of kernels), run by worker
subprocesses that share Numba's on-disk cache (``fastcal.core.cache`` says where
it is and what it holds, and tells the user when kernels compile on first
use).
"""

import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import namedtuple

import numpy as np

from .cache import _suppress_notice, cache_info, logger

# ---------------------------------------------------------------- tasks
#: One unit of work for a worker: ``func`` is ``"module:qualname"`` of a
#: module-level function, ``args`` a JSON-serialisable list.
Task = namedtuple("Task", "name func args")


class WarmupError(RuntimeError):
    """A warmup task failed (or its worker process died); the message names it."""


def _large():
    from . import pipeline as _core

    return int(getattr(_core, "PARALLEL_MIN", 1 << 17))


def _sizes():
    return (8, _large())  # serial (small input) and parallel (large input)


def _binary(rng, n, dtype):
    return (rng.random(n) < 0.5).astype(np.int64), rng.random(n).astype(dtype)


def _multiclass(rng, n, dtype):
    P = rng.random((n, 3)).astype(dtype)
    P /= P.sum(axis=1, keepdims=True)
    return rng.integers(0, 3, n), P


def task_binned(layout, dtype, logits, weighted):
    """calibration_report, ece, brier_score, nll and reliability_curve (and the
    ``check=False`` variants when unweighted) on one input kind, serial and
    parallel; classwise calibration_error (multiclass) or quantile bins
    (binary probabilities)."""
    from ..metrics.binned import calibration_error, ece, reliability_curve
    from ..metrics.scores import brier_score, nll
    from ..metrics.report import calibration_report

    rng = np.random.default_rng(0)
    for n in _sizes():
        y, p = (_binary if layout == "binary" else _multiclass)(rng, n, np.dtype(dtype))
        w = rng.random(n) if weighted else None
        calibration_report(y, p, from_logits=logits, sample_weight=w)
        ece(y, p, from_logits=logits, sample_weight=w)
        brier_score(y, p, from_logits=logits, sample_weight=w)
        nll(y, p, from_logits=logits, sample_weight=w)
        reliability_curve(y, p, from_logits=logits, sample_weight=w, right=False)
        if not weighted:  # the hot-loop switch
            ece(y, p, from_logits=logits, check=False)
            brier_score(y, p, from_logits=logits, check=False)
            nll(y, p, from_logits=logits, check=False)
        if layout == "multiclass":
            calibration_error(y, p, classwise=True, from_logits=logits, sample_weight=w)
        elif not logits:
            calibration_error(y, p, strategy="quantile", sample_weight=w)


def task_auroc(dtype):
    """auroc, unweighted and weighted, serial and parallel."""
    from ..metrics.scores import auroc

    rng = np.random.default_rng(0)
    for weighted in (False, True):
        for n in _sizes():
            y, p = _binary(rng, n, np.dtype(dtype))
            auroc(y, p, sample_weight=rng.random(n) if weighted else None)


def task_temperature(dtype, weighted):
    """TemperatureScaling fit and predict_proba, small and large input."""
    from ..calibrators.temperature import TemperatureScaling

    rng = np.random.default_rng(0)
    for n in _sizes():
        y, P = _multiclass(rng, n, np.dtype(dtype))
        w = rng.random(n) if weighted else None
        TemperatureScaling().fit(P, y, sample_weight=w).predict_proba(P)


def task_isotonic(dtype):
    """isotonic_regression and IsotonicRegression fit/predict, with and without weights."""
    from ..calibrators.isotonic import IsotonicRegression, isotonic_regression

    rng = np.random.default_rng(0)
    dt = np.dtype(dtype)
    for weighted in (False, True):
        y, p = _binary(rng, 8, dt)
        w = rng.random(8) if weighted else None
        isotonic_regression(p.astype(np.float64), sample_weight=w)
        IsotonicRegression().fit(p, y.astype(dt), sample_weight=w).predict(p)


def task_streaming():
    """CalibrationAccumulator: small batches (the fused path) and two chunks
    (both cores), binary probabilities and multiclass logits."""
    from ..streaming.accumulator import CalibrationAccumulator
    from .._kernels.common import CHUNK

    rng = np.random.default_rng(0)
    for n in (64, 2 * CHUNK):
        y, p = _binary(rng, n, np.float64)
        CalibrationAccumulator().update(y, p).update(y, p).compute()
        CalibrationAccumulator().update(rng.integers(0, 3, n), rng.normal(size=(n, 3)),
                                        from_logits=True).compute()


def task_delong():
    """auroc_ci (the DeLong interval), small and two-chunk input."""
    from ..uncertainty.delong import auroc_ci
    from .._kernels.common import CHUNK

    rng = np.random.default_rng(0)
    for n in (64, 2 * CHUNK):
        auroc_ci(*_binary(rng, n, np.float64))


def task_calibrators():
    """PlattScaling, HistogramBinning and TemperatureScaling(objective="ece")."""
    from ..calibrators.histogram_binning import HistogramBinning
    from .._kernels.common import CHUNK
    from ..calibrators.platt import PlattScaling
    from ..calibrators.temperature import TemperatureScaling

    rng = np.random.default_rng(0)
    p = rng.random(64)
    y = (rng.random(64) < p).astype(np.int64)
    PlattScaling().fit(p, y).predict_proba(p)
    HistogramBinning().fit(p, y).predict_proba(p)
    n = 2 * CHUNK
    TemperatureScaling(objective="ece").fit(rng.normal(size=(n, 3)), rng.integers(0, 3, n))


def task_half_logits():
    """calibration_report on 16-bit vocabulary logits."""
    from ..metrics.report import calibration_report

    rng = np.random.default_rng(0)
    Z16 = rng.normal(size=(64, 50)).astype(np.float16)
    calibration_report(rng.integers(0, 50, 64), Z16, from_logits=True)


def task_llm_readers():
    """The JSON Lines scanner of lm_eval_report and openai_confidence."""
    from ..io import jsonscan as _jsonscan
    from ..llm import lm_eval as _lm_eval, openai as _openai

    line = (b'{"custom_id": "a", "target": "0", "filtered_resps": [["-0.5", "False"]], '
            b'"response": {"body": {"choices": [{"logprobs": {"content": [{"token": " A", '
            b'"logprob": -0.1, "top_logprobs": [{"token": "A", "logprob": -0.1}]}]}}]}}}\n')
    for paths in (_lm_eval.PATHS, _openai.PATHS):
        for b in _jsonscan.scan(line, paths):
            b.numbers(np.flatnonzero(b.rec[:, _jsonscan.FLAGS] & _jsonscan.NUMBER), "", "")


def _task(name, fn, *args):
    return Task(name, f"{__name__}:{fn.__name__}", list(args))


def _tasks():
    """The work list, ordered so that workers running side by side compile
    different kernel families (two workers compiling the same function and
    signature at once only duplicate work): the families are interleaved
    round-robin, the heaviest (AUROC, the binned report kernels) first."""
    dts = ("float64", "float32")
    fams = [
        [_task(f"auroc {d}", task_auroc, d) for d in dts],
        [], [],
        [_task(f"temperature {d}{' weighted' if w else ''}", task_temperature, d, w)
         for w in (False, True) for d in dts],
        [_task(f"isotonic {d}", task_isotonic, d) for d in dts],
        [_task("streaming accumulators", task_streaming),
         _task("auroc_ci (DeLong)", task_delong),
         _task("platt, histogram binning, temperature (ECE)", task_calibrators),
         _task("calibration_report float16 logits", task_half_logits),
         _task("lm-eval and OpenAI readers (JSON Lines scanner)", task_llm_readers),
         Task("command line: CSV/TSV reader", "fastcal.io.csv_small:warmup_task", []),
         Task("command line: small files", "fastcal.streaming.in_memory:warmup_task", [])],
    ]
    # binary and multiclass report kernels: consecutive tasks differ in dtype
    for i, layout in enumerate(("binary", "multiclass")):
        for w in (False, True):
            for lg in (False, True):
                for d in (dts if (w + lg + i) % 2 == 0 else dts[::-1]):
                    name = (f"calibration_report {layout} {d} {'logits' if lg else 'probs'}"
                            f"{' weighted' if w else ''}")
                    fams[1 + i].append(_task(name, task_binned, layout, d, lg, w))
    out = []
    while any(fams):
        for f in fams:
            if f:
                out.append(f.pop(0))
    return out


# -------------------------------------------------------------- workers
def _resolve(spec):
    import importlib

    mod, _, qual = spec.partition(":")
    obj = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _jsonable(x):
    try:
        json.dumps(x)
        return x
    except (TypeError, ValueError):
        return repr(x)


def _worker():
    """A warmup worker process: reads one JSON task ``[func, args]`` per line
    on stdin, answers one JSON line per task on its original stdout."""
    import traceback
    import warnings

    _suppress_notice()
    warnings.simplefilter("ignore")
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a task prints goes to the worker's stderr
    for line in sys.stdin:
        line = line.strip()
        if not line:
            break
        func, args = json.loads(line)
        t0 = time.perf_counter()
        try:
            res = {"ok": True, "result": _jsonable(_resolve(func)(*args))}
        except BaseException as exc:  # reported to the parent, which names the task
            res = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc()}
        res["seconds"] = time.perf_counter() - t0
        proto.write(json.dumps(res) + "\n")
        proto.flush()


def _default_processes():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _tail(path, n=8):
    try:
        with open(path, errors="replace") as f:
            lines = [s.rstrip() for s in f.readlines()[-n:]]
        return " | ".join(s for s in lines if s)
    except OSError:
        return ""


def run_tasks(tasks, processes=None, progress=None):
    """Run ``tasks`` (:class:`Task`) in ``processes`` worker subprocesses.

    Returns ``{name: (result, seconds)}``. ``progress(done, total, task,
    seconds)`` is called in the parent after each task. A task that raises,
    or whose worker dies, stops the run with a :class:`WarmupError` naming it
    (the other workers are killed).
    """
    tasks = list(tasks)
    if processes is None:
        processes = _default_processes()
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) \
            or processes < 1:
        raise ValueError(f"processes must be a positive integer or None; found {processes!r}.")
    if not tasks:
        return {}
    nproc = min(int(processes), len(tasks))
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable or "python", "-c", "from fastcal.core.warmup import _worker; _worker()"]
    results = queue.Queue()
    workers = []  # (Popen, stderr path)
    tmpdir = tempfile.mkdtemp(prefix="fastcal-warmup-")

    def reader(i, proc):
        for line in proc.stdout:
            results.put((i, line))
        results.put((i, None))

    out = {}
    try:
        for i in range(nproc):
            errpath = os.path.join(tmpdir, f"worker{i}.err")
            with open(errpath, "wb") as err:
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=err, env=env, text=True, bufsize=1)
            workers.append((proc, errpath))
            threading.Thread(target=reader, args=(i, proc), daemon=True).start()
        pending = list(tasks)
        running = {}  # worker index -> task

        def give(i):
            if pending:
                t = pending.pop(0)
                running[i] = t
                workers[i][0].stdin.write(json.dumps([t.func, list(t.args)]) + "\n")
                workers[i][0].stdin.flush()

        for i in range(nproc):
            give(i)
        done = 0
        while running:
            i, line = results.get()
            t = running.pop(i, None)
            if line is None:
                if t is None:
                    continue
                proc, errpath = workers[i]
                code = proc.wait()
                tail = _tail(errpath)
                raise WarmupError(f"fastcal.warmup: task {t.name!r} failed: its worker process "
                                  f"exited with code {code}" + (f" ({tail})" if tail else ""))
            res = json.loads(line)
            if not res["ok"]:
                raise WarmupError(f"fastcal.warmup: task {t.name!r} failed: {res['error']}\n"
                                  f"worker traceback:\n{res.get('traceback', '')}")
            out[t.name] = (res.get("result"), res["seconds"])
            done += 1
            if progress is not None:
                progress(done, len(tasks), t, res["seconds"])
            give(i)
    finally:
        for proc, _ in workers:
            try:
                proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for proc, _ in workers:
            if len(out) < len(tasks):  # failed or interrupted: stop the others now
                proc.kill()
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for _, errpath in workers:
            try:
                os.remove(errpath)
            except OSError:
                pass
        try:
            os.rmdir(tmpdir)
        except OSError:
            pass
    return out


def _fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def summary(info):
    """One line: where fastcal's kernel cache lives and its size."""
    return (f"kernel cache: {info['text']}: {info['bytes']:,} bytes "
            f"({_fmt_bytes(info['bytes'])}) in {info['files']:,} files")


def _run(processes=None, progress=None):
    """(seconds, number of tasks, processes, cache_info()) of a full warmup."""
    tasks = _tasks()
    nproc = min(processes or _default_processes(), len(tasks)) if tasks else 0
    t0 = time.perf_counter()
    run_tasks(tasks, processes=processes, progress=progress)
    return time.perf_counter() - t0, len(tasks), nproc, cache_info()


def warmup(*, processes=None, verbose=False):
    """Compile (or load from the on-disk cache) the kernels behind every public
    function, for float32 and float64 input, probabilities and logits, with and
    without weights, serial (small input) and parallel (large input), and the
    ``check=False`` hot-loop variants of ``ece``, ``brier_score`` and ``nll``.
    Integer labels are int64; other label dtypes compile on first use.

    The work is split into independent tasks (one kernel family, dtype and
    input kind each) run by ``processes`` worker processes (default: one per
    available core) that write into Numba's shared on-disk cache; this
    process compiles nothing and later calls load the kernels from the cache
    in milliseconds. Kernels compile lazily on first use otherwise (fastcal
    logs an INFO message on the ``"fastcal"`` logger the first time it
    happens in a process). See ``docs/cold_start.md``.

    Parameters
    ----------
    processes : int, optional
        Worker processes (default: the number of available cores).
    verbose : bool
        Show the progress and the cache summary on stderr (they are always
        logged at INFO level on the ``"fastcal"`` logger).

    Returns
    -------
    float
        Seconds spent.

    Raises
    ------
    RuntimeError
        When a task fails or its worker process dies; the message names the task.

    Examples
    --------
    Not run by the test suite (minutes on a fresh install):

    >>> import fastcal
    >>> fastcal.warmup() >= 0  # doctest: +SKIP
    True
    """
    handler = old_level = None
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("fastcal.warmup: %(message)s"))
        logger.addHandler(handler)
        old_level = logger.level
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)

    def progress(done, total, task, seconds):
        logger.info("[%d/%d] %s (%.1f s)", done, total, task.name, seconds)

    try:
        t, ntasks, nproc, info = _run(processes, progress)
        logger.info("%d tasks in %d worker processes: %.1f s; %s", ntasks, nproc, t,
                    summary(info))
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
    return t


def command(processes=None, quiet=False, stream=None):
    """``fastcal warmup``: progress on ``stream`` (stderr), then where the
    cache lives and its size on stdout. Returns the exit code."""
    stream = sys.stderr if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    width = [0]

    def progress(done, total, task, seconds):
        text = f"[{done}/{total}] {task.name} ({seconds:.1f} s)"
        if tty:
            stream.write("\r" + text.ljust(width[0]))
            width[0] = max(width[0], len(text))
        else:
            stream.write(text + "\n")
        stream.flush()

    try:
        t, ntasks, nproc, info = _run(processes, None if quiet else progress)
    except WarmupError as exc:
        if tty and width[0]:
            stream.write("\n")
        print("fastcal: error: " + str(exc).split("\n", 1)[0].removeprefix("fastcal.warmup: "),
              file=sys.stderr)
        return 1
    if tty and width[0]:
        stream.write("\n")
        stream.flush()
    if not quiet:
        print(f"fastcal warmup: {ntasks} tasks in {nproc} worker processes, {t:.1f} s")
        print(summary(info))
    return 0
