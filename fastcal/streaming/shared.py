"""What the streaming accumulators share: the scale of the weights they hold
(sums and histograms keep weights times 2**-weight_exp, so no weight
overflows or underflows), the locks of two accumulators taken in a fixed
order, the decay and NLL settings and their descriptions, and the
compensated sums' infinite terms.
"""

import math
import operator

import numpy as np

from .._kernels.common import CHUNK
from .._kernels.streaming import auroc_hist as KAH
from ..core import validation as V


# Exponents of the histogram's weight scale (weights are held divided by
# 2**weight_exp): V.weight_exponent gives at most 1024 - W_EXP and at least
# -1074 + W_EXP - 1 for finite float64 weights.
_WEXP_BOUND = 1100


def batch_exponent(w):
    """``(e, neutral)``: the exponent of V.weight_exponent, and whether the
    batch holds no positive weight (all zero, empty, or invalid weights the
    kernel will report), in which case its scale must not change the state's."""
    if w is None:
        return 0, False
    if w.size == 0 or not float(np.max(w)) > 0.0:
        return 0, True
    return V.weight_exponent(w), False


def new_exponent(E, e, neutral, empty):
    """The state's weight exponent after a batch (or a merged state) of
    exponent ``e``: the batch's while the state is ``empty``, else the larger
    of the two; unchanged by a batch of no weight."""
    if neutral:
        return E
    return e if empty else max(E, e)


def scale_hist(hist, k):
    """Multiply the weights (columns 0-1) of a histogram by ``2**k`` in place
    (exact but for weights that fall below float64's range)."""
    if k:
        w = hist[:, :2]
        np.ldexp(w, k, out=w)

def _locked(*accs):
    """The locks of ``accs`` in a fixed order (no deadlock when two threads
    merge a into b and b into a)."""
    return sorted({id(a._lock): a._lock for a in accs}.items())


class _Both:
    """Context manager holding the locks of several accumulators."""

    __slots__ = ("_locks",)

    def __init__(self, *accs):
        self._locks = [lk for _, lk in _locked(*accs)]

    def __enter__(self):
        for lk in self._locks:
            lk.acquire()

    def __exit__(self, *exc):
        for lk in reversed(self._locks):
            lk.release()


# Decayed mode: weights grow as 2 ** (t / half_life); the state is rescaled by
# an exact power of two once the exponent passes this many half-lives, with the
# clock brought back to about 0, so that a long stream rescales its state (the
# AUROC histogram included) once every _RENORM_HALF_LIVES half-lives, not at
# every update.
_RENORM_HALF_LIVES = 256
# The smallest half_life: the newest sample's weight then stays within
# 2 ** +-(1 / half_life + 256) of 1 (float64 reaches 2 ** +-1022), so the
# state and the report's rescaling stay finite and non-zero.
MIN_HALF_LIFE = 1e-3
_NLL_MODES = ("logits", "float64", "float32", "float16", "bfloat16")
_AUROC_MODES = ("bounded", "exact")


# Batches from this many elements on use both cores: two chunks, one per core
# (streams typically arrive in batches of 2**16).
_PARALLEL_MIN = 2 * CHUNK
_AUROC_TEXT = {
    None: "not computed (auroc=None)",
    "exact": "exact Mann-Whitney, ties count 1/2 (every confidence kept)",
    "bounded": (f"histogram of {KAH.N_CELLS} confidence cells per outcome (bounded memory); "
                "ties within a cell count 1/2, auroc_bounds certify the exact value"),
}


def _nll_mode(from_logits, src):
    """The NLL mode of a batch: "logits" or the name of its probabilities'
    dtype (``src`` is a numpy dtype, or the name "float16"/"bfloat16" of a
    16-bit format numpy may not know: torch and ml_dtypes bfloat16)."""
    if from_logits:
        return "logits"
    return src if isinstance(src, str) else np.dtype(src).name


def _nll_eps(mode):
    """The clipping epsilon the update used for a batch of this NLL mode (the
    dtype's name; bfloat16 is known by name only)."""
    return V.eps_for(mode if mode == "bfloat16" else np.dtype(mode))


def _nll_text(modes):
    parts = []
    for m in sorted(modes):
        if m == "logits":
            parts.append("exact from logits (logsumexp - z_y), no clipping")
        else:
            parts.append(f"probabilities clipped to [eps, 1 - eps], eps = {_nll_eps(m)!r} "
                         f"({m} machine epsilon)")
    if len(parts) == 1:
        return parts[0]
    return "mixed batches: " + "; ".join(parts)


def _check_half_life(half_life):
    ok = (isinstance(half_life, (int, float, np.integer, np.floating))
          and not isinstance(half_life, (bool, np.bool_)))
    hl = float(half_life) if ok else math.nan
    if not (hl > 0 and math.isfinite(hl)):
        raise ValueError(
            f"half_life must be a positive number of samples or None; found {half_life!r}.")
    if hl < MIN_HALF_LIFE:
        raise ValueError(
            f"half_life must be at least {MIN_HALF_LIFE} samples (a finite number in "
            f"[{MIN_HALF_LIFE}, inf)); found {half_life!r}. A shorter half-life gives every "
            "sample but the newest a weight below 2**-1000, which float64 cannot hold next to it.")
    return hl




def _lo_where_infinite(hi, lo):
    """``lo`` with 0 where the sum ``hi`` is infinite (an infinite NLL term: a
    masked logit on the label's class), in place: TwoSum leaves ``inf - inf``
    (NaN) there, and the sum is ``hi`` itself."""
    bad = np.isinf(hi)
    if bad.any():
        lo[bad] = 0.0
    return lo


class IncompatibleMerge(TypeError, ValueError):
    """Two accumulators whose states cannot be added (one keeps bootstrap
    replicates, the other does not).  A ``TypeError``, and a ``ValueError``
    like the other incompatible merges."""


def read_only(attr, doc=None):
    """A read-only property that returns the instance's attribute ``attr``
    (a setting or a count the accumulator keeps)."""
    return property(operator.attrgetter(attr), doc=doc)


def check_layout(acc, layout, n_classes):
    """The error for a batch of another layout than ``acc``'s state holds
    (a fresh state takes any)."""
    if acc._layout is None:
        return
    if layout != acc._layout or n_classes != acc._n_classes:
        have = ("binary y_prob of shape (n,)" if acc._layout == "binary"
                else f"y_prob of shape (n, {acc._n_classes})")
        got = ("binary y_prob of shape (n,)" if layout == "binary"
               else f"y_prob of shape (n, {n_classes})")
        raise ValueError(
            f"this accumulator holds {have}; the batch has {got}. "
            "Use one accumulator per kind of input.")
