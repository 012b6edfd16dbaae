"""The fused fast path: torch's own RNN / LSTM / GRU kernels fed seqlab's (Keras-layout) weights.

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
final state and the outputs are gathered back from the real steps. (An LSTM's final *cell*
state of a short row is not in the output sequence; when it is needed, the packed-sequence
kernel computes it.)

Shapes: B batch, T time, D input features, H units, k gate blocks.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

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
    """The cell's weights in torch's layout: [w_ih, w_hh] (+ [b_ih, b_hh] with a bias)."""
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


def _call(kind: str, x, hx, weights, training: bool):
    """Run one unidirectional layer of the torch kernel, batch first."""
    has_bias = len(weights) == 4
    fn = getattr(_VF, kind)
    if kind == "lstm":
        y, h, c = fn(x, hx, weights, has_bias, 1, 0.0, training, False, True)
        return y, [h[0], c[0]]
    y, h = fn(x, hx[0], weights, has_bias, 1, 0.0, training, False, True)
    return y, [h[0]]


def _call_packed(kind, x, lengths, hx, weights, training):
    """The packed-sequence kernel over right-padded ``x``: exact final states per row."""
    packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True,
                                  enforce_sorted=False)
    order = packed.sorted_indices
    hx = [h.index_select(1, order) for h in hx]
    has_bias = len(weights) == 4
    data, h, c = getattr(_VF, kind)(packed.data, packed.batch_sizes, hx, weights, has_bias,
                                    1, 0.0, training, False)
    back = packed.unsorted_indices
    y, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, order, back),
                               batch_first=True, total_length=x.shape[1])  # (B, T, H)
    return y, [h.index_select(1, back)[0], c.index_select(1, back)[0]]


def compact(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Move each row's real steps to its front, in order: any mask -> right-padding."""
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # (B, T)
    return x.gather(1, order.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # (B, T, D)


def run_fused(cell, x: torch.Tensor, state: list, mask: Optional[torch.Tensor],
              training: bool, need_all_states: bool = True):
    """Fused forward over ``x`` (B, T, D) in processing order.

    Returns ``(outputs (B, T, H), last_output (B, H), final_state)``. With a mask, a masked
    step keeps the previous state and its output repeats the previous output (zero before
    the first real step), as Keras's default ``zero_output_for_mask=False``.
    """
    kind, why = fused_kind(cell)
    assert kind is not None, why
    weights = torch_weights(cell)
    hx = [s.unsqueeze(0) for s in state]                               # (1, B, H) each
    if mask is None:
        y, final = _call(kind, x, hx, weights, training)               # (B, T, H)
        return y, y[:, -1], final
    B, T = mask.shape
    lengths = mask.sum(1)                                              # (B,)
    right_padded = bool((mask == (torch.arange(T, device=mask.device) < lengths[:, None])).all())
    xc = x if right_padded else compact(x, mask)                       # (B, T, D)
    if kind == "lstm" and need_all_states:
        y, final = _call_packed(kind, xc, lengths, hx, weights, training)
    else:
        y, final = _call(kind, xc, hx, weights, training)
    H = y.shape[-1]
    zero = y.new_zeros(B, 1, H)
    y_pad = torch.cat([zero, y], dim=1)                                # (B, 1 + T, H)
    count = mask.long().cumsum(1)                                      # real steps so far
    outputs = y_pad.gather(1, count.unsqueeze(-1).expand(-1, -1, H))   # (B, T, H)
    last = outputs[:, -1]                                              # (B, H)
    h0 = state[0].unsqueeze(1)                                         # (B, 1, H)
    h_final = torch.cat([h0, y], dim=1).gather(
        1, lengths.view(B, 1, 1).expand(-1, 1, H)).squeeze(1)          # (B, H)
    if kind == "lstm":
        if not need_all_states:  # the caller asked for h only: c of short rows unknown
            return outputs, last, [h_final, None]
        # rows with no real step keep their initial state
        c_final = torch.where((lengths > 0)[:, None], final[1], state[1])
        return outputs, last, [h_final, c_final]
    return outputs, last, [h_final]
