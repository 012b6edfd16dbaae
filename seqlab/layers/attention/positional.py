"""The positional encoding that gives the Transformer its sense of order (seed 004).

Attention alone sees a set: permuting the steps permutes the output. Adding a vector
that depends on the position to each step's vector tells the model where the step is.

Shapes: B batch, T steps, D features (``d_model``).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from seqlab.layers import initializers
from seqlab.layers.base import Layer, Shape, attach_mask, check_positive_int, get_mask


class PositionalEncoding(Layer):
    """Adds the position of each step to its vector: (B, T, D) -> (B, T, D).

    The course's sinusoids (Vaswani et al. 2017), for position ``pos`` and ``i`` in
    ``[0, D/2)``::

        PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
        PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))

    Args:
        max_length: longest sequence (a learned table has this many rows; the
            sinusoids are extended on demand beyond it).
        learned: learn one vector per position instead (BERT/GPT style).
        embeddings_initializer: initialiser of the learned table.

    Call ``pe(x, offset=0)``: ``offset`` is the position of the first step (incremental
    decoding). A padding mask on ``x`` is passed through.

    >>> PositionalEncoding()(torch.zeros(1, 3, 4))[0, 1]
    tensor([0.8415, 0.5403, 0.0100, 0.9999])
    """

    supports_masking = True

    def __init__(self, max_length: int = 2048, learned: bool = False,
                 embeddings_initializer: str = "uniform", **kwargs):
        super().__init__(**kwargs)
        self.max_length = check_positive_int(f"PositionalEncoding {self.name}", "max_length",
                                             max_length)
        self.learned = bool(learned)
        self.embeddings_initializer = initializers.get(embeddings_initializer)

    @staticmethod
    def sinusoids(length: int, d_model: int) -> torch.Tensor:
        """The (length, d_model) table of the course's formula (computed in float64)."""
        pos = torch.arange(length, dtype=torch.float64)[:, None]  # (T, 1)
        two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(D/2),)
        angle = pos / 10000 ** (two_i / d_model)  # (T, ceil(D/2))
        pe = torch.zeros(length, d_model, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(angle)  # PE(pos, 2i)
        pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])  # PE(pos, 2i+1)
        return pe

    def build(self, input_shape: Shape) -> None:
        d = input_shape[-1]
        if d is None or len(input_shape) != 3:
            raise ValueError(f"{self.name} (PositionalEncoding): expected input (B, T, D) with "
                             f"D known, got shape {input_shape}.")
        self.d_model = d
        if self.learned:
            self.position_embeddings = nn.Parameter(
                self.embeddings_initializer((self.max_length, d)))  # (T_max, D)
        else:
            self.register_buffer("table", self.sinusoids(self.max_length, d).float(),
                                 persistent=False)  # (T_max, D), not a weight

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                offset: int = 0) -> torch.Tensor:
        T = x.shape[1]
        if x.shape[-1] != self.d_model:
            raise ValueError(f"{self.name} (PositionalEncoding): built for D={self.d_model}, "
                             f"got input shape {tuple(x.shape)}.")
        if self.learned:
            if offset + T > self.max_length:
                raise ValueError(f"{self.name} (PositionalEncoding): positions up to "
                                 f"{offset + T} but max_length={self.max_length}. Build it "
                                 f"with a larger max_length.")
            pe = self.position_embeddings[offset: offset + T]  # (T, D)
        else:
            if offset + T > self.table.shape[0]:
                self.table = self.sinusoids(2 * (offset + T), self.d_model).to(self.table)
            pe = self.table[offset: offset + T]  # (T, D)
        return attach_mask(x + pe.to(x.dtype), get_mask(x, mask))  # (B, T, D)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


__all__ = ["PositionalEncoding"]
