"""Compile hygiene of the kernel layer (issue: cold start).

Every distinct signature of a Numba kernel is one more compilation (about
0.1-1 s each on a cold cache) and one more entry in the on-disk cache.  A
constant passed to a jitted callee (``f(x, 0)``, ``g(True)``) is typed as a
``Literal`` and compiles a specialisation of its own beside the one for the
variable, so the kernels pass ``np.intp(0)`` / ``np.bool_(True)`` instead.
This test runs the public entry points once and then checks every compiled
signature of every fastcal kernel in this process: no literal arguments.
"""

import importlib
import os
import pkgutil

import numpy as np
from numba.core import types
from numba.core.dispatcher import Dispatcher

import fastcal
from fastcal import _kernels


def _kernel_dispatchers():
    for info in pkgutil.walk_packages(_kernels.__path__, "fastcal._kernels."):
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == mod.__name__:
                yield f"{mod.__name__}.{name}", obj


def _has_literal(t):
    if isinstance(t, types.Literal):
        return True
    if isinstance(t, types.BaseTuple):
        return any(_has_literal(x) for x in t.types)
    return False


def _exercise():
    rng = np.random.default_rng(0)
    for n in (300, 3 * (1 << 15) + 5):
        p = rng.random(n)
        y = (rng.random(n) < p).astype(np.int64)
        w = rng.random(n)
        Z = rng.normal(size=(n, 4))
        yc = rng.integers(0, 4, n)
        for kw in ({}, {"sample_weight": w}, {"strategy": "quantile"}):
            fastcal.calibration_report(y, p, **kw)
            fastcal.calibration_report(yc, Z, from_logits=True, **kw)
        fastcal.ece(y, p, check=False)
        fastcal.nll(yc, Z, from_logits=True)
        fastcal.brier_score(y, p, sample_weight=w)
        fastcal.ece(yc, Z, from_logits=True, classwise=True)
        fastcal.auroc(y, p, sample_weight=w)
        fastcal.auroc_ci(y, p)
    # from 2**17 scores on, the AUROC and its DeLong interval take the radix kernels
    p = rng.random((1 << 17) + 5)
    y = (rng.random(p.shape[0]) < p).astype(np.int64)
    fastcal.auroc(y, p)
    fastcal.auroc_ci(y, p)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(np.int64)
    Z = rng.normal(size=(2000, 5))
    yc = rng.integers(0, 5, 2000)
    fastcal.TemperatureScaling().fit(Z, yc).predict_proba(Z)
    fastcal.IsotonicRegression().fit(p, y).predict(p)
    fastcal.PlattScaling().fit(p, y).predict_proba(p)
    fastcal.HistogramBinning().fit(p, y).predict_proba(p)
    fastcal.CalibrationAccumulator().update(y, p).update(y[:64], p[:64]).compute()
    fastcal.calibration_report(y, p, ci=0.9, n_resamples=20, random_state=0)
    # the LLM readers' JSON Lines scanner (issue 14), a file and bytes, and masked logits
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    fastcal.lm_eval_report(os.path.join(data, "lm_eval"), norm="chars")
    fastcal.openai_confidence(os.path.join(data, "openai", "batch_output.jsonl"),
                              options="A,B,C,D")
    fastcal.openai_confidence([{"choices": [{"logprobs": {"content": [
        {"token": "A", "logprob": -0.1, "top_logprobs": []}]}}]}])
    Z[::3, 1] = -np.inf
    fastcal.calibration_report(yc, Z, from_logits=True)


def test_no_kernel_is_specialised_on_a_literal_argument():
    _exercise()
    bad = []
    seen = 0
    for name, disp in _kernel_dispatchers():
        for sig in disp.signatures:
            seen += 1
            if any(_has_literal(t) for t in sig):
                bad.append(f"{name}{tuple(str(t) for t in sig)}")
    assert seen > 20  # the public calls above did reach the kernels
    assert not bad, "specialised on a constant argument:\n" + "\n".join(bad)
