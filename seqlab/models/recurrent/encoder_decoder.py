"""``EncoderDecoder``: an RNN encoder-decoder with optional attention, the course's
"calculator" ("16+535" -> "596").

Encoder: Embedding(mask_zero) -> recurrent stack; its final state starts the decoder.
Attention (optional) lets each decoder step look back at every encoder output h_s:

    luong    (dot, "general")  score(s_t, h_s) = s_t^T W_a h_s, after the decoder step;
             output = tanh(W_c [c_t; s_t])
    bahdanau (additive)        score(s_{t-1}, h_s) = v^T tanh(W_1 h_s + W_2 s_{t-1}), before
             the step; the context c_t is fed to the decoder with the previous token

    alpha_t = softmax(scores over real source steps),  c_t = sum_s alpha_ts h_s

Training is teacher forcing (the true previous token is the decoder's input); decoding
steps the decoder one token at a time (``step``): ``greedy`` (the likeliest token) or
``beam_search`` (keep the ``width`` likeliest prefixes). Both run on any model with
``encode`` and ``step`` (seqlab's Transformer too).

Shapes: B batch, S source steps, T target steps, E embedding, H units, V vocabulary.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.layers import Dense, Embedding
from seqlab.layers.attention import LuongBahdanauAttention as Attention
from seqlab.models.model import Model


class EncoderDecoder(Model):
    """Encoder-decoder with teacher forcing in ``forward`` and one-token ``step``.

    Args:
        cfg: the run's config ([model] cell, units, layers, embedding_dim, dropout,
            attention = "none", "luong" or "bahdanau").
        vocab_size: V, shared by sources and targets.
        recurrent: builds the recurrent layer [model] cell names.

    Batches (``compute_loss``): ``(src, tgt_in, tgt_out)``, ids (B, S), (B, T), (B, T):
    the target after the start token and before the end token (0 = padding).
    """

    def __init__(self, cfg, vocab_size: int, *, recurrent: Callable):
        super().__init__()
        m = cfg.model
        self.attention_kind = m.attention
        self.src_embed = Embedding(vocab_size, m.embedding_dim, mask_zero=True)
        self.tgt_embed = Embedding(vocab_size, m.embedding_dim, mask_zero=True)
        self.encoder = nn.ModuleList(
            recurrent(m, return_sequences=True, return_state=True, dropout=m.dropout)
            for _ in range(m.layers))
        self.decoder = recurrent(m, return_sequences=True, return_state=True)
        self.attention = Attention(m.attention, m.units) if m.attention != "none" else None
        self.combine = Dense(m.units, activation="tanh") if m.attention == "luong" else None
        self.out = Dense(vocab_size)

    def encode(self, src):
        """src (B, S) ids -> encoder outputs (B, S, H), final state [h] / [h, c], mask."""
        x = self.src_embed(src)                                            # (B, S, E)
        for layer in self.encoder:
            x, *state = layer(x)                                           # (B, S, H)
        return x, state, src != 0

    def forward(self, src, tgt_in):
        """Teacher forcing: logits (B, T, V) for every next target token."""
        enc, state, src_mask = self.encode(src)
        y = self.tgt_embed(tgt_in)                                         # (B, T, E)
        if self.attention_kind == "bahdanau":                              # context before each step
            logits = []
            for t in range(tgt_in.shape[1]):
                step_logits, state, _ = self.step(tgt_in[:, t], state, enc, src_mask)
                logits.append(step_logits)
            return torch.stack(logits, 1)                                  # (B, T, V)
        h, *_ = self.decoder(y, initial_state=state)                       # (B, T, H)
        if self.attention_kind == "luong":
            context, _ = self.attention(h, enc, src_mask)                  # (B, T, H)
            h = self.combine(torch.cat([context, h], -1))                  # (B, T, H)
        return self.out(h)

    def step(self, token, state, enc, src_mask):
        """One decoder step: token (B,) -> logits (B, V), new state, alpha (B, S) or None."""
        y = self.tgt_embed(token.unsqueeze(1))[:, 0]                       # (B, E)
        alpha = None
        if self.attention_kind == "bahdanau":
            context, alpha = self.attention(state[0].unsqueeze(1), enc, src_mask)
            h, state = self.decoder.step(torch.cat([y, context[:, 0]], -1), state)
            return self.out(torch.cat([h, context[:, 0]], -1)), state, alpha[:, 0]
        h, state = self.decoder.step(y, state)                             # (B, H)
        if self.attention_kind == "luong":
            context, alpha = self.attention(h.unsqueeze(1), enc, src_mask)
            h = self.combine(torch.cat([context[:, 0], h], -1))
            alpha = alpha[:, 0]
        return self.out(h), state, alpha

    def compute_loss(self, batch):
        return teacher_forcing_loss(self, batch)

    def greedy(self, src, start: int, end: int, max_len: int):
        """The likeliest token at each step (``greedy``)."""
        return greedy(self, src, start, end, max_len)

    def beam_search(self, src, start: int, end: int, max_len: int, width: int):
        """The ``width`` likeliest prefixes (``beam_search``)."""
        return beam_search(self, src, start, end, max_len, width)


def teacher_forcing_loss(model, batch):
    """Cross-entropy of every real target token given the true previous ones:
    (sum over the non-padding tokens, their number). Any model with
    ``model(src, tgt_in) -> logits (B, T, V)`` (the Transformer too). The model's
    ``label_smoothing`` eps (default 0) trains towards (1 - eps) on the true token and
    eps spread evenly over the vocabulary."""
    src, tgt_in, tgt_out = batch
    logits = model(src, tgt_in)                                            # (B, T, V)
    total = F.cross_entropy(logits.transpose(1, 2), tgt_out, ignore_index=0, reduction="sum",
                            label_smoothing=float(getattr(model, "label_smoothing", 0.0)))
    return total, (tgt_out != 0).sum(), {}


def greedy(model, src, start: int, end: int, max_len: int):
    """The likeliest token at each step: ids (B, <= max_len) and attention (B, T, S)."""
    enc, state, src_mask = model.encode(src)
    token = torch.full((src.shape[0],), start, dtype=torch.long, device=src.device)
    done = torch.zeros_like(token, dtype=torch.bool)
    out, alphas = [], []
    for _ in range(max_len):
        logits, state, alpha = model.step(token, state, enc, src_mask)
        token = logits.argmax(-1).masked_fill(done, 0)                     # 0 after the end
        out.append(token)
        alphas.append(alpha)
        done |= token == end
        if bool(done.all()):
            break
    attn = torch.stack(alphas, 1) if alphas[0] is not None else None
    return torch.stack(out, 1), attn


def beam_search(model, src, start: int, end: int, max_len: int,
                width: int) -> list[list[int]]:
    """Keep the ``width`` likeliest prefixes (sum of log-probabilities) per example."""
    results = []
    for b in range(src.shape[0]):
        enc, state, src_mask = model.encode(src[b:b + 1])
        beams = [(0.0, [start], state)]
        finished = []
        for _ in range(max_len):
            tokens = torch.tensor([seq[-1] for _, seq, _ in beams], device=src.device)
            states = [torch.cat(parts, 0) for parts in zip(*[s for _, _, s in beams])]
            n = len(beams)
            logits, new_state, _ = model.step(tokens, states, enc.expand(n, -1, -1),
                                              src_mask.expand(n, -1))
            logp = F.log_softmax(logits, -1)                               # (n, V)
            top = logp.topk(width, -1)
            candidates = []
            for i, (score, seq, _) in enumerate(beams):
                for lp, tok in zip(top.values[i].tolist(), top.indices[i].tolist()):
                    candidates.append((score + lp, seq + [tok], [s[i:i + 1] for s in new_state]))
            candidates.sort(key=lambda c: c[0], reverse=True)
            beams = []
            for cand in candidates[:width]:
                (finished if cand[1][-1] == end else beams).append(cand)
            if not beams or (finished and max(f[0] for f in finished) > beams[0][0]):
                break
        best = max(finished or beams, key=lambda c: c[0])
        results.append(best[1][1:])
    return results


__all__ = ["EncoderDecoder", "greedy", "beam_search", "teacher_forcing_loss"]
