"""Pooling layers (seed 003, chapter 2: "la couche de pooling"): a window slides over the
input and keeps the maximum (or the mean) of each cell; global pooling keeps one value per
channel for the whole sequence or image. Channels-last inputs, as in Keras:

    1D:  (B, T, C)      2D:  (B, H, W, C)

``pool_size`` is the window, ``strides`` defaults to it, ``padding`` is "valid" or "same"
(the window arithmetic is the convolutions', see conv.py). ``GlobalAveragePooling1D``
honours a (B, T) padding mask, as Keras does. ``data_format="channels_first"`` takes
(B, C, T) / (B, C, H, W) inputs (and gives outputs in the same layout), as Keras.

Shape letters: B batch, T time, H/W image height/width, C channels.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

from seqlab.layers.base import Layer, Shape, get_mask
from seqlab.layers.conv import (IntOrTuple, _check_long_enough, _check_padding, _check_rank,
                                _out_len, _torch_pad, _tuple)

FORMATS = ("channels_last", "channels_first")


def _check_format(layer: str, data_format) -> str:
    """Pooling reads either layout (Keras's ``data_format``)."""
    if data_format is None:
        return "channels_last"
    if data_format not in FORMATS:
        raise ValueError(f"{layer}: data_format must be 'channels_last' (the default: "
                         f"(B, T, C)) or 'channels_first' ((B, C, T)), got {data_format!r}.")
    return data_format


def _last(shape, data_format: str) -> tuple:
    """A channels-first shape in channels-last order (unchanged when already last)."""
    shape = tuple(shape)
    return shape if data_format == "channels_last" else (shape[0],) + shape[2:] + (shape[1],)


def _first(shape, data_format: str) -> tuple:
    """The inverse of ``_last``."""
    shape = tuple(shape)
    return shape if data_format == "channels_last" else (shape[0], shape[-1]) + shape[1:-1]


class _Pooling(Layer):
    """Shared code of the four windowed poolings (``rank`` spatial axes)."""

    rank = 1
    mode = "max"
    layout = "(B, T, C)"

    def __init__(self, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None,
                 padding: str = "valid", data_format: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name}"
        ex = "2" if self.rank == 1 else "(2, 2)"
        self.pool_size = _tuple(who, "pool_size", pool_size, self.rank, ex)
        self.strides = (self.pool_size if strides is None
                        else _tuple(who, "strides", strides, self.rank, ex))
        self.padding = _check_padding(who, padding, ("valid", "same"))
        self.data_format = _check_format(who, data_format)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        _check_rank(self, x, self.rank + 2, self.layout)
        if self.data_format == "channels_first":
            y = self._pool(x.movedim(1, -1))  # (B, C, T) -> (B, T, C) and back
            return y.movedim(-1, 1)
        return self._pool(x)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last pooling."""
        spatial = tuple(x.shape[1:-1])
        _check_long_enough(self, spatial, self.compute_output_shape(x.shape)[1:-1])
        perm = (0, self.rank + 1) + tuple(range(1, self.rank + 1))
        x = x.permute(*perm)  # channels first: (B, C, T) or (B, C, H, W)
        pads = _torch_pad(spatial, self.pool_size, self.strides, (1,) * self.rank,
                          self.padding)
        if self.mode == "max":
            pool = F.max_pool1d if self.rank == 1 else F.max_pool2d
            # padded cells never win the max
            y = pool(F.pad(x, pads, value=-math.inf), self.pool_size, self.strides)
        else:
            pool = F.avg_pool1d if self.rank == 1 else F.avg_pool2d
            y = pool(F.pad(x, pads), self.pool_size, self.strides)
            if any(pads):
                # Keras averages over the real cells only: divide by their share.
                ones = torch.ones((1, 1) + spatial, dtype=x.dtype, device=x.device)
                y = y / pool(F.pad(ones, pads), self.pool_size, self.strides)
        back = (0,) + tuple(range(2, self.rank + 2)) + (1,)
        return y.permute(*back)  # channels last

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        last = _last(input_shape, self.data_format)
        spatial = tuple(_out_len(n, k, s, 1, self.padding)
                        for n, k, s in zip(last[1:-1], self.pool_size, self.strides))
        return _first((last[0],) + spatial + (last[-1],), self.data_format)


class MaxPooling1D(_Pooling):
    """Keeps the maximum of each window over time: (B, T, C) -> (B, T', C).

    Args:
        pool_size: window length (default 2).
        strides: step between windows; None (default) = pool_size.
        padding: ``"valid"`` (T' = floor((T - pool) / strides) + 1) or ``"same"``
            (T' = ceil(T / strides)).
        data_format: ``"channels_last"`` (default, (B, T, C)) or ``"channels_first"``
            ((B, C, T) -> (B, C, T')).

    >>> MaxPooling1D(2)(torch.tensor([[[1.], [3.], [2.], [0.]]])).flatten().tolist()
    [3.0, 2.0]
    """

    rank, mode, layout = 1, "max", "(B, T, C)"


class AveragePooling1D(_Pooling):
    """Mean of each window over time: (B, T, C) -> (B, T', C). Arguments as MaxPooling1D.

    With ``"same"`` a window that overlaps the border averages its real cells only, as
    Keras's TensorFlow, JAX and NumPy backends do. (Keras 3 on its torch backend instead
    repeats the edge value when the padding is uneven, so it can differ there.)

    >>> AveragePooling1D(2)(torch.tensor([[[1.], [3.], [2.], [0.]]])).flatten().tolist()
    [2.0, 1.0]
    """

    rank, mode, layout = 1, "avg", "(B, T, C)"


class _Pooling2D(_Pooling):
    """2-D windows: pool_size and strides default to (2, 2)."""

    rank, layout = 2, "(B, H, W, C)"

    def __init__(self, pool_size: IntOrTuple = (2, 2), strides: Optional[IntOrTuple] = None,
                 padding: str = "valid", data_format: Optional[str] = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling2D):
    """Maximum of each window of an image: (B, H, W, C) -> (B, H', W', C).

    Args:
        pool_size: int or (ph, pw), default (2, 2).
        strides: None (= pool_size) or int or (sh, sw).
        padding: ``"valid"`` or ``"same"``.

    >>> MaxPooling2D((2, 2))(torch.zeros(1, 8, 8, 16)).shape
    torch.Size([1, 4, 4, 16])
    """

    mode = "max"


class AveragePooling2D(_Pooling2D):
    """Mean of each window of an image: (B, H, W, C) -> (B, H', W', C). Arguments as
    MaxPooling2D.

    >>> AveragePooling2D(2)(torch.ones(1, 4, 4, 3)).shape
    torch.Size([1, 2, 2, 3])
    """

    mode = "avg"


# --------------------------------------------------------------------------- global pooling
class _GlobalPooling(Layer):
    """Reduces all spatial axes: (B, T, C) or (B, H, W, C) -> (B, C)."""

    rank = 1
    mode = "max"
    layout = "(B, T, C)"

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _check_format(f"{type(self).__name__} {self.name}", data_format)
        self.keepdims = bool(keepdims)

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, self.rank + 1))
        if self.mode == "max":
            return x.amax(dim=dims, keepdim=self.keepdims)
        return x.mean(dim=dims, keepdim=self.keepdims)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        _check_rank(self, x, self.rank + 2, self.layout)
        if self.data_format == "channels_first":
            y = self._pool(x.movedim(1, -1), mask)  # (B, C, T) -> (B, T, C)
            return y.movedim(-1, 1) if self.keepdims else y
        return self._pool(x, mask)

    def _pool(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        return self._reduce(x)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        last = _last(input_shape, self.data_format)
        if self.keepdims:
            return _first((last[0],) + (1,) * self.rank + (last[-1],), self.data_format)
        return (last[0], last[-1])


class GlobalMaxPooling1D(_GlobalPooling):
    """Maximum over time: (B, T, C) -> (B, C) (``keepdims=True``: (B, 1, C)).

    Like Keras, it ignores a padding mask: put it after layers whose padded steps
    cannot win the max, or use GlobalAveragePooling1D, which honours the mask.

    >>> GlobalMaxPooling1D()(torch.tensor([[[1., 5.], [3., 2.]]])).tolist()
    [[3.0, 5.0]]
    """


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over time: (B, T, C) -> (B, C) (``keepdims=True``: (B, 1, C)).

    Call argument ``mask``: (B, T) bool, True = real step (or read from the input, as
    attached by ``Embedding(mask_zero=True)``); padded steps are left out of the mean,
    as in Keras (a row that is all padding gives 0, where Keras gives NaN).

    >>> x = torch.tensor([[[2.], [4.], [9.]]])
    >>> GlobalAveragePooling1D()(x, mask=torch.tensor([[True, True, False]])).tolist()
    [[3.0]]
    """

    mode = "avg"
    supports_masking = True

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return super().forward(x, get_mask(x, mask))

    def _pool(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        if mask is None:
            return self._reduce(x)
        if tuple(mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"{self.name} (GlobalAveragePooling1D): mask shape "
                             f"{tuple(mask.shape)} does not match the input's (B, T) = "
                             f"{tuple(x.shape[:2])}.")
        weights = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
        total = (x * weights).sum(dim=1, keepdim=self.keepdims)  # (B, C) or (B, 1, C)
        count = weights.sum(dim=1, keepdim=self.keepdims).clamp_min(1.0)  # all-padding row -> 0
        return total / count

    def compute_mask(self, inputs, mask):
        return None  # the time axis is gone


class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum over height and width: (B, H, W, C) -> (B, C).

    >>> GlobalMaxPooling2D()(torch.zeros(2, 4, 4, 3)).shape
    torch.Size([2, 3])
    """

    rank, mode, layout = 2, "max", "(B, H, W, C)"


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (B, H, W, C) -> (B, C).

    >>> GlobalAveragePooling2D()(torch.ones(2, 4, 4, 3)).tolist()[0]
    [1.0, 1.0, 1.0]
    """

    rank, mode, layout = 2, "avg", "(B, H, W, C)"


__all__ = ["MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D",
           "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling2D",
           "GlobalAveragePooling2D"]
