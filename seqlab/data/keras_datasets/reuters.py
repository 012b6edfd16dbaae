"""``reuters.load_data`` / ``reuters.get_word_index``: Keras's Reuters newswires (46 topics)
from Keras's cache ``~/.keras/datasets/reuters.npz``; Keras 3's arguments and results (the
id arithmetic is in common.py; one shuffled list split at ``1 - test_split``).
"""
from __future__ import annotations

import json
from typing import Optional

import numpy as np

from seqlab.data.keras_datasets import common
from seqlab.data.keras_datasets.npz import load_npz, locate

INSTEAD = ('seqlab.datasets.load("rotten_tomatoes") for text classification (two classes, '
           'not 46 topics)')


def load_data(path: str = "reuters.npz", num_words: Optional[int] = None, skip_top: int = 0,
              maxlen: Optional[int] = None, test_split: float = 0.2, seed: int = 113,
              start_char: Optional[int] = 1, oov_char: Optional[int] = 2,
              index_from: int = 3):
    """``(x_train, y_train), (x_test, y_test)`` exactly as ``keras.datasets.reuters``."""
    f = load_npz(locate(path, "reuters", INSTEAD), {"x", "y"})
    xs, labels = common.shuffle(np.random.RandomState(seed), f["x"], f["y"])
    xs = common.shift(xs, start_char, index_from)
    xs, labels = common.drop_long(maxlen, xs, labels)
    xs = common.limit_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((common.as_object_array(xs[:idx]), labels[:idx]),
            (common.as_object_array(xs[idx:]), labels[idx:]))


def get_word_index(path: str = "reuters_word_index.json") -> dict:
    """Word -> rank (1 = most frequent); a newswire's id is ``rank + index_from``."""
    with open(locate(path, "reuters", INSTEAD), encoding="utf-8") as fh:
        return json.load(fh)
