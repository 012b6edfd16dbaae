"""Metrics by Keras name: accuracy (binary / categorical / sparse), mae, mse.

A metric maps ``(y_pred, y_true)`` (``y_pred`` are probabilities or regression outputs,
never logits) to one value per sample (per time step for sequence outputs); the
training loop averages them over the epoch, skipping padded steps.

``"accuracy"`` (or ``"acc"``) is resolved as Keras does: from the loss when it says
which kind of targets it expects, otherwise from the shapes.

    >>> import torch
    >>> m = resolve("accuracy", loss="sparse_categorical_crossentropy")
    >>> m.fn(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])).tolist()
    [1.0, 0.0]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Union

import torch

from seqlab import losses


def binary_accuracy(y_pred, y_true, threshold: float = 0.5) -> torch.Tensor:
    """mean over the last axis of [ (p > 0.5) == y ]   # (B, 1) -> (B,)"""
    y = losses._match(y_pred, y_true, "binary_accuracy")
    return ((y_pred > threshold).to(y.dtype) == y).to(y_pred.dtype).mean(dim=-1)


def categorical_accuracy(y_pred, y_true) -> torch.Tensor:
    """[ argmax p == argmax y ]   # (B, C) -> (B,)"""
    y = losses._match(y_pred, y_true, "categorical_accuracy")
    return (y_pred.argmax(dim=-1) == y.argmax(dim=-1)).to(y_pred.dtype)


def sparse_categorical_accuracy(y_pred, y_true) -> torch.Tensor:
    """[ argmax p == y ]   # (B, C), (B,) -> (B,)"""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):  # else it would broadcast silently
        raise ValueError(
            f"sparse_categorical_accuracy: targets must be class ids of shape "
            f"{tuple(y_pred.shape[:-1])} for outputs of shape {tuple(y_pred.shape)}, got "
            f"{tuple(y_true.shape)}. For one-hot targets use 'categorical_accuracy'.")
    return (y_pred.argmax(dim=-1) == y_true.long()).to(y_pred.dtype)


def mean_absolute_error(y_pred, y_true) -> torch.Tensor:
    return losses.mean_absolute_error(y_pred, y_true)


def mean_squared_error(y_pred, y_true) -> torch.Tensor:
    return losses.mean_squared_error(y_pred, y_true)


METRICS: dict[str, Callable] = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
}

_ACCURACY_FOR_LOSS = {
    losses.binary_crossentropy: binary_accuracy,
    losses.categorical_crossentropy: categorical_accuracy,
    losses.sparse_categorical_crossentropy: sparse_categorical_accuracy,
}


@dataclass
class Metric:
    """A named metric. ``fn`` is None until "accuracy" is resolved from the data."""
    name: str                 # key in History: "accuracy", "acc", "mae", ...
    fn: Optional[Callable]    # (y_pred, y_true) -> per-sample values
    spec: Union[str, Callable]  # what the user passed to compile (saved with the model)


def accuracy_for_shapes(y_pred: torch.Tensor, y_true: torch.Tensor) -> Callable:
    """Keras's guess when the loss does not say: 1 output -> binary; targets shaped like
    the outputs -> categorical (one-hot); otherwise sparse (class ids)."""
    if y_pred.shape[-1] == 1:
        return binary_accuracy
    if tuple(y_true.shape) == tuple(y_pred.shape):
        return categorical_accuracy
    return sparse_categorical_accuracy


def resolve(metric: Union[str, Callable], loss: Union[str, Callable, None] = None) -> Metric:
    """A ``Metric`` for a compile() entry. "accuracy" is specialised using the loss."""
    if callable(metric):
        return Metric(getattr(metric, "__name__", "metric"), metric, metric)
    if not isinstance(metric, str):
        raise TypeError(f"compile(): a metric must be a name or a callable, got {metric!r}.")
    key = metric.lower()
    if key in ("accuracy", "acc"):
        fn = _ACCURACY_FOR_LOSS.get(losses.get(loss)) if loss is not None else None
        return Metric(metric, fn, metric)
    if key in METRICS:
        return Metric(metric, METRICS[key], metric)
    raise ValueError(f"compile(): unknown metric {metric!r}. Choose one of "
                     f"{sorted(METRICS) + ['accuracy']} or pass a callable "
                     f"metric(y_pred, y_true).")
