"""Platt scaling: weighted log loss of sigmoid(a x + b) against targets t, its
gradient and 2x2 Hessian in (a, b), in one pass over the confidences.

``x`` is the logit of the confidence, computed per element and never stored:
with ``logits`` on, the value itself; otherwise ``log(c) - log1p(-c)`` with
``c`` the probability clipped to ``[eps, 1 - eps]`` (eps: the input dtype's
machine epsilon, as in ``core.validation.eps_for``).  Targets are ``tpos`` for
label 1 and ``tneg`` for label 0 (1 and 0 for plain maximum likelihood,
Platt's smoothed targets otherwise).

With ``u = a x + b``:

* ``loss_i = softplus(u) - t u``
* ``d/d(a, b) = (sigmoid(u) - t) (x, 1)``
* ``d2/d(a, b)2 = sigmoid(u) (1 - sigmoid(u)) [[x^2, x], [x, 1]]``

Drivers return float64 ``[W, F, Ga, Gb, Haa, Hab, Hbb]``: the sum of
weights and the weighted sums of the loss, gradient and Hessian.  Rows are
processed in fixed chunks of ``CHUNK`` whose sums are added in chunk order,
so serial and parallel drivers return bitwise identical results.

:func:`stats` is the validating pass: sums of weights per class and the
range of ``x`` per class (for the separability test; ``x`` is a
non-decreasing function of the value, so only the extremes are mapped), and the first invalid
element as ``(code, index)``.
"""

import numpy as np
from numba import njit

from ..metrics.bins import bad_value
from ..common import INNER, BAD_BINARY_LABEL, BAD_LOGIT, BAD_PROB, BAD_WEIGHT, CHUNK, OK, OPTS

_INF = np.inf


@njit(inline="always", **OPTS)
def logit_of(v, logits, eps):
    """The feature x of one float64 input value (see the module docstring)."""
    if logits is not None:
        return v
    c = min(max(v, eps), 1.0 - eps)
    return np.log(c) - np.log1p(-c)


@njit(**INNER)
def _chunk(p, y, w, a, b, lo, hi, logits, eps, tpos, tneg, out):
    W = 0.0
    F = 0.0
    Ga = 0.0
    Gb = 0.0
    Haa = 0.0
    Hab = 0.0
    Hbb = 0.0
    for i in range(lo, hi):
        x = logit_of(np.float64(p[i]), logits, eps)
        t = tpos if y[i] == 1 else tneg
        u = a * x + b
        e = np.exp(-abs(u))
        # softplus(u) - t u, sigmoid(u) and sigmoid(u) sigmoid(-u) from one exp
        f = max(u, 0.0) + np.log1p(e) - t * u
        s = 1.0 / (1.0 + e) if u >= 0.0 else e / (1.0 + e)
        q = e / ((1.0 + e) * (1.0 + e))
        r = s - t
        wi = 1.0 if w is None else w[i]
        W += wi
        F += wi * f
        Ga += wi * r * x
        Gb += wi * r
        wq = wi * q
        Haa += wq * x * x
        Hab += wq * x
        Hbb += wq
    out[0] = W
    out[1] = F
    out[2] = Ga
    out[3] = Gb
    out[4] = Haa
    out[5] = Hab
    out[6] = Hbb


@njit(**OPTS)
def loss_derivs(p, y, w, a, b, logits, eps, tpos, tneg):
    """Serial driver: float64 [W, F, Ga, Gb, Haa, Hab, Hbb]."""
    n = p.shape[0]
    nch = max(1, (n + CHUNK - 1) // CHUNK)
    part = np.zeros((nch, 7))
    for c in range(nch):
        lo = c * CHUNK
        _chunk(p, y, w, a, b, lo, min(n, lo + CHUNK), logits, eps, tpos, tneg, part[c])
    acc = np.zeros(7)
    for c in range(nch):
        acc += part[c]
    return acc


@njit(**OPTS)
def stats(p, y, w, logits, eps):
    """Validating pass: (code, index, [Wneg, Wpos, min x0, max x0, min x1, max x1]).

    Only rows with a positive weight count in the ranges.
    """
    st = np.empty(6)
    st[0] = 0.0
    st[1] = 0.0
    st[2] = _INF
    st[3] = -_INF
    st[4] = _INF
    st[5] = -_INF
    for i in range(p.shape[0]):
        yi = y[i]
        if not (yi == 0 or yi == 1):
            return BAD_BINARY_LABEL, i, st
        v = np.float64(p[i])
        if bad_value(v, logits):
            return (BAD_LOGIT if logits is not None else BAD_PROB), i, st
        wi = 1.0
        if w is not None:
            wi = w[i]
            if not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i, st
        if wi > 0.0:
            k = 1 if yi == 1 else 0
            st[k] += wi
            st[2 + 2 * k] = min(st[2 + 2 * k], v)
            st[3 + 2 * k] = max(st[3 + 2 * k], v)
    # x is a non-decreasing function of v: the range of x is that of v mapped
    for j in range(2, 6):
        if st[j] > -_INF and st[j] < _INF:
            st[j] = logit_of(st[j], logits, eps)
    return OK, -1, st


@njit(**OPTS)
def predict(p, a, b, logits, eps):
    """(float64 sigmoid(a x + b), index of the first invalid value or -1)."""
    n = p.shape[0]
    out = np.empty(n)
    for i in range(n):
        v = np.float64(p[i])
        if bad_value(v, logits):
            return out, i
        u = a * logit_of(v, logits, eps) + b
        e = np.exp(-abs(u))
        out[i] = 1.0 / (1.0 + e) if u >= 0.0 else e / (1.0 + e)
    return out, -1
