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
import warnings

import numpy as np

from ._kernels import _common as K

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

STRATEGIES = ("uniform", "quantile")
NORMS = ("l1", "l2", "max", "signed")


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for this input (for example AUROC with one class)."""


class NotFittedError(ValueError, AttributeError):
    """A calibrator was used before ``fit`` (same bases as scikit-learn's)."""


class InputError(ValueError):
    """Bad input: a ``ValueError`` that also says, as attributes, which argument
    and which row is at fault, so that a program can act on it (or word it
    in its own terms) without reading the message.

    Raised for invalid values (labels outside 0/1 or [0, C), probabilities
    outside [0, 1], rows not summing to 1, NaN/inf logits or scores,
    negative or NaN weights), mismatched lengths and wrong shapes of an
    argument, by every public function, calibrator and accumulator; and by
    the file readers of the command line and of ``lm_eval_report``,
    ``openai_report`` and ``helm_report``.  A subclass of ``ValueError``: an
    ``except ValueError`` catches it, and its message is the same text.

    Attributes
    ----------
    param : str or None
        The argument at fault, as the function's message names it:
        ``"y_true"``, ``"y_prob"``, ``"y_score"``, ``"logits"``,
        ``"sample_weight"``, ``"score_b"``, ``"ignore_index"``, ... For two
        arguments whose lengths differ, the one checked against the other's
        rows (``y_true`` against ``y_prob``; ``sample_weight``). None for
        the errors of the file readers: their message names the file, line,
        data row and column itself.
    index : int or None
        The first offending row, 0-based, in the order of the input's rows
        (the first in index order, however the work was split into chunks
        or threads); (..., C) input counts its rows as
        ``y_prob.reshape(-1, C)`` does. None when the error is not about
        one row (a length, a shape, a sum over every row).
    column : int or None
        For (n, C) input, the column (class) of the offending entry in row
        ``index``; None otherwise.
    value : object or None
        The offending value as a Python scalar (the label, probability,
        logit or weight; the row's sum for a row that does not sum to 1).
    hint : str or None
        The fix the message suggests: ``"logits"`` (pass
        ``from_logits=True``, or logits instead of probabilities),
        ``"ignore_index"`` (pass ``ignore_index=value``), ``"multiclass"``
        (pass probabilities of shape (n, C) for multiclass labels), or None.
    model : str or None
        :func:`fastcal.compare`: the model whose input is at fault.
    problem : str
        The message as a :meth:`str.format` template whose fields are the
        words another interface may phrase its own way: ``{y_true}``,
        ``{y_prob}``, ``{sample_weight}``, ``{ignore_index}`` (how the
        message names those arguments), ``{at}`` (where the value was
        found: ``" at index 7"``, ``" in row 7"``), ``{row}`` (the row as
        the subject of a sentence: ``"row 7"``), ``{fix}`` (the fix of
        ``hint``: ``"pass from_logits=True"``) and ``{model}``
        (``"model 'a': "``).
    terms : dict
        The library's wording of each field of ``problem``:
        ``str(exc) == exc.problem.format(**exc.terms)``.

    Examples
    --------
    >>> import fastcal
    >>> try:
    ...     fastcal.ece([0, 1, 1], [0.2, 1.5, 0.7])
    ... except fastcal.InputError as exc:
    ...     print(exc)
    ...     print(exc.param, exc.index, exc.value, exc.hint)
    ...     print(exc.reword(y_prob="the scores", at="", fix="use logits"))
    y_prob must hold probabilities in [0, 1]; found 1.5 at index 1. If these are logits, pass from_logits=True.
    y_prob 1 1.5 logits
    the scores must hold probabilities in [0, 1]; found 1.5. If these are logits, use logits.
    """

    def __init__(self, message=None, *, param=None, index=None, column=None, value=None,
                 hint=None, model=None, problem=None, terms=None):
        terms = {} if terms is None else dict(terms)
        if problem is None:  # a message with no fields: the template is its text
            problem = _literal(message)
        if message is None:
            message = problem.format(**terms)
        super().__init__(message)
        self.param, self.index, self.column, self.value = param, index, column, value
        self.hint, self.model, self.problem, self.terms = hint, model, problem, terms

    def reword(self, **terms):
        """The message with some of its ``terms`` worded otherwise (the others
        as the library words them), e.g. ``reword(y_prob="--probs 'p'")``."""
        return self.problem.format(**dict(self.terms, **terms))


# tracebacks (and pickles) name the class where users find it: fastcal.InputError
InputError.__module__ = "fastcal"


def _literal(text):
    """``text`` as a :meth:`str.format` template without fields."""
    return str(text).replace("{", "{{").replace("}", "}}")


def input_error(problem, terms=None, **attrs):
    """An :class:`InputError` from its ``problem`` template and ``terms``."""
    return InputError(problem=problem, terms=terms, **attrs)


def model_error(exc, model):
    """``exc`` (an :class:`InputError`) about the input of model ``model`` of a
    comparison: its message starts with ``model 'name': ``."""
    return InputError(problem="{model}" + exc.problem,
                      terms=dict(exc.terms, model=f"model {model!r}: "), param=exc.param,
                      index=exc.index, column=exc.column, value=exc.value, hint=exc.hint,
                      model=model)


def _scalar(v):
    """``v`` as a Python scalar (``v`` itself when it is none)."""
    try:
        return v.item()
    except Exception:
        return v


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


@functools.lru_cache(maxsize=2)
def half_table(fmt):
    """float32 value of each of the 65536 bit patterns of a 16-bit float format."""
    bits = np.arange(1 << 16, dtype=np.uint32)
    if fmt == "float16":
        t = bits.astype(np.uint16).view(np.float16).astype(np.float32)
    else:  # bfloat16: the top half of a float32
        t = (bits << 16).view(np.float32)
    t.flags.writeable = False
    return t


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


_WEIGHT = {"sample_weight": "sample_weight"}


def weight_sum_error(kept=False):
    """The error for weights that sum to zero (over the rows kept, with
    ``kept``: those without the ignored label)."""
    if kept:
        return input_error("{sample_weight} sums to zero over the rows kept (those without the "
                           "ignored label); at least one of them needs a positive weight.",
                           _WEIGHT, param="sample_weight")
    return input_error("{sample_weight} sums to zero; at least one sample needs a positive "
                       "weight.", _WEIGHT, param="sample_weight")


def all_ignored_error():
    """The error for input whose every row has the ``ignore_index`` label."""
    return input_error("no row is left to score: every row has the ignored label "
                       "({ignore_index}).", {"ignore_index": "ignore_index"}, param="y_true",
                       hint="ignore_index")


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
    e = np.linspace(0.0, 1.0, n_bins + 1).reshape(1, -1)
    e.flags.writeable = False
    return e


def keys(P, src=None):
    """Integer view of (n, C) float input, the (shift, mask) that make its order
    the float order, and the key of 1.0 (see ``_kernels._binned``); ``src``
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


def _fmt(v):
    try:
        return repr(v.item())
    except Exception:
        return repr(v)


def _f(v):
    """:func:`_fmt` for a template (see :class:`InputError`)."""
    return _literal(_fmt(v))


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


class _DecodedRows:
    """Rows of 16-bit float input (uint16 bits) decoded for error messages."""

    def __init__(self, bits, fmt):
        self._bits, self._tab = bits, half_table(fmt)
        self.ndim, self.shape = bits.ndim, bits.shape

    def __getitem__(self, i):
        return self._tab[self._bits[i]]


def raise_for_status(code, index, y_true, y_prob, sample_weight=None, prob_name="y_prob",
                     ignore_index=None, src=None):
    """Raise the :class:`InputError` for a kernel status; no-op for OK. ``src``
    names the format of 16-bit input passed as its bits."""
    if code == K.OK:
        return
    exc = status_error(code, index, y_true, y_prob, sample_weight, prob_name, ignore_index, src)
    raise exc


def status_error(code, index, y_true, y_prob, sample_weight=None, prob_name="y_prob",
                 ignore_index=None, src=None):
    """The :class:`InputError` of a kernel status (see :func:`raise_for_status`)."""
    i = int(index)
    if y_prob.dtype == np.uint16 and src in _ONE_BITS:
        y_prob = _DecodedRows(y_prob, src)
    terms = {"y_true": "y_true", "y_prob": prob_name, "at": f" at index {i}", "row": f"row {i}"}
    at = {"param": prob_name, "index": i}
    logits = {"hint": "logits", "fix": "pass from_logits=True"}
    if code == K.BAD_BINARY_LABEL:
        terms["fix"] = f"pass {prob_name} of shape (n, C)"
        return input_error(
            f"{{y_true}} must be 0/1 (or bool) for a 1-D {{y_prob}}; found {_f(y_true[i])}{{at}}. "
            "For multiclass labels {fix}.", terms, param="y_true", index=i,
            value=_scalar(y_true[i]), hint="multiclass")
    if code == K.BAD_CLASS_LABEL:
        C = y_prob.shape[1]
        hint = ""
        lab = y_true[i]
        kind = None
        if ignore_index is None and lab < 0 and float(lab).is_integer():
            # the integer, also for float labels (-1.0): what ignore_index takes
            hint = f" If {_f(lab)} marks padding, {{fix}}."
            terms["fix"] = f"pass ignore_index={int(lab)}"
            kind = "ignore_index"
        return input_error(
            f"{{y_true}} must hold integer class labels in [0, {C}) to match {{y_prob}} of shape "
            f"(n, {C}); found {_f(lab)}{{at}}.{hint}", terms, param="y_true", index=i,
            value=_scalar(lab), hint=kind)
    if code == K.BAD_PROB:
        row = y_prob[i]
        column = None
        if y_prob.ndim == 2:
            bad = np.flatnonzero(~((row >= 0) & (row <= 1)))
            column = int(bad[0]) if bad.size else None
            v = row[column] if bad.size else row
            terms["at"] = f" in row {i}"
        else:
            v = row
        terms["fix"] = logits["fix"]
        return input_error(
            f"{{y_prob}} must hold probabilities in [0, 1]; found {_f(v)}{{at}}. "
            "If these are logits, {fix}.", terms, column=column, value=_scalar(v),
            hint="logits", **at)
    if code == K.BAD_ROW_SUM:
        s = float(np.sum(y_prob[i], dtype=np.float64))
        terms["fix"] = logits["fix"]
        return input_error(
            f"each row of {{y_prob}} must sum to 1; {{row}} sums to {s:.9g}. "
            "If these are logits, {fix}; otherwise normalise the rows.", terms, value=s,
            hint="logits", **at)
    if code == K.BAD_WEIGHT:
        terms["sample_weight"] = "sample_weight"
        return input_error(
            f"{{sample_weight}} must be finite and non-negative; found "
            f"{_f(sample_weight[i])}{{at}}.", terms, param="sample_weight", index=i,
            value=_scalar(sample_weight[i]))
    if code == K.BAD_LOGIT:
        row = y_prob[i]
        if "logit" not in prob_name:
            terms["y_prob"] = f"{prob_name} (logits)"
        if y_prob.ndim == 2:
            r64 = np.asarray(row, dtype=np.float64)
            bad = np.flatnonzero(np.isnan(r64) | (r64 == np.inf))
            if bad.size == 0:
                return input_error(
                    "{y_prob}: {row} has no finite value (every entry is -inf); -inf marks a "
                    "masked class, and each row needs one that is not.", terms, **at)
            v = row[bad[0]]
            terms["at"] = f" in row {i}"
            return input_error(
                f"{{y_prob}} must be finite or -inf (a masked class); found {_f(v)}{{at}}.",
                terms, column=int(bad[0]), value=_scalar(v), **at)
        return input_error(f"{{y_prob}} must be finite; found {_f(row)}{{at}}.", terms,
                           value=_scalar(row), **at)
    if code == K.BAD_SCORE:
        return input_error(f"{{y_prob}} must be finite; found {_f(y_prob[i])}{{at}}.", terms,
                           value=_scalar(y_prob[i]), **at)
    raise RuntimeError(f"internal error: unknown kernel status {code}")  # pragma: no cover


def warn_undefined(msg):
    warnings.warn(msg, UndefinedMetricWarning, stacklevel=3)
