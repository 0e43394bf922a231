"""Compilation options, status codes and the atomic counter shared by every kernel.

Binning never uses fastmath: a reordered float operation moves values across
bin edges.  The options live here and nowhere else.
"""

import numba
from numba.core import cgutils, types
from numba.extending import intrinsic

# Serial kernels: release the GIL so Python threads can run them concurrently.
OPTS = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")
# Inner kernels: chunk loops and first-error scans reached only through a
# cached driver, whose cache entry holds their machine code already (Numba
# links a callee into each caller's library). Caching them too stored their
# code twice (docs/performance.md, "Cold start"); a process compiling a new
# driver specialisation compiles them again, as it would for a new signature.
INNER = dict(OPTS, cache=False)
# Parallel drivers (prange), for the kernels whose parallel form is not derived
# from the serial driver by fastcal.core.pipeline (threads calling the serial driver
# chunk by chunk; most kernels).  Each is its own Python function beside its
# serial twin rather than one function compiled twice: Numba's on-disk cache
# index is keyed by the function and the signature, not by the compile
# options, so two dispatchers of one function would share (and overwrite)
# each other's cached machine code.
PAR_OPTS = dict(OPTS, parallel=True)

# Rows per chunk.  The chunking is fixed (not per thread) so that a result is
# bitwise identical whatever the number of threads, serial or parallel.
CHUNK = 1 << 15

# Status codes returned by kernels as (code, index).  The validation layer
# turns them into messages.
OK = 0
BAD_PROB = 1  # y_prob not finite or outside [0, 1]
BAD_BINARY_LABEL = 2  # y_true not 0/1
BAD_CLASS_LABEL = 3  # y_true not an integer in [0, C)
BAD_ROW_SUM = 4  # row of y_prob does not sum to 1
BAD_WEIGHT = 5  # sample_weight negative or not finite
BAD_LOGIT = 6  # logit not finite
BAD_SCORE = 7  # y_score not finite

# Row reductions over (n, C) input (sum and sum of squares of a row) may be
# reassociated so that they vectorise; these are never used for binning.
ROW_OPTS = dict(OPTS, fastmath={"reassoc", "nsz"})
ROW_INNER = dict(ROW_OPTS, cache=False)  # see INNER

# Parallel drivers run NWORKERS prange iterations that pull work items (chunks)
# from a shared atomic counter until none is left: numba's own prange schedule
# is static, so one slowed thread would otherwise hold back the whole call.
# Results do not depend on who processes which item.
NWORKERS = 64


@intrinsic
def _fetch_add_intrinsic(typingctx, arr, idx):
    """Atomic ``arr[idx] += 1`` returning the old value (arr: 1-D int64); a
    full barrier (sequentially consistent): what a thread wrote before it is
    seen by a thread that reads the new value (``lock xadd`` on x86-64)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, ary, [args[1]])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", ptr, one, "seq_cst")

    return sig, codegen


def _fetch_add_py(arr, idx):  # NUMBA_DISABLE_JIT=1 (coverage runs): plain Python
    old = arr[idx]
    arr[idx] = old + 1
    return old


fetch_add = _fetch_add_py if numba.config.DISABLE_JIT else _fetch_add_intrinsic
