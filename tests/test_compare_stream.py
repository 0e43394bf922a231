"""CompareAccumulator: streaming equals the in-memory comparison, shards
merge, states round-trip and are validated, fastcal.dask.compare."""

import json
import math
import pickle

import numpy as np
import pytest

import fastcal
from fastcal.comparison.compare import GAUGES


def data(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    y = (rng.random(n) < x).astype(np.int64)
    return y, {"a": x, "b": x ** 1.5, "c": np.clip(x + rng.normal(0, 0.05, n), 0, 1)}


def feed(acc, y, preds, lo, hi, step):
    for s in range(lo, hi, step):
        e = min(hi, s + step)
        acc.update(y[s:e], {k: p[s:e] for k, p in preds.items()})
    return acc


def close_comparisons(c1, c2, rtol=1e-12):
    assert list(c1.models) == list(c2.models) and c1.baseline == c2.baseline
    for k in c1.models:
        for g in GAUGES:
            a, b = getattr(c1.models[k], g), getattr(c2.models[k], g)
            assert math.isclose(a, b, rel_tol=rtol, abs_tol=1e-15) or (
                math.isnan(a) and math.isnan(b)), (k, g, a, b)
    for k in c1.differences:
        for g in GAUGES:
            for f in ("estimate", "low", "high", "p_value", "p_adjusted"):
                a, b = c1.differences[k][g][f], c2.differences[k][g][f]
                assert (math.isnan(a) and math.isnan(b)) or math.isclose(
                    a, b, rel_tol=rtol, abs_tol=1e-14), (k, g, f, a, b)


def test_stream_equals_in_memory_compare():
    y, preds = data()
    acc = feed(fastcal.CompareAccumulator(list(preds), n_resamples=200, random_state=3),
               y, preds, 0, y.shape[0], 1700)
    c = acc.compute()
    ref = fastcal.compare(y, preds, n_resamples=200, random_state=3)
    for k in preds:  # every model: its own accumulator's report
        single = fastcal.CalibrationAccumulator(n_resamples=200, random_state=3)
        single = feed_one(single, y, preds[k], 1700)
        assert c.models[k] == single.compute()
    # the same replicate weights as the in-memory call: equal up to summation order
    for k in ("b", "c"):
        for g in GAUGES:
            e, r = c.differences[k][g], ref.differences[k][g]
            if g == "auroc":  # the bounded histogram's AUROC, within its certified bounds
                assert abs(e["estimate"] - r["estimate"]) < 1e-4
                assert math.isnan(e["low"]) and math.isnan(e["p_value"])
                continue
            assert math.isclose(e["estimate"], r["estimate"], rel_tol=1e-9, abs_tol=1e-15)
            for f in ("low", "high", "p_value", "p_adjusted"):
                assert math.isclose(e[f], r[f], rel_tol=1e-9, abs_tol=1e-14), (k, g, f)
    assert "estimate only" in c.methods["auroc"]


def feed_one(acc, y, p, step):
    for s in range(0, y.shape[0], step):
        acc.update(y[s:s + step], p[s:s + step])
    return acc


def test_shards_merge_in_any_order():
    y, preds = data()
    kw = dict(n_resamples=100, random_state=9, auroc=None)
    parts = [feed(fastcal.CompareAccumulator(list(preds), stream=i, **kw), y, preds, lo, hi, 1000)
             for i, (lo, hi) in enumerate([(0, 2500), (2500, 4000), (4000, 6000)])]
    c1 = sum(parts).compute()
    c2 = (parts[2] + parts[0] + parts[1]).compute()
    close_comparisons(c1, c2, rtol=1e-12)
    assert c1.n == 6000
    # the same stream twice: the weights would repeat
    with pytest.raises(ValueError, match="overlap"):
        parts[0] + feed(fastcal.CompareAccumulator(list(preds), stream=0, **kw), y, preds, 0,
                        10, 10)
    with pytest.raises(ValueError, match="different models"):
        parts[0] + fastcal.CompareAccumulator(["a", "b"], **kw)


def test_state_round_trips_and_is_validated():
    y, preds = data(n=3000)
    acc = feed(fastcal.CompareAccumulator(list(preds), baseline="b", n_resamples=50,
                                          random_state=1), y, preds, 0, 3000, 1000)
    d = json.loads(json.dumps(acc.to_dict()))
    back = fastcal.CompareAccumulator.from_dict(d)
    close_comparisons(back.compute(), acc.compute(), rtol=0)
    close_comparisons(pickle.loads(pickle.dumps(acc)).compute(), acc.compute(), rtol=0)
    # continue the stream after a round trip: rows keep their numbers
    more = feed(back, y, preds, 0, 500, 500)
    assert more.n == 3500
    with pytest.raises(ValueError, match="newer"):
        fastcal.CompareAccumulator.from_dict(dict(d, version=2))
    with pytest.raises(ValueError, match="format tag"):
        fastcal.CompareAccumulator.from_dict(dict(d, format="x"))
    with pytest.raises(ValueError, match="baseline"):
        fastcal.CompareAccumulator.from_dict(dict(d, baseline="z"))
    with pytest.raises(ValueError, match="accumulators"):
        fastcal.CompareAccumulator.from_dict(
            dict(d, accumulators={k: v for k, v in d["accumulators"].items() if k != "c"}))
    short = fastcal.CompareAccumulator(list(preds), n_resamples=50, random_state=1)
    feed(short, y, preds, 0, 1000, 1000)
    bad = dict(d, accumulators=dict(d["accumulators"], c=short.to_dict()["accumulators"]["c"]))
    with pytest.raises(ValueError, match=r"accumulators\['c'\]"):
        fastcal.CompareAccumulator.from_dict(bad)
    broken = json.loads(json.dumps(d))
    broken["accumulators"]["a"]["n"] = -1
    with pytest.raises(ValueError, match=r"accumulators\['a'\].*\bn\b"):
        fastcal.CompareAccumulator.from_dict(broken)


def test_failed_update_changes_nothing():
    y, preds = data(n=2000)
    acc = feed(fastcal.CompareAccumulator(list(preds), n_resamples=20, random_state=0),
               y, preds, 0, 1000, 1000)
    before = acc.to_dict()
    bad = {k: p[1000:2000].copy() for k, p in preds.items()}
    bad["c"][5] = 1.5
    with pytest.raises(ValueError, match="model 'c'"):
        acc.update(y[1000:2000], bad)
    with pytest.raises(ValueError, match="missing"):
        acc.update(y[1000:2000], {"a": preds["a"][1000:2000]})
    with pytest.raises(ValueError, match="one of|layout|shape"):
        acc.update(y[:10], {k: np.full((10, 3), 1 / 3) for k in preds})
    assert acc.to_dict() == before


def test_without_bootstrap_and_bad_settings():
    y, preds = data(n=2000)
    c = feed(fastcal.CompareAccumulator(list(preds), n_resamples=None), y, preds, 0, 2000,
             700).compute()
    assert c.ci is None and math.isnan(c.differences["b"]["ece"]["low"])
    with pytest.raises(ValueError, match="at least two models"):
        fastcal.CompareAccumulator(["a"])
    with pytest.raises(ValueError, match="unknown baseline"):
        fastcal.CompareAccumulator(["a", "b"], baseline="c")
    with pytest.raises(TypeError, match="sequence of model names"):
        fastcal.CompareAccumulator("ab")


def test_dask_compare_equals_the_partition_states():
    da = pytest.importorskip("dask.array")
    import fastcal.dask

    y, preds = data(n=5000)
    ch = 1200
    c = fastcal.dask.compare(da.from_array(y, chunks=ch),
                             {k: da.from_array(p, chunks=ch) for k, p in preds.items()},
                             n_resamples=100, random_state=5, baseline="c")
    parts = []
    for i, lo in enumerate(range(0, 5000, ch)):
        a = fastcal.CompareAccumulator(list(preds), baseline="c", n_resamples=100,
                                       random_state=5, stream=i)
        parts.append(a.update(y[lo:lo + ch], {k: p[lo:lo + ch] for k, p in preds.items()}))
    close_comparisons(c, sum(parts).compute(), rtol=1e-12)
    ref = fastcal.compare(y, preds, baseline="c", ci=None)
    for k in ("a", "b"):
        for g in GAUGES:
            tol = 1e-4 if g == "auroc" else 1e-12  # AUROC: the bounded histogram's
            assert math.isclose(c.differences[k][g]["estimate"],
                                ref.differences[k][g]["estimate"], rel_tol=1e-9, abs_tol=tol)
    with pytest.raises(ValueError, match="same rows.*'b' 4000 rows"):
        fastcal.dask.compare(da.from_array(y, chunks=ch),
                             {"a": da.from_array(preds["a"], chunks=ch),
                              "b": da.from_array(preds["b"][:4000], chunks=ch)})


def test_dask_compare_per_model_labels():
    da = pytest.importorskip("dask.array")
    import fastcal.dask

    rng = np.random.default_rng(4)
    n, ch = 3000, 1000
    conf = {"a": rng.random(n), "b": rng.random(n)}
    corr = {k: (rng.random(n) < v).astype(np.int8) for k, v in conf.items()}
    c = fastcal.dask.compare({k: da.from_array(v, chunks=ch) for k, v in corr.items()},
                             {k: da.from_array(v, chunks=ch) for k, v in conf.items()},
                             n_resamples=50, random_state=1)
    for k in conf:
        r = fastcal.calibration_report(corr[k], conf[k])
        assert math.isclose(c.models[k].ece, r.ece, rel_tol=1e-12)
        assert math.isclose(c.models[k].accuracy, r.accuracy, rel_tol=1e-15)


def test_state_does_not_grow_with_the_rows():
    y, preds = data(n=6000)
    # auroc=None: the AUROC histogram pickles its occupied cells only (at most 4.3 MiB)
    acc = fastcal.CompareAccumulator(list(preds), n_resamples=20, random_state=0, auroc=None)
    feed(acc, y, preds, 0, 1000, 1000)
    small = len(pickle.dumps(acc))
    feed(acc, y, preds, 1000, 6000, 1000)
    assert acc.n == 6000
    # the sums are fixed-size; each batch adds one (start, stop) row range per model
    assert 0 <= len(pickle.dumps(acc)) - small < 100 * 5 * 3
