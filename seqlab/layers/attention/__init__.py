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
* ``chunked.py``: the formula in cache-sized chunks, for CPU training with dropout.

Shapes: B batch, Tq query steps, Tk key/value steps, D features, nh heads,
dk ``key_dim``, dv ``value_dim``.
"""
from __future__ import annotations

import sys
import types

from seqlab.layers.attention import chunked, scaled_dot_product
from seqlab.layers.attention.chunked import _CHUNK_ELEMENTS, _ChunkedAttention
from seqlab.layers.attention.masks import (causal_mask, dropout, dropout_mask, keep_mask,
                                           random_bits)
from seqlab.layers.attention.multi_head import MultiHeadAttention
from seqlab.layers.attention.positional import PositionalEncoding
from seqlab.layers.attention.scaled_dot_product import (_CHUNKED_FROM,
                                                        ScaledDotProductAttention,
                                                        scaled_dot_product_attention)

# The chunked path's tuning constants used to be globals of one ``attention`` module, and
# code (the tests) sets them there: ``seqlab.layers.attention._CHUNKED_FROM = 0``.
# Setting one on this package sets it in the file that reads it.
_TUNING = {"_CHUNK_ELEMENTS": chunked, "_CHUNKED_FROM": scaled_dot_product}


class _AttentionPackage(types.ModuleType):
    def __setattr__(self, name, value):
        if name in _TUNING:
            setattr(_TUNING[name], name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _AttentionPackage


__all__ = ["scaled_dot_product_attention", "causal_mask", "dropout", "dropout_mask",
           "ScaledDotProductAttention", "MultiHeadAttention", "PositionalEncoding"]
