"""DistributedBucketSampler: the one-process global batches shared out, similar lengths
on each rank, the same number of batches on every rank, order f(seed, epoch), resumable,
padding no higher than on one process."""
import numpy as np
import pytest

from seqlab.data.batching import BucketBatchSampler, padded_tokens
from seqlab.distributed import DistributedBucketSampler


def lengths(n=1000, seed=0):
    return np.random.default_rng(seed).integers(5, 400, n)


@pytest.mark.parametrize("world", [2, 3])
def test_shares_make_the_one_process_batches(world):
    ls = lengths(997)
    one = BucketBatchSampler(ls, 64, seed=4).batches(epoch=2)
    shares = [DistributedBucketSampler(ls, 64, r, world, seed=4).shares(2) for r in range(world)]
    assert len({len(s) for s in shares}) == 1 and len(shares[0]) == len(one)
    for i, batch in enumerate(one):
        together = sorted(sum((s[i] for s in shares), []))
        assert together == sorted(batch)
        sizes = [len(s[i]) for s in shares]
        assert max(sizes) - min(sizes) <= 1


def test_order_is_a_function_of_seed_and_epoch():
    ls = lengths()
    a = DistributedBucketSampler(ls, 32, 1, 2, seed=7)
    b = DistributedBucketSampler(ls, 32, 1, 2, seed=7)
    assert a.shares(3) == b.shares(3)
    assert a.shares(3) != a.shares(4)
    assert a.shares(3) != DistributedBucketSampler(ls, 32, 1, 2, seed=8).shares(3)


def test_resumes_mid_epoch_from_its_state():
    ls = lengths()
    s = DistributedBucketSampler(ls, 32, 0, 2, seed=1)
    s.set_epoch(5)
    it = iter(s)
    seen = [next(it) for _ in range(7)]
    state = s.state_dict()
    assert state == {"epoch": 5, "batch": 7}
    again = DistributedBucketSampler(ls, 32, 0, 2, seed=1)
    again.load_state_dict(state)
    assert seen + list(again) == s.shares(5)
    assert again.state_dict() == {"epoch": 6, "batch": 0}


def test_padding_no_higher_than_on_one_process():
    ls = lengths(4000)
    one = padded_tokens(ls, BucketBatchSampler(ls, 64, seed=0).batches(0))
    two, real = DistributedBucketSampler(ls, 64, 0, 2, seed=0).padding(0)
    unbucketed = padded_tokens(ls, [list(range(i, i + 32)) for i in range(0, 4000, 32)])
    assert two <= one < unbucketed / 5
    assert real == int(ls.sum())
