"""``LanguageModel``: next-token logits at every position; ``step`` one token at a time.

    Embedding -> recurrent stack (return_sequences, return_state) -> Dropout -> Dense(V)

Its loss is the cross-entropy of every next token of a chunk (truncated backpropagation
through the chunk's length).

Shapes: B batch, T time, E embedding, H units, V vocabulary.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch.nn.functional as F
from torch import nn

from seqlab.layers import Dense, Dropout, Embedding
from seqlab.models.model import Model


class LanguageModel(Model):
    """ids (B, T) -> next-token logits (B, T, V); ``step`` for one token at a time.

    Args:
        cfg: the run's config ([model] cell, units, layers, embedding_dim, dropout).
        vocab_size: V. recurrent: builds the recurrent layer [model] cell names.

    Batches (``compute_loss``): ``(chunk,)``, token ids (B, T + 1): the model reads
    chunk[:, :-1] and predicts chunk[:, 1:].
    """

    def __init__(self, cfg, vocab_size: int, *, recurrent: Callable):
        super().__init__()
        m = cfg.model
        self.embed = Embedding(vocab_size, m.embedding_dim)
        self.stack = nn.ModuleList(recurrent(m, return_sequences=True, return_state=True)
                                   for _ in range(m.layers))
        self.dropout = Dropout(m.dropout)
        self.out = Dense(vocab_size)

    def forward(self, ids, states: Optional[list] = None):
        """Returns logits (B, T, V) and the final state of every layer."""
        x = self.embed(ids)                                                # (B, T, E)
        new_states = []
        for i, layer in enumerate(self.stack):
            x, *state = layer(self.dropout(x),
                              initial_state=states[i] if states is not None else None)
            new_states.append(state)                                       # x: (B, T, H)
        return self.out(self.dropout(x)), new_states

    def step(self, token, states: Optional[list] = None):
        """token (B,) -> logits (B, V) and the new states, one recurrent step per layer."""
        x = self.embed(token.unsqueeze(1))[:, 0]                           # (B, E)
        new_states = []
        for i, layer in enumerate(self.stack):
            x, state = layer.step(x, states[i] if states is not None else None)  # (B, H)
            new_states.append(state)
        return self.out(x), new_states

    def compute_loss(self, batch):
        """Cross-entropy of each next token: (sum over the B T tokens, B T)."""
        (chunk,) = batch
        logits, _ = self(chunk[:, :-1])                                    # (B, T, V)
        target = chunk[:, 1:]                                              # (B, T)
        total = F.cross_entropy(logits.transpose(1, 2), target, reduction="sum")
        return total, target.numel(), {}


__all__ = ["LanguageModel"]
