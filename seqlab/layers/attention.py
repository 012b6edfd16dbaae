"""Attention (seed 004, "Calcul du Self-Attention"): scaled dot-product, multi-head, and
the positional encoding that gives the Transformer its sense of order.

The course's formula, for queries Q, keys K and values V::

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Multi-head attention runs it ``nh`` times in parallel on learned projections of the
inputs (``W^Q``, ``W^K``, ``W^V`` per head), concatenates the heads and multiplies by
``W^O``. Masks follow Keras: a boolean mask is **True where attention is allowed**
(the opposite of ``torch.nn.MultiheadAttention``'s ``attn_mask``).

Shapes: B batch, Tq query steps, Tk key/value steps, D features, nh heads,
dk ``key_dim``, dv ``value_dim``.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.layers import initializers
from seqlab.layers.base import (Layer, Shape, attach_mask, check_positive_int, check_rate,
                                get_mask)


def causal_mask(tq: int, tk: int, offset: int = 0, device=None) -> torch.Tensor:
    """(Tq, Tk) bool, True where query i may see key j: ``j <= i + offset``.

    ``offset`` is the number of keys already cached before these queries (incremental
    decoding); 0 gives the usual lower-triangular mask.
    """
    i = torch.arange(tq, device=device)[:, None]  # (Tq, 1)
    j = torch.arange(tk, device=device)[None, :]  # (1, Tk)
    return j <= i + offset  # (Tq, Tk)


def random_bits(like: torch.Tensor) -> torch.Tensor:
    """Uniform int16 values shaped like ``like``, four per 64-bit random number."""
    n = like.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=like.device)
    words.random_(-2 ** 63, 2 ** 63 - 1)  # uniform 64-bit words
    return words.view(torch.int16)[:n].view(like.shape)


def keep_mask(bits: torch.Tensor, rate: float, dtype) -> tuple[torch.Tensor, float]:
    """``(keep, scale)`` from ``random_bits``: keep is 1.0 with probability 1 - ``rate``
    (quantised to 1/65536), else 0.0; kept values are to be scaled by ``scale``."""
    threshold = round(rate * 65536)  # P(dropped) = threshold / 65536
    keep = torch.ge(bits, threshold - 32768,
                    out=torch.empty(bits.shape, dtype=dtype, device=bits.device))
    return keep, 65536 / (65536 - threshold)


def dropout_mask(like: torch.Tensor, rate: float) -> tuple[torch.Tensor, float]:
    """Inverted dropout's mask for ``like``: ``(keep, scale)``, ``y = x * keep * scale``.

    Same distribution as ``F.dropout``, drawn as 16-bit integers, four per 64-bit
    random number, and compared straight into a float mask: on CPU ``bernoulli_``
    costs ~9 ns a value, this ~2 ns (bench/transformer_speed.py).
    """
    return keep_mask(random_bits(like), rate, like.dtype)


def dropout(x: torch.Tensor, rate: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout (zero a fraction ``rate``, scale the rest) via ``dropout_mask``."""
    if not training or rate == 0.0:
        return x
    keep, scale = dropout_mask(x, rate)
    return x * keep * scale


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


_CHUNK_ELEMENTS = 2 ** 19  # scores per chunk: 2 MB of float32, about a core's L2 cache
# Below this many scores (B*nh*Tq*Tk) they fit in the caches anyway and the plain formula
# is as fast (measured: chunks win 1.8x at 8M scores, break even near 4M).
_CHUNKED_FROM = 2 ** 22


class _ChunkedAttention(torch.autograd.Function):
    """softmax(Q K^T / sqrt(d_k)) V with dropout on the weights, for CPU training.

    The same formula, computed a few sequences at a time so that each chunk's (Tq, Tk)
    weights stay in cache instead of travelling to memory at every step; the backward
    pass recomputes them (FlashAttention's trick) and keeps only the dropout's random
    bits (int16). Masks become an additive bias and a 0/1 factor (``masked_fill``
    with a bool mask is ~10x slower than a multiplication). Inputs (B, nh, T, d).
    """

    @staticmethod
    def _weights(ctx, part, q_scaled, k):
        s = _bmm(q_scaled[part], k[part].transpose(-2, -1))  # (c, nh, Tq, Tk)
        if ctx.bias is not None:
            s.add_(_part(ctx.bias, part))  # -huge where not allowed
        w = torch.softmax(s, dim=-1)  # (c, nh, Tq, Tk)
        return w.mul_(_part(ctx.allowed, part)) if ctx.bias is not None else w

    @staticmethod
    def forward(ctx, q, k, v, allowed, rate):
        B, nh, tq, dk = q.shape
        ctx.c = max(1, _CHUNK_ELEMENTS // (nh * tq * k.shape[2]))  # sequences per chunk
        ctx.scale, ctx.rate, ctx.bits = 1.0 / math.sqrt(dk), rate, []
        ctx.bias = ctx.allowed = None
        if allowed is not None:
            ctx.allowed = allowed.to(q.dtype)  # 1 = may attend
            ctx.bias = (1.0 - ctx.allowed) * (torch.finfo(q.dtype).min / 2)
        q_scaled = q * ctx.scale
        # (B, nh, Tq, dv), laid out as (B, Tq, nh, dv): merging the heads is then free
        out = q.new_empty(B, tq, nh, v.shape[-1]).transpose(1, 2)
        keep_scale = 1.0
        for i in range(0, B, ctx.c):
            part = slice(i, i + ctx.c)
            w = _ChunkedAttention._weights(ctx, part, q_scaled, k)
            bits = random_bits(w)
            keep, keep_scale = keep_mask(bits, rate, w.dtype)
            ctx.bits.append(bits)
            out[part] = _bmm(w.mul_(keep), v[part])  # (c, nh, Tq, dv)
        out.mul_(keep_scale)
        ctx.keep_scale = keep_scale
        ctx.save_for_backward(q_scaled, k, v, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        q_scaled, k, v, out = ctx.saved_tensors
        rowdot = (grad * out).sum(-1, keepdim=True)  # sum_j dW_ij W_ij: (B, nh, Tq, 1)
        grad = grad * ctx.keep_scale  # (B, nh, Tq, dv)
        dq, dk, dv = torch.empty_like(q_scaled), torch.empty_like(k), torch.empty_like(v)
        for n, i in enumerate(range(0, q_scaled.shape[0], ctx.c)):
            part = slice(i, i + ctx.c)
            w = _ChunkedAttention._weights(ctx, part, q_scaled, k)  # recomputed
            keep, _ = keep_mask(ctx.bits[n], ctx.rate, w.dtype)
            dv[part] = _bmm((w * keep).transpose(-2, -1), grad[part])
            dw = _bmm(grad[part], v[part].transpose(-2, -1)).mul_(keep)  # (c, nh, Tq, Tk)
            ds = dw.sub_(rowdot[part]).mul_(w)  # softmax backward: W * (dW - rowdot)
            dq[part] = _bmm(ds, k[part]).mul_(ctx.scale)
            dk[part] = _bmm(ds.transpose(-2, -1), q_scaled[part])
        return dq, dk, dv, None, None


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(c, nh, n, m) @ (c, nh, m, p) -> (c, nh, n, p) as one bmm on (c*nh)-batches (views)."""
    c, nh = a.shape[:2]
    return torch.bmm(a.reshape(c * nh, *a.shape[2:]),
                     b.reshape(c * nh, *b.shape[2:])).view(c, nh, a.shape[2], b.shape[3])


def _part(mask: Optional[torch.Tensor], part: slice) -> Optional[torch.Tensor]:
    """The rows of a (B or 1, ..., Tq, Tk) mask for the sequences in ``part``."""
    if mask is None or mask.dim() < 4 or mask.shape[0] == 1:
        return mask
    return mask[part]


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


class MultiHeadAttention(Layer):
    """Multi-head attention with Keras's call convention and weight layout.

    Each head h projects the inputs, ``Q_h = query W^Q_h``, ``K_h = key W^K_h``,
    ``V_h = value W^V_h``, computes ``softmax(Q_h K_h^T / sqrt(dk)) V_h``; the heads are
    concatenated and multiplied by ``W^O``.

    Args:
        num_heads: nh.
        key_dim: dk, size of each head's queries and keys.
        value_dim: dv, size of each head's values (default ``key_dim``).
        dropout: rate on the attention weights during training.
        use_bias: biases on the four projections.
        output_shape: output feature size (default: the query's feature size).
        kernel_initializer, bias_initializer: names (Keras defaults).
        use_fast_path: torch's fused attention kernel when no scores are requested.

    Call ``mha(query, value, key=None, attention_mask=None, use_causal_mask=False,
    return_attention_scores=False)``: query (B, Tq, Dq), value (B, Tk, Dv), key
    (B, Tk, Dk) (default ``value``; ``value`` defaults to ``query``, i.e. self-attention).
    ``attention_mask`` is bool (B, Tq, Tk) (or broadcastable, (B, nh, Tq, Tk) per head),
    True = allowed. Padding masks (B, T) attached to query/value (``Embedding(mask_zero=
    True)``) or given as ``query_mask``/``value_mask``/``key_mask`` are combined with it.
    Returns (B, Tq, D_out) and, with ``return_attention_scores``, the weights
    (B, nh, Tq, Tk). ``cache`` (a dict) enables incremental decoding: projected keys and
    values are kept and extended in place (``{"static": True}`` keeps them fixed after the
    first call, for cross-attention).

    Weights, as in Keras: query/key/value kernels (D, nh, dk|dv) with biases (nh, dk|dv),
    output kernel (nh, dv, D_out) with bias (D_out,).

    >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = torch.randn(3, 5, 8)
    >>> y, scores = mha(x, x, return_attention_scores=True)
    >>> y.shape, scores.shape
    (torch.Size([3, 5, 8]), torch.Size([3, 2, 5, 5]))
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True,
                 output_shape: Union[None, int, Sequence[int]] = None,
                 kernel_initializer: str = "glorot_uniform", bias_initializer: str = "zeros",
                 use_fast_path: bool = True, **kwargs):
        super().__init__(**kwargs)
        where = f"MultiHeadAttention {self.name}"
        self.num_heads = check_positive_int(where, "num_heads", num_heads)
        self.key_dim = check_positive_int(where, "key_dim", key_dim)
        self.value_dim = check_positive_int(where, "value_dim",
                                            key_dim if value_dim is None else value_dim)
        self.dropout = check_rate(where, "dropout", dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"{where}: output_shape must be an int or a 1-tuple (the "
                                 f"output feature size), got {output_shape!r}.")
            output_shape = output_shape[0]
        self.output_size = (None if output_shape is None
                            else check_positive_int(where, "output_shape", output_shape))
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.use_fast_path = bool(use_fast_path)
        self._input_shapes = None  # (value_shape, key_shape) seen at the first call

    # ------------------------------------------------------------------ building
    def __call__(self, query, value=None, key=None, *args, **kwargs):
        if not self.built and isinstance(query, torch.Tensor):
            value_ = query if value is None else value
            key_ = value_ if key is None else key
            self._input_shapes = ((None,) + tuple(value_.shape[1:]),
                                  (None,) + tuple(key_.shape[1:]))
        return super().__call__(query, value, key, *args, **kwargs)

    def build(self, input_shape: Shape) -> None:
        value_shape, key_shape = self._input_shapes or (input_shape, input_shape)
        dq, dv, dk = input_shape[-1], value_shape[-1], key_shape[-1]
        if None in (dq, dv, dk):
            raise ValueError(f"{self.name} (MultiHeadAttention): feature sizes must be known, "
                             f"got query {input_shape}, value {value_shape}, key {key_shape}.")
        nh, kd, vd = self.num_heads, self.key_dim, self.value_dim
        d_out = self.output_size or dq
        init_k, init_b = self.kernel_initializer, self.bias_initializer
        self.query_kernel = nn.Parameter(init_k((dq, nh, kd)))  # (Dq, nh, dk)
        self.query_bias = nn.Parameter(init_b((nh, kd))) if self.use_bias else None
        self.key_kernel = nn.Parameter(init_k((dk, nh, kd)))  # (Dk, nh, dk)
        self.key_bias = nn.Parameter(init_b((nh, kd))) if self.use_bias else None
        self.value_kernel = nn.Parameter(init_k((dv, nh, vd)))  # (Dv, nh, dv)
        self.value_bias = nn.Parameter(init_b((nh, vd))) if self.use_bias else None
        self.output_kernel = nn.Parameter(init_k((nh, vd, d_out)))  # (nh, dv, D_out)
        self.output_bias = nn.Parameter(init_b((d_out,))) if self.use_bias else None
        self._fusable = dq == dk == dv

    # ------------------------------------------------------------------ forward
    def _project(self, x: torch.Tensor, kernel: torch.Tensor, bias) -> torch.Tensor:
        """(B, T, D) @ (D, nh, d) + (nh, d) -> (B, nh, T, d), a view: no copy."""
        B, T, D = x.shape
        w = kernel.reshape(D, -1)  # (D, nh*d)
        y = (torch.addmm(bias.reshape(-1), x.reshape(B * T, D), w) if bias is not None
             else x.reshape(B * T, D) @ w)  # (B*T, nh*d)
        return y.view(B, T, self.num_heads, -1).transpose(1, 2)  # (B, nh, T, d)

    def _project_qkv(self, x: torch.Tensor):
        """Self-attention: one matmul for Q, K and V together (fused projection)."""
        B, T, D = x.shape
        nh, kd, vd = self.num_heads, self.key_dim, self.value_dim
        w = torch.cat([self.query_kernel.reshape(D, -1), self.key_kernel.reshape(D, -1),
                       self.value_kernel.reshape(D, -1)], dim=1)  # (D, nh*(2dk+dv))
        if self.use_bias:
            b = torch.cat([self.query_bias.reshape(-1), self.key_bias.reshape(-1),
                           self.value_bias.reshape(-1)])
            y = torch.addmm(b, x.reshape(B * T, D), w)  # (B*T, nh*(2dk+dv))
        else:
            y = x.reshape(B * T, D) @ w
        y = y.view(B, T, -1)
        q, k, v = y.split([nh * kd, nh * kd, nh * vd], dim=-1)  # (B, T, nh*d) each
        return (q.view(B, T, nh, kd).transpose(1, 2),  # (B, nh, T, dk)
                k.view(B, T, nh, kd).transpose(1, 2),
                v.view(B, T, nh, vd).transpose(1, 2))  # (B, nh, T, dv)

    def forward(self, query: torch.Tensor, value: Optional[torch.Tensor] = None,
                key: Optional[torch.Tensor] = None, attention_mask=None,
                use_causal_mask: bool = False, return_attention_scores: bool = False,
                query_mask=None, value_mask=None, key_mask=None, training=None,
                cache: Optional[dict] = None, mask=None):
        self_attention = value is None or (value is query and (key is None or key is query))
        value = query if value is None else value
        key = value if key is None else key
        self._check_inputs(query, value, key)
        B, Tq = query.shape[:2]
        static = cache is not None and cache.get("static", False)
        incremental = cache is not None and not static
        query_mask = get_mask(query, query_mask if query_mask is not None else mask)
        if not incremental:  # a mask attached to the new steps cannot cover cached keys
            value_mask = get_mask(value, value_mask)
            key_mask = get_mask(key, key_mask) if key is not value else None
            if self_attention and value_mask is None:
                value_mask = query_mask  # the keys are the queries' own steps
        if static and "key" in cache:  # cross-attention: keys/values computed once
            q = self._project(query, self.query_kernel, self.query_bias)  # (B, nh, Tq, dk)
            k, v = cache["key"], cache["value"]
        elif self_attention and self._fusable:
            q, k, v = self._project_qkv(query)
        else:
            q = self._project(query, self.query_kernel, self.query_bias)  # (B, nh, Tq, dk)
            k = self._project(key, self.key_kernel, self.key_bias)  # (B, nh, Tk, dk)
            v = self._project(value, self.value_kernel, self.value_bias)  # (B, nh, Tk, dv)
        past = 0
        if cache is not None and not (static and "key" in cache):
            if not static and "key" in cache:
                past = cache["key"].shape[2]
                k = torch.cat([cache["key"], k], dim=2)  # (B, nh, past+Tk, dk)
                v = torch.cat([cache["value"], v], dim=2)
            cache["key"], cache["value"] = k, v
        Tk = k.shape[2]

        # Keras's combined mask, True = may attend: (B, 1 or nh, Tq, Tk).
        allowed = None
        if attention_mask is not None:
            allowed = attention_mask.bool()
            allowed = allowed.unsqueeze(1) if allowed.dim() == 3 else allowed
        if query_mask is not None:
            m = query_mask.bool()[:, None, :, None]  # (B, 1, Tq, 1)
            allowed = m if allowed is None else allowed & m
        for padding in (value_mask, key_mask):
            if padding is not None:
                if past and padding.shape[-1] != Tk:
                    raise ValueError(f"{self.name} (MultiHeadAttention): with a cache, a key "
                                     f"padding mask must cover all {Tk} cached keys, got "
                                     f"shape {tuple(padding.shape)}.")
                m = padding.bool()[:, None, None, :]  # (B, 1, 1, Tk)
                allowed = m if allowed is None else allowed & m
        if use_causal_mask:
            c = causal_mask(Tq, Tk, past, query.device)  # (Tq, Tk)
            allowed = c if allowed is None else allowed & c

        training = self.training if training is None else training
        out, scores = scaled_dot_product_attention(
            q, k, v, allowed, dropout=self.dropout if training else 0.0,
            return_weights=return_attention_scores, fast=self.use_fast_path)  # (B, nh, Tq, dv)
        out = out.transpose(1, 2).reshape(B * Tq, -1)  # (B*Tq, nh*dv)
        w_o = self.output_kernel.reshape(-1, self.output_kernel.shape[-1])  # (nh*dv, D_out)
        y = (torch.addmm(self.output_bias, out, w_o) if self.output_bias is not None
             else out @ w_o).view(B, Tq, -1)  # (B, Tq, D_out)
        y = attach_mask(y, query_mask)
        return (y, scores) if return_attention_scores else y

    def _check_inputs(self, query, value, key) -> None:
        for arg, t in (("query", query), ("value", value), ("key", key)):
            if not isinstance(t, torch.Tensor) or t.dim() != 3:
                raise ValueError(
                    f"{self.name} (MultiHeadAttention): {arg} must be a (B, T, D) tensor, got "
                    f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}.")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.name} (MultiHeadAttention): key and value must have the "
                             f"same number of steps, got {key.shape[1]} and {value.shape[1]}.")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape[:-1]) + (self.output_size or input_shape[-1],)

    # ------------------------------------------------------------------ torch weights
    def load_torch_weights(self, module: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a ``torch.nn.MultiheadAttention`` (same sizes) into this layer."""
        nh, kd, vd = self.num_heads, self.key_dim, self.value_dim
        if module.num_heads != nh or module.head_dim != kd or kd != vd:
            raise ValueError(f"{self.name}: cannot load torch MultiheadAttention with "
                             f"{module.num_heads} heads of {module.head_dim}; this layer has "
                             f"num_heads={nh}, key_dim={kd}, value_dim={vd}.")
        if module.in_proj_weight is not None:
            w_q, w_k, w_v = module.in_proj_weight.chunk(3)  # (nh*dk, D) each
        else:
            w_q, w_k, w_v = module.q_proj_weight, module.k_proj_weight, module.v_proj_weight
        if not self.built:
            d = module.embed_dim
            self._input_shapes = ((None, None, module.vdim), (None, None, module.kdim))
            self.build_once((None, None, d))
        with torch.no_grad():
            self.query_kernel.copy_(w_q.t().reshape(-1, nh, kd))  # (D, nh*dk) -> (D, nh, dk)
            self.key_kernel.copy_(w_k.t().reshape(-1, nh, kd))
            self.value_kernel.copy_(w_v.t().reshape(-1, nh, vd))
            self.output_kernel.copy_(module.out_proj.weight.t().reshape(nh, vd, -1))
            if self.use_bias:
                b_q, b_k, b_v = module.in_proj_bias.chunk(3)
                self.query_bias.copy_(b_q.view(nh, kd))
                self.key_bias.copy_(b_k.view(nh, kd))
                self.value_bias.copy_(b_v.view(nh, vd))
                self.output_bias.copy_(module.out_proj.bias)
        return self


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


__all__ = ["scaled_dot_product_attention", "causal_mask", "dropout", "dropout_mask", "ScaledDotProductAttention",
           "MultiHeadAttention", "PositionalEncoding"]
