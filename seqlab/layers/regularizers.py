"""Weight and activity regularizers (Keras's ``keras.regularizers``).

A regularizer maps a tensor to a scalar penalty added to the training loss. Give one to a
layer (``Dense(8, kernel_regularizer=L2(0.01))``); ``layer.losses`` then lists the
penalties and ``seqlab.layers.base.regularization_loss(model)`` sums them over a model.

* ``L1(l1=0.01)``: ``l1 * sum(|w|)``
* ``L2(l2=0.01)``: ``l2 * sum(w ** 2)`` (no factor 1/2, as Keras)
* ``L1L2(l1=0.0, l2=0.0)``: both
* ``OrthogonalRegularizer(factor=0.01, mode="rows")``: ``factor * mean(|off-diagonal of
  W_n W_n^T|)`` for the rows (or columns) of a 2-D kernel, normalised to unit length.

Names: "l1", "l2", "l1_l2" (``get``), with Keras's default strengths.

    >>> import torch
    >>> float(L2(0.5)(torch.tensor([1.0, 2.0])))
    2.5
"""
from __future__ import annotations

from typing import Any

import torch

from seqlab.layers.objects import KerasObject, from_spec


class Regularizer(KerasObject):
    """Base class: ``regularizer(w) -> scalar tensor``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = _strength("L1L2", "l1", l1), _strength("L1L2", "l2", l2)

    def __call__(self, x):
        penalty = x.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * x.square().sum()
        return penalty


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1: float = 0.01):
        self.l1 = _strength("L1", "l1", l1)

    def __call__(self, x):
        return self.l1 * x.abs().sum()


class L2(Regularizer):
    """``l2 * sum(x ** 2)``."""

    def __init__(self, l2: float = 0.01):
        self.l2 = _strength("L2", "l2", l2)

    def __call__(self, x):
        return self.l2 * x.square().sum()


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns of a 2-D kernel to be orthogonal."""

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got "
                             f"{mode!r}.")
        self.factor, self.mode = _strength("OrthogonalRegularizer", "factor", factor), mode

    def __call__(self, x):
        if x.dim() != 2:
            raise ValueError(f"OrthogonalRegularizer: expects a rank-2 weight, got shape "
                             f"{tuple(x.shape)}.")
        w = x if self.mode == "rows" else x.T
        w = torch.nn.functional.normalize(w, dim=1)
        product = w @ w.T                                             # (n, n)
        n = product.shape[0]
        off = product.abs().sum() - product.diagonal().abs().sum()
        return self.factor * off / (n * (n - 1))


def _strength(cls: str, arg: str, value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if not value >= 0:
        raise ValueError(f"{cls}: {arg} must be a number >= 0, got {value!r}. Pass e.g. "
                         f"{cls}({arg}=0.01).")
    return value


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Keras's ``l1_l2`` shortcut (both strengths default to 0.01)."""
    return L1L2(l1, l2)


REGULARIZERS = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": l1_l2, "L1": L1, "L2": L2,
                "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
                "orthogonal_regularizer": OrthogonalRegularizer}
l1, l2, orthogonal_regularizer = L1, L2, OrthogonalRegularizer


def get(identifier):
    """A regularizer from None, a name ("l2"), a config dict, an object or a callable."""
    return from_spec(identifier, "regularizer", REGULARIZERS, Regularizer)


def serialize(regularizer: Regularizer) -> dict:
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


deserialize = get
