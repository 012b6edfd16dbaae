"""``Input``: Keras's symbolic input placeholder, and ``InputLayer``.

``Input(shape=(T, D))`` returns a ``KerasTensor``: a description of the tensors a model
will receive -- shape (batch first, None for unknown sizes), dtype, name -- holding no
data. At the head of a ``Sequential`` it fixes the input shape, so the stack builds and
``summary()`` works before any data, as Keras's

    model = Sequential([Input((T, D)), LSTM(8), Dense(1)])

    >>> x = Input(shape=(5, 3), name="series")
    >>> x.shape, x.dtype, x.name
    ((None, 5, 3), 'float32', 'series')
"""
from __future__ import annotations

from typing import Optional, Sequence

from seqlab.layers.base import Layer
from seqlab.layers.symbolic import KerasTensor, Node


def _batch_shape(who: str, shape, batch_size, batch_shape) -> tuple:
    if batch_shape is not None:
        return tuple(batch_shape)
    if shape is None:
        raise ValueError(f"{who}: give shape=(...) (one sample's shape, without the batch) "
                         f"or batch_shape=(batch, ...).")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return (batch_size,) + shape


class InputLayer(Layer):
    """The layer behind ``Input``: identity, with a known input shape.

    Args: shape (without the batch), batch_size, dtype, batch_shape (with the batch), name.
    ``layer.output`` is its ``KerasTensor``.
    """

    def __init__(self, shape=None, batch_size: Optional[int] = None, dtype=None,
                 batch_shape=None, name: Optional[str] = None, sparse: bool = False,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.batch_input_shape = _batch_shape(f"InputLayer {self.name}", shape, batch_size,
                                              batch_shape)
        self.output = KerasTensor(self.batch_input_shape, dtype or "float32", self.name,
                                  sparse)
        self.output._keras_layer = self
        self.output._keras_history = (self, 0, 0)
        self._inbound_nodes = [Node(self, (), {}, self.output)]
        self.built, self.build_input_shape = True, self.batch_input_shape

    def forward(self, x):
        return x


def Input(shape=None, batch_size: Optional[int] = None, dtype=None, sparse: bool = False,
          batch_shape=None, name: Optional[str] = None, tensor=None,
          optional: bool = False) -> KerasTensor:
    """A symbolic input of ``shape`` (one sample's shape, e.g. (T, D)); see the module
    docstring. ``tensor`` and ``optional`` are accepted for Keras and ignored."""
    return InputLayer(shape, batch_size, dtype, batch_shape, name, sparse).output


__all__ = ["Input", "InputLayer", "KerasTensor"]
