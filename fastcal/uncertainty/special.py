"""Special functions of the interval code, in numpy and ``math`` only (no
scipy at runtime): the normal quantile (Halley iteration on
``math.erf``/``erfc``), the regularised incomplete beta function and its
inverse, the Beta quantile.

- the front factor x^a (1-x)^b / B(a, b) in logs, expanded about the mode
  with Stirling's series so that it keeps its accuracy for a bin of 1e9
  samples (``lgamma(a + b) - lgamma(a) - lgamma(b)`` would cancel);
- the incomplete beta I_x(a, b) as that factor times the continued fraction
  in the form of DiDonato & Morris (1992, ACM TOMS 708, "BFRAC"), evaluated
  on the smaller tail; a parameter <= 1 is first raised by one with the
  recurrence I_x(a, b) = I_x(a + 1, b) + x^a (1-x)^b / (a B(a, b));
- its inverse by Halley's method, safeguarded by a bracket and bisection.

They agree with ``scipy.special.betainc`` / ``scipy.stats.beta.ppf`` to about
1e-11 / 1e-12 relative (tests/test_intervals.py).
"""

import math

import numpy as np

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)
_TINY = 1e-300
# Parameters at least this large use Stirling's series for log-gamma (the
# corrections below are accurate to ~1e-17 there), so that the front factor
# x^a (1-x)^b / B(a, b) keeps its relative accuracy when a and b are huge
# (a bin of 1e9 samples) instead of losing it to the cancellation of
# lgamma(a + b) - lgamma(a) - lgamma(b).
_STIRLING_MIN = 10.0
_CF_MAX_ITER = 100_000
_CF_TOL = 1e-16
_PPF_MAX_ITER = 300


# ------------------------------------------------------------ normal quantile
def _norm_ppf_scalar(p):
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -math.inf
        if p == 1.0:
            return math.inf
        return math.nan
    if p >= 0.5:
        return 0.0 if p == 0.5 else -_norm_ppf_scalar(1.0 - p)  # 1 - p is exact for p in [0.5, 1]
    if p < 1e-290:
        return _norm_ppf_far_tail(p)
    # Start: Abramowitz & Stegun 26.2.23 (absolute error < 4.5e-4) ...
    t = math.sqrt(-2.0 * math.log(p))
    x = -(t - (2.515517 + t * (0.802853 + t * 0.010328))
          / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))))
    central = p > 0.25
    pc = p - 0.5  # exact for p in [0.25, 0.5]
    # ... then Halley steps on Phi(x) - p (cubic convergence).  Near the
    # centre Phi(x) - 1/2 = erf(x / sqrt 2) / 2 keeps x's relative accuracy;
    # in the tail erfc keeps p's.
    for _ in range(20):
        if central:
            e = 0.5 * math.erf(x / _SQRT2) - pc
        else:
            e = 0.5 * math.erfc(-x / _SQRT2) - p
        u = e * math.exp(0.5 * x * x + _LOG_SQRT_2PI)
        step = u / (1.0 + 0.5 * x * u)
        x -= step
        if abs(step) <= 1e-16 * abs(x):
            break
    return x


def _norm_ppf_far_tail(p):
    """p < 1e-290 (x < -36.4), where exp(x^2 / 2) overflows: Newton on
    log Phi(x) = log phi(x) + log R(x), with the Mills-ratio series
    R(x) = Phi(x) / phi(x) = -(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8 - ...) / x
    (relative error below 1e-13 there)."""
    logp = math.log(p)
    x = -math.sqrt(-2.0 * logp)
    for _ in range(50):
        r2 = 1.0 / (x * x)
        ratio = -(1.0 - r2 * (1.0 - r2 * (3.0 - r2 * (15.0 - r2 * (105.0 - r2 * 945.0))))) / x
        g = -0.5 * x * x - _LOG_SQRT_2PI + math.log(ratio) - logp
        step = g * ratio  # d log Phi / dx = 1 / ratio
        x -= step
        if abs(step) <= 1e-16 * abs(x):
            break
    return x


def norm_ppf(p):
    """Quantile function of the standard normal distribution.

    Equals ``scipy.stats.norm.ppf`` to about 1e-15 relative (Halley
    iteration on ``math.erf`` / ``math.erfc`` from the Abramowitz & Stegun
    26.2.23 approximation).

    Parameters
    ----------
    p : float or array-like
        Probabilities in [0, 1] (0 and 1 give -inf and inf).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from fastcal.uncertainty.special import norm_ppf
    >>> round(norm_ppf(0.975), 12)
    1.959963984540
    """
    if np.ndim(p) == 0:
        return _norm_ppf_scalar(float(p))
    p = np.asarray(p, dtype=np.float64)
    return np.vectorize(_norm_ppf_scalar, otypes=[np.float64])(p)


# ------------------------------------------------- regularised incomplete beta
def _stirling_corr(z):
    """lgamma(z) - ((z - 1/2) log z - z + log sqrt(2 pi)), for z >= 10."""
    r = 1.0 / z
    r2 = r * r
    return r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (
        -1.0 / 1680 + r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))))


def _log1pmx(u):
    """log(1 + u) - u, accurate for small |u| (u > -1)."""
    u = np.asarray(u, dtype=np.float64)
    out = np.empty_like(u)
    small = np.abs(u) <= 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        big = ~small
        out[big] = np.log1p(u[big]) - u[big]
        us = u[small]
        s = us / (2.0 + us)  # log1p(u) = 2 atanh(s); u - 2 s = s u
        s2 = s * s
        acc = np.zeros_like(s)
        for k in range(27, -1, -1):  # |s| <= 1/3: s2^28 < 1e-26
            acc = acc * s2 + 1.0 / (2 * k + 3)
        out[small] = -s * us + 2.0 * s * s2 * acc
    return out


def _lgamma(z):
    return np.vectorize(math.lgamma, otypes=[np.float64])(z)


def _log_front(a, b, x):
    """log(x^a (1 - x)^b / B(a, b)) for 0 <= x <= 1, accurate for huge a, b.

    ``x`` is taken as exact and its complement as the real number ``1 - x``.
    """
    a, b, x = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x)))
    out = np.empty(a.shape)
    s = a + b
    big_a = a >= _STIRLING_MIN
    big_b = b >= _STIRLING_MIN
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # both large: expand about the mode x0 = a / s of x^a (1 - x)^b; the
        # first-order terms cancel exactly, what is left is log1pmx.
        m = big_a & big_b
        if m.any():
            am, bm, sm, xm = a[m], b[m], s[m], x[m]
            x0 = am / sm
            y0 = 1.0 - x0
            d = xm - x0
            u, v = d / x0, -d / y0
            # far from the mode (|u| or |v| > 1/2) log1p(u) is log(x / x0)
            # (log1p(v) is log((1 - x) / y0)) directly: u = -1 + tiny loses
            # the tiny part.
            ta = np.where(np.abs(u) <= 0.5, _log1pmx(u), np.log(xm) - np.log(x0) - u)
            tb = np.where(np.abs(v) <= 0.5, _log1pmx(v), np.log1p(-xm) - np.log(y0) - v)
            # a u + b v is zero for the exact mode; for the rounded x0 it is
            # not (it matters when y0 or x0 is tiny), so it is added back.
            out[m] = (am * ta + bm * tb + d * (am / x0 - bm / y0)
                      + 0.5 * np.log(am * bm / sm) - _LOG_SQRT_2PI
                      + _stirling_corr(sm) - _stirling_corr(am) - _stirling_corr(bm))
        # one large (q) and one small (r): lgamma(s) - lgamma(q) by Stirling.
        for small_first in (True, False):
            m = (~big_a & big_b) if small_first else (big_a & ~big_b)
            if not m.any():
                continue
            r, q = (a[m], b[m]) if small_first else (b[m], a[m])
            sm, xr = s[m], x[m]
            log_r_side = np.log(xr) if small_first else np.log1p(-xr)
            log_q_side = np.log1p(-xr) if small_first else np.log(xr)
            out[m] = (r * (log_r_side + np.log(sm)) + q * log_q_side
                      + (q - 0.5) * np.log1p(r / q) - r - _lgamma(r)
                      + _stirling_corr(sm) - _stirling_corr(q))
        m = ~big_a & ~big_b
        if m.any():
            am, bm, xm = a[m], b[m], x[m]
            out[m] = (am * np.log(xm) + bm * np.log1p(-xm)
                      + _lgamma(am + bm) - _lgamma(am) - _lgamma(bm))
    return out


def _betacf(p, q, z, zc):
    """Continued fraction of I_z(p, q) (modified Lentz), vectorised.

    ``zc`` is the exact complement ``1 - z`` (used where it avoids
    cancellation in the first term).
    """
    s = p + q
    # 1 - s z / (p + 1), written so that it does not cancel for z near 1
    d = np.where(z > 0.5, (1.0 - q + s * zc), (p + 1.0 - s * z)) / (p + 1.0)
    d = np.where(np.abs(d) < _TINY, _TINY, d)
    d = 1.0 / d
    c = np.ones_like(d)
    h = d.copy()
    active = np.ones(d.shape, dtype=bool)
    idx = np.arange(d.size)
    for m in range(1, _CF_MAX_ITER):
        i = idx[active]
        if i.size == 0:
            break
        pi, qi, si, zi, ci, di = p[i], q[i], s[i], z[i], c[i], d[i]
        m2 = 2.0 * m
        aa = m * (qi - m) * zi / ((pi - 1.0 + m2) * (pi + m2))
        di = 1.0 + aa * di
        di = np.where(np.abs(di) < _TINY, _TINY, di)
        ci = 1.0 + aa / ci
        ci = np.where(np.abs(ci) < _TINY, _TINY, ci)
        di = 1.0 / di
        hi = h[i] * (di * ci)
        aa = -(pi + m) * (si + m) * zi / ((pi + m2) * (pi + 1.0 + m2))
        di = 1.0 + aa * di
        di = np.where(np.abs(di) < _TINY, _TINY, di)
        ci = 1.0 + aa / ci
        ci = np.where(np.abs(ci) < _TINY, _TINY, ci)
        di = 1.0 / di
        de = di * ci
        h[i] = hi * de
        c[i] = ci
        d[i] = di
        active[i] = np.abs(de - 1.0) > _CF_TOL
    return h


def _bfrac(a, b, x, y, lam):
    """Continued fraction for I_x(a, b) / front, a, b > 1, in the form of
    DiDonato & Morris (1992, TOMS 708, "BFRAC") that takes
    ``lam = (a + b) y - b >= 0`` computed without cancellation, so it keeps
    its accuracy when x is tiny and b huge (where the classical form in
    ``1 - x`` loses digits).  Vectorised; evaluated with renormalised
    three-term recurrences."""
    c = lam + 1.0
    c0 = b / a
    c1 = 1.0 / a + 1.0
    yp1 = y + 1.0
    p = np.ones_like(a)
    s = a + 1.0
    an = np.zeros_like(a)
    bn = np.ones_like(a)
    anp1 = np.ones_like(a)
    bnp1 = c / c1
    r = c1 / c
    out = r.copy()
    where = np.arange(a.size)  # positions in `out` of the elements still iterating
    for n in range(1, _CF_MAX_ITER):
        t = n / a
        w = n * (b - n) * x
        e = a / s
        alpha = p * (p + c0) * e * e * (w * x)
        e = (t + 1.0) / (c1 + t + t)
        beta = n + w / s + e * (c + n * yp1)
        p = t + 1.0
        s = s + 2.0
        na = alpha * an + beta * anp1
        nb = alpha * bn + beta * bnp1
        r0 = r
        r = na / nb
        an = anp1 / nb  # rescaled so that bnp1 = 1
        bn = bnp1 / nb
        anp1 = r
        bnp1 = np.ones_like(r)
        going = np.abs(r - r0) > _CF_TOL * r
        if not going.all():
            out[where] = r
            if not going.any():
                break
            # drop the converged elements from the working arrays
            where = where[going]
            a, b, x, c, c0, c1, yp1, p, s, an, bn, anp1, bnp1, r = (
                v[going] for v in (a, b, x, c, c0, c1, yp1, p, s, an, bn, anp1, bnp1, r))
    else:  # pragma: no cover - not reached for finite a, b
        out[where] = r
    return out


def _betainc_pair(a, b, x):
    """(I_x(a, b), 1 - I_x(a, b)), the smaller of the two accurate in relative terms."""
    a, b, x = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(a, b, x))
    a, b, x = a.ravel(), b.ravel(), x.ravel()
    lower = np.zeros(a.shape)
    upper = np.zeros(a.shape)
    lower[x >= 1.0] = 1.0
    upper[x <= 0.0] = 1.0
    inner = (x > 0.0) & (x < 1.0)
    if not inner.any():
        return lower, upper
    ai, bi, xi = a[inner], b[inner], x[inner]
    yi = 1.0 - xi
    with np.errstate(over="ignore", under="ignore"):
        front = np.exp(_log_front(ai, bi, xi))  # x^a (1 - x)^b / B(a, b)
    lo = np.empty(ai.shape)
    hi = np.empty(ai.shape)
    # A parameter <= 1 is raised by one with I_x(a, b) = I_x(a + 1, b) + front / a
    # (and I_x(a, b) = I_x(a, b + 1) - front / b), so that BFRAC applies.
    sa = (ai <= 1.0) & (bi > 1.0)
    sb = (bi <= 1.0) & (ai > 1.0)
    big = ((ai > 1.0) & (bi > 1.0)) | sa | sb
    if big.any():
        a_ = np.where(sa, ai + 1.0, ai)[big]
        b_ = np.where(sb, bi + 1.0, bi)[big]
        x_, y_ = xi[big], yi[big]
        with np.errstate(over="ignore", under="ignore"):
            f_ = np.exp(_log_front(a_, b_, x_))
        s_ = a_ + b_
        lam = np.where(a_ <= b_, a_ - s_ * x_, s_ * y_ - b_)
        left = lam >= 0.0
        pa = np.where(left, a_, b_)
        pb = np.where(left, b_, a_)
        px = np.where(left, x_, y_)
        py = np.where(left, y_, x_)
        t = f_ * _bfrac(pa, pb, px, py, np.abs(lam))
        lo_ = np.where(left, t, 1.0 - t)
        hi_ = np.where(left, 1.0 - t, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(sa[big], front[big] / ai[big], 0.0) - np.where(sb[big], front[big] / bi[big], 0.0)
        lo[big] = lo_ + shift
        hi[big] = hi_ - shift
    # both parameters <= 1: the classical continued fraction (fast there)
    small = ~big
    if small.any():
        a_, b_, x_, y_ = ai[small], bi[small], xi[small], yi[small]
        direct = x_ < (a_ + 1.0) / (a_ + b_ + 2.0)
        p = np.where(direct, a_, b_)
        q = np.where(direct, b_, a_)
        z = np.where(direct, x_, y_)
        zc = np.where(direct, y_, x_)
        t = front[small] * _betacf(p, q, z, zc) / p
        lo[small] = np.where(direct, t, 1.0 - t)
        hi[small] = np.where(direct, 1.0 - t, t)
    lower[inner] = np.clip(lo, 0.0, 1.0)
    upper[inner] = np.clip(hi, 0.0, 1.0)
    return lower, upper


def betainc(a, b, x):
    """Regularised incomplete beta function I_x(a, b) (= ``scipy.special.betainc``).

    Examples
    --------
    >>> from fastcal.uncertainty.special import betainc
    >>> float(betainc(2.0, 3.0, 0.5))   # 11/16
    0.6875
    """
    lo, _ = _betainc_pair(a, b, x)
    shape = np.broadcast(np.asarray(a), np.asarray(b), np.asarray(x)).shape
    lo = lo.reshape(shape)
    return lo[()] if lo.ndim == 0 else lo


def _initial_guess(a, b, p):
    """Start for the Beta(a, b) p-quantile (mean <= 1/2 assumed)."""
    with np.errstate(all="ignore"):
        # small-x power law: I_x(a, b) ~ x^a / (a B(a, b))
        log_b = _lgamma(a) + _lgamma(b) - _lgamma(a + b)
        x_pow = np.exp((np.log(a * p) + log_b) / a)
        # normal approximation on the logit scale (Abramowitz & Stegun 26.5.22)
        yp = -norm_ppf(p)  # upper-tail normal quantile
        lam = (yp * yp - 3.0) / 6.0
        ra, rb = 1.0 / (2.0 * a - 1.0), 1.0 / (2.0 * b - 1.0)
        h = 2.0 / (ra + rb)
        w = yp * np.sqrt(h + lam) / h - (rb - ra) * (lam + 5.0 / 6.0 - 2.0 / (3.0 * h))
        x_norm = a / (a + b * np.exp(2.0 * w))
    x = np.where((a >= 1.0) & (b >= 1.0) & np.isfinite(x_norm), x_norm, x_pow)
    ok = np.isfinite(x) & (x > 0.0) & (x < 1.0)
    return np.where(ok, x, a / (a + b))


def _beta_ppf_low(a, b, p):
    """Beta(a, b) p-quantile for mean a / (a + b) <= 1/2, 0 < p < 1 (1-D arrays)."""
    x = _initial_guess(a, b, p)
    lo = np.zeros_like(x)
    hi = np.ones_like(x)
    upper_tail = p > 0.5
    pc = 1.0 - p
    am1, bm1 = a - 1.0, b - 1.0
    prev = np.full(x.shape, np.inf)
    active = np.ones(x.shape, dtype=bool)
    idx = np.arange(x.size)
    for _ in range(_PPF_MAX_ITER):
        i = idx[active]
        if i.size == 0:
            break
        xi, ai, bi = x[i], a[i], b[i]
        cdf, sf = _betainc_pair(ai, bi, xi)
        # f = I_x - p, from whichever side is small
        f = np.where(upper_tail[i], pc[i] - sf, cdf - p[i])
        above = f > 0
        hi[i] = np.where(above, xi, hi[i])
        lo[i] = np.where(above, lo[i], xi)
        with np.errstate(all="ignore"):
            pdf = np.exp(_log_front(ai, bi, xi) - np.log(xi) - np.log1p(-xi))
            dx = f / pdf
            curv = am1[i] / xi - bm1[i] / (1.0 - xi)  # d log pdf / dx
            corr = 1.0 - 0.5 * dx * curv
            step = np.where(np.isfinite(corr) & (corr > 0.5), dx / corr, dx)
            new = xi - step
        li, hi_ = lo[i], hi[i]
        # Safeguards (as in rtsafe): bisect when the step leaves the bracket
        # or does not at least halve the step before it (far in a tail, where
        # the pdf is tiny, Halley steps crawl).
        newton_ok = (np.isfinite(new) & (new >= li) & (new <= hi_)
                     & (np.abs(step) <= 0.5 * prev[i]))
        with np.errstate(all="ignore"):
            bis = np.where((li > 0) & (hi_ > 4.0 * li), np.sqrt(li * hi_), 0.5 * (li + hi_))
        new = np.where(f == 0, xi, np.where(newton_ok, new, bis))
        taken = np.abs(new - xi)
        prev[i] = np.where(newton_ok, taken, np.inf)
        # Halley converges cubically: once K |step|^3 (K ~ the scale of
        # f''' / f') is negligible, the step just taken has already landed.
        with np.errstate(all="ignore"):
            k3 = curv * curv + np.abs(am1[i]) / (xi * xi) + np.abs(bm1[i]) / ((1.0 - xi) * (1.0 - xi))
            landed = newton_ok & (corr > 0.5) & (corr < 2.0) & (k3 * taken**3 <= 1e-17 * np.abs(new))
        done = (f == 0) | landed | (taken <= 4e-16 * np.abs(xi)) | (hi_ - li <= 4e-16 * hi_)
        x[i] = new
        active[i] = ~done
    return x


def beta_ppf(p, a, b):
    """Quantile function of the Beta(a, b) distribution (= ``scipy.stats.beta.ppf``).

    Examples
    --------
    >>> from fastcal.uncertainty.special import beta_ppf
    >>> round(float(beta_ppf(0.5, 2.0, 2.0)), 12)
    0.5
    """
    p, a, b = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(p, a, b))
    shape = p.shape
    p, a, b = p.ravel(), a.ravel(), b.ravel()
    out = np.full(p.shape, np.nan)
    out[(p == 0.0) & (a > 0) & (b > 0)] = 0.0
    out[(p == 1.0) & (a > 0) & (b > 0)] = 1.0
    inner = (p > 0.0) & (p < 1.0) & (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b)
    flip = a > b  # solve for the variable whose mean is <= 1/2
    m = inner & ~flip
    if m.any():
        out[m] = _beta_ppf_low(a[m], b[m], p[m])
    m = inner & flip
    if m.any():
        out[m] = 1.0 - _beta_ppf_low(b[m], a[m], 1.0 - p[m])
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out
