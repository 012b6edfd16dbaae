"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, RepeatVector, TimeDistributed.

Shapes in comments: B batch, T time, D input features, U units.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from seqlab import activations
from seqlab.layers import initializers
from seqlab.layers.base import (Layer, Shape, accepts_mask, attach_mask, check_positive_int, check_rate,
                                get_mask)


class Dense(Layer):
    """Fully-connected layer: ``y = activation(x @ kernel + bias)`` on the last axis.

    Args:
        units: output size U (>= 1).
        activation: name (see ``seqlab.activations``) or callable; None = linear.
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: names or objects (Keras defaults).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to
            ``layer.losses`` (``seqlab.keras.regularizers``); kernel_constraint,
            bias_constraint: projections applied after each optimizer step.
        dtype: the weights' dtype ("float32"...); float inputs are cast to it.

    The kernel is stored as Keras stores it, (D, U), so ``get_weights()`` and
    ``set_weights()`` exchange arrays with Keras unchanged.

    >>> layer = Dense(4, activation="relu")
    >>> layer(torch.zeros(2, 3)).shape
    torch.Size([2, 4])
    """

    supports_masking = True

    def __init__(self, units: int, activation: Union[None, str] = None, use_bias: bool = True,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int(f"Dense {self.name}", "units", units)
        self.regularize("kernel", kernel_regularizer, kernel_constraint)
        self.regularize("bias", bias_regularizer, bias_constraint)
        self.activation = activations.get(activation, f"Dense {self.name}")
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: Shape) -> None:
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(f"{self.name} (Dense): the last input dimension must be known, "
                             f"got input shape {input_shape}.")
        self.kernel = nn.Parameter(self.kernel_initializer((in_features, self.units)))  # (D, U)
        self.bias = nn.Parameter(self.bias_initializer((self.units,))) if self.use_bias else None

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self.name} (Dense): built for {self.kernel.shape[0]} input "
                             f"features, got input of shape {tuple(x.shape)}. Feed "
                             f"(..., {self.kernel.shape[0]}) or use a new layer.")
        if not x.is_floating_point():
            x = x.to(self.kernel.dtype)  # token ids or 0/1 features, as Keras casts them
        y = torch.matmul(x, self.kernel)  # (..., D) @ (D, U) -> (..., U)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape[:-1]) + (self.units,)


class Activation(Layer):
    """Applies an activation function by name: ``Activation("tanh")``."""

    supports_masking = True

    def __init__(self, activation: str, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation, f"Activation {self.name}")

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.activation(x)


class Dropout(Layer):
    """Sets a fraction ``rate`` of inputs to zero during training, scales the rest by
    1 / (1 - rate). Identity at inference (``model.eval()``).

    ``seed``: the masks come from a generator of the layer's own, seeded once and advancing
    at each call (Keras's seed generator), so a run repeats. ``noise_shape`` is accepted for
    Keras and ignored (one independent draw per value)."""

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(f"Dropout {self.name}", "rate", rate)
        self.seed = seed
        self._generators: dict = {}  # device -> torch.Generator

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.seed is None or not self.training or self.rate == 0:
            return nn.functional.dropout(x, self.rate, self.training)
        gen = self._generators.setdefault(
            str(x.device), torch.Generator(device=x.device).manual_seed(int(self.seed)))
        keep = torch.full_like(x, 1 - self.rate)
        return x * torch.bernoulli(keep, generator=gen) / (1 - self.rate)


class Flatten(Layer):
    """Flattens all axes but the batch: (B, d1, d2, ...) -> (B, d1*d2*...)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else int(np.prod(rest)))


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (batch excluded; one -1 allowed)."""

    def __init__(self, target_shape: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in self.target_shape) > 1:
            raise ValueError(f"Reshape {self.name}: at most one -1 in target_shape, "
                             f"got {self.target_shape}.")
        if any(s == 0 or s < -1 for s in self.target_shape):
            raise ValueError(f"Reshape {self.name}: target_shape entries must be positive or "
                             f"-1 (one inferred axis), got {self.target_shape}.")

    def _check_size(self, sample_shape: Shape) -> None:
        if None in sample_shape:
            return
        n = int(np.prod(sample_shape))
        known = int(np.prod([s for s in self.target_shape if s != -1]))
        if (n % known if -1 in self.target_shape else n != known):
            raise ValueError(
                f"{self.name} (Reshape): cannot reshape samples of shape {tuple(sample_shape)} "
                f"({n} values) to target_shape {self.target_shape}. Choose sizes whose "
                f"product is {n} (one of them may be -1).")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_size(tuple(x.shape[1:]))
        return x.reshape((x.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_size(tuple(input_shape[1:]))
        if -1 in self.target_shape:
            rest = input_shape[1:]
            known = -int(np.prod(self.target_shape))
            fill = None if None in rest else int(np.prod(rest)) // known
            return (input_shape[0],) + tuple(fill if s == -1 else s for s in self.target_shape)
        return (input_shape[0],) + self.target_shape


class RepeatVector(Layer):
    """Repeats a vector n times: (B, D) -> (B, n, D). The seq2seq "bridge"."""

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = check_positive_int(f"RepeatVector {self.name}", "n", n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(f"{self.name} (RepeatVector): expected input (B, D), got shape "
                             f"{tuple(x.shape)}.")
        return x.unsqueeze(1).expand(-1, self.n, -1)  # (B, n, D)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.n, input_shape[1])


class Wrapper(Layer):
    """Base class of layers that wrap another layer (Keras's ``layers.Wrapper``):
    ``TimeDistributed``, ``Bidirectional``. ``wrapper.layer`` is the wrapped layer."""

    def __init__(self, layer: nn.Module, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, nn.Module):
            raise TypeError(f"{type(self).__name__} {self.name}: expected a layer, got "
                            f"{layer!r}.")
        self.layer = layer

    def build(self, input_shape: Shape) -> None:
        if isinstance(self.layer, Layer):
            self.layer.build_once(input_shape)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every time step: (B, T, ...) -> (B, T, ...').

    Masks, as Keras: a mask (B, T, ...) (given or attached to the input) must match the
    input's first two axes; the output carries the same mask. An inner layer whose
    ``forward`` (or ``call``) takes ``mask`` receives it folded like the input, (B*T, ...):
    each step's mask, as Keras passes it. (A (B, T) mask is not passed to an inner layer
    that has its own time axis, (B, T, T', D) inputs: it would need a (B*T, T') mask.)

    >>> td = TimeDistributed(Dense(3))
    >>> td(torch.zeros(2, 5, 4)).shape
    torch.Size([2, 5, 3])
    """

    supports_masking = True

    def build(self, input_shape: Shape) -> None:
        if isinstance(self.layer, Layer):
            self.layer.build_once((input_shape[0],) + tuple(input_shape[2:]))

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        mask = get_mask(x, mask)
        B, T = x.shape[:2]
        kwargs = {}
        if mask is not None:
            if mask.dim() < 2 or tuple(mask.shape[:2]) != (B, T):
                raise ValueError(f"{self.name} (TimeDistributed): the mask must have shape "
                                 f"(B, T, ...) = ({B}, {T}, ...) like the input's first two "
                                 f"axes, got {tuple(mask.shape)} for an input of shape "
                                 f"{tuple(x.shape)}.")
            if accepts_mask(self.layer) and (mask.dim() > 2 or x.dim() == 3):
                kwargs["mask"] = mask.reshape((B * T,) + tuple(mask.shape[2:]))
        y = self.layer(x.reshape((B * T,) + tuple(x.shape[2:])), **kwargs)  # (B*T, ...)
        return attach_mask(y.reshape((B, T) + tuple(y.shape[1:])), mask)  # (B, T, ...')

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        inner = self.layer.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        return (inner[0], input_shape[1]) + tuple(inner[1:])


__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "RepeatVector",
           "TimeDistributed", "Wrapper"]
