"""The versioned state of a :class:`~fastcal.CalibrationAccumulator`: to a
JSON-serialisable dict, and back with every value checked (the settings as
the constructor checks them, counts, sums, lengths, the AUROC and bootstrap
states), an invalid one named by its field."""

import math

import numpy as np

from .._kernels.streaming import accumulate as KA
from ..core import validation as V
from . import small_batch as _small_path
from .auroc_accumulator import AUROCAccumulator
from .shared import (
    _AUROC_MODES,
    _NLL_MODES,
    _RENORM_HALF_LIVES,
    _WEXP_BOUND,
    MIN_HALF_LIFE,
    IncompatibleMerge,
    _lo_where_infinite,
    new_exponent,
    scale_hist,
)

# 2: optional bootstrap replicate state (version-1 states still load)
# 3: weight_exp (the sums and the AUROC histogram hold weights * 2**-weight_exp)
_STATE_VERSION = 3
from ..core.state_check import Check


def state_dict(acc, arrays=False):
    """``acc``'s state (the caller holds its lock); ``arrays``: numpy copies
    instead of lists (pickling)."""
    def arr(a):
        if a is None:
            return None
        return a.copy() if arrays else a.tolist()

    return {
        "format": "fastcal.CalibrationAccumulator",
        "version": _STATE_VERSION,
        "settings": acc._settings(),
        "layout": acc._layout,
        "n_classes": acc._n_classes,
        "n": int(acc._n),
        "weighted": bool(acc._weighted),
        "weight_exp": int(acc._wexp),
        "nll_modes": sorted(acc._nll_modes),
        "t": float(acc._t),
        "hi": arr(acc._hi),
        "lo": arr(acc._lo),
        "auroc_state": (None if acc._auc is None
                        else acc._auc.copy() if arrays else acc._auc.to_dict()),
        "bootstrap": (None if acc._boot is None else
                      {"settings": dict(acc._boot_settings),
                       "state": acc._boot.__getstate__() if arrays
                       else _boot_json(acc._boot)}),
    }


def validated_state(d, pickled=False):
    """The checked fields of a state dict (:func:`state_dict`'s or a pickle's)."""
    if not isinstance(d, dict) or d.get("format") != "fastcal.CalibrationAccumulator":
        raise ValueError("not a fastcal.CalibrationAccumulator state (missing format tag).")
    C = Check("pickled CalibrationAccumulator" if pickled else "CalibrationAccumulator")

    def newer(v):
        raise ValueError(
            f"CalibrationAccumulator state version {v!r} is newer than this fastcal "
            f"understands ({_STATE_VERSION}); upgrade fastcal.")

    version = C.version(C.get(d, "version", "version"), range(1, _STATE_VERSION + 1), newer)
    s = C.mapping(C.get(d, "settings", "settings"), "settings")
    n_bins = C.integer(C.get(s, "n_bins", "settings.n_bins"), "settings.n_bins", lo=1,
                       hi=1_000_000)
    right = C.boolean(C.get(s, "right", "settings.right"), "settings.right")
    classwise = C.boolean(C.get(s, "classwise", "settings.classwise", False),
                          "settings.classwise")
    auroc = C.choice(C.get(s, "auroc", "settings.auroc"), "settings.auroc",
                     (None,) + _AUROC_MODES)
    hl = C.get(s, "half_life", "settings.half_life")
    if hl is not None:
        hl = C.real(hl, "settings.half_life", lo=MIN_HALF_LIFE)
        if auroc == "exact":
            C.fail("settings.auroc", "'bounded' or None with a half_life", auroc)
    boot_keys = ("n_resamples", "random_state", "ci")
    known = {"n_bins", "right", "classwise", "auroc", "half_life", *boot_keys}
    extra = sorted(str(k) for k in s if k not in known)
    if extra:
        C.fail("settings", f"a dict of the keys {', '.join(sorted(known))}",
               f"unknown key {extra[0]}")
    bt = C.get(d, "bootstrap", "bootstrap", None)  # absent in version-1 states
    if bt is None:
        if any(k in s for k in boot_keys):
            C.fail("bootstrap", "a bootstrap state when settings has n_resamples", None)
        boot_settings = boot = None
    else:
        if hl is not None:
            C.fail("bootstrap", "None with a half_life (replicates cannot forget)", "a state")
        boot_settings, boot = _boot_load(C, C.mapping(bt, "bootstrap"), s, n_bins, right,
                                         pickled)
    layout = C.choice(C.get(d, "layout", "layout"), "layout", (None, "binary", "top-label"))
    nc = C.get(d, "n_classes", "n_classes")
    if layout == "top-label":
        nc = C.integer(nc, "n_classes", lo=2)
    elif nc is not None:
        C.fail("n_classes", f"None for layout {layout!r}", nc)
    if classwise and layout == "binary":
        C.fail("layout", "'top-label' or None with classwise=True", layout)
    n = C.integer(C.get(d, "n", "n"), "n")
    weighted = C.boolean(C.get(d, "weighted", "weighted"), "weighted")
    wexp = 0  # versions 1-2: weights as given
    if version >= 3:
        wexp = C.integer(C.get(d, "weight_exp", "weight_exp"), "weight_exp",
                         lo=-_WEXP_BOUND, hi=_WEXP_BOUND)
        if wexp and not weighted:
            C.fail("weight_exp", "0 when no batch had weights (weighted is False)", wexp)
    modes = C.get(d, "nll_modes", "nll_modes")
    if not isinstance(modes, (list, tuple, set)):
        C.fail("nll_modes", "a list of NLL modes", modes)
    for k, m in enumerate(modes):
        C.choice(m, f"nll_modes[{k}]", _NLL_MODES)
    if len(set(modes)) != len(modes):
        C.fail("nll_modes", "a list of distinct NLL modes", list(modes))
    if hl is None:
        t = C.real(C.get(d, "t", "t"), "t", lo=0.0, hi=0.0)
    else:  # the clock is renormalised to at most _RENORM_HALF_LIVES half-lives
        t = C.real(C.get(d, "t", "t"), "t", lo=0.0, hi=(_RENORM_HALF_LIVES + 1) * hl)
    size = None if layout is None else 3 * n_bins + 2 + (
        nc * 3 * n_bins if classwise else 0)
    hl_arr = {}
    for name in ("hi", "lo"):
        a = C.get(d, name, name)
        if (a is None) != (layout is None):
            C.fail(name, "None exactly when layout is None (no batch yet)", a)
        if a is not None:
            a = C.array(a, name, length=size, finite=False)
            # finite, but for an infinite NLL sum (a masked logit on the label)
            nll = 3 * n_bins + 1
            bad = np.flatnonzero(~np.isfinite(a))
            for i in bad:
                if not (name == "hi" and i == nll and a[i] == np.inf):
                    C.fail(f"{name}[{i}]", "a finite number (hi: or +inf for the NLL sum)",
                           float(a[i]))
        hl_arr[name] = a
    hi, lo = hl_arr["hi"], hl_arr["lo"]
    if hi is not None and np.isinf(hi[3 * n_bins + 1]) and lo[3 * n_bins + 1] != 0.0:
        C.fail(f"lo[{3 * n_bins + 1}]", "0 where the NLL sum is infinite",
               float(lo[3 * n_bins + 1]))
    if hi is not None:
        _check_sums(C, hi, lo, n_bins, classwise, nc, n, weighted or hl is not None)
    a = C.get(d, "auroc_state", "auroc_state")
    if (a is None) != (auroc is None):
        C.fail("auroc_state", "None exactly when settings.auroc is None", a)
    if a is not None:
        if isinstance(a, dict):
            a = AUROCAccumulator.from_dict(a)
        elif not isinstance(a, AUROCAccumulator):
            C.fail("auroc_state", "an AUROCAccumulator state", a)
        else:
            a = a.copy()
        if a._settings() != (auroc == "exact", None, None):
            C.fail("auroc_state", f"an AUROCAccumulator(exact={auroc == 'exact'}) state "
                   "on [0, 1]", a)
        if a.n != n:
            C.fail("auroc_state.n", f"the accumulator's n ({n})", a.n)
        if not a._exact and a._wexp != wexp:
            C.fail("auroc_state.weight_exp", f"the accumulator's weight_exp ({wexp})",
                   a._wexp)
        if not a._exact and not (isinstance(a._hist, np.ndarray)
                                 and a._hist.shape == (AUROCAccumulator.N_CELLS, 3)):
            C.fail("auroc_state", "a histogram of shape (188419, 3)", a._hist)
    if boot is not None:
        claimed = sum(h - l for rs in boot.ranges.values() for l, h in rs)
        if claimed != n:
            C.fail("bootstrap.state.ranges", f"row ranges covering n = {n} rows",
                   f"{claimed} rows")
    return dict(n_bins=n_bins, right=right, classwise=classwise, auroc=auroc, half_life=hl,
                boot_settings=boot_settings, boot=boot, auc=a, layout=layout, n_classes=nc,
                n=n, weighted=weighted, wexp=wexp, modes=modes, t=t, hi=hi, lo=lo)


# The checked values that load_into sets as they are, each as the accumulator's
# attribute of the same name with a leading underscore.
_LOADED_AS_IS = ("n_bins", "right", "classwise", "auroc", "half_life", "boot_settings", "boot",
                 "auc", "layout", "n_classes", "n", "weighted", "wexp", "t")


def load_into(acc, d, pickled=False):
    """Set ``acc``'s settings and state from a state dict (:func:`state_dict`'s
    or a pickle's), once every value is checked (:func:`validated_state`)."""
    v = validated_state(d, pickled)
    for name in _LOADED_AS_IS:
        setattr(acc, "_" + name, v[name])
    acc._edges = V.uniform_edges(v["n_bins"])
    acc._nll_modes = set(v["modes"])
    acc._dd = acc._hi = acc._lo = None  # _dd (2, size): its rows _hi and _lo
    if v["hi"] is not None:
        acc._dd = np.stack([v["hi"], v["lo"]])
        acc._hi, acc._lo = acc._dd


# Tolerance of the per-bin checks: a bin's sum of confidences (or of correct
# outcomes) is at most its weight, up to the rounding of the batch sums.
_SUM_RTOL = 1e-6


def _check_sums(C, hi, lo, n_bins, classwise, nc, n, weighted):
    """The sums are non-negative, finite in total, no bin has more
    confidence or correct weight than weight, and unweighted counts add up to n."""
    tot = hi + lo
    bad = np.flatnonzero((hi < 0) | ~(tot >= 0))
    if bad.size:
        C.fail(f"hi[{bad[0]}] + lo[{bad[0]}]", "a non-negative sum",
               float(tot[bad[0]]))
    blocks = [("hi[0:3 n_bins]", tot[:3 * n_bins].reshape(3, n_bins))]
    if classwise:
        cw = tot[3 * n_bins + 2:].reshape(nc, 3, n_bins)
        blocks += [(f"hi[classwise block {k}]", cw[k]) for k in range(min(nc, 2))]
        blocks.append(("hi[classwise blocks]", cw.transpose(1, 0, 2).reshape(3, -1)))
    with np.errstate(over="ignore", invalid="ignore"):
        for field, b in blocks:
            w, c, k = b
            if not (math.isfinite(w.sum()) and math.isfinite(c.sum()) and math.isfinite(k.sum())):
                C.fail(field, "sums with finite totals", "totals that overflow")
            slack = w * _SUM_RTOL + 1e-300
            j = np.flatnonzero((c > w + slack) | (k > w + slack))
            if j.size:
                C.fail(f"{field} (bin {j[0]})", "confidence and correct sums at most the bin's "
                       f"weight {float(w[j[0]])!r}",
                       f"confidence {float(c[j[0]])!r}, correct {float(k[j[0]])!r}")
    if not weighted:
        w = tot[:n_bins]
        if not (np.all(w == np.floor(w)) and w.sum() == n):
            C.fail("hi[0:n_bins]", f"integer counts adding up to n = {n} (unweighted)",
                   f"counts adding up to {float(w.sum())!r}")


def _boot_json(boot):
    version, d = boot.__getstate__()
    return {"version": version, "edges": d["edges"].tolist(), "n_resamples": d["n_resamples"],
            "seed": d["seed"], "right": d["right"], "stream": d["stream"], "rows": d["rows"],
            "ranges": {str(k): [list(r) for r in v] for k, v in d["ranges"].items()},
            "state": d["state"].tolist(), "has_scores": d["has_scores"],
            "weight_exp": d["weight_exp"]}


_U64 = 2 ** 64 - 1


def _boot_load(C, bt, s, n_bins, right, pickled):
    """(settings, BootstrapState) from a state's ``bootstrap`` entry, every
    value checked against the accumulator's settings."""
    from ..uncertainty.bootstrap import BootstrapState, coalesce

    bs = C.mapping(C.get(bt, "settings", "bootstrap.settings"), "bootstrap.settings")
    R = C.integer(C.get(bs, "n_resamples", "bootstrap.settings.n_resamples"),
                  "bootstrap.settings.n_resamples", lo=2)
    seed = C.integer(C.get(bs, "seed", "bootstrap.settings.seed"), "bootstrap.settings.seed",
                     hi=_U64)
    stream = C.integer(C.get(bs, "stream", "bootstrap.settings.stream"),
                       "bootstrap.settings.stream", hi=_U64)
    ci = C.real(C.get(bs, "ci", "bootstrap.settings.ci"), "bootstrap.settings.ci", lo=0.0,
                hi=1.0, lo_open=True)
    if ci == 1.0:
        C.fail("bootstrap.settings.ci", "strictly between 0 and 1", bs["ci"])
    for key, want in (("n_resamples", R), ("random_state", seed), ("ci", ci)):
        v = C.get(s, key, f"settings.{key}")
        if v != want or isinstance(v, bool):
            C.fail(f"settings.{key}", f"bootstrap.settings' value {want!r}", v)
    st = C.get(bt, "state", "bootstrap.state")
    if pickled and isinstance(st, tuple) and len(st) == 2:
        version, st = st
    else:
        st = C.mapping(st, "bootstrap.state")
        version = C.get(st, "version", "bootstrap.state.version")
    C.version(version, range(1, BootstrapState._VERSION + 1), field="bootstrap.state.version")
    C.mapping(st, "bootstrap.state")
    f = "bootstrap.state."
    edges = C.array(C.get(st, "edges", f + "edges"), f + "edges", length=n_bins + 1)
    if not np.array_equal(edges, V.uniform_edges(n_bins)[0]):
        C.fail(f + "edges", f"np.linspace(0, 1, {n_bins + 1})", edges.tolist())
    for key, want in (("n_resamples", R), ("seed", seed), ("stream", stream)):
        v = C.get(st, key, f + key)
        if v != want or isinstance(v, bool):
            C.fail(f + key, f"bootstrap.settings' value {want!r}", v)
    if C.boolean(C.get(st, "right", f + "right"), f + "right") != right:
        C.fail(f + "right", f"settings.right ({right!r})", st["right"])
    rows = C.integer(C.get(st, "rows", f + "rows"), f + "rows")
    ranges = C.mapping(C.get(st, "ranges", f + "ranges"), f + "ranges")
    out = {}
    for key, rs in ranges.items():
        k = key
        if not pickled and isinstance(key, str) and key.isdigit():
            k = int(key)
        k = C.integer(k, f"{f}ranges key", hi=_U64)
        if not isinstance(rs, list):
            C.fail(f"{f}ranges[{key!r}]", "a list of [lo, hi) row ranges", rs)
        got = []
        for j, r in enumerate(rs):
            fj = f"{f}ranges[{key!r}][{j}]"
            if not (isinstance(r, (list, tuple)) and len(r) == 2):
                C.fail(fj, "a pair [lo, hi)", r)
            a = C.integer(r[0], fj + "[0]")
            b = C.integer(r[1], fj + "[1]", lo=a + 1)
            for a2, b2 in got:
                if a < b2 and a2 < b:
                    C.fail(fj, "a row range disjoint from the others of its stream", [a, b])
            if k == stream and b > rows:
                C.fail(fj, f"a range of rows below bootstrap.state.rows ({rows})", [a, b])
            got.append((a, b))
        if k in out:
            C.fail(f"{f}ranges", "a dict with one entry per stream", f"stream {k} twice")
        out[k] = coalesce(got)
    state = C.array(C.get(st, "state", f + "state"), f + "state", shape=(3 * n_bins + 2, R),
                    lo=0.0)
    hs = C.get(st, "has_scores", f + "has_scores")
    if hs is not None:
        hs = C.boolean(hs, f + "has_scores")
    bexp = 0  # version 1: weights as given
    if version >= 2:
        bexp = C.integer(C.get(st, "weight_exp", f + "weight_exp"), f + "weight_exp",
                         lo=-_WEXP_BOUND, hi=_WEXP_BOUND)
    extra = sorted(str(k) for k in st if k not in {
        "version", "edges", "n_resamples", "seed", "right", "stream", "rows", "ranges", "state",
        "has_scores", "weight_exp"})
    if extra:
        C.fail(f[:-1], "a BootstrapState", f"unknown key {extra[0]}")
    b = BootstrapState.__new__(BootstrapState)
    b.__setstate__((version, {"edges": edges, "n_resamples": R, "seed": seed, "right": right,
                              "stream": stream, "rows": rows, "ranges": out, "state": state,
                              "has_scores": hs, "weight_exp": bexp}))
    return {"n_resamples": R, "seed": seed, "stream": stream, "ci": ci}, b


def check_compatible(acc, other):
    from .accumulator import CalibrationAccumulator  # (it imports this module)

    if not isinstance(other, CalibrationAccumulator):
        raise TypeError(f"cannot merge a CalibrationAccumulator with {type(other).__name__}.")
    if (acc._boot_settings is None) != (other._boot_settings is None):
        raise IncompatibleMerge(
            f"cannot merge {acc._describe()} with {other._describe()}: one keeps bootstrap "
            "replicates (n_resamples) and the other does not, so the merged state could "
            "have no intervals. Create both with the same n_resamples, random_state and ci "
            "(and distinct streams).")
    mine, theirs = acc._settings(), other._settings()
    bad = [k for k, v in mine.items() if theirs[k] != v]
    if (acc._layout is not None and other._layout is not None
            and (acc._layout, acc._n_classes) != (other._layout, other._n_classes)):
        bad.append("layout")
    if bad:
        raise ValueError(
            f"cannot merge {acc._describe()} with {other._describe()}: "
            f"{', '.join(bad)} differ{'s' if len(bad) == 1 else ''}.")


def merge_into(acc, other):
    acc._check_compatible(other)
    if other._hi is None:
        return acc
    boot = None
    if acc._boot is not None:  # first: the only merge step that can fail
        import copy

        boot = copy.copy(acc._boot).merge(other._boot)  # new arrays, acc._boot intact
    ohi, olo = other._hi, other._lo
    oauc = other._auc
    # one weight scale: the larger of the two (the other state rescaled exactly)
    mine, theirs = acc._wexp, other._wexp
    empty = acc._hi is None or not acc._hi.any()  # no weight
    to = new_exponent(mine, theirs, not other._hi.any(), empty)
    if theirs != to:
        ohi, olo = np.ldexp(ohi, theirs - to), np.ldexp(olo, theirs - to)
        if acc._auroc == "bounded":
            oauc = oauc.copy()
            scale_hist(oauc._hist, theirs - to)
            oauc._wexp = to
    if mine != to and not empty:
        acc._rescale(mine - to)
    acc._wexp = to
    if acc._auroc == "bounded":
        acc._auc._wexp = to
    if acc._half_life is not None and acc._hi is not None:
        # align both weight references to the later one (parallel shards end "now")
        dt = acc._t - other._t
        if dt >= 0:
            f = math.exp2(dt / acc._half_life)
            ohi, olo = ohi * f, olo * f
            if oauc is not None:
                oauc = oauc.copy()
                oauc._hist[:, :2] *= f
        else:
            f = math.exp2(-dt / acc._half_life)
            KA.scale_state(acc._hi, acc._lo, f)
            if acc._auc is not None:
                acc._auc._hist[:, :2] *= f
            acc._t = other._t
    elif acc._half_life is not None:
        acc._t = other._t
    if acc._hi is None:
        acc._alloc(other._layout, other._n_classes)
    hi, lo = acc._hi, acc._lo
    with np.errstate(invalid="ignore"):  # inf - inf where the NLL sum is infinite
        s = hi + ohi
        bb = s - hi
        err = (hi - (s - bb)) + (ohi - bb)
        lo[:] = _lo_where_infinite(s, lo + olo + err)
    hi[:] = s
    if acc._auc is not None:
        acc._auc.merge(oauc)
    if boot is not None:
        acc._boot = boot
    acc._n += other._n
    acc._weighted |= other._weighted
    acc._nll_modes |= other._nll_modes
    _small_path.plan(acc)
    return acc
