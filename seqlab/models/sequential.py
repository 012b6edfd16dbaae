"""`Sequential`: a stack of layers, each feeding the next (Keras's ``Sequential``).

Shapes flow through the stack before any data is seen: when the first layer knows its
input shape (``Embedding`` always does: ``(None, input_length)``; any layer given
``input_shape=``), each added layer is built from the previous layer's
``compute_output_shape``, so ``summary()`` works straight away, as in the course's
listings (which have no ``Input``). Otherwise the stack builds on its first call.

Masks flow too: a layer's ``compute_mask`` gives the (B, T) mask for the next layer
(``Embedding(mask_zero=True)`` creates one; ``fit`` on variable-length sequences
supplies one for the padding); layers whose ``forward`` takes ``mask=`` receive it.

    >>> from seqlab import layers
    >>> model = Sequential()
    >>> model.add(layers.Embedding(input_dim=1000, output_dim=64))
    >>> model.add(layers.Dense(10, activation="softmax"))
    >>> model.output_shape
    (None, None, 10)
    >>> model.count_params()
    64650
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Optional

import torch
from torch import nn

from seqlab import activations
from seqlab.layers.base import Layer, Shape, attach_mask, get_mask, serialize, deserialize
from seqlab.layers.core import Activation, Dense, TimeDistributed
from seqlab.layers.embedding import Embedding
from seqlab.layers.input import Input, InputLayer, KerasTensor
from seqlab.layers.base import call_with_mask
from seqlab.models.model import Model


def _has_unknown(shape: Shape) -> bool:
    return any(s is None for s in tuple(shape)[1:])


def _final_activation_owner(layer: nn.Module) -> Optional[nn.Module]:
    """The module whose ``activation`` is applied last by ``layer`` (Dense, Activation,
    TimeDistributed of those), or None when the final activation is not separable."""
    if isinstance(layer, TimeDistributed):
        layer = layer.layer
    return layer if isinstance(layer, (Dense, Activation)) else None


@contextlib.contextmanager
def _linear_activation(owner: nn.Module):
    """Run ``owner`` without its activation (its output is then the logits)."""
    saved = owner.activation
    owner.activation = activations.linear
    try:
        yield
    finally:
        owner.activation = saved


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: the layers, first to last (more with ``add``).
        name: shown by ``summary()``.

    ``model(x)`` runs the stack; ``model.layers`` lists it; ``model.output_shape`` is
    the last layer's output shape (batch first, None where unknown).
    """

    builds_from_shape = True  # layers are built from input shapes, output shapes kept


    def __init__(self, layers: Optional[Iterable[nn.Module]] = None,
                 name: Optional[str] = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._stack = nn.ModuleList()
        self._shapes: list[Optional[Shape]] = []  # output shape of each layer, if known
        self._input_shape: Optional[Shape] = None
        self._input_from: Optional[Shape] = None  # the shape of an Input(...) given first
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    @property
    def layers(self) -> list[nn.Module]:
        return list(self._stack)

    @property
    def input_shape(self) -> Optional[Shape]:
        return self._input_shape

    @property
    def output_shape(self) -> Optional[Shape]:
        if not self._shapes:
            return self._input_shape
        return self._shapes[-1]

    def add(self, layer: nn.Module) -> None:
        """Append ``layer``; built at once when the shape reaching it is known. An
        ``Input(shape)`` (or ``InputLayer``) first fixes the input shape instead."""
        if isinstance(layer, (KerasTensor, InputLayer)):
            self._set_input(layer)
            return
        if not isinstance(layer, nn.Module):
            raise TypeError(f"{self.name}.add(): expected a layer (an nn.Module), got "
                            f"{type(layer).__name__} {layer!r:.60}.")
        first = not self._stack
        previous_input = self._input_shape
        if first and getattr(layer, "batch_input_shape", None) is not None:
            self._input_shape = tuple(layer.batch_input_shape)
        self._stack.append(layer)
        self._shapes.append(None)
        if self._input_shape is not None:
            try:
                self._propagate(self._input_shape)
            except Exception:  # the layer does not fit: leave the model as it was
                del self._stack[-1]
                self._shapes.pop()
                self._input_shape = previous_input
                raise

    def _set_input(self, spec) -> None:
        shape = spec.shape if isinstance(spec, KerasTensor) else spec.batch_input_shape
        if self._stack:
            raise ValueError(f"{self.name}: an Input fixes the shape of the model's input, so "
                             f"it must come first, before any layer; got it after "
                             f"{len(self._stack)} layer(s).")
        self._input_shape = self._input_from = tuple(shape)

    def pop(self) -> nn.Module:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError(f"{self.name}.pop(): there are no layers to remove.")
        layer = self._stack[-1]
        del self._stack[-1]
        self._shapes.pop()
        return layer

    def build(self, input_shape: Shape) -> None:
        """Build every layer from ``input_shape`` (batch first) by shape propagation."""
        self._input_shape = tuple(input_shape)
        self._propagate(self._input_shape)

    def _propagate(self, input_shape: Shape) -> None:
        """Build layers and record output shapes as far as shapes can be inferred.

        A layer that cannot build from a shape with unknown (None) sizes (a Dense after a
        Flatten of an unknown length) is left to build on the first call."""
        shape = tuple(input_shape)
        for i, layer in enumerate(self._stack):
            if self._shapes[i] is not None and getattr(layer, "built", True):
                shape = self._shapes[i]
                continue
            if not isinstance(layer, Layer):
                return  # a plain torch module: its shapes are learnt on the first call
            try:
                layer.build_once(shape)
                shape = tuple(layer.compute_output_shape(shape))
            except NotImplementedError:
                return  # e.g. a nested Model subclass: shapes are learnt on the first call
            except Exception:
                if _has_unknown(shape):
                    return  # not enough information yet: build on the first call
                raise
            self._shapes[i] = shape
        self.built = True
        self.build_input_shape = tuple(input_shape)

    def infer_shapes(self) -> None:
        """Fill in output shapes again (after layers were built one by one, e.g. by
        ``load_model``): a built layer can often say its output shape for inputs that
        it could not have been built from."""
        if self._input_shape is not None:
            self._propagate(self._input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The stack's output shape for ``input_shape`` (a Sequential used as a layer)."""
        shape = tuple(input_shape)
        for layer in self._stack:
            if not isinstance(layer, Layer):
                raise NotImplementedError(f"{self.name}: {type(layer).__name__} is a plain "
                                          f"torch module; its output shape is unknown.")
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def _record_shape(self, i: int, out: Any) -> None:
        if self._shapes[i] is None and isinstance(out, torch.Tensor):
            self._shapes[i] = (None,) + tuple(out.shape[1:])

    # ------------------------------------------------------------------ forward
    @staticmethod
    def _next_mask(layer: nn.Module, x_in: Any, out: Any,
                   mask: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if not isinstance(layer, Layer):
            return None
        new = layer.compute_mask(x_in, mask)
        if isinstance(layer, Embedding) and mask is not None:
            # The padding mask of variable-length input survives the lookup.
            new = mask if new is None else (new & mask)
        if new is None or not isinstance(out, torch.Tensor):
            return None
        if out.dim() < 2 or tuple(out.shape[:2]) != tuple(new.shape):
            return None  # the time axis is gone (return_sequences=False, Flatten...)
        return new

    def _run(self, x: Any, mask: Optional[torch.Tensor], undo: Optional[str]):
        mask = get_mask(x, mask)
        n = len(self._stack)
        is_logits = False
        for i, layer in enumerate(self._stack):
            x_in = x
            owner = _final_activation_owner(layer) if (i == n - 1 and undo) else None
            if owner is not None and activations.name_of(owner.activation) == undo:
                with _linear_activation(owner):
                    x = call_with_mask(layer, x, mask)
                is_logits = True
            else:
                x = call_with_mask(layer, x, mask)
            self._record_shape(i, x)
            mask = self._next_mask(layer, x_in, x, mask)
            if mask is not None:
                attach_mask(x, mask)
        return x, is_logits

    def forward(self, x: Any, mask: Optional[torch.Tensor] = None) -> Any:
        if not self._stack:
            raise ValueError(f"{self.name}: the Sequential model has no layers; add some "
                             f"with model.add(...).")
        return self._run(x, mask, None)[0]

    def outputs_for_loss(self, x, mask=None, undo: Optional[str] = None):
        """Like ``forward``; when the last layer's activation is ``undo`` ("sigmoid" or
        "softmax"), returns its logits instead and ``True``."""
        if self.from_logits:
            return self(x, mask=mask), undo is not None
        if not self.built:
            self._build_from_input(x)
        return self._run(x, mask, undo)

    # ------------------------------------------------------------------ weights, config
    def weight_layers(self) -> list[nn.Module]:
        return list(self._stack)

    def get_config(self) -> dict:
        for layer in self._stack:
            if not isinstance(layer, Layer):
                raise TypeError(f"{self.name}: layer {type(layer).__name__} is a plain torch "
                                f"module and cannot be saved; use seqlab layers.")
        config = {"name": self.name,
                  "layers": [serialize(layer, self.name, "layers") for layer in self._stack]}
        if getattr(self, "_input_from", None) is not None:
            config["input_shape"] = list(self._input_from)  # from an Input(...)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        head = ([Input(batch_shape=config["input_shape"])]
                if config.get("input_shape") is not None else [])
        return cls(layers=head + [deserialize(c) for c in config.get("layers", [])],
                   name=config.get("name"))


__all__ = ["Sequential"]
