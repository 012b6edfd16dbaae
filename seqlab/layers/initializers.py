"""Weight initialisers by name, with Keras's defaults and fan conventions.

An initialiser is a function ``shape -> torch.Tensor``. Kernels are stored in Keras's
layout (fan_in first for a Dense kernel (D, U)); for convolution kernels the receptive
field multiplies both fans, as in Keras.

    >>> get("zeros")((2, 3)).sum().item()
    0.0
"""
from __future__ import annotations

import math
from typing import Callable, Sequence, Union

import numpy as np
import torch

Initializer = Callable[[Sequence[int]], torch.Tensor]


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))  # Keras conv kernel: (*kernel_size, D, U)
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape):
    return torch.zeros(tuple(shape))


def ones(shape):
    return torch.ones(tuple(shape))


def glorot_uniform(shape):
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(tuple(shape)).uniform_(-limit, limit)


def glorot_normal(shape):
    fan_in, fan_out = _fans(shape)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return torch.nn.init.trunc_normal_(torch.empty(tuple(shape)), std=std, a=-2 * std, b=2 * std)


def he_uniform(shape):
    fan_in, _ = _fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return torch.empty(tuple(shape)).uniform_(-limit, limit)


def he_normal(shape):
    fan_in, _ = _fans(shape)
    std = math.sqrt(2.0 / fan_in)
    return torch.nn.init.trunc_normal_(torch.empty(tuple(shape)), std=std, a=-2 * std, b=2 * std)


def orthogonal(shape):
    """Orthogonal matrix (Keras's default recurrent_kernel initialiser)."""
    flat = (int(np.prod(shape[:-1])), shape[-1])
    return torch.nn.init.orthogonal_(torch.empty(flat)).reshape(tuple(shape))


def uniform(shape):
    """Keras's RandomUniform default: U(-0.05, 0.05)."""
    return torch.empty(tuple(shape)).uniform_(-0.05, 0.05)


def normal(shape):
    """Keras's RandomNormal default: N(0, 0.05)."""
    return torch.empty(tuple(shape)).normal_(0.0, 0.05)


INITIALIZERS = {
    "zeros": zeros, "ones": ones, "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "he_uniform": he_uniform, "he_normal": he_normal,
    "orthogonal": orthogonal, "uniform": uniform, "random_uniform": uniform,
    "normal": normal, "random_normal": normal,
}


def constant(value: float) -> Initializer:
    """Initialiser filling every weight with ``value`` (golden-value tests)."""
    return lambda shape: torch.full(tuple(shape), float(value))


def get(init: Union[str, float, Initializer]) -> Initializer:
    """The initialiser for a name, a constant number, or a callable."""
    if callable(init):
        return init
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return constant(init)
    if isinstance(init, str) and init.lower() in INITIALIZERS:
        return INITIALIZERS[init.lower()]
    raise ValueError(f"Unknown initializer {init!r}. Choose one of {sorted(INITIALIZERS)}, "
                     f"a number (constant) or a callable shape -> tensor.")
