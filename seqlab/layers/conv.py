"""Convolution and pooling layers (seed 003, chapter 2: "couche de convolution, couche de
pooling, couche de correction ReLU, couche fully-connected").

A convolution slides a small kernel over the input and, at each position, sums the
products of the kernel with the values under it; pooling slides a window and keeps the
maximum (or the mean) of each cell. Inputs are channels-last, as in Keras:

    Conv1D, pooling 1D:  (B, T, C)      time series, token vectors
    Conv2D, pooling 2D:  (B, H, W, C)   images

Kernels are stored in Keras's layout, ``(k, C, F)`` and ``(kh, kw, C, F)``, so
``get_weights()`` / ``set_weights()`` exchange arrays with Keras unchanged; ``forward``
permutes them to torch's ``(F, C, k...)`` and calls ``torch.nn.functional.conv1d/2d``.

Padding (per spatial axis, input length L, kernel k, stride s, dilation d):

* ``"valid"``: no padding, output ``floor((L - d(k-1) - 1) / s) + 1``.
* ``"same"``: output ``ceil(L / s)``; the zeros needed are split as Keras/TensorFlow
  split them (the extra one on the right/bottom).
* ``"causal"`` (Conv1D only): ``d(k-1)`` zeros on the left, so output step t only sees
  inputs up to t (WaveNet-style); output ``ceil(L / s)``.

Shape letters: B batch, T time, H/W image height/width, C input channels, F filters.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from seqlab import activations
from seqlab.layers import initializers
from seqlab.layers.base import Layer, Shape, check_positive_int, get_mask

IntOrTuple = Union[int, Sequence[int]]


# --------------------------------------------------------------------------- helpers
def _tuple(layer: str, arg: str, value, n: int, example: str) -> tuple:
    """``value`` as a tuple of n positive ints (an int is repeated n times)."""
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or len(items) != n:
        raise ValueError(f"{layer}: {arg} must be an int or a tuple of {n} ints, got "
                         f"{value!r}. Pass e.g. {arg}={example}.")
    return tuple(check_positive_int(layer, arg, v) for v in items)


def _check_padding(layer: str, padding, allowed: tuple) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {padding!r}. "
                         f"Use padding='same' to keep the length, 'valid' for no padding.")
    return padding.lower()


def _check_data_format(layer: str, data_format, rank: int) -> str:
    """Only Keras's default layout, channels last, is supported."""
    if data_format in (None, "channels_last"):
        return "channels_last"
    order = "(0, 2, 1)" if rank == 1 else "(0, 2, 3, 1)"
    raise ValueError(f"{layer}: data_format must be 'channels_last' (Keras's default), got "
                     f"{data_format!r}. Move the channels last with x.permute{order}.")


def _out_len(length: Optional[int], k: int, s: int, d: int, padding: str) -> Optional[int]:
    """Output length of one spatial axis (None stays None)."""
    if length is None:
        return None
    if padding == "valid":
        return (length - d * (k - 1) - 1) // s + 1
    return math.ceil(length / s)  # "same" and "causal"


def _pads(length: int, k: int, s: int, d: int, padding: str) -> tuple[int, int]:
    """(left, right) zeros for one axis, as Keras/TensorFlow place them."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return d * (k - 1), 0
    total = max((math.ceil(length / s) - 1) * s + d * (k - 1) + 1 - length, 0)
    return total // 2, total - total // 2


def _torch_pad(spatial: Sequence[int], ks, ss, ds, padding: str) -> list[int]:
    """Argument for ``F.pad`` on a channels-first tensor: last axis first."""
    pads: list[int] = []
    for length, k, s, d in reversed(list(zip(spatial, ks, ss, ds))):
        pads.extend(_pads(length, k, s, d, padding))
    return pads


def _check_rank(layer: "Layer", x: torch.Tensor, rank: int, layout: str) -> None:
    if x.dim() != rank:
        raise ValueError(f"{layer.name} ({type(layer).__name__}): expected a {rank}-D input "
                         f"{layout}, got shape {tuple(x.shape)}. Channels go last; add a "
                         f"channel axis with x.unsqueeze(-1) if you have a single channel.")


def _check_long_enough(layer: "Layer", spatial: Sequence[int], out: Sequence[int]) -> None:
    if any(o is not None and o <= 0 for o in out):
        raise ValueError(f"{layer.name} ({type(layer).__name__}): input of spatial size "
                         f"{tuple(spatial)} is too small for this window with "
                         f"padding='valid' (output size {tuple(out)}). Use padding='same' "
                         f"or a smaller kernel/pool size.")


# --------------------------------------------------------------------------- convolutions
class _Conv(Layer):
    """Shared code of Conv1D and Conv2D (``rank`` spatial axes)."""

    rank = 1
    paddings: tuple = ("valid", "same")
    layout = "(B, T, C)"

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", dilation_rate: IntOrTuple = 1,
                 activation: Union[None, str] = None, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 data_format: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name}"
        ex = "3" if self.rank == 1 else "(3, 3)"
        self.filters = check_positive_int(who, "filters", filters)
        self.kernel_size = _tuple(who, "kernel_size", kernel_size, self.rank, ex)
        self.strides = _tuple(who, "strides", strides, self.rank, ex.replace("3", "1"))
        self.dilation_rate = _tuple(who, "dilation_rate", dilation_rate, self.rank,
                                    ex.replace("3", "1"))
        self.padding = _check_padding(who, padding, self.paddings)
        self.data_format = _check_data_format(who, data_format, self.rank)
        self.activation = activations.get(activation, who)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != self.rank + 2 or input_shape[-1] is None:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected a "
                             f"{self.rank + 2}-D input {self.layout} with a known channel "
                             f"axis C, got shape {tuple(input_shape)}. Channels go last; add "
                             f"a channel axis with x.unsqueeze(-1) for a single channel.")
        channels = input_shape[-1]
        # Keras layout: (*kernel_size, C, F); fans include the receptive field.
        self.kernel = nn.Parameter(
            self.kernel_initializer(self.kernel_size + (channels, self.filters)))
        self.bias = nn.Parameter(self.bias_initializer((self.filters,))) if self.use_bias else None

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``mask`` is accepted and dropped, as Keras's convolutions do."""
        _check_rank(self, x, self.rank + 2, self.layout)
        if not x.is_floating_point():
            x = x.to(self.kernel.dtype)  # integer pixels, booleans: cast as Keras does
        if x.shape[-1] != self.kernel.shape[-2]:
            raise ValueError(f"{self.name} ({type(self).__name__}): built for "
                             f"{self.kernel.shape[-2]} input channels, got an input with "
                             f"{x.shape[-1]} (shape {tuple(x.shape)}). Channels go last.")
        spatial = tuple(x.shape[1:-1])
        _check_long_enough(self, spatial, self.compute_output_shape(x.shape)[1:-1])
        perm = (0, self.rank + 1) + tuple(range(1, self.rank + 1))
        x = x.permute(*perm)  # channels first: (B, C, T) or (B, C, H, W)
        x = F.pad(x, _torch_pad(spatial, self.kernel_size, self.strides, self.dilation_rate,
                                self.padding))
        # (*k, C, F) -> (F, C, *k): torch's weight layout
        weight = self.kernel.permute(self.rank + 1, self.rank, *range(self.rank))
        conv = F.conv1d if self.rank == 1 else F.conv2d
        # y[b, t, f] = bias[f] + Σ_i Σ_c x_padded[b, t·s + i·d, c] · kernel[i, c, f]
        # (Conv2D: the same sum over both kernel axes i, j)
        y = conv(x, weight, self.bias, stride=self.strides, dilation=self.dilation_rate)
        back = (0,) + tuple(range(2, self.rank + 2)) + (1,)
        return self.activation(y.permute(*back))  # channels last: (B, T', F) / (B, H', W', F)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = tuple(
            _out_len(n, k, s, d, self.padding)
            for n, k, s, d in zip(input_shape[1:-1], self.kernel_size, self.strides,
                                  self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)


class Conv1D(_Conv):
    """1-D convolution over time: (B, T, C) -> (B, T', F).

    Args:
        filters: number of kernels F (output channels).
        kernel_size: window length k.
        strides: step between windows (default 1).
        padding: ``"valid"`` (default), ``"same"`` (T' = ceil(T / strides)) or
            ``"causal"`` (left zeros only: output t sees inputs <= t).
        dilation_rate: gap between kernel taps (receptive field d(k-1)+1).
        activation: name (``"relu"``...) or None for linear.
        use_bias: add one bias per filter.
        kernel_initializer, bias_initializer: names or constants (Keras defaults).
        data_format: ``"channels_last"`` (the default, and the only layout supported).

    Weights: ``kernel`` (k, C, F) and ``bias`` (F,), Keras's layout;
    ``k*C*F + F`` parameters.

    >>> conv = Conv1D(8, 3, padding="causal", dilation_rate=2)
    >>> conv(torch.zeros(2, 10, 4)).shape
    torch.Size([2, 10, 8])
    >>> conv.count_params()
    104
    """

    rank = 1
    paddings = ("valid", "same", "causal")
    layout = "(B, T, C)"


class Conv2D(_Conv):
    """2-D convolution over images: (B, H, W, C) -> (B, H', W', F).

    Args:
        filters: number of kernels F.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw), default (1, 1).
        padding: ``"valid"`` (default) or ``"same"`` (H' = ceil(H / sh)).
        dilation_rate: int or (dh, dw), default (1, 1).
        activation, use_bias, kernel_initializer, bias_initializer: as Conv1D.

    Weights: ``kernel`` (kh, kw, C, F) and ``bias`` (F,); ``kh*kw*C*F + F`` parameters.

    >>> conv = Conv2D(16, (3, 3), activation="relu")
    >>> conv(torch.zeros(2, 8, 8, 1)).shape
    torch.Size([2, 6, 6, 16])
    >>> conv.count_params()
    160
    """

    rank = 2
    paddings = ("valid", "same")
    layout = "(B, H, W, C)"

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: str = "valid", dilation_rate: IntOrTuple = (1, 1),
                 activation: Union[None, str] = None, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 data_format: Optional[str] = None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, activation,
                         use_bias, kernel_initializer, bias_initializer, data_format, **kwargs)


# --------------------------------------------------------------------------- pooling
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
        self.data_format = _check_data_format(who, data_format, self.rank)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        _check_rank(self, x, self.rank + 2, self.layout)
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
        spatial = tuple(_out_len(n, k, s, 1, self.padding)
                        for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides))
        return (input_shape[0],) + spatial + (input_shape[-1],)


class MaxPooling1D(_Pooling):
    """Keeps the maximum of each window over time: (B, T, C) -> (B, T', C).

    Args:
        pool_size: window length (default 2).
        strides: step between windows; None (default) = pool_size.
        padding: ``"valid"`` (T' = floor((T - pool) / strides) + 1) or ``"same"``
            (T' = ceil(T / strides)).

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
        self.data_format = _check_data_format(f"{type(self).__name__} {self.name}",
                                              data_format, self.rank)
        self.keepdims = bool(keepdims)

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, self.rank + 1))
        if self.mode == "max":
            return x.amax(dim=dims, keepdim=self.keepdims)
        return x.mean(dim=dims, keepdim=self.keepdims)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        _check_rank(self, x, self.rank + 2, self.layout)
        return self._reduce(x)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])


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
        _check_rank(self, x, 3, self.layout)
        mask = get_mask(x, mask)
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


__all__ = ["Conv1D", "Conv2D", "MaxPooling1D", "AveragePooling1D", "MaxPooling2D",
           "AveragePooling2D", "GlobalMaxPooling1D", "GlobalAveragePooling1D",
           "GlobalMaxPooling2D", "GlobalAveragePooling2D"]
