"""Convention profiles: torchmetrics' and netcal's binned errors reproduced
(values exactly 0, 1, on numpy and torch edges, float32 and float64)."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
from fastcal.metrics.conventions import CONVENTIONS, ece_with_convention, profile, torch_linspace

torch = pytest.importorskip("torch")
tmf = pytest.importorskip("torchmetrics.functional.classification")
netcal_metrics = pytest.importorskip("netcal.metrics")

NORMS = ("l1", "l2", "max")


def tm_value(y, p, n_bins, norm):
    P = torch.from_numpy(np.ascontiguousarray(p))
    Y = torch.from_numpy(np.asarray(y, dtype=np.int64))
    if p.ndim == 1:
        return tmf.binary_calibration_error(P, Y, n_bins=n_bins, norm=norm).item()
    return tmf.multiclass_calibration_error(P, Y, num_classes=p.shape[1], n_bins=n_bins,
                                            norm=norm).item()


def netcal_value(y, p, n_bins, norm):
    cls = {"l1": netcal_metrics.ECE, "max": netcal_metrics.MCE}[norm]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cls(bins=n_bins).measure(p, np.asarray(y)))


def special_values(n_bins):
    e = np.linspace(0, 1, n_bins + 1)
    return [0.0, 1.0] + e.tolist() + torch_linspace(n_bins, np.float32).tolist()


@st.composite
def binary_case(draw):
    n_bins = draw(st.integers(1, 20))
    n = draw(st.integers(1, 60))
    vals = st.one_of(st.sampled_from(special_values(n_bins)), st.floats(0, 1))
    p = np.array(draw(st.lists(vals, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return y, p.astype(dtype), n_bins


@st.composite
def multiclass_case(draw):
    n_bins = draw(st.integers(1, 20))
    n = draw(st.integers(3, 40))
    C = 3
    tops = st.one_of(st.sampled_from([v for v in special_values(n_bins) if v >= 0.5]),
                     st.floats(0.5, 1))
    rows = []
    for _ in range(n):
        m = draw(tops)
        f = draw(st.floats(0, 1))
        r = [m, (1 - m) * f, (1 - m) * (1 - f)]
        k = draw(st.integers(0, C - 1))
        r[0], r[k] = r[k], r[0]
        rows.append(r)
    P = np.array(rows)
    y = np.array([0, 1, 2] + draw(st.lists(st.integers(0, C - 1), min_size=n - 3,
                                           max_size=n - 3)))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return y, P.astype(dtype), n_bins


def tol(p, lib):
    # torchmetrics sums float32 confidences in float32 (multiclass: always)
    if lib == "torchmetrics" and (p.dtype == np.float32 or p.ndim == 2):
        return {"rtol": 2e-5, "atol": 2e-6}
    return {"rtol": 1e-12, "atol": 1e-14}


@given(binary_case())
def test_binary_matches_torchmetrics_and_netcal(case):
    y, p, n_bins = case
    for norm in NORMS:
        exp = tm_value(y, p, n_bins, norm)
        np.testing.assert_allclose(ece_with_convention(y, p, "torchmetrics", n_bins, norm), exp,
                                   **tol(p, "torchmetrics"), err_msg=norm)
    for norm in ("l1", "max"):
        np.testing.assert_allclose(ece_with_convention(y, p, "netcal", n_bins, norm),
                                   netcal_value(y, p, n_bins, norm), **tol(p, "netcal"))


@given(multiclass_case())
def test_multiclass_matches_torchmetrics_and_netcal(case):
    y, P, n_bins = case
    for norm in NORMS:
        np.testing.assert_allclose(ece_with_convention(y, P, "torchmetrics", n_bins, norm),
                                   tm_value(y, P, n_bins, norm), **tol(P, "torchmetrics"))
    for norm in ("l1", "max"):
        np.testing.assert_allclose(ece_with_convention(y, P, "netcal", n_bins, norm),
                                   netcal_value(y, P, n_bins, norm), **tol(P, "netcal"))


def test_confidence_one_gets_its_own_torchmetrics_bin():
    y = np.array([1, 0, 1, 1])
    p = np.array([1.0, 1.0, 0.95, 0.2])
    # fastcal/netcal: 1.0 and 0.95 share the last bin; torchmetrics: 1.0 alone
    assert ece_with_convention(y, p, "torchmetrics", 2) == pytest.approx(tm_value(y, p, 2, "l1"))
    assert ece_with_convention(y, p, "fastcal", 2) == pytest.approx(fastcal.ece(y, p, n_bins=2))
    assert ece_with_convention(y, p, "torchmetrics", 2) != ece_with_convention(y, p, "fastcal", 2)


def test_torch_linspace_equals_torch():
    for n_bins in range(1, 300):
        for dt, tdt in ((np.float32, torch.float32), (np.float64, torch.float64)):
            np.testing.assert_array_equal(
                torch_linspace(n_bins, dt),
                torch.linspace(0, 1, n_bins + 1, dtype=tdt).numpy().astype(np.float64))


def test_fastcal_profile_is_the_default():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), 500)
    y = rng.integers(0, 4, 500)
    for norm, f in (("l1", fastcal.ece), ("max", fastcal.mce), ("l2", fastcal.rmsce)):
        assert ece_with_convention(y, P, "fastcal", 15, norm) == f(y, P)
    w = rng.random(500)
    assert ece_with_convention(y, P, "fastcal", 15, sample_weight=w) == fastcal.ece(
        y, P, sample_weight=w)


def test_real_data_matches_torchmetrics_and_netcal(data_dir):
    path = data_dir / "cifar" / "densenet-bc-100-cifar-100.npz"
    if not path.exists():
        pytest.skip("file absent")
    with np.load(path) as z:
        P, y = z["predictions"], z["ground_truth"]
    np.testing.assert_allclose(ece_with_convention(y, P, "netcal", 15),
                               netcal_value(y, P, 15, "l1"), rtol=1e-12)
    # torchmetrics sums 10000 float32 values in float32 (relative error ~3e-5) ...
    got = ece_with_convention(y, P, "torchmetrics", 15)
    np.testing.assert_allclose(got, tm_value(y, P, 15, "l1"), rtol=1e-4)
    # ... so check its binning exactly: torch's own bucketize, sums in float64
    conf = torch.from_numpy(P).max(dim=1)
    edges = torch.linspace(0, 1, 16, dtype=torch.float32)
    idx = (torch.bucketize(conf.values, edges, right=True) - 1).numpy()
    corr = (conf.indices.numpy() == y).astype(np.float64)
    c = conf.values.numpy().astype(np.float64)
    cnt = np.bincount(idx, minlength=16)
    ne = cnt > 0
    gap = np.bincount(idx, c, 16)[ne] / cnt[ne] - np.bincount(idx, corr, 16)[ne] / cnt[ne]
    np.testing.assert_allclose(got, np.sum(cnt[ne] / cnt.sum() * np.abs(gap)), rtol=1e-12)


def test_profile_contents_and_errors():
    assert set(CONVENTIONS) == {"fastcal", "sklearn", "torchmetrics", "netcal", "helm"}
    p = profile("torchmetrics", 10, dtype=np.float64, multiclass=True)
    assert p["round_to"] == np.float32 and p["edges"].shape == (12,) and not p["right"]
    assert profile("netcal", 10)["clip"] == np.finfo(np.float64).eps
    assert profile("fastcal", 10)["right"]
    assert profile("sklearn", 10)["edges"].tolist() == profile("fastcal", 10)["edges"].tolist()
    with pytest.raises(ValueError, match="convention"):
        profile("scikit-learn", 10)
    with pytest.raises(ValueError, match="n_bins"):
        profile("netcal", 0)
    with pytest.raises(ValueError, match="norm"):
        ece_with_convention([0, 1], [0.2, 0.8], "netcal", 10, "signed")
    with pytest.raises(ValueError, match="y_prob"):
        ece_with_convention([0, 1], [0.2, 1.8], "netcal", 10)
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        ece_with_convention([0, 1], [0.2, 0.8], "torchmetrics", 10, sample_weight=[0.0, 0.0])
