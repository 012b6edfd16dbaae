"""``seqlab train CONFIG --nproc N``: the same command under ``torch.distributed.run``
(torchrun's own launcher, standalone rendezvous on this machine), and the run folder
that rank 0 creates and the other ranks use.

    >>> torchrun_args(["cfg.toml", "--quiet"], 2)[:4]
    ['--standalone', '--nproc-per-node', '2', '-m']
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from seqlab.distributed.group import join
from seqlab.errors import SeqlabError


def torchrun_args(train_argv: list, nproc: int) -> list:
    """torchrun's arguments for ``python -m seqlab train TRAIN_ARGV`` on ``nproc`` ranks."""
    return ["--standalone", "--nproc-per-node", str(nproc), "-m", "seqlab", "train",
            *map(str, train_argv)]


def launch(train_argv: list, nproc: int) -> None:
    """Run ``seqlab train TRAIN_ARGV`` on ``nproc`` processes of this machine; a failed
    rank raises one SeqlabError sentence (which rank, its exit code, how to resume)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread a rank unless told more
    try:
        run(get_args_parser().parse_args(torchrun_args(train_argv, nproc)))
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        raise SeqlabError(
            f"rank {rank} of {nproc} failed (exit code {failure.exitcode}) and the run "
            f"stopped; its last completed epoch is saved: continue with `seqlab train "
            f"--resume runs/NAME --nproc {nproc}`.") from None


def shared_run(make: Callable):
    """``make()`` (create or open the run folder) on rank 0; the other ranks get a
    ``Run`` of the same folder and config without touching the disk. One process:
    ``make()``."""
    from seqlab.runs import Run

    group = join()
    if group is None:
        return make()
    run, problem = None, None
    if group.rank == 0:
        try:
            run = make()
        except Exception as err:  # every rank stops with rank 0's sentence
            problem = err
    path, config, message = group.broadcast_object(
        (None, None, str(problem)) if run is None else (str(run.path), run.config, None))
    if problem is not None:
        raise problem
    if path is None:
        raise SeqlabError(message)
    return run if group.rank == 0 else Run(Path(path), config)
