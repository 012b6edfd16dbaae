"""The process group ``fit`` trains in, and what the loop asks of it.

Why the gradients are all-reduced after ``backward`` rather than through
``torch.nn.parallel.DistributedDataParallel``: DDP reduces inside the backward of a
forward pass that went through its wrapper. seqlab's loop does not call the model; it
calls ``model.compute_loss(batch)`` (a task's, a model family's, or the compiled loss),
may run a batch as micro-batch slices, and an LBFGS step evaluates its closure several
times. Wrapping would mean routing each of those through ``DDP.forward`` and
``no_sync`` contexts. Summing the flattened gradients once per step with
``torch.distributed.all_reduce`` (the collective DDP itself uses, in one bucket here),
together with the loss sum and the sample/token count, keeps one loop and makes the
step's gradient the global batch's mean-loss gradient exactly: ``sum_r dL_r / sum_r n_r``
(masked token counts included). What DDP adds over this is overlapping the reduction
with the backward pass, which matters for large models on GPUs, not for the sequence
models trained here.

    >>> current() is None and is_writer()
    True
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Optional

import torch
import torch.distributed as dist

_GROUP: Optional["Group"] = None
TIMEOUT_S = float(os.environ.get("SEQLAB_DIST_TIMEOUT", "60"))  # a lost rank fails a collective


def env_world() -> int:
    """``WORLD_SIZE`` of the environment (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


class Group:
    """This process's place in the group: ``rank``, ``world``, ``local_rank``, ``device``."""

    def __init__(self, rank: int, world: int, local_rank: int, device: torch.device):
        self.rank, self.world, self.local_rank, self.device = rank, world, local_rank, device

    # ------------------------------------------------------------ collectives
    def _tensor(self, values, dtype=torch.float64) -> torch.Tensor:
        return torch.as_tensor(values, dtype=dtype, device=self.device)

    def broadcast_object(self, obj: Any) -> Any:
        box = [obj if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def broadcast_model(self, model) -> None:
        """Rank 0's parameters and buffers on every rank."""
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                dist.broadcast(t.data, src=0)

    def sum_gradients(self, model, total: Any, count: Any) -> tuple[torch.Tensor, float]:
        """All ranks' gradient sums, loss sums and counts added together (one flat
        all-reduce for the gradients, one for the two numbers); returns the global
        (loss sum, count)."""
        params = [p for p in model.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
        if grads:
            flat = torch.cat([g.reshape(-1) for g in grads])  # (sum of sizes,)
            dist.all_reduce(flat)
            start = 0
            for p, g in zip(params, grads):
                p.grad = flat[start:start + g.numel()].view_as(p).clone()
                start += g.numel()
        pair = self._tensor([float(total), float(count)])
        dist.all_reduce(pair)
        return pair[0], float(pair[1])

    def reduce_accumulator(self, acc) -> None:
        """The epoch's sums and counts of every rank, added, in ``acc`` (so that
        ``acc.result()`` is the whole data's mean)."""
        names = []  # rank 0's order (the logs' order), then names only others have
        for keys in self._all_gather(list(acc.sums)):
            names += [k for k in keys if k not in names]
        sums = self._tensor([float(acc.sums[k]) if k in acc.sums else 0.0 for k in names])
        counts = self._tensor([float(acc.counts[k]) if k in acc.counts else 0.0
                               for k in names])
        dist.all_reduce(sums)
        dist.all_reduce(counts)
        acc.sums = {k: sums[i] for i, k in enumerate(names)}
        acc.counts = {k: counts[i] for i, k in enumerate(names)}

    def _all_gather(self, obj) -> list:
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def follow_rank0(self, model, optimizer, params: dict) -> None:
        """After ``on_train_begin`` (where rank 0 may have restored a run): its weights,
        optimizer state and first epoch on every rank."""
        self.broadcast_model(model)
        state = self.broadcast_object(optimizer.state_dict() if self.rank == 0 else None)
        if self.rank != 0:
            optimizer.load_state_dict(state)
        params["initial_epoch"] = self.broadcast_object(params["initial_epoch"])
        position = self.broadcast_object(params.get("initial_position"))
        if position is not None:  # a run restored mid-epoch: the same batch on every rank
            params["initial_position"] = type(position)(position.epoch, position.batch)

    # ------------------------------------------------------------ data
    def batches(self, data, batch_size: int, shuffle: bool = False, seed: int = 0,
                epoch: int = 0, start: int = 0):
        """This rank's share of each global batch of ``data`` (None where a share is
        empty), from global batch ``start`` on; variable-length lists through
        ``DistributedBucketSampler`` (whose state ``{"epoch", "batch"}`` is the start)."""
        from itertools import islice

        from seqlab.distributed.shard import batch_rows, rows_of, share_bounds
        from seqlab.models.adapters import SequenceData

        if isinstance(data, SequenceData):
            from seqlab.distributed.sampler import DistributedBucketSampler
            sampler = DistributedBucketSampler(data.lengths, batch_size, self.rank,
                                               self.world, shuffle=shuffle, seed=seed)
            sampler.load_state_dict({"epoch": epoch, "batch": start})
            for idx in sampler:
                yield data.batch_of(idx) if idx else None
            return
        for batch in islice(data.batches(batch_size, shuffle, seed, epoch), start, None):
            n = batch_rows(batch)
            lo, hi = share_bounds(n, self.rank, self.world)
            yield rows_of(batch, lo, hi, n) if hi > lo else None


def current() -> Optional[Group]:
    """The group ``fit`` trains in, or None on one process."""
    return _GROUP


def is_writer() -> bool:
    """True on the process that writes files (rank 0, or the only one)."""
    return _GROUP is None or _GROUP.rank == 0


def barrier() -> None:
    if _GROUP is not None:
        dist.barrier()


def join(device: Any = None) -> Optional[Group]:
    """Join (or create) the process group described by torchrun's environment; None
    when this process runs alone. gloo on the CPU, NCCL on CUDA; collectives give up
    after ``SEQLAB_DIST_TIMEOUT`` seconds (60) so a lost rank stops the run."""
    global _GROUP
    if _GROUP is not None:
        return _GROUP
    if env_world() <= 1 or not dist.is_available():
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and str(device or "auto") in ("auto", "cuda")
    dev = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=timedelta(seconds=TIMEOUT_S))
    _GROUP = Group(dist.get_rank(), dist.get_world_size(), local_rank, dev)
    return _GROUP
