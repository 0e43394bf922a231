"""Issue 16, item 2: one accumulator updated from several threads at once equals the
same batches fed from one thread (counts exactly, sums to rounding, certified AUROC
bounds holding the exact value), and its lock does not get in the way of pickle,
deepcopy and to_dict."""

import copy
import json
import math
import pickle
import threading

import numpy as np
import pytest

import fastcal
from fastcal import CalibrationAccumulator, GaugeRecorder, WindowedAccumulator
from fastcal.streaming.auroc_accumulator import AUROCAccumulator

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")

THREADS = 8


def hammer(fn, batches, threads=THREADS, also=None):
    """Call ``fn(*batch)`` for every batch, the batches dealt round-robin to
    ``threads`` threads started together; ``also()`` runs in one more thread
    until they finish. Re-raises the first exception of any thread."""
    errors = []
    start = threading.Barrier(threads + (also is not None))
    done = threading.Event()

    def work(k):
        try:
            start.wait()
            for b in batches[k::threads]:
                fn(*b)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def side():
        try:
            start.wait()
            while not done.is_set():
                also()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    extra = threading.Thread(target=side) if also is not None else None
    for t in ts + ([extra] if extra else []):
        t.start()
    for t in ts:
        t.join()
    done.set()
    if extra:
        extra.join()
    if errors:
        raise errors[0]


def binary_batches(count=THREADS * 200, size=2048, seed=0, weighted=False):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        p = rng.random(size)
        y = (rng.random(size) < p).astype(np.int64)
        out.append((y, p, rng.random(size) if weighted else None))
    return out


def assert_same_report(r, s, exact_auroc):
    """``r`` (threads) against ``s`` (one thread): equal counts, sums to rounding."""
    assert r.n == s.n
    np.testing.assert_array_equal(r.reliability.count, s.reliability.count)
    for g in ("ece", "mce", "rmsce", "signed_error", "brier", "nll", "accuracy", "confidence",
              "weight"):
        a, b = getattr(r, g), getattr(s, g)
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), (g, a, b)
    lo, hi = r.auroc_bounds
    assert lo <= exact_auroc <= hi, (lo, exact_auroc, hi)
    assert r.auroc_bounds == s.auroc_bounds  # the histogram holds integer counts


def test_eight_threads_on_one_accumulator_equal_one_thread():
    batches = binary_batches()  # 8 x 200 batches of 2048: the small-batch path
    serial = CalibrationAccumulator()
    for y, p, _ in batches:
        serial.update(y, p)
    shared = CalibrationAccumulator()
    hammer(lambda y, p, w: shared.update(y, p), batches)
    y = np.concatenate([b[0] for b in batches])
    p = np.concatenate([b[1] for b in batches])
    assert shared.n == serial.n == y.shape[0]
    assert_same_report(shared.compute(), serial.compute(), fastcal.auroc(y, p))
    np.testing.assert_array_equal(shared._auc._hist, serial._auc._hist)


@pytest.mark.parametrize("kind", ["weighted", "top-label", "large"])
def test_threads_on_the_general_path_equal_one_thread(kind):
    """Per-call partial sums computed unlocked, merged under the lock."""
    rng = np.random.default_rng(1)
    batches = []
    size = 70_000 if kind == "large" else 3000  # large: both cores' kernels
    for _ in range(THREADS * (2 if kind == "large" else 12)):
        if kind == "top-label":
            P = rng.dirichlet(np.ones(3), size)
            batches.append((rng.integers(0, 3, size), P, None))
        else:
            p = rng.random(size)
            w = rng.integers(0, 4, size).astype(np.float64) if kind == "weighted" else None
            batches.append(((rng.random(size) < p).astype(np.int64), p, w))
    serial, shared = CalibrationAccumulator(), CalibrationAccumulator()
    for y, p, w in batches:
        serial.update(y, p, sample_weight=w)
    hammer(lambda y, p, w: shared.update(y, p, sample_weight=w), batches)
    y = np.concatenate([b[0] for b in batches])
    P = np.concatenate([b[1] for b in batches])
    w = None if kind != "weighted" else np.concatenate([b[2] for b in batches])
    exact = fastcal.calibration_report(y, P, sample_weight=w).auroc
    assert_same_report(shared.compute(), serial.compute(), exact)


def test_threads_with_exact_auroc_and_bootstrap():
    batches = binary_batches(THREADS * 10, 1500, seed=2)
    acc = CalibrationAccumulator(auroc="exact")
    hammer(lambda y, p, w: acc.update(y, p), batches)
    y = np.concatenate([b[0] for b in batches])
    p = np.concatenate([b[1] for b in batches])
    assert acc.compute().auroc == fastcal.auroc(y, p)
    assert acc.n == acc._auc.n == y.shape[0]

    boot = CalibrationAccumulator(n_resamples=20, random_state=0)
    hammer(lambda y, p, w: boot.update(y, p), batches)
    # every row numbered once: the rows of the stream are exactly 0 .. n - 1 (the
    # batches' ranges coalesce into one; an overlap would have raised)
    (ranges,) = boot._boot.ranges.values()
    assert ranges == [(0, y.shape[0])]
    # the replicate weights depend on the row numbers only, so the total bootstrap
    # weight equals that of one thread feeding the same rows in any order
    serial = CalibrationAccumulator(n_resamples=20, random_state=0).update(y, p)
    state, ref = boot._boot.state, serial._boot.state
    nb = 15  # rows 0 .. 2 nb - 1: weight of incorrect, of correct rows per bin
    np.testing.assert_array_equal(state[:2 * nb].sum(0), ref[:2 * nb].sum(0))
    assert set(boot.compute().intervals) >= {"ece", "brier"}


def test_threads_on_a_decayed_accumulator():
    """The weights follow the arrival order, whatever it was: the total weight is
    sum_age 0.5 ** (age / half_life) over the n samples."""
    batches = binary_batches(THREADS * 20, 500, seed=3)
    hl = 3000.0
    acc = CalibrationAccumulator(half_life=hl)
    hammer(lambda y, p, w: acc.update(y, p), batches)
    n = THREADS * 20 * 500
    assert acc.n == n
    want = (1 - 0.5 ** (n / hl)) / (1 - 0.5 ** (1 / hl))
    assert math.isclose(acc.compute().weight, want, rel_tol=1e-9)


@pytest.mark.parametrize("exact", [False, True])
def test_threads_on_one_auroc_accumulator(exact):
    batches = binary_batches(THREADS * 25, 2048, seed=4)
    serial, shared = AUROCAccumulator(exact), AUROCAccumulator(exact)
    for y, p, _ in batches:
        serial.update(y, p)
    # half the threads with lists (the general path), half with arrays (the fast path)
    hammer(lambda y, p, w: shared.update(y.tolist() if y[0] else y, p), batches)
    assert shared.n == serial.n
    y = np.concatenate([b[0] for b in batches])
    p = np.concatenate([b[1] for b in batches])
    if exact:
        assert shared.compute() == fastcal.auroc(y, p)
    else:
        np.testing.assert_array_equal(shared._hist, serial._hist)
        lo, hi = shared.bounds()
        assert lo <= fastcal.auroc(y, p) <= hi


def test_windowed_accumulator_and_gauge_recorder_from_threads():
    batches = binary_batches(THREADS * 10, 400, seed=5)
    win = WindowedAccumulator(5, n_bins=10)
    hammer(lambda y, p, w: win.update(y, p), batches, also=lambda: win.n)
    assert win.n == 5 * 400 and win.compute().n == 2000
    rec = GaugeRecorder(CalibrationAccumulator(10), every=3, gauges=("n", "ece"))
    hammer(lambda y, p, w: rec.update(y, p), batches)
    h = rec.history
    assert h["update"] == list(range(3, THREADS * 10 + 1, 3))
    assert h["n_seen"] == h["n"] == [u * 400 for u in h["update"]]


def test_pickle_deepcopy_and_to_dict_while_other_threads_update():
    batches = binary_batches(THREADS * 20, 2048, seed=6)
    acc = CalibrationAccumulator(auroc="exact")
    snaps = []

    def snapshot():
        snaps.append(pickle.loads(pickle.dumps(acc)))
        snaps.append(copy.deepcopy(acc))
        snaps.append(CalibrationAccumulator.from_dict(json.loads(json.dumps(acc.to_dict()))))
        snaps.append(acc + CalibrationAccumulator(auroc="exact"))

    hammer(lambda y, p, w: acc.update(y, p), batches, also=snapshot)
    assert snaps
    for s in snaps:  # each a consistent state: whole batches, n agreeing everywhere
        assert s.n % 2048 == 0 and s._auc.n == s.n
        if s.n:
            assert s.compute().n == s.n
    final = [pickle.loads(pickle.dumps(acc)), copy.deepcopy(acc), acc.copy(), acc + 0]
    for s in final:
        assert s._lock is not acc._lock
        assert s.compute().auroc == acc.compute().auroc
    assert "_lock" not in json.dumps(acc.to_dict())
    w = WindowedAccumulator(3).update(batches[0][0], batches[0][1])
    assert pickle.loads(pickle.dumps(w)).n == copy.deepcopy(w).n == 2048


def test_merges_in_both_directions_at_once_do_not_deadlock():
    y, p, _ = binary_batches(1, 5000, seed=7)[0]
    a = CalibrationAccumulator().update(y, p)
    b = CalibrationAccumulator().update(y, p)
    pairs = [(a, b), (b, a)] * 20  # thread 0 merges b into a, thread 1 a into b
    hammer(lambda x, z: x.merge(z), pairs, threads=2)
    assert a.n > 20 * 5000 and b.n > 20 * 5000
    for acc in (a, b):  # each merge added a whole state: the counts add up
        assert acc.compute().reliability.count.sum() == acc.n
