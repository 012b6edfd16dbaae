"""The Transformer (seed 004, Vaswani et al. 2017): encoder and decoder layers, their
stacks, and the encoder-decoder.

An encoder layer is self-attention then a position-wise feed-forward network, each
wrapped in "Add & Norm" (post-norm, as in the paper)::

    x = LayerNorm(x + Dropout(SelfAttention(x)))
    x = LayerNorm(x + Dropout(W_2 Dropout(relu(W_1 x))))

``norm_first=True`` normalises before each sub-layer instead (pre-norm:
``x = x + Dropout(SelfAttention(LayerNorm(x)))``), which trains deep stacks more easily.
A decoder layer adds, between the two, a cross-attention over the encoder's output
(the "memory"), and its self-attention is causal: step t sees steps <= t only.

Inputs are vectors (B, T, D) (embed and add ``PositionalEncoding`` first); D is
``d_model``, known at the first call. Masks are (B, T) bool, True = real step, as
everywhere in seqlab. Every layer can return its attention weights (B, nh, Tq, Tk), and
keeps the last ones in ``last_attention`` when ``need_weights`` is set. The decoder has a
key/value cache for incremental decoding (``cache=decoder.init_cache()``).

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from seqlab.layers.attention import MultiHeadAttention, dropout_mask
from seqlab.layers.base import Layer, Shape, attach_mask, check_positive_int, check_rate, get_mask
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


class _Stack(Layer):
    """``num_layers`` identical layers (separate weights) and an optional final norm."""

    supports_masking = True
    _layer_class = None

    def __init__(self, num_layers: int, num_heads: int, ff_dim: int, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False,
                 layer_norm_epsilon: float = 1e-5, final_norm: Optional[bool] = None,
                 key_dim: Optional[int] = None, use_fast_path: bool = True,
                 attention_dropout: Optional[float] = None, **kwargs):
        extra = {k: kwargs.pop(k) for k in ("cross_attention",) if k in kwargs}
        super().__init__(**kwargs)
        self.num_layers = check_positive_int(f"{type(self).__name__} {self.name}",
                                             "num_layers", num_layers)
        self.layers = nn.ModuleList([
            self._layer_class(num_heads, ff_dim, dropout, activation, norm_first,
                              layer_norm_epsilon, key_dim, use_fast_path=use_fast_path,
                              attention_dropout=attention_dropout,
                              name=f"{self.name}_layer_{i}", **extra)
            for i in range(self.num_layers)])
        # Pre-norm stacks end with a LayerNorm (their last residual is not normalised).
        self.final_norm = (LayerNormalization(epsilon=layer_norm_epsilon)
                           if (norm_first if final_norm is None else final_norm) else None)

    def build(self, input_shape: Shape) -> None:
        for layer in self.layers:
            layer.build_once(input_shape)
        if self.final_norm is not None:
            self.final_norm.build_once(input_shape)

    @property
    def need_weights(self) -> bool:
        return all(layer.need_weights for layer in self.layers)

    @need_weights.setter
    def need_weights(self, value: bool) -> None:
        for layer in self.layers:
            layer.need_weights = bool(value)

    @property
    def last_attention(self) -> list:
        """The attention weights of the last call, one entry per layer (needs need_weights)."""
        return [layer.last_attention for layer in self.layers]

    def _run(self, x, mask, return_attention_scores, call):
        pad = get_mask(x, mask)
        all_scores = []
        for i, layer in enumerate(self.layers):
            out = call(i, layer, x, pad)
            x, scores = out if return_attention_scores else (out, None)
            all_scores.append(scores)
        if self.final_norm is not None:
            x = self.final_norm(x)
        x = attach_mask(x, pad)
        return (x, all_scores) if return_attention_scores else x

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


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


def _load_stack(stack: _Stack, module) -> _Stack:
    if len(module.layers) != len(stack.layers) or (module.norm is None) != (
            stack.final_norm is None):
        raise ValueError(f"{stack.name}: cannot load a torch stack of {len(module.layers)} "
                         f"layers (final norm: {module.norm is not None}) into "
                         f"{len(stack.layers)} layers (final norm: "
                         f"{stack.final_norm is not None}).")
    if not stack.built:
        stack.build_once((None, None, module.layers[0].self_attn.embed_dim))
    for ours, ref in zip(stack.layers, module.layers):
        ours.load_torch_weights(ref)
    if module.norm is not None:
        with torch.no_grad():
            _Block._copy_norm(stack.final_norm, module.norm)
    return stack


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


__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]
