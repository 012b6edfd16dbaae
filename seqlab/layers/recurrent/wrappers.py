"""``Bidirectional``: one recurrent layer reads the sequence forwards, a copy reads it backwards.

Shapes: B batch, T time, D input features, H units.
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers.base import Layer, Shape, attach_mask, get_mask
from seqlab.layers.core import Wrapper
from seqlab.layers.recurrent.rnn import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Wrapper):
    """Runs ``layer`` forwards and a backward copy of it, then merges the two outputs.

    Args:
        layer: a recurrent layer (``SimpleRNN``, ``LSTM``, ``GRU`` or ``RNN``); it becomes
            the forward layer.
        merge_mode: "concat" (default, (..., 2H)), "sum", "mul", "ave" ((..., H)), or None
            (a list ``[forward_output, backward_output]``).
        backward_layer: optional explicit backward layer (must have ``go_backwards``
            opposite to ``layer`` and the same return_sequences / return_state); by default
            a fresh copy of ``layer``'s configuration with ``go_backwards`` flipped.

    With return_sequences the backward outputs are flipped back to the input's time order
    before merging, and outputs at masked steps are zeros (Keras's behaviour). With
    return_state the result is ``[output, *forward_states, *backward_states]``.
    ``get_weights()`` lists the forward layer's weights, then the backward layer's (Keras).
    ``bi.layer`` is the forward layer (as Keras's ``Wrapper.layer``); it is registered
    once, as ``forward_layer``, so the saved weights keep their names.

    >>> from seqlab.layers.recurrent import LSTM
    >>> bi = Bidirectional(LSTM(8, return_sequences=True))
    >>> tuple(bi(torch.zeros(2, 5, 3)).shape)
    (2, 5, 16)
    """

    supports_masking = True

    def __init__(self, layer: RNN, merge_mode: Optional[str] = "concat",
                 backward_layer: Optional[RNN] = None, **kwargs):
        Layer.__init__(self, **kwargs)  # not Wrapper's: ``layer`` is forward_layer (below)
        who = f"Bidirectional {self.name}"
        if not isinstance(layer, RNN):
            raise TypeError(f"{who}: expected a recurrent layer (SimpleRNN, LSTM, GRU, RNN), "
                            f"got {type(layer).__name__}.")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"{who}: merge_mode must be one of {MERGE_MODES}, got "
                             f"{merge_mode!r}.")
        if backward_layer is None:
            config = dict(layer.get_config(), go_backwards=not layer.go_backwards,
                          name=f"backward_{layer.name}")
            backward_layer = type(layer).from_config(config)
        else:
            if not isinstance(backward_layer, RNN):
                raise TypeError(f"{who}: backward_layer must be a recurrent layer, got "
                                f"{type(backward_layer).__name__}.")
            for attr in ("return_sequences", "return_state", "stateful"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(f"{who}: backward_layer.{attr} must equal the forward "
                                     f"layer's ({getattr(layer, attr)}); set {attr}="
                                     f"{getattr(layer, attr)} on backward_layer.")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError(f"{who}: backward_layer must have go_backwards="
                                 f"{not layer.go_backwards} (the opposite of layer's).")
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        for sub in (layer, backward_layer):  # Keras: masked outputs are zeros here
            sub.zero_output_for_mask = self.return_sequences

    @property
    def layer(self) -> RNN:
        return self.forward_layer

    def build(self, input_shape: Shape) -> None:
        self.forward_layer.build_once(input_shape)
        self.backward_layer.build_once(input_shape)

    @property
    def last_path(self) -> tuple:
        return (self.forward_layer.last_path, self.backward_layer.last_path)

    def _merge(self, y_f: torch.Tensor, y_b: torch.Tensor):
        if self.merge_mode == "concat":
            return torch.cat([y_f, y_b], dim=-1)                           # (..., 2H)
        if self.merge_mode == "sum":
            return y_f + y_b
        if self.merge_mode == "mul":
            return y_f * y_b
        if self.merge_mode == "ave":
            return (y_f + y_b) / 2
        return [y_f, y_b]

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                initial_state=None, training: Optional[bool] = None):
        mask = get_mask(x, mask)
        init_f = init_b = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            init_f, init_b = states[:half], states[half:]
        out_f = self.forward_layer(x, mask=mask, initial_state=init_f, training=training)
        out_b = self.backward_layer(x, mask=mask, initial_state=init_b, training=training)
        states = []
        if self.return_state:
            out_f, states_f = out_f[0], out_f[1:]
            out_b, states_b = out_b[0], out_b[1:]
            states = list(states_f) + list(states_b)
        if self.return_sequences:
            out_b = out_b.flip(1)                                          # back to input order
        y = self._merge(out_f, out_b)
        if self.return_sequences and mask is not None:
            for t in (y if isinstance(y, list) else [y]):
                attach_mask(t, mask)
        if self.return_state:
            return (y if isinstance(y, list) else [y]) + states
        return y

    def compute_output_shape(self, input_shape: Shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
            states = states + states
        if self.merge_mode == "concat":
            H = shape[-1]
            out = [tuple(shape[:-1]) + (None if H is None else 2 * H,)]
        elif self.merge_mode is None:
            out = [tuple(shape), tuple(shape)]
        else:
            out = [tuple(shape)]
        if self.return_state or self.merge_mode is None:
            return out + states
        return out[0]

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def reset_states(self, states=None) -> None:
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
        else:
            half = len(states) // 2
            self.forward_layer.reset_states(states[:half])
            self.backward_layer.reset_states(states[half:])

    def reset_state(self, states=None) -> None:
        """Keras 3's name of ``reset_states``."""
        self.reset_states(states)

    def step(self, x_t, state=None):
        raise NotImplementedError(
            f"{self.name} (Bidirectional): a backward layer needs the whole sequence, so it "
            f"cannot be stepped one token at a time. Call the layer on the full sequence, or "
            f"use a unidirectional layer for generation.")
