"""A logistic neuron trained by hand-derived gradients (seed 003, "Cost Function" and
"Back Propagation"): the perceptron with a sigmoid instead of a step, so it can be
trained by gradient descent.

For m samples x^(i) (rows of X) with labels y^(i) in {0, 1}:

    1. forward      z = X · w + b              (m,)
                    a = σ(z) = 1 / (1 + e^{-z})  (m,)
    2. log loss     L = -(1/m) Σ_i [ y_i log a_i + (1 - y_i) log(1 - a_i) ]
    3. backward     ∂L/∂w = (1/m) Xᵀ (a - y)     (∂L/∂w_j = (1/m) Σ_i (a_i - y_i) x_ij)
                    ∂L/∂b = (1/m) Σ_i (a_i - y_i)
    4. descent      w <- w - α ∂L/∂w,  b <- b - α ∂L/∂b

Why a - y: ∂L/∂a = (a - y) / (a(1 - a)) and ∂a/∂z = σ'(z) = a(1 - a), so the chain
rule gives ∂L/∂z = a - y; then ∂z/∂w = x and ∂z/∂b = 1.

    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> neuron = LogisticNeuron(n_features=2)
    >>> losses = neuron.fit(X, np.array([0, 1, 1, 1]), learning_rate=1.0, epochs=500)  # OR
    >>> losses[-1] < 0.1, neuron.predict(X).tolist()
    (True, [0, 1, 1, 1])
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from seqlab.basics.activations_numpy import sigmoid

_EPS = 1e-12  # keeps log() finite when a saturates at 0 or 1


class LogisticNeuron:
    """One neuron z = x·w + b, a = σ(z), trained on the log loss by gradient descent.

    Args:
        n_features: m, the size of x.
        seed: None starts from zero weights; an int draws small random weights.
    """

    def __init__(self, n_features: int, seed: Optional[int] = None):
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) \
                or n_features < 1:
            raise ValueError(f"LogisticNeuron: n_features must be a positive integer, got "
                             f"{n_features!r}. Pass X.shape[1].")
        rng = np.random.default_rng(seed)
        self.w = np.zeros(n_features) if seed is None else rng.normal(0, 0.01, n_features)
        self.b = 0.0

    def forward(self, X: np.ndarray) -> np.ndarray:
        """a = σ(X · w + b), shape (m,)."""
        return sigmoid(np.asarray(X, dtype=float) @ self.w + self.b)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """The log loss L of the course (mean binary cross-entropy)."""
        a, y = self.forward(X), np.asarray(y, dtype=float)
        a = np.clip(a, _EPS, 1.0 - _EPS)
        return float(-np.mean(y * np.log(a) + (1.0 - y) * np.log(1.0 - a)))

    def gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        """(∂L/∂w, ∂L/∂b), derived by hand: (1/m) Xᵀ(a - y) and (1/m) Σ(a - y)."""
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).reshape(-1)
        if X.ndim != 2 or X.shape[1] != len(self.w) or len(X) != len(y):
            raise ValueError(f"LogisticNeuron: expected X (m, {len(self.w)}) and y (m,), "
                             f"got {X.shape} and {y.shape}.")
        m = len(y)
        a = self.forward(X)  # (m,)
        dz = a - y  # ∂L/∂z_i times m
        dw = X.T @ dz / m  # (n_features,)
        db = float(dz.sum() / m)
        return dw, db

    def fit(self, X: np.ndarray, y: np.ndarray, learning_rate: float = 0.1,
            epochs: int = 100) -> list[float]:
        """Full-batch gradient descent; returns the loss before each step, then the last."""
        losses = []
        for _ in range(int(epochs)):
            losses.append(self.loss(X, y))
            dw, db = self.gradients(X, y)
            self.w = self.w - learning_rate * dw  # w <- w - α ∂L/∂w
            self.b = self.b - learning_rate * db  # b <- b - α ∂L/∂b
        losses.append(self.loss(X, y))
        return losses

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)

    def predict(self, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return (self.forward(X) >= threshold).astype(int)
