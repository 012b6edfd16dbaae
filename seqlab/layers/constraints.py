"""Weight constraints (Keras's ``keras.constraints``): a projection applied to a weight after
each optimizer step.

Give one to a layer (``Dense(8, kernel_constraint=MaxNorm(2.0))``); the training loop calls
``apply_constraints(model)`` after ``optimizer.step()``. Norms are taken along ``axis``
(0 for a Dense kernel (D, U): each unit's incoming weights), with Keras's epsilon 1e-7.

* ``MaxNorm(max_value=2, axis=0)``: rescale to norm <= max_value
* ``NonNeg()``: negative values become 0
* ``UnitNorm(axis=0)``: rescale to norm 1
* ``MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)``: norm moved (at ``rate``)
  into [min_value, max_value]

    >>> import torch
    >>> NonNeg()(torch.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""
from __future__ import annotations

import torch
from torch import nn

from seqlab.layers.objects import KerasObject, from_spec

EPSILON = 1e-7  # keras.backend.epsilon()


class Constraint(KerasObject):
    """Base class: ``constraint(w) -> projected w`` (the identity here)."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w


def _norms(w: torch.Tensor, axis) -> torch.Tensor:
    return w.square().sum(dim=axis, keepdim=True).sqrt()


class MaxNorm(Constraint):
    """Rescale so that the norm along ``axis`` is at most ``max_value``."""

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = norms.clamp(0, self.max_value)
        return w * (desired / (EPSILON + norms))


class NonNeg(Constraint):
    """Negative weights become zero."""

    def __call__(self, w):
        return w.clamp_min(0)


class UnitNorm(Constraint):
    """Rescale to unit norm along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))


class MinMaxNorm(Constraint):
    """Move the norm along ``axis`` into [min_value, max_value] at ``rate`` (1 = at once)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * norms.clamp(self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (EPSILON + norms))


CONSTRAINTS = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
               "min_max_norm": MinMaxNorm, "MaxNorm": MaxNorm, "NonNeg": NonNeg,
               "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm


def get(identifier):
    """A constraint from None, a name ("max_norm"), a config dict, an object or a callable."""
    return from_spec(identifier, "constraint", CONSTRAINTS, Constraint)


def apply_constraints(module: nn.Module) -> None:
    """Project every constrained weight of ``module`` and its sub-layers, in place. The
    training loop calls it after each ``optimizer.step()``."""
    with torch.no_grad():
        for layer in module.modules():
            for name, constraint in getattr(layer, "_weight_constraints", {}).items():
                w = layer._parameters.get(name)
                if w is not None:
                    w.copy_(constraint(w))


def serialize(constraint: Constraint) -> dict:
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}


deserialize = get
