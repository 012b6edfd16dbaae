"""Scaled dot-product attention (seed 004, "Calcul du Self-Attention"): the formula,
as a function and as a layer without weights.

The course's formula, for queries Q, keys K and values V::

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Masks follow Keras: a boolean mask is **True where attention is allowed** (the opposite
of ``torch.nn.MultiheadAttention``'s ``attn_mask``).

Shapes: B batch, Tq query steps, Tk key/value steps, D features, dk key size, dv value
size.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

from seqlab.layers.attention.chunked import _ChunkedAttention
from seqlab.layers.attention.masks import causal_mask, dropout_mask
from seqlab.layers.base import Layer, Shape, attach_mask, check_rate, get_mask

# Below this many scores (B*nh*Tq*Tk) they fit in the caches anyway and the plain formula
# is as fast (measured: chunks win 1.8x at 8M scores, break even near 4M).
_CHUNKED_FROM = 2 ** 22


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 attention_mask: Optional[torch.Tensor] = None,
                                 is_causal: bool = False, dropout: float = 0.0,
                                 return_weights: bool = False, fast: bool = True):
    """softmax(Q K^T / sqrt(d_k)) V, with optional masks and dropout on the weights.

    Args:
        query: (..., Tq, dk); key: (..., Tk, dk); value: (..., Tk, dv).
        attention_mask: bool, broadcastable to (..., Tq, Tk), True = may attend.
            A query that may attend to nothing gets a zero output (as in torch).
        is_causal: also forbid keys after the query (lower-triangular mask).
        dropout: rate applied to the attention weights (pass 0.0 at inference).
        return_weights: also return the weights softmax(...) (before dropout).
        fast: when no weights are requested, call the fused kernel
            ``torch.nn.functional.scaled_dot_product_attention`` (same result). torch
            has no fused CPU kernel with dropout, so on CPU with dropout the formula
            runs instead, in chunks (``_ChunkedAttention``) when the scores are large.

    Returns:
        ``(output, weights)``: output (..., Tq, dv); weights (..., Tq, Tk) or None.

    >>> q = k = v = torch.randn(2, 5, 8)
    >>> out, w = scaled_dot_product_attention(q, k, v, return_weights=True)
    >>> out.shape, w.shape
    (torch.Size([2, 5, 8]), torch.Size([2, 5, 5]))
    """
    tq, tk = query.shape[-2], key.shape[-2]
    if is_causal:
        causal = causal_mask(tq, tk, 0, query.device)  # (Tq, Tk)
        attention_mask = causal if attention_mask is None else attention_mask & causal
        is_causal = False
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        raise TypeError(f"scaled_dot_product_attention: attention_mask must be a bool tensor "
                        f"(True = may attend), got dtype {attention_mask.dtype}. "
                        f"Convert it with mask.bool().")
    if fast and not return_weights:
        if dropout == 0.0 or query.is_cuda:
            out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                                 dropout_p=dropout)
            return out, None
        n_scores = query.shape[:-1].numel() * tk
        if query.dim() == 4 and n_scores >= _CHUNKED_FROM:  # CPU training with dropout
            out = _ChunkedAttention.apply(query.contiguous(), key.contiguous(),
                                          value.contiguous(), attention_mask, dropout)
            return out, None
    # The course's formula, one line per step.
    # Q K^T / sqrt(d_k); the scale goes on Q, smaller than Q K^T when Tk > d_k (as Keras).
    scores = torch.matmul(query * (1.0 / math.sqrt(query.shape[-1])),
                          key.transpose(-2, -1))  # (..., Tq, Tk)
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)  # (..., Tq, Tk), rows sum to 1
    if attention_mask is not None:
        weights = weights.masked_fill(~attention_mask, 0.0)  # fully masked row -> zeros
    if dropout > 0:  # zero some weights; the 1 / (1 - rate) goes on the smaller output
        keep, keep_scale = dropout_mask(weights, dropout)
        out = torch.matmul(weights * keep, value) * keep_scale
    else:
        out = torch.matmul(weights, value)  # (..., Tq, Tk) @ (..., Tk, dv) -> (..., Tq, dv)
    return out, (weights if return_weights else None)


class ScaledDotProductAttention(Layer):
    """The attention formula as a layer without weights: ``layer(query, key, value)``.

    Called with one tensor it is self-attention (Q = K = V = x), so it fits in a
    ``Sequential``. ``return_attention_scores=True`` returns ``(output, weights)``.
    A (B, Tk) padding mask (``mask=`` or attached to the query) hides padded keys.

    Args:
        dropout: rate on the attention weights during training.
        use_fast_path: use torch's fused kernel when weights are not requested.

    >>> ScaledDotProductAttention()(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    supports_masking = True

    def __init__(self, dropout: float = 0.0, use_fast_path: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.dropout = check_rate(f"ScaledDotProductAttention {self.name}", "dropout", dropout)
        self.use_fast_path = bool(use_fast_path)

    def forward(self, query: torch.Tensor, key: Optional[torch.Tensor] = None,
                value: Optional[torch.Tensor] = None, attention_mask=None,
                use_causal_mask: bool = False, return_attention_scores: bool = False,
                mask: Optional[torch.Tensor] = None):
        pad = get_mask(query, mask) if key is None else get_mask(key, mask)  # (B, Tk)
        key = query if key is None else key
        value = key if value is None else value
        if pad is not None:  # (B, 1, ..., Tk): no query looks at a padded key
            keys = pad.bool().view(pad.shape[0], *([1] * (query.dim() - 2)), pad.shape[-1])
            attention_mask = keys if attention_mask is None else attention_mask & keys
        out, w = scaled_dot_product_attention(
            query, key, value, attention_mask, use_causal_mask,
            self.dropout if self.training else 0.0, return_attention_scores, self.use_fast_path)
        out = attach_mask(out, get_mask(query, mask))
        return (out, w) if return_attention_scores else out

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


__all__ = ["scaled_dot_product_attention", "ScaledDotProductAttention"]
