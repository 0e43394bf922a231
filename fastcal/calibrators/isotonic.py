"""Isotonic regression: the PAV function and the isotonic calibrator.

``isotonic_regression(y, ...)`` equals ``scipy.optimize.isotonic_regression(y,
weights=..., increasing=...).x`` (same operations in the same order).
``IsotonicRegression`` equals ``sklearn.isotonic.IsotonicRegression``: tied X
(closer than the dtype's resolution to the first of the run) are pooled by
weighted mean, zero weights dropped, PAV, clipping to ``y_min``/``y_max``,
redundant interior thresholds removed, ``interp1d``-style linear
interpolation.  Differences: pooled means and weights of float32 input are
accumulated in float64 (scikit-learn accumulates in float32), and the order
of summation within a tie run is the input order (scikit-learn sorts it by
y), so pooled values agree to rounding.
"""

import math
import numbers
import warnings

import numpy as np

from ..core import pipeline as _core
from ..core import validation as V
from ..core import errors as E
from .._kernels.calibrators import isotonic as KI
from .base import Calibrator

OUT_OF_BOUNDS = ("nan", "clip", "raise")
# Batched fits with at least this many elements use both cores.
_PARALLEL_MIN = 1 << 17


def _real_array(x, name, ndims):
    arr = V._native(V._to_numpy(x, name))
    dt = arr.dtype
    if dt.kind == "f":
        if dt.itemsize < 4:
            arr = arr.astype(np.float32)
        elif dt.itemsize > 8:
            arr = arr.astype(np.float64)
    elif dt.kind in "biu":
        arr = arr.astype(np.float64)
    else:
        raise TypeError(f"{name} must hold real numbers; found dtype {dt}.")
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise E.InputError(f"{name} must be {want}; found an array of shape {arr.shape}.",
                           param=name)
    return arr


def _check_finite(arr, name):
    if arr.ndim == 1 and arr.dtype.kind == "f" and KI.first_nonfinite(arr) < 0:
        return
    ok = np.isfinite(arr)
    if not ok.all():
        bad = np.flatnonzero(~ok.reshape(-1))[0]
        idx = np.unravel_index(bad, arr.shape)
        at = tuple(int(k) for k in idx)
        idx = idx[0] if len(idx) == 1 else idx
        v = float(arr.reshape(-1)[bad])
        raise E.InputError(
            f"{name} must be finite; found {v} at index {idx}. "
            "Remove or impute NaN/inf values first.", param=name, index=at[0],
            column=at[1] if len(at) == 2 else None, value=v)


def _weights(sample_weight, shape):
    """float64 weights broadcast to ``shape``, validated (finite, >= 0)."""
    w = V._native(V._to_numpy(sample_weight, "sample_weight"))
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold non-negative numbers; found dtype {w.dtype}.")
    w = w.astype(np.float64)
    n = shape[-1]
    if w.ndim == 1 and w.shape[0] == n:
        pass
    elif len(shape) == 2 and w.shape == tuple(shape):
        pass
    else:
        want = f"shape ({n},)" + (f" or {tuple(shape)}" if len(shape) == 2 else "")
        raise E.InputError(
            f"sample_weight must have one entry per sample ({want}); found shape {w.shape}.",
            param="sample_weight")
    _check_finite(w, "sample_weight")
    if (w < 0).any():
        bad = np.flatnonzero((w < 0).reshape(-1))[0]
        at = [int(k) for k in np.unravel_index(bad, w.shape)]
        raise E.InputError(
            f"sample_weight must be non-negative; found {float(w.reshape(-1)[bad])} at flat index {bad}.",
            param="sample_weight", index=at[0], column=at[1] if len(at) == 2 else None,
            value=float(w.reshape(-1)[bad]))
    return w


def _scaled(w):
    """Validated weights (each row of 2-D weights is its own fit) divided by the
    power of two of ``V.weight_exponent``: pooled means are ratios of weight
    sums, and 1e308 * n would overflow them."""
    if w.ndim == 1:
        return V.scale(w, V.weight_exponent(w))
    _, ex = np.frexp(w.max(axis=-1))  # 0 for a row of zeros
    e = np.where(ex > V.W_EXP, ex - V.W_EXP, np.where(ex <= -V.W_EXP, ex + V.W_EXP - 1, 0))
    return np.ldexp(w, -e[:, None]) if e.any() else w


def _check_bool(value, name):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False; found {value!r}.")


def isotonic_regression(y, *, sample_weight=None, increasing=True):
    """Pool-adjacent-violators fit of ``y``: the monotone sequence closest to
    ``y`` in weighted least squares.

    ``y`` 1-D: equals ``scipy.optimize.isotonic_regression(y, weights=
    sample_weight, increasing=increasing).x``.  ``y`` 2-D (m, n): m
    independent fits, one per row; ``sample_weight`` then has shape (n,) (the
    same for every row) or (m, n).  Zero weights are allowed (scipy rejects
    them): such points cost nothing and take a monotone value between their
    neighbours; each fit needs a positive total weight.  Returns float64.
    """
    inc = _check_bool(increasing, "increasing")
    y = _real_array(y, "y", (1, 2))
    if y.shape[-1] == 0 or y.size == 0:
        raise E.InputError(f"y is empty (shape {y.shape}); at least one value is required.",
                           param="y")
    _check_finite(y, "y")
    if sample_weight is None:
        w = np.ones(y.shape[-1], np.float64)
    else:
        w = _scaled(_weights(sample_weight, y.shape))
        tot = w.sum(axis=-1)
        if np.any(tot <= 0):
            raise E.InputError(
                "sample_weight sums to zero" + (" in a row" if y.ndim == 2 else "")
                + "; each fit needs at least one positive weight.", param="sample_weight")
    if y.ndim == 1:
        return KI.isotonic_1d(np.ascontiguousarray(y), np.ascontiguousarray(w), inc)
    m, n = y.shape
    W = np.ascontiguousarray(np.broadcast_to(w, (m, n))) if w.ndim == 1 else np.ascontiguousarray(w)
    Y = np.ascontiguousarray(y)
    return _core.run(KI.isotonic_rows, m * n if m > 1 else 0, Y, W, inc, min_work=_PARALLEL_MIN)


def _spearman_increasing(X, y, xorder):
    """scikit-learn's ``check_increasing``: sign of Spearman's rho (rho >= 0),
    with its warning when the Fisher 95% interval spans zero."""
    n = X.shape[0]
    rx = KI.average_ranks(X, xorder)
    yf = np.ascontiguousarray(y, dtype=np.float64)
    ry = KI.average_ranks(yf, KI.argsort_float(yf))
    with np.errstate(invalid="ignore", divide="ignore"):
        if n < 2 or np.all(rx == rx[0]) or np.all(ry == ry[0]):
            rho = float("nan")
        else:
            rho = float(np.corrcoef(rx, ry)[0, 1])
    increasing = bool(rho >= 0)
    if rho not in (-1.0, 1.0) and n > 3:
        with np.errstate(invalid="ignore", divide="ignore"):
            F = 0.5 * math.log((1.0 + rho) / (1.0 - rho)) if not math.isnan(rho) else rho
        F_se = 1 / math.sqrt(n - 3)
        rho_0 = math.tanh(F - 1.96 * F_se)
        rho_1 = math.tanh(F + 1.96 * F_se)
        if np.sign(rho_0) != np.sign(rho_1):
            warnings.warn(
                "Confidence interval of the Spearman correlation coefficient spans zero. "
                "Determination of ``increasing`` may be suspect."
            )
    return increasing


def _as_x(X, name="X"):
    arr = _real_array(X, name, (1, 2))
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise E.InputError(
                f"{name} must be 1-D or 2-D with one column; found an array of shape {arr.shape}.",
                param=name)
        arr = arr[:, 0]
    return arr


def _opt_bound(v, name):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number or None; found {v!r}.")
    v = float(v)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number or None; found nan.")
    return v


class IsotonicRegression(Calibrator):
    """Isotonic calibrator, predictions equal to
    ``sklearn.isotonic.IsotonicRegression``.

    Parameters: ``increasing`` (True, False or "auto": sign of Spearman's
    rho), ``y_min``/``y_max`` (clip the fitted values), ``out_of_bounds``
    ("nan", "clip" or "raise") for inputs outside [X_min_, X_max_].
    """

    _FORMAT_KEY, _FORMAT = "type", "IsotonicRegression"
    _FITTED = "X_thresholds_"
    _FIT_CALL = "fit(X, y)"
    _PARAMS = ("increasing", "y_min", "y_max", "out_of_bounds")
    _WRONG_ENVELOPE = "from_dict expects the output of IsotonicRegression.to_dict()."
    _NEWER = ("this IsotonicRegression was saved by a newer fastcal (format version {v}; "
              "this one reads up to {version}); upgrade fastcal.")

    def __init__(self, *, increasing=True, y_min=None, y_max=None, out_of_bounds="nan"):
        self.increasing = increasing
        self.y_min = y_min
        self.y_max = y_max
        self.out_of_bounds = out_of_bounds

    def _check_params(self):
        inc = self.increasing
        if not (isinstance(inc, (bool, np.bool_)) or (isinstance(inc, str) and inc == "auto")):
            raise ValueError(f"increasing must be True, False or 'auto'; found {inc!r}.")
        if not isinstance(self.out_of_bounds, str) or self.out_of_bounds not in OUT_OF_BOUNDS:
            opts = ", ".join(repr(c) for c in OUT_OF_BOUNDS)
            raise ValueError(f"out_of_bounds must be one of {opts}; found {self.out_of_bounds!r}.")
        lo = _opt_bound(self.y_min, "y_min")
        hi = _opt_bound(self.y_max, "y_max")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"y_min must not exceed y_max; found y_min={lo} > y_max={hi}.")
        return lo, hi

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (1-D or (n, 1)) and targets ``y`` (1-D)."""
        lo, hi = self._check_params()
        X = _as_x(X)
        dtype = X.dtype
        y = _real_array(y, "y", (1,)).astype(dtype, copy=False)
        n = X.shape[0]
        if y.shape[0] != n:
            raise E.InputError(
                f"X and y must have the same length: found {n} values in X and {y.shape[0]} in y.",
                param="y")
        if n == 0:
            raise E.InputError("X and y are empty; at least one sample is required.", param="X")
        _check_finite(X, "X")
        _check_finite(y, "y")
        if sample_weight is None:
            w = np.ones(1, np.float64)
        else:
            w = _scaled(_weights(sample_weight, (n,)))
            if dtype != np.float64:  # scikit-learn casts weights to X's dtype
                w = w.astype(dtype).astype(np.float64)
            if not (w > 0).any():
                raise E.InputError(
                    "sample_weight has no positive entry; at least one sample needs a positive weight.",
                    param="sample_weight")
        X = np.ascontiguousarray(X)
        y = np.ascontiguousarray(y)
        X64 = X if dtype == np.float64 else X.astype(np.float64)
        has_w = sample_weight is not None
        eps = dtype.type(np.finfo(dtype).resolution)
        m = -1
        if self.increasing == "auto":
            order = KI.argsort_float(X64)
            inc = _spearman_increasing(X64, y, order)
        else:
            inc = bool(self.increasing)
            # many ties (calibration data: rounded scores): group by hashing, no sort of n
            ux, uy, uw, m = KI.pool_hashed(X, X64, y, w, has_w, eps, max(1024, n // 8))
            if m < 0:
                order = KI.argsort_float(X64)
        if m < 0:
            ux, uy, uw, m = KI.pool_sorted(X, y, w, has_w, order, eps)
        yf = KI.isotonic_1d(uy, uw, inc).astype(dtype)
        if lo is not None or hi is not None:
            np.clip(yf, -np.inf if lo is None else lo, np.inf if hi is None else hi, out=yf)
        self.increasing_ = inc
        self.X_min_, self.X_max_ = ux[0], ux[m - 1]
        keep = np.ones(m, dtype=bool)
        if m > 2:
            keep[1:-1] = (yf[1:-1] != yf[:-2]) | (yf[1:-1] != yf[2:])
        self.X_thresholds_ = np.ascontiguousarray(ux[keep])
        self.y_thresholds_ = np.ascontiguousarray(yf[keep])
        return self

    def predict(self, T):
        """Calibrated values at ``T`` by linear interpolation between thresholds."""
        self._check_fitted()
        if not isinstance(self.out_of_bounds, str) or self.out_of_bounds not in OUT_OF_BOUNDS:
            opts = ", ".join(repr(c) for c in OUT_OF_BOUNDS)
            raise ValueError(f"out_of_bounds must be one of {opts}; found {self.out_of_bounds!r}.")
        xt, yt = self.X_thresholds_, self.y_thresholds_
        T = _as_x(T, "T").astype(xt.dtype, copy=False)
        _check_finite(T, "T")
        T = np.ascontiguousarray(T)
        if self.out_of_bounds == "clip":
            T = np.clip(T, self.X_min_, self.X_max_)
        elif self.out_of_bounds == "raise" and xt.shape[0] > 1 and T.shape[0]:
            below = T < xt[0]
            if below.any():
                raise ValueError(
                    f"T: a value ({T[np.argmax(below)]}) is below the fitted range's minimum "
                    f"({xt[0]}) and out_of_bounds='raise'; use out_of_bounds='clip' to clamp it."
                )
            above = T > xt[-1]
            if above.any():
                raise ValueError(
                    f"T: a value ({T[np.argmax(above)]}) is above the fitted range's maximum "
                    f"({xt[-1]}) and out_of_bounds='raise'; use out_of_bounds='clip' to clamp it."
                )
        return KI.interp_linear(xt, yt, T, self.out_of_bounds == "nan")

    def transform(self, T):
        """Same as :meth:`predict`."""
        return self.predict(T)

    # --- serialisation ------------------------------------------------------

    def _params_state(self):
        inc = self.increasing
        return {
            "increasing": inc if isinstance(inc, str) else bool(inc),
            "y_min": None if self.y_min is None else float(self.y_min),
            "y_max": None if self.y_max is None else float(self.y_max),
            "out_of_bounds": self.out_of_bounds,
        }

    def _fitted_state(self):
        return {
            "dtype": self.X_thresholds_.dtype.name,
            "increasing_": bool(self.increasing_),
            "X_min_": float(self.X_min_),
            "X_max_": float(self.X_max_),
            "X_thresholds_": [float(v) for v in self.X_thresholds_],
            "y_thresholds_": [float(v) for v in self.y_thresholds_],
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict` output (predictions are identical).

        Every value is checked (parameters as the constructor takes them;
        thresholds 1-D, finite, exact in their dtype, X strictly increasing, y
        monotone in the fitted direction and within ``y_min``/``y_max``); an
        invalid one raises ``ValueError`` naming the field.
        """
        from ..core.state_check import is_real

        C, _, p = cls._open(d)
        inc = C.get(p, "increasing", "params.increasing")
        if not (isinstance(inc, (bool, np.bool_)) or inc == "auto" and isinstance(inc, str)):
            C.fail("params.increasing", "True, False or 'auto'", inc)
        bounds = []
        for k in ("y_min", "y_max"):
            v = C.get(p, k, f"params.{k}")
            if v is not None and not (is_real(v) and not math.isnan(v)):
                C.fail(f"params.{k}", "a real number or None", v)
            bounds.append(None if v is None else float(v))
        lo, hi = bounds
        if lo is not None and hi is not None and lo > hi:
            C.fail("params.y_min", f"at most y_max ({hi!r})", lo)
        oob = C.choice(C.get(p, "out_of_bounds", "params.out_of_bounds"),
                       "params.out_of_bounds", OUT_OF_BOUNDS)
        obj = cls(increasing=inc if isinstance(inc, str) else bool(inc), y_min=lo, y_max=hi,
                  out_of_bounds=oob)
        f = d.get("fitted")  # absent: not fitted
        if "fitted" in d:
            C.mapping(f, "fitted")
            name = C.choice(C.get(f, "dtype", "fitted.dtype"), "fitted.dtype",
                            ("float32", "float64"))
            dt = np.dtype(name)
            increasing_ = C.boolean(C.get(f, "increasing_", "fitted.increasing_"),
                                    "fitted.increasing_")
            if not isinstance(inc, str) and increasing_ != bool(inc):
                C.fail("fitted.increasing_", f"params.increasing ({bool(inc)!r})", increasing_)
            xt = C.array(C.get(f, "X_thresholds_", "fitted.X_thresholds_"),
                         "fitted.X_thresholds_")
            m = xt.shape[0]
            if m == 0:
                C.fail("fitted.X_thresholds_", "non-empty", [])
            with np.errstate(over="ignore"):  # y_min/y_max clip in the fitted dtype
                ylo, yhi = (None if v is None else float(dt.type(v)) for v in (lo, hi))
            yt = C.array(C.get(f, "y_thresholds_", "fitted.y_thresholds_"),
                         "fitted.y_thresholds_", length=m, lo=ylo, hi=yhi)
            for field, a in (("fitted.X_thresholds_", xt), ("fitted.y_thresholds_", yt)):
                with np.errstate(over="ignore"):
                    k = np.flatnonzero(a.astype(dt).astype(np.float64) != a)
                if k.size:
                    C.fail(f"{field}[{k[0]}]", f"a value exact in {name}", float(a[k[0]]))
            k = np.flatnonzero(np.diff(xt) <= 0)
            if k.size:
                C.fail(f"fitted.X_thresholds_[{k[0] + 1}]",
                       f"greater than the previous threshold {float(xt[k[0]])!r} (sorted, "
                       "distinct)", float(xt[k[0] + 1]))
            step = np.diff(yt)
            k = np.flatnonzero(step < 0 if increasing_ else step > 0)
            if k.size:
                C.fail(f"fitted.y_thresholds_[{k[0] + 1}]",
                       f"{'at least' if increasing_ else 'at most'} the previous value "
                       f"{float(yt[k[0]])!r} (increasing_={increasing_})", float(yt[k[0] + 1]))
            for k, want in (("X_min_", xt[0]), ("X_max_", xt[-1])):
                v = C.real(C.get(f, k, f"fitted.{k}"), f"fitted.{k}")
                if v != want:
                    C.fail(f"fitted.{k}", f"the {'first' if k == 'X_min_' else 'last'} "
                           f"threshold {float(want)!r}", v)
            cls._restore(obj, increasing=increasing_, X_min=dt.type(xt[0]),
                         X_max=dt.type(xt[-1]), X_thresholds=np.ascontiguousarray(xt, dtype=dt),
                         y_thresholds=np.ascontiguousarray(yt, dtype=dt))
        return obj
