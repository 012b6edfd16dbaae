"""A Transformer text classifier: the encoder half of the paper, then pooling and a Dense.

    ids (B, T) -> TokenPositionEmbedding -> TransformerEncoder -> pool over real tokens
        -> Dropout -> Dense(num_classes)  -> sigmoid (1 class) or softmax (>= 2 classes)

``TransformerTextEncoder`` (the embedding and the stack) is a layer of its own so that
masked-language-model pretraining (``seqlab.models.pretraining``) trains exactly the
weights that the classifier later fine-tunes.

Shapes: B batch, T time, D d_model, C classes, V vocabulary.
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers.attention import dropout
from seqlab.layers.base import Layer, Shape, attach_mask, check_positive_int, get_mask
from seqlab.layers.core import Dense
from seqlab.layers.transformer import TransformerEncoder
from seqlab.models.model import Model
from seqlab.models.transformers.embedding import TokenPositionEmbedding, masked_max, masked_mean

POOLINGS = ("mean", "max", "first")


class TransformerTextEncoder(Layer):
    """Token ids (B, T) -> contextual vectors (B, T, D), padding (id 0) masked.

    Args:
        vocab_size, d_model, max_length, learned_positions: of ``TokenPositionEmbedding``.
        num_heads, ff_dim, num_layers, dropout, norm_first: of ``TransformerEncoder``.

    >>> enc = TransformerTextEncoder(vocab_size=20, d_model=8, num_heads=2, ff_dim=16)
    >>> enc(torch.tensor([[5, 6, 0]])).shape
    torch.Size([1, 3, 8])
    """

    supports_masking = True

    def __init__(self, vocab_size: int, d_model: int = 128, num_heads: int = 4,
                 ff_dim: int = 512, num_layers: int = 2, max_length: int = 512,
                 dropout: float = 0.1, norm_first: bool = False,
                 learned_positions: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.d_model = check_positive_int(f"TransformerTextEncoder {self.name}", "d_model",
                                          d_model)
        self.embedding = TokenPositionEmbedding(vocab_size, d_model, max_length, dropout,
                                                learned_positions, mask_zero=True,
                                                name=f"{self.name}_embedding")
        self.encoder = TransformerEncoder(num_layers, num_heads, ff_dim, dropout,
                                          norm_first=norm_first, name=f"{self.name}_stack")
        self.build_once((None, None))

    def build(self, input_shape: Shape) -> None:
        self.encoder.build_once((None, None, self.d_model))

    def forward(self, ids: torch.Tensor, mask: Optional[torch.Tensor] = None,
                return_attention_scores: bool = False, drop_padding: bool = False):
        """``drop_padding=True``: the steps that are padding in every row are left out
        after the embedding (positions kept): (B, T', D) with T' the steps real in some row.
        The real steps' vectors are the same (padded keys are masked anyway); for pooling
        over the real steps, e.g. a pre-padded batch of one."""
        x = self.embedding(ids, mask=mask)  # (B, T, D), mask attached
        pad = get_mask(x)  # (B, T)
        if drop_padding and pad is not None:
            keep = pad.any(dim=0)  # (T,)
            if not bool(keep.all()):
                x, pad = x[:, keep], pad[:, keep]  # (B, T', D), (B, T')
        out = self.encoder(x, mask=pad, return_attention_scores=return_attention_scores)
        if return_attention_scores:
            h, scores = out
            return attach_mask(h, pad), scores
        return attach_mask(out, pad)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.d_model,)


class TransformerClassifier(Model):
    """Text classification with a Transformer encoder; a seqlab ``Model``.

    Args:
        vocab_size: V (id 0 is padding).
        num_classes: 1 for binary labels (a sigmoid unit, ``binary_crossentropy``), C >= 2
            for class ids (softmax, ``sparse_categorical_crossentropy``).
        d_model, num_heads, ff_dim, num_layers, max_length, dropout, norm_first,
            learned_positions: of ``TransformerTextEncoder``.
        pooling: "mean" (over real tokens), "max", or "first" (the first token, e.g. a
            [CLS] id you prepend).
        classifier_dropout: before the final Dense (default: ``dropout``).

    ``model(ids)`` returns probabilities (B, num_classes); ``fit`` trains on the logits
    (numerically stable cross-entropy). ``compile``/``fit``/``evaluate``/``predict``/
    ``summary``/``save`` work as for any seqlab model.

    >>> import numpy as np
    >>> model = TransformerClassifier(vocab_size=20, num_classes=1, d_model=16,
    ...                               num_heads=2, ff_dim=32, num_layers=1)
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    >>> x = np.random.randint(1, 20, size=(8, 5)); y = (x[:, 0] > 10).astype("float32")
    >>> _ = model.fit(x, y[:, None], epochs=1, verbose=0, seed=0)
    >>> model.predict(x).shape
    (8, 1)
    """

    def __init__(self, vocab_size: int, num_classes: int = 1, d_model: int = 128,
                 num_heads: int = 4, ff_dim: int = 512, num_layers: int = 2,
                 max_length: int = 512, dropout: float = 0.1, norm_first: bool = False,
                 learned_positions: bool = False, pooling: str = "mean",
                 classifier_dropout: Optional[float] = None, name: Optional[str] = None):
        super().__init__(name=name)
        self.num_classes = check_positive_int(f"TransformerClassifier {self.name}",
                                              "num_classes", num_classes)
        if pooling not in POOLINGS:
            raise ValueError(f"TransformerClassifier {self.name}: pooling must be one of "
                             f"{POOLINGS}, got {pooling!r}.")
        self.pooling = pooling
        self.classifier_dropout = dropout if classifier_dropout is None else classifier_dropout
        self.body = TransformerTextEncoder(vocab_size, d_model, num_heads, ff_dim, num_layers,
                                           max_length, dropout, norm_first, learned_positions,
                                           name=f"{self.name}_encoder")
        self.head = Dense(self.num_classes, name=f"{self.name}_head")
        self.head.build_once((None, d_model))
        self.activation = "sigmoid" if self.num_classes == 1 else "softmax"

    def logits(self, ids: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The scores before the sigmoid/softmax: (B, T) -> (B, C)."""
        # Inference pools over the real steps only: steps padded in every row are skipped.
        skip = not self.training and self.pooling != "first"
        h = self.body(ids, mask=mask, drop_padding=skip)  # (B, T, D), T' <= T when skip
        pad = get_mask(h)
        if self.pooling == "mean":
            pooled = masked_mean(h, pad)  # (B, D)
        elif self.pooling == "max":
            pooled = masked_max(h, pad)
        else:
            pooled = h[:, 0]
        pooled = dropout(pooled, self.classifier_dropout, self.training)
        return self.head(pooled)  # (B, C)

    def forward(self, ids: torch.Tensor, mask: Optional[torch.Tensor] = None,
                return_logits: bool = False) -> torch.Tensor:
        z = self.logits(ids, mask)
        if return_logits:
            return z
        return torch.sigmoid(z) if self.num_classes == 1 else torch.softmax(z, dim=-1)

    def outputs_for_loss(self, x, mask=None, undo: Optional[str] = None):
        if undo == self.activation:  # the loss undoes our activation: give it the logits
            return self(x, mask=mask, return_logits=True), True
        return self(x, mask=mask), False

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.num_classes)


__all__ = ["TransformerTextEncoder", "TransformerClassifier", "POOLINGS"]
