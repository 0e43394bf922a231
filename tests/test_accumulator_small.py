"""Small binary batches take a one-call path (issue 13): whatever the batch sizes,
dtypes and switches, the state it leaves is bitwise the state the general path
leaves for the same batches; invalid batches raise the general path's errors
(with ``param`` and ``index``) and change nothing."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastcal
from fastcal import CalibrationAccumulator

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")


class _Sub(np.ndarray):
    """An ndarray subclass: ``update`` takes its general path for it."""


def _state(acc):
    d = acc.to_dict()
    hist = None if acc._auc is None else acc._auc._hist
    return d["hi"], d["lo"], d["n"], d["nll_modes"], acc._auc and acc._auc.n, hist


def _assert_same_state(a, b):
    sa, sb = _state(a), _state(b)
    assert sa[:5] == sb[:5]  # lists of floats: equal as floats, hence bitwise (no NaN)
    assert (sa[5] is None) == (sb[5] is None)
    if sa[5] is not None:
        np.testing.assert_array_equal(sa[5], sb[5])


# Every value of every switch and dtype the one-call path specialises on, in
# a few combinations (each combination compiles its own kernel: the full
# product would compile dozens for the same checks):
# (label dtype, probability dtype, logits, right, auroc)
COMBOS = [
    (np.int64, np.float64, False, True, "bounded"),
    (np.bool_, np.float32, True, False, "bounded"),
    (np.float64, np.float64, True, True, None),
    (np.int32, np.float32, False, False, None),
    (np.uint8, np.float64, False, False, "bounded"),
]


@st.composite
def small_streams(draw):
    sizes = draw(st.lists(st.integers(1, 300), min_size=2, max_size=12))
    n = sum(sizes)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    ydt, pdt, logits, right, auroc = draw(st.sampled_from(COMBOS))
    z = rng.normal(0, 2, n)
    p = z if logits else np.round(1 / (1 + np.exp(-z)), draw(st.sampled_from([2, 15])))
    p = p.astype(pdt)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(ydt)
    settings = dict(auroc=auroc, right=right, n_bins=draw(st.sampled_from([1, 10, 15])))
    return y, p, logits, sizes, settings


@given(small_streams())
def test_small_batches_leave_the_general_paths_state_bitwise(s):
    y, p, logits, sizes, settings = s
    fast, general = CalibrationAccumulator(**settings), CalibrationAccumulator(**settings)
    lo = 0
    for m in sizes:
        yb, pb = y[lo:lo + m], p[lo:lo + m]
        fast.update(yb, pb, from_logits=logits)
        general.update(yb.view(_Sub), pb.view(_Sub), from_logits=logits)
        lo += m
    assert fast._small is not None and fast._small[-1] is not None  # the one-call path ran
    assert general._small[-1] is None  # and the general path did all the other's work
    _assert_same_state(fast, general)
    r, f = fast.compute(), fastcal.calibration_report(y, p, from_logits=logits,
                                                       n_bins=settings["n_bins"],
                                                       right=settings["right"])
    assert r.n == f.n and np.array_equal(r.reliability.count, f.reliability.count)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return (rng.random(n) < p).astype(np.int64), p


@pytest.mark.parametrize("auroc", ["bounded", None])
def test_invalid_small_batch_raises_the_usual_error_and_changes_nothing(auroc):
    y, p = _data()
    acc = CalibrationAccumulator(auroc=auroc)
    for _ in range(3):  # a first batch, then the one-call path with these dtypes
        acc.update(y, p)
    assert acc._small[-1] is not None
    before = pickle.dumps(acc)
    bad_p = p.copy()
    bad_p[17] = np.nan
    with pytest.raises(fastcal.InputError, match=r"probabilities in \[0, 1\]") as e:
        acc.update(y, bad_p)
    assert (e.value.param, e.value.index) == ("y_prob", 17)
    bad_y = y.copy()
    bad_y[5] = 2
    with pytest.raises(fastcal.InputError, match="0/1") as e:
        acc.update(bad_y, p)
    assert (e.value.param, e.value.index) == ("y_true", 5)
    with pytest.raises(fastcal.InputError, match="finite") as e:
        acc.update(y, np.where(np.arange(64) == 40, np.inf, p), from_logits=True)
    assert (e.value.param, e.value.index) == ("y_prob", 40)
    with pytest.raises(fastcal.InputError, match="same length") as e:
        acc.update(y[:63], p)
    assert pickle.dumps(acc) == before


def test_strided_and_long_small_batches():
    """Rows that are not contiguous (the one-call path's entry point takes
    contiguous rows only), and batches longer than its workspace so far."""
    y, p = _data(2 * 5000, seed=1)
    acc, general = CalibrationAccumulator(), CalibrationAccumulator()
    for a in (acc, general):
        a.update(y[:64], p[:64])
    for yb, pb in ((y[::2], p[::2]), (y[1::2][:100], p[1::2][:100]), (y[:64], p[:64]),
                   (y[:4000], p[:4000]), (y[4000:4001], p[4000:4001])):
        acc.update(yb, pb)
        general.update(yb.view(_Sub), pb.view(_Sub))
    _assert_same_state(acc, general)
