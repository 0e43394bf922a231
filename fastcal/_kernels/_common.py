"""Compilation options and status codes shared by every kernel.

Binning never uses fastmath: a reordered float operation moves values across
bin edges.  The options live here and nowhere else.
"""

# Serial kernels: release the GIL so Python threads can run them concurrently.
OPTS = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")
# Parallel drivers (chunked prange).
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
