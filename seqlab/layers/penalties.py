"""Keras's penalty and weight API on every layer: regularizers, constraints, ``add_weight``,
``add_loss`` and ``losses``; ``regularization_loss(model)`` for the training loop.

``Layer`` inherits this mixin. A layer declares which parameter a regularizer or a
constraint belongs to with ``self.regularize("kernel", kernel_regularizer,
kernel_constraint)`` (the parameter may be created later, in ``build``). ``layer.losses``
lists, for the layer and its sub-layers, the weight penalties computed from the current
weights (trainable weights only, as Keras) and the penalties recorded during the last call
(``activity_regularizer``, ``add_loss``). ``constraints.apply_constraints(model)``
projects the constrained weights after an optimizer step.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

import torch
from torch import nn

from seqlab.layers import constraints as _constraints
from seqlab.layers import initializers
from seqlab.layers import regularizers as _regularizers
from seqlab.layers.regularizers import L2  # noqa: F401  (docstring example)
from seqlab.layers.variables import Weight, as_weight, resolve_dtype


class Penalties:
    """Mixin of ``Layer`` (an ``nn.Module``); see the module docstring."""

    def regularize(self, name: str, regularizer=None, constraint=None) -> None:
        """Attach a regularizer and/or a constraint to the parameter ``name`` (it may be
        created later, in ``build``). Accepts names ("l2"), objects and callables."""
        if regularizer is not None:
            self._weight_regularizers[name] = _regularizers.get(regularizer)
        if constraint is not None:
            self._weight_constraints[name] = _constraints.get(constraint)

    def register_parameter(self, name: str, param: Optional[nn.Parameter]) -> None:
        super().register_parameter(name, as_weight(param))  # Keras's variable API (numpy/assign)

    def add_weight(self, shape: Sequence[int] = (), initializer=None, dtype=None,
                   trainable: bool = True, autocast: bool = True, regularizer=None,
                   constraint=None, aggregation: str = "none",
                   overwrite_with_gradient: bool = False, name: Optional[str] = None) -> Weight:
        """Create, register and return a weight, as Keras's ``Layer.add_weight`` (same
        arguments and order; ``initializer`` defaults to "glorot_uniform" as for Keras's
        float weights). ``autocast``, ``aggregation`` and ``overwrite_with_gradient`` concern
        Keras's distribution and mixed-precision machinery and are accepted and ignored."""
        dtype = resolve_dtype(self.name, dtype) or self._dtype or torch.get_default_dtype()
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = torch.as_tensor(init(tuple(shape)), dtype=dtype)
        attr = re.sub(r"\W", "_", name or "weight")
        base, k = attr, 1
        while attr in self._parameters or (hasattr(self, attr) and attr not in self._parameters):
            attr, k = f"{base}_{k}", k + 1
        self.register_parameter(attr, nn.Parameter(value, requires_grad=bool(trainable)))
        self.regularize(attr, regularizer, constraint)
        return self._parameters[attr]

    def add_loss(self, loss: torch.Tensor) -> None:
        """Add a scalar to ``losses`` for this call (Keras's ``add_loss``)."""
        self._call_losses.append(loss)

    def _own_losses(self) -> list:
        out = list(self._call_losses)
        if self._trainable:
            for name, reg in self._weight_regularizers.items():
                w = self._parameters.get(name)
                if w is not None and w.requires_grad:
                    out.append(reg(w))
        return out

    @property
    def losses(self) -> list:
        """Scalar penalties of this layer and its sub-layers: weight regularizers (computed
        from the current weights) and activity regularizers / ``add_loss`` of the last call."""
        return [loss for m in self.modules() if isinstance(m, Penalties) for loss in m._own_losses()]



def regularization_loss(module: nn.Module) -> torch.Tensor:
    """Sum of ``losses`` over every seqlab layer in ``module`` (0 when there are none): what
    the training loop adds to the loss of a batch.

    >>> from seqlab.layers import Dense
    >>> layer = Dense(2, kernel_initializer="ones", kernel_regularizer=L2(0.5))
    >>> _ = layer(torch.zeros(1, 3))
    >>> regularization_loss(layer).item()   # 0.5 * sum(1 ** 2 over 3 x 2)
    3.0
    """
    losses = [loss for m in module.modules() if isinstance(m, Penalties) for loss in m._own_losses()]
    if not losses:
        ref = next(module.parameters(), None)
        return torch.zeros((), device=ref.device if ref is not None else None)
    return torch.stack([torch.as_tensor(loss).reshape(()) for loss in losses]).sum()
