"""Embedding: integer token ids -> dense vectors (seed 000/001: "word embedding").

The lookup is a row gather, out[n] = W[id_n], and its gradient a scatter-add,
dW[v] = sum of out's gradient over the positions n where id_n = v. On the CPU that sum is
one ``index_add_`` (``_Lookup``): 3.7x faster than torch's ``embedding_dense_backward``
for IMDB-shaped batches (32,768 ids into a (10000, 32) matrix: 0.46 ms vs 1.7 ms, one
thread), with the same result.

Shapes: B batch, T time, V vocabulary (``input_dim``), E ``output_dim``.
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch
from torch import nn

from seqlab.layers import initializers
from seqlab.layers.base import Layer, Shape, attach_mask, check_positive_int, cpu_training


class _Lookup(torch.autograd.Function):
    """(ids (...), W (V, E)) -> W[ids] (..., E); backward dW = zeros.index_add_(ids, g)."""

    @staticmethod
    def forward(ctx, ids, W):
        ctx.save_for_backward(ids)
        ctx.num_rows = W.shape[0]
        return nn.functional.embedding(ids, W)

    @staticmethod
    def backward(ctx, g):
        (ids,) = ctx.saved_tensors
        E = g.shape[-1]
        if g.dim() == 3 and not g.is_contiguous() and g.transpose(0, 1).is_contiguous():
            ids, g = ids.t(), g.transpose(0, 1)   # a time-major gradient (recurrent scans)
        dW = g.new_zeros((ctx.num_rows, E)).index_add_(0, ids.reshape(-1), g.reshape(-1, E))
        return None, dW


def _scatter_add_backward(W: torch.Tensor) -> bool:
    """Train through ``_Lookup``: CPU, gradients wanted, not traced (export, compile)."""
    return W.requires_grad and cpu_training(W)


class Embedding(Layer):
    """Looks up a learned vector for each token id: (B, T) ints -> (B, T, E).

    Args:
        input_dim: vocabulary size V; ids must lie in [0, V).
        output_dim: vector size E.
        mask_zero: id 0 is padding. The output then carries a (B, T) mask
            (True = real token) that recurrent layers read, so a padded step
            leaves their state unchanged. With ``mask_zero`` id 0 still has a vector.
        input_length: accepted for Keras-2 listings (``Embedding(..., input_length=256)``);
            it fixes the time axis printed by ``summary()``.
        embeddings_initializer: Keras default ``uniform`` (U(-0.05, 0.05)).
        weights: optional initial matrix (V, E), e.g. word2vec vectors; with
            ``trainable=False`` they stay frozen.
        embeddings_regularizer, embeddings_constraint, activity_regularizer: as Keras
            (``seqlab.keras.regularizers`` / ``constraints``).

    The matrix exists from construction (its size needs no input), so the layer is built
    at once and ``build()`` (with or without a shape) has nothing left to do.

    >>> emb = Embedding(1000, 64)
    >>> emb(torch.zeros(2, 5, dtype=torch.long)).shape
    torch.Size([2, 5, 64])
    """

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = False,
                 input_length: Optional[int] = None,
                 embeddings_initializer: Union[str, float] = "uniform",
                 weights=None, embeddings_regularizer=None, embeddings_constraint=None,
                 **kwargs):
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = check_positive_int(f"Embedding {self.name}", "input_dim", input_dim)
        self.output_dim = check_positive_int(f"Embedding {self.name}", "output_dim", output_dim)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        if self.batch_input_shape is None:
            self.batch_input_shape = (None, None)
        self.regularize("embeddings", embeddings_regularizer, embeddings_constraint)
        init = initializers.get(embeddings_initializer)
        self.embeddings = nn.Parameter(init((self.input_dim, self.output_dim)))  # (V, E)
        if weights is not None:
            matrix = np.asarray(weights[0] if isinstance(weights, (list, tuple)) else weights)
            if matrix.shape != (self.input_dim, self.output_dim):
                raise ValueError(f"Embedding {self.name}: weights must have shape "
                                 f"({self.input_dim}, {self.output_dim}), got {matrix.shape}.")
            with torch.no_grad():
                self.embeddings.copy_(torch.as_tensor(matrix, dtype=self.embeddings.dtype))
            # Not a config entry: the matrix is saved with the other weights (safetensors),
            # and get_config() must stay JSON. ``weights`` is the 6th positional argument.
            args, kw = self._init_args
            object.__setattr__(self, "_init_args",
                               (args[:5], {k: v for k, v in kw.items() if k != "weights"}))
        self.built = True
        self.build_input_shape = self.batch_input_shape
        self._mark_built(self.batch_input_shape)

    def build(self, input_shape: Optional[Shape] = None) -> None:
        """Nothing to create: the (V, E) matrix was made by the constructor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point():
            x = x.long()
        try:
            if _scatter_add_backward(self.embeddings):
                out = _Lookup.apply(x, self.embeddings)      # (B, T) -> (B, T, E)
            else:
                out = nn.functional.embedding(x, self.embeddings)
        except IndexError:  # torch's "index out of range in self": say which ids and why
            raise ValueError(
                f"{self.name} (Embedding): token ids must lie in [0, {self.input_dim}), got "
                f"ids in [{int(x.min())}, {int(x.max())}]. Give the layer input_dim="
                f"{int(x.max()) + 1} or more (the vocabulary size, padding 0 included), or "
                f"limit the tokenizer's num_words.") from None
        return attach_mask(out, self.compute_mask(x, None))

    def compute_mask(self, inputs, mask=None) -> Optional[torch.Tensor]:
        if not self.mask_zero:
            return None
        return inputs != 0  # (B, T), True = real token

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.output_dim,)

    @classmethod
    def from_pretrained(cls, vectors, trainable: bool = False, **kwargs) -> "Embedding":
        """An Embedding initialised from a (V, E) matrix (frozen unless ``trainable``)."""
        matrix = np.asarray(vectors)
        return cls(matrix.shape[0], matrix.shape[1], weights=matrix, trainable=trainable,
                   **kwargs)
