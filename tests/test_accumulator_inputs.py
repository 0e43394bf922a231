"""Accumulator input bugs of issue 16 (part 3): torch bfloat16 multiclass
batches, and a decayed accumulator whose every row was ignored."""

import numpy as np
import pytest

import fastcal
from fastcal import CalibrationAccumulator


def test_torch_bfloat16_multiclass_batches():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    P = torch.softmax(torch.randn(300, 3, generator=g), -1)
    y = torch.randint(0, 3, (300,), generator=g)
    Pb = P.to(torch.bfloat16)
    for kw in ({}, {"half_life": 50.0}, {"auroc": None}):
        acc = CalibrationAccumulator(**kw)
        # was TypeError: data type 'bfloat16' not understood (after the sums were added)
        acc.update(y[:100], Pb[:100]).update(y[100:], Pb[100:])
        r = acc.compute()
        assert "eps = 0.0078125 (bfloat16 machine epsilon)" in r.convention["nll"]
        assert acc.n == 300
        if not kw:
            ref = fastcal.calibration_report(y.numpy(), Pb)
            assert np.isclose(r.ece, ref.ece, rtol=1e-12) and np.isclose(r.nll, ref.nll,
                                                                        rtol=1e-12)
    # mixed with float32 batches: both conventions named
    acc = CalibrationAccumulator().update(y, Pb).update(y, P)
    text = acc.compute().convention["nll"]
    assert "bfloat16 machine epsilon" in text and "float32 machine epsilon" in text
    # torch float16 too
    r = CalibrationAccumulator().update(y, P.to(torch.float16)).compute()
    assert "(float16 machine epsilon)" in r.convention["nll"]


@pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")  # one kept row: one outcome
@pytest.mark.parametrize("kw", [{}, {"half_life": 10.0}, {"half_life": 10.0, "auroc": None},
                                {"auroc": "exact"}])
@pytest.mark.parametrize("weights", [False, True])
def test_every_row_ignored_says_so(kw, weights):
    y = np.array([-100, -100, -100])
    P = np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])
    w = np.array([1.0, 2.0, 3.0]) if weights else None
    acc = CalibrationAccumulator(**kw).update(y, P, ignore_index=-100, sample_weight=w)
    # with half_life this said "sample_weight sums to zero" (no weights were given)
    with pytest.raises(ValueError, match=r"no row is left to score: every row has the "
                                         r"ignored label \(ignore_index\)"):
        acc.compute()
    # one kept row later: computes
    acc.update(np.array([1]), np.array([[0.3, 0.7]]))
    assert acc.compute().n == 1
