"""softmax(Q K^T / sqrt(d_k)) V computed in chunks, for CPU training with dropout.

torch has no fused CPU attention kernel with dropout; with large scores the plain
formula spends its time moving the (Tq, Tk) weights to and from memory.
``scaled_dot_product_attention`` calls this instead when the scores are many
(``_CHUNKED_FROM`` there); the result and the dropout masks drawn are the formula's.

Shapes: B batch, nh heads, Tq query steps, Tk key/value steps, dk/dv head sizes,
c sequences in a chunk.
"""
from __future__ import annotations

import math
from typing import Optional

import torch

from seqlab.layers.attention.masks import keep_mask, random_bits

_CHUNK_ELEMENTS = 2 ** 19  # scores per chunk: 2 MB of float32, about a core's L2 cache


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
