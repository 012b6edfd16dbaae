"""Training on several processes with ``torch.distributed`` (``torchrun``).

Inside a process that ``torchrun`` started (the environment holds ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``), ``Model.fit`` joins the
process group (gloo on the CPU, NCCL on CUDA) and trains data-parallel in the one loop:

* ``batch_size`` is the global batch; each rank gets its share of every global batch
  (``shard``; variable-length lists through ``DistributedBucketSampler``), every rank the
  same number of batches per epoch;
* after ``backward`` the loss *sums* of all ranks' gradients and their sample/token
  counts are all-reduced together (``Group.sum_gradients``), so the step's gradient is
  the gradient of the global batch's mean loss, as on one process;
* the weights start from rank 0's (broadcast), the epoch's logs and validation metrics
  are sums and counts reduced over all ranks (the whole validation set's);
* only rank 0 runs the callbacks that write files (run checkpoints, ``ModelCheckpoint``);
  the others follow it (restored weights, optimizer state, first epoch, stop flag).

    >>> from seqlab import distributed
    >>> distributed.current() is None      # one process: nothing changes
    True
"""
from seqlab.distributed.group import Group, current, join, is_writer, barrier, env_world
from seqlab.distributed.sampler import DistributedBucketSampler
from seqlab.distributed.shard import rows_of

__all__ = ["Group", "current", "join", "is_writer", "barrier", "env_world",
           "DistributedBucketSampler", "rows_of"]
