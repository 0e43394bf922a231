"""Correctness of the functional metrics (docs/design.md, sections 2, 3 and 8).

fastcal is checked against the slow references in ``reference.py`` and
against scikit-learn, on inputs built to sit exactly on bin edges (the
float64 edges, ``k / n_bins``, their float32 roundings and neighbours), at 0
and 1, with ties, tiny and single-class inputs, float32 and float64, binary
and multiclass (C = 2..7), probabilities and logits, with and without
weights.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

import fastcal
import reference as ref

NORMS = ("l1", "l2", "max", "signed")
RTOL = 1e-12
ATOL = 1e-12


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    actual = float(actual)
    expected = float(expected)
    if math.isnan(expected):
        assert math.isnan(actual), f"{what}: expected nan, got {actual!r}"
        return
    assert math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol), (
        f"{what}: fastcal {actual!r} != expected {expected!r} (diff {actual - expected:.3g})"
    )


def assert_curve_close(curve, expected, weighted, what="", edges_ulp=0):
    """``edges_ulp``: quantile edges are data values, so edges of confidences that
    come through an exponential (softmax of logits: the kernel's vectorised exp vs
    the reference's libm exp) may differ by an ulp or two; 0 = bitwise."""
    edges, W, conf, acc = expected
    if edges_ulp:
        np.testing.assert_array_max_ulp(curve.edges, edges, maxulp=edges_ulp)
    else:
        np.testing.assert_array_equal(curve.edges, edges, err_msg=f"{what}: edges")
    if weighted:
        np.testing.assert_allclose(curve.count, W, rtol=RTOL, atol=ATOL, err_msg=f"{what}: count")
    else:
        assert curve.count.dtype == np.int64, curve.count.dtype
        np.testing.assert_array_equal(curve.count, W.astype(np.int64), err_msg=f"{what}: count")
    np.testing.assert_allclose(curve.confidence, conf, rtol=RTOL, atol=ATOL, equal_nan=True,
                               err_msg=f"{what}: confidence")
    np.testing.assert_allclose(curve.accuracy, acc, rtol=RTOL, atol=ATOL, equal_nan=True,
                               err_msg=f"{what}: accuracy")


# ---------------------------------------------------------------------------
# strategies


def edge_values(n_bins):
    """Values on and next to the bin edges: the float64 linspace edges, k / n_bins,
    their float32 roundings (float32(0.1) != 0.1 in float64) and the neighbouring
    floats, plus 0 and 1."""
    vals = {0.0, 1.0}
    e = np.linspace(0.0, 1.0, n_bins + 1)
    for k in range(n_bins + 1):
        for v in (float(e[k]), k / n_bins):
            f = np.float32(v)
            for x in (v, np.nextafter(v, 0.0), np.nextafter(v, 1.0),
                      f, np.nextafter(f, np.float32(0)), np.nextafter(f, np.float32(1))):
                vals.add(float(x))
    return sorted(v for v in vals if 0.0 <= v <= 1.0)


DTYPES = st.sampled_from([np.float64, np.float32])
# The switches that select a compiled specialisation of the binned kernels:
# probability dtype, logits, weights, right-closed bins.  The cases draw them
# from this table instead of their full product (16 rows): each
# specialisation costs seconds to compile, the kernels' code paths for the
# switches are independent of each other, and the data strategies below vary
# everything else.  Its (dtype, logits, right) rows hold every pair of values
# of every two of the three, and each comes weighted and unweighted, so a
# test comparing a weighted call with an unweighted one (integer weights
# against repeated rows) compiles nothing the table does not.  (The
# equal-width/quantile switch is a runtime argument: drawn freely.)
_TRIPLES = [
    # dtype,     logits, right
    (np.float64, False, False),
    (np.float64, True, True),
    (np.float32, False, True),
    (np.float32, True, False),
]
SWITCHES = [(dtype, logits, weighted, right) for dtype, logits, right in _TRIPLES
            for weighted in (False, True)]


def _switches(logits):
    """The rows of SWITCHES with ``logits`` (None: every row)."""
    return [r for r in SWITCHES if logits is None or r[1] == logits]


BIN_OPTS = st.fixed_dictionaries({
    "n_bins": st.integers(1, 20),
    "strategy": st.sampled_from(["uniform", "quantile"]),
})
SPECIAL_LOGITS = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 36.0, -36.0, 40.0, -40.0, 710.0, -710.0,
                  1e4, -1e4]


@st.composite
def prob_values(draw, n, n_bins, dtype):
    """n probabilities in [0, 1] that hit bin edges, 0, 1 and ties."""
    special = st.sampled_from(edge_values(n_bins))
    anyp = st.floats(0.0, 1.0)
    kind = draw(st.sampled_from(["mixed", "edges", "few"]))
    if kind == "edges":
        elem = special
    elif kind == "few":  # heavy ties
        pool = draw(st.lists(st.one_of(special, anyp), min_size=1, max_size=3))
        elem = st.sampled_from(pool)
    else:
        elem = st.one_of(special, anyp)
    return np.array(draw(st.lists(elem, min_size=n, max_size=n)), dtype=dtype)


@st.composite
def logit_values(draw, n, dtype):
    elem = st.one_of(st.sampled_from(SPECIAL_LOGITS), st.floats(-50.0, 50.0),
                     st.integers(-5, 5).map(float))
    return np.array(draw(st.lists(elem, min_size=n, max_size=n)), dtype=dtype)


@st.composite
def binary_labels(draw, n):
    kind = draw(st.sampled_from(["mixed", "mixed", "all0", "all1"]))
    if kind == "all0":
        return np.zeros(n, dtype=np.int64)
    if kind == "all1":
        return np.ones(n, dtype=np.int64)
    return np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int64)


@st.composite
def class_labels(draw, n, C):
    if draw(st.integers(0, 4)) == 0:  # single class present
        return np.full(n, draw(st.integers(0, C - 1)), dtype=np.int64)
    return np.array(draw(st.lists(st.integers(0, C - 1), min_size=n, max_size=n)),
                    dtype=np.int64)


@st.composite
def weights(draw, n, kind=None):
    """None, small integers (as int64 or float64) or floats; positive total."""
    kind = kind or draw(st.sampled_from(["none", "int", "float"]))
    if kind == "none":
        return None
    if kind == "int":
        w = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
                     dtype=draw(st.sampled_from([np.int64, np.float64])))
    else:
        w = np.array(draw(st.lists(st.floats(0.0, 10.0, allow_subnormal=False),
                                   min_size=n, max_size=n)))
    assume(w.sum() > 0)  # all-zero weights raise; tested separately
    return w


@st.composite
def prob_row(draw, C, n_bins):
    """One row of C probabilities summing to 1 (within a few ulps)."""
    kind = draw(st.sampled_from(["grid", "edge", "onehot", "uniform", "tie", "random"]))
    if kind == "grid":  # multiples of 1/m: every entry on a grid containing the edges
        m = draw(st.sampled_from([n_bins, 2 * n_bins, C, 10, 20]))
        cuts = sorted(draw(st.lists(st.integers(0, m), min_size=C - 1, max_size=C - 1)))
        counts = np.diff([0] + cuts + [m])
        return [c / m for c in counts]
    if kind == "edge":  # one entry exactly on an edge value, the rest split the remainder
        t = draw(st.sampled_from(edge_values(n_bins)))
        parts = draw(st.lists(st.integers(0, 4), min_size=C - 1, max_size=C - 1))
        if sum(parts) == 0:
            parts[0] = 1
        rest = [(1.0 - t) * q / sum(parts) for q in parts]
        pos = draw(st.integers(0, C - 1))
        return rest[:pos] + [t] + rest[pos:]
    if kind == "onehot":
        row = [0.0] * C
        row[draw(st.integers(0, C - 1))] = 1.0
        return row
    if kind == "uniform":
        return [1.0 / C] * C
    if kind == "tie":  # two entries tied for the maximum
        i, j = draw(st.lists(st.integers(0, C - 1), min_size=2, max_size=2, unique=True))
        t = draw(st.floats(1.0 / C, 0.5))
        rest = (1.0 - 2 * t) / (C - 2) if C > 2 else 0.0
        row = [rest] * C
        row[i] = row[j] = t if C > 2 else 0.5
        return row
    raw = draw(st.lists(st.floats(0.0, 1.0), min_size=C, max_size=C))
    if sum(raw) == 0:
        raw[0] = 1.0
    s = sum(raw)
    return [r / s for r in raw]


@st.composite
def prob_matrix(draw, n, C, n_bins, dtype):
    rows = draw(st.lists(prob_row(C, n_bins), min_size=n, max_size=n))
    P = np.array(rows, dtype=np.float64)
    P = np.clip(P, 0.0, 1.0)
    return P.astype(dtype)


@st.composite
def logit_matrix(draw, n, C, dtype):
    elem = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 3.0, 30.0, -30.0, 100.0]),
                     st.floats(-30.0, 30.0))
    rows = draw(st.lists(st.lists(elem, min_size=C, max_size=C), min_size=n, max_size=n))
    return np.array(rows, dtype=dtype)


@st.composite
def binary_case(draw, logits=None, max_n=40):
    dtype, from_logits, weighted, right = draw(st.sampled_from(_switches(logits)))
    opts = dict(draw(BIN_OPTS), right=right)
    n = draw(st.integers(1, max_n))
    if from_logits:
        p = draw(logit_values(n, dtype))
    else:
        p = draw(prob_values(n, opts["n_bins"], dtype))
    y = draw(binary_labels(n))
    w = draw(weights(n, draw(st.sampled_from(["int", "float"])) if weighted else "none"))
    return y, p, w, from_logits, opts


@st.composite
def multiclass_case(draw, logits=None, max_n=30):
    dtype, from_logits, weighted, right = draw(st.sampled_from(_switches(logits)))
    opts = dict(draw(BIN_OPTS), right=right)
    n = draw(st.integers(1, max_n))
    C = draw(st.integers(2, 7))
    if from_logits:
        P = draw(logit_matrix(n, C, dtype))
    else:
        P = draw(prob_matrix(n, C, opts["n_bins"], dtype))
    y = draw(class_labels(n, C))
    w = draw(weights(n, draw(st.sampled_from(["int", "float"])) if weighted else "none"))
    return y, P, w, from_logits, opts


def describe(y, p, w, from_logits, opts):
    note(f"y={y.tolist()}\np={p.tolist()} ({p.dtype})\nw={None if w is None else w.tolist()}\n"
         f"from_logits={from_logits} opts={opts}")


# ---------------------------------------------------------------------------
# fastcal == reference


@given(binary_case())
def test_binary_calibration_error_matches_reference(case):
    y, p, w, logits, opts = case
    describe(*case)
    for norm in NORMS:
        got = fastcal.calibration_error(y, p, norm=norm, from_logits=logits, sample_weight=w,
                                        **opts)
        want = ref.calibration_error(y, p, norm=norm, from_logits=logits, sample_weight=w,
                                     **opts)
        assert_close(got, want, what=norm)


@given(multiclass_case(), st.booleans())
def test_multiclass_calibration_error_matches_reference(case, classwise):
    y, P, w, logits, opts = case
    describe(*case)
    for norm in NORMS:
        got = fastcal.calibration_error(y, P, norm=norm, classwise=classwise,
                                        from_logits=logits, sample_weight=w, **opts)
        want = ref.calibration_error(y, P, norm=norm, classwise=classwise,
                                     from_logits=logits, sample_weight=w, **opts)
        assert_close(got, want, what=f"{norm} classwise={classwise}")


@given(multiclass_case(logits=True), st.sampled_from(NORMS))
@example(case=(np.array([0, 0, 1]), np.array([[0.0, -9.5], [0.0, -9.5], [0.0, 0.0]]), None, True,
               {"n_bins": 2, "strategy": "quantile", "right": True}), norm="l1")
def test_classwise_quantile_logits_matches_reference(case, norm):
    """Classwise quantile bins from logits: the per-class quantile edges must be
    taken from the probabilities the kernel bins (its own libm-exp softmax; a
    numpy SIMD-exp softmax differs by 1 ulp for ~5% of inputs, which once moved
    values across edges)."""
    y, P, w, logits, opts = case
    describe(*case)
    opts = dict(opts, strategy="quantile")
    got = fastcal.calibration_error(y, P, norm=norm, classwise=True, from_logits=True,
                                    sample_weight=w, **opts)
    want = ref.calibration_error(y, P, norm=norm, classwise=True, from_logits=True,
                                 sample_weight=w, **opts)
    assert_close(got, want, what=norm)


def test_classwise_quantile_logits_regression():
    """Same data as logits and as the kernel's own softmax probabilities: the
    classwise quantile ECE must agree (0.16666666666666669; it was
    0.16661676918165969 while the edges came from np.exp(-9.5) != math.exp(-9.5))."""
    Z = np.array([[0.0, -9.5], [0.0, -9.5], [0.0, 0.0]])
    y = [0, 0, 1]
    e = math.exp(-9.5)  # libm, as in the Numba kernel
    P = np.array([[1 / (1 + e), e / (1 + e)]] * 2 + [[0.5, 0.5]])
    from_probs = fastcal.ece(y, P, n_bins=2, strategy="quantile", classwise=True)
    assert_close(from_probs, ref.calibration_error(y, P, n_bins=2, strategy="quantile",
                                                   classwise=True))
    from_logits = fastcal.ece(y, Z, n_bins=2, strategy="quantile", classwise=True,
                              from_logits=True)
    assert_close(from_logits, from_probs, what="classwise quantile ECE from logits")


@given(st.one_of(binary_case(), multiclass_case()))
def test_ece_mce_rmsce_are_calibration_error_norms(case):
    y, p, w, logits, opts = case
    kw = dict(from_logits=logits, sample_weight=w, **opts)
    assert fastcal.ece(y, p, **kw) == fastcal.calibration_error(y, p, norm="l1", **kw)
    assert fastcal.mce(y, p, **kw) == fastcal.calibration_error(y, p, norm="max", **kw)
    assert fastcal.rmsce(y, p, **kw) == fastcal.calibration_error(y, p, norm="l2", **kw)


@given(st.one_of(binary_case(), multiclass_case()))
@example(case=(np.zeros(20, dtype=np.int64),
               np.array([[0.0, 0.0, 0.0, 0.0]] * 5 + [[0.0, 0.0, 0.0, 1.0]] * 14
                        + [[0.0, 0.0, 0.0, 0.59765625]]),
               None, True, {"n_bins": 4, "strategy": "quantile", "right": False}))
def test_reliability_curve_matches_reference(case):
    y, p, w, logits, opts = case
    describe(*case)
    curve = fastcal.reliability_curve(y, p, from_logits=logits, sample_weight=w, **opts)
    want = ref.reliability_curve(y, p, from_logits=logits, sample_weight=w, **opts)
    # quantile edges of softmax confidences: the kernel's exp against libm's (as in
    # test_calibration_report_matches_reference)
    ulp = 4 if logits and opts["strategy"] == "quantile" else 0
    assert_curve_close(curve, want, weighted=w is not None, edges_ulp=ulp)
    if opts["strategy"] == "uniform" and not opts["right"]:
        # left-closed uniform bins are numpy.histogram's convention (1.0 in the last bin)
        conf = ref.probabilities(p, logits)
        if conf.ndim == 2:
            conf = ref.toplabel(y, conf, p if logits else None)[0]
        hist, _ = np.histogram(conf, bins=np.linspace(0, 1, opts["n_bins"] + 1), weights=w)
        np.testing.assert_allclose(curve.count, hist, rtol=RTOL, atol=ATOL)


@given(st.one_of(binary_case(), multiclass_case()))
def test_brier_and_nll_match_reference(case):
    y, p, w, logits, _ = case
    describe(*case)
    assert_close(fastcal.brier_score(y, p, from_logits=logits, sample_weight=w),
                 ref.brier_score(y, p, from_logits=logits, sample_weight=w), what="brier")
    assert_close(fastcal.nll(y, p, from_logits=logits, sample_weight=w),
                 ref.nll(y, p, from_logits=logits, sample_weight=w), what="nll")


@st.composite
def auroc_case(draw):
    n = draw(st.integers(1, 40))
    dtype = draw(DTYPES)
    kind = draw(st.sampled_from(["prob", "logit", "few"]))
    if kind == "prob":
        s = draw(prob_values(n, draw(st.integers(1, 15)), dtype))
    elif kind == "logit":
        s = draw(logit_values(n, dtype))
    else:
        pool = draw(st.lists(st.floats(-3, 3), min_size=1, max_size=3))
        s = np.array(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)), dtype=dtype)
    return draw(binary_labels(n)), s, draw(weights(n))


@given(auroc_case())
def test_auroc_matches_pair_counting(case):
    y, s, w = case
    note(f"y={y.tolist()} s={s.tolist()} w={w}")
    want = ref.auroc(y, s, sample_weight=w)
    assert_close(ref.auroc_sorted(y, s, sample_weight=w), want, what="reference self-check")
    if math.isnan(want):
        with pytest.warns(fastcal.UndefinedMetricWarning):
            got = fastcal.auroc(y, s, sample_weight=w)
        assert math.isnan(got)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = fastcal.auroc(y, s, sample_weight=w)
        assert_close(got, want, what="auroc")


@given(st.one_of(binary_case(), multiclass_case()))
def test_calibration_report_matches_reference(case):
    y, p, w, logits, opts = case
    describe(*case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastcal.UndefinedMetricWarning)
        r = fastcal.calibration_report(y, p, from_logits=logits, sample_weight=w, **opts)
    want = ref.report(y, p, from_logits=logits, sample_weight=w, **opts)
    for field, v in want.items():
        assert_close(getattr(r, field), v, what=field)
    assert r.n == y.shape[0]
    ulp = 4 if logits and opts.get("strategy") == "quantile" else 0
    assert_curve_close(r.reliability, ref.reliability_curve(
        y, p, from_logits=logits, sample_weight=w, **opts), weighted=w is not None,
        edges_ulp=ulp)
    # the report agrees with the standalone metrics
    kw = dict(from_logits=logits, sample_weight=w)
    assert_close(r.ece, fastcal.ece(y, p, **kw, **opts), what="report.ece vs ece")
    assert_close(r.brier, fastcal.brier_score(y, p, **kw), what="report.brier vs brier")
    assert_close(r.nll, fastcal.nll(y, p, **kw), what="report.nll vs nll")
    d = r.to_dict()
    assert d["n"] == r.n and (d["ece"] == r.ece)


@given(st.one_of(binary_case(logits=False), multiclass_case(logits=False)))
def test_check_false_gives_same_numbers(case):
    y, p, w, _, opts = case
    for norm in NORMS:
        a = fastcal.calibration_error(y, p, norm=norm, sample_weight=w, **opts)
        b = fastcal.calibration_error(y, p, norm=norm, sample_weight=w, check=False, **opts)
        assert a == b
    assert fastcal.brier_score(y, p, sample_weight=w) == fastcal.brier_score(
        y, p, sample_weight=w, check=False)
    assert fastcal.nll(y, p, sample_weight=w) == fastcal.nll(y, p, sample_weight=w, check=False)


# ---------------------------------------------------------------------------
# fastcal == scikit-learn


def _sk_tol(dtype):
    # scikit-learn computes in the input dtype: float32 input -> float32 arithmetic
    return (1e-6, 1e-7) if dtype == np.float32 else (RTOL, ATOL)


@given(st.one_of(binary_case(logits=False), multiclass_case(logits=False)))
def test_brier_and_log_loss_match_sklearn(case):
    from sklearn.metrics import brier_score_loss, log_loss

    y, p, w, _, _ = case
    describe(*case)
    rtol, atol = _sk_tol(p.dtype)
    if p.ndim == 1:
        labels = [0, 1]
        sk_brier = brier_score_loss(y, p, sample_weight=w, pos_label=1)
    else:
        labels = list(range(p.shape[1]))
        sk_brier = brier_score_loss(y, p, sample_weight=w, labels=labels, scale_by_half=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # float32 rows "do not sum to one"
        sk_ll = log_loss(y, p, sample_weight=w, labels=labels)
    assert_close(fastcal.brier_score(y, p, sample_weight=w), sk_brier, rtol, atol, "brier")
    assert_close(fastcal.nll(y, p, sample_weight=w), sk_ll, rtol, atol, "log_loss")


@given(auroc_case())
def test_auroc_matches_sklearn(case):
    from sklearn.metrics import roc_auc_score

    y, s, w = case
    wy = np.ones_like(s, dtype=float) if w is None else w
    assume(np.sum(wy[y == 1]) > 0 and np.sum(wy[y == 0]) > 0)
    assert_close(fastcal.auroc(y, s, sample_weight=w),
                 roc_auc_score(y, s, sample_weight=w), what="roc_auc_score")


@given(binary_case(logits=False))
def test_reliability_curve_matches_sklearn_calibration_curve(case):
    from sklearn.calibration import calibration_curve

    y, p, _, _, opts = case
    curve = fastcal.reliability_curve(y, p, n_bins=opts["n_bins"])  # uniform, right-closed
    prob_true, prob_pred = calibration_curve(y, p, n_bins=opts["n_bins"], pos_label=1)
    nonempty = curve.count > 0
    np.testing.assert_allclose(curve.accuracy[nonempty], prob_true, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(curve.confidence[nonempty], prob_pred, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------
# invariances


def _all_metrics(y, p, w, logits, opts, classwise=False):
    kw = dict(from_logits=logits, sample_weight=w)
    out = {norm: fastcal.calibration_error(y, p, norm=norm, classwise=classwise, **kw, **opts)
           for norm in NORMS}
    out["brier"] = fastcal.brier_score(y, p, **kw)
    out["nll"] = fastcal.nll(y, p, **kw)
    if not classwise:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastcal.UndefinedMetricWarning)
            r = fastcal.calibration_report(y, p, **kw, **opts)
        out["auroc"] = r.auroc
        out["accuracy"] = r.accuracy
        out["confidence"] = r.confidence
        for b, (c, a) in enumerate(zip(r.reliability.confidence, r.reliability.accuracy)):
            out[f"bin{b}.conf"] = c
            out[f"bin{b}.acc"] = a
            out[f"bin{b}.count"] = r.reliability.count[b]
    return out


def _compare_all(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert_close(a[k], b[k], what=k)


@given(st.one_of(binary_case(), multiclass_case()), st.data())
def test_permutation_invariance(case, data):
    y, p, w, logits, opts = case
    perm = np.array(data.draw(st.permutations(range(y.shape[0]))), dtype=np.intp)
    wp = None if w is None else w[perm]
    for cw in ((False, True) if p.ndim == 2 else (False,)):
        _compare_all(_all_metrics(y, p, w, logits, opts, cw),
                     _all_metrics(y[perm], p[perm], wp, logits, opts, cw))


@st.composite
def integer_weight_case(draw):
    case = draw(st.one_of(binary_case(max_n=20), multiclass_case(max_n=15)))
    y, p, _, logits, opts = case
    n = y.shape[0]
    w = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    assume(w.sum() > 0)
    return y, p, w, logits, opts


@given(integer_weight_case())
def test_integer_weight_equals_repetition_uniform_bins(case):
    y, p, w, logits, opts = case
    opts = dict(opts, strategy="uniform")
    describe(y, p, w, logits, opts)
    rep = np.repeat(np.arange(y.shape[0]), w)
    for cw in ((False, True) if p.ndim == 2 else (False,)):
        a = _all_metrics(y, p, w, logits, opts, cw)
        b = _all_metrics(y[rep], p[rep], None, logits, opts, cw)
        _compare_all(a, b)


@given(integer_weight_case())
def test_integer_weight_equals_repetition_weighted_quantile(case):
    """With quantile bins, integer weights k equal repeating the rows k times:
    the weighted edges are the linear quantile of the repeated data."""
    y, p, w, logits, opts = case
    opts = dict(opts, strategy="quantile")
    describe(y, p, w, logits, opts)
    P = ref.probabilities(p, logits)
    if P.ndim == 2:
        conf, corr = ref.toplabel(y, P, p if logits else None)
    else:
        conf, corr = P, y.astype(np.float64)
    rep = np.repeat(np.arange(y.shape[0]), w)
    edges = np.quantile(conf[rep], np.linspace(0, 1, opts["n_bins"] + 1))
    want = ref.binary_errors(conf[rep], corr[rep], None, opts["n_bins"], right=opts["right"],
                             edges=edges)
    for norm in NORMS:
        got = fastcal.calibration_error(y, p, norm=norm, from_logits=logits, sample_weight=w,
                                        **opts)
        assert_close(got, want[norm], what=norm)


def test_quantile_bins_unit_weights_equal_unweighted():
    # edges (linear) [0.3, 0.7, 0.9] with and without unit weights
    y = np.array([0, 1, 1, 1])
    p = np.array([0.3, 0.6, 0.8, 0.9])
    a = fastcal.ece(y, p, n_bins=2, strategy="quantile", right=False)
    b = fastcal.ece(y, p, n_bins=2, strategy="quantile", right=False,
                    sample_weight=np.ones(4))
    assert_close(a, ref.calibration_error(y, p, n_bins=2, strategy="quantile", right=False))
    assert_close(b, ref.calibration_error(y, p, n_bins=2, strategy="quantile", right=False,
                                          sample_weight=np.ones(4)))
    assert_close(a, b)


@given(st.one_of(binary_case(), multiclass_case()))
def test_float32_is_read_as_float64_values(case):
    """float32 input is handled natively: binned metrics, Brier, AUROC and logit
    NLL equal the float64 call on the same (exactly converted) values."""
    y, p, w, logits, opts = case
    assume(p.dtype == np.float32)
    p64 = p.astype(np.float64)
    a = _all_metrics(y, p, w, logits, opts)
    b = _all_metrics(y, p64, w, logits, opts)
    if not logits:  # NLL from probabilities clips at the input dtype's eps
        a.pop("nll"), b.pop("nll")
    assert a.keys() == b.keys()
    for k in a:
        if k == "brier":  # multiclass row sums may be reassociated (vector width per dtype)
            assert_close(a[k], b[k], rtol=1e-13, atol=1e-15, what=k)
        else:
            assert (a[k] == b[k]) or (math.isnan(a[k]) and math.isnan(b[k])), (k, a[k], b[k])


# ---------------------------------------------------------------------------
# hand-checked conventions


def test_edges_right_closed_and_left_closed():
    for n_bins in (1, 2, 3, 5, 7, 10, 15):
        e = np.linspace(0, 1, n_bins + 1)
        y = np.zeros(n_bins + 1, dtype=int)
        right = fastcal.reliability_curve(y, e, n_bins=n_bins).count
        left = fastcal.reliability_curve(y, e, n_bins=n_bins, right=False).count
        want_right = np.ones(n_bins, dtype=int)
        want_right[0] += 1  # 0 and e_1 in the first bin
        want_left = np.ones(n_bins, dtype=int)
        want_left[-1] += 1  # e_{n-1} and 1 in the last bin
        np.testing.assert_array_equal(right, want_right)
        np.testing.assert_array_equal(left, want_left)


def test_float32_values_near_edges():
    # float32(0.1) = 0.10000000149 > 0.1: right of the edge, bin 1 (right-closed)
    # float32(0.3) = 0.30000001192 > linspace(0,1,11)[3] = 0.30000000000000004: bin 3
    # float32(0.7) = 0.69999998808 < 0.7: bin 6
    p32 = np.array([0.1, 0.2, 0.3, 0.7, 1.0], dtype=np.float32)
    c = fastcal.reliability_curve(np.zeros(5, int), p32, n_bins=10)
    np.testing.assert_array_equal(np.nonzero(c.count)[0], [1, 2, 3, 6, 9])
    # the same values in float64 sit on the edges: bins 0, 1, 2 (0.3 < 0.30000000000000004), 6, 9
    c = fastcal.reliability_curve(np.zeros(5, int), p32.astype(np.float64).round(7).tolist(),
                                  n_bins=10)
    np.testing.assert_array_equal(np.nonzero(c.count)[0], [0, 1, 2, 6, 9])


def test_first_argmax_on_ties():
    P = np.array([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.5, 0.5, 0.0]])
    y = np.array([1, 1, 0])
    r = fastcal.calibration_report(y, P, n_bins=10)
    assert r.accuracy == pytest.approx(2 / 3)  # predictions 0 (wrong), 1, 0
    np.testing.assert_array_equal(np.nonzero(r.reliability.count)[0], [3, 4])
    assert_close(r.ece, ref.calibration_error(y, P, n_bins=10))
    # from logits the prediction is the argmax of the logits (= of the exact softmax),
    # even where the float64 probabilities round to a tie: [0, 1e-90] -> [0.5, 0.5]
    Z = np.array([[0.0, 1e-90], [1e-90, 0.0]])
    with pytest.warns(fastcal.UndefinedMetricWarning):  # all correct: AUROC undefined
        r = fastcal.calibration_report([1, 0], Z, from_logits=True)
    assert r.accuracy == 1.0 and r.confidence == 0.5


def test_single_sample_and_single_class():
    assert fastcal.ece([1], [1.0]) == 0.0
    assert fastcal.ece([0], [1.0]) == 1.0
    assert_close(fastcal.nll([0], [1.0]), -math.log(np.finfo(np.float64).eps))
    assert_close(fastcal.nll([0], np.array([1.0], np.float32)), -math.log(np.finfo(np.float32).eps))
    with pytest.warns(fastcal.UndefinedMetricWarning):
        assert math.isnan(fastcal.auroc([1, 1], [0.2, 0.3]))
    with pytest.warns(fastcal.UndefinedMetricWarning):
        r = fastcal.calibration_report([2, 2], np.array([[0.1, 0.2, 0.7], [0.2, 0.2, 0.6]]))
    assert math.isnan(r.auroc) and r.accuracy == 1.0


def test_zero_total_weight_raises():
    with pytest.raises(ValueError, match="sample_weight"):
        fastcal.ece([0, 1], [0.2, 0.8], sample_weight=[0.0, 0.0])
    with pytest.raises(ValueError, match="sample_weight"):
        fastcal.brier_score([0, 1], [0.2, 0.8], sample_weight=[0.0, 0.0])


def test_nll_from_logits_is_exact_and_unclipped():
    # p = sigmoid(-800) underflows; NLL from logits stays exact
    assert_close(fastcal.nll([1], [-800.0], from_logits=True), 800.0)
    assert_close(fastcal.nll([0], [800.0], from_logits=True), 800.0)
    z = np.array([[1000.0, 0.0, -1000.0]])
    assert_close(fastcal.nll([2], z, from_logits=True), 2000.0)
    assert_close(fastcal.nll([0], z, from_logits=True), 0.0)


@pytest.mark.parametrize("n", [1 << 17, 3 * (1 << 15) + 17])
def test_large_input_parallel_path_matches_reference(n):
    """Large inputs take the chunked (parallel) kernels: same numbers as the reference."""
    rng = np.random.default_rng(n)
    edges = np.array(edge_values(15))
    p = np.where(rng.random(n) < 0.3, rng.choice(edges, n), rng.random(n))
    y = (rng.random(n) < p).astype(np.int64)
    w = rng.random(n) * 3
    for kw in (dict(), dict(sample_weight=w), dict(right=False, strategy="quantile")):
        for norm in NORMS:
            assert_close(fastcal.calibration_error(y, p, norm=norm, **kw),
                         ref.calibration_error(y, p, norm=norm, **kw), what=f"{norm} {kw.keys()}")
    assert_close(fastcal.brier_score(y, p, sample_weight=w), ref.brier_score(y, p, sample_weight=w))
    assert_close(fastcal.nll(y, p), ref.nll(y, p))
    assert_close(fastcal.auroc(y, p, sample_weight=w), ref.auroc_sorted(y, p, sample_weight=w))
    C = 4
    Z = rng.normal(size=(n, C)) * 3
    P = ref.softmax(Z)
    yc = rng.integers(0, C, n)
    for cw in (False, True):
        assert_close(fastcal.ece(yc, P, classwise=cw), ref.calibration_error(yc, P, classwise=cw),
                     what=f"multiclass classwise={cw}")
    r = fastcal.calibration_report(yc, Z.astype(np.float32), from_logits=True)
    Z32 = Z.astype(np.float32)
    assert_close(r.ece, ref.calibration_error(yc, Z32, from_logits=True))
    assert_close(r.nll, ref.nll(yc, Z32, from_logits=True), rtol=1e-11)
    assert_close(r.brier, ref.brier_score(yc, Z32, from_logits=True), rtol=1e-11)


# ---------------------------------------------------------------------------
# input forms: each gives the same number as the plain numpy call


def assert_same_gauges(got, want, path="", exact=False):
    """Same structure; counts and labels equal; floats equal up to 1e-13 relative
    (row sums in the multiclass kernels may be reassociated per memory layout)."""
    if isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for k in want:
            assert_same_gauges(got[k], want[k], f"{path}.{k}", exact)
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), path
        for i, (g, v) in enumerate(zip(got, want)):
            assert_same_gauges(g, v, f"{path}[{i}]", exact)
    elif isinstance(want, float) and not exact:
        assert_close(got, want, rtol=1e-13, atol=1e-15, what=path)
    else:
        assert got == want, (path, got, want)


def _gauges(y, p, w=None, logits=False):
    """A fixed set of numbers from every public metric."""
    out = {}
    for norm in NORMS:
        for strategy in ("uniform", "quantile"):
            out[f"{norm}-{strategy}"] = fastcal.calibration_error(
                y, p, norm=norm, strategy=strategy, n_bins=10, sample_weight=w, from_logits=logits)
    out["brier"] = fastcal.brier_score(y, p, sample_weight=w, from_logits=logits)
    out["nll"] = fastcal.nll(y, p, sample_weight=w, from_logits=logits)
    c = fastcal.reliability_curve(y, p, n_bins=10, sample_weight=w, from_logits=logits)
    out["curve"] = (c.count.tolist(), np.nan_to_num(c.confidence, nan=-1).tolist(),
                    np.nan_to_num(c.accuracy, nan=-1).tolist())
    r = fastcal.calibration_report(y, p, n_bins=10, sample_weight=w, from_logits=logits)
    d = r.to_dict()
    d.pop("convention")
    out["report"] = d
    if np.ndim(p) == 1:
        if not logits:
            out["auroc"] = fastcal.auroc(y, p, sample_weight=w)
    else:
        out["classwise"] = fastcal.ece(y, p, classwise=True, sample_weight=w, from_logits=logits)
    return out


@pytest.fixture(scope="module")
def base():
    rng = np.random.default_rng(7)
    n = 64
    edges = np.linspace(0, 1, 11)
    p = np.where(rng.random(n) < 0.3, rng.choice(edges, n), rng.random(n))
    y = (rng.random(n) < p).astype(np.int64)
    P = ref.softmax(rng.normal(size=(n, 4)) * 2)
    yc = rng.integers(0, 4, n)
    w = rng.random(n) * 2
    return dict(y=y, p=p, P=P, yc=yc, w=w)


def _binary_forms(b):
    import pandas as pd

    y, p, w = b["y"], b["p"], b["w"]
    ro_y, ro_p, ro_w = y.copy(), p.copy(), w.copy()
    for a in (ro_y, ro_p, ro_w):
        a.flags.writeable = False
    y2, p2, w2 = np.repeat(y, 2), np.repeat(p, 2), np.repeat(w, 2)
    return {
        "list": (y.tolist(), p.tolist(), w.tolist()),
        "tuple": (tuple(y.tolist()), tuple(p.tolist()), tuple(w.tolist())),
        "pandas": (pd.Series(y), pd.Series(p), pd.Series(w)),
        "read-only": (ro_y, ro_p, ro_w),
        "strided": (y2[::2], p2[::2], w2[::2]),
        "labels-bool": (y.astype(bool), p, w),
        "labels-int8": (y.astype(np.int8), p, w),
        "labels-uint8": (y.astype(np.uint8), p, w),
        "labels-int32": (y.astype(np.int32), p, w),
        "labels-uint64": (y.astype(np.uint64), p, w),
        "labels-float64": (y.astype(np.float64), p, w),
        "labels-float32": (y.astype(np.float32), p, w),
        "byteswapped": (y.astype(">i8"), p.astype(">f8"), w.astype(">f8")),
        "weights-float32": (y, p, w.astype(np.float32).astype(np.float64)),  # same values
        "torch": lambda torch: (torch.from_numpy(y), torch.from_numpy(p), torch.from_numpy(w)),
    }


def _multiclass_forms(b):
    import pandas as pd
    y, P, w = b["yc"], b["P"], b["w"]
    ro_P = P.copy()
    ro_P.flags.writeable = False
    big = np.zeros((P.shape[0] * 2, P.shape[1] * 3))
    big[::2, ::3] = P
    return {
        "list": (y.tolist(), P.tolist(), w.tolist()),
        "pandas": (pd.Series(y), pd.DataFrame(P), pd.Series(w)),
        "read-only": (y, ro_P, w),
        "fortran": (y, np.asfortranarray(P), w),
        "strided-2d": (y, big[::2, ::3], w),
        "labels-int8": (y.astype(np.int8), P, w),
        "labels-uint64": (y.astype(np.uint64), P, w),
        "labels-float64": (y.astype(np.float64), P, w),
        "byteswapped": (y.astype(">i8"), P.astype(">f8"), w.astype(">f8")),
        "torch": lambda torch: (torch.from_numpy(y), torch.from_numpy(P), torch.from_numpy(w)),
    }


def _form(entry):
    """A form's arrays; the torch form needs torch (an optional extra)."""
    if callable(entry):
        return entry(pytest.importorskip("torch"))
    return entry


BINARY_FORMS = ["list", "tuple", "pandas", "read-only", "strided", "labels-bool", "labels-int8",
                "labels-uint8", "labels-int32", "labels-uint64", "labels-float64",
                "labels-float32", "byteswapped", "weights-float32", "torch"]
MULTICLASS_FORMS = ["list", "pandas", "read-only", "fortran", "strided-2d", "labels-int8",
                    "labels-uint64", "labels-float64", "byteswapped", "torch"]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("form", BINARY_FORMS)
def test_binary_input_forms(base, form, weighted):
    y, p, w = _form(_binary_forms(base)[form])
    w0 = base["w"]
    if form == "weights-float32":
        w0 = w
    want = _gauges(base["y"], base["p"], w0 if weighted else None)
    got = _gauges(y, p, w if weighted else None)
    assert_same_gauges(got, want)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("form", MULTICLASS_FORMS)
def test_multiclass_input_forms(base, form, weighted):
    y, P, w = _form(_multiclass_forms(base)[form])
    want = _gauges(base["yc"], base["P"], base["w"] if weighted else None)
    got = _gauges(y, P, w if weighted else None)
    assert_same_gauges(got, want)


def test_logit_input_forms(base):
    torch = pytest.importorskip("torch")

    rng = np.random.default_rng(3)
    Z = rng.normal(size=(64, 4)) * 3
    z = rng.normal(size=64) * 3
    want_m = _gauges(base["yc"], Z, logits=True)
    want_b = _gauges(base["y"], z, logits=True)
    assert_same_gauges(_gauges(base["yc"], np.asfortranarray(Z), logits=True), want_m)
    assert_same_gauges(_gauges(base["yc"], torch.from_numpy(Z), logits=True), want_m)
    assert_same_gauges(_gauges(base["yc"], Z.astype(">f8"), logits=True), want_m)
    assert_same_gauges(_gauges(base["y"], z.tolist(), logits=True), want_b)
    assert_same_gauges(_gauges(base["y"], torch.from_numpy(z), logits=True), want_b)


def test_float16_logits_equal_float32_call(base):
    """float16 (LLM) logits are accepted: same numbers as the exactly-converted float32 call."""
    rng = np.random.default_rng(4)
    Z16 = (rng.normal(size=(64, 4)) * 3).astype(np.float16)
    z16 = (rng.normal(size=64) * 3).astype(np.float16)
    assert_same_gauges(_gauges(base["yc"], Z16, logits=True),
                       _gauges(base["yc"], Z16.astype(np.float32), logits=True))
    assert_same_gauges(_gauges(base["y"], z16, logits=True),
                       _gauges(base["y"], z16.astype(np.float32), logits=True))
    assert_close(fastcal.nll(base["yc"], Z16, from_logits=True),
                 ref.nll(base["yc"], Z16, from_logits=True))


def test_float16_probabilities_binned_metrics(base):
    """float16 probabilities: binned metrics, Brier and AUROC equal the float32 call
    (float16 -> float32 is exact)."""
    p16 = base["p"].astype(np.float16)
    a = _gauges(base["y"], p16)
    b = _gauges(base["y"], p16.astype(np.float32))
    a.pop("nll"), b.pop("nll")
    a["report"].pop("nll"), b["report"].pop("nll")
    assert_same_gauges(a, b)


def test_float16_probabilities_nll_clips_at_float16_eps():
    """DESIGN 3: NLL from probabilities clips at the INPUT dtype's machine epsilon,
    like sklearn.metrics.log_loss (which keeps float16)."""
    from sklearn.metrics import log_loss

    y = np.array([1, 0, 1])
    p16 = np.array([0.0, 1.0, 0.5], dtype=np.float16)
    want = ref.nll(y, p16)  # eps = finfo(float16).eps = 0.000977
    assert_close(log_loss(y, p16, labels=[0, 1]), want, rtol=1e-3, what="sklearn")
    assert_close(fastcal.nll(y, p16), want, what="fastcal float16 nll")


def test_torch_float32_tensor_equals_numpy_float32(base):
    torch = pytest.importorskip("torch")

    p32 = base["p"].astype(np.float32)
    P32 = base["P"].astype(np.float32)
    assert_same_gauges(_gauges(base["y"], torch.from_numpy(p32)), _gauges(base["y"], p32))
    assert_same_gauges(_gauges(base["yc"], torch.from_numpy(P32)), _gauges(base["yc"], P32))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.integers(1, 12),
       st.lists(st.integers(1, 4), min_size=30, max_size=30))
def test_weighted_quantile_edges_unit_and_integer_weights(conf, n_bins, reps):
    """Unit weights give bit for bit np.quantile's edges; integer weights give
    the edges of the repeated sample; real weights follow the reference."""
    from fastcal.core.pipeline import quantile_edges

    conf = np.array(conf)
    q = np.linspace(0, 1, n_bins + 1)
    np.testing.assert_array_equal(quantile_edges(conf, n_bins, np.ones(conf.size)),
                                  np.quantile(conf, q))
    w = np.array(reps[: conf.size], dtype=np.float64)
    np.testing.assert_array_equal(quantile_edges(conf, n_bins, w),
                                  np.quantile(np.repeat(conf, reps[: conf.size]), q))
    w = w / 3.0
    np.testing.assert_array_equal(quantile_edges(conf, n_bins, w),
                                  ref.edges_for(conf, n_bins, "quantile", w))
