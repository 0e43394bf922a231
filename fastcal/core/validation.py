"""Turn user input into what kernels take, and raise the errors.

This is the only module that knows what users may pass in.  Kernels report
the first invalid element as ``(code, index)``; :func:`raise_for_status`
turns that into a message naming the argument, the expectation, what was
found and the likely fix.
"""

import functools
import math
import numbers
import operator

import numpy as np

from .errors import _WEIGHT, _literal, input_error

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

STRATEGIES = ("uniform", "quantile")
NORMS = ("l1", "l2", "max", "signed")


def _to_numpy(x, name):
    """Any array-like (list, pandas, torch CPU tensor, DLPack) to an ndarray, no copy when possible."""
    if isinstance(x, np.ndarray):
        return x
    if x is None:
        raise TypeError(f"{name} is required; got None.")
    if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach"):
        # metrics never need gradients: a tensor that requires grad is read
        # detached, whatever its dtype (as the 16-bit path below does)
        x = x.detach()
        if x.device.type != "cpu":
            raise TypeError(f"{name}: tensors must be on the CPU; found device {x.device}.")
        h = _half_bits(x)
        if h is not None and h[1] == "bfloat16":  # numpy has no bfloat16: its float32 values
            return half_table("bfloat16")[h[0]]
    if not hasattr(x, "__array__") and hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except Exception as exc:  # pragma: no cover - depends on the producer
            raise TypeError(f"{name}: could not read the DLPack array ({exc}); pass a CPU array.") from None
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{name} must be array-like; could not convert {type(x).__name__}: {exc}") from None
    return arr


def _native(arr):
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


# 16-bit float formats read through a table (numba has no float16/bfloat16):
# the uint16 bit pattern of a 1.0 in each.
_ONE_BITS = {"float16": 0x3C00, "bfloat16": 0x3F80}


def frozen(a):
    """``a`` made read-only, and returned: the arrays cached and shared
    between calls, and every array of bin edges the kernels take (Numba
    types read-only arrays apart: one array type, one specialisation)."""
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=2)
def half_table(fmt):
    """float32 value of each of the 65536 bit patterns of a 16-bit float format."""
    bits = np.arange(1 << 16, dtype=np.uint32)
    if fmt == "float16":
        t = bits.astype(np.uint16).view(np.float16).astype(np.float32)
    else:  # bfloat16: the top half of a float32
        t = (bits << 16).view(np.float32)
    return frozen(t)


def _half_bits(x):
    """``(uint16 view, format)`` of 16-bit float input, or None: numpy float16,
    ml_dtypes bfloat16, torch float16/bfloat16 CPU tensors. No copy."""
    if isinstance(x, np.ndarray):
        dt = x.dtype
        if dt.itemsize == 2 and dt.name in _ONE_BITS:
            if not dt.isnative:
                x = x.byteswap().view(dt.newbyteorder("="))
            return x.view(np.uint16), dt.name
        return None
    if type(x).__module__.split(".")[0] == "torch":
        name = str(getattr(x, "dtype", ""))[len("torch."):]
        if name in _ONE_BITS:
            import torch

            t = x.detach()
            if t.device.type != "cpu":
                raise TypeError(f"tensors must be on the CPU; found device {t.device}.")
            return t.view(torch.int16).numpy().view(np.uint16), name
    return None


def as_prob(x, name, ndims=(1, 2), half=False):
    """Float array for a probability/logit/score argument, and the dtype that
    sets its clipping epsilon and row-sum tolerance.

    float32/float64 are kept as they are; integers and bools become float64.
    16-bit floats (float16; bfloat16 from ml_dtypes or torch): with ``half``
    and two or more dimensions, the uint16 bits are returned as they are
    (kernels read them through :func:`half_table`; no upcast copy) and the
    source "dtype" is ``"float16"`` or ``"bfloat16"``; otherwise they are
    converted to float32 (the epsilon stays the 16-bit format's, as in
    scikit-learn).
    """
    h = _half_bits(x)
    if h is not None:
        bits, fmt = h
        if half and bits.ndim >= 2:
            return bits, fmt
        x = half_table(fmt)[bits]
        if ndims is not None and x.ndim not in ndims:
            raise _ndim_error(name, ndims, x.shape)
        return x, (np.dtype(np.float16) if fmt == "float16" else fmt)
    arr = _native(_to_numpy(x, name))
    dt = arr.dtype
    src = dt if dt.kind == "f" and dt.itemsize <= 8 else np.dtype(np.float64)
    if dt not in _FLOATS:
        if dt == np.float16:
            arr = arr.astype(np.float32)
        elif dt.kind in "biu":
            arr = arr.astype(np.float64)
        elif dt.kind == "f":  # longdouble
            arr = arr.astype(np.float64)
        else:
            raise TypeError(f"{name} must hold real numbers; found dtype {dt}.")
    if ndims is not None and arr.ndim not in ndims:
        raise _ndim_error(name, ndims, arr.shape)
    return arr, src


def _ndim_error(name, ndims, shape):
    want = " or ".join(f"{d}-D" for d in ndims)
    return input_error(f"{{y_prob}} must be {want}; found an array of shape {_literal(shape)}.",
                       {"y_prob": name}, param=name)


# The label dtypes the kernels compile for: int64, uint8 (bool is viewed as
# uint8), uint64 (whose large values int64 cannot hold) and float64. Other
# integer and float labels are converted, exactly: a conversion pass is cheaper
# than a specialisation of every kernel per dtype (docs/performance.md, "Cold
# start").
_LABEL_AS = {np.dtype(t): np.dtype(np.int64)
             for t in (np.int8, np.int16, np.int32, np.uint16, np.uint32)}
_LABEL_AS.update({np.dtype(np.float16): np.dtype(np.float64),
                  np.dtype(np.float32): np.dtype(np.float64)})


def kernel_labels(arr):
    """A native 1-D label array in a dtype the kernels compile for (see
    ``_LABEL_AS``); other dtypes (not labels) are returned as they are."""
    dt = arr.dtype
    if dt.kind == "b":
        return arr.view(np.uint8)
    to = _LABEL_AS.get(dt)
    return arr if to is None else arr.astype(to)


def as_labels(x, name="y_true"):
    """Label array for kernels (see :func:`kernel_labels`)."""
    arr = _native(_to_numpy(x, name))
    dt = arr.dtype
    if dt.kind not in "biuf":
        raise TypeError(
            f"{name} must hold integer class labels (or bool / 0-1 floats); found dtype {dt}."
        )
    if arr.ndim != 1:
        raise input_error(f"{{y_true}} must be 1-D; found an array of shape {_literal(arr.shape)}.",
                          {"y_true": name}, param=name)
    return kernel_labels(arr)


def class_labels(y, C):
    """Class labels of (n, C) input as int64 when they are all valid (integers
    in [0, C)), so the multiclass kernels compile for one label type whatever
    the caller's dtype (the copy is small next to the (n, C) input). Other
    labels (padding marked by ``ignore_index``, invalid ones) are returned as
    they are: the kernel skips or reports them, with their value as given."""
    if y.dtype == np.int64 or y.shape[0] == 0:
        return y
    with np.errstate(invalid="ignore"):
        if not (y.min() >= 0 and y.max() < C):  # NaN compares False
            return y
        z = y.astype(np.int64)
    return z if y.dtype.kind in "iu" or np.array_equal(z, y) else y


class _Alias:
    """Holds an array interface, and the array it describes alive."""

    __slots__ = ("__array_interface__", "_base")


def for_kernels(a):
    """``a`` as the kernels' one array type: C-contiguous (a copy when it is
    not: Fortran-ordered or strided input) and writeable. A read-only array
    (pandas 3's ``to_numpy()``, a read-only memmap) is aliased by a writeable
    view of the same memory, no copy: Numba compiles a separate
    specialisation for read-only arrays, and no kernel writes to its inputs."""
    f = a.flags
    if not f.c_contiguous:
        return np.ascontiguousarray(a)
    if f.writeable:
        return a
    w = _Alias()
    ai = dict(a.__array_interface__)
    ai["data"] = (ai["data"][0], False)  # (pointer, read-only flag)
    w.__array_interface__ = ai
    w._base = a
    return np.asarray(w)


def as_weight(x, n):
    """float64 weights, or None when not given."""
    if x is None:
        return None
    arr = _native(_to_numpy(x, "sample_weight"))
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold non-negative numbers; found dtype {arr.dtype}.")
    if arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise input_error(f"{{sample_weight}} must be 1-D; found an array of shape "
                          f"{_literal(arr.shape)}.", _WEIGHT, param="sample_weight")
    if arr.shape[0] != n:
        raise input_error(
            f"{{sample_weight}} must have one entry per sample: found {arr.shape[0]} weights for "
            f"{n} samples.", _WEIGHT, param="sample_weight")
    return arr


# Weight scale.  Every result is a ratio of weight sums (or, for DeLong and
# the debiased L2 error, uses the weights as frequency weights), so it must
# not depend on the weights' absolute scale; but sums and products of weights
# leave the float64 range long before the weights do ([1e308] * 4 sums to
# inf, a product of two 1e-170 is 0).  Weights whose largest entry lies in
# [2**-W_EXP, 2**W_EXP] are used as given (bitwise: unit and integer weights
# are never touched); others are multiplied by the power of two that brings
# the largest entry just inside the nearest end of that range.  Multiplying by
# a power of two is exact, and at either end of the range "W - 1" behaves as
# it does at the true scale (W >> 1, or W << 1), so frequency-weight formulas
# keep their meaning; a weight sum reported back is multiplied back with
# :func:`unscale`.  With 2**64 the products and cubes of sums of up to 2**50
# weights stay far inside float64.
W_EXP = 64


def weight_exponent(w):
    """The exponent ``e`` such that ``w * 2**-e`` has its largest entry in
    [2**-W_EXP, 2**W_EXP], or 0 when ``w`` (float64) needs no scaling, is
    empty, or holds invalid weights (NaN, inf, negative: left for the
    kernels to report with their true values)."""
    if w is None or w.size == 0:
        return 0
    m = float(np.max(w))
    if not 0.0 < m < np.inf:  # NaN, inf, all <= 0
        return 0
    exp = math.frexp(m)[1]  # 2**(exp - 1) <= m < 2**exp
    if exp > W_EXP:
        e = exp - W_EXP
    elif exp <= -W_EXP:
        e = exp + W_EXP - 1
    else:
        return 0
    if (w < 0).any():
        return 0
    return e


def scale(w, e):
    """``w * 2**-e`` (exact; ``w`` itself when ``e == 0``)."""
    return w if not e else np.ldexp(w, -e)


def unscale(x, e):
    """``x * 2**e`` for a weight sum (array or scalar) computed from scaled weights;
    inf when the true sum exceeds the float64 range."""
    if not e:
        return x
    with np.errstate(over="ignore"):
        r = np.ldexp(x, e)
    return float(r) if np.ndim(r) == 0 else r


def scaled_weight(x):
    """``(w, e)``: ``sample_weight`` as float64, divided by ``2**e`` (see
    :data:`W_EXP`).  Input that is not a 1-D real array comes back unchanged
    with ``e = 0``: :func:`as_weight` raises the error when it is used."""
    if x is None:
        return None, 0
    try:
        arr = _native(_to_numpy(x, "sample_weight"))
    except TypeError:
        return x, 0
    if arr.ndim != 1 or arr.dtype.kind not in "biuf":
        return x, 0
    if arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    e = weight_exponent(arr)
    return scale(arr, e), e


def check_lengths(y_true, y_prob, prob_name="y_prob"):
    n = y_prob.shape[0]
    terms = {"y_true": "y_true", "y_prob": prob_name}
    if y_true.shape[0] != n:
        raise input_error(
            f"{{y_true}} and {{y_prob}} must have the same length: found {y_true.shape[0]} labels "
            f"and {n} rows in {{y_prob}}.", terms, param="y_true")
    if n == 0:
        raise input_error("{y_true} and {y_prob} are empty; at least one sample is required.",
                          terms, param="y_true")
    if y_prob.ndim == 2 and y_prob.shape[1] < 2:
        raise input_error(
            f"{{y_prob}} of shape (n, C) needs C >= 2 classes; found shape "
            f"{_literal(y_prob.shape)}. For a binary problem pass the probability of class 1 as "
            "a 1-D array.", terms, param=prob_name)
    return n


def check_n_bins(n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral):
        raise TypeError(f"n_bins must be a positive integer; found {n_bins!r} ({type(n_bins).__name__}).")
    n_bins = operator.index(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; found {n_bins}.")
    if n_bins > 1_000_000:
        raise ValueError(f"n_bins must be at most 1000000; found {n_bins}.")
    return n_bins


def check_choice(value, name, choices):
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {opts}; found {value!r}.")
    return value


@functools.lru_cache(maxsize=64)
def uniform_edges(n_bins):
    """``np.linspace(0, 1, n_bins + 1)`` as a read-only (1, n_bins + 1) array."""
    return frozen(np.linspace(0.0, 1.0, n_bins + 1).reshape(1, -1))


def keys(P, src=None):
    """Integer view of (n, C) float input, the (shift, mask) that make its order
    the float order, and the key of 1.0 (see ``_kernels/metrics/binned.py``); ``src``
    names the format of 16-bit input."""
    if P.dtype == np.float64:
        return P.view(np.int64), 63, 0x7FFFFFFFFFFFFFFF, 0x3FF0000000000000
    if P.dtype == np.uint16:
        return P.view(np.int16), 15, 0x7FFF, _ONE_BITS[src]
    return P.view(np.int32), 31, 0x7FFFFFFF, 0x3F800000


def table_for(P, src):
    """The kernels' ``tab`` argument: the 16-bit table, or None for float32/64."""
    return half_table(src) if P.dtype == np.uint16 else None


def on(flag):
    """Kernel switch: True (on) or None (off)."""
    return True if flag else None


def eps_for(dtype):
    """Clipping epsilon for NLL from probabilities: the input dtype's machine epsilon (= scikit-learn)."""
    if isinstance(dtype, str):
        return 2.0 ** -7 if dtype == "bfloat16" else 2.0 ** -10
    return float(np.finfo(dtype).eps)


def row_sum_tol(dtype, n_classes):
    """Tolerance on |sum_k p_k - 1|: loose enough for float32 softmax output, tight enough to catch scores."""
    return max(1e-4, 4.0 * n_classes * eps_for(dtype))


class Prepared:
    """Validated input as the kernels take it: the one object validation
    hands the pipeline (docs/design.md, section 9).

    ``y``: labels (int64, uint8, uint64 or float64); ``p``: (n,) or (n, C)
    probabilities or logits, C-contiguous, 16-bit floats as their uint16 bits;
    ``w``: weights, or None for unweighted (the one convention); ``n``: rows;
    ``src``: the dtype the caller passed (it sets the NLL clipping epsilon and
    the 16-bit decoding table).  The multiclass kernels' extras (the integer
    keys, the 16-bit table, the row-sum tolerance) are derived on first use.
    """

    __slots__ = ("y", "p", "w", "n", "src", "_keys")

    def __init__(self, y, p, w, n, src):
        self.y, self.p, self.w, self.n, self.src = y, p, w, n, src
        self._keys = None

    @property
    def binary(self):
        return self.p.ndim == 1

    @property
    def n_classes(self):
        return 2 if self.p.ndim == 1 else self.p.shape[1]

    @property
    def eps(self):
        return eps_for(self.src)

    @property
    def keys(self):
        """``(K, shift, mask, one)`` of :func:`keys` for (n, C) input."""
        if self._keys is None:
            self._keys = keys(self.p, self.src)
        return self._keys

    @property
    def tab(self):
        return table_for(self.p, self.src)

    @property
    def tol(self):
        return row_sum_tol(self.src, self.n_classes)


def prepare(y_true, y_prob, sample_weight, prob_name="y_prob", tokens=False):
    """The validated input of one call, as a :class:`Prepared`.

    With ``tokens``: ``y_prob`` may be (..., C) with ``y_true`` of shape (...)
    (flattened to (N, C) and (N,), without a copy when the layout allows),
    and 16-bit float input stays as its uint16 bits (see ``as_prob``).
    """
    if not tokens:
        y_prob, src = as_prob(y_prob, prob_name)
        y_true = as_labels(y_true)
    else:
        y_prob, src = as_prob(y_prob, prob_name, ndims=None, half=True)
        if y_prob.ndim == 0:
            raise input_error("{y_prob} must be 1-D, 2-D or (..., C); found a scalar.",
                                {"y_prob": prob_name}, param=prob_name)
        if y_prob.ndim > 2:
            lead = y_prob.shape[:-1]
            yt = _native(_to_numpy(y_true, "y_true"))
            if yt.shape != lead:
                raise input_error(
                    f"{{y_true}} of shape {yt.shape} does not match {{y_prob}} of shape "
                    f"{y_prob.shape}: for (..., C) input {{y_true}} must have shape {lead}.",
                    {"y_true": "y_true", "y_prob": prob_name}, param="y_true")
            y_prob = y_prob.reshape(-1, y_prob.shape[-1])
            y_true = yt.reshape(-1)
        y_true = as_labels(y_true)
    n = check_lengths(y_true, y_prob, prob_name)
    if y_prob.ndim == 2:
        y_true = class_labels(y_true, y_prob.shape[1])
    w = as_weight(sample_weight, n)
    # one array type per dtype for the kernels (C-contiguous, writeable):
    # fewer specialisations to compile (docs/performance.md, "Cold start")
    y_true, y_prob = for_kernels(y_true), for_kernels(y_prob)
    if w is not None:
        w = for_kernels(w)
    return Prepared(y_true, y_prob, w, n, src)


def check_ignore_index(ignore_index, y_prob):
    """The label of rows to skip (padding), as a Python int; multiclass input
    only.  A float that is an exact integer (-100.0, as float labels hold it)
    is that integer."""
    if (isinstance(ignore_index, numbers.Real) and not isinstance(ignore_index, numbers.Integral)
            and math.isfinite(ignore_index) and float(ignore_index).is_integer()):
        ignore_index = int(ignore_index)
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"ignore_index must be an integer label (e.g. -100) or None; "
                        f"found {ignore_index!r}.")
    if y_prob.ndim < 2:
        raise input_error("{ignore_index} applies to multiclass input of shape (n, C) or "
                          "(..., C); for a 1-D {y_prob} drop the ignored rows instead.",
                          {"ignore_index": "ignore_index", "y_prob": "y_prob"},
                          param="ignore_index")
    return int(ignore_index)


