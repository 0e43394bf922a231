"""Bit casts (float64 <-> int64) and a one-rounding FMA for Numba kernels.

Bit reinterpretation is an LLVM ``bitcast`` (an ``@intrinsic``), and the FMA
is LLVM's ``llvm.fma.f64`` intrinsic (a single correctly rounded operation,
so deterministic; a CPU without FMA gets a libm call: correct but slow).
With ``NUMBA_DISABLE_JIT=1`` all three have exact pure Python stand-ins.
"""

import math
import struct
from fractions import Fraction

import numba
from numba.core import types
from numba.extending import intrinsic


def _bitcast(name, src, dst):
    """An intrinsic reinterpreting the bits of a ``src`` scalar as ``dst``."""

    def typer(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


_f64_bits_intrinsic = _bitcast("_f64_bits_intrinsic", types.float64, types.int64)
_bits_f64_intrinsic = _bitcast("_bits_f64_intrinsic", types.int64, types.float64)


@intrinsic
def _fma_intrinsic(typingctx, a, b, c):
    if not (a == types.float64 and b == types.float64 and c == types.float64):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])

    return sig, codegen


def _f64_bits_py(x):  # NUMBA_DISABLE_JIT=1
    return struct.unpack("<q", struct.pack("<d", float(x)))[0]


def _bits_f64_py(x):
    return struct.unpack("<d", struct.pack("<Q", int(x) & 0xFFFFFFFFFFFFFFFF))[0]


def _fma_py(a, b, c):
    a, b, c = float(a), float(b), float(c)
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    try:
        return float(Fraction(a) * Fraction(b) + Fraction(c))
    except OverflowError:
        return a * b + c


if numba.config.DISABLE_JIT:
    f64_bits, bits_f64, fma = _f64_bits_py, _bits_f64_py, _fma_py
else:
    f64_bits, bits_f64, fma = _f64_bits_intrinsic, _bits_f64_intrinsic, _fma_intrinsic
