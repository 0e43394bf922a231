"""Bounded-memory AUROC: a per-class weight histogram over fixed score cells.

State layout
------------
One C-contiguous float64 array ``hist`` of shape ``(N_CELLS, 3)``; row ``c``
is cell ``c``:

* ``hist[c, 0]``: total weight of negatives (label 0) whose score falls in cell ``c``;
* ``hist[c, 1]``: total weight of positives (label 1) in cell ``c``;
* ``hist[c, 2]``: the score seen in cell ``c``: ``EMPTY`` (+inf) while no sample
  with positive weight has landed there, the score itself (float64, ``-0.0``
  stored as ``+0.0``) while every such sample had that same score, ``MIXED``
  (-inf) once two different scores did.

So ``hist[cell_of(s), t] += w`` adds weight ``w`` of a sample with score ``s``
in [0, 1] and label ``t``; :func:`add` does that and updates column 2.  A
kernel that only adds to columns 0-1 leaves column 2 at ``EMPTY``;
:func:`hist_auroc` then treats the cell as holding different scores (a
valid, wider interval).  A kernel must do one or the other for a given
state, not both: a cell whose column 2 was set by :func:`add` after weight
arrived without it would claim a single score.  :func:`new_hist` makes an
empty state.  Multiplying columns 0-1 by a power of two (exponential decay)
keeps every property.

The three values of a cell are adjacent, so a sample touches one cache
line (separate rows cost 2.3x the time of this layout on random scores).
Two states merge with :func:`merge_into` (columns 0-1 add, column 2 joins),
which is commutative and associative: for integer weights (counts) the
merged state is bitwise the same whatever the split and the order.  Counts
are exact integers in float64 up to 2**53 (9.0e15) per cell: they never
overflow.

Cell map
--------
:func:`cell_of` is monotone non-decreasing on [0, 1] and resolves scores
relative to their distance from the nearer end, 0 or 1, where classifier
and LLM confidences concentrate.  For ``x = s`` (``s <= 0.5``) or
``x = 1 - s`` (``s > 0.5``; exact in float64 by Sterbenz's lemma), the cell
is the float64 bit pattern of ``x`` shifted right by 40: the exponent and the
top ``MANT_BITS = 12`` mantissa bits, i.e. 4096 cells per binade
``[2**e, 2**(e + 1))`` for ``e = -24 .. -2``, plus one cell for ``x = 0.5``;
every ``x < 2**-24`` (float16's smallest subnormal) shares index 0.  The
upper half mirrors the lower: ``cell = 2 * HALF - index(1 - s)``, so
``s < 2**-24`` is cell 0 and ``s > 1 - 2**-24`` is cell ``N_CELLS - 1``.

* ``N_CELLS = 188419`` cells per class (2**17.52); the state is
  188419 x 3 x 8 bytes = 4.3 MiB.
* Widest cells: ``2**-14 = 6.1e-5``, for s in [0.25, 0.5) and (0.5, 0.75];
  in general a cell spans at most ``2**-12`` (2.4e-4) of the distance to
  the nearer end, down to ``2**-24`` (5.96e-8) from it.
* Exact (no two distinct scores share a cell) for every float16 value in
  [0, 1] (at most 11 significant bits, all at least 2**-24 apart from 0 and
  1), for scores rounded to 3 or 4 decimals (spacing 1e-4 > 6.1e-5), and
  for any two scores whose distances to the nearer end differ by more than
  ``2**-12`` of the larger one (and both exceed ``2**-24``).

Entry points (pure @njit; no validation, no defaults; docs/design.md, section 1):

``cell_of(s) -> int64``: cell of one float64 score; always in
``[0, N_CELLS)`` (NaN goes to the middle cell, values outside [0, 1] to
the end cells), so a kernel cannot write out of bounds.
``new_hist() -> hist``: an empty state.
``add(hist, t, s, w)``: add one sample (``t`` 0/1, ``s`` in [0, 1], ``w > 0``).
``merge_into(dst, src)``: merge two states.
``hist_auroc(hist) -> (auc, half_width)``: the estimate and the certified
half-width (NaN, NaN when a class has no weight).
``hist_bounds(hist) -> (auc, low, high)``: the estimate and the interval,
with float rounding accounted for (what ``AUROCAccumulator.bounds`` returns).
``logit_cell(z) -> int64``: cell of an unbounded score (``transform="sigmoid"``).
``update(hist, y, s, w, lo, hi, affine, logit) -> (code, index)``: one
batch, validated first (``hist`` untouched when it is not valid).
"""

import numpy as np
from numba import njit

from ..common import BAD_BINARY_LABEL, BAD_PROB, BAD_SCORE, BAD_WEIGHT, OK, OPTS

MANT_BITS = 12
_SHIFT = 52 - MANT_BITS
# index of the smallest resolved value 2**-24: its key minus this is 1
_LOW = int(np.float64(2.0 ** -24).view(np.int64) >> _SHIFT) - 1
# index of 0.5 (the middle cell) and the number of cells
HALF = int(np.float64(0.5).view(np.int64) >> _SHIFT) - _LOW
N_CELLS = 2 * HALF + 1
EMPTY = np.inf
MIXED = -np.inf
_INF = np.inf
_EPS = np.finfo(np.float64).eps

# Unbounded scores (transform="sigmoid"): see logit_cell.
LOGIT_MID = 16.0
_LOGIT_SCALE = 4096.0
_LOGIT_HALF_GRID = int(LOGIT_MID * _LOGIT_SCALE)  # 65536 cells on each side of 0
LOGIT_TAIL_BITS = 10
_LOGIT_SHIFT = 52 - LOGIT_TAIL_BITS
_LOGIT_KEY16 = int(np.float64(LOGIT_MID).view(np.int64) >> _LOGIT_SHIFT)
LOGIT_TAIL = 28 << LOGIT_TAIL_BITS  # binades 2**4 .. 2**32
assert 2 * LOGIT_TAIL + 2 * _LOGIT_HALF_GRID + 2 <= N_CELLS
_TWO53 = 2.0 ** 53


@njit(**OPTS)
def tail_index(x):
    """Cell index in [0, HALF] of x in [0, 0.5] (monotone non-decreasing)."""
    k = (np.float64(x).view(np.int64) >> _SHIFT) - _LOW
    if k < 0:  # below 2**-24 (and negative x)
        k = 0
    if k > HALF:  # above 0.5, NaN
        k = HALF
    return k


@njit(**OPTS)
def cell_of(s):
    """Cell of a float64 score s in [0, 1]: monotone non-decreasing in s."""
    # min(s, 1 - s) is s for s <= 0.5 and the exact 1 - s above (branch-free:
    # a mispredicted branch on random scores costs more than the rest)
    k = tail_index(min(s, 1.0 - s))
    return 2 * HALF - k if s > 0.5 else k


@njit(**OPTS)
def new_hist():
    """An empty state: zero weights, column 2 EMPTY."""
    h = np.zeros((N_CELLS, 3))
    h[:, 2] = EMPTY
    return h


@njit(**OPTS)
def join(a, b):
    """Join of two column-2 entries (commutative, associative, idempotent)."""
    if a == EMPTY:
        return b
    if b == EMPTY or a == b:
        return a
    return MIXED


@njit(**OPTS)
def add_cell(hist, t, c, v, w):
    """Add weight w of label t and raw score v (finite) to cell c."""
    hist[c, t] += w
    if w > 0.0:
        r = hist[c, 2]
        v = v + 0.0  # -0.0 -> +0.0
        hist[c, 2] = v if (r == EMPTY or r == v) else MIXED


@njit(**OPTS)
def add(hist, t, s, w):
    """Add weight w of a sample with label t (0/1) and score s in [0, 1]."""
    add_cell(hist, t, cell_of(s), s, w)


@njit(**OPTS)
def merge_into(dst, src):
    """dst <- dst merged with src (the same layout)."""
    for c in range(dst.shape[0]):
        dst[c, 0] += src[c, 0]
        dst[c, 1] += src[c, 1]
        dst[c, 2] = join(dst[c, 2], src[c, 2])


@njit(**OPTS)
def _acc(s, c, x):
    """Neumaier compensated sum: (s, c) + x."""
    t = s + x
    if abs(s) >= abs(x):
        c += (s - t) + x
    else:
        c += (x - t) + s
    return t, c


@njit(**OPTS)
def hist_u(hist):
    """(u, h, wneg, wpos, exact): the Mann-Whitney sum from the histogram
    (pairs in one cell count 1/2), half the weight of pairs in cells whose
    scores may differ, the class totals, and whether all of it is exact
    (integer weights, 2 * wpos * wneg < 2**53)."""
    u = 0.0
    uc = 0.0
    h = 0.0
    hc = 0.0
    nb = 0.0  # negative weight in lower cells
    nbc = 0.0
    pw = 0.0
    pwc = 0.0
    integral = True
    for c in range(hist.shape[0]):
        a = hist[c, 0]
        p = hist[c, 1]
        if p > 0.0:
            u, uc = _acc(u, uc, p * ((nb + nbc) + 0.5 * a))
            if a > 0.0 and not (hist[c, 2] > -_INF and hist[c, 2] < _INF):
                h, hc = _acc(h, hc, 0.5 * (p * a))
            pw, pwc = _acc(pw, pwc, p)
            integral &= p == np.floor(p)
        if a > 0.0:
            nb, nbc = _acc(nb, nbc, a)
            integral &= a == np.floor(a)
    wneg = nb + nbc
    wpos = pw + pwc
    exact = integral and 2.0 * wpos * wneg < _TWO53
    return u + uc, h + hc, wneg, wpos, exact


@njit(**OPTS)
def hist_bounds(hist):
    """(auc, low, high): estimate and certified interval (NaNs when undefined).

    The interval is ``(U -/+ H) / (P N)``, widened by a few ulps unless the
    arithmetic was exact, and clipped to [0, 1]."""
    u, h, wneg, wpos, exact = hist_u(hist)
    if not (wpos > 0.0 and wneg > 0.0):
        return np.nan, np.nan, np.nan
    d = wpos * wneg
    auc = u / d
    # (u -/+ h) / d rounds once, as the exact value U / d does: when the
    # arithmetic is exact (integer weights) the interval holds it bitwise
    lo = (u - h) / d
    hi = (u + h) / d
    if not exact:
        slack = 16.0 * _EPS * hi
        lo -= slack
        hi += slack
    # rounding (non-integer weights) can push u / d a hair past 0 or 1; the exact
    # value cannot be, so the estimate is clipped like the bounds
    return min(max(auc, 0.0), 1.0), max(lo, 0.0), min(hi, 1.0)


@njit(**OPTS)
def hist_auroc(hist):
    """(auc, half_width): the AUROC estimate from the histogram and the
    certified half-width (the exact AUROC lies in auc -/+ half_width up to
    float rounding); (NaN, NaN) when a class has no weight."""
    u, h, wneg, wpos, exact = hist_u(hist)
    if not (wpos > 0.0 and wneg > 0.0):
        return np.nan, np.nan
    d = wpos * wneg
    return u / d, h / d


# ---------------------------------------------------------------------------
# one batch


@njit(**OPTS)
def check(y, s, w, lo, hi):
    """(code, index) of the first invalid element: labels 0/1, scores finite
    and in [lo, hi], weights finite and >= 0.  Branch-free scan first."""
    n = s.shape[0]
    ok = True
    for i in range(n):
        yi = y[i]
        v = np.float64(s[i])
        ok &= (yi == 0) | (yi == 1)
        ok &= (v >= lo) & (v <= hi) & (v > -_INF) & (v < _INF)
        if w is not None:
            wi = w[i]
            ok &= (wi >= 0.0) & (wi < _INF)
    if ok:
        return OK, -1
    for i in range(n):
        yi = y[i]
        if not ((yi == 0) | (yi == 1)):
            return BAD_BINARY_LABEL, i
        v = np.float64(s[i])
        if not (v > -_INF and v < _INF):
            return BAD_SCORE, i
        if not (v >= lo and v <= hi):
            return BAD_PROB, i
        if w is not None:
            wi = w[i]
            if not (wi >= 0.0 and wi < _INF):
                return BAD_WEIGHT, i
    return OK, -1  # pragma: no cover


@njit(**OPTS)
def logit_cell(z):
    """Cell of an unbounded score z (a logit): monotone non-decreasing in z,
    from exact operations only (no exp, so the order is kept exactly).

    ``|z| < 16``: a uniform grid of ``2**-12`` (``floor(z * 4096)``, exact),
    the resolution that cells on ``sigmoid(z)`` have there; ``|z| >= 16``:
    ``2**LOGIT_TAIL_BITS`` cells per binade (``2**-10`` relative) up to
    ``2**32``, beyond which scores share the end cells.
    """
    a = abs(z)
    if a < LOGIT_MID:
        k = np.int64(np.floor(z * _LOGIT_SCALE))  # in [-65536, 65535]
        k = min(max(k, -_LOGIT_HALF_GRID), _LOGIT_HALF_GRID - 1)
        return LOGIT_TAIL + 1 + _LOGIT_HALF_GRID + k
    t = (np.float64(a).view(np.int64) >> _LOGIT_SHIFT) - _LOGIT_KEY16
    t = min(max(t, 0), LOGIT_TAIL)  # NaN: in range
    if z > 0.0:
        return LOGIT_TAIL + 1 + 2 * _LOGIT_HALF_GRID + t
    return LOGIT_TAIL - t


@njit(**OPTS)
def score_cell(v, lo, width, affine, logit):
    """Cell of a raw (validated) score under the accumulator's setting."""
    if logit is not None:
        return logit_cell(v)
    if affine is not None:
        return cell_of((v - lo) / width)
    return cell_of(v)


@njit(**OPTS)
def update(hist, y, s, w, lo, hi, affine, logit):
    """Validate the batch, then add it; (code, index) of the first invalid
    element (hist untouched) or (OK, -1).

    Scores are checked against [lo, hi] (pass -inf, inf with ``logit``,
    0, 1 for plain probabilities); ``affine`` maps [lo, hi] onto [0, 1] by
    ``(s - lo) / (hi - lo)`` (monotone: correctly rounded operations), and
    ``logit`` places unbounded scores with :func:`logit_cell`.
    """
    code, idx = check(y, s, w, lo, hi)
    if code != OK:
        return code, idx
    width = hi - lo
    for i in range(s.shape[0]):
        v = np.float64(s[i])
        t = np.intp(y[i] != 0)
        c = score_cell(v, lo, width, affine, logit)
        wi = 1.0 if w is None else w[i]
        add_cell(hist, t, c, v, wi)
    return OK, -1


@njit(**OPTS)
def first_misplaced(idx, rep, lo, width, affine, logit):
    """Position of the first remembered score that does not fall in its cell, or -1."""
    for k in range(idx.shape[0]):
        r = rep[k]
        if r == EMPTY or r == MIXED:
            continue
        if score_cell(r, lo, width, affine, logit) != idx[k]:
            return k
    return -1
