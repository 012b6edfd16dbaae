"""``CTCRecognizer``: frames of speech -> per-frame label log-probabilities, trained by CTC.

    frames (B, T, D)   -> stack pairs of frames                (B, T/2, 2D)   half the steps
                       -> Conv1D(F, 5, same, relu)              (B, T/2, F)
                       -> [Bi]LSTM/GRU x layers                 (B, T/2, H or 2H)
                       -> Dense(V + 1) -> log_softmax           (B, T/2, V + 1), 0 = blank

Connectionist temporal classification (Graves et al. 2006) needs no frame alignment: the
loss is -log P(y | x), summed over every frame path that collapses to the transcript y
(``torch.nn.CTCLoss``); ``seqlab.models.recurrent.ctc_decoding`` reads the output back.

Shapes: B batch, T frames, D features, F filters, H units, S transcript labels, V labels.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.layers import Conv1D, Dense, Dropout
from seqlab.models.model import Model


def stacked_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Frames left after stacking pairs: ceil(T / 2)."""
    return (lengths + 1) // 2


class CTCRecognizer(Model):
    """Feature frames (B, T, D) and their lengths (B,) -> log-probabilities (B, T', V + 1)
    with T' = ceil(T / 2).

    Args:
        cfg: the run's config ([model] cell, units, layers, bidirectional, filters,
            dropout).
        num_labels: V + 1 (the labels and the blank, id 0).
        recurrent: builds the recurrent layer [model] cell names.

    Batches (``compute_loss``): ``(frames, lengths, targets, target_lengths)``: (B, T, D),
    (B,), label ids (B, S) padded with 0, (B,).
    """

    def __init__(self, cfg, num_labels: int, *, recurrent: Callable):
        super().__init__()
        m = cfg.model
        self.conv = Conv1D(m.filters, 5, padding="same", activation="relu")
        self.stack = nn.ModuleList(recurrent(m, bidirectional=m.bidirectional,
                                             return_sequences=True) for _ in range(m.layers))
        self.conv_dropout = Dropout(m.dropout)
        self.dropouts = nn.ModuleList(Dropout(m.dropout) for _ in range(m.layers))
        self.out = Dense(num_labels)
        self.ctc = nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)

    def forward(self, x, lengths=None):
        B, T, D = x.shape
        if T % 2:
            x = F.pad(x, (0, 0, 0, 1))                                     # (B, T + 1, D)
        x = x.reshape(B, -1, 2 * D)                                        # (B, T', 2D)
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=x.device)
        steps = stacked_lengths(lengths.to(x.device))                      # (B,)
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < steps[:, None]  # (B, T')
        x = self.conv_dropout(self.conv(x * mask.unsqueeze(-1)))           # (B, T', F)
        for layer, dropout in zip(self.stack, self.dropouts):
            x = dropout(layer(x, mask=mask))                               # (B, T', H)
        return F.log_softmax(self.out(x), -1)                              # (B, T', V + 1)

    def compute_loss(self, batch):
        """-log P(y | x) summed over the batch, counted once per utterance."""
        x, lengths, targets, target_lengths = batch
        log_probs = self(x, lengths)                                       # (B, T', V + 1)
        loss = self.ctc(log_probs.transpose(0, 1).float(), targets,        # (T', B, V + 1)
                        stacked_lengths(lengths), target_lengths)
        return loss, len(targets), {}


__all__ = ["CTCRecognizer", "stacked_lengths"]
