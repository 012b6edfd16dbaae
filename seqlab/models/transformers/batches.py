"""Token-id lists as batches for ``fit``: ``pad_ids`` and the ``TokenBatches`` source.

``TokenBatches(sources, targets)`` is a ``seqlab.models.adapters.BatchSource`` of
``(src, tgt)`` tuples (``TokenBatches(texts)``: ``(ids,)``), each column padded with 0
to its batch's longest member. Training batches group similar lengths of the first
column: every epoch the whole set is shuffled, sorted by length (ties stay in random
order), cut into batches, and the batch order shuffled; the order is a function of
``(seed, epoch)`` (``seqlab.data.batching.BucketBatchSampler`` with ``pool=None``).

    >>> src = [[3, 4], [5], [6, 7, 8]]
    >>> tgt = [[1, 9, 2], [1, 2], [1, 9, 9, 2]]
    >>> [tuple(t.shape) for t in next(TokenBatches(src, tgt).batches(2))]
    [(2, 2), (2, 3)]

Shapes: B batch, T the batch's longest sequence.
"""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np
import torch

from seqlab.data.batching import BucketBatchSampler, pad_batch


def pad_ids(seqs: Sequence[Sequence[int]], device=None) -> torch.Tensor:
    """Id lists -> (B, max(T_max, 1)) long ids padded with 0, on ``device``: ``pad_batch``."""
    ids = pad_batch(seqs, dtype=torch.long, min_length=1)[0]              # (B, T)
    return ids.to(device) if device is not None else ids


class TokenBatches:
    """Columns of token-id lists (one list per example in each), batched by the length
    of the first column and padded per batch: yields tuples of (B, T_c) long tensors."""

    def __init__(self, *columns: Sequence[Sequence[int]], who: str = "TokenBatches"):
        if not columns or any(len(c) != len(columns[0]) for c in columns) or not len(columns[0]):
            raise ValueError(f"{who}: need columns of the same number (>= 1) of id lists, "
                             f"got {[len(c) for c in columns]}.")
        self.columns = [list(c) for c in columns]
        self.lengths = np.array([len(s) for s in self.columns[0]], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.lengths)

    def num_batches(self, batch_size: int) -> Optional[int]:
        return -(-len(self) // batch_size)

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0,
                epoch: int = 0) -> Iterator[tuple]:
        sampler = BucketBatchSampler(self.lengths, batch_size, shuffle=shuffle, seed=seed,
                                     pool=None)
        for idx in sampler.batches(epoch):
            yield tuple(pad_ids([column[i] for i in idx]) for column in self.columns)


__all__ = ["pad_ids", "TokenBatches"]
