"""Layers in an exported graph. ``ExportedRNN`` stands in for a seqlab ``RNN`` or
``Bidirectional`` while a model is exported, with the same call (``x, mask, initial_state``)
and the same outputs, so any model's own ``forward`` / ``step`` traces unchanged.

Why a stand-in: the explicit loop is a Python ``for`` over time that a tracer unrolls to
the example's length, and torch's fused ``nn.LSTM`` kernel specialises the length under
``torch.export``; either way the graph would only take one T. Instead:

* ONNX: one native ONNX ``LSTM`` / ``GRU`` / ``RNN`` node fed the layer's own weights
  (gate blocks reordered: Keras ``i, f, c, o`` -> ONNX ``i, o, f, c``; GRU ``z, r, h`` as
  is), with ``sequence_lens`` from the mask, so a right-padded batch runs as in seqlab.
  ``GRU(reset_after=False)`` (the course form) is ONNX's ``linear_before_reset=0``;
  ``reset_after=True`` is ``linear_before_reset=1``. A ``Bidirectional`` layer is one
  node with ``direction="bidirectional"``.
* pt2: the cell's own equations (``cell.recur``) inside ``torch.scan``, which
  ``torch.export`` keeps as a loop over a dynamic T.

Masks must be right padding (real steps first), as every seqlab task pads; the length of
a row is ``mask.sum(1)``. Outputs follow seqlab: with a mask, a masked step repeats the
previous output (zeros when ``zero_output_for_mask``, as inside ``Bidirectional``).

Shapes: B batch, T time, D input features, H units, k gates, n directions.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Optional

import torch
from torch import nn

from seqlab.errors import ExportError  # noqa: F401 (re-exported)
from seqlab.layers.base import attach_mask, get_mask
from seqlab.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell
from seqlab.layers.recurrent.rnn import RNN
from seqlab.layers.recurrent.wrappers import Bidirectional


_ONNX_OP = {LSTMCell: "LSTM", GRUCell: "GRU", SimpleRNNCell: "RNN"}


def check_cell(layer: nn.Module, cell) -> None:
    """Fail with the layer's name unless ``cell`` is a built-in cell with activations an
    ONNX recurrent node has."""
    who = f"{type(layer).__name__} {getattr(layer, 'name', '')}".strip()
    if type(cell) not in _ONNX_OP:
        raise ExportError(f"{who}: custom cell {type(cell).__name__} cannot be exported (an "
                          f"exported graph needs a built-in SimpleRNNCell, LSTMCell or "
                          f"GRUCell); rebuild the layer with one of them.")
    act = cell.activation_name
    rec = getattr(cell, "recurrent_activation_name", "sigmoid")
    ok = act in ("tanh", "relu") if type(cell) is SimpleRNNCell else (act, rec) == ("tanh", "sigmoid")
    if not ok:
        raise ExportError(f"{who}: activation={act!r}, recurrent_activation={rec!r} cannot be "
                          f"exported; use activation='tanh' (SimpleRNN: or 'relu') and "
                          f"recurrent_activation='sigmoid', and retrain.")


# ---------------------------------------------------------------------- ONNX weights
def _reorder(w: torch.Tensor, cell) -> torch.Tensor:
    """Gate blocks along dim 0 from Keras order to ONNX order (LSTM i,f,c,o -> i,o,f,c)."""
    if type(cell) is LSTMCell:
        i, f, c, o = w.chunk(4, dim=0)
        return torch.cat([i, o, f, c], dim=0)
    return w


def onnx_weights(cell) -> tuple:
    """W (kH, D), R (kH, H), B (2kH,) of one direction in ONNX's layout."""
    W = _reorder(cell.kernel.t(), cell)                                    # (kH, D)
    R = _reorder(cell.recurrent_kernel.t(), cell)                          # (kH, H)
    kH = W.shape[0]
    if cell.bias is None:
        b_in = b_rec = W.new_zeros(kH)
    elif type(cell) is GRUCell and cell.reset_after:
        b_in, b_rec = cell.bias[0], cell.bias[1]                           # (3H,) each
    else:
        b_in, b_rec = cell.bias, W.new_zeros(kH)
    return W, R, torch.cat([_reorder(b_in, cell), _reorder(b_rec, cell)])  # (2kH,)


# ---------------------------------------------------------------------- reference loop
def _reverse_index(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) index that reverses each row's first ``length`` steps, padding in place."""
    t = torch.arange(T, device=lengths.device).unsqueeze(0)                # (1, T)
    L = lengths.unsqueeze(1)                                               # (B, 1)
    return torch.where(t < L, L - 1 - t, t)                                # (B, T)


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (B, T, F) rows reordered in time by index (B, T)."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def run_direction(cell, x, lengths, state, reverse: bool, use_scan: bool):
    """One direction of ONNX semantics: x (B, T, D), lengths (B,), state [h] / [h, c] ->
    Y (B, T, H) (zeros past each length), final state (state at each row's last real step)."""
    B, T, _ = x.shape
    if reverse:
        index = _reverse_index(lengths, T)
        x = _gather_time(x, index)                                         # (B, T, D)
    xw = cell.project(x)                                                   # (B, T, kH)
    real = (torch.arange(T, device=x.device).unsqueeze(0)
            < lengths.unsqueeze(1)).to(x.dtype).unsqueeze(-1)              # (B, T, 1)
    weights = None if use_scan else cell.recurrent_weights()  # scan: no views of parameters
    n = len(state)

    def step(carry, inp):
        xw_t, m_t = inp                                                    # (B, kH), (B, 1)
        h, new = cell.recur(xw_t, list(carry), weights)
        kept = [m_t * s + (1 - m_t) * c for s, c in zip(new, carry)]
        return kept, h * m_t

    if use_scan:
        from torch._higher_order_ops.scan import scan
        init = [s.clone(memory_format=torch.contiguous_format) for s in state]  # no aliases
        final, ys = scan(step, init, (xw.transpose(0, 1), real.transpose(0, 1)))
        y = ys.transpose(0, 1)                                             # (B, T, H)
    else:
        carry, outs = list(state), []
        for xw_t, m_t in zip(xw.unbind(1), real.unbind(1)):
            carry, y_t = step(carry, (xw_t, m_t))
            outs.append(y_t)
        final, y = carry, torch.stack(outs, 1)                             # (B, T, H)
    if reverse:
        y = _gather_time(y, index)
    return y, list(final)[:n]


_CELLS: dict = {}  # id -> cells of the node being traced


class _OnnxRecurrent(torch.autograd.Function):
    """Traced as one ONNX LSTM/GRU/RNN node; computes the same in torch for the tracer."""

    @staticmethod
    def forward(ctx, x, W, R, Bias, lens, h0, c0, key, op, H, direction, lbr, act):
        cells = _CELLS[key]
        tracing = torch._C._get_tracing_state()     # the node is traced, not its inside
        torch._C._set_tracing_state(None)
        try:
            return _OnnxRecurrent._compute(cells, x, lens, h0, c0, op, direction)
        finally:
            torch._C._set_tracing_state(tracing)

    @staticmethod
    def _compute(cells, x, lens, h0, c0, op, direction):
        xb = x.transpose(0, 1)                                             # (B, T, D)
        ys, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            state = [h0[d], c0[d]] if op == "LSTM" else [h0[d]]
            y, final = run_direction(cell, xb, lens.long(), state, d == 1 or direction == "reverse",
                                     use_scan=False)
            ys.append(y.transpose(0, 1))                                   # (T, B, H)
            hs.append(final[0])
            cs.append(final[-1])
        Y = torch.stack(ys, 1)                                             # (T, n, B, H)
        if op == "LSTM":
            return Y, torch.stack(hs), torch.stack(cs)
        return Y, torch.stack(hs)

    @staticmethod
    def symbolic(g, x, W, R, Bias, lens, h0, c0, key, op, H, direction, lbr, act):
        inputs = [x, W, R, Bias, lens, h0] + ([c0] if op == "LSTM" else [])
        attrs = {"hidden_size_i": H, "direction_s": direction}
        if op == "GRU":
            attrs["linear_before_reset_i"] = lbr
        if op == "RNN":
            attrs["activations_s"] = [act] * (2 if direction == "bidirectional" else 1)
        return g.op(op, *inputs, outputs=3 if op == "LSTM" else 2, **attrs)


def onnx_recurrent(cells: list, x, lengths, states: list, reverse: bool = False):
    """Run 1 (forward or ``reverse``) or 2 (bidirectional) cells as one ONNX node:
    x (B, T, D), lengths (B,), states per direction ([h] or [h, c]) ->
    Y (B, T, n, H), [final state per direction]."""
    cell = cells[0]
    op, H = _ONNX_OP[type(cell)], cell.units
    parts = [onnx_weights(c) for c in cells]
    W, R, Bias = (torch.stack(p) for p in zip(*parts))                     # (n, kH, D) ...
    h0 = torch.stack([s[0] for s in states])                               # (n, B, H)
    c0 = torch.stack([s[1] for s in states]) if op == "LSTM" else h0
    direction = "bidirectional" if len(cells) == 2 else ("reverse" if reverse else "forward")
    lbr = int(getattr(cell, "reset_after", False))
    act = "Relu" if getattr(cell, "activation_name", "tanh") == "relu" else "Tanh"
    key = id(cells[0])
    _CELLS[key] = cells                  # the tracer takes only plain values as arguments
    out = _OnnxRecurrent.apply(x.transpose(0, 1), W, R, Bias, lengths.to(torch.int32), h0, c0,
                               key, op, H, direction, lbr, act)
    Y = out[0].permute(2, 0, 1, 3)                                         # (B, T, n, H)
    finals = [[out[1][d]] + ([out[2][d]] if op == "LSTM" else []) for d in range(len(cells))]
    return Y, finals


# ---------------------------------------------------------------------- the stand-in
class ExportedRNN(nn.Module):
    """Stands in for ``layer`` (a seqlab ``RNN`` or ``Bidirectional``) during export;
    ``target`` is "onnx" (one native node) or "pt2" (``torch.scan`` of the equations)."""

    def __init__(self, layer: nn.Module, target: str):
        super().__init__()
        self.layer = layer
        self.target = target
        self.bidirectional = isinstance(layer, Bidirectional)
        subs = [layer.forward_layer, layer.backward_layer] if self.bidirectional else [layer]
        who = f"{type(layer).__name__} {layer.name}"
        for sub in subs:
            check_cell(layer, sub.cell)
            if sub.stateful:
                raise ExportError(f"{who}: a stateful layer carries its state between calls, "
                                  f"which an exported graph cannot; export a copy built with "
                                  f"stateful=False and pass the state as initial_state.")
        self.subs = subs

    @property
    def return_sequences(self) -> bool:
        return self.layer.return_sequences

    def _run(self, x, lengths, states, reverse: bool):
        cells = [s.cell for s in self.subs]
        if self.target == "onnx":
            return onnx_recurrent(cells, x, lengths, states, reverse)
        ys, finals = [], []
        for d, cell in enumerate(cells):
            y, final = run_direction(cell, x, lengths, states[d], reverse or d == 1, use_scan=True)
            ys.append(y)
            finals.append(final)
        return torch.stack(ys, 2), finals                                  # (B, T, n, H)

    def _zero_state(self, x):
        h = (x[:, 0, :1] * 0).expand(-1, self.subs[0].units).contiguous()  # (B, H), dynamic B
        return [h] * self.subs[0].cell.n_states

    def forward(self, x, mask: Optional[torch.Tensor] = None, initial_state=None,
                training: Optional[bool] = None):
        mask = get_mask(x, mask)
        B, T, _ = x.shape
        if mask is None:
            lengths = (x[:, :, 0] * 0 + 1).sum(1).long()                   # (B,) all T
        else:
            lengths = mask.long().sum(1).clamp(min=1)                      # (B,)
        n_dir = len(self.subs)
        if initial_state is None:
            states = [self._zero_state(x) for _ in range(n_dir)]
        else:
            flat = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            k = len(flat) // n_dir
            states = [flat[d * k:(d + 1) * k] for d in range(n_dir)]
        first = self.subs[0]
        if not self.bidirectional and first.go_backwards:
            if mask is not None and first.return_sequences:
                raise ExportError(f"RNN {first.name}: go_backwards=True with return_sequences "
                                  f"and a mask cannot be exported; wrap the layer in "
                                  f"Bidirectional or feed unpadded batches.")
        Y, finals = self._run(x, lengths, states, reverse=first.go_backwards and not self.bidirectional)
        if self.bidirectional:
            return self._bidirectional_outputs(Y, finals, lengths, mask)
        y = Y[:, :, 0]                                                     # (B, T, H)
        last = finals[0][0]                                                # (B, H)
        layer = self.layer
        if layer.return_sequences:
            if layer.go_backwards:
                out = y.flip(1)
            elif mask is not None and not layer.zero_output_for_mask:
                t = torch.arange(T, device=x.device).unsqueeze(0)          # latest real step
                out = _gather_time(y, torch.minimum(t, lengths.unsqueeze(1) - 1))
            else:
                out = y
            if mask is not None:
                attach_mask(out, mask)
        else:
            out = last
            if mask is not None and layer.zero_output_for_mask:
                out = out * (lengths == T).to(out.dtype).unsqueeze(1)
        if layer.return_state:
            return [out] + finals[0]
        return out

    def _bidirectional_outputs(self, Y, finals, lengths, mask):
        layer = self.layer
        if layer.return_sequences:
            y_f, y_b = Y[:, :, 0], Y[:, :, 1]                              # zeros past length
        else:
            y_f, y_b = finals[0][0], finals[1][0]                          # (B, H) each
        y = layer._merge(y_f, y_b)
        if layer.return_sequences and mask is not None:
            for t in (y if isinstance(y, list) else [y]):
                attach_mask(t, mask)
        if layer.return_state:
            return (y if isinstance(y, list) else [y]) + finals[0] + finals[1]
        return y

    def step(self, x_t, state=None):
        """One step (B, D) -> (y (B, H), new state): the node with T = 1."""
        if self.bidirectional:
            self.layer.step(x_t, state)                                    # raises its error
        squeeze = x_t.dim() == 3
        x = x_t if squeeze else x_t.unsqueeze(1)                           # (B, 1, D)
        states = [list(state)] if state is not None else [self._zero_state(x)]
        lengths = (x[:, :, 0] * 0 + 1).sum(1).long()                       # (B,) ones
        Y, finals = self._run(x, lengths, states, reverse=False)
        y = Y[:, :, 0]                                                     # (B, 1, H)
        return (y if squeeze else y[:, 0]), finals[0]


def _stand_in(child: nn.Module, target: str, dynamic_time: bool):
    from seqlab.export.fixed_shapes import ExportedBatchNorm, ExportedConv, ExportedLayerNorm
    from seqlab.layers.conv import Conv1D, Conv2D
    from seqlab.layers.normalization import BatchNormalization, LayerNormalization
    if target == "onnx" and isinstance(child, BatchNormalization):
        return ExportedBatchNorm(child)
    if isinstance(child, (Conv1D, Conv2D)):
        return ExportedConv(child, dynamic_time)
    if isinstance(child, (RNN, Bidirectional)):
        return ExportedRNN(child, target)
    if target == "onnx" and isinstance(child, LayerNormalization) and child._trailing:
        return ExportedLayerNorm(child)
    return None


@contextmanager
def stand_ins(model: nn.Module, target: str, dynamic_time: bool = True):
    """Within the block, every seqlab ``RNN`` / ``Bidirectional`` of ``model`` is an
    ``ExportedRNN`` for ``target`` (and a ``LayerNormalization`` an ``ExportedLayerNorm``);
    the originals are put back afterwards."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            new = _stand_in(child, target, dynamic_time)
            if new is not None:
                parent._modules[name] = new
                swapped.append((parent, name, child))
    if isinstance(model, (RNN, Bidirectional)):
        raise ExportError(f"{type(model).__name__} {model.name}: export a model that holds "
                          f"the layer (e.g. Sequential([layer])), not the bare layer.")
    try:
        yield model
    finally:
        for parent, name, child in swapped:
            parent._modules[name] = child


__all__ = ["ExportError", "ExportedRNN", "stand_ins", "onnx_weights",
           "run_direction", "onnx_recurrent"]
