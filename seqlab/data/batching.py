"""Batches without padding waste: length bucketing, per-batch padding, masks.

Padding every sequence to the longest one in the data set costs memory and compute for
steps that carry nothing. Two habits remove most of that waste:

* **Bucketing.** ``BucketBatchSampler`` groups indices of sequences of similar length
  into the same batch. Each epoch it shuffles the data, cuts it into *pools* of
  ``pool`` batches, sorts each pool by length, cuts it into batches and shuffles the
  order of the batches. Every index appears exactly once per epoch, and the order is
  reproducible from ``seed`` and the epoch number.
* **Padding per batch.** ``pad_batch`` pads a batch only to its own longest member
  and returns the true lengths; ``collate_padded`` does the same for ``(seq, target)``
  items of a ``torch.utils.data.DataLoader`` and attaches the (B, T) padding mask
  (True = real step) to the padded input with ``attach_mask``, so masking layers skip
  the padding and each sequence gets the outputs it would get alone.

Shape letters: B batch, T time (the longest member of the batch), D features.

    >>> import torch
    >>> from torch.utils.data import DataLoader
    >>> seqs = [torch.arange(1, n + 1) for n in (3, 9, 2, 8, 4, 7)]
    >>> data = list(zip(seqs, torch.zeros(6)))
    >>> sampler = BucketBatchSampler([len(s) for s in seqs], batch_size=2, seed=0)
    >>> loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate_padded)
    >>> sorted(x.shape[1] for x, y in loader)   # each batch padded to its own max
    [3, 7, 9]
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from seqlab.layers.base import attach_mask

__all__ = ["BucketBatchSampler", "pad_batch", "collate_padded", "lengths_to_mask",
           "padded_tokens"]


def _lengths_array(lengths: Any) -> np.ndarray:
    arr = np.asarray(lengths.cpu() if isinstance(lengths, torch.Tensor) else lengths)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        if arr.ndim == 1 and arr.size and np.issubdtype(arr.dtype, np.floating) \
                and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(
                f"BucketBatchSampler: lengths must be a 1-D sequence of integers (one per "
                f"sequence), got an array of shape {arr.shape} and dtype {arr.dtype}. "
                f"Pass e.g. lengths=[len(s) for s in sequences]."
            )
    if arr.size and arr.min() < 0:
        raise ValueError(f"BucketBatchSampler: lengths must be >= 0, got {int(arr.min())}.")
    return arr.astype(np.int64)


class BucketBatchSampler(Sampler):
    """A batch sampler that puts sequences of similar length in the same batch.

    Args:
        lengths: one length per sequence (``[len(s) for s in sequences]``).
        batch_size: number of sequences per batch.
        shuffle: True (training): shuffle before bucketing and shuffle the batch order,
            differently each epoch. False (evaluation): batches of increasing length,
            the same every epoch.
        seed: the random seed; with ``set_epoch(e)`` the order is a function of
            ``(seed, e)`` only.
        drop_last: drop the one batch smaller than ``batch_size`` (if any).
        pool: sort within pools of ``pool * batch_size`` shuffled sequences (default 50).
            Larger pools waste less padding, smaller pools mix batches more across
            epochs. ``pool=None`` sorts the whole data set at once.

    Yields lists of indices, ``len(sampler)`` batches per epoch. Iterating again starts
    the next epoch; ``set_epoch(e)`` chooses the epoch explicitly (as in
    ``DistributedSampler``), which makes an interrupted run resumable.

        >>> s = BucketBatchSampler([5, 1, 4, 2, 3, 6], batch_size=2, shuffle=False)
        >>> list(s)
        [[1, 3], [4, 2], [0, 5]]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False, pool: Optional[int] = 50):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(
                f"BucketBatchSampler: batch_size must be a positive integer, got "
                f"{batch_size!r}. Pass e.g. batch_size=32."
            )
        if pool is not None and (isinstance(pool, bool) or not isinstance(pool, int)
                                 or pool <= 0):
            raise ValueError(
                f"BucketBatchSampler: pool must be a positive integer (batches per sorting "
                f"pool) or None (sort everything), got {pool!r}."
            )
        self.lengths = _lengths_array(lengths)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.pool = pool
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration the order of epoch ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batches(self, epoch: Optional[int] = None) -> list[list[int]]:
        """The batches of ``epoch`` (default: the current one) without advancing it."""
        epoch = self.epoch if epoch is None else int(epoch)
        n, bs = len(self.lengths), self.batch_size
        if not self.shuffle:
            # Stable sort: equal lengths keep their original order.
            order = np.argsort(self.lengths, kind="stable")
            out = [order[i:i + bs].tolist() for i in range(0, n, bs)]
        else:
            rng = np.random.default_rng([self.seed, epoch])
            perm = rng.permutation(n)
            pool_n = n if self.pool is None else self.pool * bs
            out = []
            for start in range(0, n, max(pool_n, 1)):
                chunk = perm[start:start + pool_n]
                # Sorting a shuffled chunk stably keeps ties in random order.
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                out.extend(chunk[i:i + bs].tolist() for i in range(0, len(chunk), bs))
            # Only the last pool can end with a short batch (pools are whole batches).
            if out and len(out[-1]) < bs and self.drop_last:
                out.pop()
            order = rng.permutation(len(out))
            out = [out[i] for i in order]
            return out
        if out and len(out[-1]) < bs and self.drop_last:
            out.pop()
        return out

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches()
        self.epoch += 1  # iterating again gives the next epoch's order
        return iter(batches)


def lengths_to_mask(lengths: torch.Tensor, max_len: Optional[int] = None,
                    padding: str = "post") -> torch.Tensor:
    """(B,) lengths -> (B, T) bool mask, True on real steps.

        >>> lengths_to_mask(torch.tensor([2, 3])).tolist()
        [[True, True, False], [True, True, True]]
    """
    lengths = torch.as_tensor(lengths)
    t = int(lengths.max()) if max_len is None and lengths.numel() else (max_len or 0)
    steps = torch.arange(t, device=lengths.device)  # (T,)
    if padding == "pre":
        return steps[None, :] >= (t - lengths)[:, None]  # (B, T)
    return steps[None, :] < lengths[:, None]  # (B, T)


def pad_batch(seqs: Sequence[Any], padding: str = "post", value: float = 0,
              dtype: Optional[torch.dtype] = None,
              min_length: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch of sequences to the longest member of *this* batch.

    The one padding helper of seqlab's training code: a list of variable-length
    sequences -> a padded tensor and the true lengths (``lengths_to_mask`` turns them
    into the (B, T) mask). ``seqlab.data.pad_sequences`` is Keras's fixed-length,
    numpy counterpart.

    Args:
        seqs: B sequences; each a tensor, array or list of shape (T_i, ...) where the
            trailing dimensions ``...`` are the same for all.
        padding: "post" (pad after the sequence, the default) or "pre".
        value: the padding value.
        dtype: the result's dtype; default: that of the first sequence
            (``torch.as_tensor``'s choice for lists).
        min_length: pad to at least this many steps (1 keeps a batch of empty
            sequences a (B, 1) input that a model can run on).

    Returns:
        ``(padded, lengths)``: padded of shape (B, max(T_max, min_length), ...) and
        lengths (B,) int64.

        >>> x, n = pad_batch([[1, 2, 3], [4]])
        >>> x.tolist(), n.tolist()
        ([[1, 2, 3], [4, 0, 0]], [3, 1])
        >>> pad_batch([[], []], dtype=torch.long, min_length=1)[0].tolist()
        [[0], [0]]
    """
    if padding not in ("post", "pre"):
        raise ValueError(f"pad_batch: padding must be 'post' or 'pre', got {padding!r}.")
    if len(seqs) == 0:
        raise ValueError("pad_batch: got an empty batch (no sequences). Pass >= 1 sequence.")
    tensors = [s if isinstance(s, torch.Tensor) else torch.as_tensor(np.asarray(s))
               for s in seqs]
    # The first non-empty sequence fixes the dtype and the feature shape; an empty
    # list ``[]`` is read as a sequence of 0 steps of that shape.
    ref = next((t for t in tensors if t.numel()), tensors[0])
    if dtype is None:
        dtype = ref.dtype
    trailing = tuple(ref.shape[1:])
    tensors = [t.reshape(0, *trailing) if t.numel() == 0 and t.dim() == 1 else t
               for t in tensors]
    for i, t in enumerate(tensors):
        if t.dim() == 0:
            raise ValueError(
                f"pad_batch: sequence {i} is a scalar; each sequence must have a time "
                f"axis, shape (T, ...). Wrap single values in a list."
            )
        if tuple(t.shape[1:]) != trailing:
            raise ValueError(
                f"pad_batch: sequence {i} has steps of shape {tuple(t.shape[1:])}, sequence "
                f"0 has {trailing}; all steps must have the same feature shape."
            )
    lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.int64)  # (B,)
    # torch's pad_sequence copies all rows in one call (~2-3x faster than a row loop).
    out = torch.nn.utils.rnn.pad_sequence(
        [t.to(device=ref.device, dtype=dtype) for t in tensors], batch_first=True,
        padding_value=value, padding_side="right" if padding == "post" else "left",
    )  # (B, T_max, ...)
    if out.shape[1] < min_length:
        extra = out.new_full((out.shape[0], min_length - out.shape[1], *out.shape[2:]), value)
        out = torch.cat([out, extra] if padding == "post" else [extra, out], 1)  # (B, T, ...)
    return out, lengths


def collate_padded(batch: Sequence[tuple[Any, Any]]) -> tuple[torch.Tensor, Any]:
    """``collate_fn`` for a ``DataLoader`` whose items are ``(seq, target)``.

    Pads the sequences to the batch's longest (post-padding with 0) and attaches the
    (B, T) mask (True = real step) to the padded input; read it with
    ``seqlab.layers.base.get_mask(x)``. Targets of equal shape are stacked; targets that
    are themselves sequences of different lengths (tagging) are post-padded with 0.
    The mask lives on the tensor object: ``x.to(device)`` returns a new tensor without
    it (re-attach with ``attach_mask(x.to(device), get_mask(x).to(device))``), and
    worker processes (``num_workers > 0``) drop it.

    Returns:
        ``(x, y)``: x (B, T_max, ...) with its mask attached, y (B, ...).

        >>> from seqlab.layers.base import get_mask
        >>> x, y = collate_padded([([5, 6, 7], 1), ([8], 0)])
        >>> x.tolist(), y.tolist(), get_mask(x).tolist()
        ([[5, 6, 7], [8, 0, 0]], [1, 0], [[True, True, True], [True, False, False]])
    """
    if len(batch) == 0:
        raise ValueError("collate_padded: got an empty batch.")
    try:
        seqs, targets = zip(*batch)
    except (TypeError, ValueError):
        raise ValueError(
            f"collate_padded: each item must be a (sequence, target) pair, got "
            f"{type(batch[0]).__name__} {batch[0]!r:.80}. For inputs alone use pad_batch."
        ) from None
    x, lengths = pad_batch(seqs)  # (B, T_max, ...), (B,)
    attach_mask(x, lengths_to_mask(lengths, x.shape[1]).to(x.device))
    ys = [t if isinstance(t, torch.Tensor) else torch.as_tensor(np.asarray(t))
          for t in targets]
    if all(t.shape == ys[0].shape for t in ys):
        y = torch.stack(ys)  # (B, ...)
    else:
        y, _ = pad_batch(ys)  # (B, T_max, ...)
    return x, y


def padded_tokens(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> int:
    """Padding steps spent when each batch is padded to its own longest member.

        >>> padded_tokens([1, 3, 2, 2], [[0, 1], [2, 3]])
        2
    """
    lengths = np.asarray(lengths)
    return int(sum(len(b) * lengths[b].max() - lengths[b].sum() for b in batches if len(b)))
