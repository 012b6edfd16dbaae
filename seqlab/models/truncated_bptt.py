"""Truncated backpropagation through time for long streams (Williams & Peng's BPTT(k1, k2)).

Full BPTT on a stream of 100,000 steps would keep every step's activations for one update.
Truncated BPTT updates every ``k1`` steps and backpropagates only ``k2 >= k1`` steps:

    for t = k1, 2 k1, 3 k1, ...:
        run the model over x[t-k2 : t] starting from the (detached) state at t-k2
        loss = the loss of the last k1 outputs;  backward;  optimizer step

The state at the start of the next window is carried from the pass that reached it (k1 = k2,
as a Keras stateful layer does) or advanced without gradient (k2 > k1), so each step of the
stream is seen by exactly one loss term and gradients never cross a window's start.
With ``k1 = k2 = len(stream)`` this is exactly full BPTT (tested).

The model must map (B, T, D) -> (B, T, ...) (recurrent layers with return_sequences=True);
its recurrent layers are made stateful while it runs. Shapes: B streams, T time.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional

import numpy as np
import torch

from seqlab.layers.recurrent.rnn import RNN
from seqlab.losses import scalar_loss


@contextlib.contextmanager
def _stateful(model: torch.nn.Module) -> Iterator[list[RNN]]:
    layers = [m for m in model.modules() if isinstance(m, RNN)]
    if not layers:
        raise ValueError("truncated_bptt: the model has no seqlab recurrent layer.")
    for layer in layers:
        if layer.go_backwards:
            raise ValueError(f"truncated_bptt: {layer.name} runs backwards (go_backwards or "
                             f"Bidirectional); a stream can only be read forwards.")
    saved = [(layer.stateful, layer.states) for layer in layers]
    for layer in layers:
        layer.stateful = True
        layer.reset_states()
    try:
        yield layers
    finally:
        for layer, (flag, states) in zip(layers, saved):
            layer.stateful = flag
            layer.reset_states(states)


def _get(layers: list[RNN]) -> list:
    return [layer.states for layer in layers]


def _set(layers: list[RNN], states: list) -> None:
    for layer, s in zip(layers, states):
        layer.reset_states(s)


def truncated_bptt(model: torch.nn.Module, x, y, k1: int, k2: Optional[int] = None,
                   loss: Optional[Callable] = None,
                   optimizer: Optional[torch.optim.Optimizer] = None,
                   clipnorm: Optional[float] = None) -> list[float]:
    """One pass of BPTT(k1, k2) over the streams ``x`` (B, T, D) with targets ``y`` (B, T, ...).

    Args:
        k1: steps between updates.  k2: steps backpropagated (default k1; k2 >= k1).
        loss: ``loss(output, target) -> scalar`` (default: the model's compiled loss, else MSE).
        optimizer: stepped after every window; None accumulates gradients in ``.grad`` (each
            window's loss is weighted by its share of the stream, so the sum is the mean loss).
        clipnorm: clip the global gradient norm of each update.

    Returns the loss of each window.

    >>> import seqlab
    >>> from seqlab.layers import SimpleRNN, Dense
    >>> m = seqlab.Sequential([SimpleRNN(4, return_sequences=True), Dense(1)])
    >>> len(truncated_bptt(m, torch.randn(2, 10, 1), torch.randn(2, 10, 1), k1=5))
    2
    """
    k2 = k1 if k2 is None else k2
    if not (isinstance(k1, int) and isinstance(k2, int) and 1 <= k1 <= k2):
        raise ValueError(f"truncated_bptt: need integers 1 <= k1 <= k2, got k1={k1!r}, "
                         f"k2={k2!r}.")
    x = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    y = torch.as_tensor(np.asarray(y)) if not isinstance(y, torch.Tensor) else y
    if x.dim() != 3 or y.shape[:2] != x.shape[:2]:
        raise ValueError(f"truncated_bptt: x must be (B, T, D) and y (B, T, ...), got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    if not any(True for _ in model.parameters()):         # a lazy model: build it first
        with torch.no_grad():
            model(x[:, :1].float() if x.is_floating_point() else x[:, :1])
    ref = next(model.parameters())
    x = x.to(ref.device, ref.dtype if x.is_floating_point() else x.dtype)
    y = y.to(ref.device, ref.dtype if y.is_floating_point() else y.dtype)
    loss_fn = loss or scalar_loss(getattr(model, "loss", None))
    T = x.shape[1]
    losses = []
    with _stateful(model) as layers:
        start, start_state = 0, _get(layers)              # window start and its state
        for t in range(k1, T + k1, k1):
            t = min(t, T)
            first = max(0, t - k2)                        # this window: x[first:t]
            _set(layers, start_state)
            if first > start:                             # advance the state, no gradient
                with torch.no_grad():
                    model(x[:, start:first])              # (B, first-start, D)
                start, start_state = first, _get(layers)
            out = model(x[:, first:t])                    # (B, t-first, ...)
            n = t - max(first, t - k1)                    # outputs that carry a loss: last k1
            value = loss_fn(out[:, -n:], y[:, t - n:t])
            if optimizer is None:
                (value * n / T).backward()
            else:
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                if clipnorm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clipnorm)
                optimizer.step()
            losses.append(float(value.detach()))
            if t == T:
                break
            if k1 == k2:  # the next window starts at t: keep the state this pass ended with
                start, start_state = t, _get(layers)
    return losses
