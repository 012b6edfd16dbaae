"""Dynamic batching: concurrent requests' items are run together, grouped by length.

An item waits at most ``max_wait`` seconds for others of its length bucket; a bucket that
reaches ``max_batch`` items runs at once. Batches run one at a time on one worker thread
(the model is called from a single thread; the event loop keeps accepting requests).

    >>> import asyncio
    >>> b = Batcher(lambda items: [x * 2 for x in items], max_batch=4, max_wait=0.001)
    >>> asyncio.run(b.submit([1, 2, 3]))
    [2, 4, 6]
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional


class Batcher:
    """Runs ``fn(items) -> outputs`` on batches of items gathered across requests.

    Args:
        fn: list of items -> list of outputs, same order and length.
        max_batch: most items in one call (1 = one item at a time, no batching).
        max_wait: seconds an item may wait for others.
        bucket: item -> hashable key; only items of the same key share a batch (by
            default all items share one).
    """

    def __init__(self, fn: Callable[[list], list], max_batch: int = 64,
                 max_wait: float = 0.005, bucket: Optional[Callable[[Any], Any]] = None):
        if max_batch < 1:
            raise ValueError(f"Batcher: max_batch must be >= 1, got {max_batch}.")
        self.fn, self.max_batch, self.max_wait = fn, max_batch, max_wait
        self.bucket = bucket or (lambda item: 0)
        self.pending: dict = {}                      # key -> [(item, future)]
        self.timers: dict = {}                       # key -> scheduled flush
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.batches = 0                             # calls of fn, for tests and benches

    async def submit(self, items: list) -> list:
        """The outputs of ``items`` (run in batches with other requests' items)."""
        loop = asyncio.get_running_loop()
        futures = []
        for item in items:
            fut = loop.create_future()
            key = self.bucket(item)
            self.pending.setdefault(key, []).append((item, fut))
            futures.append(fut)
            if len(self.pending[key]) >= self.max_batch:
                self._flush(key)
            elif key not in self.timers:
                self.timers[key] = loop.call_later(self.max_wait, self._flush, key)
        return list(await asyncio.gather(*futures))

    def _flush(self, key) -> None:
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        queue = self.pending.get(key, [])
        while queue:
            batch, queue[:] = queue[:self.max_batch], queue[self.max_batch:]
            asyncio.ensure_future(self._run(batch))
        self.pending.pop(key, None)

    async def _run(self, batch: list) -> None:
        loop = asyncio.get_running_loop()
        items = [item for item, _ in batch]
        try:
            self.batches += 1
            outputs = await loop.run_in_executor(self.executor, self.fn, items)
        except Exception as err:  # every waiting request learns of it
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(err)
            return
        for (_, fut), out in zip(batch, outputs):
            if not fut.done():
                fut.set_result(out)


__all__ = ["Batcher"]
