"""Denormal floats flushed to zero on the CPU while seqlab trains and predicts.

A float32 below 1.2e-38 ("denormal") takes the CPU's slow path: ~100x the time of an
ordinary multiply. Gradients that fade through many recurrent steps reach that range
(measured: a GRU(64) training step on IMDB-shaped batches ran 3.5x slower at the initial
weights), so XLA (Keras on JAX) and TensorFlow run with flush-to-zero on the CPU. ``fit``,
``evaluate`` and ``predict`` do the same for their duration (``@flushing``), then put
back what was set before; the results change only where a value is below 1.2e-38 (then 0).

torch sets the mode per thread (``torch.set_flush_denormal``, the calling thread); it has no
getter, so the mode in force is read with one multiplication whose exact result is denormal.

    >>> with flushed():
    ...     is_flushed()
    True
    >>> is_flushed()
    False
"""
from __future__ import annotations

import functools
from contextlib import contextmanager

import torch


def is_flushed() -> bool:
    """True when this thread flushes denormal results to zero."""
    return bool((torch.full((1,), 1e-30) * 1e-10 == 0).item())  # 1e-40: denormal


@contextmanager
def flushed(enabled: bool = True):
    """Flush denormals to zero inside the block (``enabled=False``: change nothing)."""
    before = is_flushed() if enabled else None
    if enabled and not before:
        enabled = torch.set_flush_denormal(True)  # False where the CPU cannot
    try:
        yield
    finally:
        if enabled and not before:
            torch.set_flush_denormal(False)


def flushing(fn):
    """Decorator: ``fn`` runs inside ``flushed()``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with flushed():
            return fn(*args, **kwargs)
    return wrapper
