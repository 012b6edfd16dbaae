"""``ClassifierEnsemble``: N classifiers, each its own initialisation, whose class
probabilities are averaged ([model] ensemble = N with task = "classify").

    p(c | x) = 1/N sum_i softmax(f_i(x))_c

The members train side by side on the same batches, each on its own cross-entropy
(the loss is the sum over members, so no member leans on another's mistakes):

    L = sum_i CE(f_i(x), y)

``forward`` returns log p (B, C): ``argmax`` is the ensemble's vote and ``softmax`` of it
gives back the averaged probabilities, so everything that reads a classifier's logits
(evaluation, prediction, export) reads the ensemble the same way. N members cost N times
one classifier's training and prediction.

Shapes: B batch, C classes.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.model import Model
from seqlab.models.recurrent.classifier import Classifier


class ClassifierEnsemble(Model):
    """[model] ensemble members of ``Classifier``, their probabilities averaged."""

    def __init__(self, cfg, num_classes: int, vocab_size: int = 0, *, recurrent: Callable):
        super().__init__()
        self.arch = cfg.model.arch
        self.members = nn.ModuleList(Classifier(cfg, num_classes, vocab_size, recurrent=recurrent)
                                     for _ in range(cfg.model.ensemble))

    def forward(self, *inputs):
        logp = torch.stack([F.log_softmax(m(*inputs), -1) for m in self.members])  # (N, B, C)
        return torch.logsumexp(logp, 0) - math.log(len(self.members))             # (B, C)

    def compute_loss(self, batch):
        """The sum over members of each one's (class-weighted) mean cross-entropy."""
        *inputs, y, weights = batch
        total = sum(F.cross_entropy(m(*inputs), y, weight=weights) for m in self.members)
        return total * len(y), len(y), {}


__all__ = ["ClassifierEnsemble"]
