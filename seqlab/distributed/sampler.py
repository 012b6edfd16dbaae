"""``DistributedBucketSampler``: length-bucketed batches, one share of each per rank.

The global batches are exactly those of ``BucketBatchSampler`` on one process (same
``(seed, epoch)``, same global ``batch_size``): each global batch is sorted by length and
cut into ``world`` contiguous shares, rank ``r`` taking share ``r``. So every rank gets
the same number of batches per epoch (the global count; a share may be empty when a
batch has fewer rows than ranks), sequences of similar length (each share is padded to
its own longest member: never more padding than on one process), the order is a
function of ``(seed, epoch)`` only, and the state to resume mid-epoch is ``(epoch,
batch)``.

    >>> s = DistributedBucketSampler([5, 1, 4, 2, 3, 6, 2, 7], batch_size=4, rank=1,
    ...                              world_size=2, shuffle=False)
    >>> list(s)
    [[6, 4], [5, 7]]
"""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np

from seqlab.data.batching import BucketBatchSampler, padded_tokens


class DistributedBucketSampler:
    """Args:
        lengths: one length per sequence.
        batch_size: the global batch (all ranks together).
        rank, world_size: this process's rank and the number of processes.
        shuffle, seed, drop_last, pool: as ``BucketBatchSampler``.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, rank: int, world_size: int,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False,
                 pool: Optional[int] = 50):
        if not 0 <= int(rank) < int(world_size):
            raise ValueError(f"DistributedBucketSampler: rank must be in [0, world_size="
                             f"{world_size}), got {rank}.")
        self.inner = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed,
                                        drop_last=drop_last, pool=pool)
        self.rank, self.world_size = int(rank), int(world_size)
        self.epoch, self.batch = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.batch = int(epoch), 0

    def state_dict(self) -> dict:
        """Where the next batch comes from: ``{"epoch": e, "batch": i}``."""
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])

    def __len__(self) -> int:
        return len(self.inner)

    def shares(self, epoch: int, rank: Optional[int] = None) -> list[list[int]]:
        """Rank ``rank``'s index lists of epoch ``epoch`` (default: this rank)."""
        rank = self.rank if rank is None else rank
        lengths = self.inner.lengths
        out = []
        for b in self.inner.batches(epoch):
            b = np.asarray(b)
            b = b[np.argsort(lengths[b], kind="stable")]  # similar lengths share a rank
            out.append(np.array_split(b, self.world_size)[rank].tolist())
        return out

    def __iter__(self) -> Iterator[list[int]]:
        shares = self.shares(self.epoch)
        start = self.batch
        for i in range(start, len(shares)):
            self.batch = i + 1
            yield shares[i]
        self.epoch, self.batch = self.epoch + 1, 0

    def padding(self, epoch: int = 0) -> tuple[int, int]:
        """(padding steps over all ranks, real steps) of ``epoch``: compare with
        ``padded_tokens`` of the one-process batches."""
        lengths = self.inner.lengths
        pad = sum(padded_tokens(lengths, self.shares(epoch, r)) for r in range(self.world_size))
        return pad, int(lengths.sum())
