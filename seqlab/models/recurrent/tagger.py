"""``Tagger``: one tag per token (parts of speech), from the words and their characters.

    word ids (B, T)        -> Embedding(mask_zero)                    (B, T, E)
    char ids (B, T, L)     -> Embedding -> Bidirectional(GRU/LSTM)     (B, T, 2C)
    concat                 -> Bidirectional(recurrent) x layers       (B, T, 2H)
                           -> Dense(K) tag logits per token           (B, T, K)

The characters let the tagger read words it has (almost) never seen (suffixes, capitals,
digits). Its loss is the cross-entropy of every real token's tag.

Shapes: B sentences, T words, L characters per word, E/C embedding sizes, H units, K tags.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.layers import Dense, Dropout, Embedding
from seqlab.models.model import Model


class Tagger(Model):
    """Word ids (B, T) and character ids (B, T, L) -> tag logits (B, T, K).

    Args:
        cfg: the run's config ([model] cell, units, layers, embedding_dim,
            char_embedding_dim (0 = words only), dropout).
        words, chars, tags: vocabulary sizes (K = tags, 0 = padding).
        recurrent: builds the recurrent layer [model] cell names.

    Batches (``compute_loss``): ``(words, chars, tags)``, (B, T), (B, T, L), (B, T); tag
    0 marks padding, which the loss skips.
    """

    def __init__(self, cfg, words: int, chars: int, tags: int, *, recurrent: Callable):
        super().__init__()
        m = cfg.model
        self.word_embed = Embedding(words, m.embedding_dim, mask_zero=True)
        self.char_embed = None
        if m.char_embedding_dim:
            self.char_embed = Embedding(chars, m.char_embedding_dim, mask_zero=True)
            self.char_rnn = recurrent(m, units=m.char_embedding_dim, bidirectional=True)
        self.stack = nn.ModuleList(recurrent(m, bidirectional=True, return_sequences=True)
                                   for _ in range(m.layers))
        self.dropout = Dropout(m.dropout)
        self.out = Dense(tags)

    def forward(self, words, chars):
        mask = words != 0                                                  # (B, T)
        x = self.word_embed(words)                                         # (B, T, E)
        if self.char_embed is not None:
            B, T, L = chars.shape
            flat = chars.view(B * T, L)                                    # (B T, L)
            real = flat[:, 0] != 0                                         # padded words
            enc = x.new_zeros(B * T, 2 * self.char_embed.output_dim)
            if bool(real.any()):
                enc[real] = self.char_rnn(self.char_embed(flat[real]))     # (n, 2C)
            x = torch.cat([x, enc.view(B, T, -1)], -1)                     # (B, T, E + 2C)
        x = self.dropout(x)
        for layer in self.stack:
            x = layer(x, mask=mask)                                        # (B, T, 2H)
        return self.out(self.dropout(x))                                   # (B, T, K)

    def compute_loss(self, batch):
        """Cross-entropy of every real token's tag: (sum, number of real tokens)."""
        w, c, y = batch
        logits = self(w, c)                                                # (B, T, K)
        total = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=0, reduction="sum")
        return total, (y != 0).sum(), {}


__all__ = ["Tagger"]
