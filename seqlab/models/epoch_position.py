"""Where ``fit`` is inside an epoch, so a run can stop after any batch and continue.

The batch order of epoch ``e`` is a function of ``(seed, e)`` (one process:
``BucketBatchSampler`` or the source's own shuffle; several: ``DistributedBucketSampler``,
whose state is the same ``{"epoch", "batch"}``). So the position ``(epoch, batch)`` plus
the weights, optimizer and RNG states is all a resumed run needs to take the same
remaining batches as the uninterrupted one; the epoch's running loss sums and counts come
along so its logs are the whole epoch's (on one process; on several, each rank holds
only its share of the sums, so they are not saved and the resumed epoch's logs count the
batches after the resume point).

    >>> p = EpochPosition()
    >>> p.epoch, p.batch = 2, 5
    >>> EpochPosition.from_state(p.state()).batch
    5
"""
from __future__ import annotations

from itertools import islice
from typing import Any, Iterator, Optional


class EpochPosition:
    """``epoch`` (0-based) and ``batch`` (batches of it done); ``acc`` the epoch's
    ``training.Accumulator`` (its sums and counts travel in ``state``)."""

    def __init__(self, epoch: int = 0, batch: int = 0, sums: Optional[dict] = None,
                 counts: Optional[dict] = None):
        self.epoch, self.batch = int(epoch), int(batch)
        self.sums, self.counts = dict(sums or {}), dict(counts or {})
        self.acc = None

    def state(self, sums: bool = True) -> dict:
        """JSON-ready: ``{"epoch", "batch", "sums", "counts"}`` (``sums`` False: empty
        sums, as on several processes)."""
        if not sums:
            return {"epoch": self.epoch, "batch": self.batch, "sums": {}, "counts": {}}
        acc = self.acc
        sums = {k: float(v) for k, v in acc.sums.items()} if acc is not None else self.sums
        counts = ({k: float(v) for k, v in acc.counts.items()} if acc is not None
                  else self.counts)
        return {"epoch": self.epoch, "batch": self.batch, "sums": sums, "counts": counts}

    @classmethod
    def from_state(cls, state: dict) -> "EpochPosition":
        return cls(state["epoch"], state["batch"], state.get("sums"), state.get("counts"))

    def restore(self, acc, device) -> None:
        """Put the saved running sums into ``acc`` (a fresh ``Accumulator``)."""
        import torch

        for k, v in self.sums.items():
            acc.add(k, torch.tensor(v, device=device), self.counts.get(k, 0.0))


def epoch_batches(data: Any, batch_size: int, shuffle: bool, seed: int, epoch: int,
                  start: int = 0, group=None) -> Iterator[Any]:
    """The batches of ``epoch`` from batch ``start`` on (``group``: this rank's shares)."""
    if group is not None:
        return group.batches(data, batch_size, shuffle, seed, epoch, start)
    from seqlab.models.adapters import SequenceData
    if start and isinstance(data, SequenceData):  # skip indices, not padded batches
        from seqlab.data.batching import BucketBatchSampler
        sampler = BucketBatchSampler(data.lengths, batch_size, shuffle=shuffle, seed=seed)
        sampler.set_epoch(epoch)
        return (data.batch_of(idx) for idx in islice(iter(sampler), start, None))
    batches = data.batches(batch_size, shuffle, seed, epoch)
    return islice(batches, start, None) if start else batches


__all__ = ["EpochPosition", "epoch_batches"]
