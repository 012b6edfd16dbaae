"""User cells written the Keras way, run by the generic ``RNN`` layer.

A Keras cell is a layer with

* ``state_size``: an int (one state) or a list of ints (several states), each (B, n);
* ``call(inputs, states) -> (output, new_states)``: ``inputs`` (B, D), ``states`` always a
  list (also for one state, as Keras passes it), ``new_states`` a list or one tensor;
* optionally ``output_size`` (default ``state_size[0]``) and
  ``get_initial_state(batch_size)`` (default zeros);
* optionally a ``training`` argument in ``call``.

``RNN`` builds it with ``cell.build((B, D))`` and runs ``keras_cell_loop`` over time; masks,
``go_backwards``, ``stateful``, ``return_state``, ``return_sequences`` and ``initial_state``
are handled by ``RNN`` exactly as for seqlab's own cells (a masked step keeps the previous
states, and repeats the previous output).

    >>> import torch
    >>> from seqlab.layers.base import Layer
    >>> class Minimal(Layer):               # keras.io's MinimalRNNCell
    ...     def __init__(self, units, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.units, self.state_size = units, units
    ...     def build(self, input_shape):
    ...         self.kernel = self.add_weight((input_shape[-1], self.units))
    ...         self.recurrent_kernel = self.add_weight((self.units, self.units))
    ...     def call(self, inputs, states):
    ...         h = inputs @ self.kernel + states[0] @ self.recurrent_kernel
    ...         return h, [h]
    >>> from seqlab.layers.recurrent import RNN
    >>> RNN(Minimal(4), return_sequences=True)(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 5, 4])

Shapes: B batch, T time, D input features.
"""
from __future__ import annotations

import inspect
from typing import Optional

import torch


def is_keras_cell(cell) -> bool:
    """A cell written the Keras way (not one of seqlab's own ``recur`` cells)."""
    return (not hasattr(cell, "recur") and hasattr(cell, "state_size") and callable(cell))


def state_sizes(cell) -> list[int]:
    sizes = cell.state_size
    sizes = [sizes] if isinstance(sizes, int) else list(sizes)
    if not sizes or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise ValueError(f"RNN: cell {type(cell).__name__} has state_size={cell.state_size!r}; "
                         f"it must be a positive int or a list of positive ints (nested "
                         f"state shapes are not supported).")
    return sizes


def output_size(cell) -> int:
    return int(getattr(cell, "output_size", None) or state_sizes(cell)[0])


def initial_state(cell, batch_size: int, device=None, dtype=None) -> list:
    """The cell's ``get_initial_state(batch_size)`` as a list, else zeros (B, n) per state."""
    fn = getattr(cell, "get_initial_state", None)
    if fn is not None:
        states = fn(batch_size=batch_size)
        states = [states] if isinstance(states, torch.Tensor) else list(states)
        return [torch.as_tensor(s).to(device=device, dtype=dtype) for s in states]
    return [torch.zeros(batch_size, n, device=device, dtype=dtype) for n in state_sizes(cell)]


def _accepts_training(cell) -> bool:
    fn = cell.call if "call" in type(cell).__dict__ or not hasattr(cell, "forward") else cell.forward
    try:
        return "training" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def keras_cell_loop(cell, x: torch.Tensor, state: list, mask: Optional[torch.Tensor],
                    keep_outputs: bool = True, training: bool = False):
    """Run ``cell(x_t, states)`` over x (B, T, D). Returns ``(outputs (B, T, O) or None,
    last output (B, O), final states)``, as ``loops.python_loop``."""
    kwargs = {"training": training} if _accepts_training(cell) else {}
    masks = mask.unsqueeze(-1).unbind(1) if mask is not None else None  # T x (B, 1)
    prev, out, outs = None, None, []
    for t, x_t in enumerate(x.unbind(1)):                                # x_t (B, D)
        out, new_state = cell(x_t, list(state), **kwargs)
        new_state = [new_state] if isinstance(new_state, torch.Tensor) else list(new_state)
        if len(new_state) != len(state):
            raise ValueError(f"RNN: cell {type(cell).__name__} returned {len(new_state)} "
                             f"states for a state_size of {len(state)}; return one new state "
                             f"per entry of state_size.")
        if masks is not None:
            m = masks[t]
            prev = torch.zeros_like(out) if prev is None else prev
            new_state = [torch.where(m, n, s) for n, s in zip(new_state, state)]
            out = torch.where(m, out, prev)                              # masked: repeat
            prev = out
        state = new_state
        if keep_outputs:
            outs.append(out)
    outputs = torch.stack(outs, dim=1) if keep_outputs else None         # (B, T, O)
    return outputs, out, state
