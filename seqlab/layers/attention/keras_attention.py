"""Keras's ``Attention`` (Luong, dot-product) and ``AdditiveAttention`` (Bahdanau) layers.

Called on ``[query, value]`` or ``[query, value, key]`` (key defaults to value):

    Attention:          scores = query @ key^T            (times a learnt scale if use_scale)
    AdditiveAttention:  scores = sum(scale * tanh(query_t + key_s), over features)
    weights = softmax(scores over the real value steps);  output = weights @ value

Shapes: query (B, T, D), value/key (B, S, D) -> output (B, T, D), scores (B, T, S).
The value mask (``mask=[query_mask, value_mask]``, else the one attached to ``value``,
e.g. from ``Embedding(mask_zero=True)``) keeps padding out of the softmax; a query mask
zeroes the outputs of padded query steps. ``use_causal_mask=True`` lets step t see only
steps <= t. ``return_attention_scores=True`` also returns the weights.

    >>> import torch
    >>> q, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    >>> out, w = Attention()([q, v], return_attention_scores=True)
    >>> out.shape, w.shape, torch.allclose(w.sum(-1), torch.ones(2, 3))
    (torch.Size([2, 3, 4]), torch.Size([2, 3, 5]), True)
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers.base import Layer, get_mask


class Attention(Layer):
    """Dot-product attention (Luong); see the module docstring.

    Args:
        use_scale: learn a scalar that multiplies the scores (initialised to 1).
        score_mode: "dot" or "concat" (Keras's: ``sum(tanh(q + k))`` times the scale).
        dropout: dropout rate on the attention weights (training only).
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{self.name}: score_mode must be 'dot' or 'concat', got "
                             f"{score_mode!r}.")
        self.use_scale, self.score_mode, self.dropout = bool(use_scale), score_mode, float(dropout)

    def build(self, input_shape=None):
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones",
                                                       name="concat_score_weight")

    def _build_from_input(self, x):  # built from the query's shape (B, T, D)
        query = x[0] if isinstance(x, (list, tuple)) else x
        self.build_once((None,) + tuple(query.shape[1:]))
        self.to(device=query.device)

    def scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            s = torch.matmul(query, key.transpose(-1, -2))  # (B, T, S)
            return s * self.scale if self.use_scale else s
        q, k = query.unsqueeze(-2), key.unsqueeze(-3)  # (B, T, 1, D), (B, 1, S, D)
        scale = self.scale if self.use_scale else 1.0
        return self.concat_score_weight * torch.tanh(scale * (q + k)).sum(-1)

    def forward(self, inputs, mask=None, return_attention_scores: bool = False,
                training=None, use_causal_mask: bool = False):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{self.name} ({type(self).__name__}): call it on [query, value] "
                             f"or [query, value, key], got {type(inputs).__name__}.")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        q_mask, v_mask = (mask if isinstance(mask, (list, tuple)) else [None, mask])[:2]
        v_mask = get_mask(value, v_mask)
        q_mask = get_mask(query, q_mask)
        s = self.scores(query, key)  # (B, T, S)
        if v_mask is not None:
            s = s.masked_fill(~v_mask.bool().unsqueeze(1), float("-inf"))
        if use_causal_mask:
            T, S = s.shape[-2:]
            causal = torch.ones(T, S, dtype=torch.bool, device=s.device).tril()
            s = s.masked_fill(~causal, float("-inf"))
        weights = torch.softmax(s, dim=-1)  # (B, T, S)
        if self.training and self.dropout > 0:
            weights = torch.nn.functional.dropout(weights, self.dropout)
        out = torch.matmul(weights, value)  # (B, T, D)
        if q_mask is not None:
            out = out * q_mask.unsqueeze(-1).to(out.dtype)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return get_mask(inputs[0]) if isinstance(inputs, (list, tuple)) else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau): ``scores = sum(scale * tanh(q + k))`` with a learnt
    per-feature ``scale`` (when ``use_scale``, the default)."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape=None):
        if self.use_scale:  # one scale per feature D
            self.scale = self.add_weight(shape=(input_shape[-1],),
                                         initializer="glorot_uniform", name="scale")

    def scores(self, query, key):
        q, k = query.unsqueeze(-2), key.unsqueeze(-3)  # (B, T, 1, D), (B, 1, S, D)
        t = torch.tanh(q + k)  # (B, T, S, D)
        return (t * self.scale).sum(-1) if self.use_scale else t.sum(-1)


__all__ = ["Attention", "AdditiveAttention"]
