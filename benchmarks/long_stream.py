"""Stream 1e9 samples through a CalibrationAccumulator and check its sums.

Issue 3 asks that counts never overflow and that the running sums stay
accurate to 1e-9 relative over 1e9 samples.  The stream cycles through 16
distinct pre-generated batches of 2**20 samples (so the data are not one
batch repeated), 954 updates in all (1.0003e9 samples).  The exact per-bin
sums are known: each batch's exact sums (``math.fsum``, correctly rounded)
times the number of times it was fed, added with ``fractions.Fraction``.
The script reports the worst relative error of the accumulator's per-bin
weight / confidence / correct sums and of the Brier/NLL sums, next to what
naive float64 accumulation of the same batch results would give.

    python benchmarks/long_stream.py            # 1e9 samples (a few seconds of kernel time)
    python benchmarks/long_stream.py --n 1e8    # shorter
"""

import argparse
import math
import time
from fractions import Fraction

import numpy as np

import fastcal
from fastcal._kernels.metrics import binned as B

N_BINS = 15
BATCH = 1 << 20


def batches(k=16, seed=7):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        p = rng.beta(2.5, 1.2, BATCH)
        y = (rng.random(BATCH) < p ** 1.3).astype(np.int8)
        out.append((y, p))
    return out


def exact_batch_sums(y, p):
    """Exact (Fraction) per-bin weight, sum of confidence, sum of correct, and Brier/NLL."""
    edges = np.linspace(0, 1, N_BINS + 1)
    b = np.clip(np.searchsorted(edges[1:-1], p, side="left"), 0, N_BINS - 1)
    sums = []
    for k in range(N_BINS):
        m = b == k
        sums += [Fraction(int(m.sum())), Fraction(math.fsum(p[m])), Fraction(int(y[m].sum()))]
    brier = (p - y) ** 2  # each term rounded once, as the kernel does
    eps = np.finfo(np.float64).eps
    q = np.clip(np.where(y == 1, p, 1 - p), eps, 1 - eps)
    nll = -np.log(q)
    return sums, [Fraction(math.fsum(brier)), Fraction(math.fsum(nll))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e9)
    args = ap.parse_args()
    data = batches()
    updates = int(math.ceil(args.n / BATCH))
    times = [0] * len(data)
    acc = fastcal.CalibrationAccumulator(N_BINS)
    naive_bins = np.zeros((3, N_BINS))
    naive_scores = np.zeros(2)
    edges = np.linspace(0, 1, N_BINS + 1).reshape(1, -1)
    eps = float(np.finfo(np.float64).eps)
    t0 = time.perf_counter()
    for i in range(updates):
        j = i % len(data)
        y, p = data[j]
        acc.update(y, p)
        times[j] += 1
    elapsed = time.perf_counter() - t0
    # naive: the same per-batch kernel results added in plain float64
    per_batch = []
    for y, p in data:
        _, _, bins, sc = B.binary_stats(y, p, None, edges, True, True, None, True, eps, True,
                                        None, None, None)
        per_batch.append((bins, sc))
    for i in range(updates):
        bins, sc = per_batch[i % len(data)]
        naive_bins += bins
        naive_scores += sc
    exact_bins = [Fraction(0)] * (3 * N_BINS)
    exact_scores = [Fraction(0)] * 2
    for (y, p), t in zip(data, times):
        s, sc = exact_batch_sums(y, p)
        exact_bins = [a + t * b for a, b in zip(exact_bins, s)]
        exact_scores = [a + t * b for a, b in zip(exact_scores, sc)]
    hi_lo = acc._hi + acc._lo  # the state the report is computed from
    got = list(hi_lo[:3 * N_BINS].reshape(3, N_BINS).T.ravel()) + list(hi_lo[3 * N_BINS:])
    naive = list(naive_bins.T.ravel()) + list(naive_scores)
    exact = exact_bins + exact_scores

    def worst(vals):
        return max(abs(Fraction(v) - e) / e for v, e in zip(vals, exact) if e != 0)

    r = acc.compute()
    print(f"samples streamed: {acc.n:,} in {updates} updates of {BATCH:,} "
          f"({elapsed:.1f} s, {acc.n / elapsed / 1e6:.0f} M samples/s)")
    print(f"count exact: {r.reliability.count.sum() == acc.n} (dtype {r.reliability.count.dtype})")
    print(f"worst relative error of the accumulator's sums: {float(worst(got)):.2e} "
          f"(target <= 1e-9)")
    print(f"worst relative error of naive float64 accumulation: {float(worst(naive)):.2e}")
    print(f"state size: {acc._hi.nbytes + acc._lo.nbytes} bytes")


if __name__ == "__main__":
    main()
