"""The id arithmetic Keras applies to its word-id data sets (imdb, reuters), step by step.

1. shuffle with ``np.random.RandomState(seed)`` (one permutation per split, drawn in order);
2. shift every id by ``index_from`` and put ``start_char`` in front (when not None);
3. with ``maxlen``, drop sequences of ``maxlen`` ids or more (Keras keeps ``len < maxlen``;
   the start mark counts);
4. ``num_words`` (default: the largest id seen): ids outside ``[skip_top, num_words)``
   become ``oov_char``, or are removed when ``oov_char`` is None. With the default, the
   largest id itself is outside the range too, as in Keras.
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def shuffle(rng: np.random.RandomState, xs: np.ndarray, ys: np.ndarray):
    order = np.arange(len(xs))
    rng.shuffle(order)
    return xs[order], ys[order]


def shift(xs, start_char: Optional[int], index_from: int) -> list:
    if start_char is not None:
        return [[start_char] + [int(w) + index_from for w in x] for x in xs]
    return [[int(w) + index_from for w in x] for x in xs]


def drop_long(maxlen: Optional[int], xs: list, ys) -> tuple[list, list]:
    if not maxlen:
        return xs, list(ys)
    kept = [(x, y) for x, y in zip(xs, ys) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_vocabulary(xs: list, num_words: Optional[int], skip_top: int,
                     oov_char: Optional[int]) -> list:
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_object_array(xs: list) -> np.ndarray:
    out = np.empty(len(xs), dtype=object)
    out[:] = xs
    return out
