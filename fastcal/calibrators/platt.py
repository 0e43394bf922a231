"""Platt scaling (Platt 1999): logistic regression on the logit of the
confidence, ``p' = sigmoid(a * logit(p) + b)``.

The two parameters minimise the weighted mean log loss; the loss is convex
in (a, b) and is minimised by a damped Newton method on a fused kernel that
returns the loss, its gradient and its 2x2 Hessian in one pass over the
input (``_kernels/calibrators/platt.py``), computing each logit on the fly.
"""

import math
import warnings

import numpy as np

from ..core import validation as V
from ..core import errors as E
from ..core.pipeline import binned, run
from .._kernels.calibrators import platt as KP
from .base import ConfidenceCalibrator

# The fit stops when half the squared Newton decrement (the predicted
# decrease of the mean loss) is below DEC_TOL; the last Newton step is then
# taken without another pass (quadratic convergence: the remaining error in
# the parameters is of the order of DEC_TOL).
DEC_TOL = 1e-12
MAX_ITER = 100
# A Newton step moves no a * x + b by more than this (where the Hessian is
# nearly singular, far from the optimum, the full step would be huge).
MAX_DU = 20.0
# Armijo constant and maximum halvings of the line search.
_ARMIJO = 1e-4
_MAX_HALVINGS = 60

class SeparableWarning(UserWarning):
    """The classes are separable by the confidence: no finite maximum-likelihood fit."""


def _smooth_targets(w_neg, w_pos, smooth):
    """Platt's targets from the true class weights (frequency weights; a sum
    past the float64 range is inf, whose targets are the limits 1 and 0)."""
    if smooth:
        tpos = (w_pos + 1.0) / (w_pos + 2.0) if w_pos < math.inf else 1.0
        return tpos, 1.0 / (w_neg + 2.0)
    return 1.0, 0.0


class PlattScaling(ConfidenceCalibrator):
    """Platt scaling: ``p' = sigmoid(a * logit(p) + b)`` with (a, b) fitted by
    maximum likelihood.

    Parameters
    ----------
    smooth : bool, default False
        Use Platt's smoothed targets ``(N+ + 1) / (N+ + 2)`` for positives
        and ``1 / (N- + 2)`` for negatives (N+/N-: the weight of each class)
        instead of 1 and 0.  With ``smooth=True`` the fit equals
        scikit-learn's sigmoid calibration
        (``sklearn.calibration._sigmoid_calibration`` on the logit feature,
        with ``a = -A``, ``b = -B``) and always has a finite solution; with
        ``smooth=False`` (plain maximum likelihood) it equals
        ``sklearn.linear_model.LogisticRegression(penalty=None)`` on the
        logit feature.

    Attributes
    ----------
    a_, b_ : float
        Slope and intercept on the logit scale (identity map: a = 1, b = 0).
    binary_ : bool
        Fitted on binary (n,) input (else top-label (n, C) input).
    n_classes_ : int
        2 for binary input, C for (n, C) input.
    converged_ : bool
        The Newton iterations met the tolerance (DEC_TOL on the mean loss).
    n_iter_ : int
        Passes over the data (one per Newton iteration or line-search trial).
    loss_ : float
        Weighted mean log loss against the (smoothed) targets at (a_, b_).
    separable_ : bool
        ``smooth=False`` only: the classes are (quasi-)separable by the
        confidence, so no finite maximum-likelihood fit exists (see Notes).

    Notes
    -----
    Input.  Binary: ``y_prob`` of shape (n,) is the probability that
    ``y_true == 1`` (for an LLM, the confidence; ``y_true``, "the answer was
    correct").  The feature is ``x = log(c) - log1p(-c)`` with ``c`` clipped
    to ``[eps, 1 - eps]``, ``eps`` the input dtype's machine epsilon (the
    clipping rule of fastcal's NLL and of scikit-learn's ``log_loss``), so
    probabilities of exactly 0 and 1 give finite logits (about +-36 for
    float64, +-15.9 for float32).  With ``from_logits=True`` the values are
    the logits themselves, not clipped.

    (n, C) input: top-label recalibration.  The confidence is the top-label
    probability ``max_k p_k`` (from logits: the top softmax probability, as
    fastcal's metrics compute it), the target is "the first argmax equals
    ``y_true``", and :meth:`predict_proba` returns the recalibrated
    confidence of the predicted class, shape (n,); the predicted class does
    not change.  The logit of the top-label confidence is clipped as above.

    Degenerate data.  One class only (among samples of positive weight):
    ``smooth=False`` raises (as ``LogisticRegression`` does), ``smooth=True``
    fits the constant ``1 / (N + 2)`` (or ``(N + 1) / (N + 2)``).  A constant
    feature: ``a = 0`` and ``b`` the logit of the mean target.  Separable
    classes (every negative's confidence <= every positive's, or the
    reverse) with ``smooth=False``: the likelihood grows for ever as ``|a|``
    grows.  The fit warns (``SeparableWarning``), sets ``separable_``, and
    stops when the mean loss is within ``DEC_TOL`` of its infimum: the map
    is then a steep but finite step between the classes; parameters never
    become infinite or NaN.  Use ``smooth=True`` for a finite, regularised
    fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastcal.calibrators.platt import PlattScaling
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 20_000)
    >>> y = (rng.random(20_000) < p ** 2).astype(int)       # overconfident model
    >>> ps = PlattScaling().fit(p, y)
    >>> ps.converged_, ps.a_ > 1
    (True, True)
    >>> ps.predict_proba([0.5, 0.9]).round(2).tolist()
    [0.23, 0.84]
    """

    _FORMAT = "fastcal.PlattScaling"
    _FITTED = "a_"
    _PARAMS = ("smooth",)

    def __init__(self, *, smooth=False):
        self.smooth = smooth

    def __repr__(self):
        if hasattr(self, "a_"):
            return f"PlattScaling(smooth={self.smooth!r}, a_={self.a_:.6g}, b_={self.b_:.6g})"
        return f"PlattScaling(smooth={self.smooth!r})"

    def _check_params(self):
        if not isinstance(self.smooth, (bool, np.bool_)):
            raise TypeError(f"smooth must be True or False; found {self.smooth!r}.")
        return bool(self.smooth)

    # -- fitting -----------------------------------------------------------
    def fit(self, y_prob, y_true, sample_weight=None, *, from_logits=False):
        """Fit (a, b) on confidences ``y_prob`` (or logits) and labels ``y_true``."""
        smooth = self._check_params()
        p, src = V.as_prob(y_prob, "y_prob")
        y = V.as_labels(y_true)
        n = V.check_lengths(y, p)
        w = V.as_weight(sample_weight, n)
        e = V.weight_exponent(w)  # the loss is a weighted mean: the scale cancels
        w = V.scale(w, e)
        binary = p.ndim == 1
        L = V.on(from_logits)
        eps = V.eps_for(src)
        if binary:
            n_classes = 2
        else:
            n_classes = p.shape[1]
            b = binned(y, p, n_bins=1, strategy="uniform", right=True, classwise=False,
                       from_logits=from_logits, sample_weight=w, scores=False, want_cc=True)
            p, y, L = b.conf, b.corr.view(np.uint8), None
        code, idx, st = KP.stats(p, y, w, L, eps)
        E.raise_for_status(code, idx, y, p, w)
        w_neg, w_pos = float(st[0]), float(st[1])
        if not w_neg + w_pos > 0:
            raise E.weight_sum_error()
        if not smooth and (w_neg == 0 or w_pos == 0):
            only = "correct (1)" if w_neg == 0 else "incorrect (0)"
            raise ValueError(
                f"y_true holds one class only (every sample of positive weight is {only}); "
                "plain maximum likelihood has no finite solution. Pass smooth=True "
                "(Platt's smoothed targets) or add samples of the other class.")
        tpos, tneg = _smooth_targets(V.unscale(w_neg, e), V.unscale(w_pos, e), smooth)
        xs = [st[j] for j in range(2, 6) if math.isfinite(st[j])]
        xmin, xmax = min(xs), max(xs)
        separable = False
        # the best constant map (a = 0): the start of the iterations
        t = (tpos * w_pos + tneg * w_neg) / (w_pos + w_neg)
        a, b0 = 0.0, math.log(t) - math.log1p(-t)
        if xmin == xmax:
            # constant feature: only a * x + b is identified; keep a = 0
            f = -(t * math.log(t) + (1 - t) * math.log1p(-t))
            it, conv = 0, True
        else:
            if not smooth:
                separable = bool(st[3] <= st[4] or st[5] <= st[2])
                if separable:
                    warnings.warn(
                        "y_prob separates the classes (every incorrect sample's confidence is on "
                        "one side of every correct sample's): plain maximum likelihood has no "
                        "finite solution; the fit stops at a steep finite step. Pass smooth=True "
                        "for Platt's regularised targets.", SeparableWarning, stacklevel=2)

            def fun(a, b):
                r = run(KP.loss_derivs, n, p, y, w, a, b, L, eps,
                        tpos, tneg)
                W = r[0]
                return r[1] / W, r[2] / W, r[3] / W, r[4] / W, r[5] / W, r[6] / W

            a, b0, f, it, conv = _newton(fun, a, b0, max(abs(xmin), abs(xmax)))
        self.a_ = float(a)
        self.b_ = float(b0)
        self.binary_ = binary
        self.n_classes_ = int(n_classes)
        self.converged_ = bool(conv)
        self.n_iter_ = int(it)
        self.loss_ = float(f)
        self.separable_ = separable
        return self

    # -- prediction --------------------------------------------------------
    def _predict(self, p, logits, src):
        return KP.predict(p, self.a_, self.b_, logits, V.eps_for(src))

    # -- serialisation -----------------------------------------------------
    def _params_state(self):
        return {"smooth": bool(self.smooth)}

    def _fitted_state(self):
        return {
            "a": float(self.a_),
            "b": float(self.b_),
            "binary": bool(self.binary_),
            "n_classes": int(self.n_classes_),
            "converged": bool(self.converged_),
            "n_iter": int(self.n_iter_),
            "loss": float(self.loss_),
            "separable": bool(self.separable_),
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict` output (predictions are identical).

        Every value is checked (``smooth`` and the flags real bools, ``a``
        and ``b`` finite, counts non-negative integers); an invalid one raises
        ``ValueError`` naming the field.
        """
        C, _, p = cls._open(d)
        smooth = C.boolean(C.get(p, "smooth", "params.smooth"), "params.smooth")
        obj = cls(smooth=smooth)
        f = d.get("fitted")  # absent: not fitted
        if "fitted" in d:
            C.mapping(f, "fitted")
            a = C.real(C.get(f, "a", "fitted.a"), "fitted.a")
            b = C.real(C.get(f, "b", "fitted.b"), "fitted.b")
            binary, n_classes = cls._read_classes(C, f)
            converged = C.boolean(C.get(f, "converged", "fitted.converged"), "fitted.converged")
            n_iter = C.integer(C.get(f, "n_iter", "fitted.n_iter"), "fitted.n_iter")
            loss = C.get(f, "loss", "fitted.loss")  # None: NaN in strict JSON (the CLI's)
            loss = math.nan if loss is None else C.real(loss, "fitted.loss", lo=0.0, nan=True)
            separable = C.boolean(C.get(f, "separable", "fitted.separable"), "fitted.separable")
            if separable and smooth:
                C.fail("fitted.separable", "False with smooth=True (always a finite fit)",
                       separable)
            cls._restore(obj, a=a, b=b, binary=binary, n_classes=n_classes,
                         converged=converged, n_iter=n_iter, loss=loss, separable=separable)
        return obj


def _newton(fun, a, b, xabs):
    """Minimise a convex ``fun(a, b) -> (f, ga, gb, haa, hab, hbb)``.

    Newton direction (a tiny ridge when the Hessian is numerically
    singular), shortened so that no ``a * x + b`` moves by more than
    MAX_DU (``|x| <= xabs``), then Armijo backtracking.  Stops when half the Newton decrement is
    below DEC_TOL (the step is then taken without another pass; f is the
    quadratic model's value), or when no step decreases f (the precision
    limit).  Returns (a, b, f, passes, converged).
    """
    f, ga, gb, haa, hab, hbb = fun(a, b)
    passes = 1
    while passes < MAX_ITER:
        if not (math.isfinite(f) and math.isfinite(ga) and math.isfinite(gb)):
            return a, b, f, passes, False
        det = haa * hbb - hab * hab
        if not det > 1e-13 * haa * hbb or not det > 0:
            r = 1e-10 * (haa + hbb) + 1e-300
            haa, hbb = haa + r, hbb + r
            det = haa * hbb - hab * hab
        da = -(hbb * ga - hab * gb) / det
        db = -(haa * gb - hab * ga) / det
        dec = -(ga * da + gb * db)
        if not dec > 0:
            return a, b, f, passes, True
        if 0.5 * dec <= DEC_TOL:
            return a + da, b + db, f - 0.5 * dec, passes, True
        step = min(1.0, MAX_DU / (abs(da) * xabs + abs(db)))
        for _ in range(_MAX_HALVINGS):
            na, nb = a + step * da, b + step * db
            r = fun(na, nb)
            passes += 1
            if r[0] <= f - _ARMIJO * step * dec:
                a, b = na, nb
                f, ga, gb, haa, hab, hbb = r
                break
            step *= 0.5
            if passes >= MAX_ITER:
                return a, b, f, passes, False
        else:
            return a, b, f, passes, True  # no decrease possible: precision limit
    return a, b, f, passes, False

