"""The fused fast path: torch's own RNN / LSTM / GRU kernels fed seqlab's (Keras-layout) weights.

(On the CPU a SimpleRNN runs ``rnn_scan`` instead, and a GRU that is being trained
``gru_scan``: one autograd node each, whose backward through time is written by hand,
faster there than torch's ``rnn_tanh`` and ``gru``; an LSTM runs ``lstm_scan``, a C
loop forward and backward, faster there than torch's ``lstm``; same equations.)

Nothing here owns parameters. At every call the cell's Keras-layout weights are turned
into torch's layout (a view or a cheap copy that autograd sees through, so gradients flow
back to the Keras-layout parameters):

* ``kernel`` (D, kH) -> ``weight_ih`` (kH, D), ``recurrent_kernel`` (H, kH) -> ``weight_hh``.
* LSTM: Keras's gate order i, f, c, o is torch's i, f, g, o: no reordering.
* GRU (reset_after=True only): Keras z, r, h -> torch r, z, n; bias (2, 3H) = [b_ih, b_hh].
* SimpleRNN and LSTM have one bias in Keras; torch's second bias ``b_hh`` is a zero.

Masks: a masked step keeps the previous state, so each row's state sequence is the RNN run
over that row's real steps only. ``compact`` gathers them to the front of the row (every
mask becomes right-padding), the kernel runs, and padded steps never reach a result: the
final state and the outputs are gathered back from the real steps. An LSTM's final *cell*
state of a short row is not in the output sequence; when it is needed, one extra input
feature marks the padded steps and drives the forget gate to exactly 1 and the input gate
to exactly 0 there, so c is carried through the padding unchanged. (torch's packed-sequence
kernel would also do, but its backward is ~6x slower on the CPU: measured 2.0 s vs 0.34 s
for LSTM(64), B=128, T=128.)

Inference: the layout change above costs a transposed copy of each weight inside torch's
CPU kernel (oneDNN wants (kH, D) contiguous) at every call, ~20 us per call for LSTM(64);
inside ``predict`` (``layers/layout_cache.py``) each cell's weights are laid out once,
contiguous, and reused by every batch.

Shapes: B batch, T time, D input features, H units, k gate blocks.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import _VF

from seqlab.layers import layout_cache
from seqlab.layers.base import cpu_training
from seqlab.layers.recurrent import gru_scan, lstm_scan, rnn_scan
from seqlab.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell


def fused_kind(cell) -> tuple[Optional[str], str]:
    """(kernel name, "") when torch has a fused kernel for ``cell``; else (None, why not)."""
    act = getattr(cell, "activation_name", None)
    rec = getattr(cell, "recurrent_activation_name", "sigmoid")
    if type(cell) is SimpleRNNCell:
        if act in ("tanh", "relu"):
            return f"rnn_{act}", ""
        return None, f"activation={act!r} (fused kernels: 'tanh' or 'relu')"
    if type(cell) in (LSTMCell, GRUCell):
        if act != "tanh" or rec != "sigmoid":
            return None, (f"activation={act!r}, recurrent_activation={rec!r} (fused kernels "
                          f"need 'tanh' and 'sigmoid')")
        if type(cell) is GRUCell and not cell.reset_after:
            return None, "GRU reset_after=False (the course form has no torch kernel)"
        return ("lstm" if type(cell) is LSTMCell else "gru"), ""
    return None, f"custom cell {type(cell).__name__}"


def torch_weights(cell) -> list[torch.Tensor]:
    """The cell's weights in torch's layout: [w_ih, w_hh] (+ [b_ih, b_hh] with a bias);
    inside ``layout_cache`` (predict), laid out once per cell, contiguous."""
    if not layout_cache.active():
        return _torch_layout(cell)
    return list(layout_cache.cached(cell, "torch_weights",
                                    lambda: [w.contiguous() for w in _torch_layout(cell)]))


def _torch_layout(cell) -> list[torch.Tensor]:
    W, U, b = cell.kernel, cell.recurrent_kernel, cell.bias           # (D, kH), (H, kH)
    if type(cell) is GRUCell:
        z, r, h = W.chunk(3, dim=1)
        W = torch.cat([r, z, h], dim=1)                                # Keras z,r,h -> r,z,h
        z, r, h = U.chunk(3, dim=1)
        U = torch.cat([r, z, h], dim=1)
        if b is not None:
            z, r, h = b.chunk(3, dim=1)                                # (2, H) each
            b = torch.cat([r, z, h], dim=1)                            # (2, 3H)
            return [W.t(), U.t(), b[0], b[1]]
        return [W.t(), U.t()]
    if b is None:
        return [W.t(), U.t()]                                          # (kH, D), (kH, H)
    return [W.t(), U.t(), b, torch.zeros_like(b)]                      # b_hh = 0


def _call(kind: str, x, hx, weights, training: bool, cell=None, keep_outputs: bool = True):
    """Run one unidirectional layer of the torch kernel, batch first. A SimpleRNN on the
    CPU runs ``rnn_scan`` instead, a GRU being trained on the CPU ``gru_scan``, an LSTM
    on the CPU ``lstm_scan`` (the same equations, faster there: see those files); that
    one returns no outputs (None) when ``keep_outputs`` is False and no gradient is
    needed."""
    if kind.startswith("rnn_") and x.device.type == "cpu" and cell is not None:
        y, h = rnn_scan.run_simple_rnn(cell, x, hx[0][0], kind[4:])
        return y, [h]
    if kind == "gru" and cell is not None and cpu_training(x):
        y, h = gru_scan.run_gru(cell, x, hx[0][0])
        return y, [h]
    if kind == "lstm" and cell is not None and lstm_scan.applies(x, weights):
        return lstm_scan.run(cell, x, hx, weights, keep_outputs)
    has_bias = len(weights) == 4
    fn = getattr(_VF, kind)
    if kind == "lstm":
        y, h, c = fn(x, hx, weights, has_bias, 1, 0.0, training, False, True)
        return y, [h[0], c[0]]
    y, h = fn(x, hx[0], weights, has_bias, 1, 0.0, training, False, True)
    return y, [h[0]]


_SATURATE = 1e4  # sigmoid(+-1e4) is exactly 1 / 0 in float16/32/64


def _lstm_hold_weights(weights: list, H: int) -> list:
    """LSTM weights for input [x, pad] (D + 1 features): pad = 1 saturates the forget gate
    open (f = 1) and the input gate shut (i = 0), so at a padded step c_t = c_{t-1} exactly
    and no gradient flows through the gates (sigmoid' = 0 there)."""
    w_ih = weights[0]                                                  # (4H, D)
    col = w_ih.new_zeros(4 * H, 1)                                     # torch gates i, f, g, o
    col[:H] = -_SATURATE                                               # i -> 0
    col[H:2 * H] = _SATURATE                                           # f -> 1
    return [torch.cat([w_ih, col], dim=1)] + list(weights[1:])         # (4H, D + 1)


def compact(x: torch.Tensor, mask: torch.Tensor, steps: Optional[int] = None) -> torch.Tensor:
    """Move each row's real steps to its front, in order: any mask -> right-padding; the
    first ``steps`` steps of that (all T by default)."""
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :steps]  # (B, S)
    return x.gather(1, order.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # (B, S, D)


def run_fused(cell, x: torch.Tensor, state: list, mask: Optional[torch.Tensor],
              training: bool, need_all_states: bool = True, keep_outputs: bool = True):
    """Fused forward over ``x`` (B, T, D) in processing order.

    Returns ``(outputs (B, T, H) or None, last_output (B, H), final_state)``. With a mask,
    a masked step keeps the previous state and its output repeats the previous output
    (zero before the first real step), as Keras's default ``zero_output_for_mask=False``.
    ``need_all_states=False``: an LSTM's final c is not computed (None) when masked.
    """
    kind, why = fused_kind(cell)
    assert kind is not None, why
    weights = torch_weights(cell)
    hx = [s.unsqueeze(0) for s in state]                               # (1, B, H) each
    if mask is None:
        y, final = _call(kind, x, hx, weights, training, cell, keep_outputs)  # (B, T, H)
        # the scans' h_T is their own output: a gradient there skips the (T, B, H) one
        own = (y is None or kind.startswith("rnn_") or kind == "gru"
               or (kind == "lstm" and lstm_scan.applies(x, weights)))
        return y, (final[0] if own else y[:, -1]), final
    B, T = mask.shape
    lengths = mask.sum(1)                                              # (B,)
    right_padded = bool((mask == (torch.arange(T, device=mask.device) < lengths[:, None])).all())
    # the steps past the longest row are padding in every row: not run (a batch of one
    # pre-padded review runs its own length, not T)
    steps = max(int(lengths.max()), 1)
    xc = x[:, :steps] if right_padded else compact(x, mask, steps)     # (B, steps, D)
    if kind == "lstm" and need_all_states:  # c of short rows: hold it through the padding
        pad = (torch.arange(steps, device=x.device) >= lengths[:, None]).to(x.dtype)
        xc = torch.cat([xc, pad.unsqueeze(-1)], dim=-1)               # (B, steps, D + 1)
        weights = _lstm_hold_weights(weights, state[0].shape[-1])
    y, final = _call(kind, xc, hx, weights, training, cell)               # (B, steps, H)
    # Each row's last real step: its output, and its final h (a row with no real step
    # outputs zeros and keeps its initial state). Row indexing, no full-size copies.
    has = (lengths > 0).unsqueeze(1)                                   # (B, 1)
    h_at = y[torch.arange(B, device=y.device), (lengths - 1).clamp(min=0)]  # (B, H)
    last = torch.where(has, h_at, torch.zeros_like(h_at))              # (B, H)
    h_final = torch.where(has, h_at, state[0])                         # (B, H)
    outputs = None
    if keep_outputs:  # output at step t = output of the latest real step <= t
        H = y.shape[-1]
        y_pad = torch.cat([y.new_zeros(B, 1, H), y], dim=1)            # (B, 1 + steps, H)
        count = mask.long().cumsum(1)                                  # (B, T)
        outputs = y_pad.gather(1, count.unsqueeze(-1).expand(-1, -1, H))  # (B, T, H)
    if kind == "lstm":
        # the caller asked for h only: c of short rows is then unknown
        return outputs, last, [h_final, final[1] if need_all_states else None]
    return outputs, last, [h_final]


def step_fused(cell, x_t: torch.Tensor, state: list):
    """One step with torch's fused cell kernel (``lstm_cell``, ``gru_cell``, ``rnn_*_cell``):
    x_t (B, D), state [h] / [h, c] -> (h_t (B, H), new state). For generation."""
    kind, why = fused_kind(cell)
    assert kind is not None, why
    weights = torch_weights(cell)
    if len(weights) == 2:
        weights = weights + [None, None]
    elif type(cell) is not GRUCell:
        weights[3] = None                                              # the zero b_hh
    if kind == "lstm":
        h, c = _VF.lstm_cell(x_t, state, *weights)
        return h, [h, c]
    h = getattr(_VF, f"{kind}_cell")(x_t, state[0], *weights)
    return h, [h]
