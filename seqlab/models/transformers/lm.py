"""A decoder-only (GPT-style) Transformer language model with a key/value cache.

    ids (B, T) -> TokenPositionEmbedding -> TransformerDecoder(cross_attention=False,
        causal) -> Dense(V) -> next-token logits (B, T, V)

Step t sees steps <= t only (causal self-attention), so one forward pass trains every
position at once: the logits at t predict id t + 1.

Generation appends one token at a time. Without a cache each new token recomputes the
whole context: O(T) attention rows and O(T) projections per token. With the cache, the
keys and values of the steps already seen are kept per layer (``decoder.init_cache()``)
and only the new token is projected and attends to them; the results are the same (up
to float rounding), ``bench/kv_cache.py`` measures the speed. Sampling: softmax(logits /
temperature) restricted to the ``top_k`` likeliest ids; temperature 0 is greedy (argmax).

Shapes: B batch, T time, D d_model, V vocabulary.
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab.layers.base import Shape, check_positive_int
from seqlab.layers.core import Dense
from seqlab.layers.transformer import TransformerDecoder
from seqlab.models.model import Model
from seqlab.models.transformers.embedding import TokenPositionEmbedding


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: Optional[int] = None,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """One id per row from logits (B, V): argmax when ``temperature`` is 0, else a draw
    from softmax(logits / temperature) over the ``top_k`` likeliest ids. Returns (B, 1)."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)  # (B, 1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1), the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits.float(), dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator)  # (B, 1)


class TransformerLM(Model):
    """Decoder-only Transformer language model (characters or words); a seqlab ``Model``.

    Args:
        vocab_size: V.
        d_model, num_heads, ff_dim, num_layers, dropout: the decoder stack's sizes.
        max_length: longest context for learned positions (sinusoids extend beyond it).
        norm_first: pre-norm (GPT-2 style, the default here) or the paper's post-norm.
        learned_positions: a learned position table instead of the course's sinusoids.

    ``model(ids)`` returns next-token logits (B, T, V); compile with
    ``loss="sparse_categorical_crossentropy"`` and fit on (ids[:, :-1], ids[:, 1:]).
    ``generate(prompt_ids, max_new_tokens, temperature, top_k, use_cache=True)``.

    >>> lm = TransformerLM(vocab_size=12, d_model=16, num_heads=2, ff_dim=32, num_layers=1)
    >>> lm(torch.tensor([[1, 2, 3]])).shape
    torch.Size([1, 3, 12])
    >>> lm.generate(torch.tensor([[1, 2]]), max_new_tokens=4, temperature=0).shape
    torch.Size([1, 6])
    """

    def __init__(self, vocab_size: int, d_model: int = 128, num_heads: int = 4,
                 ff_dim: int = 512, num_layers: int = 2, max_length: int = 1024,
                 dropout: float = 0.1, norm_first: bool = True,
                 learned_positions: bool = False, name: Optional[str] = None):
        super().__init__(name=name)
        self.vocab_size = check_positive_int(f"TransformerLM {self.name}", "vocab_size",
                                             vocab_size)
        self.max_length = max_length
        self.learned_positions = bool(learned_positions)
        self.embedding = TokenPositionEmbedding(vocab_size, d_model, max_length, dropout,
                                                learned_positions, mask_zero=False,
                                                name=f"{self.name}_embedding")
        self.decoder = TransformerDecoder(num_layers, num_heads, ff_dim, dropout,
                                          norm_first=norm_first, cross_attention=False,
                                          name=f"{self.name}_decoder")
        self.decoder.build_once((None, None, d_model))
        self.head = Dense(self.vocab_size, name=f"{self.name}_head")
        self.head.build_once((None, None, d_model))

    def forward(self, ids: torch.Tensor, cache: Optional[list] = None,
                offset: int = 0, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, V). With ``cache`` (``self.decoder.init_cache()``),
        ``ids`` are the new steps only and ``offset`` the number already in the cache."""
        x = self.embedding(ids, offset=offset)  # (B, T, D)
        h = self.decoder(x, mask=None if cache is not None else mask, cache=cache)  # (B, T, D)
        return self.head(h)  # (B, T, V)

    def outputs_for_loss(self, x, mask=None, undo: Optional[str] = None):
        return self(x, mask=mask), undo == "softmax"  # forward gives logits already

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.vocab_size,)

    @torch.no_grad()
    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0,
                 top_k: Optional[int] = None, use_cache: bool = True,
                 seed: Optional[int] = None, return_logits: bool = False):
        """Continue ``prompt_ids`` (B, T0) by ``max_new_tokens`` ids: (B, T0 + n).

        Args:
            temperature: 0 = greedy; < 1 sharper, > 1 flatter than the model.
            top_k: sample among the k likeliest ids only (None: all).
            use_cache: reuse keys/values of earlier steps (fast) instead of recomputing
                the whole context for every new token (same tokens, slower).
            seed: seeds the sampling (a private ``torch.Generator``).
            return_logits: also return the logits that chose each new id (B, n, V).
        """
        n = check_positive_int(f"{self.name}.generate", "max_new_tokens", max_new_tokens)
        if temperature < 0:
            raise ValueError(f"{self.name}.generate: temperature must be >= 0, got "
                             f"{temperature!r} (0 = greedy).")
        if top_k is not None:
            check_positive_int(f"{self.name}.generate", "top_k", top_k)
        device = next(self.parameters()).device
        ids = torch.as_tensor(prompt_ids, dtype=torch.long, device=device)
        ids = ids.unsqueeze(0) if ids.dim() == 1 else ids  # (B, T0)
        if ids.shape[1] == 0:
            raise ValueError(f"{self.name}.generate: the prompt is empty; give at least one id.")
        if self.learned_positions and ids.shape[1] + n > self.max_length:
            raise ValueError(f"{self.name}.generate: {ids.shape[1]} + {n} tokens exceed "
                             f"max_length={self.max_length} of the learned positions.")
        generator = None
        if seed is not None:
            generator = torch.Generator(device=device).manual_seed(seed)
        was_training = self.training
        self.eval()
        cache = self.decoder.init_cache() if use_cache else None
        logits = self(ids, cache=cache)[:, -1]  # (B, V), reads the prompt
        chosen = []
        for i in range(n):
            chosen.append(logits)
            token = sample_next(logits, temperature, top_k, generator)  # (B, 1)
            ids = torch.cat([ids, token], dim=1)  # (B, T + 1)
            if i == n - 1:
                break
            if use_cache:  # only the new token; earlier keys/values come from the cache
                logits = self(token, cache=cache, offset=ids.shape[1] - 1)[:, -1]
            else:  # recompute the whole context
                logits = self(ids)[:, -1]
        self.train(was_training)
        return (ids, torch.stack(chosen, dim=1)) if return_logits else ids


__all__ = ["TransformerLM", "sample_next"]
