"""One padding helper: the task and Transformer id padders and the classifier's feature
batches are pad_batch underneath and give, bit for bit, what their row-by-row loops
gave; pad_batch's min_length."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.batching import pad_batch
from seqlab.models.transformers.seq2seq import pad_ids
from seqlab.tasks import classify
from seqlab.tasks.common import pad

ID_LISTS = st.lists(st.lists(st.integers(0, 2**40), max_size=9), min_size=1, max_size=6)


def loop_pad(seqs, value=0, dtype=torch.long):
    """The row-by-row padding the helpers did before (reference)."""
    T = max((len(s) for s in seqs), default=1) or 1
    out = torch.full((len(seqs), T), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, :len(s)] = torch.as_tensor(list(s), dtype=dtype)
    return out


def loop_features(seqs):
    """The classifier's feature batch before (reference): (B, T, D) and the mask."""
    if len({len(s) for s in seqs}) == 1:
        return (torch.as_tensor(np.stack(seqs)),)
    T = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), T, seqs[0].shape[1])
    mask = torch.zeros(len(seqs), T, dtype=torch.bool)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.as_tensor(s)
        mask[i, :len(s)] = True
    return x, mask


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


@settings(max_examples=60, deadline=None)
@given(ID_LISTS, st.integers(-3, 3))
def test_task_pad_is_the_loop_bit_for_bit(seqs, value):
    assert same(pad(seqs, value=value), loop_pad(seqs, value=value))
    small = [[i % 2**31 for i in s] for s in seqs]                       # int32 ids
    assert same(pad(small, dtype=torch.int32), loop_pad(small, dtype=torch.int32))


@settings(max_examples=60, deadline=None)
@given(ID_LISTS)
def test_pad_ids_is_the_loop_bit_for_bit(seqs):
    assert same(pad_ids(seqs), loop_pad(seqs))
    assert pad_ids(seqs, device="cpu").device.type == "cpu"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=5), st.integers(1, 3), st.integers(0, 99))
def test_classifier_feature_batches_are_the_loop_bit_for_bit(lengths, features, seed):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(n, features)).astype(np.float32) for n in lengths]
    got = classify._batch({"text": False}, seqs)
    want = loop_features(seqs)
    assert len(got) == len(want) and all(same(a, b) for a, b in zip(got, want))


def test_classifier_text_batches_are_padded_ids():
    (x,) = classify._batch({"text": True}, [[4, 5, 6], [7]])
    assert same(x, torch.tensor([[4, 5, 6], [7, 0, 0]]))


def test_min_length_pads_short_batches_on_the_padding_side():
    x, n = pad_batch([[], []], dtype=torch.long, min_length=1)
    assert x.tolist() == [[0], [0]] and n.tolist() == [0, 0]
    x, _ = pad_batch([[[1.0, 2.0]]], value=-1.0, min_length=3)             # (1, 3, 2)
    assert x.tolist() == [[[1.0, 2.0], [-1.0, -1.0], [-1.0, -1.0]]]
    x, _ = pad_batch([[1, 2]], padding="pre", value=9, min_length=4)
    assert x.tolist() == [[9, 9, 1, 2]]
    x, _ = pad_batch([[1, 2, 3]], min_length=2)                           # longer: unchanged
    assert x.tolist() == [[1, 2, 3]]


def test_an_empty_batch_is_an_error_naming_the_fix():
    with pytest.raises(ValueError, match="empty batch"):
        pad([])
