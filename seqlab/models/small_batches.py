"""One CPU thread for inference batches of a few rows.

A batch of a few rows gives each matrix product too little work to share between
threads: an LSTM at batch 1 multiplies a (1, H) state by a (H, 4H) matrix at each of its
T steps, and torch's intra-op threads spend more time meeting at every step than the
split saves (``bench/predict_overhead.py``, its "2 threads" rows: LSTM(64) and the
Transformer at batch 1 and 4). ``predict`` therefore runs batches of at most ``SMALL`` rows on one thread
and gives the threads back when it returns. Only the main thread does this: the thread
count is the process's, and a server calling ``predict`` from worker threads keeps it.

    >>> import torch
    >>> n = torch.get_num_threads()
    >>> with one_thread_when_small(1, torch.device("cpu")):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == n
    True
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import torch

SMALL = 8  # rows per batch at or under which predict runs on one thread


@contextmanager
def one_thread_when_small(batch_size: int, device: torch.device):
    """One intra-op thread for the block when batches hold <= SMALL rows on the CPU."""
    threads = torch.get_num_threads()
    if (device.type != "cpu" or batch_size > SMALL or threads == 1
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
