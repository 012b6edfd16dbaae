"""seqlab.keras.datasets.imdb / reuters read Keras's cache files with Keras 3's semantics.

The tests write tiny fake cache files and compare with the arithmetic of keras/src/datasets
(imdb.py, reuters.py) done by hand here."""
import json
import os
import zipfile

import numpy as np
import pytest

from seqlab.errors import SeqlabError
from seqlab.keras import datasets

TRAIN = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [1]]
TEST = [[2, 2], [9, 8, 7], [3]]


def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = [list(x) for x in lists]
    return out


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    folder = tmp_path / "datasets"
    folder.mkdir()
    np.savez(folder / "imdb.npz", x_train=_objects(TRAIN), y_train=np.array([1, 0, 1, 0]),
             x_test=_objects(TEST), y_test=np.array([0, 1, 1]))
    (folder / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 2}))
    np.savez(folder / "reuters.npz", x=_objects(TRAIN + TEST), y=np.arange(7) % 3)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return folder


def _by_hand(seed=113, start_char=1, oov_char=2, index_from=3, num_words=None, skip_top=0,
             maxlen=None):
    rng = np.random.RandomState(seed)
    order_train = np.arange(4)
    rng.shuffle(order_train)
    order_test = np.arange(3)
    rng.shuffle(order_test)
    ys_train = np.array([1, 0, 1, 0])[order_train]
    ys_test = np.array([0, 1, 1])[order_test]

    def shift(x):
        return ([start_char] if start_char is not None else []) + [w + index_from for w in x]

    train = [(shift(TRAIN[i]), y) for i, y in zip(order_train, ys_train)]
    test = [(shift(TEST[i]), y) for i, y in zip(order_test, ys_test)]
    if maxlen:
        train = [(x, y) for x, y in train if len(x) < maxlen]
        test = [(x, y) for x, y in test if len(x) < maxlen]
    top = num_words or max(max(x) for x, _ in train + test)

    def cut(x):
        if oov_char is None:
            return [w for w in x if skip_top <= w < top]
        return [w if skip_top <= w < top else oov_char for w in x]

    return ([cut(x) for x, _ in train], [y for _, y in train],
            [cut(x) for x, _ in test], [y for _, y in test])


@pytest.mark.parametrize("kwargs", [
    {}, {"num_words": 8}, {"num_words": 9, "skip_top": 5}, {"maxlen": 4},
    {"start_char": None, "index_from": 0}, {"oov_char": None, "num_words": 7},
    {"seed": 0, "index_from": 2},
])
def test_imdb_load_data_matches_keras_semantics(keras_home, kwargs):
    (x_train, y_train), (x_test, y_test) = datasets.imdb.load_data(**kwargs)
    want = _by_hand(**kwargs)
    assert x_train.dtype == object and [list(x) for x in x_train] == want[0]
    assert list(y_train) == list(want[1])
    assert [list(x) for x in x_test] == want[2] and list(y_test) == list(want[3])


def test_imdb_defaults_give_start_marks_and_shifted_ids(keras_home):
    (x_train, _), _ = datasets.imdb.load_data()
    assert all(x[0] == 1 for x in x_train)
    assert sorted(len(x) for x in x_train) == [2, 3, 4, 5]
    # the largest id (9 + 3 = 12) is outside [0, 12): it becomes oov_char, as in Keras
    assert 12 not in {w for x in x_train for w in x}
    assert datasets.imdb.get_word_index() == {"the": 1, "movie": 2}
    with pytest.raises(ValueError, match="Increase maxlen"):
        datasets.imdb.load_data(maxlen=2)


def test_reuters_load_data_splits_one_shuffled_list(keras_home):
    (x_train, y_train), (x_test, y_test) = datasets.reuters.load_data(test_split=0.3)
    rng = np.random.RandomState(113)
    order = np.arange(7)
    rng.shuffle(order)
    lists = [[1] + [w + 3 for w in (TRAIN + TEST)[i]] for i in order]
    top = max(max(x) for x in lists)
    lists = [[w if w < top else 2 for w in x] for x in lists]
    idx = int(7 * 0.7)
    assert [list(x) for x in x_train] == lists[:idx]
    assert [list(x) for x in x_test] == lists[idx:]
    assert list(y_train) + list(y_test) == list((np.arange(7) % 3)[order])


def test_missing_file_says_where_to_put_it_and_what_to_use(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        datasets.imdb.load_data(num_words=10000)
    message = str(info.value)
    assert isinstance(info.value, SeqlabError)
    assert os.path.join(str(tmp_path), "datasets", "imdb.npz") in message
    assert "never downloads" in message and "rotten_tomatoes" in message
    with pytest.raises(FileNotFoundError, match="get_word_index"):
        datasets.imdb.get_word_index()


class Evil:
    """Unpickling this calls os.getcwd: a stand-in for any code a tampered file could run."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_a_pickle_asking_for_anything_but_numpy_arrays_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "datasets"
    folder.mkdir()
    evil = np.empty(1, dtype=object)
    evil[0] = Evil()
    np.savez(folder / "imdb.npz", x_train=evil, y_train=np.array([1]), x_test=_objects(TEST),
             y_test=np.array([0, 1, 1]))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(datasets.UnsafeCacheFile, match=r"refusing to load it: .*getcwd"):
        datasets.imdb.load_data()


def test_not_a_zip_or_missing_arrays_are_refused(tmp_path, monkeypatch):
    folder = tmp_path / "datasets"
    folder.mkdir()
    (folder / "imdb.npz").write_bytes(b"not a zip file")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(datasets.UnsafeCacheFile, match="not an .npz"):
        datasets.imdb.load_data()
    with zipfile.ZipFile(folder / "imdb.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(datasets.UnsafeCacheFile, match="expected the arrays"):
        datasets.imdb.load_data()
