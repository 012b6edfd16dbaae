"""Weights laid out once per ``predict``: derived forms of a layer's weights, cached while
the weights cannot change.

Some layers hand torch a rearranged copy of their weights at every call: an LSTM's
Keras-layout kernels become torch's (kH, D) contiguous ones (a transposed copy inside
torch's CPU kernel, ~20 us per call for LSTM(64)); a self-attention layer concatenates
its Q, K and V kernels into one (D, 3 nh d) matrix. In training these copies must be
redone at every call (the weights move at every step, and autograd follows the copy back
to them). ``predict`` fixes the weights for its duration and records no gradient, so
inside ``layout_cache()`` each derived form is made once and reused by every batch:

    with torch.inference_mode(), layout_cache():
        for xb in batches: model(xb)          # each layout made at the first batch

Outside the block, or where a gradient is recorded, ``cached`` makes the form every time.
The cache is dropped when the block ends: a later call sees the weights as they are then.

    >>> import torch
    >>> w = torch.ones(2, 3)
    >>> with torch.no_grad(), layout_cache():
    ...     a = cached(w, "t", lambda: w.t().contiguous())
    ...     b = cached(w, "t", lambda: w.t().contiguous())
    >>> a is b, cached(w, "t", lambda: w.t()) is a
    (True, False)
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Optional

import torch

_CACHE: ContextVar[Optional[dict]] = ContextVar("seqlab_layout_cache", default=None)


@contextmanager
def layout_cache():
    """Inside the block, ``cached`` makes each (owner, key) form once. Only for code that
    changes no weight inside the block and records no gradient (``predict``)."""
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def active() -> bool:
    """True inside ``layout_cache`` while no gradient is recorded (``cached`` caches)."""
    return _CACHE.get() is not None and not torch.is_grad_enabled()


def cached(owner: Any, key: str, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per ``(owner, key)`` inside ``layout_cache`` when no
    gradient is recorded; computed at every call otherwise."""
    cache = _CACHE.get()
    if cache is None or torch.is_grad_enabled():
        return make()
    hit = cache.get((id(owner), key))
    if hit is None or hit[0] is not owner:  # (an id is reused only after its owner died)
        hit = cache[(id(owner), key)] = (owner, make())
    return hit[1]


__all__ = ["layout_cache", "active", "cached"]
