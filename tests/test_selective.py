"""Selective prediction (fastcal.uncertainty.selective): risk-coverage curve, AURC, PRR.

Defined as the expectation over uniformly random orders of tied
confidences.  Checked against
- a plain ``argsort`` implementation when the confidences are distinct
  (the order is then unique, so every peer agrees);
- the brute-force average over every permutation of a small input ranked by a
  stable sort (each tie block then takes every order equally often);
- LM-Polygraph's PredictionRejectionArea / normalize_metric formulas
  (written out below) on distinct confidences.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastcal.uncertainty.selective import aurc, prediction_rejection_ratio, risk_coverage_curve
from fastcal.core.errors import UndefinedMetricWarning


# ---------------------------------------------------------------- references
def argsort_curve(correct, confidence, kind="stable"):
    """Risk of the k most confident for one particular order (a peer's way)."""
    order = np.argsort(-np.asarray(confidence, dtype=np.float64), kind=kind)
    err = 1.0 - np.asarray(correct, dtype=np.float64)[order]
    return np.cumsum(err) / np.arange(1, err.size + 1)


def brute_force_curve(correct, confidence):
    """Average of argsort_curve over every permutation of the input."""
    c = np.asarray(correct)
    s = np.asarray(confidence, dtype=np.float64)
    curves = [argsort_curve(c[list(p)], s[list(p)]) for p in itertools.permutations(range(c.size))]
    return np.mean(curves, axis=0)


def lm_polygraph_prr(correct, confidence):
    """LM-Polygraph: PRA of the uncertainty -confidence, normalised by the
    oracle (uncertainty = -quality) and the random ranking (its expectation,
    the accuracy, in place of the 1000-shuffle Monte Carlo estimate)."""
    target = np.asarray(correct, dtype=np.float64)

    def pra(uncertainty):
        order = np.argsort(uncertainty, kind="stable")
        cumsum = np.cumsum(target[order])
        return np.sum((cumsum / np.arange(1, target.size + 1))[::-1]) / target.size

    ue, oracle, rand = pra(-np.asarray(confidence, dtype=np.float64)), pra(-target), target.mean()
    return (ue - rand) / (oracle - rand)


# ---------------------------------------------------------------- strategies
@st.composite
def answers(draw, max_n=60, ties=True):
    n = draw(st.integers(1, max_n))
    correct = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if ties:
        levels = draw(st.integers(1, 6))
        conf = np.array(draw(st.lists(st.integers(0, levels), min_size=n, max_size=n))) / levels
    else:
        conf = np.array(draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n, unique=True)))
    return correct, conf


# ---------------------------------------------------------------- properties
@given(answers(ties=False))
def test_distinct_confidences_equal_argsort(data):
    correct, conf = data
    cov, risk = risk_coverage_curve(correct, conf)
    ref = argsort_curve(correct, conf, kind="quicksort")
    np.testing.assert_allclose(risk, ref, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(cov, np.arange(1, conf.size + 1) / conf.size)
    assert aurc(correct, conf) == pytest.approx(ref.mean(), rel=1e-14)
    if 0 < correct.sum() < correct.size:
        assert prediction_rejection_ratio(correct, conf) == pytest.approx(
            lm_polygraph_prr(correct, conf), rel=1e-12, abs=1e-14)


@given(answers(max_n=7))
def test_ties_equal_average_over_permutations(data):
    correct, conf = data
    ref = brute_force_curve(correct, conf)
    _, risk = risk_coverage_curve(correct, conf)
    np.testing.assert_allclose(risk, ref, rtol=1e-13, atol=1e-15)
    assert aurc(correct, conf) == pytest.approx(ref.mean(), rel=1e-13, abs=1e-15)


@given(answers(), st.integers(0, 2**32 - 1))
def test_invariant_to_input_permutation(data, seed):
    correct, conf = data
    p = np.random.default_rng(seed).permutation(conf.size)
    a = risk_coverage_curve(correct, conf)[1]
    b = risk_coverage_curve(correct[p], conf[p])[1]
    np.testing.assert_array_equal(a, b)  # bitwise: only each tie block's (m, e) matters
    assert aurc(correct, conf) == aurc(correct[p], conf[p])


def test_peers_depend_on_tie_order():
    """An unstable or stable argsort picks one order of a tie block; the
    expectation sits between the extremes."""
    correct = np.array([1, 0, 1, 0, 1, 1])
    conf = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    best = argsort_curve([1, 1, 1, 0, 0, 1], [0.9, 0.5, 0.5, 0.5, 0.5, 0.1]).mean()
    worst = argsort_curve([1, 0, 0, 1, 1, 1], [0.9, 0.5, 0.5, 0.5, 0.5, 0.1]).mean()
    a = aurc(correct, conf)
    assert best < a < worst
    assert a == pytest.approx(brute_force_curve(correct, conf).mean(), rel=1e-14)


def test_prr_oracle_random_and_reverse():
    rng = np.random.default_rng(0)
    correct = rng.random(2000) < 0.7
    assert prediction_rejection_ratio(correct, correct.astype(float)) == pytest.approx(1.0)
    assert prediction_rejection_ratio(correct, np.zeros(2000)) == pytest.approx(0.0, abs=1e-12)
    assert prediction_rejection_ratio(correct, -correct.astype(float)) < -1.0
    # one tie block = the exact expectation of a random ranking
    assert aurc(correct, np.ones(2000)) == pytest.approx(1 - correct.mean(), rel=1e-14)


def test_large_input_and_float32():
    rng = np.random.default_rng(1)
    n = 200_000
    correct = rng.random(n) < 0.6
    conf = rng.random(n) * 0.5 + 0.4 * correct
    ref = argsort_curve(correct, conf)
    _, risk = risk_coverage_curve(correct, conf)
    np.testing.assert_allclose(risk, ref, rtol=1e-12)
    # float32 confidences rank exactly as their float64 values (ties included)
    c32 = np.round(conf, 2).astype(np.float32)
    assert aurc(correct, c32) == aurc(correct, c32.astype(np.float64))


def test_known_values():
    _, risk = risk_coverage_curve([True, False, True, True], [0.9, 0.8, 0.8, 0.3])
    assert risk.tolist() == [0.0, 0.25, 1 / 3, 0.25]
    assert aurc([1, 0, 1, 1], [0.9, 0.8, 0.8, 0.3]) == pytest.approx((0 + 0.25 + 1 / 3 + 0.25) / 4)
    assert prediction_rejection_ratio([1, 0, 1, 1], [0.9, 0.8, 0.8, 0.3]) == pytest.approx(2 / 9)
    assert aurc([0], [0.5]) == 1.0 and aurc([1], [0.5]) == 0.0
    # -0.0 and +0.0 tie; any finite real is a confidence
    assert aurc([1, 0], [-0.0, 0.0]) == aurc([1, 0], [0.0, 0.0]) == 0.5  # (1/2 + 1/2) / 2
    assert aurc([1, 0], [-1e300, 1e300]) == 0.75  # (1 + 1/2) / 2


# ---------------------------------------------------------------- undefined and bad input
@pytest.mark.parametrize("correct,word", [([1, 1, 1], "right"), ([0, 0], "wrong")])
def test_prr_undefined(correct, word):
    with pytest.warns(UndefinedMetricWarning, match=f"every answer is {word}"):
        assert math.isnan(prediction_rejection_ratio(correct, np.arange(len(correct), dtype=float)))


@pytest.mark.parametrize("f", [risk_coverage_curve, aurc, prediction_rejection_ratio])
def test_bad_inputs(f):
    with pytest.raises(ValueError, match=r"correct must be 0/1 \(or bool\).*found 2 at index 1"):
        f([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="confidence must be finite; found nan at index 0"):
        f([1, 0], [np.nan, 0.2])
    with pytest.raises(ValueError, match="same length: found 2 and 3"):
        f([1, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="are empty"):
        f([], [])
    with pytest.raises(ValueError, match="confidence must be 1-D"):
        f([1, 0], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(TypeError, match="correct must hold integer class labels"):
        f(["a", "b"], [0.1, 0.2])
