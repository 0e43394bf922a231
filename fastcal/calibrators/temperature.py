"""Temperature scaling (Guo et al. 2017): one scalar T > 0 dividing the logits,
fitted by minimising the (weighted) mean negative log-likelihood.

The objective is convex in ``beta = 1 / T``; it is minimised by a safeguarded
Newton method in beta on a fused kernel that returns the NLL and its first
two derivatives in one pass over the logits (``_kernels/calibrators/temperature.py``).
"""

import math

import numpy as np

from ..core import validation as V
from ..core import errors as E
from ..core.pipeline import run
from .._kernels.calibrators import temperature as KT
from .._kernels.calibrators import temperature_ece as KTE
from ..core.state_check import REQUIRED
from .base import Calibrator

# Temperatures are kept in [T_MIN, T_MAX].  Separable data (every prediction
# right, the NLL decreasing for ever as T -> 0) ends at T_MIN; data whose
# NLL decreases for ever as T grows (logits anti-correlated with the labels,
# or carrying no information) ends at T_MAX.  ``at_bound_`` says so.
T_MIN = 1e-3
T_MAX = 1e3
_BETA_LO = 1.0 / T_MAX
_BETA_HI = 1.0 / T_MIN

# The fit stops when the Newton step is below this fraction of beta; the
# last (third-order) step is then taken without another pass: with cubic
# convergence the remaining relative error in beta is of order STEP_RTOL**3
# (about 1e-18; the NLL error is its square).
STEP_RTOL = 1e-6
MAX_ITER = 100
# Large inputs first fit on every stride-th row (about SUB_ELEMS elements) to
# a loose tolerance; the full-data Newton iterations then start close.
SUB_ELEMS = 1 << 19
SUB_RTOL = 1e-3

# objective="ece": the ECE of equal-width bins, discontinuous and not convex
# in T, is minimised by a scan of ECE_GRID log-spaced temperatures over
# [T_MIN, T_MAX] (T = 1 among them), then zoomed scans of ECE_ZOOM points
# around the best point so far, down to a spacing of ECE_XTOL in log T
# (see _ece_search).  The best ECE evaluated is the result.
ECE_GRID = 25
ECE_ZOOM = 9
ECE_XTOL = 1e-4

OBJECTIVES = ("nll", "ece")

_LOGITS = {"y_prob": "logits"}


def _as_logits(logits, name="logits", from_probs=False):
    z, _ = V.as_prob(logits, name)
    if from_probs:
        p = np.asarray(z, dtype=np.float64)
        ok = (p >= 0) & (p <= 1)
        if not np.all(ok):
            raise E.input_error("{y_prob} must hold probabilities in [0, 1] with from_probs=True; "
                                "found values outside it. Pass logits with from_probs=False.",
                                {"y_prob": name}, **_first(~ok, p, name))
        if z.ndim == 1:
            with np.errstate(divide="ignore"):
                z = np.log(p) - np.log1p(-p)  # logit of the probability of class 1
        else:
            with np.errstate(divide="ignore"):
                z = np.log(p)
        fin = np.isfinite(z)
        if not np.all(fin):
            raise E.input_error(
                "{y_prob} holds probabilities of exactly 0 (or 1 for a 1-D input), whose log is "
                "infinite; clip them first (for example np.clip(p, 1e-12, 1)) or {fix}.",
                {"y_prob": name, "fix": "pass logits"}, hint="logits", **_first(~fin, p, name))
    if z.ndim == 2 and z.shape[1] < 2:
        raise E.input_error(f"{{y_prob}} of shape (n, C) needs C >= 2 classes; found shape "
                            f"{z.shape}. For a binary problem pass the logit of class 1 as a "
                            "1-D array.", {"y_prob": name}, param=name)
    return z


def _first(bad, values, name):
    """``InputError`` attributes of the first True entry of ``bad`` (a mask
    over the rows (n,) or entries (n, C) of ``values``)."""
    k = int(np.flatnonzero(bad)[0])
    if bad.ndim == 1:
        return {"param": name, "index": k, "value": E._scalar(values[k])}
    i, j = divmod(k, bad.shape[1])
    return {"param": name, "index": i, "column": j, "value": E._scalar(values[i, j])}


class TemperatureScaling(Calibrator):
    """Divide logits by one fitted temperature ``T > 0``.

    ``fit(logits, y_true, *, sample_weight=None, from_probs=False)`` minimises
    the weighted mean NLL of ``softmax(logits / T)`` (binary (n,) logits:
    ``sigmoid(logits / T)``, ``y_true`` 0/1) over ``T`` in
    ``[T_MIN, T_MAX] = [1e-3, 1e3]``.  ``from_probs=True`` takes probabilities
    instead and fits on their explicit ``log`` (binary: ``log(p / (1 - p))``);
    it is never guessed from the values.

    Fitted attributes: ``temperature_``, ``n_classes_`` (2 for binary logits),
    ``binary_``, ``converged_``, ``n_iter_`` (full-data Newton iterations),
    ``nll_before_`` (at T = 1), ``nll_after_`` (at ``temperature_``),
    ``at_bound_`` (None, ``"T_MIN"`` or ``"T_MAX"`` when the optimum is capped).

    ``predict_proba(logits)`` returns float64 ``softmax(logits / T)`` of shape
    (n, C), or ``sigmoid(logits / T)`` of shape (n,) for binary logits.

    ``objective="ece"`` minimises instead the ECE with ``n_bins`` equal-width
    right-closed bins (``fastcal.ece(y_true, predict_proba(logits),
    n_bins=n_bins)``, top-label for (n, C) logits, of class 1 for binary
    logits), evaluated by a compiled pass that never materialises the
    probabilities.  The ECE is piecewise constant and not convex in T: the
    search scans ECE_GRID = 25 log-spaced temperatures over [T_MIN, T_MAX]
    (T = 1 among them), then zooms in on the best one with scans of 9
    points, each level 4 times finer, down to a spacing of 1e-4 in log T:
    81 passes over the logits (about 40 times the cost of the NLL fit).  It is a
    local search: the result is never worse than T = 1 or any grid point and
    is a local minimum of the basin the grid points to, not a certified
    global minimum.  ``n_iter_`` counts the ECE evaluations; ``ece_before_``
    (at T = 1) and ``ece_after_`` are set (None for ``objective="nll"``);
    ``nll_before_``/``nll_after_`` are still reported.
    """

    _FORMAT = "fastcal.TemperatureScaling"
    _VERSION = 2
    _FITTED = "temperature_"
    _FIT_CALL = "fit(logits, y_true)"
    _PARAMS = ("objective", "n_bins")

    def __init__(self, *, objective="nll", n_bins=15):
        self.objective = objective
        self.n_bins = n_bins

    def _check_params(self):
        V.check_choice(self.objective, "objective", OBJECTIVES)
        return V.check_n_bins(self.n_bins)

    # -- fitting -----------------------------------------------------------
    def fit(self, logits, y_true, *, sample_weight=None, from_probs=False):
        n_bins = self._check_params()
        z = _as_logits(logits, "logits", from_probs)
        y = V.as_labels(y_true)
        n = V.check_lengths(y, z, "logits")
        w = V.as_weight(sample_weight, n)
        w = V.scale(w, V.weight_exponent(w))  # weighted means: the scale cancels
        binary = z.ndim == 1
        C = 1 if binary else z.shape[1]
        ser = KT.nll_derivs  # (n,) or (n, C) logits
        work = n * C

        def ev(beta, stride, check=False, before=False):
            R = KT.chunk_rows(n, C, stride)
            return run(ser, work // stride, z, y, w, float(beta), stride, R, check, before)

        if self.objective == "ece":
            return self._fit_ece(z, y, w, binary, C, n_bins, ev)

        # Phase 1 (large inputs): fit on every stride-th row to a loose
        # tolerance, only to choose the starting point of phase 2.
        beta0 = 1.0
        stride = 1
        while work // stride > 2 * SUB_ELEMS and n // stride > 4096:
            stride *= 2
        if stride > 1:
            def sub(beta):
                r = ev(beta, stride)
                if not r[0] > 0:
                    return math.nan, math.nan, math.nan, math.nan
                return r[1] / r[0], r[2] / r[0], r[3] / r[0], r[4] / r[0]
            b, _, _, _, bound, ok = _newton(sub, 1.0, None, SUB_RTOL)
            if ok and bound is None and math.isfinite(b):
                beta0 = b

        # Phase 2: full data.  The first pass also validates the input and
        # computes the NLL at T = 1.
        r = _validated(ev(beta0, 1, True, True), z, y, w, binary)
        W = r[0]
        nll_before = r[5] / W
        first = (r[1] / W, r[2] / W, r[3] / W, r[4] / W)

        def full(beta):
            q = ev(beta, 1)
            return q[1] / q[0], q[2] / q[0], q[3] / q[0], q[4] / q[0]

        beta, f, it, conv, bound, _ = _newton(full, beta0, first, STEP_RTOL)
        self._store(1.0 / beta, binary, C, conv, it, nll_before, f, bound, None, None)
        return self

    def _store(self, T, binary, C, conv, it, nll_before, nll_after, bound, ece_before, ece_after):
        self.temperature_ = float(T)
        self.binary_ = binary
        self.n_classes_ = 2 if binary else C
        self.converged_ = bool(conv)
        self.n_iter_ = int(it)
        self.nll_before_ = float(nll_before)
        self.nll_after_ = float(nll_after)
        self.at_bound_ = bound
        self.ece_before_ = None if ece_before is None else float(ece_before)
        self.ece_after_ = None if ece_after is None else float(ece_after)

    def _fit_ece(self, z, y, w, binary, C, n_bins, ev):
        """objective="ece": grid over log T, then golden section (see ECE_GRID)."""
        r = _validated(ev(1.0, 1, True, True), z, y, w, binary)
        nll_before = r[5] / r[0]
        n = z.shape[0]
        R = KT.chunk_rows(n, C, 1)
        edges = V.uniform_edges(n_bins)[0]

        def ece(log_t):
            return KTE.ece_of_bins(run(KTE.ece_bins, n * C, z, y, w, math.exp(-log_t), R, edges))

        log_t, e, evals, e1 = _ece_search(ece)
        T = math.exp(log_t)
        bound = "T_MIN" if T <= T_MIN * (1 + 1e-12) else ("T_MAX" if T >= T_MAX * (1 - 1e-12) else None)
        q = ev(1.0 / T, 1)
        self._store(T, binary, C, True, evals, nll_before, q[1] / q[0], bound, e1, e)
        return self

    # -- prediction --------------------------------------------------------
    def predict_proba(self, logits, *, from_probs=False):
        self._check_fitted()
        z = _as_logits(logits, "logits", from_probs)
        if z.shape[0] == 0:
            raise E.input_error("{y_prob} is empty; at least one sample is required.",
                                _LOGITS, param="logits")
        binary = z.ndim == 1
        msg = self._check_shape(binary, None if binary else z.shape[1], z.shape, "logits")
        if msg is not None:
            raise E.input_error(msg, _LOGITS, param="logits")
        # (n, C) logits may hold -inf (a masked class) where a row has a finite one
        bad = ~np.isfinite(z) if binary else (np.isnan(z) | (z == np.inf))
        if not binary:
            bad |= (z == -np.inf).all(axis=1)[:, None]
        if bad.any():
            i = int(np.flatnonzero(bad.reshape(z.shape[0], -1).any(axis=1))[0])
            j = None if binary else int(np.flatnonzero(bad[i])[0])
            found = z[i] if binary else z[i, j]
            where = f" at index {i}" if binary else f" in row {i}"
            what = "finite" if binary else "finite or -inf (a masked class)"
            raise E.input_error(f"{{y_prob}} must be {what}; found {float(found)!r}{{at}}.",
                                dict(_LOGITS, at=where), param="logits", index=i, column=j,
                                value=float(found))
        beta = 1.0 / self.temperature_
        return KT.scaled_sigmoid(z, beta) if binary else KT.scaled_softmax(z, beta)

    def transform(self, logits, *, from_probs=False):
        """Alias of :meth:`predict_proba`."""
        return self.predict_proba(logits, from_probs=from_probs)

    # -- serialisation -----------------------------------------------------
    def _params_state(self):
        return {"objective": str(self.objective), "n_bins": int(self.n_bins)}

    def _fitted_state(self):
        return {
            "temperature": float(self.temperature_),
            "binary": bool(self.binary_),
            "n_classes": int(self.n_classes_),
            "converged": bool(self.converged_),
            "n_iter": int(self.n_iter_),
            "nll_before": float(self.nll_before_),
            "nll_after": float(self.nll_after_),
            "at_bound": self.at_bound_,
            "ece_before": self.ece_before_,
            "ece_after": self.ece_after_,
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict` output (predictions are identical).

        Every value is checked (parameters as the constructor takes them, the
        temperature positive and finite, flags real bools, counts
        non-negative integers, NLLs non-negative, ECEs in [0, 1]); an invalid
        one raises ``ValueError`` naming the field.
        """
        # version 1 had no parameters
        C, version, p = cls._open(d, lambda version: {} if version == 1 else REQUIRED)
        objective = C.choice(C.get(p, "objective", "params.objective",
                                   "nll" if version == 1 else REQUIRED),
                             "params.objective", OBJECTIVES)
        n_bins = C.integer(C.get(p, "n_bins", "params.n_bins", 15 if version == 1 else REQUIRED),
                           "params.n_bins", lo=1, hi=1_000_000)
        obj = cls(objective=objective, n_bins=n_bins)
        f = d.get("fitted")  # absent: not fitted
        if "fitted" in d:
            C.mapping(f, "fitted")
            T = C.real(C.get(f, "temperature", "fitted.temperature"), "fitted.temperature",
                       lo=0.0, lo_open=True)
            # fits keep T in [T_MIN, T_MAX] (up to the rounding of exp(log T))
            if not T_MIN * (1 - 1e-9) <= T <= T_MAX * (1 + 1e-9):
                C.fail("fitted.temperature", f"in [T_MIN, T_MAX] = [{T_MIN}, {T_MAX}]", T)
            binary, n_classes = cls._read_classes(C, f, "binary logits")
            converged = C.boolean(C.get(f, "converged", "fitted.converged"), "fitted.converged")
            n_iter = C.integer(C.get(f, "n_iter", "fitted.n_iter"), "fitted.n_iter")
            nll = [C.get(f, k, f"fitted.{k}") for k in ("nll_before", "nll_after")]
            nll = [math.nan if v is None else  # None: NaN in strict JSON (the CLI's)
                   C.real(v, f"fitted.{k}", lo=0.0, nan=True)
                   for k, v in zip(("nll_before", "nll_after"), nll)]
            at_bound = C.choice(C.get(f, "at_bound", "fitted.at_bound"), "fitted.at_bound",
                                (None, "T_MIN", "T_MAX"))
            ece = []
            for k in ("ece_before", "ece_after"):  # version 1 had none
                v = C.get(f, k, f"fitted.{k}", None if version == 1 else REQUIRED)
                ece.append(None if v is None else
                           C.real(v, f"fitted.{k}", lo=0.0, hi=1.0, nan=True))
            cls._restore(obj, temperature=T, binary=binary, n_classes=n_classes,
                         converged=converged, n_iter=n_iter, nll_before=nll[0],
                         nll_after=nll[1], at_bound=at_bound, ece_before=ece[0],
                         ece_after=ece[1])
        return obj

    def __repr__(self):
        par = "" if self.objective == "nll" else f"objective={self.objective!r}, n_bins={self.n_bins!r}"
        if hasattr(self, "temperature_"):
            return f"TemperatureScaling({par + ', ' if par else ''}temperature_={self.temperature_:.6g})"
        return f"TemperatureScaling({par})"


def _newton(fun, beta, first, rtol):
    """Minimise a convex ``fun(beta) -> (f, f', f'', f''')`` on [_BETA_LO, _BETA_HI].

    Steps are the root of the quadratic model of f' (third order, Halley
    type; plain Newton when that root does not exist), kept inside a bracket
    [lo, hi] of the minimiser updated from the sign of f'.  A step that
    leaves the bracket, or a non-positive f'', is replaced by bisection in
    log(beta); without an upper bracket and without quadratic progress
    (separable data, where f' decays exponentially) beta is doubled.  When
    a step would cross a bound of the admissible range the bound itself is
    evaluated; if f' still points outwards there the result is that bound.
    Stops when the Newton step is below ``rtol * beta`` (the step is then
    taken without another evaluation; f is the cubic model's value).

    Returns (beta, f(beta), evaluations, converged, bound, ok).
    """
    lo, hi = _BETA_LO, _BETA_HI
    it = 0
    tried_lo = tried_hi = False
    f = math.nan
    prev_g = None
    for it in range(1, MAX_ITER + 1):
        if it == 1 and first is not None:
            f, g, h, t = first
        else:
            f, g, h, t = fun(beta)
        if not (math.isfinite(f) and math.isfinite(g) and math.isfinite(h)):
            return beta, f, it, False, None, False
        if not math.isfinite(t):
            t = 0.0
        if beta >= _BETA_HI:
            tried_hi = True
        if beta <= _BETA_LO:
            tried_lo = True
        if g == 0.0:
            if h == 0.0 and f == 0.0 and beta > 1.0:
                # the NLL underflowed to 0: separable data, the optimum is T -> 0
                return _BETA_HI, f, it, True, "T_MIN", True
            return beta, f, it, True, None, True
        if g > 0:
            hi = min(hi, beta)
            if tried_lo and beta <= _BETA_LO:
                return beta, f, it, True, "T_MAX", True
        else:
            lo = max(lo, beta)
            if tried_hi and beta >= _BETA_HI:
                return beta, f, it, True, "T_MIN", True
        if h > 0:
            step_n = -g / h
            disc = h * h - 2.0 * t * g
            step = -2.0 * g / (h + math.sqrt(disc)) if disc >= 0 else step_n
        else:
            step_n = step = math.nan
        nb = beta + step
        if h > 0 and abs(step_n) <= rtol * beta and lo <= nb <= hi:
            # converged: take the last (tiny) step; f from the cubic model
            fm = f + step * (g + step * (0.5 * h + step * t / 6.0))
            return nb, min(f, fm), it, True, None, True
        if (g < 0 and hi == _BETA_HI and prev_g is not None and prev_g < 0
                and (abs(g) > 0.1 * abs(prev_g) or f == 0.0) and not nb >= 2.0 * beta):
            # no upper bracket and only linear progress, or an NLL that
            # underflowed to 0 (separable data): expand
            nb = 2.0 * beta
        prev_g = g
        if not (h > 0 and lo < nb < hi):
            if nb >= hi and hi == _BETA_HI and not tried_hi:
                nb = _BETA_HI
            elif (not nb > lo) and lo == _BETA_LO and not tried_lo:
                nb = _BETA_LO
            else:
                nb = math.sqrt(lo * hi)
        if hi / lo - 1.0 <= 1e-15:
            return beta, f, it, True, None, True
        beta = nb
    return beta, f, it, False, None, True


def _validated(r, z, y, w, binary):
    """Raise for invalid input found by a checking pass; return its sums."""
    if r[6]:
        fe = KT.first_error_bin if binary else KT.first_error_mc
        code, idx = fe(z, y, w)
        E.raise_for_status(code, idx, y, z, w, prob_name="logits")
    if not r[0] > 0:
        raise E.weight_sum_error()
    return r


def _ece_search(fun):
    """Minimise ``fun(log T)`` over [log T_MIN, log T_MAX]: a scan of ECE_GRID
    points (T = 1 among them), then zoomed scans: ECE_ZOOM points spanning
    the two grid cells around the best point so far, the spacing divided by
    (ECE_ZOOM - 1) / 2 at each level, until it is below ECE_XTOL.  A local
    search: never worse than T = 1 or any point it evaluated, a local
    minimum at the final resolution of the basin the scans point to, not a
    certified global minimum (the ECE jumps wherever a confidence crosses a
    bin edge).

    Returns (log T, fun(log T), evaluations, fun(0) i.e. at T = 1).
    """
    lo, hi = math.log(T_MIN), math.log(T_MAX)
    mid = (ECE_GRID - 1) // 2
    h = (hi - lo) / (ECE_GRID - 1)
    xs = [lo + h * k for k in range(ECE_GRID)]
    xs[mid] = 0.0  # T = 1 exactly (the grid is symmetric)
    vals = [fun(x) for x in xs]
    evals = ECE_GRID
    at_one = vals[mid]
    # ties: the point closest to T = 1
    k = min(range(ECE_GRID), key=lambda i: (vals[i], abs(xs[i])))
    best_x, best_f = xs[k], vals[k]
    half = (ECE_ZOOM - 1) // 2
    while h > ECE_XTOL:
        h_new = h / half
        center = best_x
        for j in range(-ECE_ZOOM // 2 + 1, ECE_ZOOM // 2 + 1):
            x = center + j * h_new
            if j == 0 or x < lo or x > hi:
                continue
            fx = fun(x)
            evals += 1
            if fx < best_f or (fx == best_f and abs(x) < abs(best_x)):
                best_x, best_f = x, fx
        h = h_new
    return best_x, best_f, evals, at_one
