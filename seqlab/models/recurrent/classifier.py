"""``Classifier``: a whole sequence -> one class (sentiment, ECG, gestures).

    rnn   texts: Embedding(mask_zero) -> [Bi]LSTM/GRU/SimpleRNN stack -> Dense(C)
          series: (B, T, D) values -> the same stack -> Dense(C)
    fcn   series: the "fully convolutional network" of Wang et al. (2017):
          3 x [Conv1D(same) -> BatchNormalization -> ReLU] -> GlobalAveragePooling1D -> Dense(C)
    cnn   texts: Kim (2014): Embedding -> Conv1D of several widths -> max over time
          -> concat -> Dropout -> Dense(C)
    bag   texts: fastText (Joulin et al. 2017): the mean of the vectors of the words and
          of the hashed word pairs (bigram ids (a P + b) mod buckets) -> Dropout -> Dense(C);
          nb_buckets > 0 adds the NBSVM logits of ``NBFeatures`` (word and word-pair
          presence scaled by Naive Bayes log-count ratios counted on the training texts)

Its loss is cross-entropy, weighted per class when the batch carries class weights.

Shapes: B batch, T time, D features, E embedding, H units, F filters, C classes.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.layers import (BatchNormalization, Conv1D, Dense, Dropout, Embedding,
                           GlobalAveragePooling1D, GlobalMaxPooling1D)
from seqlab.errors import SeqlabError
from seqlab.models.model import Model
from seqlab.models.recurrent.nb_features import NBFeatures


_PAIR_PRIME = 1_000_003  # bigram (a, b) -> bucket (a P + b) mod buckets


class Classifier(Model):
    """Texts (B, T) ids or series (B, T, D) -> logits (B, C).

    Args:
        cfg: the run's config ([model] arch, cell, units, layers, ...).
        num_classes: C. vocab_size: > 0 for texts (token ids), 0 for series.
        recurrent: ``recurrent(m, units=None, bidirectional=False, **kwargs)`` builds the
            recurrent layer [model] cell names.

    Batches (``compute_loss``): ``(x, y, class_weights)`` or ``(x, mask, y,
    class_weights)``: ids (B, T) or values (B, T, D), the (B, T) mask of padded series,
    labels (B,) and the weights (C,) of the classes (ones: the plain mean).
    """

    def __init__(self, cfg, num_classes: int, vocab_size: int = 0, *,
                 recurrent: Callable):
        super().__init__()
        m = cfg.model
        self.arch = m.arch
        self.embed = Embedding(vocab_size, m.embedding_dim, mask_zero=True) if vocab_size else None
        if m.arch == "rnn":
            self.stack = nn.ModuleList(
                recurrent(m, bidirectional=m.bidirectional, dropout=m.dropout,
                          return_sequences=i < m.layers - 1) for i in range(m.layers))
        elif m.arch == "fcn":
            widths = [m.filters, 2 * m.filters, m.filters]
            self.convs = nn.ModuleList(Conv1D(f, k, padding="same")
                                       for f, k in zip(widths, m.kernel_sizes))
            self.norms = nn.ModuleList(BatchNormalization(momentum=0.9) for _ in widths)
            self.pool = GlobalAveragePooling1D()
        elif m.arch == "bag":
            if not vocab_size:
                raise SeqlabError('[model] arch = "bag" averages word vectors, so it reads '
                                  'texts; for numeric series use arch = "fcn" or "rnn".')
            self.buckets = m.buckets
            self.pairs = Embedding(m.buckets + 1, m.embedding_dim) if m.buckets else None
            self.nb = (NBFeatures(vocab_size, m.nb_buckets, num_classes, m.dropout)
                       if m.nb_buckets else None)
        else:  # "cnn"
            self.convs = nn.ModuleList(Conv1D(m.filters, k, padding="same", activation="relu")
                                       for k in m.kernel_sizes)
            self.pool = GlobalMaxPooling1D()
        self.dropout = Dropout(m.dropout)
        self.out = Dense(num_classes)

    def forward(self, x, mask: Optional[torch.Tensor] = None):
        if self.arch == "bag":
            logits = self.out(self.dropout(self._bag(x)))                  # (B, C)
            return logits + self.nb(x) if self.nb is not None else logits
        if self.embed is not None:
            mask = x != 0                                                  # (B, T)
            x = self.embed(x)                                              # (B, T, E)
        if self.arch == "rnn":
            for layer in self.stack:
                x = layer(x, mask=mask)                                    # (B, T, H) ... (B, H)
        elif self.arch == "fcn":
            for conv, norm in zip(self.convs, self.norms):
                x = torch.relu(norm(conv(x)))                              # (B, T, F)
            x = self.pool(x, mask=mask)                                    # (B, F)
        else:
            if mask is not None:
                x = x * mask.unsqueeze(-1)
            feats = [conv(x) for conv in self.convs]                       # k x (B, T, F)
            if mask is not None:                                           # padding never wins
                feats = [f.masked_fill(~mask.unsqueeze(-1), -1e4) for f in feats]
            x = torch.cat([self.pool(f) for f in feats], -1)               # (B, k F)
        return self.out(self.dropout(x))                                   # (B, C)

    def _bag(self, ids):
        """ids (B, T) -> the mean of the word and word-pair vectors (B, E)."""
        mask = ids != 0                                                    # (B, T)
        vectors, keep = [self.embed(ids)], [mask]                          # (B, T, E)
        if self.pairs is not None:
            both = mask[:, 1:] & mask[:, :-1]                              # (B, T-1)
            pair = torch.remainder(ids[:, :-1] * _PAIR_PRIME + ids[:, 1:], self.buckets) + 1
            vectors.append(self.pairs(pair * both))                        # (B, T-1, E)
            keep.append(both)
        v, k = torch.cat(vectors, 1), torch.cat(keep, 1).unsqueeze(-1).float()
        return (v * k).sum(1) / k.sum(1).clamp(min=1.0)                    # (B, E)

    def fit_statistics(self, texts: list, labels) -> None:
        """Count what the model reads from the training data before training: the NB
        log-count ratios of arch = "bag" with nb_buckets > 0 (texts: lists of word ids)."""
        if getattr(self, "nb", None) is not None:
            self.nb.fit(texts, labels)

    def compute_loss(self, batch):
        """The batch's (class-weighted) mean cross-entropy, counted once per row."""
        *inputs, y, weights = batch
        mean = F.cross_entropy(self(*inputs), y, weight=weights)
        return mean * len(y), len(y), {}


__all__ = ["Classifier"]
