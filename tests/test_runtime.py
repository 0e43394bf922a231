"""Compilation, threading and result-object behaviour (docs/design.md, section 6)."""

import concurrent.futures
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastcal


def test_import_compiles_nothing():
    code = textwrap.dedent("""
        import sys, numba
        import fastcal
        from numba.core.registry import CPUDispatcher
        from fastcal._kernels.metrics import auroc, binned, scores, stats
        compiled = [
            f"{m.__name__}.{name}"
            for m in (binned, scores, stats, auroc)
            for name, obj in vars(m).items()
            if isinstance(obj, CPUDispatcher) and obj.signatures
        ]
        print(compiled)
        sys.exit(1 if compiled else 0)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_public_surface():
    for name in fastcal.__all__:
        assert hasattr(fastcal, name), name
    assert not [n for n in fastcal.__all__ if n.startswith("_")]


def _data(seed, n=300_000, C=None):
    rng = np.random.default_rng(seed)
    if C is None:
        p = rng.random(n)
        return (rng.random(n) < p).astype(np.int64), p
    P = rng.dirichlet(np.ones(C), n)
    return rng.integers(0, C, n), P


def test_concurrent_calls_from_threads_agree_with_sequential():
    """Large inputs use the parallel kernels; several Python threads at once
    must be safe (one parallel region at a time, the others run serially)
    and give the same numbers as sequential calls."""
    jobs = [(_data(s), fn) for s in range(4)
            for fn in (fastcal.ece, fastcal.brier_score, fastcal.nll, fastcal.auroc)]
    jobs += [(_data(9, n=50_000, C=7), fastcal.ece), (_data(9, n=50_000, C=7), fastcal.nll)]
    want = [fn(*d) for d, fn in jobs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        for _ in range(2):
            got = list(ex.map(lambda job: job[1](*job[0]), jobs))
            assert got == want


def test_report_pickles_and_serialises():
    y, P = _data(3, n=500, C=4)
    r = fastcal.calibration_report(y, P, n_bins=10)
    r2 = pickle.loads(pickle.dumps(r))
    assert r2 == r and r2.to_dict() == r.to_dict()
    d = json.loads(json.dumps(r.to_dict()))
    assert d["n"] == 500 and len(d["reliability"]["count"]) == 10
    assert d["convention"]["target"] == "top-label"
    assert set(d) >= {"n", "weight", "accuracy", "confidence", "ece", "mce", "rmsce",
                      "signed_error", "brier", "nll", "auroc", "reliability", "convention"}
    assert "ECE" in repr(r)


def test_report_gauges_equal_the_functions():
    for y, p in (_data(4, n=2000), _data(5, n=2000, C=6)):
        for kw in ({}, {"right": False, "n_bins": 7}, {"strategy": "quantile"},
                   {"sample_weight": np.linspace(0.1, 2, 2000)}):
            r = fastcal.calibration_report(y, p, **kw)
            assert r.ece == fastcal.ece(y, p, **kw)
            assert r.mce == fastcal.mce(y, p, **kw)
            assert r.rmsce == fastcal.rmsce(y, p, **kw)
            assert r.signed_error == fastcal.calibration_error(y, p, norm="signed", **kw)
            sw = kw.get("sample_weight")
            assert r.brier == pytest.approx(fastcal.brier_score(y, p, sample_weight=sw), rel=1e-13)
            assert r.nll == pytest.approx(fastcal.nll(y, p, sample_weight=sw), rel=1e-13)
            curve = fastcal.reliability_curve(y, p, **kw)
            np.testing.assert_array_equal(curve.count, r.reliability.count)
            if p.ndim == 1:
                assert r.auroc == fastcal.auroc(y, p, sample_weight=sw)
            else:
                correct = (p.argmax(axis=1) == y).astype(int)
                assert r.auroc == fastcal.auroc(correct, p.max(axis=1), sample_weight=sw)


@pytest.mark.parametrize("C", [None, 3])
@pytest.mark.parametrize("logits", [False, True])
def test_per_row_terms_add_up_to_the_scores(C, logits):
    from fastcal.core import pipeline as _core

    rng = np.random.default_rng(2)
    n = 1000
    if C is None:
        z = rng.normal(0, 2, n)
        p = z if logits else 1 / (1 + np.exp(-z))
        y = rng.integers(0, 2, n)
    else:
        z = rng.normal(0, 2, (n, C))
        p = z if logits else np.exp(z) / np.exp(z).sum(1, keepdims=True)
        y = rng.integers(0, C, n)
    b = _core.binned(y, p, n_bins=15, strategy="uniform", right=True, classwise=False,
                     from_logits=logits, sample_weight=None, scores=True, want_cc=True,
                     want_terms=True)
    np.testing.assert_allclose(b.terms.sum(0), b.scores, rtol=1e-12)
    assert abs(b.terms[:, 1].mean() - fastcal.nll(y, p, from_logits=logits)) < 1e-12
    assert abs(b.terms[:, 0].mean() - fastcal.brier_score(y, p, from_logits=logits)) < 1e-12


def test_every_public_name_is_in_the_api_reference():
    from pathlib import Path

    api = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    missing = [n for n in fastcal.__all__ if f"**`{n}" not in api]
    assert not missing, f"docs/api.md lacks {missing}: run python docs/gen_api.py"
