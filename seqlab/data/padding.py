"""Fixed-length arrays from variable-length sequences: ``pad_sequences``, ``to_categorical``.

Both follow Keras's semantics exactly (``keras.utils.pad_sequences`` and
``keras.utils.to_categorical``), so code and numbers from Keras tutorials carry over.
Padding every sequence to one length wastes compute on long-tailed data; for training,
``seqlab.data.batching`` pads each batch only to its own longest member instead.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["pad_sequences", "to_categorical"]


def pad_sequences(sequences: Sequence[Sequence[Any]], maxlen: Optional[int] = None,
                  dtype: Any = "int32", padding: str = "pre", truncating: str = "pre",
                  value: Any = 0.0) -> np.ndarray:
    """Pad (and truncate) sequences to one length: (N,) ragged -> (N, maxlen, ...).

    Args:
        sequences: N sequences (lists or arrays); each step may itself be an array of
            a fixed shape, which becomes the trailing dimensions of the result.
        maxlen: the common length; default: the longest sequence.
        dtype: the result's dtype (default "int32", as in Keras).
        padding: "pre" (default) puts the padding before each sequence, "post" after.
        truncating: "pre" (default) drops the first steps of longer sequences
            (keeps the last ``maxlen``), "post" drops the last ones.
        value: the padding value (default 0.0, cast to ``dtype``).

    Returns:
        a numpy array of shape (N, maxlen, ...).

        >>> pad_sequences([[1], [2, 3], [4, 5, 6]]).tolist()
        [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], padding="post").tolist()
        [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2).tolist()
        [[0, 1], [2, 3], [5, 6]]
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"pad_sequences: sequences must be a list of sequences, got "
            f"{type(sequences).__name__}. Wrap a generator with list(...)."
        )
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post", got {padding!r}.')
    if truncating not in ("pre", "post"):
        raise ValueError(
            f'pad_sequences: truncating must be "pre" or "post", got {truncating!r}.')
    lengths, sample_shape = [], ()
    found_shape = False
    for i, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(
                f"pad_sequences: sequences must be a list of sequences; item {i} is "
                f"{s!r:.60}, which has no length. Wrap single values in a list."
            ) from None
        if not found_shape and len(s):
            sample_shape = np.asarray(s).shape[1:]
            found_shape = True
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(
            f"pad_sequences: maxlen must be None or an integer >= 0, got {maxlen!r}.")
    maxlen = int(maxlen)
    is_str = np.issubdtype(np.dtype(dtype), np.str_)
    if isinstance(value, str) and np.dtype(dtype) != object and not is_str:
        raise ValueError(
            f"pad_sequences: dtype {dtype!r} cannot hold the padding value {value!r}. "
            f"Pass dtype=object or a string dtype, or a numeric value."
        )
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)  # (N, T, ...)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: sequence {i} has steps of shape {kept.shape[1:]}, but "
                f"earlier sequences have {sample_shape}; every step must have one shape."
            )
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out


def to_categorical(y: Any, num_classes: Optional[int] = None,
                   dtype: Any = "float32") -> np.ndarray:
    """One-hot encode integer class labels: shape (...) -> (..., num_classes).

    A trailing axis of size 1 is dropped first, as in Keras ((N, 1) -> (N, C)). The
    default dtype is float32, as in Keras 2 (Keras 3 returns float64).

        >>> to_categorical([0, 2, 1]).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    y = np.asarray(y)
    if y.size and not np.all(np.asarray(y, dtype=float) == np.round(np.asarray(y, dtype=float))):
        raise ValueError(
            f"to_categorical: labels must be integers, got values such as "
            f"{y.ravel()[:3].tolist()}. Encode class names with a Tokenizer or np.unique."
        )
    y = y.astype(np.int64)
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"to_categorical: labels must lie in [0, {num_classes}), got values from "
            f"{int(y.min())} to {int(y.max())}. Pass num_classes={int(y.max()) + 1} or "
            f"fix the labels."
        )
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)  # (N, C)
    out[np.arange(y.shape[0]), y] = 1
    return out.reshape(shape + (num_classes,))
