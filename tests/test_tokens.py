"""Token-level (LLM) input: (..., V) logits with (...) labels, ignore_index
padding, float16 and bfloat16 read from their bits (no upcast copy), against
a float64 reference that computes the softmax in full."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
import reference as ref
from fastcal.core import validation as V

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")


def expected(y, z, n_bins=15):
    """float64 reference over the kept rows: full softmax, top-label gauges."""
    P = ref.softmax(np.asarray(z, dtype=np.float64))
    return {
        "ece": ref.calibration_error(y, P, n_bins=n_bins),
        "nll": ref.nll(y, P, from_logits=False) if False else float(
            np.mean(-np.log(P[np.arange(len(y)), y]))),
        "brier": ref.brier_score(y, P),
    }


@st.composite
def token_batches(draw):
    b = draw(st.integers(1, 3))
    s = draw(st.integers(1, 6))
    v = draw(st.sampled_from([3, 40, 257]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    z = rng.normal(0, draw(st.sampled_from([0.5, 3.0])), (b, s, v))
    y = rng.integers(0, v, (b, s))
    # the model is right about a third of the time
    hit = rng.random((b, s)) < 0.35
    z[hit, y[hit]] += 6.0
    pad = rng.random((b, s)) < draw(st.sampled_from([0.0, 0.3]))
    pad.flat[0] = False
    y[pad] = -100
    return y, z


@given(token_batches(), st.sampled_from(["float64", "float32", "float16", "bfloat16"]))
def test_token_logits_equal_the_float64_reference(batch, fmt):
    y, z = batch
    if fmt == "bfloat16":
        torch = pytest.importorskip("torch")
        zt = torch.from_numpy(z.astype(np.float32)).to(torch.bfloat16)
        z64 = zt.float().numpy().astype(np.float64)
        zin = zt
    else:
        zin = z.astype(fmt)
        z64 = zin.astype(np.float64)
    keep = y != -100
    e = expected(y[keep], z64[keep])
    r = fastcal.calibration_report(y, zin, from_logits=True, ignore_index=-100)
    assert r.n == keep.sum()
    assert math.isclose(r.ece, e["ece"], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(r.nll, e["nll"], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(r.brier, e["brier"], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(fastcal.nll(y, zin, from_logits=True, ignore_index=-100), e["nll"],
                        rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(fastcal.brier_score(y, zin, from_logits=True, ignore_index=-100),
                        e["brier"], rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(fastcal.ece(y, zin, from_logits=True, ignore_index=-100), e["ece"],
                        rel_tol=1e-9, abs_tol=1e-12)
    # the accumulator, two batches along the batch axis
    acc = fastcal.CalibrationAccumulator()
    for i in range(y.shape[0]):
        if keep[i].any():
            acc.update(y[i], zin[i], from_logits=True, ignore_index=-100)
    a = acc.compute()
    assert a.n == r.n
    assert math.isclose(a.ece, r.ece, rel_tol=1e-12, abs_tol=1e-14)
    assert math.isclose(a.nll, r.nll, rel_tol=1e-12, abs_tol=1e-14)


def test_half_tables_are_exact():
    bits = np.arange(1 << 16, dtype=np.uint16)
    f16 = V.half_table("float16")
    np.testing.assert_array_equal(f16.view(np.uint32),
                                  bits.view(np.float16).astype(np.float32).view(np.uint32))
    bf = V.half_table("bfloat16")
    torch = pytest.importorskip("torch")
    tb = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(bf.view(np.uint32), tb.view(np.uint32))


def test_sixteen_bit_input_is_not_copied(monkeypatch):
    z = np.random.default_rng(0).normal(0, 1, (7, 33)).astype(np.float16)
    bits, fmt = V.as_prob(z, "y_prob", ndims=None, half=True)
    assert fmt == "float16" and bits.dtype == np.uint16 and np.shares_memory(bits, z)
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(z.astype(np.float32)).to(torch.bfloat16)
    bits, fmt = V.as_prob(t, "y_prob", ndims=None, half=True)
    assert fmt == "bfloat16" and bits.dtype == np.uint16
    assert bits.__array_interface__["data"][0] == t.data_ptr()


def test_ml_dtypes_bfloat16():
    ml = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (50, 12)).astype(ml.bfloat16)
    y = rng.integers(0, 12, 50)
    r = fastcal.calibration_report(y, z, from_logits=True)
    f = fastcal.calibration_report(y, z.astype(np.float64), from_logits=True)
    assert math.isclose(r.ece, f.ece, rel_tol=1e-12) and math.isclose(r.nll, f.nll, rel_tol=1e-12)
    # probabilities in bfloat16 clip at bfloat16's epsilon and get its row-sum tolerance
    P = (np.exp(z.astype(np.float64)) / np.exp(z.astype(np.float64)).sum(1, keepdims=True))
    rp = fastcal.calibration_report(y, P.astype(ml.bfloat16))
    assert "0.0078125 (bfloat16 machine epsilon)" in rp.convention["nll"]


def test_half_probabilities_and_keys():
    # probabilities in float16: top-label confidence, row sums within float16 tolerance
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(9), 300)
    y = rng.integers(0, 9, 300)
    P16 = P.astype(np.float16)
    r = fastcal.calibration_report(y, P16)
    P64 = P16.astype(np.float64)
    eps = 2.0 ** -10  # float16's: probabilities clip at the input's epsilon
    assert math.isclose(r.ece, ref.calibration_error(y, P64), rel_tol=1e-12)
    assert math.isclose(r.brier, ref.brier_score(y, P64), rel_tol=1e-12)
    py = np.clip(P64[np.arange(300), y], eps, 1 - eps)
    assert math.isclose(r.nll, float(np.mean(-np.log(py))), rel_tol=1e-12)
    assert "(float16 machine epsilon)" in r.convention["nll"]
    bad = P16.copy()
    bad[7, 3] = np.float16(1.5)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]; found 1.5 in row 7"):
        fastcal.nll(y, bad)
    # negative zero, ties and infinities in 16-bit logits
    z = np.array([[-0.0, 0.0, -1.0], [2.0, 2.0, 1.0], [-3.0, -65504.0, -3.0]], np.float16)
    yy = np.array([1, 0, 2])
    r = fastcal.calibration_report(yy, z, from_logits=True)
    f = fastcal.calibration_report(yy, z.astype(np.float64), from_logits=True)
    # first argmax, -0.0 == 0.0: only row 1 is right, as for float64 input
    assert r.accuracy == f.accuracy == 1 / 3 and math.isclose(r.nll, f.nll, rel_tol=1e-15)
    bad = z.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"\(logits\) must be finite or -inf \(a masked class\); found inf in row 1"):
        fastcal.ece(yy, bad, from_logits=True)


def test_token_shapes_and_ignore_index_errors():
    z = np.zeros((2, 3, 5))
    with pytest.raises(ValueError, match=r"y_true of shape \(2, 4\) does not match y_prob of "
                                         r"shape \(2, 3, 5\).*must have shape \(2, 3\)"):
        fastcal.nll(np.zeros((2, 4), int), z, from_logits=True)
    y = np.array([[0, 1, -100], [2, -100, 4]])
    with pytest.raises(ValueError, match=r"found -100 at index 2\. If -100 marks padding, "
                                         r"pass ignore_index=-100\."):
        fastcal.ece(y, z, from_logits=True)
    with pytest.raises(TypeError, match="ignore_index must be an integer label"):
        fastcal.nll(y, z, from_logits=True, ignore_index=-100.5)
    with pytest.raises(ValueError, match="ignore_index applies to multiclass input"):
        fastcal.brier_score([0, 1], [0.2, 0.7], ignore_index=-100)
    with pytest.raises(ValueError, match="ignore_index is not supported with classwise"):
        fastcal.ece(y, z, from_logits=True, ignore_index=-100, classwise=True)
    # every row ignored: nothing to measure, and the message says so (no weights were given)
    for f in (fastcal.nll, fastcal.ece, fastcal.calibration_report, fastcal.reliability_curve):
        with pytest.raises(ValueError, match="no row is left to score: every row has the "
                                             r"ignored label \(ignore_index\)"):
            f(np.full((2, 3), -100), z, from_logits=True, ignore_index=-100)
        with pytest.raises(ValueError, match="no row is left to score"):
            f(np.full((2, 3), -100), z, from_logits=True, ignore_index=-100,
              sample_weight=np.ones(6))
    # the hint for a float label is an ignore_index that works
    yf = y.astype(np.float64)
    with pytest.raises(ValueError, match=r"found -100\.0 at index 2\. If -100\.0 marks padding, "
                                         r"pass ignore_index=-100\.$"):
        fastcal.ece(yf, z, from_logits=True)
    assert fastcal.ece(yf, z, from_logits=True, ignore_index=-100) == fastcal.ece(
        y, z, from_logits=True, ignore_index=-100)
    assert fastcal.ece(yf, z, from_logits=True, ignore_index=-100.0) == fastcal.ece(
        y, z, from_logits=True, ignore_index=-100)
    # padding rows are not validated
    z2 = z.copy()
    z2[0, 2, :] = np.nan
    assert fastcal.nll(y, z2, from_logits=True, ignore_index=-100) == pytest.approx(math.log(5))


def test_quantile_bins_skip_padding():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 2, (4, 50, 20))
    y = rng.integers(0, 20, (4, 50))
    y[:, ::3] = -100
    keep = y != -100
    r = fastcal.calibration_report(y, z, from_logits=True, ignore_index=-100, strategy="quantile")
    f = fastcal.calibration_report(y[keep], z[keep], from_logits=True, strategy="quantile")
    assert r.ece == pytest.approx(f.ece, rel=1e-12)
    np.testing.assert_array_equal(r.reliability.edges, f.reliability.edges)


# ---------------------------------------------------------------------------
# multiple choice


@st.composite
def mc_questions(draw):
    n = draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = rng.integers(1, 6, n)
    vals = [rng.normal(-3, 2, kk) for kk in k]
    ans = np.array([rng.integers(0, kk) for kk in k])
    lens = [rng.integers(1, 9, kk).astype(float) for kk in k]
    return ans, vals, lens


def padded(rows, fill=-np.inf):
    K = max(len(r) for r in rows)
    out = np.full((len(rows), K), fill)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


@given(mc_questions(), st.booleans())
def test_multiple_choice_ragged_equals_padded_equals_reference(q, norm):
    ans, vals, lens = q
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in vals])])
    flat = np.concatenate(vals)
    kw = {}
    if norm:
        kw_p = {"option_lengths": padded(lens, 1.0)}
        kw_r = {"option_lengths": np.concatenate(lens)}
    else:
        kw_p = kw_r = kw
    rp = fastcal.multiple_choice_report(ans, padded(vals), **kw_p)
    rr = fastcal.multiple_choice_report(ans, flat, offsets=offsets, **kw_r)
    assert rp == rr
    # reference: softmax over each question's own options
    conf, corr, nll = [], [], []
    for a, v, ln in zip(ans, vals, lens):
        z = v / ln if norm else v
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        conf.append(p.max())
        corr.append(int(np.argmax(p) == a))
        nll.append(-np.log(p[a]))
    assert rp.n == len(ans)
    assert math.isclose(rp.accuracy, np.mean(corr), rel_tol=1e-12)
    assert math.isclose(rp.confidence, np.mean(conf), rel_tol=1e-12)
    assert math.isclose(rp.nll, np.mean(nll), rel_tol=1e-9, abs_tol=1e-12)
    e = fastcal.ece(np.array(corr), np.array(conf))
    assert math.isclose(rp.ece, e, rel_tol=1e-9, abs_tol=1e-12)


def test_multiple_choice_errors():
    with pytest.raises(ValueError, match=r"must be finite or -inf.*found nan for option 1 of row 0"):
        fastcal.multiple_choice_report([0], [[-1.0, np.nan]])
    with pytest.raises(ValueError, match=r"found inf for option 0 of row 1"):
        fastcal.multiple_choice_report([0, 0], [[-1.0, -2.0], [np.inf, -1.0]])
    with pytest.raises(ValueError, match="row 1 of option_loglik has no finite option"):
        fastcal.multiple_choice_report([0, 0], [[-1.0, -2.0], [-np.inf, -np.inf]])
    with pytest.raises(ValueError, match=r"row 1 has 0 options"):
        fastcal.multiple_choice_report([0, 0], [-1.0, -2.0], offsets=[0, 2, 2])
    with pytest.raises(ValueError, match="option_lengths must be positive token counts"):
        fastcal.multiple_choice_report([0], [[-1.0, -2.0]], option_lengths=[[3, 0]])
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\)"):
        fastcal.multiple_choice_report([2], [[-1.0, -2.0]])


# ---------------------------------------------------------------------------
# verbalised confidence


def test_parse_confidence():
    out = fastcal.parse_confidence(["85%", "0.85", "85", "100", "1", "0", "7.5 %", ".5",
                                    np.float32(0.25), 3, "Highly likely.", "  LIKELY  "],
                                   words={"highly likely": 0.9, "likely": 0.7})
    np.testing.assert_allclose(out, [0.85, 0.85, 0.85, 1.0, 1.0, 0.0, 0.075, 0.5, 0.25, 0.03,
                                     0.9, 0.7])
    assert math.isnan(fastcal.parse_confidence(["", None], missing="nan")[1])
    for bad, why in (("120%", r"'120%' at row 0 \(above 100%\)"), ("-5%", "'-5%' at row 0"),
                     ("eighty", "'eighty' at row 0"), ("0.8.1", "'0.8.1' at row 0"),
                     ("nan", "'nan' at row 0")):
        with pytest.raises(ValueError, match=why):
            fastcal.parse_confidence([bad])
    with pytest.raises(ValueError, match="missing confidence at row 1"):
        fastcal.parse_confidence(["50%", None])
    with pytest.raises(ValueError, match="words must map phrases to probabilities"):
        fastcal.parse_confidence(["x"], words={"x": 1.5})
    with pytest.raises(TypeError, match="values must be a sequence"):
        fastcal.parse_confidence("85%")


def test_scores_are_python_floats():
    z = np.random.default_rng(0).normal(0, 1, (5, 4))
    y = np.array([0, 1, 2, 3, 0])
    for f in (fastcal.nll, fastcal.brier_score, fastcal.ece):
        assert type(f(y, z, from_logits=True)) is float
