"""Activation functions by name (seed 003: "fonctions d'activation").

    >>> from seqlab.activations import get
    >>> get("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])

Names: linear, step (Heaviside), relu, leaky_relu, sigmoid, tanh, softmax, elu, gelu,
plus hard_sigmoid, softplus, softsign, swish/silu and selu. A callable is returned
unchanged (but a model using one cannot be saved: pass activations by name).
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F


def linear(x: torch.Tensor) -> torch.Tensor:
    """identity: f(x) = x"""
    return x


def step(x: torch.Tensor) -> torch.Tensor:
    """Heaviside step of the perceptron: 1 if x >= 0 else 0 (its gradient is zero)."""
    return (x >= 0).to(x.dtype)


def relu(x: torch.Tensor) -> torch.Tensor:
    """max(0, x)"""
    return torch.relu(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """x if x > 0 else 0.2 x (Keras's default slope)"""
    return F.leaky_relu(x, negative_slope)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x))"""
    return torch.sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """(exp(x) - exp(-x)) / (exp(x) + exp(-x))"""
    return torch.tanh(x)


def softmax(x: torch.Tensor) -> torch.Tensor:
    """exp(x_i) / sum_j exp(x_j) over the last axis"""
    return torch.softmax(x, dim=-1)


def elu(x: torch.Tensor) -> torch.Tensor:
    """x if x > 0 else exp(x) - 1"""
    return F.elu(x)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """x * Phi(x), Phi the standard normal CDF"""
    return F.gelu(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """piecewise-linear sigmoid (Keras 3: relu6(x + 3) / 6)"""
    return F.hardsigmoid(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    return F.softsign(x)


def swish(x: torch.Tensor) -> torch.Tensor:
    return F.silu(x)


def selu(x: torch.Tensor) -> torch.Tensor:
    return F.selu(x)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": linear, "step": step, "heaviside": step, "relu": relu,
    "leaky_relu": leaky_relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "elu": elu, "gelu": gelu, "hard_sigmoid": hard_sigmoid, "softplus": softplus,
    "softsign": softsign, "swish": swish, "silu": swish, "selu": selu,
}


def get(activation: Union[None, str, Callable], owner: str = "layer") -> Callable:
    """The activation function for ``activation`` (None means linear)."""
    if activation is None:
        return linear
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    raise ValueError(
        f"{owner}: unknown activation {activation!r}. "
        f"Choose one of {sorted(ACTIVATIONS)} or pass a callable."
    )


def name_of(activation: Union[None, str, Callable]) -> Optional[str]:
    """The registered name of an activation, for summaries and configs."""
    if activation is None or isinstance(activation, str):
        return activation
    for name, fn in ACTIVATIONS.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", repr(activation))
