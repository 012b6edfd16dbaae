"""Attention (seed 004, "Calcul du Self-Attention"): scaled dot-product, multi-head, and
the positional encoding that gives the Transformer its sense of order.

The course's formula, for queries Q, keys K and values V::

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Multi-head attention runs it ``nh`` times in parallel on learned projections of the
inputs (``W^Q``, ``W^K``, ``W^V`` per head), concatenates the heads and multiplies by
``W^O``. Masks follow Keras: a boolean mask is **True where attention is allowed**
(the opposite of ``torch.nn.MultiheadAttention``'s ``attn_mask``).

One concept a file:

* ``scaled_dot_product.py``: the formula (``scaled_dot_product_attention``) and the
  weightless layer ``ScaledDotProductAttention``;
* ``multi_head.py``: ``MultiHeadAttention`` (Keras's call convention and weights);
* ``positional.py``: ``PositionalEncoding`` (the course's sinusoids, or learned);
* ``masks.py``: ``causal_mask`` and the dropout keep-masks (``dropout``, ``dropout_mask``);
* ``chunked.py``: the formula in cache-sized chunks, for CPU training with dropout;
* ``luong_bahdanau.py``: ``LuongBahdanauAttention``, the scores of a recurrent
  encoder-decoder (Luong's ``s^T W_a h``, Bahdanau's ``v^T tanh(W_1 h + W_2 s)``).

Shapes: B batch, Tq query steps, Tk key/value steps, D features, nh heads,
dk ``key_dim``, dv ``value_dim``.
"""
from __future__ import annotations

from seqlab.layers.attention.chunked import _ChunkedAttention
from seqlab.layers.attention.luong_bahdanau import LuongBahdanauAttention
from seqlab.layers.attention.masks import (causal_mask, dropout, dropout_mask, keep_mask,
                                           random_bits)
from seqlab.layers.attention.multi_head import MultiHeadAttention
from seqlab.layers.attention.positional import PositionalEncoding
from seqlab.layers.attention.scaled_dot_product import (ScaledDotProductAttention,
                                                        scaled_dot_product_attention)

__all__ = ["scaled_dot_product_attention", "causal_mask", "dropout", "dropout_mask",
           "ScaledDotProductAttention", "MultiHeadAttention", "PositionalEncoding",
           "LuongBahdanauAttention"]
