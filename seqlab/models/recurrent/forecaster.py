"""``Forecaster``: a window of a (scaled) series -> the next ``horizon`` steps.

    (B, W, D) -> recurrent stack -> (B, H) -> Dense(h D) -> (B, h, D)

Its loss is the mean squared error of each window's forecast.

Shapes: B batch, W window, D columns, H units, h horizon.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from seqlab.layers import Dense
from seqlab.models.model import Model


class Forecaster(Model):
    """(B, W, D) scaled window -> (B, h, D) the next h steps.

    Args:
        cfg: the run's config ([model] cell, units, layers, dropout; [data] horizon).
        columns: D, the series' columns.
        recurrent: builds the recurrent layer [model] cell names.

    Batches (``compute_loss``): ``(x, t)``, windows (B, W, D) and what follows (B, h, D).
    """

    def __init__(self, cfg, columns: int, *, recurrent: Callable):
        super().__init__()
        m, self.h, self.D = cfg.model, cfg.data.horizon, columns
        self.stack = nn.ModuleList(
            recurrent(m, bidirectional=False, dropout=m.dropout,
                      return_sequences=i < m.layers - 1) for i in range(m.layers))
        self.out = Dense(self.h * columns)

    def forward(self, x):
        for layer in self.stack:
            x = layer(x)                                                   # (B, W, H) ... (B, H)
        return self.out(x).view(-1, self.h, self.D)                        # (B, h, D)

    def compute_loss(self, batch):
        """Squared errors averaged per window: (sum over windows, windows)."""
        x, t = batch
        per_window = ((self(x) - t) ** 2).mean(dim=(1, 2))                 # (B,)
        return per_window.sum(), len(x), {}


__all__ = ["Forecaster"]
