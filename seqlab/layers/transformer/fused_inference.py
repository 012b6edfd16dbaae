"""Inference of an encoder layer on torch's fused kernel.

At inference (no gradient, dropout off) a whole encoder layer — the Q, K, V projection,
scaled dot-product attention, the output projection, Add & Norm, the feed-forward network
and Add & Norm again (``encoder.py`` writes each line) — is one call of torch's fused
encoder-layer kernel, the one ``torch.nn.TransformerEncoderLayer`` runs in eval mode. It
computes the same equations with fewer passes over memory and no per-operation dispatch,
which is what a batch of one review spends most on (``bench/predict_overhead.py``: the
Transformer at batch 1, seqlab against the previous op-by-op loop).
``tests/layers/test_transformer_fused_inference.py`` holds the two equal (1e-5).

It applies when the layer's attention is plain self-attention over the whole model width
(nh x dk = D, dv = dk, with biases), the activation is ReLU, no attention weights are asked
for, no attention mask or causal mask is given and every step of the batch is real (a
batch of one review after ``drop_padding``, or rows of equal length), outside export and
compilation (which trace the equations). Otherwise the layer runs its equations op by op. The kernel takes torch's weight layout; it is derived from
the layer's (Keras-layout) weights once per ``predict`` (``layers/layout_cache.py``).
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers import layout_cache
from seqlab.layers.base import traced
from seqlab.layers.normalization import LayerNormalization

ENABLED = True  # False: every layer op by op (bench/predict_overhead.py compares the two)


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


def applies(layer, x: torch.Tensor) -> bool:
    """Whether ``layer`` may run ``x`` (B, T, D) on the fused kernel (see the module)."""
    mha = getattr(layer, "self_attention", None)
    return (ENABLED and not layer.training and not torch.is_grad_enabled() and x.dim() == 3
            and x.device.type in ("cpu", "cuda")  # not "meta" (shapes only: no values)
            and not traced()  # export, compile: the equations
            and x.dtype in (torch.float32, torch.float64) and layer.activation == "relu"
            and layer.use_bias and mha is not None and mha.use_bias
            and mha.attention_axes in (None, (1,), (-2,))
            and mha.key_dim == mha.value_dim
            and mha.num_heads * mha.key_dim == x.shape[-1]
            and mha.query_kernel.shape[0] == x.shape[-1]
            and mha.output_kernel.shape[-1] == x.shape[-1]
            and all(isinstance(n, LayerNormalization) and n.center and n.scale
                    and n.axis in (-1, [-1], 2, [2])
                    and n.epsilon == layer.norm1.epsilon for n in (layer.norm1, layer.norm2)))


def encoder_layer(layer, x: torch.Tensor) -> Optional[torch.Tensor]:
    """The layer's output (B, T, D) for ``x`` whose steps are all real, or None when the
    fused kernel does not apply."""
    if not applies(layer, x):
        return None
    args = layout_cache.cached(layer, "torch_encoder_layer", lambda: _torch_layout(layer))
    return torch._transformer_encoder_layer_fwd(x, *args, None, None)


__all__ = ["applies", "encoder_layer"]
