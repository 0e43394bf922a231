"""The machine code of one compiled kernel specialisation, called without
Numba's dispatcher.

A call through a Numba dispatcher works out the Numba type of every argument
and looks the tuple up among the compiled specialisations before it runs the
machine code: a few tens of nanoseconds per argument, which matters only for
a kernel called very often on tiny inputs (the accumulator's update of a
64-row batch; see ``benchmarks/RESULTS-streaming.md``).  :func:`entry`
returns the specialisation's own entry point, which skips that step.

The entry point converts each argument to the types it was compiled for
without checking them: Numba checks an array's item size only, so an array
of another dtype of the same size, another number of dimensions or another
memory layout would be read wrongly.  The caller must pass values of exactly
the types of the arguments :func:`entry` was given (read-only arrays where
writeable ones were given are only safe for arguments the kernel never
writes).
"""

import numba
from numba.core.typing.typeof import Purpose, typeof


def entry(dispatcher, *args):
    """The entry point of ``dispatcher``'s specialisation for the Numba types of
    ``args`` (compiled, or loaded from the cache, now if need be): callable
    as ``dispatcher`` on arguments of those types.  With the JIT disabled
    (``NUMBA_DISABLE_JIT=1``), the function itself."""
    if numba.config.DISABLE_JIT:
        return dispatcher
    sig = tuple(typeof(a, Purpose.argument) for a in args)
    cres = dispatcher.overloads.get(sig)
    if cres is None:
        dispatcher.compile(sig)
        cres = dispatcher.overloads[sig]
    return cres.entry_point
