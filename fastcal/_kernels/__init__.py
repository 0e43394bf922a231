"""Numba kernels: arrays in, arrays/scalars out.

Nothing here validates beyond what the loop checks for free, nothing has
defaults, nothing knows about users.  Every kernel compiles lazily on first
call and is cached on disk (``cache=True``).

Numba keys a cached kernel by its own source file only, but a kernel's
machine code holds the code of the kernels it calls from other files
(``metrics/bins.find_bin`` inside
``calibrators/histogram_binning.lookup``): after an edit of the
callee's file the caller's cache entry would still load, with the old
callee in it.  So every kernel's cache entry is keyed by the sources of the
whole kernel package: the locator below wraps the one Numba would choose and
adds a hash of every ``.py`` file here (subpackages included) to its source
stamp.
"""

import hashlib
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _package_hash():
    h = hashlib.sha256()
    paths = sorted(os.path.relpath(os.path.join(folder, name), _HERE)
                   for folder, _, files in os.walk(_HERE)
                   for name in files if name.endswith(".py"))
    for rel in paths:
        h.update(rel.encode())
        with open(os.path.join(_HERE, rel), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


class _PackageStampLocator:
    """Numba's own cache locator for a kernel file, with the package's hash
    in its source stamp (the cache index is valid only for the same
    sources of every kernel file)."""

    _defaults = ()
    _hash = None

    def __init__(self, inner):
        self._inner = inner

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(_HERE + os.sep):
            return None
        for base in cls._defaults:
            inner = base.from_function(py_func, py_file)
            if inner is not None:
                if cls._hash is None:
                    cls._hash = _package_hash()
                return cls(inner)
        return None

    def get_source_stamp(self):
        return (self._inner.get_source_stamp(), self._hash)

    def __getattr__(self, name):  # cache path, disambiguator: Numba's own
        return getattr(self._inner, name)


def _install():
    try:
        from numba.core import caching

        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
        classes = impl._locator_classes
    except (ImportError, AttributeError):  # another Numba: entries keyed per file, as before
        return
    if not any(c.__name__ == _PackageStampLocator.__name__ for c in classes):
        _PackageStampLocator._defaults = tuple(classes)
        classes.insert(0, _PackageStampLocator)


_install()
