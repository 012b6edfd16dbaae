"""The server's dynamic batching: concurrent requests share calls, by length bucket, up to
the batch cap; one at a time when the cap is 1; a failing call fails its requests only."""
import asyncio

import pytest

from seqlab.serve.batching import Batcher


def _gather(batcher, requests):
    async def go():
        return await asyncio.gather(*(batcher.submit(r) for r in requests))
    return asyncio.run(go())


def test_concurrent_requests_share_calls_by_bucket():
    calls = []

    def fn(items):
        calls.append(list(items))
        return [x * 10 for x in items]

    b = Batcher(fn, max_batch=4, max_wait=0.05, bucket=lambda x: x % 2)
    requests = [[1], [2], [3], [4, 6], [5], [7, 9, 11]]
    assert _gather(b, requests) == [[10], [20], [30], [40, 60], [50], [70, 90, 110]]
    assert all(len({x % 2 for x in c}) == 1 for c in calls)     # one bucket per call
    assert max(len(c) for c in calls) <= 4                      # the cap
    assert len(calls) < sum(len(r) for r in requests)           # shared calls
    assert sorted(x for c in calls for x in c) == [1, 2, 3, 4, 5, 6, 7, 9, 11]


def test_cap_of_one_runs_items_one_at_a_time():
    calls = []
    b = Batcher(lambda items: calls.append(len(items)) or items, max_batch=1, max_wait=0.05)
    assert _gather(b, [[1], [2, 3]]) == [[1], [2, 3]]
    assert calls == [1, 1, 1]


def test_a_failing_call_fails_its_requests_and_the_batcher_goes_on():
    def fn(items):
        if 0 in items:
            raise ValueError("zero")
        return items

    b = Batcher(fn, max_batch=8, max_wait=0.01)
    with pytest.raises(ValueError, match="zero"):
        _gather(b, [[0, 1]])
    assert _gather(b, [[2, 3]]) == [[2, 3]]
    with pytest.raises(ValueError, match="max_batch must be >= 1, got 0"):
        Batcher(fn, max_batch=0)
