"""The Transformer's encoder (seed 004): a layer of self-attention then feed-forward,
each wrapped in Add & Norm, and a stack of them.

Post-norm, as in the paper::

    x = LayerNorm(x + Dropout(SelfAttention(x)))
    x = LayerNorm(x + Dropout(W_2 Dropout(relu(W_1 x))))

Inputs are vectors (B, T, D) (embed and add ``PositionalEncoding`` first); D is
``d_model``, known at the first call. Masks are (B, T) bool, True = real step.

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from seqlab.layers.base import Shape, attach_mask, get_mask
from seqlab.layers.transformer import fused_inference
from seqlab.layers.transformer.block import _attend, _Block
from seqlab.layers.transformer.stack import _load_stack, _Stack


class TransformerEncoderLayer(_Block):
    """One encoder layer: self-attention + feed-forward, each with Add & Norm.

    Args:
        num_heads: nh (d_model must be divisible by it unless ``key_dim`` is given).
        ff_dim: F, inner size of the feed-forward network.
        dropout: rate after each sub-layer, inside the feed-forward and on attention weights.
        attention_dropout: rate on the attention weights if different (default ``dropout``).
        activation: of the feed-forward network.
        norm_first: pre-norm instead of the paper's post-norm.
        layer_norm_epsilon: 1e-5 as in the paper's code and torch.

    Call ``layer(x, mask=None, attention_mask=None, use_causal_mask=False,
    return_attention_scores=False)``: x (B, T, D), mask (B, T) True = real token.
    Returns (B, T, D) and, if asked, the weights (B, nh, T, T).

    >>> enc = TransformerEncoderLayer(num_heads=2, ff_dim=16)
    >>> y, w = enc(torch.randn(3, 5, 8), return_attention_scores=True)
    >>> y.shape, w.shape
    (torch.Size([3, 5, 8]), torch.Size([3, 2, 5, 5]))
    """

    def build(self, input_shape: Shape) -> None:
        self.self_attention = self._attention("self_attention", input_shape, input_shape)
        self.norm1 = self._norm(input_shape)
        self.norm2 = self._norm(input_shape)  # built before W_1, W_2: keras_hub's weight order
        self._build_feed_forward(input_shape)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, use_causal_mask: bool = False,
                return_attention_scores: bool = False):
        pad = get_mask(x, mask)  # (B, T)
        want = return_attention_scores or self.need_weights
        if not want and attention_mask is None and not use_causal_mask:
            fused = fused_inference.encoder_layer(self, x, pad)  # None where it does not
            if fused is not None:                                # apply (see the module)
                return attach_mask(fused, pad)

        def attend(h):
            return _attend(self.self_attention, want, h, h, attention_mask=attention_mask,
                           query_mask=pad, value_mask=pad, use_causal_mask=use_causal_mask)

        x, scores = self._add_norm(x, attend, self.norm1)
        x, _ = self._add_norm(x, lambda h: (self._feed_forward(h), None), self.norm2)
        if want:
            self.last_attention = scores.detach()
        x = attach_mask(x, pad)
        return (x, scores) if return_attention_scores else x

    def load_torch_weights(self, module: nn.TransformerEncoderLayer) -> "TransformerEncoderLayer":
        """Copy a ``torch.nn.TransformerEncoderLayer``'s weights (same sizes) into this layer."""
        if not self.built:
            self.build_once((None, None, module.self_attn.embed_dim))
        self.self_attention.load_torch_weights(module.self_attn)
        with torch.no_grad():
            self._copy_linear(self.ff_inner, module.linear1)
            self._copy_linear(self.ff_outer, module.linear2)
            self._copy_norm(self.norm1, module.norm1)
            self._copy_norm(self.norm2, module.norm2)
        return self


class TransformerEncoder(_Stack):
    """A stack of ``TransformerEncoderLayer``: (B, T, D) -> (B, T, D).

    Args: ``num_layers`` plus those of ``TransformerEncoderLayer``; ``final_norm``
    (default: ``norm_first``) adds a LayerNorm after the last layer.
    With ``return_attention_scores=True`` it returns ``(y, [scores of each layer])``;
    ``encoder.need_weights = True`` keeps them in ``encoder.last_attention`` instead.

    >>> enc = TransformerEncoder(num_layers=2, num_heads=2, ff_dim=16)
    >>> enc(torch.randn(3, 5, 8)).shape
    torch.Size([3, 5, 8])
    """

    _layer_class = TransformerEncoderLayer

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, use_causal_mask: bool = False,
                return_attention_scores: bool = False):
        return self._run(x, mask, return_attention_scores, lambda i, layer, h, pad: layer(
            h, mask=pad, attention_mask=attention_mask, use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores))

    def load_torch_weights(self, module: nn.TransformerEncoder) -> "TransformerEncoder":
        """Copy a ``torch.nn.TransformerEncoder``'s weights (same sizes) into this stack."""
        return _load_stack(self, module)


__all__ = ["TransformerEncoderLayer", "TransformerEncoder"]
