"""Multi-head attention over chosen axes (Keras's ``attention_axes``) and inputs of rank > 3.

The core layer attends over the time axis of (B, T, D) inputs. For an input
(B, d_1, ..., d_n, D) and attention axes A (a subset of 1..n, default all of them), the
other axes are moved next to the batch and folded into it, the attention axes are
flattened into one sequence, the (B', T', D) core runs, and the output is unfolded back:

    (B, H, W, D), attention_axes=None     -> sequences of H*W steps, batch B
    (B, H, W, D), attention_axes=(2,)     -> sequences of W steps, batch B*H

Scores come back as Keras lays them out: (B, *other axes, nh, *query axes, *key axes).
"""
from __future__ import annotations

import math
from typing import Optional

import torch


def check_attention_axes(where: str, attention_axes) -> Optional[tuple]:
    """None, an int or a sequence of ints (checked against the input's rank at the call)."""
    if attention_axes is None:
        return None
    if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
        return (attention_axes,)
    try:
        items = tuple(attention_axes)
    except TypeError:
        items = None
    if not items or not all(isinstance(a, int) and not isinstance(a, bool) for a in items):
        raise ValueError(f"{where}: attention_axes must be None, an int or a tuple of ints, "
                         f"got {attention_axes!r}. Example: attention_axes=(1,) for (B, T, D).")
    return items


def resolve(where: str, attention_axes: Optional[tuple], rank: int) -> tuple:
    """The attention axes as sorted non-negative ints for an input of ``rank``."""
    if rank < 3:
        raise ValueError(f"{where}: inputs must have rank 3 or more, (B, T, D) or "
                         f"(B, d1, ..., D), got rank {rank}.")
    if attention_axes is None:
        return tuple(range(1, rank - 1))
    out = sorted({a + rank if a < 0 else a for a in attention_axes})
    if not all(1 <= a <= rank - 2 for a in out):
        raise ValueError(f"{where}: attention_axes={attention_axes} does not fit inputs of "
                         f"rank {rank}: attention runs over axes between the batch (0) and the "
                         f"features ({rank - 1}), i.e. 1..{rank - 2}. Example: "
                         f"attention_axes=({rank - 2},).")
    return tuple(out)


def _fold(x: torch.Tensor, perm: list, n_other: int):
    """(B, ...) permuted and folded: (B * prod(other), prod(attention), D)."""
    x = x.permute(*perm)                                  # (B, *other, *attention, D)
    B, other, att = x.shape[0], tuple(x.shape[1:1 + n_other]), tuple(x.shape[1 + n_other:-1])
    folded = x.reshape(B * math.prod(other), math.prod(att), x.shape[-1])  # (B', T', D)
    return folded, (B, other, att)


def attend_over_axes(layer, query, value, key, attention_mask, use_causal_mask,
                     return_attention_scores, training, masks=()):
    """``layer`` (a MultiHeadAttention) on inputs of any rank >= 3, over its attention axes."""
    where = f"{layer.name} (MultiHeadAttention)"
    if attention_mask is not None or use_causal_mask or any(m is not None for m in masks):
        raise ValueError(f"{where}: masks and caches work on (B, T, D) inputs attending over "
                         f"axis 1; with an input of shape {tuple(query.shape)} and "
                         f"attention_axes={layer.attention_axes} pass none, or reshape the "
                         f"inputs to (B, T, D) first.")
    value = query if value is None else value
    key = value if key is None else key
    rank = query.dim()
    att = resolve(where, layer.attention_axes, rank)
    if value.dim() != rank or key.dim() != rank:
        raise ValueError(f"{where}: query, value and key must have the same rank, got shapes "
                         f"{tuple(query.shape)}, {tuple(value.shape)}, {tuple(key.shape)}.")
    other = [a for a in range(1, rank - 1) if a not in att]
    perm = [0] + other + list(att) + [rank - 1]
    q, (B, o, sq) = _fold(query, perm, len(other))
    v, (_, ov, sk) = _fold(value, perm, len(other))
    k, _ = _fold(key, perm, len(other))
    if ov != o or tuple(key.shape[:-1]) != tuple(value.shape[:-1]):
        raise ValueError(f"{where}: the axes of value and key but the last must be equal, "
                         f"and match the query's non-attention axes {other}; got shapes "
                         f"{tuple(query.shape)}, {tuple(value.shape)}, {tuple(key.shape)}.")
    out = layer._attend3(q, v, k, return_attention_scores=return_attention_scores,
                         training=training)
    y, scores = out if return_attention_scores else (out, None)
    out_dims = tuple(y.shape[2:])
    y = y.reshape((B,) + o + sq + out_dims)               # (B, *other, *attention, *D_out)
    inverse = sorted(range(rank - 1), key=lambda i: perm[i])
    y = y.permute(*inverse, *range(rank - 1, y.dim()))    # back to the input's axis order
    if not return_attention_scores:
        return y
    nh = scores.shape[1]
    return y, scores.reshape((B,) + o + (nh,) + sq + sk)  # (B, *other, nh, *q_att, *k_att)
