"""Compile ahead on a cold cache: a second process compiles the kernels a
call will need later while this process compiles the ones it needs first.

Numba compiles one function at a time per process (a global compiler lock),
so a cold first call that needs two independent kernel families (the binned
pass and the AUROC of a report; the CSV parser and the accumulator of the
command line) compiles them one after the other on one core. Here, when the
kernels of the later family are neither compiled in this process nor in the
on-disk cache, one worker process *rehearses* that part of the call: it runs
the same public-layer function on a few synthetic rows of the same types,
which compiles exactly the specialisations the real call will use and writes
them to Numba's cache. Meanwhile this process compiles the first family;
:meth:`Ahead.wait` then joins the worker, and the real call loads the
rehearsed kernels from disk instead of compiling them.

Only a cold start pays for the worker (about the cost of ``import fastcal``
on the other core); a warm process, a machine with one usable core, or
``FASTCAL_COMPILE_AHEAD=0`` skips it. Nothing depends on the worker: if it
fails or is slow, the real call compiles what is missing itself.
"""

import atexit
import os
import pickle
import subprocess
import sys
import threading

_LOCK = threading.Lock()
_LIVE = []  # worker processes not yet joined (joined at exit)
# One rehearsal per kernel family and process: the worker started for a probe
# (its dispatcher's id), so that calls made before it finishes (failing calls
# among them) join it instead of starting more.
_STARTED = {}
# The longest a caller waits for a worker before compiling itself.
WAIT_S = 300.0


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def enabled():
    return os.environ.get("FASTCAL_COMPILE_AHEAD", "1") != "0" and _usable_cores() >= 2


def is_cold(dispatcher):
    """True when ``dispatcher`` has no specialisation compiled in this process
    and no cache index on disk (it has never been compiled in this
    environment). Any doubt answers False: then nothing is rehearsed."""
    try:
        if dispatcher.overloads:
            return False
        cache = dispatcher._cache
        path = cache._cache_file._index_path
    except Exception:  # not a cached dispatcher (or another Numba): never rehearse
        return False
    return not os.path.exists(path)


class Ahead:
    """A running rehearsal (or none): :meth:`wait` before the call that needs it."""

    __slots__ = ("proc", "meanwhile")

    def __init__(self, proc=None, meanwhile=None):
        self.proc = proc
        self.meanwhile = meanwhile

    def __bool__(self):
        return self.proc is not None

    def wait(self):
        """Run ``meanwhile`` here (this process's share of the compiling),
        then join the worker (at most ``WAIT_S``); returns whether it
        succeeded. Safe to call again; a no-op when nothing was started."""
        p = self.proc
        if p is None:
            return False
        self.proc = None
        if self.meanwhile is not None and p.poll() is None:
            try:
                self.meanwhile()
            except Exception:  # compiling ahead must never break the call
                pass
        try:
            rc = p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:  # compile here instead; let it finish in the background
            return False
        return rc == 0


NOTHING = Ahead()


def start(func, *args, probe=(), meanwhile=None):
    """Rehearse ``func(*args)`` (a module-level function, picklable
    arguments) in a worker process when every dispatcher in ``probe`` is
    cold (see :func:`is_cold`); returns an :class:`Ahead`, whose ``wait()``
    first calls ``meanwhile()`` here when the worker is still running."""
    if not probe or not enabled():
        return NOTHING
    with _LOCK:
        for d in probe:
            if id(d) in _STARTED:
                p = _STARTED[id(d)]
                return Ahead(p) if p.poll() is None else NOTHING
    if not all(is_cold(d) for d in probe):
        return NOTHING
    payload = pickle.dumps((func.__module__, func.__qualname__, args),
                           protocol=pickle.HIGHEST_PROTOCOL)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in [env.get("PYTHONPATH")] if p])
    env["FASTCAL_COMPILE_AHEAD"] = "0"  # a worker starts no worker of its own
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from fastcal.core.prefetch import _worker; _worker()"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, close_fds=True)
        proc.stdin.write(payload)
        proc.stdin.close()
    except Exception:  # no worker: the call compiles everything itself, as without one
        return NOTHING
    with _LOCK:
        _LIVE.append(proc)
        for d in probe:
            _STARTED[id(d)] = proc
    from . import cache as _cache

    _cache._on_compile({"dispatcher": probe[0]})  # the first-compile notice: it compiles
    return Ahead(proc, meanwhile)


def _worker():
    """The worker's main: read ``(module, qualname, args)`` on stdin and call it."""
    import importlib

    from . import cache as _cache

    _cache._suppress_notice()
    mod, qual, args = pickle.loads(sys.stdin.buffer.read())
    obj = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    obj(*args)


@atexit.register
def _join_at_exit():
    """Wait for unfinished workers (their kernels are cached for the next run)."""
    with _LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for p in live:
        try:
            p.wait(timeout=WAIT_S)
        except Exception:  # pragma: no cover
            pass
