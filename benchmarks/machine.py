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
