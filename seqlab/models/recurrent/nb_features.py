"""NBSVM features (Wang & Manning 2012) as a layer: word and word-pair presence, each
feature scaled by its Naive Bayes log-count ratio counted on the training texts.

Features of a text: its word ids w (1..V-1) and its hashed word pairs V + ((a P + b) mod
K) (K = [model] nb_buckets), each counted once per text (binary). For class c, with p
the texts of c and q the others, over the features seen in training:

    p_f = alpha + #(texts of c holding f)      q_f = alpha + #(other texts holding f)
    r_fc = log((p_f / |p|_1) / (q_f / |q|_1))                          (F, C), fixed

The layer's logits: z_c = sum over the text's features f of r_fc (beta + w_fc) / s, with
w (F, C) learned from zero: at the start it is Naive Bayes at temperature beta / s, and
training moves each feature's weight away from its NB prior (the interpolation of
NBSVM). Dropout removes whole features of a text during training.

Shapes: B batch, T time, F features (V + K), C classes.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PAIR_PRIME = 1_000_003  # word pair (a, b) -> bucket (a P + b) mod K
BETA, SCALE = 0.4, 10.0  # z = r (beta + w) / s: NB at temperature 0.04 when w = 0


def ngram_ids(ids: torch.Tensor, vocab_size: int, buckets: int) -> torch.Tensor:
    """Word ids (B, T), 0 = padding -> feature ids (B, 2T-1): the words, then the word
    pairs at V + bucket; 0 where a word or pair is padding."""
    mask = ids != 0                                                        # (B, T)
    both = mask[:, 1:] & mask[:, :-1]                                      # (B, T-1)
    pair = vocab_size + torch.remainder(ids[:, :-1] * PAIR_PRIME + ids[:, 1:], buckets)
    return torch.cat([ids, pair * both], 1)                               # (B, 2T-1)


def log_count_ratios(feats: list, labels: np.ndarray, num_features: int, num_classes: int,
                     alpha: float = 1.0) -> np.ndarray:
    """r (F, C) from each training text's feature ids (a list of 1-d arrays) and labels."""
    counts = np.zeros((num_features, num_classes))                        # texts holding f
    for f, y in zip(feats, labels):
        f = np.unique(f)
        counts[f[f != 0], y] += 1
    seen = counts.sum(1) > 0                                               # (F,)
    p = alpha + counts[seen]                                               # (seen, C) class c
    q = alpha + counts[seen].sum(1, keepdims=True) - counts[seen]          # the others
    r = np.zeros((num_features, num_classes), dtype=np.float32)            # unseen: 0
    r[seen] = np.log(p / p.sum(0)) - np.log(q / q.sum(0))
    return r


class NBFeatures(nn.Module):
    """Word ids (B, T) -> NB-scaled feature logits (B, C); ``fit`` sets r from training."""

    def __init__(self, vocab_size: int, buckets: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.buckets, self.dropout = vocab_size, buckets, dropout
        size = vocab_size + buckets
        self.register_buffer("ratio", torch.zeros(size, num_classes))      # r (F, C)
        self.weight = nn.Parameter(torch.zeros(size, num_classes))         # w (F, C)

    def fit(self, texts: list, labels: np.ndarray) -> None:
        """Count r on the training texts (lists of word ids) and their labels."""
        feats = [ngram_ids(torch.as_tensor(np.asarray(t, dtype=np.int64))[None],
                           self.vocab_size, self.buckets)[0].numpy() for t in texts]
        r = log_count_ratios(feats, labels, *self.ratio.shape)
        self.ratio.copy_(torch.from_numpy(r))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        f = ngram_ids(ids, self.vocab_size, self.buckets)                 # (B, 2T-1)
        # binary: a feature repeated in a text counts once (its later copies -> 0)
        f_sorted, _ = f.sort(1)
        first = torch.ones_like(f_sorted, dtype=torch.bool)
        first[:, 1:] = f_sorted[:, 1:] != f_sorted[:, :-1]
        f = f_sorted * first
        z = self.ratio[f] * (BETA + self.weight[f]) / SCALE                # (B, 2T-1, C)
        z = z * (f != 0).unsqueeze(-1)
        if self.training and self.dropout:                                 # whole features
            z = z * F.dropout(z.new_ones(z.shape[:2]), self.dropout).unsqueeze(-1)
        return z.sum(1)                                                    # (B, C)


__all__ = ["NBFeatures", "ngram_ids", "log_count_ratios"]
