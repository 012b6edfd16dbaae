"""What every Transformer layer is made of (seed 004, Vaswani et al. 2017): the
position-wise feed-forward network and "Add & Norm" around each sub-layer.

Post-norm, as in the paper, for a sub-layer ``Sublayer`` (attention or feed-forward)::

    x = LayerNorm(x + Dropout(Sublayer(x)))
    FFN(x) = W_2 Dropout(relu(W_1 x + b_1)) + b_2

``norm_first=True`` normalises before each sub-layer instead (pre-norm:
``x = x + Dropout(Sublayer(LayerNorm(x)))``), which trains deep stacks more easily.

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from seqlab.layers.attention import MultiHeadAttention, dropout_mask
from seqlab.layers.base import Layer, Shape, check_positive_int, check_rate
from seqlab.layers.core import Dense
from seqlab.layers.normalization import LayerNormalization


def _addmm(bias, x2d: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """bias + x2d @ kernel: (N, D) @ (D, U) -> (N, U) in one call."""
    return torch.mm(x2d, kernel) if bias is None else torch.addmm(bias, x2d, kernel)


def _attend(mha: MultiHeadAttention, want_scores: bool, *args, **kwargs):
    """Call ``mha``; always return ``(output, scores or None)``."""
    out = mha(*args, return_attention_scores=want_scores, **kwargs)
    return out if want_scores else (out, None)


class _Block(Layer):
    """What encoder and decoder layers share: options, feed-forward, Add & Norm."""

    supports_masking = True

    def __init__(self, num_heads: int, ff_dim: int, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False,
                 layer_norm_epsilon: float = 1e-5, key_dim: Optional[int] = None,
                 use_bias: bool = True, use_fast_path: bool = True,
                 attention_dropout: Optional[float] = None, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} {self.name}"
        self.num_heads = check_positive_int(where, "num_heads", num_heads)
        self.ff_dim = check_positive_int(where, "ff_dim", ff_dim)
        self.dropout = check_rate(where, "dropout", dropout)
        self.activation = activation
        self.norm_first = bool(norm_first)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.key_dim = None if key_dim is None else check_positive_int(where, "key_dim", key_dim)
        self.use_bias = bool(use_bias)
        self.use_fast_path = bool(use_fast_path)
        self.attention_dropout = (self.dropout if attention_dropout is None else
                                  check_rate(where, "attention_dropout", attention_dropout))
        self.need_weights = False  # keep the attention weights of each call in last_attention
        self.last_attention = None

    def _attention(self, role: str, input_shape: Shape, kv_shape: Shape) -> MultiHeadAttention:
        d = input_shape[-1]
        if d is None or len(input_shape) != 3:
            raise ValueError(f"{self.name} ({type(self).__name__}): expected inputs (B, T, D) "
                             f"with D known, got shape {input_shape}.")
        if self.key_dim is None and d % self.num_heads:
            raise ValueError(f"{self.name} ({type(self).__name__}): d_model={d} is not "
                             f"divisible by num_heads={self.num_heads}. Change num_heads or "
                             f"pass key_dim=... explicitly.")
        mha = MultiHeadAttention(self.num_heads, self.key_dim or d // self.num_heads,
                                 dropout=self.attention_dropout, use_bias=self.use_bias,
                                 use_fast_path=self.use_fast_path, name=f"{self.name}_{role}")
        mha._input_shapes = (kv_shape, kv_shape)
        mha.build_once(input_shape)
        return mha

    def _norm(self, input_shape: Shape) -> LayerNormalization:
        norm = LayerNormalization(epsilon=self.layer_norm_epsilon)
        norm.build_once(input_shape)
        return norm

    def _build_feed_forward(self, input_shape: Shape) -> None:
        self.ff_inner = Dense(self.ff_dim, activation=self.activation, use_bias=self.use_bias)
        self.ff_inner.build_once(input_shape)  # W_1: (D, F)
        self.ff_outer = Dense(input_shape[-1], use_bias=self.use_bias)
        self.ff_outer.build_once(tuple(input_shape[:-1]) + (self.ff_dim,))  # W_2: (F, D)

    def _dropout_active(self) -> bool:
        return self.training and self.dropout > 0.0

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """FFN(x) = W_2 Dropout(act(W_1 x + b_1)) + b_2, on the Dense layers' weights.

        Written with ``addmm`` (bias fused into the product); the dropout's 1 / (1 - rate)
        multiplies the small W_2 rather than the (B*T, F) activations.
        """
        B, T, D = x.shape
        inner, outer = self.ff_inner, self.ff_outer
        h = _addmm(inner.bias, x.reshape(B * T, D), inner.kernel)  # (B*T, F)
        h = inner.activation(h)
        w_2 = outer.kernel  # (F, D)
        if self._dropout_active():
            keep, scale = dropout_mask(h, self.dropout)
            h, w_2 = h * keep, w_2 * scale  # (h * keep * scale) W_2 = (h * keep)(scale W_2)
        return _addmm(outer.bias, h, w_2).view(B, T, -1)  # (B, T, D)

    def _residual(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x + Dropout(y), the scale of the dropout folded into the addition."""
        if not self._dropout_active():
            return x + y
        keep, scale = dropout_mask(y, self.dropout)
        return torch.addcmul(x, y, keep, value=scale)  # x + y * keep * scale

    def _add_norm(self, x: torch.Tensor, sublayer, norm: LayerNormalization):
        """Residual + LayerNorm, post-norm (paper) or pre-norm. Returns (x, extra)."""
        if self.norm_first:
            y, extra = sublayer(norm(x))
            return self._residual(x, y), extra
        y, extra = sublayer(x)
        return norm(self._residual(x, y)), extra

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    @staticmethod
    def _copy_linear(dense: Dense, linear: nn.Linear) -> None:
        dense.kernel.copy_(linear.weight.t())  # torch (out, in) -> Keras (in, out)
        if dense.bias is not None:
            dense.bias.copy_(linear.bias)

    @staticmethod
    def _copy_norm(norm: LayerNormalization, ref: nn.LayerNorm) -> None:
        norm.gamma.copy_(ref.weight)
        norm.beta.copy_(ref.bias)
