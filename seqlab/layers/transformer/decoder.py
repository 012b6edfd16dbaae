"""The Transformer's decoder (seed 004): causal self-attention, cross-attention over the
encoder's output (the "memory"), feed-forward, each with Add & Norm; and a stack of them.

The self-attention is causal: step t sees steps <= t only. ``cross_attention=False``
gives a decoder-only (GPT-style) layer. For generation, a key/value cache
(``cache=decoder.init_cache()``) keeps the projected keys and values of the steps
already seen, so each call processes only the new steps.

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from seqlab.layers.base import Shape, attach_mask, get_mask
from seqlab.layers.transformer.block import _attend, _Block
from seqlab.layers.transformer.stack import _load_stack, _Stack


class TransformerDecoderLayer(_Block):
    """One decoder layer: causal self-attention, cross-attention over the encoder's
    output, feed-forward; each with Add & Norm.

    Args: as ``TransformerEncoderLayer``, plus
        cross_attention: False gives a decoder-only (GPT-style) layer without memory.

    Call ``layer(x, memory=None, mask=None, memory_mask=None, use_causal_mask=True,
    attention_mask=None, cache=None, return_attention_scores=False)``: x (B, T, D),
    memory (B, S, D), masks (B, T) / (B, S) True = real step. ``cache`` (one of
    ``TransformerDecoder.init_cache()``'s dicts) makes x the *new* steps only; keys and
    values of earlier steps are reused. The scores returned are a dict
    ``{"self": (B, nh, T, T), "cross": (B, nh, T, S)}``.

    >>> dec = TransformerDecoderLayer(num_heads=2, ff_dim=16)
    >>> dec(torch.randn(3, 4, 8), torch.randn(3, 6, 8)).shape
    torch.Size([3, 4, 8])
    """

    def __init__(self, num_heads: int, ff_dim: int, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False,
                 layer_norm_epsilon: float = 1e-5, key_dim: Optional[int] = None,
                 use_bias: bool = True, use_fast_path: bool = True,
                 attention_dropout: Optional[float] = None, cross_attention: bool = True,
                 **kwargs):
        super().__init__(num_heads, ff_dim, dropout, activation, norm_first,
                         layer_norm_epsilon, key_dim, use_bias, use_fast_path,
                         attention_dropout, **kwargs)
        self.has_cross_attention = bool(cross_attention)

    def build(self, input_shape: Shape) -> None:
        self.self_attention = self._attention("self_attention", input_shape, input_shape)
        self.norm1 = self._norm(input_shape)
        if self.has_cross_attention:  # memory has d_model features too
            self.cross_attention = self._attention("cross_attention", input_shape, input_shape)
            self.norm2 = self._norm(input_shape)
        self.norm3 = self._norm(input_shape)  # before W_1, W_2: keras_hub's weight order
        self._build_feed_forward(input_shape)

    def forward(self, x: torch.Tensor, memory: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None, memory_mask: Optional[torch.Tensor] = None,
                use_causal_mask: bool = True, attention_mask: Optional[torch.Tensor] = None,
                cache: Optional[dict] = None, return_attention_scores: bool = False):
        pad = get_mask(x, mask)  # (B, T)
        want = return_attention_scores or self.need_weights
        if self.has_cross_attention and memory is None:
            raise ValueError(f"{self.name} (TransformerDecoderLayer): this layer has "
                             f"cross-attention and needs memory=encoder_output (B, S, D). "
                             f"For a decoder-only model build it with cross_attention=False.")
        if memory is not None and not self.has_cross_attention:
            raise ValueError(f"{self.name} (TransformerDecoderLayer): got memory but the layer "
                             f"was built with cross_attention=False. Drop memory, or build "
                             f"it with cross_attention=True.")
        memory_pad = get_mask(memory, memory_mask) if memory is not None else None
        cached = cache is not None
        # In incremental decoding, earlier keys are real steps: only queries are masked.
        key_pad = None if cached else pad

        def self_attend(h):
            return _attend(self.self_attention, want, h, h, attention_mask=attention_mask,
                           query_mask=pad, value_mask=key_pad, use_causal_mask=use_causal_mask,
                           cache=cache["self"] if cached else None)

        def cross_attend(h):
            return _attend(self.cross_attention, want, h, memory, query_mask=pad,
                           value_mask=memory_pad, cache=cache["cross"] if cached else None)

        scores = {}
        x, scores["self"] = self._add_norm(x, self_attend, self.norm1)
        if self.has_cross_attention:
            x, scores["cross"] = self._add_norm(x, cross_attend, self.norm2)
        x, _ = self._add_norm(x, lambda h: (self._feed_forward(h), None), self.norm3)
        if want:
            self.last_attention = {k: v.detach() for k, v in scores.items()}
        x = attach_mask(x, pad)
        return (x, scores) if return_attention_scores else x

    def init_cache(self) -> dict:
        """An empty key/value cache for incremental decoding with this layer."""
        return {"self": {}, "cross": {"static": True}}

    def load_torch_weights(self, module: nn.TransformerDecoderLayer) -> "TransformerDecoderLayer":
        """Copy a ``torch.nn.TransformerDecoderLayer``'s weights into this layer."""
        if not self.built:
            self.build_once((None, None, module.self_attn.embed_dim))
        self.self_attention.load_torch_weights(module.self_attn)
        self.cross_attention.load_torch_weights(module.multihead_attn)
        with torch.no_grad():
            self._copy_linear(self.ff_inner, module.linear1)
            self._copy_linear(self.ff_outer, module.linear2)
            for ours, ref in ((self.norm1, module.norm1), (self.norm2, module.norm2),
                              (self.norm3, module.norm3)):
                self._copy_norm(ours, ref)
        return self


class TransformerDecoder(_Stack):
    """A stack of ``TransformerDecoderLayer``: (B, T, D), memory (B, S, D) -> (B, T, D).

    ``cross_attention=False`` makes a decoder-only (GPT-style) stack. Incremental
    decoding: ``cache = decoder.init_cache()``, then call with the new steps only,
    ``decoder(x_new, memory, cache=cache)``; ``cache_length(cache)`` counts the steps
    already seen (the ``offset`` to give ``PositionalEncoding``).

    >>> dec = TransformerDecoder(num_layers=2, num_heads=2, ff_dim=16)
    >>> dec(torch.randn(3, 4, 8), torch.randn(3, 6, 8)).shape
    torch.Size([3, 4, 8])
    """

    _layer_class = TransformerDecoderLayer

    def __init__(self, num_layers: int, num_heads: int, ff_dim: int, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False,
                 layer_norm_epsilon: float = 1e-5, final_norm: Optional[bool] = None,
                 key_dim: Optional[int] = None, use_fast_path: bool = True,
                 attention_dropout: Optional[float] = None, cross_attention: bool = True,
                 **kwargs):
        super().__init__(num_layers, num_heads, ff_dim, dropout, activation, norm_first,
                         layer_norm_epsilon, final_norm, key_dim, use_fast_path,
                         attention_dropout, cross_attention=cross_attention, **kwargs)

    def forward(self, x: torch.Tensor, memory: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None, memory_mask: Optional[torch.Tensor] = None,
                use_causal_mask: bool = True, attention_mask: Optional[torch.Tensor] = None,
                cache: Optional[list] = None, return_attention_scores: bool = False):
        return self._run(x, mask, return_attention_scores, lambda i, layer, h, pad: layer(
            h, memory, mask=pad, memory_mask=memory_mask, use_causal_mask=use_causal_mask,
            attention_mask=attention_mask, cache=None if cache is None else cache[i],
            return_attention_scores=return_attention_scores))

    def init_cache(self) -> list:
        """Empty key/value caches, one per layer, for incremental decoding."""
        return [layer.init_cache() for layer in self.layers]

    @staticmethod
    def cache_length(cache: list) -> int:
        """Number of steps already in ``cache`` (0 when empty)."""
        self_cache = cache[0]["self"]
        return self_cache["key"].shape[2] if "key" in self_cache else 0

    def load_torch_weights(self, module: nn.TransformerDecoder) -> "TransformerDecoder":
        """Copy a ``torch.nn.TransformerDecoder``'s weights (same sizes) into this stack."""
        return _load_stack(self, module)


__all__ = ["TransformerDecoderLayer", "TransformerDecoder"]
