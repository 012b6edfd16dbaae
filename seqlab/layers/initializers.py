"""Weight initialisers by name, with Keras's defaults and fan conventions.

An initialiser is a callable ``shape -> torch.Tensor``: a name ("glorot_uniform"), one of
the functions below, or an object of Keras's classes (keras_initializers.py:
``GlorotUniform(seed=1)``, ``Constant(0.5)``, ``Orthogonal(gain=2.0)``...), which saves as
JSON with the layer. Kernels are stored in Keras's layout (fan_in first for a Dense kernel
(D, U)); for convolution kernels the receptive field multiplies both fans, as in Keras.

    >>> get("zeros")((2, 3)).sum().item()
    0.0
    >>> get(0.5)((2,)).tolist()
    [0.5, 0.5]
"""
from __future__ import annotations

import math
from typing import Callable, Sequence, Union

import numpy as np
import torch

from seqlab.layers import keras_initializers as keras
from seqlab.layers.keras_initializers import _fans

Initializer = Callable[[Sequence[int]], torch.Tensor]


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
    """Initialiser filling every weight with ``value`` (golden-value tests). It is a
    ``Constant`` object, so a layer given it can be saved and copied (``Bidirectional``)."""
    return keras.Constant(float(value))


def get(init: Union[str, float, dict, Initializer]) -> Initializer:
    """The initialiser for a name (seqlab's or Keras's class name), a constant number, a
    ``{"class_name", "config"}`` dict, or a callable."""
    if callable(init) and not isinstance(init, type):
        return init
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return constant(init)
    if isinstance(init, str) and init.lower() in INITIALIZERS:
        return INITIALIZERS[init.lower()]
    if isinstance(init, str) and init in keras.CLASSES:
        return keras.CLASSES[init]()
    if isinstance(init, dict) and init.get("class_name") in keras.CLASSES:
        return keras.CLASSES[init["class_name"]].from_config(init.get("config", {}))
    raise ValueError(f"Unknown initializer {init!r}. Choose one of {sorted(INITIALIZERS)}, "
                     f"a Keras class name ({', '.join(sorted(keras.CLASSES)[:4])}...), a "
                     f"number (constant) or a callable shape -> tensor.")
