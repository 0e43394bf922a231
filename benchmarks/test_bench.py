"""pytest-benchmark over the one registry (``registry.COMPARISONS``).

Every (case, implementation, n) is timed and its value checked against
fastcal under the same convention.  Run::

    pytest benchmarks/                                  # full sizes, timings
    pytest benchmarks/ --benchmark-disable -q --bench-max-n 1e4   # smoke: agreement only

Large inputs use ``benchmark.pedantic`` with a warm-up round and a few rounds,
because several peers take seconds per call at n = 1e7.
"""

import os
import sys
import warnings

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as R  # noqa: E402

def _fmt_n(n):
    k = len(str(n)) - 1
    return f"1e{k}" if n >= 1000 and n == 10**k else str(n)


PARAMS = [
    pytest.param(c, i, n, id=f"{c}-{i.replace(' ', '_')}-{R.COMPARISONS[c].size_label}{_fmt_n(n)}")
    for c, i, n in R.iter_params()
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


@pytest.mark.parametrize(("case_name", "impl_name", "n"), PARAMS)
def test_bench(benchmark, request, case_name, impl_name, n):
    max_n = request.config.getoption("--bench-max-n")
    case = R.COMPARISONS[case_name]
    if max_n is not None and n > max_n and n != min(case.sizes):
        pytest.skip(f"n={n} above --bench-max-n={max_n:g}")
    impl = case.impls[impl_name]
    if not impl.available():
        pytest.skip(f"{impl_name} not installed (missing {', '.join(impl.missing())})")
    reference_ok = case.impls["fastcal"].available()

    data = case.data(n)
    fn = impl.setup(data)
    benchmark.group = f"{case_name} {case.size_label}={n:g}"
    benchmark.extra_info.update(case=case_name, impl=impl_name, n=n, data=data.describe())
    if n >= 1_000_000:
        rounds = 3 if n >= 10_000_000 else 5
        value = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
    else:
        value = benchmark(fn)

    if impl.baseline:
        return
    if not reference_ok:
        pytest.skip("fastcal implementation of this case is not available: no agreement reference")
    ok, value, expected, diff = R.check_agreement(case, impl_name, data, value=value)
    benchmark.extra_info.update(value=value, fastcal=expected, abs_diff=diff)
    assert ok, (
        f"{impl_name} disagrees with fastcal{R.COMPARISONS[case_name].impls[impl_name].ref_kwargs or ''} "
        f"on {case_name} n={n}: {value!r} vs {expected!r} (|diff| {diff:.3g} > tol {impl.tol:g}). "
        f"Note: {impl.note}"
    )
