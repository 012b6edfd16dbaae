"""A rank's share of a global batch, for any batch a source yields.

``rows_of(batch, lo, hi)`` keeps rows ``lo:hi`` of every tensor whose first axis is the
batch's rows (tensors inside tuples, lists, dicts, dataclasses, ``Batch``); a padded
``Batch`` is then cut to its share's longest member. Shapes: B rows, T time.

    >>> import torch
    >>> x, y = rows_of((torch.arange(6).view(3, 2), torch.arange(3)), 1, 3)
    >>> x.tolist(), y.tolist()
    ([[2, 3], [4, 5]], [1, 2])
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np
import torch

from seqlab.models.adapters import Batch


def batch_rows(batch: Any) -> Optional[int]:
    """The number of rows of ``batch`` (the first axis of its first tensor)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else None
    if isinstance(batch, Batch):
        return len(batch.x)
    if isinstance(batch, dict):
        batch = list(batch.values())
    elif dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        batch = [getattr(batch, f.name) for f in dataclasses.fields(batch)]
    if isinstance(batch, (list, tuple)):
        for b in batch:
            n = batch_rows(b)
            if n is not None:
                return n
    return None


def rows_of(batch: Any, lo: int, hi: int, n: Optional[int] = None) -> Any:
    """Rows ``lo:hi`` of ``batch`` (whose ``n`` rows come first in each tensor)."""
    n = batch_rows(batch) if n is None else n
    if isinstance(batch, Batch):
        x, y, mask = batch.x[lo:hi], batch.y, batch.mask
        y = None if y is None else y[lo:hi]
        index = None if batch.index is None else np.asarray(batch.index)[lo:hi]
        if mask is not None:
            mask = mask[lo:hi]  # (b, T)
            t = int(mask.sum(1).max()) if len(mask) else 0
            if 0 < t < mask.shape[1] and bool(mask[:, t:].logical_not().all()):
                x, mask = x[:, :t], mask[:, :t]  # (b, t, ...): the share's own padding
                if y is not None and y.dim() > 1 and y.shape[1] == batch.mask.shape[1]:
                    y = y[:, :t]
        return Batch(x, y, mask, index)
    if isinstance(batch, torch.Tensor):
        return batch[lo:hi] if batch.dim() and batch.shape[0] == n else batch
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(rows_of(b, lo, hi, n) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(rows_of(b, lo, hi, n) for b in batch)
    if isinstance(batch, dict):
        return {k: rows_of(v, lo, hi, n) for k, v in batch.items()}
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(batch, **{f.name: rows_of(getattr(batch, f.name), lo, hi, n)
                                             for f in dataclasses.fields(batch) if f.init})
    return batch


def share_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rows [lo, hi) of rank ``rank`` among ``n`` (as ``np.array_split``)."""
    q, r = divmod(n, world)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (1 if rank < r else 0)
