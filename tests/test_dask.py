"""fastcal.dask on a distributed.LocalCluster with worker processes: the
result equals the in-memory call for 1, 2 and 5 partitions, arrays and
DataFrame columns, binary and multiclass."""

import builtins
import math

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import fastcal  # noqa: E402
import fastcal.dask as fd  # noqa: E402

GAUGES = ("n", "accuracy", "confidence", "ece", "mce", "rmsce", "signed_error", "brier", "nll")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def close(r, f):
    for g in GAUGES:
        assert math.isclose(getattr(r, g), getattr(f, g), rel_tol=1e-12, abs_tol=1e-14), g
    assert r.reliability.count.dtype == f.reliability.count.dtype
    np.testing.assert_allclose(r.reliability.count, f.reliability.count, rtol=1e-13)


def data(n=20_001, C=None, seed=0):
    rng = np.random.default_rng(seed)
    if C is None:
        p = rng.beta(2.5, 1.2, n)
        y = (rng.random(n) < p ** 1.3).astype(np.int64)
        return y, p
    z = rng.normal(0, 2, (n, C))
    P = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return rng.integers(0, C, n), P


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_arrays_binary_and_multiclass(client, parts):
    y, p = data()
    n = len(y)
    chunk = -(-n // parts)
    r = fd.calibration_report(da.from_array(y, chunks=chunk), da.from_array(p, chunks=chunk))
    close(r, fastcal.calibration_report(y, p))
    y, P = data(C=4)
    w = np.random.default_rng(1).random(n)
    r = fd.calibration_report(da.from_array(y, chunks=chunk),
                              da.from_array(P, chunks=(chunk, 2)),  # class axis gets merged
                              sample_weight=da.from_array(w, chunks=chunk), n_bins=10)
    close(r, fastcal.calibration_report(y, P, sample_weight=w, n_bins=10))


def test_misaligned_chunks_are_rechunked(client):
    y, p = data()
    r = fd.calibration_report(da.from_array(y, chunks=7_000), da.from_array(p, chunks=5_000),
                              split_every=2)
    close(r, fastcal.calibration_report(y, p))


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_dataframe_columns(client, parts):
    y, p = data()
    df = pd.DataFrame({"label": y, "conf": p, "w": np.arange(len(y)) % 3})
    ddf = dd.from_pandas(df, npartitions=parts)
    assert ddf.npartitions == parts
    r = fd.calibration_report(ddf["label"], ddf["conf"], sample_weight=ddf["w"])
    close(r, fastcal.calibration_report(y, p, sample_weight=df["w"].to_numpy()))
    y, P = data(C=3)
    df = pd.DataFrame({"label": y, **{f"p{k}": P[:, k] for k in range(3)}})
    ddf = dd.from_pandas(df, npartitions=parts)
    r = fd.calibration_report(ddf["label"], ddf[["p0", "p1", "p2"]])
    close(r, fastcal.calibration_report(y, P))


def test_empty_partitions_merge_as_zero(client):
    y, p = data(3_000)
    df = pd.DataFrame({"label": y, "conf": p}).sort_values("conf", ignore_index=True)
    ddf = dd.from_pandas(df, npartitions=3)
    ddf = ddf[ddf["conf"] > 0.8]  # the first partitions become empty
    keep = df[df["conf"] > 0.8]
    r = fd.calibration_report(ddf["label"], ddf["conf"])
    close(r, fastcal.calibration_report(keep["label"].to_numpy(), keep["conf"].to_numpy()))


def test_lazy_result_is_a_mergeable_accumulator(client):
    y, p = data()
    lazy = fd.calibration_report(da.from_array(y, chunks=4_000), da.from_array(p, chunks=4_000),
                                 compute=False)
    acc = lazy.compute()
    assert isinstance(acc, fastcal.CalibrationAccumulator) and acc.n == len(y)
    close(acc.compute(), fastcal.calibration_report(y, p))


def test_bad_input_errors(client):
    y, p = data(100)
    with pytest.raises(TypeError, match="y_prob must be a dask array, a dask Series"):
        fd.calibration_report(da.from_array(y), p)
    with pytest.raises(ValueError, match="partitioned alike: found 2 and 3 partitions"):
        fd.calibration_report(dd.from_pandas(pd.Series(y), npartitions=2),
                              dd.from_pandas(pd.Series(p), npartitions=3))
    bad = p.copy()
    bad[57] = 1.5
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]; found 1.5 at index 57"):
        fd.calibration_report(da.from_array(y, chunks=100), da.from_array(bad, chunks=100))
    with pytest.raises(ValueError, match="split_every must be at least 2"):
        fd.calibration_report(da.from_array(y, chunks=10), da.from_array(p, chunks=10),
                              split_every=1)


def test_missing_dask_gives_the_install_hint(monkeypatch):
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "dask" or name.startswith("dask."):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r'pip install "dask\[array,dataframe\]" distributed'):
        fd.calibration_report(None, None)


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_auroc_bounded_and_exact(client, parts):
    y, p = data()
    n = len(y)
    chunk = -(-n // parts)
    dy, dp = da.from_array(y, chunks=chunk), da.from_array(p, chunks=chunk)
    exact = fastcal.auroc(y, p)
    assert fd.auroc(dy, dp, exact=True) == exact
    auc, lo, hi = fd.auroc(dy, dp, return_bounds=True)
    assert lo <= exact <= hi and lo <= auc <= hi
    z = np.log(p / (1 - p))  # logits need a transform (never a silent clip)
    assert fd.auroc(dy, da.from_array(z, chunks=chunk), exact=True,
                    transform="sigmoid") == fastcal.auroc(y, z)
    auc, lo, hi = fd.auroc(dy, da.from_array(z, chunks=chunk), transform="sigmoid",
                           return_bounds=True)
    assert lo <= exact <= hi
