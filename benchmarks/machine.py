"""What machine a benchmark ran on: the CPU model, its vector extensions and
the cores this process may use (shared by the benchmark scripts' headers)."""

import os


def cpu_info():
    """``(model, isa, usable)``: the CPU model name, the vector extensions
    among avx2 / avx512f / avx512_bf16 it reports, and the usable cores."""
    cpu, flags = "?", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "?":
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1]
    except OSError:
        pass
    isa = [x for x in ("avx2", "avx512f", "avx512_bf16") if f" {x} " in f" {flags} "]
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return cpu, isa, usable


def loadavg():
    """The 1, 5 and 15 minute load averages (NaN where the OS has none)."""
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return (float("nan"),) * 3


def median_time(fn, repeat=3):
    """Median wall time of ``repeat`` calls of ``fn`` after one warm-up call."""
    import time

    import numpy as np

    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))
