"""Activation functions and their derivatives in NumPy (seed 003, "Fonctions d'activation",
exercise 2: "pour chaque fonction d'activation, écrire une fonction qui renvoie sa valeur").

Each activation g has a derivative g' written by hand, so that backpropagation can be done
without autograd: for an elementwise activation a = g(z), ∂L/∂z = ∂L/∂a * g'(z).
The tests check every g' against PyTorch's autograd.

    >>> import numpy as np
    >>> sigmoid(np.array([0.0]))
    array([0.5])
    >>> d_sigmoid(np.array([0.0]))          # σ'(0) = σ(0)(1 - σ(0))
    array([0.25])
    >>> [name for name in ACTIVATIONS][:4]
    ['step', 'linear', 'relu', 'leaky_relu']
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

Array = np.ndarray


# g(x) = 0 if x < 0, 1 if x >= 0  (Heaviside: the perceptron's activation)
def step(x: Array) -> Array:
    return (np.asarray(x) >= 0).astype(float)


# g'(x) = 0 everywhere it exists (undefined at 0): why the perceptron needs its own rule
def d_step(x: Array) -> Array:
    return np.zeros_like(np.asarray(x, dtype=float))


# g(x) = x
def linear(x: Array) -> Array:
    return np.asarray(x, dtype=float)


# g'(x) = 1
def d_linear(x: Array) -> Array:
    return np.ones_like(np.asarray(x, dtype=float))


# g(z) = 0 if z < 0, z if z >= 0
def relu(x: Array) -> Array:
    return np.maximum(0.0, x)


# g'(z) = 0 if z < 0, 1 if z > 0 (we take 0 at z = 0, as PyTorch does)
def d_relu(x: Array) -> Array:
    return (np.asarray(x) > 0).astype(float)


# The course's general piecewise-linear form g(z) = a z (z < 0), b z (z >= 0) with b = 1;
# slope a = 0.2 is Keras's default.
def leaky_relu(x: Array, slope: float = 0.2) -> Array:
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, x, slope * x)


def d_leaky_relu(x: Array, slope: float = 0.2) -> Array:
    return np.where(np.asarray(x) > 0, 1.0, slope)


# σ(z) = 1 / (1 + e^{-z}), computed without overflow for large |z|
def sigmoid(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# σ'(z) = σ(z) (1 - σ(z))
def d_sigmoid(x: Array) -> Array:
    s = sigmoid(x)
    return s * (1.0 - s)


# tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})
def tanh(x: Array) -> Array:
    return np.tanh(x)


# tanh'(x) = 1 - tanh(x)^2
def d_tanh(x: Array) -> Array:
    return 1.0 - np.tanh(x) ** 2


# elu(x) = x if x > 0 else e^x - 1
def elu(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


# elu'(x) = 1 if x > 0 else e^x
def d_elu(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))


# softplus(x) = log(1 + e^x), a smooth relu; its derivative is σ(x)
def softplus(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def d_softplus(x: Array) -> Array:
    return sigmoid(x)


# swish(x) = x σ(x)  (also called SiLU)
def swish(x: Array) -> Array:
    return np.asarray(x, dtype=float) * sigmoid(x)


# swish'(x) = σ(x) + x σ(x)(1 - σ(x))
def d_swish(x: Array) -> Array:
    s = sigmoid(x)
    return s + np.asarray(x, dtype=float) * s * (1.0 - s)


_erf = np.vectorize(math.erf, otypes=[float])


# gelu(x) = x Φ(x), Φ(x) = (1 + erf(x / √2)) / 2 the standard normal CDF
def gelu(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


# gelu'(x) = Φ(x) + x φ(x), φ(x) = e^{-x²/2} / √(2π) the normal density
def d_gelu(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


# softmax(z)_i = e^{z_i} / Σ_j e^{z_j} over the last axis (shifted by max(z) for stability)
def softmax(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# softmax is not elementwise: its derivative is a Jacobian, ∂s_i/∂z_j = s_i (δ_ij - s_j),
# i.e. diag(s) - s sᵀ, one (K, K) matrix per row: (..., K) -> (..., K, K)
def softmax_jacobian(x: Array) -> Array:
    s = softmax(x)
    return np.einsum("...i,ij->...ij", s, np.eye(s.shape[-1])) - s[..., :, None] * s[..., None, :]


# name -> (g, g') for the elementwise activations
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "step": (step, d_step),
    "linear": (linear, d_linear),
    "relu": (relu, d_relu),
    "leaky_relu": (leaky_relu, d_leaky_relu),
    "sigmoid": (sigmoid, d_sigmoid),
    "tanh": (tanh, d_tanh),
    "elu": (elu, d_elu),
    "softplus": (softplus, d_softplus),
    "swish": (swish, d_swish),
    "gelu": (gelu, d_gelu),
}


def get(name: str) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """``(g, g')`` for an activation name (softmax: use ``softmax``/``softmax_jacobian``)."""
    try:
        return ACTIVATIONS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"seqlab.basics.activations_numpy: unknown activation {name!r}. "
                         f"Choose one of {sorted(ACTIVATIONS)}.") from None
