"""``SimpleRNN``, ``LSTM``, ``GRU``: a cell (cells.py) plus the generic ``RNN`` (rnn.py).

Keras names and defaults. Besides the arguments listed in each docstring, every layer takes
Keras's ``kernel_regularizer``, ``recurrent_regularizer``, ``bias_regularizer``,
``activity_regularizer``, ``kernel_constraint``, ``recurrent_constraint``,
``bias_constraint`` (given to the cell's weights), and ``dtype``, ``seed``, ``use_cudnn``,
``implementation`` (see ``RNN``). Parameter counts (D inputs, H units), as the course prints them:

* SimpleRNN: D*H + H*H + H               SimpleRNN(128) on 64 inputs: 24,704
* LSTM:      4 (D*H + H*H + H)           LSTM(128) on 64 inputs: 98,816
* GRU:       3 (D*H + H*H + H)           GRU(128) on 64 inputs: 74,112 (reset_after=False)
             3 (D*H + H*H + 2H)          with reset_after=True: 74,496
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np
import torch  # noqa: F401  (used by the docstring examples)

from seqlab import activations
from seqlab.layers.base import check_positive_int
from seqlab.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell
from seqlab.layers.recurrent.rnn import RNN

Act = Union[str, Callable, None]

# Keras arguments that belong to the cell's weights; every layer below passes them on.
CELL_OPTIONS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                "kernel_constraint", "recurrent_constraint", "bias_constraint")


def _cell_options(kwargs: dict) -> dict:
    """Take the cell's options out of the layer's keyword arguments."""
    return {k: kwargs.pop(k) for k in CELL_OPTIONS if k in kwargs}


def _check(cls: str, kwargs: dict, units, **acts) -> None:
    """Fail at construction, naming the layer (the cell would name itself)."""
    who = f"{cls} {kwargs['name']}" if kwargs.get("name") else cls
    check_positive_int(who, "units", units)
    for arg, value in acts.items():
        activations.get(value, f"{who} ({arg})")


class SimpleRNN(RNN):
    """Fully-connected RNN (seed 001): ``h_t = tanh(W x_t + U h_{t-1} + b)``.

    Args: units; activation="tanh"; use_bias=True; kernel_initializer="glorot_uniform";
    recurrent_initializer="orthogonal"; bias_initializer="zeros"; dropout=0.0;
    recurrent_dropout=0.0; and the RNN options (return_sequences, return_state,
    go_backwards, stateful, unroll, use_fused). Weights: kernel (D, H),
    recurrent_kernel (H, H), bias (H,).

    >>> layer = SimpleRNN(16)
    >>> tuple(layer(torch.zeros(2, 5, 3)).shape)
    (2, 16)
    """

    def __init__(self, units: int, activation: Act = "tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs):
        _check("SimpleRNN", kwargs, units, activation=activation)
        cell = SimpleRNNCell(units, activation, use_bias, kernel_initializer,
                             recurrent_initializer, bias_initializer,
                **_cell_options(kwargs))
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                         dropout, recurrent_dropout, **kwargs)


class LSTM(RNN):
    """Long short-term memory layer (seeds 001/002/004); gates i, f, c, o as Keras.

    Args: units; activation="tanh"; recurrent_activation="sigmoid"; use_bias=True;
    kernel_initializer="glorot_uniform"; recurrent_initializer="orthogonal";
    bias_initializer="zeros"; unit_forget_bias=True (forget-gate bias starts at 1);
    dropout=0.0; recurrent_dropout=0.0; and the RNN options. Weights: kernel (D, 4H),
    recurrent_kernel (H, 4H), bias (4H,). State: [h, c].

    >>> layer = LSTM(16, return_state=True)
    >>> y, h, c = layer(torch.zeros(2, 5, 3))
    >>> tuple(y.shape), tuple(c.shape)
    ((2, 16), (2, 16))
    """

    def __init__(self, units: int, activation: Act = "tanh",
                 recurrent_activation: Act = "sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 **kwargs):
        _check("LSTM", kwargs, units, activation=activation,
               recurrent_activation=recurrent_activation)
        cell = LSTMCell(units, activation, recurrent_activation, use_bias, kernel_initializer,
                        recurrent_initializer, bias_initializer, unit_forget_bias,
                **_cell_options(kwargs))
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                         dropout, recurrent_dropout, **kwargs)


class GRU(RNN):
    """Gated recurrent unit layer (seed 001); gates z, r, h as Keras.

    **Keras users:** the default here is ``reset_after=False`` (the course's equation and
    its parameter counts); Keras 3 defaults to ``reset_after=True``. Pass
    ``GRU(units, reset_after=True)`` to load a Keras 3 GRU's weights (its bias has shape
    (2, 3H)) or to match its outputs; ``set_weights`` says so when the shapes show it.

    Args: units; activation="tanh"; recurrent_activation="sigmoid"; use_bias=True;
    kernel_initializer="glorot_uniform"; recurrent_initializer="orthogonal";
    bias_initializer="zeros"; reset_after=False (the course's equation, one bias (3H,) and
    the explicit loop; True: the cuDNN/PyTorch/Keras-3 form, bias (2, 3H), fused kernel);
    dropout=0.0; recurrent_dropout=0.0; and the RNN options. Weights: kernel (D, 3H),
    recurrent_kernel (H, 3H), bias.

    >>> layer = GRU(128)
    >>> _ = layer(torch.zeros(1, 2, 64))
    >>> layer.count_params()
    74112
    """

    def __init__(self, units: int, activation: Act = "tanh",
                 recurrent_activation: Act = "sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = False, **kwargs):
        _check("GRU", kwargs, units, activation=activation,
               recurrent_activation=recurrent_activation)
        cell = GRUCell(units, activation, recurrent_activation, use_bias, kernel_initializer,
                       recurrent_initializer, bias_initializer, reset_after,
                **_cell_options(kwargs))
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                         dropout, recurrent_dropout, **kwargs)

    @property
    def reset_after(self) -> bool:
        return self.cell.reset_after

    def set_weights(self, weights) -> None:
        shapes = [tuple(np.shape(w)) for w in weights]
        H = self.units
        if not self.reset_after and len(shapes) == 3 and shapes[2] == (2, 3 * H):
            raise ValueError(
                f"{self.name} (GRU): the bias given has shape {shapes[2]}, the layout of a "
                f"Keras 3 GRU (reset_after=True, Keras 3's default), but this GRU uses "
                f"reset_after=False (the course's equation, bias ({3 * H},)). Create it as "
                f"GRU({H}, reset_after=True) to load these weights.")
        super().set_weights(weights)


__all__ = ["SimpleRNN", "LSTM", "GRU"]
