"""Keras's merge layers: combine a list of tensors into one (Functional API graphs).

* ``Concatenate(axis=-1)``: join along ``axis``;
* ``Add()`` / ``Multiply()``: element-wise sum / product of same-shaped tensors;
* ``Dot(axes, normalize=False)``: batched dot product along ``axes`` (cosine when
  ``normalize``), as Keras's ``Dot`` for rank-2 and rank-3 inputs.

A padding mask on the inputs survives a merge when the time axis does (the first
masked input's, as a logical AND with the others').

    >>> import torch
    >>> a, b = torch.ones(2, 3), 2 * torch.ones(2, 4)
    >>> Concatenate()([a, b]).shape, Add()([a, a]).sum().item()
    (torch.Size([2, 7]), 12.0)
    >>> Dot(axes=1)([a, a]).tolist()
    [[3.0], [3.0]]
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from seqlab.layers.base import Layer, Shape, get_mask


def _check_list(layer: Layer, inputs) -> list:
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise ValueError(f"{layer.name} ({type(layer).__name__}) merges a list of at least 2 "
                         f"tensors, got {type(inputs).__name__}. Call it as "
                         f"{type(layer).__name__}()([a, b]).")
    return list(inputs)


class _Merge(Layer):
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        masks = [get_mask(t) for t in inputs] if isinstance(inputs, (list, tuple)) else []
        masks = [m for m in masks if m is not None]
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            if m.shape == out.shape:
                out = out & m
        return out


class Concatenate(_Merge):
    """Join a list of tensors along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def forward(self, inputs):
        return torch.cat(_check_list(self, inputs), dim=self.axis)

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        shape = list(input_shape[0])
        sizes = [s[self.axis] for s in input_shape]
        shape[self.axis] = None if None in sizes else sum(sizes)
        return tuple(shape)


class Add(_Merge):
    """Element-wise sum of same-shaped tensors."""

    def forward(self, inputs):
        inputs = _check_list(self, inputs)
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


class Multiply(Add):
    """Element-wise product of same-shaped tensors."""

    def forward(self, inputs):
        inputs = _check_list(self, inputs)
        out = inputs[0]
        for t in inputs[1:]:
            out = out * t
        return out


class Dot(Layer):
    """Batched dot product of two tensors along ``axes`` (an int or a pair, batch excluded
    from counting as Keras: axis 1 is the first after the batch); ``normalize`` makes it
    the cosine similarity. (B, D)·(B, D) -> (B, 1); (B, T, D)·(B, S, D) with axes=2 ->
    (B, T, S)."""

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axes = [int(axes), int(axes)] if isinstance(axes, int) else [int(a) for a in axes]
        self.normalize = bool(normalize)

    def forward(self, inputs):
        a, b = _check_list(self, inputs)[:2]
        ax = [x if x >= 0 else t.dim() + x for x, t in zip(self.axes, (a, b))]
        if self.normalize:
            a, b = F.normalize(a, dim=ax[0]), F.normalize(b, dim=ax[1])
        if a.dim() == 2 and b.dim() == 2:
            return (a * b).sum(dim=1, keepdim=True)  # (B, 1)
        a = a.movedim(ax[0], -1)  # (B, ..., D)
        b = b.movedim(ax[1], 1)   # (B, D, ...)
        return torch.matmul(a, b)


__all__ = ["Concatenate", "Add", "Multiply", "Dot"]
