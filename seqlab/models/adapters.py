"""What ``fit``/``evaluate``/``predict`` accept, turned into batches.

* numpy arrays or tensors ``(N, ...)``: sliced into batches (shuffled per epoch);
* a list of variable-length sequences (token-id lists, arrays ``(T_i, D)``): grouped by
  length with ``seqlab.data.batching.BucketBatchSampler``, each batch padded (after the
  sequence, with 0) only to its own longest member by ``pad_batch``, with the (B, T)
  padding mask (True = real step) so recurrent layers skip the padding. Targets may be
  one per sequence or themselves sequences (tagging), padded and masked alike;
* a ``torch.utils.data.DataLoader`` yielding ``(x, y)`` (or ``x`` for predict); a mask
  attached to ``x`` (``collate_padded``) is used.

Every source yields ``Batch(x, y, mask, index)`` on the CPU; ``index`` gives each row's
position in the input (used by ``predict`` to restore the order after bucketing).

* any object with ``batches`` and ``num_batches`` (a ``BatchSource``): used as it is, and
  its batches, whatever their type, go to the model's ``compute_loss``. A task or a model
  family passes its own batches this way.

Shapes: N samples, B batch, T time, D features.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Protocol, runtime_checkable

import numpy as np
import torch
from torch.utils.data import DataLoader

from seqlab.layers.base import get_mask


def validation_cut(n: int, fraction: float) -> int:
    """Where ``validation_split`` cuts ``n`` samples, as Keras 3 does: the first
    floor(n * (1 - fraction)) train, the rest validate; neither part may be empty."""
    cut = int(math.floor(n * (1.0 - fraction) + 1e-9))  # 1e-9: 10 * (1 - 0.9) is 0.99999...
    if cut == 0 or cut == n:
        part = "no training samples" if cut == 0 else "no validation samples"
        raise ValueError(f"fit(): validation_split={fraction} of {n} samples leaves {part}. "
                         f"Use more data, another fraction, or validation_data=(x_val, y_val).")
    return cut


@dataclass
class Batch:
    x: torch.Tensor                   # (B, ...) or (B, T, ...)
    y: Optional[torch.Tensor]         # (B, ...), None for predict
    mask: Optional[torch.Tensor]      # (B, T) bool, True = real step; None if no padding
    index: Optional[np.ndarray]       # (B,) row positions in the input

    def to(self, device: torch.device) -> "Batch":
        move = (lambda t: None if t is None else move_to(t, device))
        return Batch(move(self.x), move(self.y), move(self.mask), self.index)


class Several(list):
    """The arrays of a model with several inputs (or outputs), one per input, same rows:
    what a Functional model's ``fit(x=[a, b])`` passes on. Batches hold lists of tensors."""


def _rows(t: Any) -> int:
    return len(t[0]) if isinstance(t, list) else len(t)


def _take(t: Any, sel: Any) -> Any:
    return [v[sel] for v in t] if isinstance(t, list) else t[sel]


@runtime_checkable
class BatchSource(Protocol):
    """What ``fit(x=source)`` (with ``y=None``) and ``validation_data=source`` accept: the
    protocol of the built-in sources, open to a task or model family with its own batches.

    ``batches(batch_size, shuffle, seed, epoch)`` yields the batches of one epoch, on the
    CPU; ``fit`` moves each to the model's device (``move_to``: tensors inside tuples,
    lists, dicts, dataclasses, or the batch's own ``to(device)``) and hands it to
    ``model.compute_loss``. The batch order must be a function of ``(seed, epoch)`` for a
    reproducible (and exactly resumable) run: ``fit`` passes its ``seed`` (or one drawn
    from torch's generator when none is given), unless the source sets ``seeded = True``
    (it keeps a seed of its own, e.g. a configuration's). ``num_batches(batch_size)`` is
    the number of batches per epoch, or None if unknown (the progress bar then counts
    up). Optional: ``split(fraction) -> (train, val)`` for ``validation_split``.

    >>> class Pairs:
    ...     def __init__(self, xs): self.xs = xs
    ...     def num_batches(self, batch_size): return -(-len(self.xs) // batch_size)
    ...     def batches(self, batch_size, shuffle=False, seed=0, epoch=0):
    ...         order = np.random.default_rng([seed, epoch]).permutation(len(self.xs))
    ...         for i in range(0, len(order), batch_size):
    ...             yield (self.xs[order[i:i + batch_size]],)
    >>> isinstance(Pairs(torch.zeros(5, 2)), BatchSource)
    True
    """

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0,
                epoch: int = 0) -> Iterator[Any]: ...

    def num_batches(self, batch_size: int) -> Optional[int]: ...


def move_to(batch: Any, device: torch.device) -> Any:
    """``batch`` on ``device``: a tensor, or the tensors inside tuples (named too), lists,
    dicts and dataclasses, or whatever the batch's own ``to(device)`` does; anything else
    (numbers, strings, numpy index arrays) unchanged. To CUDA, CPU tensors are pinned
    and copied with ``non_blocking=True`` (the copy overlaps the host's work).

    >>> move_to({"ids": (torch.ones(2),), "n": 3}, torch.device("cpu"))["n"]
    3
    """
    if isinstance(batch, torch.Tensor):
        if batch.device == device:
            return batch  # what .to(device) returns, without its call
        if device.type == "cuda" and batch.device.type == "cpu":
            batch = batch.pin_memory()  # page-locked: the copy below runs asynchronously
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Batch) or (hasattr(batch, "to") and callable(batch.to)
                                    and not isinstance(batch, np.ndarray)):
        return batch.to(device)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(move_to(b, device) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(batch, **{f.name: move_to(getattr(batch, f.name), device)
                                             for f in dataclasses.fields(batch) if f.init})
    return batch


def is_source(x: Any) -> bool:
    """A ``BatchSource`` of the user's (not a DataLoader, array or list)."""
    return (not isinstance(x, (DataLoader, torch.Tensor, np.ndarray, list, tuple))
            and isinstance(x, BatchSource))


def to_tensor(a: Any, what: str, float_dtype: torch.dtype) -> torch.Tensor:
    """``a`` as a tensor: floats in the model's dtype, integers as int64 (token ids)."""
    if not isinstance(a, torch.Tensor):
        arr = np.asarray(a)
        if arr.dtype.kind in "US":
            raise TypeError(f"{what}: got text, expected numbers (token ids or features). "
                            f"Turn text into ids first, e.g. with seqlab.data.Tokenizer.")
        if arr.dtype == object:
            raise ValueError(f"{what}: could not make an array of it (ragged or mixed "
                             f"types). Pass an array, or a list of sequences of the same "
                             f"kind (all token-id lists, or all arrays of shape (T_i, D)).")
        a = torch.from_numpy(np.ascontiguousarray(arr))
    if a.dtype == torch.bool or a.is_floating_point():
        return a.to(float_dtype)
    if a.is_complex():
        raise TypeError(f"{what}: complex values are not supported.")
    return a.long() if a.dtype != torch.int64 else a


def is_variable_length(x: Any) -> bool:
    """A list (or object array) of sequences whose lengths differ."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        x = list(x)
    if not isinstance(x, (list, tuple)) or len(x) == 0:
        return False
    first = x[0]
    if not isinstance(first, (list, tuple, np.ndarray, torch.Tensor)) or np.ndim(first) == 0:
        return False
    return len({len(s) for s in x}) > 1


class ArrayData:
    """Equal-shaped samples held in two tensors."""

    def __init__(self, x: torch.Tensor, y: Optional[torch.Tensor]):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return _rows(self.x)

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def split(self, fraction: float) -> tuple["ArrayData", "ArrayData"]:
        """Keras's validation_split: the *last* ``fraction`` of the samples, before shuffling."""
        cut = validation_cut(len(self), fraction)
        head, tail = slice(0, cut), slice(cut, None)
        ys = (None, None) if self.y is None else (_take(self.y, head), _take(self.y, tail))
        return ArrayData(_take(self.x, head), ys[0]), ArrayData(_take(self.x, tail), ys[1])

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0,
                epoch: int = 0) -> Iterator[Batch]:
        n = len(self)
        order = (np.random.default_rng([seed, epoch]).permutation(n) if shuffle
                 else np.arange(n))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            sel = torch.from_numpy(idx) if shuffle else slice(start, start + len(idx))
            yield Batch(_take(self.x, sel), None if self.y is None else _take(self.y, sel),
                        None, idx)


class SequenceData:
    """Variable-length sequences, batched by length and padded per batch."""

    def __init__(self, seqs: list, y: Any, float_dtype: torch.dtype, what: str = "x"):
        self.seqs = [to_tensor(s, f"{what}[{i}]", float_dtype) for i, s in enumerate(seqs)]
        self.lengths = np.array([len(s) for s in self.seqs], dtype=np.int64)
        self.y_is_seq = y is not None and is_variable_length(y)
        if y is None:
            self.y = None
        elif self.y_is_seq:
            self.y = [to_tensor(t, f"y[{i}]", float_dtype) for i, t in enumerate(y)]
        else:
            self.y = to_tensor(y, "y", float_dtype)

    def __len__(self) -> int:
        return len(self.seqs)

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def _subset(self, idx: range) -> "SequenceData":
        new = object.__new__(SequenceData)
        new.seqs = [self.seqs[i] for i in idx]
        new.lengths = self.lengths[idx.start:idx.stop]
        new.y_is_seq = self.y_is_seq
        new.y = None if self.y is None else (
            [self.y[i] for i in idx] if self.y_is_seq else self.y[idx.start:idx.stop])
        return new

    def split(self, fraction: float) -> tuple["SequenceData", "SequenceData"]:
        cut = validation_cut(len(self), fraction)
        return self._subset(range(0, cut)), self._subset(range(cut, len(self)))

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0,
                epoch: int = 0) -> Iterator[Batch]:
        from seqlab.data.batching import BucketBatchSampler

        sampler = BucketBatchSampler(self.lengths, batch_size, shuffle=shuffle, seed=seed)
        sampler.set_epoch(epoch)
        for idx in sampler:
            yield self.batch_of(idx)

    def batch_of(self, idx: list) -> Batch:
        """The sequences ``idx``, padded to their longest member, with the mask."""
        from seqlab.data.batching import lengths_to_mask, pad_batch

        x, lengths = pad_batch([self.seqs[i] for i in idx])  # (B, T_max, ...)
        mask = lengths_to_mask(lengths, x.shape[1])  # (B, T_max)
        if self.y is None:
            y = None
        elif self.y_is_seq:
            y, _ = pad_batch([self.y[i] for i in idx])  # (B, T_max, ...)
        else:
            y = self.y[torch.as_tensor(idx)]
        return Batch(x, y, mask, np.asarray(idx))

    def feature_shape(self) -> tuple:
        return tuple(self.seqs[0].shape[1:])


class LoaderData:
    """A user's DataLoader, yielding ``(x, y)``, ``(x,)`` or ``x``."""

    def __init__(self, loader: DataLoader, float_dtype: torch.dtype):
        self.loader, self.float_dtype = loader, float_dtype

    def __len__(self) -> int:
        return len(self.loader.dataset) if hasattr(self.loader, "dataset") else 0

    def num_batches(self, batch_size: int) -> Optional[int]:
        try:
            return len(self.loader)
        except TypeError:
            return None

    def split(self, fraction: float):
        raise ValueError("fit(): validation_split cannot split a DataLoader. Pass "
                         "validation_data=<another DataLoader> instead.")

    def batches(self, batch_size: int = 0, shuffle: bool = False, seed: int = 0,
                epoch: int = 0) -> Iterator[Batch]:
        sampler = getattr(self.loader, "batch_sampler", None)
        for s in (sampler, getattr(sampler, "sampler", None)):
            if hasattr(s, "set_epoch"):
                s.set_epoch(epoch)
        for item in self.loader:
            if isinstance(item, (tuple, list)):
                if len(item) not in (1, 2):
                    raise ValueError(f"DataLoader items must be (x, y) or x, got a "
                                     f"{type(item).__name__} of {len(item)} elements.")
                x, y = item[0], (item[1] if len(item) == 2 else None)
            else:
                x, y = item, None
            mask = get_mask(x)
            x = to_tensor(x, "DataLoader x", self.float_dtype)
            y = None if y is None else to_tensor(y, "DataLoader y", self.float_dtype)
            yield Batch(x, y, mask, None)


def make_data(x: Any, y: Any, float_dtype: torch.dtype, caller: str, need_y: bool):
    """The right data source for what the user passed to ``caller`` (fit/evaluate/predict)."""
    if is_source(x):
        if y is not None:
            raise ValueError(f"{caller}(): y must be None when x is a batch source "
                             f"({type(x).__name__} yields the targets).")
        return x
    if isinstance(x, DataLoader):
        if y is not None:
            raise ValueError(f"{caller}(): y must be None when x is a DataLoader (it "
                             f"yields the targets).")
        return LoaderData(x, float_dtype)
    if x is None:
        raise ValueError(f"{caller}(): x is missing. Pass the inputs, e.g. "
                         f"model.{caller}(x_train, y_train).")
    if need_y and y is None:
        raise ValueError(f"{caller}(): y is missing. Pass the targets, e.g. "
                         f"model.{caller}(x_train, y_train), or a DataLoader of (x, y).")
    if isinstance(x, Several) or isinstance(y, Several):
        data = _several_data(x, y, float_dtype, caller)
    elif is_variable_length(x):
        data = SequenceData(list(x), y, float_dtype)
    else:
        x_t = to_tensor(x, f"{caller}() x", float_dtype)
        if x_t.dim() == 0:
            raise ValueError(f"{caller}(): x must have a batch dimension, got a scalar.")
        data = ArrayData(x_t, None if y is None else to_tensor(y, f"{caller}() y", float_dtype))
    if data.y is not None and _rows(data.y) != len(data):
        raise ValueError(f"{caller}(): x has {len(data)} samples but y has {_rows(data.y)}; "
                         f"they must match one to one.")
    if len(data) == 0:
        raise ValueError(f"{caller}(): x is empty (0 samples).")
    return data


def _several_data(x: Any, y: Any, float_dtype: torch.dtype, caller: str) -> ArrayData:
    """Arrays for several inputs and/or outputs: lists of tensors with the same rows."""
    def tensors(v, what):
        if isinstance(v, Several):
            out = [to_tensor(a, f"{caller}() {what}[{i}]", float_dtype) for i, a in enumerate(v)]
            rows = {len(t) for t in out}
            if len(rows) > 1:
                raise ValueError(f"{caller}(): the arrays of {what} have different numbers of "
                                 f"samples {[len(t) for t in out]}; each must have one row per "
                                 f"sample.")
            return out
        return None if v is None else to_tensor(v, f"{caller}() {what}", float_dtype)
    return ArrayData(tensors(x, "x"), tensors(y, "y"))


__all__ = ["Several", "Batch", "BatchSource", "move_to", "is_source", "ArrayData", "SequenceData", "LoaderData", "make_data", "to_tensor",
           "is_variable_length"]
