"""Inference of an encoder layer in few calls: seqlab's C kernels, or torch's fused one.

At inference (no gradient, dropout off) an encoder layer — the Q, K, V projection,
scaled dot-product attention, the output projection, Add & Norm, the feed-forward network
and Add & Norm again (``encoder.py`` writes each line) — runs as:

* float32 on the CPU, with the C kernels built (``encoder_layer.c``): the four projections
  as matrix products (torch's, near the machine's peak) and between them seqlab's
  self-attention (every head at once, the scores never leave L1) and Add & Norm (one pass
  per step). ``bench/predict_overhead.py``: the Transformer classifier at batch 1, this
  path against torch's fused kernel. The attention runs on one thread: with several
  threads and a large batch (``SINGLE_THREAD_UP_TO``), torch's fused kernel instead;
* otherwise (float64, CUDA, no C compiler, ``SEQLAB_NATIVE=0``): one call of torch's fused
  encoder-layer kernel, the one ``torch.nn.TransformerEncoderLayer`` runs in eval mode.

Both compute the same equations; ``tests/layers/test_transformer_fused_inference.py``
holds them equal to the layer op by op.

They apply when the layer's attention is plain self-attention over the whole model width
(nh x dk = D, dv = dk, with biases), the activation is ReLU, no attention weights are asked
for, no attention mask or causal mask is given and every step of the batch is real (a
batch of one review after ``drop_padding``, or rows of equal length), outside export and
compilation (which trace the equations). Otherwise the layer runs its equations op by op.
The weights each path takes are derived from the layer's (Keras-layout) ones once per
``predict`` (``layers/layout_cache.py``).

Shapes: B batch, T steps, D d_model, F ff_dim, nh heads, dk key size (D = nh dk).
"""
from __future__ import annotations

import ctypes
import math
from pathlib import Path
from typing import Optional

import torch

from seqlab import native
from seqlab.layers import layout_cache
from seqlab.layers.base import traced
from seqlab.layers.normalization import LayerNormalization

ENABLED = True  # False: every layer op by op (bench/predict_overhead.py compares the two)
SOURCE = Path(__file__).with_name("encoder_layer.c")
# With several intra-op threads, from this many attention scores (B nh T^2, ~1 ms on one
# core) torch's fused kernel runs the layer: it spreads the attention over the threads,
# the C kernel runs it on one (measured, 2 threads: equal at 8 x 256 steps, torch 1.1x at
# 32 x 128; one thread: the C path 1.45-1.7x at every size).
SINGLE_THREAD_UP_TO = 1 << 21
_I, _F, _P = ctypes.c_int, ctypes.c_float, ctypes.c_void_p


def library():
    """The compiled ``encoder_layer.c`` with its argument types set, or None."""
    return native.load(SOURCE, {
        "seqlab_attention": ([_I] * 4 + [_F, _P, _P, _I, _I], _I),
        "seqlab_add_norm": ([_I, _I, _P, _P, _P, _P, _F, _P, _P], None)})


def applies(layer, x: torch.Tensor) -> bool:
    """Whether ``layer`` may run ``x`` (B, T, D) on a fused path (see the module)."""
    mha = getattr(layer, "self_attention", None)
    return (ENABLED and not layer.training and not torch.is_grad_enabled() and x.dim() == 3
            and x.device.type in ("cpu", "cuda")  # not "meta" (shapes only: no values)
            and not traced()  # export, compile: the equations
            and x.dtype in (torch.float32, torch.float64) and mha is not None
            and mha.query_kernel.shape[0] == x.shape[-1]
            and layout_cache.cached(layer, "fused_inference", lambda: _fits(layer)))


def _fits(layer) -> bool:
    """The layer's own conditions (once per ``predict``)."""
    mha, D = layer.self_attention, layer.self_attention.query_kernel.shape[0]
    return (layer.activation == "relu" and layer.use_bias and mha.use_bias
            and mha.attention_axes in (None, (1,), (-2,))
            and mha.key_dim == mha.value_dim
            and mha.num_heads * mha.key_dim == D
            and mha.output_kernel.shape[-1] == D
            and all(isinstance(n, LayerNormalization) and n.center and n.scale
                    and n.axis in (-1, [-1], 2, [2])
                    and n.epsilon == layer.norm1.epsilon for n in (layer.norm1, layer.norm2)))


def encoder_layer(layer, x: torch.Tensor,
                  mask: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
    """The layer's output (B, T, D) for ``x``, or None when no fused path applies (or
    ``mask`` (B, T) marks a padded step)."""
    if not applies(layer, x) or (mask is not None and not bool(mask.all())):
        return None
    B, T = x.shape[:2]
    if x.dtype == torch.float32 and x.device.type == "cpu" and (
            torch.get_num_threads() == 1
            or B * layer.self_attention.num_heads * T * T < SINGLE_THREAD_UP_TO):
        lib = library()
        out = _c_layer(lib, layer, x.contiguous()) if lib is not None else None
        if out is not None:  # (None: no scratch memory for the attention)
            return out
    args = layout_cache.cached(layer, "torch_encoder_layer", lambda: _torch_layout(layer))
    return torch._transformer_encoder_layer_fwd(x, *args, None, None)


# ---------------------------------------------------------------------------- C kernels
def _c_layout(layer) -> tuple:
    """The layer's weights for ``_c_layer``: Keras's (in, out) kernels as they are, Q, K
    and V side by side."""
    mha, D = layer.self_attention, layer.norm1.gamma.shape[0]
    w_qkv = torch.cat([mha.query_kernel.reshape(D, -1), mha.key_kernel.reshape(D, -1),
                       mha.value_kernel.reshape(D, -1)], dim=1).contiguous()  # (D, 3D)
    b_qkv = torch.cat([mha.query_bias.reshape(-1), mha.key_bias.reshape(-1),
                       mha.value_bias.reshape(-1)])                           # (3D,)
    w_out = mha.output_kernel.reshape(-1, D).contiguous()                     # (D, D)
    norms = [t.detach().contiguous() for n in (layer.norm1, layer.norm2)
             for t in (n.gamma, n.beta)]
    return (w_qkv, b_qkv, w_out, mha.output_bias, layer.ff_inner.kernel, layer.ff_inner.bias,
            layer.ff_outer.kernel, layer.ff_outer.bias, *norms)


def _c_layer(lib, layer, x: torch.Tensor) -> Optional[torch.Tensor]:
    """x (B, T, D) float32 -> the layer's output, post-norm (the paper) or pre-norm:
        post: y = LN1(x + MHA(x))       out = LN2(y + FFN(y))
        pre:  y = x + MHA(LN1(x))       out = y + FFN(LN2(y))"""
    w_qkv, b_qkv, w_out, b_out, w1, b1, w2, b2, g1, be1, g2, be2 = layout_cache.cached(
        layer, "c_encoder_layer", lambda: _c_layout(layer))
    B, T, D = x.shape
    nh, eps = layer.self_attention.num_heads, layer.norm1.epsilon
    x = x.reshape(B * T, D)                                      # (BT, D)

    def add_norm(a, b, gamma, beta, keep_sum=False):
        """LN(a + b) (b None: LN(a)); with keep_sum, also a + b."""
        out, total = torch.empty_like(a), (torch.empty_like(a) if keep_sum else None)
        lib.seqlab_add_norm(a.shape[0], D, a.data_ptr(), None if b is None else b.data_ptr(),
                            gamma.data_ptr(), beta.data_ptr(), eps,
                            None if total is None else total.data_ptr(), out.data_ptr())
        return out, total

    h = add_norm(x, None, g1, be1)[0] if layer.norm_first else x
    qkv = torch.addmm(b_qkv, h, w_qkv)                           # (BT, 3D): q, k, v
    heads = torch.empty_like(x)                                  # (BT, D): nh x dk
    dk = D // nh
    if lib.seqlab_attention(B, T, nh, dk, 1.0 / math.sqrt(dk), qkv.data_ptr(),
                            heads.data_ptr(), 0, B * nh) != 0:
        return None                                              # no scratch memory
    a = torch.addmm(b_out, heads, w_out)                         # (BT, D)
    if layer.norm_first:
        h, y = add_norm(x, a, g2, be2, keep_sum=True)            # LN2(y), y = x + a
    else:
        y = h = add_norm(x, a, g1, be1)[0]
    f = torch.addmm(b2, torch.addmm(b1, h, w1).relu_(), w2)      # (BT, D), F inside
    out = y.add_(f) if layer.norm_first else add_norm(y, f, g2, be2)[0]
    return out.view(B, T, D)


# ---------------------------------------------------------------------------- torch
def _torch_layout(layer) -> tuple:
    """The layer's weights as torch's kernel takes them (18 arguments after src)."""
    mha, D = layer.self_attention, layer.norm1.gamma.shape[0]
    qkv = torch.cat([mha.query_kernel.reshape(D, -1), mha.key_kernel.reshape(D, -1),
                     mha.value_kernel.reshape(D, -1)], dim=1).t().contiguous()  # (3D, D)
    qkv_bias = torch.cat([mha.query_bias.reshape(-1), mha.key_bias.reshape(-1),
                          mha.value_bias.reshape(-1)])                         # (3D,)
    out = mha.output_kernel.reshape(-1, D).t().contiguous()                    # (D, D)
    return (D, mha.num_heads, qkv, qkv_bias, out, mha.output_bias,
            False, layer.norm_first, layer.norm1.epsilon,
            layer.norm1.gamma, layer.norm1.beta, layer.norm2.gamma, layer.norm2.beta,
            layer.ff_inner.kernel.t().contiguous(), layer.ff_inner.bias,        # (F, D)
            layer.ff_outer.kernel.t().contiguous(), layer.ff_outer.bias)        # (D, F)


__all__ = ["applies", "encoder_layer", "library"]
