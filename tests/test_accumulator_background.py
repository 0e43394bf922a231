"""The AUROC histogram's background addition (issue 13): a general binary
batch's rows go into the accumulator's histogram on a pool thread while the
caller goes on. Whatever reads or writes the histogram waits for them first:
compute, the state, a small batch's one-call path, another large batch, a
merge, a copy, a reset; from any thread, and across a fork. The histogram is
compared with an ``AUROCAccumulator`` fed the same batches, whose own kernel
adds them synchronously: for unweighted batches (integer counts) the two are
bitwise the same whatever the order of the additions."""

import multiprocessing
import os
import pickle
import threading
import time

import numba
import numpy as np
import pytest

import fastcal
from fastcal import AUROCAccumulator, CalibrationAccumulator
from fastcal.core import pipeline as _core

pytestmark = pytest.mark.filterwarnings("ignore::fastcal.UndefinedMetricWarning")

# large batches take the general path (both cores, background addition);
# small ones the one-call path, which adds to the histogram itself
SIZES = (70_000, 64, 100, 65_536, 3, 131_072, 50, 65_537)


def batches(seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        p = rng.beta(2.5, 1.2, n)
        out.append(((rng.random(n) < p).astype(np.int64), p))
    return out


def hold_pool(seconds=0.05):
    """Keep the pool thread busy for ``seconds``: a background addition
    started now runs after that, so a read that does not wait for it misses
    the batch."""
    if numba.get_num_threads() > 1:
        _core.in_background(time.sleep, seconds)


def same_auroc(acc, ref):
    r = acc.compute()
    assert r.auroc == ref.compute()
    assert r.auroc_bounds == ref.bounds()
    assert acc.n == ref.n


@pytest.mark.parametrize("threads", [None, 1])
def test_every_read_sees_every_batch(threads):
    """A read right after each update (compute, to_dict, pickle, copy) sees
    the batch's rows, even when the addition could not start yet; with one
    thread the addition runs in the caller."""
    nt = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        acc, ref = CalibrationAccumulator(), AUROCAccumulator()
        for k, (y, p) in enumerate(batches()):
            hold_pool()
            acc.update(y, p)
            ref.update(y, p)
            read = k % 4
            if read == 0:
                same_auroc(acc, ref)
            elif read == 1:
                d = CalibrationAccumulator.from_dict(acc.to_dict())
                same_auroc(d, ref)
            elif read == 2:
                same_auroc(pickle.loads(pickle.dumps(acc)), ref)
            else:
                same_auroc(acc.copy(), ref)
        same_auroc(acc, ref)
    finally:
        numba.set_num_threads(nt)


def test_merge_and_reset_wait_for_the_addition():
    (y1, p1), (y2, p2) = batches(1, (100_000, 90_000))
    hold_pool()
    a, b = CalibrationAccumulator().update(y1, p1), CalibrationAccumulator().update(y2, p2)
    a.merge(b)  # both histograms still to receive their rows
    same_auroc(a, AUROCAccumulator().update(y1, p1).update(y2, p2))
    hold_pool()
    a.update(y1, p1).reset()  # the old histogram's addition does not land in the new one
    a.update(y2, p2)
    same_auroc(a, AUROCAccumulator().update(y2, p2))


def test_large_batches_from_several_threads_with_a_reader():
    """Large batches from four threads at once, and a fifth thread reading
    the report all along: the histogram is the one the batches make."""
    data = batches(2, (65_536, 80_000, 70_000, 65_536) * 3)
    acc = CalibrationAccumulator()
    errors, done = [], threading.Event()

    def work(k):
        try:
            for y, p in data[k::4]:
                acc.update(y, p)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def read():
        try:
            while not done.is_set():
                acc.compute()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    reader = threading.Thread(target=read)
    for t in ts + [reader]:
        t.start()
    for t in ts:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors[0]
    ref = AUROCAccumulator()
    for y, p in data:
        ref.update(y, p)
    same_auroc(acc, ref)


def _numbers(acc, y, p):
    return acc.compute().auroc, fastcal.ece(y, p), fastcal.nll(y, p), fastcal.auroc(y, p)


def _child(acc, y, p, q):
    q.put(_numbers(acc, y, p))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_does_not_wait_for_threads_it_does_not_have():
    """Forked right after an update (its histogram addition running), after
    calls on both cores (the pool's threads exist in the parent only) and
    after the parallel AUROC (a ``prange`` kernel: on GNU OpenMP, Numba would
    terminate a child that runs one), the child computes the same numbers
    instead of waiting forever or being killed."""
    (y, p), = batches(3, (300_000,))
    expect = _numbers(CalibrationAccumulator().update(y, p), y, p)  # both cores, prange
    acc = CalibrationAccumulator().update(y, p)  # no read before the fork
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_child, args=(acc, y, p, q))
    child.start()
    child.join(120)
    if child.exitcode is None:
        child.kill()
        child.join()
        pytest.fail("the forked child hung")
    assert child.exitcode == 0, f"the forked child exited with {child.exitcode}"
    assert q.get(timeout=10) == expect


def test_small_batches_wait_for_the_addition():
    """Small batches (the one-call path, whose kernel adds to the histogram
    itself) right after a large one, all in one cell: a small batch that
    did not wait would add to that cell while the pool thread does (for
    milliseconds: 2e6 rows), and counts would be lost."""
    n, m, k = 2_000_000, 64, 2000
    p, y = np.full(n, 0.9), np.ones(n, np.int64)
    acc = CalibrationAccumulator().update(y[:m], p[:m])  # the small path's plan is made
    ref = AUROCAccumulator().update(y[:m], p[:m])
    for _ in range(2):
        for a in (acc, ref):
            a.update(y, p)
            for _ in range(k):
                a.update(y[:m], p[:m])
    assert acc.n == ref.n == m + 2 * (n + k * m)
    assert acc.to_dict()["auroc_state"]["cells"] == ref.to_dict()["cells"]
