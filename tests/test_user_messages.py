"""Error messages and input handling that were unclear (issue 16, item 12).

The ignore_index hint for float labels and "every row ignored" are tested in
test_tokens.py; the command-line items in test_cli.py and test_io.py.
"""

import re

import numpy as np
import pytest

import fastcal
from fastcal.uncertainty.bootstrap import BootstrapState, report_intervals
from fastcal.uncertainty.delong import auroc_variance


def test_nan_logits_in_temperature_fit_name_the_argument_once():
    for z, start in (([[0.0, np.nan], [1.0, 2.0]],
                      "logits must be finite or -inf (a masked class); found nan in row 0"),
                     ([1.0, np.nan], "logits must be finite; found nan at index 1")):
        with pytest.raises(ValueError) as info:
            fastcal.TemperatureScaling().fit(z, [0, 1])
        msg = str(info.value)
        assert msg.startswith(start), msg
        assert "(logits)" not in msg
    # other arguments read as logits still say so
    with pytest.raises(ValueError, match=r"^y_prob \(logits\) must be finite"):
        fastcal.ece([0, 1], [0.0, np.inf], from_logits=True)


@pytest.mark.parametrize("f", [fastcal.auroc, fastcal.auroc_ci, auroc_variance])
def test_scalar_scores_are_not_offered_2d(f):
    with pytest.raises(ValueError) as info:
        f(1, 0.5)
    msg = str(info.value)
    assert re.match(r"y_score must be 1-D \((a binary problem|one score per sample of a "
                    r"binary problem)\); found a scalar\.", msg), msg
    assert "2-D" not in msg
    with pytest.raises(ValueError, match=r"found shape \(2, 2\)"):
        f([0, 1], [[0.1, 0.9], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"^score_a must be 1-D .*found a scalar\."):
        fastcal.delong_test(1, 0.5, 0.5)


def test_n_resamples_has_a_bound_named_in_the_error():
    y, p = [0, 1, 1, 0], [0.2, 0.8, 0.6, 0.3]
    with pytest.raises(ValueError, match=r"^n_resamples must be at most 1000000"):
        fastcal.calibration_report(y, p, ci=0.9, n_resamples=10 ** 9)  # was a MemoryError
    with pytest.raises(ValueError, match=r"^n_resamples=1000000 with n_bins=1000 needs a .* GiB"):
        fastcal.calibration_report(y, p, ci=0.9, n_resamples=10 ** 6, n_bins=1000)
    with pytest.raises(ValueError, match=r"^n_resamples must be at most 1000000"):
        fastcal.CalibrationAccumulator(ci=0.9, n_resamples=10 ** 9)
    with pytest.raises(ValueError, match=r"n_resamples=1000000 with n_bins=999"):
        BootstrapState(np.linspace(0, 1, 1000), n_resamples=10 ** 6)
    from fastcal.core import pipeline as _core

    b = _core.binned(y, p, n_bins=15, strategy="uniform", right=True, classwise=False,
                     from_logits=False, sample_weight=None, scores=True, want_cc=True,
                     want_terms=True)
    with pytest.raises(ValueError, match=r"^n_resamples must be at most 1000000"):
        report_intervals(b, n_resamples=10 ** 7)
    # the bound itself works
    r = fastcal.calibration_report(y, p, ci=0.9, n_resamples=2, random_state=0)
    assert set(r.intervals) >= {"ece", "auroc"}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_torch_tensors_that_require_grad_are_read_detached(dtype):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 50)
    y = (rng.random(50) < p).astype(np.int64)
    P = rng.dirichlet([1.0, 1.0, 1.0], 50)
    yc = rng.integers(0, 3, 50)
    w = rng.uniform(0.5, 2.0, 50)

    def grad(a):
        return torch.tensor(a, dtype=dt, requires_grad=True)

    def plain(a):  # the same tensor without autograd
        return torch.tensor(a, dtype=dt)

    yt, yct = torch.tensor(y), torch.tensor(yc)
    cases = [
        lambda f: fastcal.ece(yt, f(p), sample_weight=f(w)),
        lambda f: fastcal.nll(yct, f(P), sample_weight=f(w)),
        lambda f: fastcal.auroc(yt, f(p), sample_weight=f(w)),
        lambda f: fastcal.calibration_report(yct, f(P), sample_weight=f(w)).ece,
        lambda f: fastcal.smooth_ece(yt, f(p), sample_weight=f(w)),
        lambda f: fastcal.TemperatureScaling().fit(f(np.log(P)), yct,
                                                   sample_weight=f(w)).temperature_,
        lambda f: fastcal.PlattScaling().fit(f(p), yt, sample_weight=f(w)).a_,
        lambda f: fastcal.IsotonicRegression().fit(f(p), yt, sample_weight=f(w)).predict(
            np.linspace(0, 1, 11)),
        lambda f: fastcal.HistogramBinning().fit(f(p), yt, sample_weight=f(w)).bin_values_,
    ]
    for case in cases:  # float32/float64 with requires_grad used to raise
        got, want = case(grad), case(plain)
        np.testing.assert_array_equal(got, want)
        assert not isinstance(got, torch.Tensor)


def test_temperature_fit_nan_message_reaches_the_cli_cleanly(tmp_path, capsys):
    from fastcal.cli import main

    f = tmp_path / "v.csv"
    f.write_text("l0,l1,label\n0.5,nan,1\n0.2,0.1,0\n")
    code = main(["report", str(f), "--logits", "l0,l1", "--fit", "temperature",
                 "--fit-file", str(f)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "(logits)" not in err and "--logits 'l0,l1' must be finite or -inf (a masked class); found nan" in err
