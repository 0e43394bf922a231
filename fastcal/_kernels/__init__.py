"""Numba kernels: arrays in, arrays/scalars out.

Nothing here validates beyond what the loop checks for free, nothing has
defaults, nothing knows about users.  Every kernel compiles lazily on first
call and is cached on disk (``cache=True``).
"""
