"""Issue 16, items 1, 5, 6 and 10: exact-AUROC states of unequal lengths, the NLL
convention's epsilon, bootstrap/plain merges, and half-lives too short for float64."""

import json
import math
import pickle

import numpy as np
import pytest

import fastcal
from fastcal import CalibrationAccumulator
from fastcal.streaming.auroc_accumulator import AUROCAccumulator

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")


def _data(n=500, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(np.int64)
    return y, p


# ------------------------------------------------------------------ item 1
@pytest.mark.parametrize("field, extra", [("scores", [0.5] * 20), ("labels", [1, 0, 1]),
                                          ("weights", [1.0] * 5)])
def test_exact_auroc_state_of_unequal_lengths_is_refused(field, extra):
    acc = AUROCAccumulator(exact=True).update([0, 1], [0.2, 0.7], sample_weight=[1.0, 2.0])
    d = acc.to_dict()
    d["samples"][field] = d["samples"][field] + extra
    with pytest.raises(ValueError, match=r"samples\.(labels|weights) must have length|n must be"):
        AUROCAccumulator.from_dict(d)


def test_exact_auroc_pickled_state_of_unequal_lengths_is_refused():
    acc = AUROCAccumulator(exact=True).update([0, 1], [0.2, 0.7])
    version, d = acc.__getstate__()
    d = dict(d, scores=np.random.default_rng(0).random(1000).astype("<f8").tobytes())
    fresh = AUROCAccumulator.__new__(AUROCAccumulator)
    with pytest.raises(ValueError, match="labels must have length 1000; found length 2"):
        fresh.__setstate__((version, d))


def test_exact_auroc_inside_the_calibration_accumulator_is_checked():
    y, p = _data()
    acc = CalibrationAccumulator(auroc="exact").update(y, p)
    d = acc.to_dict()
    d["auroc_state"]["samples"]["scores"] += list(np.random.default_rng(1).random(5000))
    with pytest.raises(ValueError, match="samples.labels must have length 5500"):
        CalibrationAccumulator.from_dict(d)
    # and n must be the number of samples kept
    d = acc.to_dict()
    d["auroc_state"]["n"] = 7
    with pytest.raises(ValueError, match=r"n must be the number of kept samples \(500\)"):
        CalibrationAccumulator.from_dict(d)
    # an untampered state still loads and computes the same
    again = CalibrationAccumulator.from_dict(json.loads(json.dumps(acc.to_dict())))
    assert again.compute().auroc == acc.compute().auroc == fastcal.auroc(y, p)


# ------------------------------------------------------------------ item 5
@pytest.mark.parametrize("dtype, eps", [(np.float64, 2.0 ** -52), (np.float32, 2.0 ** -23),
                                        (np.float16, 2.0 ** -10)])
def test_nll_convention_states_the_epsilon_used(dtype, eps):
    y, p = _data()
    p = p.astype(dtype)
    p[:3] = [0.0, 1.0, 0.0]  # clipped values: the epsilon matters
    for acc in (CalibrationAccumulator(auroc=None).update(y, p),  # small fast path
                CalibrationAccumulator(auroc=None).update(y, p, sample_weight=np.ones(len(y)))):
        r = acc.compute()
        text = r.convention["nll"]
        assert f"eps = {eps!r} ({np.dtype(dtype).name} machine epsilon)" in text, text
        # and the number uses that epsilon
        assert math.isclose(r.nll, fastcal.nll(y, p), rel_tol=1e-12)


def test_nll_convention_of_bfloat16_and_mixed_batches():
    ml = pytest.importorskip("ml_dtypes")
    y, p = _data()
    acc = CalibrationAccumulator(auroc=None).update(y, np.stack([1 - p, p], 1).astype(ml.bfloat16))
    assert "eps = 0.0078125 (bfloat16 machine epsilon)" in acc.compute().convention["nll"]
    acc.update(y, np.stack([1 - p, p], 1).astype(np.float32))
    text = acc.compute().convention["nll"]
    assert text.startswith("mixed batches: ")
    assert "eps = 0.0078125 (bfloat16" in text and "eps = 1.1920928955078125e-07 (float32" in text


# ------------------------------------------------------------------ item 6
def test_bootstrap_and_plain_accumulators_do_not_merge_in_either_order():
    y, p = _data(2000)
    b = CalibrationAccumulator(n_resamples=30, random_state=1).update(y[:1000], p[:1000])
    a = CalibrationAccumulator().update(y[1000:], p[1000:])
    before_a, before_b = pickle.dumps(a), pickle.dumps(b)
    pattern = (r"cannot merge CalibrationAccumulator\(.*\) with CalibrationAccumulator\(.*\): "
               r"one keeps bootstrap replicates")
    for x, z in ((b, a), (a, b)):
        for op in (lambda: x + z, lambda: x.merge(z), lambda: x.copy().__iadd__(z),
                   lambda: sum([x, z])):
            with pytest.raises(TypeError, match=pattern) as e:
                op()
            msg = str(e.value)
            assert "n_resamples=30, random_state=1, ci=0.95" in msg  # both settings named
            assert msg.count("CalibrationAccumulator(n_bins=15") == 2
            assert isinstance(e.value, ValueError)  # like the other incompatible merges
    assert pickle.dumps(a) == before_a and pickle.dumps(b) == before_b


# ----------------------------------------------------------------- item 10
@pytest.mark.parametrize("hl", [1e-300, 5e-324, 1e-4, 0.000999])
def test_half_life_too_short_for_float64_is_refused(hl):
    with pytest.raises(ValueError, match=r"half_life must be at least 0\.001 .*found "):
        CalibrationAccumulator(half_life=hl)


@pytest.mark.parametrize("hl", [True, float("nan"), float("inf"), -1.0, 0, "2"])
def test_half_life_must_be_a_positive_finite_number(hl):
    with pytest.raises(ValueError, match="half_life must be"):
        CalibrationAccumulator(half_life=hl)


@pytest.mark.parametrize("hl", [1e-3, 0.3, 1e300])
def test_the_shortest_and_longest_half_lives_work(hl):
    y, p = _data(60, seed=3)
    acc = CalibrationAccumulator(half_life=hl)
    for lo in range(0, 60, 7):
        acc.update(y[lo:lo + 7], p[lo:lo + 7])
    r = acc.compute()
    age = np.arange(59, -1, -1, dtype=np.float64)
    f = fastcal.calibration_report(y, p, sample_weight=0.5 ** (age / hl))
    for g in ("ece", "brier", "nll", "accuracy", "confidence"):
        assert math.isclose(getattr(r, g), getattr(f, g), rel_tol=1e-9, abs_tol=1e-12), g
    # pickled and reloaded, it keeps going
    again = CalibrationAccumulator.from_dict(json.loads(json.dumps(acc.to_dict())))
    again.update(y[:5], p[:5])
    assert math.isfinite(again.compute().ece)


def test_decayed_accumulator_of_ignored_rows_only_does_not_overflow():
    P = np.full((4, 3), 1 / 3)
    acc = CalibrationAccumulator(half_life=1e-3).update(np.full(4, -100), P, ignore_index=-100)
    with pytest.raises(ValueError, match="no row is left to score"):  # no sample kept: like the report
        acc.compute()
    acc.update(np.array([0, 1]), np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1]]))
    assert acc.compute().n == 2
