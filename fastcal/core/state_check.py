"""Validation of saved states (``from_dict`` and ``__setstate__``).

A state may come from a file someone edited, a truncated download or another
program: every value is checked as the constructors check their arguments
(types, ranges, lengths) before anything is stored, and a bad one raises
``ValueError`` naming the field (``settings.right``, ``cells.index[3]``) and
what was found.  Nothing is coerced: ``"False"`` is not a bool, ``5.0`` is
not a count, ``True`` is not a version.
"""

import math
import reprlib

import numpy as np

REQUIRED = _REQUIRED = object()  # get(): no default
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlist = 6
_repr.maxtuple = 6
_repr.maxdict = 6

_REAL_TYPES = (int, float, np.integer, np.floating)
_BOOL_TYPES = (bool, np.bool_)


def short(v):
    """A short repr of ``v`` for messages (long lists and strings cut)."""
    if isinstance(v, np.ndarray):
        return f"array of shape {v.shape} and dtype {v.dtype}"
    return _repr.repr(v)


def is_real(v):
    """A real number (Python or numpy), not a bool."""
    return isinstance(v, _REAL_TYPES) and not isinstance(v, _BOOL_TYPES)


def is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, _BOOL_TYPES)


class Check:
    """Validators for the state of one class; ``what`` names it in messages."""

    def __init__(self, what):
        self.what = what

    def fail(self, field, expect, found=_REQUIRED):
        got = "" if found is _REQUIRED else f"; found {short(found)}"
        raise ValueError(f"invalid {self.what} state: {field} must be {expect}{got}.")

    def get(self, d, key, field, default=_REQUIRED):
        """``d[key]``; a missing required key raises naming ``field``."""
        if key in d:
            return d[key]
        if default is _REQUIRED:
            raise ValueError(f"invalid {self.what} state: {field} is missing.")
        return default

    def mapping(self, v, field):
        if not isinstance(v, dict):
            self.fail(field, "a dict", v)
        return v

    def version(self, v, supported, newer=None, field="version"):
        """An int in ``supported`` (a range or tuple); ``newer(v)`` raises the
        message for a later version (a state from a newer fastcal)."""
        lo, hi = min(supported), max(supported)
        want = f"the integer {lo}" if lo == hi else f"an integer in {lo}..{hi}"
        if not is_int(v):
            self.fail(field, want, v)
        v = int(v)
        if v > hi and newer is not None:
            newer(v)
        if v not in supported:
            self.fail(field, want, v)
        return v

    def boolean(self, v, field):
        if not isinstance(v, _BOOL_TYPES):
            self.fail(field, "True or False", v)
        return bool(v)

    def integer(self, v, field, lo=0, hi=None):
        if not is_int(v) or v < lo or (hi is not None and v > hi):
            rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
            self.fail(field, f"an integer {rng}", v)
        return int(v)

    def real(self, v, field, lo=None, hi=None, *, lo_open=False, nan=False):
        """A finite real number in [lo, hi] (``(lo, hi]`` with ``lo_open``);
        NaN too with ``nan``."""
        if not is_real(v):
            self.fail(field, "a real number", v)
        x = float(v)
        if math.isnan(x) and nan:
            return x
        ok = math.isfinite(x)
        if ok and lo is not None:
            ok = x > lo if lo_open else x >= lo
        if ok and hi is not None:
            ok = x <= hi
        if not ok:
            if lo is None and hi is None:
                rng = ""
            elif hi is None:
                rng = f" {'>' if lo_open else '>='} {lo!r}"
            elif lo is None:
                rng = f" <= {hi!r}"
            else:
                rng = f" in {'(' if lo_open else '['}{lo!r}, {hi!r}]"
            self.fail(field, f"a finite number{rng}", v)
        return x

    def choice(self, v, field, choices):
        if not any(v is c or (type(v) is type(c) and v == c) for c in choices):
            opts = ", ".join(repr(c) for c in choices)
            self.fail(field, f"one of {opts}", v)
        return v

    def array(self, v, field, *, kind="f", length=None, shape=None, lo=None, hi=None,
              finite=True, dtype=np.float64):
        """A numeric array from a list (JSON) or an ndarray (pickle), checked
        element by element: ``kind`` "f" (reals) or "i" (integers), no bools,
        strings or None; ``length``/``shape``; every value finite and in [lo, hi]."""
        if isinstance(v, np.ndarray):
            k = v.dtype.kind
            if k not in ("iu" if kind == "i" else "iuf"):
                self.fail(field, "an array of " + ("integers" if kind == "i" else "numbers"), v)
            a = v
        elif isinstance(v, (list, tuple)):
            ok_t = _REAL_TYPES if kind == "f" else (int, np.integer)
            rows = [v]
            if shape is not None and len(shape) == 2:  # a list of rows
                if not all(isinstance(r, (list, tuple)) for r in v):
                    self.fail(field, "a list of lists of numbers", v)
                rows = v
            for r in rows:
                bad = [t for t in set(map(type, r))
                       if not issubclass(t, ok_t) or issubclass(t, _BOOL_TYPES)]
                if bad:
                    el = next(x for x in r if type(x) in bad)
                    self.fail(field, "a list of " + ("integers" if kind == "i" else "numbers"),
                              el)
            try:
                a = np.asarray(v)
            except (OverflowError, ValueError):
                self.fail(field, "a rectangular list of numbers", v)
            if a.dtype.kind == "O":  # Python ints beyond int64
                self.fail(field, "a list of numbers that fit in 64 bits", v)
        else:
            self.fail(field, "a list of numbers", v)
        if shape is None:
            shape = (length,)
        if a.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, a.shape)):
            if len(shape) == 1 and a.ndim == 1:
                raise ValueError(f"invalid {self.what} state: {field} must have length "
                                 f"{shape[0]}; found length {a.shape[0]}.")
            dims = ["n" if s is None else str(s) for s in shape]
            want = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
            raise ValueError(f"invalid {self.what} state: {field} must have shape {want}; "
                             f"found shape {a.shape}.")
        if kind == "i":
            if a.size and (lo is not None and a.min() < lo or hi is not None and a.max() > hi):
                i = int(np.flatnonzero(((a < lo) if lo is not None else False)
                                       | ((a > hi) if hi is not None else False))[0])
                self.fail(f"{field}[{i}]", f"an integer in {lo}..{hi}", a.reshape(-1)[i].item())
            return np.ascontiguousarray(a, dtype=np.intp)
        with np.errstate(over="ignore"):
            a = np.array(a, dtype=dtype)  # a copy: never aliased with the input
        bad = np.zeros(a.shape, bool)
        if finite:
            bad |= ~np.isfinite(a)
        if lo is not None:
            bad |= a < lo
        if hi is not None:
            bad |= a > hi
        if bad.any():
            i = np.unravel_index(int(np.flatnonzero(bad.reshape(-1))[0]), a.shape)
            idx = ", ".join(str(int(j)) for j in i)
            rng = ("" if lo is None and hi is None else
                   f" >= {lo!r}" if hi is None else f" <= {hi!r}" if lo is None else
                   f" in [{lo!r}, {hi!r}]")
            self.fail(f"{field}[{idx}]", f"{'a finite number' if finite else 'a number'}{rng}",
                      v[i] if isinstance(v, np.ndarray) else _index(v, i))
        return a


def _index(v, i):
    for j in i:
        v = v[j]
    return v

