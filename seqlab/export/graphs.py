"""What each run type exports: the graphs, their named inputs and outputs, their example
inputs and which axes are dynamic.

    classify   model      ids (B, T) int64 -> logits (B, C)          texts (id 0 = padding)
                          x (B, T, D) float32, mask (B, T) bool -> logits (B, C)   series
    forecast   model      x (B, W, D) float32 (scaled) -> forecast (B, h, D)
    tag        model      words (B, T) int64, chars (B, T, L) int64 -> logits (B, T, K)
    generate   step       token (B,), h (L, B, H) [, c (L, B, H)] -> logits (B, V), h [, c]
    seq2seq    encoder    src (B, S) -> memory (B, S, H), state..., src_mask (B, S)
               step       token (B,), state..., memory, src_mask -> logits (B, V), state...

Texts are right-padded with 0: a row's real tokens come first, as seqlab pads.

Shapes: B batch, T time, D features, C classes, K tags, L layers / characters, H units,
V vocabulary, S source steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from seqlab.errors import ExportError


@dataclass
class Graph:
    """One exported graph: ``module(*example)`` with named inputs/outputs; ``dynamic``
    maps an input or output name to {axis: axis name}."""
    name: str
    module: nn.Module
    example: tuple
    inputs: list
    outputs: list
    dynamic: dict = field(default_factory=dict)


class TaggerGraph(nn.Module):
    """``Tagger.forward`` without its data-dependent row selection: every word's characters
    run through the character RNN and padded words are zeroed afterwards."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, words, chars):
        m = self.model
        mask = words != 0                                                  # (B, T)
        x = m.word_embed(words)                                            # (B, T, E)
        if m.char_embed is not None:
            B, T, L = chars.shape
            flat = chars.reshape(B * T, L)                                 # (B T, L)
            real = (flat[:, 0] != 0).to(x.dtype).unsqueeze(1)              # (B T, 1)
            enc = m.char_rnn(m.char_embed(flat)) * real                    # (B T, 2C)
            x = torch.cat([x, enc.reshape(B, T, -1)], -1)                  # (B, T, E + 2C)
        for layer in m.stack:
            x = layer(x, mask=mask)                                        # (B, T, 2H)
        return m.out(x)                                                    # (B, T, K)


class LanguageModelStep(nn.Module):
    """``LanguageModel.step`` with the layers' states stacked: h (L, B, H) [, c]."""

    def __init__(self, model, lstm: bool):
        super().__init__()
        self.model, self.lstm = model, lstm

    def forward(self, token, h, c=None):
        L = h.shape[0]
        states = [[h[i], c[i]] if self.lstm else [h[i]] for i in range(L)]
        logits, new = self.model.step(token, states)                       # (B, V)
        h_new = torch.stack([s[0] for s in new])                           # (L, B, H)
        if self.lstm:
            return logits, h_new, torch.stack([s[1] for s in new])
        return logits, h_new


class Seq2SeqEncoder(nn.Module):
    """``model.encode(src)`` -> memory, the decoder's first state (flat), source mask."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src):
        memory, state, src_mask = self.model.encode(src)
        return (memory, *state, src_mask)


class Seq2SeqStep(nn.Module):
    """``model.step(token, state, memory, src_mask)`` with the state flat."""

    def __init__(self, model, n_state: int):
        super().__init__()
        self.model, self.n_state = model, n_state

    def forward(self, token, *rest):
        state, memory, src_mask = list(rest[:self.n_state]), rest[-2], rest[-1]
        logits, new_state, _ = self.model.step(token, state, memory, src_mask)
        return (logits, *new_state)


B, T = "batch", "time"


def _n_layers_states(model) -> tuple:
    layer = model.stack[0]
    return len(model.stack), layer.units, layer.cell.n_states == 2


def graphs_for(task: str, model, vocab: dict) -> list[Graph]:
    """The graphs of a run of ``task`` (its model built and loaded, in eval mode)."""
    if task == "classify":
        if vocab["text"]:
            ids = torch.tensor([[2, 3, 4, 5, 6], [2, 3, 0, 0, 0]])
            return [Graph("model", model, (ids,), ["ids"], ["logits"],
                          {"ids": {0: B, 1: T}, "logits": {0: B}})]
        D = vocab["features"]
        x = torch.randn(2, 6, D)
        mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
        return [Graph("model", model, (x, mask), ["x", "mask"], ["logits"],
                      {"x": {0: B, 1: T}, "mask": {0: B, 1: T}, "logits": {0: B}})]
    if task == "forecast":
        x = torch.randn(2, vocab["window"], len(vocab["columns"]))
        return [Graph("model", model, (x,), ["x"], ["forecast"],
                      {"x": {0: B, 1: T}, "forecast": {0: B}})]
    if task == "tag":
        words = torch.tensor([[2, 3, 4, 5], [2, 3, 0, 0]])
        chars = torch.tensor([[[2, 3, 0], [4, 0, 0], [2, 2, 2], [3, 0, 0]],
                              [[2, 0, 0], [3, 4, 0], [0, 0, 0], [0, 0, 0]]])
        return [Graph("model", TaggerGraph(model), (words, chars), ["words", "chars"],
                      ["logits"], {"words": {0: B, 1: T}, "chars": {0: B, 1: T, 2: "chars"},
                                   "logits": {0: B, 1: T}})]
    if task == "generate":
        L, H, lstm = _n_layers_states(model)
        token = torch.tensor([2, 3])
        h = torch.zeros(L, 2, H)
        names = ["h", "c"] if lstm else ["h"]
        example = (token, h, torch.zeros(L, 2, H)) if lstm else (token, h)
        dyn = {"token": {0: B}, "logits": {0: B}}
        for n in names:
            dyn[n] = dyn[f"{n}_out"] = {1: B}
        return [Graph("step", LanguageModelStep(model, lstm), example, ["token"] + names,
                      ["logits"] + [f"{n}_out" for n in names], dyn)]
    if task == "seq2seq":
        return _seq2seq_graphs(model)
    raise ExportError(f"export: task {task!r} has no exported form; the tasks that export "
                      f"are classify, forecast, tag, generate and seq2seq.")


def _seq2seq_graphs(model) -> list[Graph]:
    src = torch.tensor([[2, 3, 4, 5], [3, 4, 0, 0]])
    with torch.no_grad():
        memory, state, src_mask = model.encode(src)
        token = torch.tensor([2, 2])
        # the example step is the third one: a Transformer's self-attention cache then
        # holds two steps (its time axis is dynamic, grown by every step; torch.export
        # would fix an axis of size 0 or 1)
        for _ in range(2):
            _, state, _ = model.step(token, state, memory, src_mask)
    n = len(state)
    names = [f"state{i}" for i in range(n)]

    enc_dyn = {"src": {0: B, 1: "source"}, "memory": {0: B, 1: "source"},
               "src_mask": {0: B, 1: "source"}}
    step_dyn = {"token": {0: B}, "logits": {0: B}, "memory": {0: B, 1: "source"},
                "src_mask": {0: B, 1: "source"}}
    for i, s in enumerate(state):
        a = {0: B, 2: f"cache{i}"} if s.dim() == 4 else {0: B}
        if s.dim() == 4 and i % 4 >= 2:                                    # cross-attention K/V
            a = {0: B, 2: "source"}
        enc_dyn[names[i]] = a
        step_dyn[names[i]] = a
        out = dict(a)
        if s.dim() == 4 and i % 4 < 2:
            out = {0: B, 2: f"cache{i}_next"}
        step_dyn[f"{names[i]}_out"] = out
    return [Graph("encoder", Seq2SeqEncoder(model), (src,), ["src"],
                  ["memory"] + names + ["src_mask"], enc_dyn),
            Graph("step", Seq2SeqStep(model, n), (token, *state, memory, src_mask),
                  ["token"] + names + ["memory", "src_mask"],
                  ["logits"] + [f"{nm}_out" for nm in names], step_dyn)]


__all__ = ["Graph", "graphs_for", "TaggerGraph", "LanguageModelStep", "Seq2SeqEncoder",
           "Seq2SeqStep"]
