"""Estimators: debiased L2 (vs uncertainty-calibration), smooth ECE (vs relplot,
real data), Murphy and CORP decompositions (exact identities), equal-mass
adaptive ECE (vs a Nixon et al. reference)."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
from fastcal.metrics.smooth import (
    brier_decomposition,
    brier_decomposition_from_bins,
    brier_decomposition_terms,
    corp_decomposition,
    debiased_l2,
    debiased_l2_from_bins,
    smooth_ece,
)
from fastcal._kernels.metrics import smooth as KSM


def data(n, seed=0, power=1.0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p ** power).astype(np.int64)
    return y, p


# ---------------------------------------------------------------- debiased L2
def ref_debiased_sq(conf, corr, edges):
    b = np.searchsorted(edges[1:-1], conf, side="left")
    n = conf.shape[0]
    s = 0.0
    for k in range(edges.shape[0] - 1):
        m = b == k
        nk = m.sum()
        if nk < 2:
            continue
        acc = corr[m].mean()
        s += nk / n * ((conf[m].mean() - acc) ** 2 - acc * (1 - acc) / (nk - 1))
    return s


@given(st.integers(1, 200), st.integers(1, 20), st.integers(0, 10 ** 6))
def test_debiased_l2_matches_reference(n, n_bins, seed):
    y, p = data(n, seed, power=1.5)
    sq = debiased_l2(y, p, n_bins=n_bins, squared=True)
    np.testing.assert_allclose(sq, ref_debiased_sq(p, y, np.linspace(0, 1, n_bins + 1)),
                               rtol=1e-10, atol=1e-15)
    assert debiased_l2(y, p, n_bins=n_bins) == np.sqrt(max(sq, 0.0))


def test_debiased_l2_matches_uncertainty_calibration():
    cal = pytest.importorskip("calibration")
    for seed in range(3):
        y, p = data(3000, seed, power=2.0)
        exp = cal.lower_bound_scaling_ce(p, y, p=2, debias=True, num_bins=15,
                                         binning_scheme=cal.get_equal_prob_bins,
                                         mode="top-label")
        np.testing.assert_allclose(debiased_l2(y, p), exp, rtol=1e-10)
        rng = np.random.default_rng(seed)
        P = rng.dirichlet(np.ones(5), 3000)
        Y = rng.integers(0, 5, 3000)
        exp = cal.lower_bound_scaling_ce(P, Y, p=2, debias=True, num_bins=10,
                                         binning_scheme=cal.get_equal_prob_bins,
                                         mode="top-label")
        np.testing.assert_allclose(debiased_l2(Y, P, n_bins=10), exp, rtol=1e-10)


def test_debiased_l2_weights_are_repetitions_and_errors():
    y, p = data(300, 4)
    k = np.random.default_rng(1).integers(0, 4, 300)
    np.testing.assert_allclose(debiased_l2(y, p, sample_weight=k, squared=True),
                               debiased_l2(np.repeat(y, k), np.repeat(p, k), squared=True),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="the bins hold no weight"):
        debiased_l2_from_bins(np.zeros((3, 4)))


# ---------------------------------------------------------------- smooth ECE
def test_smooth_ece_matches_relplot():
    relplot = pytest.importorskip("relplot")
    for n, power in ((50, 1.0), (2000, 2.0), (20000, 0.5)):
        y, p = data(n, n, power)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v, s = relplot.smECE(p, y.astype(float), return_width=True)
            vs = relplot.smECE_sigma(p, y.astype(float), 0.004)
        got, gs = smooth_ece(y, p, return_sigma=True)
        assert gs == s
        np.testing.assert_allclose(got, v, rtol=1e-10)
        np.testing.assert_allclose(smooth_ece(y, p, sigma=0.004), vs, rtol=1e-10)


def test_smooth_ece_real_data_matches_relplot(data_dir):
    relplot = pytest.importorskip("relplot")
    files = sorted((data_dir / "cifar").glob("*.npz"))[:1]
    files += sorted((data_dir / "imagenet").glob("*.csv"))[:1]
    if not files:
        pytest.skip("no real data files")
    for f in files:
        if f.suffix == ".npz":
            with np.load(f) as z:
                P, y = z["predictions"], z["ground_truth"]
            got = smooth_ece(y, P)
            conf, corr = relplot.multiclass_logits_to_confidences(P, y, probs=True)
        else:
            d = np.loadtxt(f, delimiter=",", skiprows=1)
            corr = (d[:, 0] == d[:, 1]).astype(float)
            conf = d[:, 2]
            got = smooth_ece(corr.astype(int), conf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exp = relplot.smECE(np.asarray(conf, dtype=np.float64), corr)
        assert abs(got - exp) < 1e-9, f.name


def test_reflect_convolve_equals_numpy():
    rng = np.random.default_rng(0)
    for m in (5, 6, 101):
        v = rng.random((2, m))
        t = np.linspace(0, 1, m)
        ker = np.exp(-(t - 0.5) ** 2 / (2 * 0.01 ** 2))
        ext = np.concatenate([np.flip(v[0])[:-1], v[0], np.flip(v[0])[1:]])
        exp = np.convolve(ext, ker, "valid")[m // 2: m // 2 + m]
        np.testing.assert_allclose(KSM.reflect_convolve(v, ker)[0], exp, rtol=1e-12, atol=1e-300)


def test_smooth_ece_weights_and_errors():
    y, p = data(500, 3, 2.0)
    k = np.random.default_rng(2).integers(0, 3, 500)
    np.testing.assert_allclose(smooth_ece(y, p, sample_weight=k, sigma=0.1),
                               smooth_ece(np.repeat(y, k), np.repeat(p, k), sigma=0.1), rtol=1e-9)
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="sigma must be a positive bandwidth"):
            smooth_ece(y, p, sigma=bad)
    with pytest.raises(ValueError, match="y_prob"):
        smooth_ece([0, 1], [0.5, 1.5])


# ---------------------------------------------------------------- decompositions
@given(st.integers(1, 100), st.integers(1, 12), st.integers(0, 10 ** 6), st.booleans())
def test_murphy_identity_is_exact(n, n_bins, seed, weighted):
    y, p = data(n, seed, 1.3)
    w = np.random.default_rng(seed).random(n) + 0.1 if weighted else None
    rel, res, unc, wbv, wbc = brier_decomposition_terms(y, p, n_bins=n_bins, sample_weight=w)
    bs = fastcal.brier_score(y, p, sample_weight=w)
    np.testing.assert_allclose(rel - res + unc + wbv - 2 * wbc, bs, rtol=1e-10, atol=1e-14)
    assert wbv >= 0 and rel >= 0 and res >= 0
    assert (rel, res, unc) == brier_decomposition(y, p, n_bins=n_bins, sample_weight=w)
    np.testing.assert_allclose(rel, fastcal.rmsce(y, p, n_bins=n_bins, sample_weight=w) ** 2,
                               rtol=1e-10, atol=1e-15)


def test_murphy_exact_when_constant_within_bins():
    rng = np.random.default_rng(0)
    p = rng.choice([0.05, 0.35, 0.65, 0.95], 1000)  # one value per bin (10 bins)
    y = (rng.random(1000) < p).astype(int)
    rel, res, unc = brier_decomposition(y, p, n_bins=10)
    np.testing.assert_allclose(rel - res + unc, fastcal.brier_score(y, p), rtol=1e-12)
    b = fastcal.core.pipeline.binned(y, p, n_bins=10, strategy="uniform", right=True, classwise=False,
                             from_logits=False, sample_weight=None, scores=False, want_cc=False)
    assert brier_decomposition_from_bins(b.bins) == (rel, res, unc)
    with pytest.raises(ValueError, match="the bins hold no weight"):
        brier_decomposition_from_bins(np.zeros((3, 2)))


def ref_pav_pooled(x, y):
    """PAV on the unique x values (ties pooled), by repeated pooling."""
    xs, inv = np.unique(x, return_inverse=True)
    blocks = [[float(np.sum(y[inv == k])), float(np.sum(inv == k))] for k in range(xs.size)]
    members = [[k] for k in range(xs.size)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] / blocks[i][1] > blocks[i + 1][0] / blocks[i + 1][1]:
            blocks[i] = [blocks[i][0] + blocks[i + 1][0], blocks[i][1] + blocks[i + 1][1]]
            members[i] += members.pop(i + 1)
            blocks.pop(i + 1)
            i = max(i - 1, 0)
        else:
            i += 1
    val = np.empty(xs.size)
    for (s, c), mem in zip(blocks, members):
        val[mem] = s / c
    return val[inv]


@given(st.lists(st.tuples(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]) | st.floats(0, 1),
                          st.integers(0, 1)), min_size=1, max_size=60))
def test_corp_matches_pav_reference_and_identity(rows):
    p = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    mcb, dsc, unc = corp_decomposition(y, p)
    piso = ref_pav_pooled(p, y.astype(float))
    S = lambda q: np.mean((q - y) ** 2)
    np.testing.assert_allclose([mcb, dsc, unc], [S(p) - S(piso), S(y.mean()) - S(piso),
                                                 S(y.mean())], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mcb - dsc + unc, fastcal.brier_score(y, p), rtol=1e-9, atol=1e-12)
    assert mcb >= -1e-12 and dsc >= -1e-12


def test_corp_multiclass_is_top_label():
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(3), 400)
    y = rng.integers(0, 3, 400)
    conf = P.max(1)
    corr = (P.argmax(1) == y).astype(int)
    assert corp_decomposition(y, P) == corp_decomposition(corr, conf)


# ---------------------------------------------------------------- adaptive ECE
def ref_adaptive_ece(conf, corr, n_bins):
    """Nixon et al. 2019: sort, split into n_bins groups of equal size."""
    order = np.argsort(conf, kind="stable")
    n = conf.shape[0]
    return sum(len(g) / n * abs(conf[g].mean() - corr[g].mean())
               for g in np.array_split(order, n_bins) if len(g))


@given(st.integers(1, 15), st.integers(1, 30), st.integers(0, 10 ** 6))
def test_quantile_strategy_is_equal_mass_ace(n_bins, per_bin, seed):
    # distinct confidences, n a multiple of n_bins: np.quantile edges give the
    # same partition as splitting the sorted sample into equal groups
    y, p = data(n_bins * per_bin, seed, 2.0)
    np.testing.assert_allclose(fastcal.ece(y, p, n_bins=n_bins, strategy="quantile"),
                               ref_adaptive_ece(p, y, n_bins), rtol=1e-10, atol=1e-15)


def test_quantile_ace_matches_uncertainty_calibration():
    cal = pytest.importorskip("calibration")
    y, p = data(3000, 9, 2.0)
    np.testing.assert_allclose(fastcal.ece(y, p, strategy="quantile"),
                               cal.get_ece_em(p, y, num_bins=15, mode="top-label"), rtol=1e-10)
