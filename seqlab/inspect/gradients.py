"""Backpropagation through time, made visible (seeds 001/002: vanishing/exploding gradients).

The gradient of the loss with respect to an early hidden state is a product of Jacobians,

    dL/dh_t = dL/dh_T * prod_{k=t+1..T} dh_k/dh_{k-1},

so its norm shrinks (vanishes) or grows (explodes) geometrically with T - t for a plain RNN,
while the LSTM/GRU's additive memory path keeps it near constant. This module measures it on
*your* model and batch:

* ``hidden_gradients(model, x, y)``: ||dL/dh_t|| for every time step of every recurrent layer
  (the explicit loop runs with a zero "probe" added to each h_t; dL/dprobe_t = dL/dh_t);
* ``gate_activations(model, x)``: the LSTM/GRU gates at every step, with saturation statistics;
* ``hidden_states(model, x)``: the state trajectory h_1..h_T;
* ``GradientNormLogger``: a ``fit`` callback recording each parameter's gradient norm.

Computations run on a float64 copy of the model by default, so tiny norms (1e-25) do not
round to zero. Shapes: B batch, T time, H units.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np
import torch

from seqlab.layers.recurrent.rnn import RNN
from seqlab.losses import scalar_loss
from seqlab.models.callbacks import Callback


def recurrent_layers(model: torch.nn.Module) -> list[tuple[str, RNN]]:
    """(name, layer) of every recurrent layer in ``model`` (Bidirectional: both directions),
    named by the layers' own names (``lstm``, ``forward_lstm``...), made unique by their
    module path when two share a name."""
    found = [(path, m) for path, m in model.named_modules() if isinstance(m, RNN)]
    names = [getattr(m, "name", path) for path, m in found]
    return [(n if names.count(n) == 1 else f"{n} ({path})", m)
            for n, (path, m) in zip(names, found)]


@contextlib.contextmanager
def _probed(layers: list[tuple[str, RNN]], record_gates: bool = False) -> Iterator[dict]:
    """Run the layers' explicit loops with a zero probe added to each h_t; collect probes,
    states and (optionally) gates per layer."""
    log: dict[str, dict[str, list]] = {}
    for name, layer in layers:
        entry = log[name] = {"probes": [], "h": [], "gates": []}
        cell = layer.cell

        def probing_step(xw_t, state, weights, rec_mask, cell=cell, entry=entry):
            if record_gates:
                cell.gate_log = entry["gates"]
            h, new_state = cell.recur(xw_t, state, weights, rec_mask)
            cell.gate_log = None
            probe = torch.zeros_like(h, requires_grad=True)  # dL/dprobe_t = dL/dh_t
            entry["probes"].append(probe)
            h = h + probe                                     # (B, H)
            entry["h"].append(h.detach())
            return h, [h] + list(new_state[1:])

        layer.step_override = probing_step
    try:
        yield log
    finally:
        for _, layer in layers:
            layer.step_override = None
            layer.cell.gate_log = None


def _copy(model: torch.nn.Module, dtype: Optional[torch.dtype], x) -> torch.nn.Module:
    """A copy to probe, after building ``model`` itself on ``x`` if it was still lazy (so
    the copy has the model's own weights)."""
    if any(not getattr(m, "built", True) for m in model.modules()):
        was_training = model.training
        with torch.no_grad():
            model.eval()(_as_tensor(x)[:1])
        model.train(was_training)
    clone = copy.deepcopy(model)
    if dtype is not None:
        clone.to(dtype)
    return clone


@dataclass
class GradientFlow:
    """||dL/dh_t|| per recurrent layer. ``norms[name]`` has shape (T,), in processing order
    (step 1 first); ``ratio(name)`` = ||dL/dh_T|| / ||dL/dh_1||: >> 1 means vanishing."""

    norms: dict[str, np.ndarray] = field(default_factory=dict)
    loss: float = float("nan")

    def ratio(self, name: Optional[str] = None) -> float:
        n = self.norms[name or next(iter(self.norms))]
        return float(n[-1] / n[0]) if n[0] > 0 else float("inf")


def _as_tensor(a, dtype=None) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    return t.to(dtype) if dtype is not None and t.is_floating_point() else t


def hidden_gradients(model: torch.nn.Module, x, y, loss: Optional[Callable] = None,
                     dtype: Optional[torch.dtype] = torch.float64) -> GradientFlow:
    """||dL/dh_t|| for every step t of every recurrent layer of ``model`` on batch (x, y).

    Args:
        model: any module containing seqlab recurrent layers (Sequential or your own).
        x, y: one batch (arrays or tensors).
        loss: ``loss(output, y) -> scalar``; default: the model's compiled loss, else MSE.
        dtype: the copy's precision (float64 by default; None keeps the model's).

    >>> import seqlab
    >>> from seqlab.layers import SimpleRNN, Dense
    >>> m = seqlab.Sequential([SimpleRNN(4, input_shape=(6, 1), name="rnn"), Dense(1)])
    >>> flow = hidden_gradients(m, torch.randn(2, 6, 1), torch.zeros(2, 1))
    >>> flow.norms["rnn"].shape
    (6,)
    """
    clone = _copy(model, dtype, x).eval()
    layers = recurrent_layers(clone)
    if not layers:
        raise ValueError("hidden_gradients: the model has no seqlab recurrent layer "
                         "(SimpleRNN, LSTM, GRU, RNN, Bidirectional).")
    x, y = _as_tensor(x, dtype), _as_tensor(y, dtype)
    loss_fn = loss or scalar_loss(getattr(model, "loss", None))
    with _probed(layers) as log:
        out = clone(x)
        value = loss_fn(out, y)
        probes = [p for entry in log.values() for p in entry["probes"]]
        grads = torch.autograd.grad(value, probes, allow_unused=True)
    flow = GradientFlow(loss=float(value.detach()))
    i = 0
    for name, entry in log.items():
        n = len(entry["probes"])
        flow.norms[name] = np.array([0.0 if g is None else float(g.norm())
                                     for g in grads[i:i + n]])
        i += n
    return flow


def hidden_states(model: torch.nn.Module, x) -> dict[str, np.ndarray]:
    """The state trajectory: ``{layer: (B, T, H)}`` of h_t in processing order."""
    clone = _copy(model, None, x).eval()
    with torch.no_grad(), _probed(recurrent_layers(clone)) as log:
        clone(_as_tensor(x))
    return {name: torch.stack(e["h"], dim=1).cpu().numpy() for name, e in log.items()}


@dataclass
class GateReport:
    """Gate values per layer: ``values[layer][gate]`` is (B, T, H); ``saturation`` the
    fraction of values below ``low`` or above ``high`` (a saturated gate passes no gradient)."""

    values: dict[str, dict[str, np.ndarray]]
    low: float = 0.05
    high: float = 0.95

    def saturation(self) -> dict[str, dict[str, float]]:
        return {layer: {g: float(((v < self.low) | (v > self.high)).mean())
                        for g, v in gates.items()}
                for layer, gates in self.values.items()}

    def mean(self) -> dict[str, dict[str, float]]:
        return {layer: {g: float(v.mean()) for g, v in gates.items()}
                for layer, gates in self.values.items()}


def gate_activations(model: torch.nn.Module, x, low: float = 0.05,
                     high: float = 0.95) -> GateReport:
    """LSTM (i, f, o) and GRU (z, r) gate activations at every step of every layer."""
    clone = _copy(model, None, x).eval()
    with torch.no_grad(), _probed(recurrent_layers(clone), record_gates=True) as log:
        clone(_as_tensor(x))
    values = {}
    for name, entry in log.items():
        if entry["gates"]:
            keys = entry["gates"][0].keys()
            values[name] = {k: torch.stack([g[k] for g in entry["gates"]], 1).cpu().numpy()
                            for k in keys}
    return GateReport(values, low, high)


class GradientNormLogger(Callback):
    """``fit`` callback: the L2 norm of every parameter's gradient after each batch
    (after clipping). ``self.norms[param_name]`` is a list over batches."""

    def __init__(self, every: int = 1):
        super().__init__()
        self.every = max(1, int(every))
        self.norms: dict[str, list[float]] = {}
        self._batches = 0

    def on_batch_end(self, batch, logs=None) -> None:
        self._batches += 1
        if self._batches % self.every:
            return
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                self.norms.setdefault(name, []).append(float(p.grad.detach().norm()))
