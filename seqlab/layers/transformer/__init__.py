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

One concept a file:

* ``block.py``: what the layers share, the feed-forward network and Add & Norm;
* ``encoder.py``: ``TransformerEncoderLayer`` and the stack ``TransformerEncoder``;
* ``decoder.py``: ``TransformerDecoderLayer`` and ``TransformerDecoder`` (KV cache);
* ``stack.py``: ``num_layers`` identical layers and the optional final norm;
* ``encoder_decoder.py``: ``Transformer``, the paper's encoder-decoder.

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from seqlab.layers.transformer.decoder import TransformerDecoder, TransformerDecoderLayer
from seqlab.layers.transformer.encoder import TransformerEncoder, TransformerEncoderLayer
from seqlab.layers.transformer.encoder_decoder import Transformer


__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]
