"""Token ids to Transformer inputs: ``Embedding * sqrt(d_model) + PositionalEncoding``.

The first box of the course's Transformer picture: each token id becomes a learned vector,
scaled by sqrt(d_model) as in the paper (section 3.4) so that it is not drowned by the
positional encoding, then the position of the step is added and dropout applied::

    x_t = Dropout(sqrt(D) * E[id_t] + PE(offset + t))          # (B, T) -> (B, T, D)

``offset`` is the position of the first id: incremental decoding with a key/value cache
feeds one new token at a time and tells the layer where it stands.

Shapes: B batch, T time, D d_model, V vocabulary.
"""
from __future__ import annotations

import math
from typing import Optional

import torch

from seqlab.layers.attention import PositionalEncoding, dropout
from seqlab.layers.base import Layer, Shape, attach_mask, check_positive_int, check_rate
from seqlab.layers.embedding import Embedding


class TokenPositionEmbedding(Layer):
    """(B, T) token ids -> (B, T, D) vectors with their positions added.

    Args:
        vocab_size: V, ids lie in [0, V).
        d_model: D, the vector size.
        max_length: longest sequence for learned positions (sinusoids extend beyond it).
        dropout: rate applied to the sum during training.
        learned_positions: a learned position table (BERT/GPT) instead of sinusoids.
        mask_zero: id 0 is padding; the output carries the (B, T) mask (True = token).
        tokens: another layer's ``Embedding`` to read instead of a table of its own (tied
            source and target embeddings); it stays registered with its owner only.

    Call ``layer(ids, offset=0)``.

    >>> emb = TokenPositionEmbedding(vocab_size=10, d_model=8)
    >>> y = emb(torch.tensor([[3, 4, 0]]))
    >>> y.shape, y._seqlab_mask.tolist()
    (torch.Size([1, 3, 8]), [[True, True, False]])
    """

    supports_masking = True

    def __init__(self, vocab_size: int, d_model: int, max_length: int = 512,
                 dropout: float = 0.0, learned_positions: bool = False,
                 mask_zero: bool = True, tokens: Optional[Embedding] = None, **kwargs):
        super().__init__(**kwargs)
        where = f"TokenPositionEmbedding {self.name}"
        self.vocab_size = check_positive_int(where, "vocab_size", vocab_size)
        self.d_model = check_positive_int(where, "d_model", d_model)
        self.max_length = check_positive_int(where, "max_length", max_length)
        self.rate = check_rate(where, "dropout", dropout)
        self.mask_zero = bool(mask_zero)
        self.scale = math.sqrt(self.d_model)
        self.shared = (tokens,) if tokens is not None else ()  # a tuple: not registered
        if not self.shared:
            self.tokens = Embedding(self.vocab_size, self.d_model, mask_zero=self.mask_zero,
                                    name=f"{self.name}_tokens")
        self.positions = PositionalEncoding(self.max_length, learned=learned_positions,
                                            name=f"{self.name}_positions")
        self.build_once((None, None))

    def build(self, input_shape: Shape) -> None:
        self.positions.build_once((None, None, self.d_model))

    def forward(self, ids: torch.Tensor, offset: int = 0,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if ids.dim() != 2 or ids.is_floating_point():
            raise ValueError(f"{self.name} (TokenPositionEmbedding): expected integer token "
                             f"ids (B, T), got {tuple(ids.shape)} {ids.dtype}.")
        pad = (ids != 0) if self.mask_zero and mask is None else mask  # (B, T)
        table = self.shared[0] if self.shared else self.tokens
        x = table(ids) * self.scale  # (B, T, D)
        x = self.positions(x, offset=offset)  # (B, T, D)
        x = dropout(x, self.rate, self.training)
        return attach_mask(x, pad)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.d_model,)


def masked_mean(h: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean over the real steps: (B, T, D), (B, T) -> (B, D)."""
    if mask is None:
        return h.mean(dim=1)
    m = mask.to(h.dtype).unsqueeze(-1)  # (B, T, 1)
    return (h * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)  # (B, D)


def masked_max(h: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Max over the real steps: (B, T, D), (B, T) -> (B, D)."""
    if mask is None:
        return h.amax(dim=1)
    return h.masked_fill(~mask.unsqueeze(-1), torch.finfo(h.dtype).min).amax(dim=1)


__all__ = ["TokenPositionEmbedding", "masked_mean", "masked_max"]
