"""Multi-head attention (seed 004): ``nh`` scaled dot-product attentions side by side.

Multi-head attention runs the course's formula ``nh`` times in parallel on learned
projections of the inputs (``W^Q``, ``W^K``, ``W^V`` per head), concatenates the heads
and multiplies by ``W^O``::

    head_h = Attention(query W^Q_h, key W^K_h, value W^V_h)
    MultiHead(query, key, value) = Concat(head_1, ..., head_nh) W^O

Masks follow Keras: a boolean mask is **True where attention is allowed**.

Shapes: B batch, Tq query steps, Tk key/value steps, D features, nh heads,
dk ``key_dim``, dv ``value_dim``.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import nn

from seqlab.layers import initializers, layout_cache
from seqlab.layers.attention import axes
from seqlab.layers.attention.masks import causal_mask
from seqlab.layers.attention.scaled_dot_product import scaled_dot_product_attention
from seqlab.layers.base import (Layer, Shape, attach_mask, check_positive_int, check_rate,
                                get_mask)


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
        output_shape: output feature size (default: the query's feature size), or a tuple
            of sizes (the output is then (B, Tq, *output_shape), as Keras).
        attention_axes: the axes attention runs over (Keras's argument). None (default):
            every axis between batch and features, e.g. all of (H, W) for an input
            (B, H, W, D), flattened into one sequence; an int or tuple picks some of them
            (the others act as extra batch axes). Inputs of rank above 3 take no masks or
            cache.
        kernel_initializer, bias_initializer: names or objects (Keras defaults).
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint: as Keras, on the four projections.
        use_gate: gated attention (Keras 3, Qiu et al. 2025): each head's output is
            multiplied by ``sigmoid(query W^G_h + b^G_h)`` before ``W^O``; adds
            ``gate_kernel`` (Dq, nh, dv) and ``gate_bias`` (nh, dv), after the key weights
            in ``get_weights()`` as in Keras.
        seed: accepted for Keras; the attention dropout draws from torch's global generator.
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
                 use_fast_path: bool = True, attention_axes=None, kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed: Optional[int] = None, use_gate: bool = False, **kwargs):
        super().__init__(**kwargs)
        where = f"MultiHeadAttention {self.name}"
        self.attention_axes = axes.check_attention_axes(where, attention_axes)
        self.use_gate = bool(use_gate)
        for part in ("query", "key", "gate", "value", "output"):
            self.regularize(f"{part}_kernel", kernel_regularizer, kernel_constraint)
            self.regularize(f"{part}_bias", bias_regularizer, bias_constraint)
        self.num_heads = check_positive_int(where, "num_heads", num_heads)
        self.key_dim = check_positive_int(where, "key_dim", key_dim)
        self.value_dim = check_positive_int(where, "value_dim",
                                            key_dim if value_dim is None else value_dim)
        self.dropout = check_rate(where, "dropout", dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            self.output_dims = tuple(check_positive_int(where, "output_shape", n)
                                     for n in output_shape)
        else:
            self.output_dims = (None if output_shape is None
                                else (check_positive_int(where, "output_shape", output_shape),))
        if self.output_dims is not None and not self.output_dims:
            raise ValueError(f"{where}: output_shape must be an int or a non-empty tuple, got "
                             f"{output_shape!r}.")
        self.output_size = (None if self.output_dims is None
                            else int(torch.tensor(self.output_dims).prod()))
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.use_fast_path = bool(use_fast_path)
        self._input_shapes = None  # (value_shape, key_shape) seen at the first call

    # ------------------------------------------------------------------ building
    def __call__(self, query, value=None, key=None, *args, **kwargs):
        query, value, key = (self._from_numpy(t) for t in (query, value, key))
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
        if self.use_gate:
            self.gate_kernel = nn.Parameter(init_k((dq, nh, vd)))  # (Dq, nh, dv)
            self.gate_bias = nn.Parameter(init_b((nh, vd))) if self.use_bias else None
        self.value_kernel = nn.Parameter(init_k((dv, nh, vd)))  # (Dv, nh, dv)
        self.value_bias = nn.Parameter(init_b((nh, vd))) if self.use_bias else None
        out_dims = self.output_dims or (dq,)
        self.output_kernel = nn.Parameter(init_k((nh, vd) + out_dims))  # (nh, dv, *D_out)
        self.output_bias = nn.Parameter(init_b(out_dims)) if self.use_bias else None
        self._fusable = dq == dk == dv

    # ------------------------------------------------------------------ forward
    def _project(self, x: torch.Tensor, kernel: torch.Tensor, bias) -> torch.Tensor:
        """(B, T, D) @ (D, nh, d) + (nh, d) -> (B, nh, T, d), a view: no copy."""
        B, T, D = x.shape
        w = kernel.reshape(D, -1)  # (D, nh*d)
        y = (torch.addmm(bias.reshape(-1), x.reshape(B * T, D), w) if bias is not None
             else x.reshape(B * T, D) @ w)  # (B*T, nh*d)
        return y.view(B, T, self.num_heads, -1).transpose(1, 2)  # (B, nh, T, d)

    def _qkv_weights(self, D: int):
        """Q, K, V kernels side by side (D, nh*(2dk+dv)) and biases (nh*(2dk+dv),) or None
        (made once per predict: layers/layout_cache.py)."""
        w = torch.cat([self.query_kernel.reshape(D, -1), self.key_kernel.reshape(D, -1),
                       self.value_kernel.reshape(D, -1)], dim=1)
        if not self.use_bias:
            return w, None
        return w, torch.cat([self.query_bias.reshape(-1), self.key_bias.reshape(-1),
                             self.value_bias.reshape(-1)])

    def _project_qkv(self, x: torch.Tensor):
        """Self-attention: one matmul for Q, K and V together (fused projection)."""
        B, T, D = x.shape
        nh, kd, vd = self.num_heads, self.key_dim, self.value_dim
        w, b = layout_cache.cached(self, "qkv", lambda: self._qkv_weights(D))
        if b is not None:
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
        if isinstance(query, torch.Tensor) and (
                query.dim() > 3 or self.attention_axes not in (None, (1,), (-2,))):
            return axes.attend_over_axes(  # rank > 3 or other attention axes: fold, attend
                self, query, value, key, attention_mask, use_causal_mask,
                return_attention_scores, training,
                masks=(query_mask, value_mask, key_mask, mask, cache))
        return self._attend3(query, value, key, attention_mask, use_causal_mask,
                             return_attention_scores, query_mask, value_mask, key_mask,
                             training, cache, mask)

    def _attend3(self, query: torch.Tensor, value: Optional[torch.Tensor] = None,
                 key: Optional[torch.Tensor] = None, attention_mask=None,
                 use_causal_mask: bool = False, return_attention_scores: bool = False,
                 query_mask=None, value_mask=None, key_mask=None, training=None,
                 cache: Optional[dict] = None, mask=None):
        """The (B, T, D) attention, over axis 1."""
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
        # A padded query may attend to nothing: its output is zero. Without weights asked
        # for, the kernel gets the keys' (B, 1, 1, Tk) mask alone and the padded queries'
        # rows are zeroed after it: the same output, no (B, 1, Tq, Tk) mask built.
        zero_rows = None
        if query_mask is not None:
            m = query_mask.bool()[:, None, :, None]  # (B, 1, Tq, 1)
            if return_attention_scores:
                allowed = m if allowed is None else allowed & m
            else:
                zero_rows = ~m
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
        if zero_rows is not None:
            out = out.masked_fill(zero_rows, 0.0)
        if self.use_gate:
            # G_h = sigmoid(query W^G_h + b^G_h): each head's output gated element-wise
            out = out * torch.sigmoid(self._project(query, self.gate_kernel,
                                                    self.gate_bias))  # (B, nh, Tq, dv)
        out = out.transpose(1, 2).reshape(B * Tq, -1)  # (B*Tq, nh*dv)
        out_dims = tuple(self.output_kernel.shape[2:])
        w_o = self.output_kernel.reshape(out.shape[1], -1)  # (nh*dv, D_out)
        y = (torch.addmm(self.output_bias.reshape(-1), out, w_o) if self.output_bias is not None
             else out @ w_o).view((B, Tq) + out_dims)  # (B, Tq, *D_out)
        y = attach_mask(y, query_mask)
        return (y, scores) if return_attention_scores else y

    def _check_inputs(self, query, value, key) -> None:
        for arg, t in (("query", query), ("value", value), ("key", key)):
            if not isinstance(t, torch.Tensor) or t.dim() != 3:
                raise ValueError(
                    f"{self.name} (MultiHeadAttention): {arg} must be a (B, T, D) tensor, got "
                    f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}.")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"{self.name} (MultiHeadAttention): the steps of key and value "
                             f"must be equal, got {key.shape[1]} and {value.shape[1]}.")

    def compute_output_shape(self, query_shape: Shape, value_shape: Optional[Shape] = None,
                             key_shape: Optional[Shape] = None) -> Shape:
        """Keras's signature: (query_shape, value_shape, key_shape=None) -> output shape."""
        key_shape = value_shape if key_shape is None else key_shape
        if value_shape is not None and tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{self.name} (MultiHeadAttention): the axes of value and key "
                             f"but the last must be equal, got value_shape "
                             f"{tuple(value_shape)} and key_shape {tuple(key_shape)}.")
        return tuple(query_shape[:-1]) + (self.output_dims or (query_shape[-1],))

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


__all__ = ["MultiHeadAttention"]
