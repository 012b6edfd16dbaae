"""Helpers of the multi-process tests: a free loopback port, torchrun in a subprocess."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch.distributed as dist

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("worker.py")

if not (dist.is_available() and dist.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    e = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
             SEQLAB_DIST_TIMEOUT="30")
    e.pop("RANK", None), e.pop("WORLD_SIZE", None), e.pop("LOCAL_RANK", None)
    return e


def run(args: list, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python ARGS`` from the repository root; fails the test on a non-zero exit."""
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def torchrun(nproc: int, *args, extra=()) -> list:
    """The arguments of ``python -m torch.distributed.run`` on loopback."""
    return ["-m", "torch.distributed.run", "--nproc-per-node", nproc,
            "--master-addr", "127.0.0.1", "--master-port", free_port(), *extra, *args]
