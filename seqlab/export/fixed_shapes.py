"""Layers that compute a shape from their input at every call, in a form a graph keeps
constant: the ONNX tracer would record that arithmetic for the example's length (wrong for
other lengths), torch.export as Python math it cannot save, or a negative axis ONNX rejects.

Shapes: B batch, T time, C channels / features.
"""
from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import ExportError
from seqlab.layers.base import attach_mask, get_mask


class ExportedLayerNorm(nn.Module):
    """A ``LayerNormalization`` over trailing axes whose normalised shape is a constant of
    the graph (the layer reads it from the input, which a tracer records as dynamic)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x, mask=None):
        lay = self.layer
        shape = tuple(int(x.shape[a]) for a in lay._norm_axes)            # feature sizes
        return torch.nn.functional.layer_norm(x, shape, lay.gamma, lay.beta, lay.epsilon)


class ExportedConv(nn.Module):
    """A ``Conv1D`` / ``Conv2D`` whose padding is a constant of the graph. At stride 1 the
    padding does not depend on the length, but the layer computes it from the input's
    shape, which the ONNX tracer records as arithmetic that breaks for other lengths and
    torch.export as a ``math.ceil`` it cannot save."""

    def __init__(self, layer: nn.Module, dynamic_time: bool = True):
        super().__init__()
        if dynamic_time and layer.padding != "valid" and any(s != 1 for s in layer.strides):
            raise ExportError(f"{type(layer).__name__} {layer.name}: padding={layer.padding!r} "
                              f"with strides={layer.strides} pads by the input's length, "
                              f"which a graph with a dynamic time axis cannot; use "
                              f"strides=1 or padding='valid', or export with "
                              f"dynamic_time=False.")
        self.layer, self.dynamic_time = layer, dynamic_time

    def forward(self, x, mask=None):
        from seqlab.layers.conv import _torch_pad
        lay = self.layer
        rank = x.dim() - 2
        # at stride 1 the pads are the same for any length (1 here); else the length is fixed
        spatial = (1,) * rank if self.dynamic_time else tuple(int(n) for n in x.shape[1:-1])
        x = x.permute(0, rank + 1, *range(1, rank + 1))                    # channels first
        x = torch.nn.functional.pad(x, _torch_pad(spatial, lay.kernel_size, lay.strides,
                                                  lay.dilation_rate, lay.padding))
        weight = lay.kernel.permute(rank + 1, rank, *range(rank))          # (F, C, *k)
        conv = torch.nn.functional.conv1d if rank == 1 else torch.nn.functional.conv2d
        y = conv(x, weight, lay.bias, stride=lay.strides, dilation=lay.dilation_rate)
        return lay.activation(y.permute(0, *range(2, rank + 2), 1))        # channels last


class ExportedBatchNorm(nn.Module):
    """A ``BatchNormalization`` at inference (moving statistics), with the feature axis
    moved by a non-negative index (a tracer writes ``movedim(ax, -1)`` as a transpose with
    a negative index, which ONNX rejects)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x, mask=None, training=None):
        lay = self.layer
        ax, last = lay._feature_axis % x.dim(), x.dim() - 1
        xc = x.movedim(ax, last)                                           # (..., C)
        y = (xc - lay.moving_mean) * torch.rsqrt(lay.moving_variance + lay.epsilon)
        if lay.gamma is not None:
            y = y * lay.gamma
        if lay.beta is not None:
            y = y + lay.beta
        return attach_mask(y.movedim(last, ax), get_mask(x, mask))


__all__ = ["ExportedConv", "ExportedLayerNorm", "ExportedBatchNorm"]
