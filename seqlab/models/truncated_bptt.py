"""Truncated backpropagation through time for long streams (Williams & Peng's BPTT(k1, k2)).

Full BPTT on a stream of 100,000 steps would keep every step's activations for one update.
Truncated BPTT updates every ``k1`` steps and backpropagates only ``k2 >= k1`` steps:

    for t = k1, 2 k1, 3 k1, ...:
        run the model over x[t-k2 : t] starting from the (detached) state at t-k2
        loss = the loss of the last k1 outputs;  backward;  optimizer step

The windows are a batch source in stream order (``StreamWindows``, never shuffled) and
``Model.fit`` runs them: one window per step, through fit's one backward. The state at
the start of a window is carried by the stateful recurrent layers from the pass that
reached it (k1 = k2, as a Keras stateful layer does) or advanced without gradient from
the previous window's start (k2 > k1, in ``StreamTrainer.compute_loss``), so each step of
the stream is seen by exactly one loss term and gradients never cross a window's start.
When k1 does not divide the length, the last window's loss counts only the outputs no
earlier window counted. With ``k1 = k2 = len(stream)`` this is exactly full BPTT (tested).

The model must map (B, T, D) -> (B, T, ...) (recurrent layers with return_sequences=True);
its recurrent layers are made stateful while it runs. Shapes: B streams, T time, D features.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np
import torch

from seqlab.layers.base import Layer
from seqlab.layers.recurrent.rnn import RNN
from seqlab.losses import scalar_loss
from seqlab.models.model import Model
from seqlab.models.training import needs_closure


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


@dataclass
class Window:
    """One update of BPTT(k1, k2)."""
    warm: torch.Tensor   # (B, w, D) steps run first without gradient (k2 > k1); w may be 0
    x: torch.Tensor      # (B, k, D) the steps back-propagated, k <= k2
    y: torch.Tensor      # (B, n, ...) targets of the last n <= k1 outputs
    carry: bool          # k1 = k2: start from the state the previous window ended with


class StreamWindows:
    """The windows of BPTT(k1, k2) over streams ``x`` (B, T, D), targets ``y`` (B, T, ...),
    as a batch source: one ``Window`` per batch, in stream order whatever ``shuffle``
    says (the state runs forwards); ``batch_size`` is not used."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, k1: int, k2: int):
        self.x, self.y, self.k1, self.k2 = x, y, k1, k2
        T, self.spans, start, prev = x.shape[1], [], 0, 0
        for t in range(k1, T + k1, k1):
            t = min(t, T)
            first = max(0, t - k2)                        # this window: x[first:t]
            if k1 == k2:
                first = max(first, prev)                  # carried: starts where the last ended
            n = t - prev                                  # outputs no window counted: k1 (or less)
            self.spans.append((start, first, t, n))       # warm-up x[start:first] first
            start, prev = (t if k1 == k2 else max(start, first)), t
            if t == T:
                break

    def num_batches(self, batch_size: int = 0) -> int:
        return len(self.spans)

    def batches(self, batch_size: int = 0, shuffle: bool = False, seed: int = 0,
                epoch: int = 0) -> Iterator[Window]:
        for start, first, t, n in self.spans:
            yield Window(self.x[:, start:first], self.x[:, first:t], self.y[:, t - n:t],
                         self.k1 == self.k2)


class StreamTrainer(Model):
    """``model`` trained window by window: ``compute_loss`` runs a ``Window`` from the
    right state and returns the loss of its last outputs. With ``accumulate`` each
    window's loss is weighted by its share of the stream (``n / T``), so the summed
    gradients are those of the mean loss over the stream."""

    def __init__(self, model: torch.nn.Module, loss: Callable, rnns: list[RNN],
                 steps: int, accumulate: bool):
        super().__init__(name=f"{getattr(model, 'name', type(model).__name__)}_bptt")
        self.model, self.loss_fn, self.rnns = model, loss, rnns
        self.steps, self.accumulate = steps, accumulate
        self.saved = _get(rnns)  # the state at the start of the next window (k2 > k1)
        self.window_losses: list[float] = []
        self.built = True

    def compute_loss(self, w: Window) -> tuple[torch.Tensor, int, dict]:
        if not w.carry:
            _set(self.rnns, self.saved)
            if w.warm.shape[1]:
                with torch.no_grad():
                    self.model(w.warm)                    # (B, w, ...): advance, no gradient
            self.saved = _get(self.rnns)
        out = self.model(w.x)                             # (B, k, ...)
        n = w.y.shape[1]
        value = self.loss_fn(out[:, -n:], w.y)
        self.window_losses.append(float(value.detach()))
        return value * n, (self.steps if self.accumulate else n), {}


class _Accumulate(torch.optim.Optimizer):
    """Neither zeroes nor steps: each window's gradient adds to ``.grad``."""

    def __init__(self, params):
        super().__init__(params, {})

    def zero_grad(self, set_to_none: bool = True) -> None:
        return None

    def step(self, closure=None):
        return None


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
        clipnorm: clip the global gradient norm of each update (``global_clipnorm``).

    The windows go through ``Model.fit`` (a ``StreamTrainer`` around ``model`` on
    ``StreamWindows``); ``model``'s own compile settings and train/eval mode are kept.
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
    if (not any(True for _ in model.parameters())
            or any(isinstance(m, Layer) and not m.built for m in model.modules())):
        with torch.no_grad():                             # a lazy model: build it first
            model(x[:, :1].float() if x.is_floating_point() else x[:, :1])
    ref = next(model.parameters())
    x = x.to(ref.device, ref.dtype if x.is_floating_point() else x.dtype)
    y = y.to(ref.device, ref.dtype if y.is_floating_point() else y.dtype)
    if optimizer is not None and needs_closure(optimizer):
        raise ValueError(f"truncated_bptt: {type(optimizer).__name__} evaluates the loss "
                         f"several times a step, but a window moves the carried state "
                         f"forwards once. Use a one-evaluation optimizer (Adam, SGD...).")
    loss_fn = loss or scalar_loss(getattr(model, "loss", None))
    was_training = model.training
    with _stateful(model) as rnns:
        trainer = StreamTrainer(model, loss_fn, rnns, x.shape[1], accumulate=optimizer is None)
        params = [p for p in model.parameters() if p.requires_grad]
        trainer.compile(optimizer=optimizer if optimizer is not None else _Accumulate(params),
                        global_clipnorm=clipnorm if optimizer is not None else None)
        trainer.fit(StreamWindows(x, y, k1, k2), epochs=1, verbose=0, shuffle=False,
                    device=None, micro_batch=False)
    model.train(was_training)
    return trainer.window_losses


__all__ = ["truncated_bptt", "StreamWindows", "StreamTrainer", "Window"]
