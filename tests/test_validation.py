"""Every bad input raises an error naming the argument, the expectation and
what was found (docs/design.md, section 5); hostile inputs never crash."""

import numpy as np
import pytest

import fastcal

Y = np.array([0, 1, 1, 0])
P = np.array([0.1, 0.9, 0.6, 0.3])
YC = np.array([0, 2, 1])
PC = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])

PROB_METRICS = [
    fastcal.ece,
    fastcal.mce,
    fastcal.rmsce,
    fastcal.calibration_error,
    fastcal.reliability_curve,
    fastcal.brier_score,
    fastcal.nll,
    fastcal.calibration_report,
]


@pytest.fixture(params=PROB_METRICS, ids=lambda f: f.__name__)
def metric(request):
    return request.param


@pytest.mark.parametrize("bad, found", [(np.nan, "nan"), (np.inf, "inf"), (1.5, "1.5"), (-0.1, "-0.1")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_prob_out_of_range(metric, bad, found, dtype):
    p = P.astype(dtype)
    p[2] = bad
    with pytest.raises(ValueError, match=rf"y_prob must hold probabilities in \[0, 1\]; found {found}.* at index 2\. "
                                          r"If these are logits, pass from_logits=True"):
        metric(Y, p)


def test_first_bad_element_is_reported_in_large_input():
    rng = np.random.default_rng(0)
    n = 300_000  # parallel kernel, several chunks
    p = rng.random(n)
    y = (rng.random(n) < 0.5).astype(np.int64)
    p[200_001] = 2.0
    p[250_000] = np.nan
    for f in (fastcal.ece, fastcal.nll, fastcal.brier_score, fastcal.calibration_report):
        with pytest.raises(ValueError, match=r"found 2\.0 at index 200001"):
            f(y, p)


def test_multiclass_prob_out_of_range(metric):
    p = PC.copy()
    p[1] = [np.nan, 0.5, 0.5]
    with pytest.raises(ValueError, match=r"y_prob must hold probabilities in \[0, 1\]; found nan in row 1"):
        metric(YC, p)


def test_rows_must_sum_to_one(metric):
    p = PC.copy()
    p[2] = [0.2, 0.5, 0.2]
    with pytest.raises(ValueError, match=r"each row of y_prob must sum to 1; row 2 sums to 0\.9.*from_logits=True"):
        metric(YC, p)


def test_rows_sum_tolerance_accepts_float32_softmax():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(1000, 100))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    fastcal.ece(rng.integers(0, 100, 1000), p.astype(np.float32).astype(np.float64))


@pytest.mark.parametrize("bad", [2, -1, 0.5])
def test_binary_labels(metric, bad):
    y = Y.astype(np.float64)
    y[3] = bad
    with pytest.raises(ValueError, match=rf"y_true must be 0/1 \(or bool\) for a 1-D y_prob; found {float(bad)!r} at index 3\. "
                                          r"For multiclass labels pass y_prob of shape \(n, C\)"):
        metric(y, P)


@pytest.mark.parametrize("bad", [3, -1, 1.5, np.nan])
def test_class_labels(metric, bad):
    y = YC.astype(np.float64)
    y[1] = bad
    with pytest.raises(ValueError, match=r"y_true must hold integer class labels in \[0, 3\) to match y_prob "
                                         rf"of shape \(n, 3\); found {float(bad)!r} at index 1"):
        metric(y, PC)


def test_class_labels_huge_unsigned(metric):
    y = np.array([0, 2**63, 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\).*found 9223372036854775808 at index 1"):
        metric(y, PC)


def test_logits_must_be_finite(metric):
    with pytest.raises(ValueError, match=r"y_prob \(logits\) must be finite; found inf at index 1"):
        metric(Y, np.array([0.0, np.inf, 1.0, -2.0]), from_logits=True)
    z = np.log(PC)
    z[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"y_prob \(logits\) must be finite or -inf \(a masked "
                                         r"class\); found nan in row 0"):
        metric(YC, z, from_logits=True)
    z[0, 1] = -np.inf  # a masked class (issue 14): valid while the row has a finite logit
    metric(YC, z, from_logits=True)
    z[0] = -np.inf
    with pytest.raises(ValueError, match=r"row 0 has no finite value"):
        metric(YC, z, from_logits=True)


def test_lengths(metric):
    with pytest.raises(ValueError, match=r"y_true and y_prob must have the same length: found 3 labels and 4 rows"):
        metric(Y[:3], P)


def test_empty(metric):
    with pytest.raises(ValueError, match=r"y_true and y_prob are empty; at least one sample is required"):
        metric(np.array([], dtype=int), np.array([]))
    with pytest.raises(ValueError, match=r"are empty"):
        metric(np.array([], dtype=int), np.empty((0, 3)))


def test_ndim(metric):
    # (..., C) is token input: y_true must have the leading shape
    with pytest.raises(ValueError, match=r"y_true of shape \(2,\) does not match y_prob of "
                                         r"shape \(2, 2, 2\): for \(\.\.\., C\) input y_true "
                                         r"must have shape \(2, 2\)"):
        metric(Y[:2], np.full((2, 2, 2), 0.25))
    with pytest.raises(ValueError, match=r"y_true must be 1-D; found an array of shape \(4, 1\)"):
        metric(Y[:, None], P)
    with pytest.raises(ValueError, match=r"y_prob must be 1-D, 2-D or \(\.\.\., C\); found a scalar"):
        metric(np.array(1), np.array(0.5))


@pytest.mark.parametrize("C", [0, 1])
def test_too_few_columns(metric, C):
    with pytest.raises(ValueError, match=rf"needs C >= 2 classes; found shape \(3, {C}\).*1-D array"):
        metric(np.zeros(3, int), np.ones((3, C)))


def test_weights(metric):
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative; found -1\.0 at index 2"):
        metric(Y, P, sample_weight=[1, 1, -1, 1])
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative; found nan at index 0"):
        metric(Y, P, sample_weight=[np.nan, 1, 1, 1])
    with pytest.raises(ValueError, match=r"sample_weight must have one entry per sample: found 3 weights for 4 samples"):
        metric(Y, P, sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match=r"sample_weight must be 1-D; found an array of shape \(4, 1\)"):
        metric(Y, P, sample_weight=np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"sample_weight sums to zero"):
        metric(Y, P, sample_weight=np.zeros(4))
    with pytest.raises(TypeError, match=r"sample_weight must hold non-negative numbers; found dtype <U1"):
        metric(Y, P, sample_weight=np.array(["a"] * 4))


def test_dtypes(metric):
    with pytest.raises(TypeError, match=r"y_prob must hold real numbers; found dtype <U3"):
        metric(Y[:1], np.array(["0.5"]))
    with pytest.raises(TypeError, match=r"y_prob must hold real numbers; found dtype complex128"):
        metric(Y, P.astype(complex))
    with pytest.raises(TypeError, match=r"y_true must hold integer class labels \(or bool / 0-1 floats\); found dtype object"):
        metric(np.array([0, 1, None, 1], dtype=object), P)
    with pytest.raises(TypeError, match=r"y_prob is required; got None"):
        metric(Y, None)


BINNED = [fastcal.ece, fastcal.mce, fastcal.rmsce, fastcal.calibration_error,
          fastcal.reliability_curve, fastcal.calibration_report]


@pytest.mark.parametrize("f", BINNED, ids=lambda f: f.__name__)
def test_n_bins(f):
    with pytest.raises(ValueError, match=r"n_bins must be a positive integer; found 0"):
        f(Y, P, n_bins=0)
    with pytest.raises(ValueError, match=r"n_bins must be a positive integer; found -3"):
        f(Y, P, n_bins=-3)
    with pytest.raises(TypeError, match=r"n_bins must be a positive integer; found 2\.5 \(float\)"):
        f(Y, P, n_bins=2.5)
    with pytest.raises(TypeError, match=r"n_bins must be a positive integer; found True \(bool\)"):
        f(Y, P, n_bins=True)
    with pytest.raises(ValueError, match=r"n_bins must be at most 1000000; found 10000000000"):
        f(Y, P, n_bins=10**10)
    r = f(Y, P, n_bins=np.int64(7))  # numpy integers are integers
    assert (r.ece if f is fastcal.calibration_report
            else r.count.sum() if f is fastcal.reliability_curve else r) >= 0


@pytest.mark.parametrize("f", BINNED, ids=lambda f: f.__name__)
def test_strategy(f):
    with pytest.raises(ValueError, match=r"strategy must be one of 'uniform', 'quantile'; found 'equal'"):
        f(Y, P, strategy="equal")


def test_norm():
    with pytest.raises(ValueError, match=r"norm must be one of 'l1', 'l2', 'max', 'signed'; found 'L1'"):
        fastcal.calibration_error(Y, P, norm="L1")


def test_classwise_needs_2d():
    with pytest.raises(ValueError, match=r"classwise=True needs y_prob of shape \(n, C\)"):
        fastcal.calibration_error(Y, P, classwise=True)


def test_auroc_errors():
    with pytest.raises(ValueError, match=r"y_score must be finite; found nan at index 1"):
        fastcal.auroc(Y, [0.1, np.nan, 0.3, 0.2])
    with pytest.raises(ValueError, match=r"y_score must be 1-D \(a binary problem\); found shape \(3, 3\)"):
        fastcal.auroc(YC, PC)
    with pytest.raises(ValueError, match=r"y_true must be 0/1 \(or bool\) for a 1-D y_score; found 2 at index 0"):
        fastcal.auroc([2, 0, 1, 1], P)
    with pytest.raises(ValueError, match=r"y_true and y_score must have the same length"):
        fastcal.auroc(Y[:3], P)
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative; found -2\.0 at index 3"):
        fastcal.auroc(Y, P, sample_weight=[1, 1, 1, -2])
    # scores are not probabilities: any finite value is fine
    assert fastcal.auroc(Y, [-5.0, 1e300, 3.0, -1e-300]) == 1.0


def test_auroc_one_class_warns_and_returns_nan():
    with pytest.warns(fastcal.UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(fastcal.auroc([1, 1, 1], [0.2, 0.3, 0.4]))
    with pytest.warns(fastcal.UndefinedMetricWarning):
        r = fastcal.calibration_report([1, 1, 1], [0.2, 0.3, 0.4])
    assert np.isnan(r.auroc) and r.ece > 0


def test_check_false_skips_value_checks_but_not_safety():
    p = P.copy()
    p[0] = 1.5
    assert np.isfinite(fastcal.ece(Y, p, check=False))
    # label ranges and lengths are always checked: no out-of-bounds access
    with pytest.raises(ValueError, match="class labels"):
        fastcal.ece(np.array([0, 5, 1]), PC, check=False)
    with pytest.raises(ValueError, match="same length"):
        fastcal.ece(Y[:2], P, check=False)


def test_hostile_inputs_do_not_crash():
    # byte-swapped, float16, read-only, non-contiguous, zero-stride: all work
    ref = fastcal.ece(Y, P)
    assert fastcal.ece(Y.astype(">i8"), P.astype(">f8")) == ref
    ro = P.copy()
    ro.flags.writeable = False
    assert fastcal.ece(Y, ro) == ref
    assert fastcal.ece(np.repeat(Y, 2)[::2], np.repeat(P, 2)[::2]) == ref
    assert np.isfinite(fastcal.ece(Y, P.astype(np.float16)))
    z = np.lib.stride_tricks.as_strided(np.array([0.5]), shape=(1000,), strides=(0,))
    assert fastcal.ece(np.ones(1000, int), z) == 0.5
    # huge number of bins is bounded; a big sparse histogram is fine
    assert fastcal.ece(Y, P, n_bins=1_000_000) == pytest.approx(np.mean(np.abs(Y - P)))
    # a (n, C) array with huge C and one row
    big = np.zeros((1, 100_000))
    big[0, 99_999] = 1.0
    assert fastcal.ece([99_999], big) == 0.0
    # labels of every integer dtype and bool
    for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, bool):
        assert fastcal.ece(Y.astype(dt), P) == ref


def test_error_leaves_no_partial_result_and_next_call_works():
    p = P.copy()
    p[1] = np.nan
    with pytest.raises(ValueError):
        fastcal.calibration_report(Y, p)
    assert fastcal.calibration_report(Y, P).n == 4
