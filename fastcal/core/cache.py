"""Numba's on-disk cache of fastcal's kernels: where it lives, what it holds,
and the first-compile notice.

* The first-compile notice. A listener on Numba's ``"numba:compile"`` event
  (fired only when a function is really compiled, never when it is loaded
  from the on-disk cache) logs one INFO message on the ``"fastcal"`` logger
  the first time a fastcal kernel compiles in a process, and calls the hooks
  registered with :func:`add_notice_hook` (the command line prints one line
  on stderr). ``numba`` (and with it ``numba.core.event``) is already
  imported by ``import fastcal``, so registering the listener costs nothing;
  it does no work until a compilation starts.
* :func:`cache_location` and :func:`cache_info`: the directory Numba's own
  locators chose for the kernels, and the size of fastcal's entries there.
"""

import logging
import os
import sys
import threading

logger = logging.getLogger("fastcal")

# ------------------------------------------------------------ the notice
_NOTICE_LOCK = threading.Lock()
_NOTICED = False  # the notice fires once per process
_HOOKS = []


def add_notice_hook(fn):
    """Call ``fn(cache_location)`` (a string) when a fastcal kernel first
    compiles in this process; returns ``fn`` (for :func:`remove_notice_hook`)."""
    _HOOKS.append(fn)
    return fn


def remove_notice_hook(fn):
    try:
        _HOOKS.remove(fn)
    except ValueError:
        pass


def _suppress_notice():
    """No notice in this process (warmup workers compile on purpose)."""
    global _NOTICED
    _NOTICED = True


def _is_fastcal(dispatcher):
    mod = getattr(getattr(dispatcher, "py_func", None), "__module__", None) or ""
    return mod == "fastcal" or mod.startswith("fastcal.")


def _on_compile(data):
    global _NOTICED
    if _NOTICED:
        return
    d = data.get("dispatcher") if isinstance(data, dict) else None
    if not _is_fastcal(d):
        return
    with _NOTICE_LOCK:
        if _NOTICED:
            return
        _NOTICED = True
    try:
        where = cache_location(d)["text"]
    except Exception:  # pragma: no cover - still say it, without the folder
        where = "Numba's on-disk cache"
    logger.info("compiling kernels on first use: a one-time cost per environment, cached on "
                "disk in %s; `fastcal warmup` (or fastcal.warmup()) compiles them all ahead "
                "of time", where)
    for fn in list(_HOOKS):
        try:
            fn(where)
        except Exception:  # a notice must never break a compilation
            logger.debug("fastcal compile notice hook failed", exc_info=True)


def _install_listener():
    from numba.core import event

    class _CompileListener(event.Listener):
        def on_start(self, ev):
            try:
                _on_compile(ev.data)
            except Exception:  # never break a compilation
                logger.debug("fastcal compile listener failed", exc_info=True)

        def on_end(self, ev):
            pass

    event.register("numba:compile", _CompileListener())


# ------------------------------------------------------- cache location
def _all_dispatchers():
    """Every Numba dispatcher of fastcal (importing each kernel module; importing
    compiles nothing)."""
    import importlib
    import pkgutil

    from numba.core.dispatcher import Dispatcher

    from .. import _kernels

    for info in pkgutil.walk_packages(_kernels.__path__, f"{_kernels.__name__}."):
        try:
            importlib.import_module(info.name)
        except Exception:  # pragma: no cover - a broken module fails elsewhere
            pass
    out = {}
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "fastcal" or name.startswith("fastcal.")):
            continue
        for obj in list(vars(mod).values()):
            if isinstance(obj, Dispatcher) and _is_fastcal(obj):
                out[id(obj)] = obj
    return list(out.values())


def _source(dispatcher):
    return os.path.abspath(dispatcher.py_func.__code__.co_filename)


def _cache_path(dispatcher):
    """The directory Numba caches ``dispatcher`` in, chosen by Numba's own
    locators (NUMBA_CACHE_DIR; else the source folder's ``__pycache__`` when
    writable; else a user-wide cache directory); None when not cacheable."""
    path = getattr(getattr(dispatcher, "_cache", None), "cache_path", None)
    if path:
        return path
    try:
        from numba.core.caching import FunctionCache

        return FunctionCache(dispatcher.py_func).cache_path
    except Exception:
        return None


def cache_location(dispatcher=None):
    """Where fastcal's compiled kernels are cached.

    Returns ``{"kind", "root", "dirs", "text"}``: ``kind`` is
    ``"NUMBA_CACHE_DIR"``, ``"in-tree"`` (the ``__pycache__`` folder beside
    the kernels' source) or ``"user-wide"`` (Numba's per-user cache
    directory, used when the package folder is not writable); ``root`` is the
    directory to keep (NUMBA_CACHE_DIR itself when set); ``dirs`` the folders
    holding fastcal's cache files; ``text`` a description for messages.
    """
    from numba.core import config

    if dispatcher is not None and _is_fastcal(dispatcher) and _cache_path(dispatcher):
        disps = [dispatcher]
    else:  # one dispatcher per source folder
        disps = list({os.path.dirname(_source(d)): d for d in _all_dispatchers()}.values())
    dirs = sorted({p for p in map(_cache_path, disps) if p})
    srcs = {os.path.dirname(_source(d)) for d in disps}
    env = config.CACHE_DIR
    if env and dirs and all(_under(d, env) for d in dirs):
        kind, root = "NUMBA_CACHE_DIR", os.path.abspath(env)
        text = f"{root} (NUMBA_CACHE_DIR)"
    else:
        in_tree = dirs and all(os.path.basename(d) == "__pycache__" and
                               os.path.dirname(d) in srcs for d in dirs)
        kind = "in-tree" if in_tree else "user-wide"
        root = dirs[0] if len(dirs) == 1 else (os.path.commonpath(dirs) if dirs else "")
        if not dirs:
            text = "(no writable cache directory)"
        elif len(dirs) == 1:
            text = dirs[0]
        else:
            text = (f"the __pycache__ folders under {root}" if in_tree
                    else f"{len(dirs)} folders under {root}")
    return {"kind": kind, "root": root, "dirs": dirs, "text": text}


def _under(path, root):
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def cache_info():
    """:func:`cache_location` plus ``bytes`` and ``files``: the size of
    fastcal's cache files (Numba's ``.nbi`` index and ``.nbc`` data files of
    fastcal's kernel modules; other packages' files in a shared
    NUMBA_CACHE_DIR, and ``.pyc`` files, are not counted)."""
    loc = cache_location()
    # Numba names a cache file "<module file stem>.<qualname>-<line>.pyXY..."
    prefixes = tuple({os.path.splitext(os.path.basename(_source(d)))[0] + "."
                      for d in _all_dispatchers()})
    size = files = 0
    for d in loc["dirs"]:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name.endswith((".nbi", ".nbc")) and e.name.startswith(prefixes):
                try:
                    size += e.stat().st_size
                    files += 1
                except OSError:
                    pass
    return dict(loc, bytes=size, files=files)


_install_listener()
