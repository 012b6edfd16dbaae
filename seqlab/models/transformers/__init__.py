"""Transformer models (seed 004): a text classifier, a decoder-only language model with a
key/value cache, and an encoder-decoder for seq2seq (calculator, translation).

    >>> from seqlab.models.transformers import TransformerClassifier
    >>> TransformerClassifier(vocab_size=100, num_classes=1, d_model=16, num_heads=2,
    ...                       ff_dim=32, num_layers=1).count_params()
    3841

``TokenBatches`` turns token-id lists into the batches their ``fit`` trains on.
Masked-language-model pretraining of the classifier's encoder: ``seqlab.models.pretraining``.
"""
from seqlab.models.transformers.batches import TokenBatches, pad_ids
from seqlab.models.transformers.classifier import TransformerClassifier, TransformerTextEncoder
from seqlab.models.transformers.embedding import TokenPositionEmbedding
from seqlab.models.transformers.lm import TransformerLM, sample_next
from seqlab.models.transformers.seq2seq import TransformerSeq2Seq

__all__ = ["TransformerClassifier", "TransformerTextEncoder", "TokenPositionEmbedding",
           "TransformerLM", "sample_next", "TransformerSeq2Seq", "TokenBatches", "pad_ids"]
