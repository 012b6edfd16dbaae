"""pad_sequences / to_categorical: Keras's documented examples, and properties."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from seqlab.data import pad_sequences, to_categorical

SEQS = [[1], [2, 3], [4, 5, 6]]


def test_keras_documented_examples():
    # The examples of keras.utils.pad_sequences's docstring.
    assert pad_sequences(SEQS).tolist() == [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
    assert pad_sequences(SEQS, value=-1).tolist() == [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]
    assert pad_sequences(SEQS, padding="post").tolist() == [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    assert pad_sequences(SEQS, maxlen=2).tolist() == [[0, 1], [2, 3], [5, 6]]
    assert pad_sequences(SEQS).dtype == np.int32


def test_truncating_post_and_combinations():
    assert pad_sequences(SEQS, maxlen=2, truncating="post").tolist() == [[0, 1], [2, 3], [4, 5]]
    assert pad_sequences(SEQS, maxlen=2, padding="post", truncating="post").tolist() == [
        [1, 0], [2, 3], [4, 5]]
    assert pad_sequences(SEQS, maxlen=4, padding="post").tolist() == [
        [1, 0, 0, 0], [2, 3, 0, 0], [4, 5, 6, 0]]


def test_dtype_value_and_feature_steps():
    x = pad_sequences([[0.5], [1.5, 2.5]], dtype="float32", value=np.nan)
    assert x.dtype == np.float32 and np.isnan(x[0, 0]) and x[1].tolist() == [1.5, 2.5]
    # Keras casts to the dtype: 0.5 -> 0 with the default int32.
    assert pad_sequences([[0.5, 1.7]]).tolist() == [[0, 1]]
    x = pad_sequences([np.ones((2, 3)), np.ones((4, 3))], padding="post")
    assert x.shape == (2, 4, 3) and x[0, 2:].sum() == 0
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]
    s = pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")
    assert s.tolist() == [["<pad>", "a"], ["b", "c"]]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match='padding must be "pre" or "post", got \'mid\''):
        pad_sequences(SEQS, padding="mid")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences(SEQS, truncating="middle")
    with pytest.raises(ValueError, match="item 1 is 5"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="cannot hold the padding value"):
        pad_sequences(SEQS, value="x")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 99), max_size=12), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(0, 15)), st.sampled_from(["pre", "post"]),
       st.sampled_from(["pre", "post"]))
def test_shape_and_no_value_lost_or_invented(seqs, maxlen, padding, truncating):
    x = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating)
    T = max(map(len, seqs)) if maxlen is None else maxlen
    assert x.shape == (len(seqs), T)
    for row, s in zip(x, seqs):
        kept = s[-T:] if truncating == "pre" else s[:T]
        kept = kept if T else []
        nonzero = row[row != 0].tolist()
        assert nonzero == kept  # values in order, none invented (inputs are >= 1)
        if kept:  # the kept block sits at the padding side's opposite end
            block = row[T - len(kept):] if padding == "pre" else row[:len(kept)]
            assert block.tolist() == kept


def test_to_categorical_keras_semantics():
    y = to_categorical([[0], [2], [1]])  # (N, 1) -> (N, C)
    assert y.shape == (3, 3) and y.dtype == np.float32
    assert y.argmax(1).tolist() == [0, 2, 1] and y.sum() == 3
    assert to_categorical([1, 0], num_classes=4).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert to_categorical(np.zeros((2, 5), int), 3).shape == (2, 5, 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\), got values from 0 to 3"):
        to_categorical([0, 3], num_classes=2)
    with pytest.raises(ValueError, match="labels must be integers"):
        to_categorical([0.5])
