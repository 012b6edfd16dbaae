"""Rosenblatt's perceptron in NumPy (seed 003, "Perceptron": the first neural network,
a linear classifier of two classes).

Model (one neuron, step activation g):

    z = x_1 w_1 + ... + x_m w_m + b = x · W + b
    ŷ = g(z) = 1 if z >= 0 else 0

Learning rule, one sample at a time, only when the neuron is wrong:

    W <- W - α (ŷ - y) x
    b <- b - α (ŷ - y)

(ŷ - y is +1 when the neuron fired wrongly, -1 when it should have fired: W moves
away from x, or towards it. The slide writes W = W - α(y - ŷ)X; with that sign the
weights move the wrong way, so we use the equivalent W + α(y - ŷ)X.)

Convergence (Novikoff, 1962): if some unit vector u and margin γ > 0 satisfy
(2y_i - 1) u · [x_i, 1] >= γ for every sample, and R = max ||[x_i, 1]||, then starting
from zero weights the perceptron makes at most (R / γ)² updates, whatever α > 0.
On data that no line separates (XOR) it never stops: ``fit`` then reports
``converged=False`` after ``max_epochs``.

    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> result = Perceptron().fit(X, np.array([0, 0, 0, 1]))   # logical AND
    >>> result.converged, Perceptron().fit(X, np.array([0, 1, 1, 0])).converged  # XOR
    (True, False)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from seqlab.basics.activations_numpy import step


@dataclass
class PerceptronFit:
    """What ``Perceptron.fit`` did."""

    updates: int  # number of weight updates (= mistakes made during training)
    epochs: int  # passes over the data, the last one included
    converged: bool  # True when the last epoch made no mistake
    mistakes_per_epoch: list = field(default_factory=list)


class Perceptron:
    """Two-class perceptron with the step activation, labels y in {0, 1}.

    Args:
        learning_rate: α > 0. From zero weights it only scales W and b, so it does not
            change the predictions or the number of updates.
        max_epochs: stop after this many passes if the data are not separated.
        shuffle: visit the samples in a new random order each epoch.
        seed: seed of that order.

    After ``fit``: ``W`` (m,), ``b`` (float), ``history`` (a ``PerceptronFit``).
    """

    def __init__(self, learning_rate: float = 1.0, max_epochs: int = 1000,
                 shuffle: bool = False, seed: Optional[int] = 0):
        if not learning_rate > 0:
            raise ValueError(f"Perceptron: learning_rate must be > 0, got {learning_rate!r}. "
                             f"Try learning_rate=1.0.")
        if int(max_epochs) < 1:
            raise ValueError(f"Perceptron: max_epochs must be >= 1, got {max_epochs!r}.")
        self.learning_rate = float(learning_rate)
        self.max_epochs = int(max_epochs)
        self.shuffle = shuffle
        self.seed = seed
        self.W: Optional[np.ndarray] = None
        self.b = 0.0
        self.history: Optional[PerceptronFit] = None

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """z = X · W + b, shape (n,)."""
        return np.asarray(X, dtype=float) @ self.W + self.b

    def predict(self, X: np.ndarray) -> np.ndarray:
        """ŷ = step(z) in {0, 1}, shape (n,)."""
        return step(self.decision_function(X)).astype(int)

    def fit(self, X: np.ndarray, y: np.ndarray) -> PerceptronFit:
        """Train with the perceptron rule until an epoch makes no mistake.

        Returns a ``PerceptronFit`` (updates, epochs, converged, mistakes per epoch).
        """
        X, y = _check_xy("Perceptron", X, y)
        n, m = X.shape
        self.W, self.b = np.zeros(m), 0.0
        rng = np.random.default_rng(self.seed)
        updates, mistakes_per_epoch = 0, []
        for epoch in range(1, self.max_epochs + 1):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            mistakes = 0
            for i in order:
                y_hat = 1.0 if X[i] @ self.W + self.b >= 0 else 0.0  # ŷ = g(z)
                error = y_hat - y[i]  # ŷ - y in {-1, 0, +1}
                if error != 0:
                    self.W = self.W - self.learning_rate * error * X[i]  # W <- W - α(ŷ - y)x
                    self.b = self.b - self.learning_rate * error  # b <- b - α(ŷ - y)
                    mistakes += 1
            updates += mistakes
            mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                break
        self.history = PerceptronFit(updates, epoch, mistakes == 0, mistakes_per_epoch)
        return self.history


def novikoff_bound(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    """(R / γ)²: the most updates a perceptron needs on (X, y), given any separator (w, b).

    Raises ValueError when (w, b) does not separate the data (margin <= 0).
    """
    X, y = _check_xy("novikoff_bound", X, y)
    Xa = np.hstack([X, np.ones((len(X), 1))])  # [x, 1]: the bias as a weight
    u = np.append(w, b) / np.linalg.norm(np.append(w, b))
    margin = ((2 * y - 1) * (Xa @ u)).min()  # γ
    if margin <= 0:
        raise ValueError(f"novikoff_bound: (w, b) does not separate the data (margin "
                         f"{margin:.3g}); pass a separating line.")
    radius = np.linalg.norm(Xa, axis=1).max()  # R
    return float((radius / margin) ** 2)


def _check_xy(who: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"{who}: expected X of shape (n, m) and y of shape (n,), got "
                         f"{X.shape} and {y.shape}.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{who}: labels must be 0 or 1, got {np.unique(y)[:5]}. "
                         f"Map them with y = (y == positive_class).astype(int).")
    return X, y
