"""Convolution layers (seed 003, chapter 2: "couche de convolution, couche de pooling,
couche de correction ReLU, couche fully-connected"); pooling is in pooling.py.

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
from seqlab.layers.base import Layer, Shape, check_positive_int

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
                 data_format: Optional[str] = None, groups: int = 1, kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name}"
        self.groups = check_positive_int(who, "groups", groups)
        if filters % self.groups if isinstance(filters, int) else False:
            raise ValueError(f"{who}: filters ({filters}) must be divisible by groups "
                             f"({groups}). Pick groups dividing both filters and channels.")
        self.regularize("kernel", kernel_regularizer, kernel_constraint)
        self.regularize("bias", bias_regularizer, bias_constraint)
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
        if channels % self.groups:
            raise ValueError(f"{self.name} ({type(self).__name__}): the input's {channels} "
                             f"channels must be divisible by groups={self.groups}. Pick "
                             f"groups dividing both filters and channels.")
        # Keras layout: (*kernel_size, C / groups, F); fans include the receptive field.
        self.kernel = nn.Parameter(
            self.kernel_initializer(self.kernel_size + (channels // self.groups, self.filters)))
        self.bias = nn.Parameter(self.bias_initializer((self.filters,))) if self.use_bias else None

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``mask`` is accepted and dropped, as Keras's convolutions do."""
        _check_rank(self, x, self.rank + 2, self.layout)
        if not x.is_floating_point():
            x = x.to(self.kernel.dtype)  # integer pixels, booleans: cast as Keras does
        if x.shape[-1] != self.kernel.shape[-2] * self.groups:
            raise ValueError(f"{self.name} ({type(self).__name__}): built for "
                             f"{self.kernel.shape[-2] * self.groups} input channels, got an input with "
                             f"{x.shape[-1]} (shape {tuple(x.shape)}). Channels go last.")
        spatial = tuple(x.shape[1:-1])
        _check_long_enough(self, spatial, self.compute_output_shape(x.shape)[1:-1])
        perm = (0, self.rank + 1) + tuple(range(1, self.rank + 1))
        x = x.permute(*perm)  # channels first: (B, C, T) or (B, C, H, W)
        x = F.pad(x, _torch_pad(spatial, self.kernel_size, self.strides, self.dilation_rate,
                                self.padding))
        # (*k, C/g, F) -> (F, C/g, *k): torch's weight layout
        weight = self.kernel.permute(self.rank + 1, self.rank, *range(self.rank))
        conv = F.conv1d if self.rank == 1 else F.conv2d
        # y[b, t, f] = bias[f] + Σ_i Σ_c x_padded[b, t·s + i·d, c] · kernel[i, c, f]
        # (Conv2D: the same sum over both kernel axes i, j; with groups g, filter f sees
        # only the channels of its group, c in group(f) = f // (F/g))
        y = conv(x, weight, self.bias, stride=self.strides, dilation=self.dilation_rate,
                 groups=self.groups)
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
        groups: split channels and filters into this many groups, each filter seeing the
            C / groups channels of its group (Keras's grouped convolution).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties
            (``seqlab.keras.regularizers``); kernel_constraint, bias_constraint: projections
            (``seqlab.keras.constraints``).

    Weights: ``kernel`` (k, C / groups, F) and ``bias`` (F,), Keras's layout;
    ``k*C*F / groups + F`` parameters.

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
                 data_format: Optional[str] = None, groups: int = 1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, activation,
                         use_bias, kernel_initializer, bias_initializer, data_format, groups,
                         **kwargs)


__all__ = ["Conv1D", "Conv2D"]
