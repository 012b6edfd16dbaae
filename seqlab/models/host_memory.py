"""Freed host memory kept for reuse while seqlab trains and predicts (Linux, glibc).

A training step allocates and frees the same large buffers at every batch: a recurrent
layer's (T, B, H) state sequence and its gradient, 8 MiB each for B=128, T=256, H=64.
glibc's ``malloc`` hands blocks above its threshold back to the operating system when they
are freed (``munmap``, or trimming the top of the heap), so the next batch gets fresh pages,
and the kernel zeroes each 4 KiB page on its first touch. Measured on a SimpleRNN(64)
training step (bench/rnn_fit.py shapes, one thread): 2,200-3,400 page faults per batch and
30-31.5 ms, against 0 faults and 25.5 ms with the memory kept.

``keep_freed_memory()`` sets two ``mallopt`` parameters once per process: blocks up to
32 MiB (glibc's largest threshold) come from the heap, and the heap is trimmed only above
1 GiB of free space at its top. Peak memory is unchanged (a freed block is reused, not
added to); what changes is that the process keeps its peak size until it exits. The
setting is process-wide and stays: every library in the process allocates the same way
afterwards (in bench/keras_compare.py, Keras too). ``SEQLAB_MALLOC=default`` leaves
glibc as it is, and so does any glibc malloc setting of the user's in the environment
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES=glibc.malloc...``).
Elsewhere (macOS, Windows, musl) nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameter numbers
MMAP_THRESHOLD = 32 * 1024 * 1024                # glibc's maximum on 64-bit systems
TRIM_THRESHOLD = 1024 * 1024 * 1024

# glibc's own environment settings: when the user gave one, seqlab changes nothing (its
# 32 MiB would lower a larger threshold chosen there)
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                 "MALLOC_MMAP_MAX_")

_state = {"done": False, "kept": False}


def keep_freed_memory() -> bool:
    """Once per process: glibc keeps freed blocks for reuse. True when it is in force."""
    if _state["done"]:
        return _state["kept"]
    _state["done"] = True
    if (os.environ.get("SEQLAB_MALLOC", "keep") == "default" or not sys.platform.startswith("linux")
            or any(k in os.environ for k in USER_SETTINGS)
            or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "")):
        return False                            # off, or the user tuned glibc already
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _state["kept"] = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                          and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _state["kept"]


def keeping(fn):
    """Decorator: ``keep_freed_memory()`` before ``fn`` runs."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        keep_freed_memory()
        return fn(*args, **kwargs)
    return wrapper
