"""The encoder-decoder Transformer of the paper (seed 004, Vaswani et al. 2017), on
vectors: the encoder reads the source, the decoder attends to it while generating.

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers.base import Layer, Shape, get_mask
from seqlab.layers.transformer.decoder import TransformerDecoder
from seqlab.layers.transformer.encoder import TransformerEncoder


class Transformer(Layer):
    """The encoder-decoder of the paper, on vectors: (src (B, S, D), tgt (B, T, D)) ->
    (B, T, D). Embeddings, positional encoding and the final Linear + softmax live
    outside, as in ``torch.nn.Transformer``.

    Args:
        num_encoder_layers, num_decoder_layers: 6 and 6 in the paper.
        num_heads, ff_dim, dropout, attention_dropout, activation, norm_first,
        layer_norm_epsilon, final_norm: as in ``TransformerEncoder``.

    Call ``model(src, tgt, src_mask=None, tgt_mask=None)``; the decoder's
    self-attention is causal. ``encode(src)`` and ``decode(tgt, memory, cache=...)``
    are the two halves, for generation.

    >>> model = Transformer(2, 2, num_heads=2, ff_dim=16)
    >>> model(torch.randn(3, 6, 8), torch.randn(3, 4, 8)).shape
    torch.Size([3, 4, 8])
    """

    def __init__(self, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 num_heads: int = 8, ff_dim: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False,
                 layer_norm_epsilon: float = 1e-5, final_norm: Optional[bool] = None,
                 use_fast_path: bool = True, attention_dropout: Optional[float] = None,
                 **kwargs):
        super().__init__(**kwargs)
        common = dict(num_heads=num_heads, ff_dim=ff_dim, dropout=dropout,
                      attention_dropout=attention_dropout,
                      activation=activation, norm_first=norm_first,
                      layer_norm_epsilon=layer_norm_epsilon, final_norm=final_norm,
                      use_fast_path=use_fast_path)
        self.encoder = TransformerEncoder(num_encoder_layers, name=f"{self.name}_encoder",
                                          **common)
        self.decoder = TransformerDecoder(num_decoder_layers, name=f"{self.name}_decoder",
                                          **common)

    def build(self, input_shape: Shape) -> None:
        self.encoder.build_once(input_shape)
        self.decoder.build_once(input_shape)

    def encode(self, src: torch.Tensor, src_mask: Optional[torch.Tensor] = None):
        """(B, S, D) -> memory (B, S, D)."""
        return self.encoder(src, mask=src_mask)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor,
               tgt_mask: Optional[torch.Tensor] = None, memory_mask: Optional[torch.Tensor] = None,
               cache: Optional[list] = None):
        """(B, T, D) and memory (B, S, D) -> (B, T, D); ``cache`` for step-by-step decoding."""
        return self.decoder(tgt, memory, mask=tgt_mask, memory_mask=memory_mask, cache=cache)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor,
                src_mask: Optional[torch.Tensor] = None,
                tgt_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        src_mask = get_mask(src, src_mask)
        memory = self.encode(src, src_mask)
        return self.decode(tgt, memory, tgt_mask, src_mask)

    @property
    def need_weights(self) -> bool:
        return self.encoder.need_weights and self.decoder.need_weights

    @need_weights.setter
    def need_weights(self, value: bool) -> None:
        self.encoder.need_weights = self.decoder.need_weights = value

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


__all__ = ["Transformer"]
