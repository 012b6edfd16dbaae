"""Attention for a recurrent encoder-decoder: Luong's (multiplicative) and Bahdanau's
(additive) scores over the encoder outputs.

At decoder step t, a query s (the decoder state) scores every encoder output h_s;
the scores become weights over the source steps and the weighted sum of the encoder
outputs is the context c_t::

    luong    ("general")  score(s_t, h_s)     = s_t^T W_a h_s
    bahdanau (additive)   score(s_{t-1}, h_s) = v^T tanh(W_1 h_s + W_2 s_{t-1})

    alpha_t = softmax(scores over the real source steps),  c_t = sum_s alpha_ts h_s

Luong scores the decoder's new state s_t (after the step); Bahdanau scores the previous
state s_{t-1} (before the step) and feeds c_t into the step. Which state is the query is
the decoder's business (``seqlab.tasks.seq2seq``); this layer computes the scores, the
weights and the context.

Shapes: B batch, T query steps (decoder), S source steps (encoder), H units.
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers.base import Layer, Shape, check_positive_int, get_mask
from seqlab.layers.core import Dense

KINDS = ("luong", "bahdanau")


class LuongBahdanauAttention(Layer):
    """Luong (multiplicative) or Bahdanau (additive) attention over encoder outputs.

    Args:
        kind: "luong" (``s^T W_a h``) or "bahdanau" (``v^T tanh(W_1 h + W_2 s)``).
        units: H, the size of the decoder states (luong: the output size of ``W_a``,
            which must equal the query's size; bahdanau: the size of the hidden
            layer of the score).

    Call ``attention(query, values, mask=None)``: query (B, T, H) decoder states,
    values (B, S, H) encoder outputs, mask (B, S) bool, True on real source steps
    (default: the mask attached to ``values`` by ``Embedding(mask_zero=True)``, else
    every step). Returns ``(context, weights)``: context (B, T, H) and weights
    (B, T, S), which sum to 1 over the real source steps and are 0 on padding. A row
    whose mask is all False has no real step to attend to and gives NaN.

    Weights: luong ``W_a`` (H_values, H); bahdanau ``W_1`` (H_values, H), ``W_2``
    (H_query, H), ``v`` (H, 1); all without bias, as Dense kernels.

    >>> att = LuongBahdanauAttention("bahdanau", units=8)
    >>> query, values = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    >>> mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    >>> context, weights = att(query, values, mask)
    >>> context.shape, weights.shape
    (torch.Size([2, 3, 8]), torch.Size([2, 3, 5]))
    >>> weights[1, :, 3:].abs().max().item()      # padding steps get no weight
    0.0
    """

    def __init__(self, kind: str, units: int, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"{type(self).__name__}: kind must be one of "
                             f"{', '.join(map(repr, KINDS))}, got {kind!r}.")
        self.kind = kind
        self.units = check_positive_int(type(self).__name__, "units", units)
        if kind == "luong":
            self.W_a = Dense(units, use_bias=False)
        else:
            self.W_1 = Dense(units, use_bias=False)
            self.W_2 = Dense(units, use_bias=False)
            self.v = Dense(1, use_bias=False)

    def forward(self, query: torch.Tensor, values: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        mask = get_mask(values, mask)
        if self.kind == "luong":
            # score(s_t, h_s) = s_t^T W_a h_s
            scores = query @ self.W_a(values).transpose(1, 2)              # (B, T, S)
        else:
            # score(s_{t-1}, h_s) = v^T tanh(W_1 h_s + W_2 s_{t-1})
            keys = self.W_1(values).unsqueeze(1)                           # (B, 1, S, H)
            hidden = torch.tanh(keys + self.W_2(query).unsqueeze(2))       # (B, T, S, H)
            scores = self.v(hidden).squeeze(-1)                            # (B, T, S)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))  # (B, T, S)
        # alpha_t = softmax(scores over the real source steps)
        alpha = torch.softmax(scores, dim=-1)                              # (B, T, S)
        # c_t = sum_s alpha_ts h_s
        context = alpha @ values                                           # (B, T, H)
        return context, alpha

    def compute_output_shape(self, input_shape: Shape) -> list:
        """[context (B, T, H_values), weights (B, T, S)]: H_values and S come from the
        values, which the query's shape does not tell."""
        batch, steps = tuple(input_shape)[:2]
        return [(batch, steps, None), (batch, steps, None)]


__all__ = ["LuongBahdanauAttention"]
