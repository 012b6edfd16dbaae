"""A Transformer encoder-decoder for sequence to sequence: the calculator ("535+61" ->
"596") and translation from a file of sentence pairs.

    src (B, S) -> TokenPositionEmbedding -> TransformerEncoder -> memory (B, S, D)
    tgt_in (B, T) -> TokenPositionEmbedding -> TransformerDecoder(memory) -> Dense(V)

Training is teacher forcing: the decoder reads the true previous tokens
``<s> y_1 .. y_{T-1}`` and every position is trained at once (causal self-attention) to
predict ``y_1 .. y_T </s>``: that is ``compute_loss`` on ``(src, tgt)`` batches, so
``fit`` trains it (``fit_pairs`` is the short way). Decoding feeds the model's own
tokens one at a time with a key/value cache: greedy (the likeliest token) or beam search
(the ``beam_width`` likeliest prefixes by summed log-probability, optionally divided by
length ** ``length_penalty``). Beam search with width 1 is greedy decoding.

The decoding state is a flat list of batch-first tensors ``[self_k, self_v, cross_k,
cross_v] * num_layers`` (each (B, nh, t, dk)), so ``encode``/``step`` follow the protocol
of ``seqlab.tasks.seq2seq`` (its ``greedy`` and ``beam_search`` run on this model too).

Shapes: B batch, S source steps, T target steps, D d_model, V vocabulary, W beam width.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from seqlab.layers.base import Shape, check_positive_int, get_mask
from seqlab.layers.core import Dense
from seqlab.layers.transformer import Transformer
from seqlab.models.model import Model
from seqlab.models.transformers.batches import TokenBatches, pad_ids
from seqlab.models.transformers.embedding import TokenPositionEmbedding


class TransformerSeq2Seq(Model):
    """Encoder-decoder Transformer on token ids; a seqlab ``Model``.

    Args:
        vocab_size: V of the source (id 0 is padding).
        target_vocab_size: V of the target (default: ``vocab_size``, a shared vocabulary).
        d_model, num_heads, ff_dim, dropout, norm_first: as in ``Transformer``.
        num_encoder_layers, num_decoder_layers: stack depths.
        max_length: longest sequence for learned positions.
        learned_positions: learned position tables instead of sinusoids.
        tie_embeddings: one token table E (V, D) for the source, the target and the
            output layer, ``logits = h @ E.T + b`` (Press & Wolf 2017); needs a shared
            vocabulary.

    ``model(src, tgt_in)`` -> logits (B, T, V). ``compute_loss((src, tgt))`` is teacher
    forcing; ``fit_pairs(sources, targets)`` (targets wrapped in start/end ids) or
    ``fit(TokenBatches(sources, targets))`` trains; ``greedy``/``beam_search``/
    ``translate`` decode.

    >>> m = TransformerSeq2Seq(vocab_size=14, d_model=16, num_heads=2, ff_dim=32,
    ...                        num_encoder_layers=1, num_decoder_layers=1)
    >>> m(torch.tensor([[3, 4, 5]]), torch.tensor([[1, 6]])).shape
    torch.Size([1, 2, 14])
    >>> m.greedy(torch.tensor([[3, 4, 5]]), start=1, end=2, max_len=4).shape[0]
    1
    """

    def __init__(self, vocab_size: int, target_vocab_size: Optional[int] = None,
                 d_model: int = 128, num_heads: int = 4, ff_dim: int = 512,
                 num_encoder_layers: int = 2, num_decoder_layers: int = 2,
                 max_length: int = 512, dropout: float = 0.1, norm_first: bool = False,
                 learned_positions: bool = False, tie_embeddings: bool = False,
                 name: Optional[str] = None):
        super().__init__(name=name)
        self.target_vocab_size = check_positive_int(
            f"TransformerSeq2Seq {self.name}", "target_vocab_size",
            vocab_size if target_vocab_size is None else target_vocab_size)
        self.d_model = d_model
        self.tie_embeddings = bool(tie_embeddings)
        if self.tie_embeddings and self.target_vocab_size != vocab_size:
            raise ValueError(f"TransformerSeq2Seq {self.name}: tie_embeddings needs one "
                             f"vocabulary, got vocab_size={vocab_size} and "
                             f"target_vocab_size={self.target_vocab_size}; leave "
                             f"target_vocab_size unset or tie_embeddings=False.")
        self.source_embedding = TokenPositionEmbedding(
            vocab_size, d_model, max_length, dropout, learned_positions,
            name=f"{self.name}_source_embedding")
        self.target_embedding = TokenPositionEmbedding(
            self.target_vocab_size, d_model, max_length, dropout, learned_positions,
            tokens=self.source_embedding.tokens if self.tie_embeddings else None,
            name=f"{self.name}_target_embedding")
        self.transformer = Transformer(num_encoder_layers, num_decoder_layers, num_heads,
                                       ff_dim, dropout, norm_first=norm_first,
                                       name=f"{self.name}_transformer")
        self.transformer.build_once((None, None, d_model))
        if self.tie_embeddings:
            self.output_bias = torch.nn.Parameter(torch.zeros(self.target_vocab_size))  # (V,)
        else:
            self.head = Dense(self.target_vocab_size, name=f"{self.name}_head")
            self.head.build_once((None, None, d_model))
        self.attention_kind = "transformer"  # what seqlab.tasks.seq2seq.finish looks at
        self.attention = None
        self.label_smoothing = 0.0  # of the teacher-forcing loss (compute_loss)

    # ------------------------------------------------------------------ teacher forcing
    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """src (B, S), tgt_in (B, T) (start id first) -> logits (B, T, V)."""
        memory, _, src_mask = self.encode(src, with_state=False)
        y = self.target_embedding(tgt_in)  # (B, T, D), padding mask attached
        h = self.transformer.decode(y, memory, tgt_mask=get_mask(y),
                                    memory_mask=src_mask)  # (B, T, D)
        return self.logits(h)  # (B, T, V)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Decoder states (..., D) -> scores (..., V): the output layer, or with tied
        embeddings h @ E.T + b."""
        if self.tie_embeddings:
            return F.linear(h, self.source_embedding.tokens.embeddings, self.output_bias)
        return self.head(h)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.target_vocab_size,)

    # ------------------------------------------------------------------ incremental
    def encode(self, src: torch.Tensor, with_state: bool = True):
        """src (B, S) -> (memory (B, S, D), initial decoding state, src_mask (B, S))."""
        x = self.source_embedding(src)  # (B, S, D)
        src_mask = get_mask(x)
        memory = self.transformer.encode(x, src_mask)  # (B, S, D)
        if not with_state:
            return memory, None, src_mask
        state = []
        for layer in self.transformer.decoder.layers:
            mha = layer.cross_attention
            k = mha._project(memory, mha.key_kernel, mha.key_bias)  # (B, nh, S, dk)
            v = mha._project(memory, mha.value_kernel, mha.value_bias)  # (B, nh, S, dv)
            empty_k = k.new_zeros(k.shape[0], k.shape[1], 0, k.shape[3])  # (B, nh, 0, dk)
            empty_v = v.new_zeros(v.shape[0], v.shape[1], 0, v.shape[3])
            state += [empty_k, empty_v, k, v]
        return memory, state, src_mask

    def step(self, token: torch.Tensor, state: list, memory: torch.Tensor,
             src_mask: Optional[torch.Tensor]):
        """One decoder step: token (B,) -> (logits (B, V), new state, None)."""
        cache = [{"self": {"key": state[4 * i], "value": state[4 * i + 1]},
                  "cross": {"static": True, "key": state[4 * i + 2],
                            "value": state[4 * i + 3]}}
                 for i in range(len(state) // 4)]
        offset = state[0].shape[2]  # steps already decoded
        y = self.target_embedding(token.unsqueeze(1), offset=offset)  # (B, 1, D)
        h = self.transformer.decoder(y, memory, memory_mask=src_mask, cache=cache)
        new_state = []
        for c in cache:
            new_state += [c["self"]["key"], c["self"]["value"],
                          c["cross"]["key"], c["cross"]["value"]]
        return self.logits(h)[:, 0], new_state, None  # (B, V)

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def greedy(self, src: torch.Tensor, start: int, end: int, max_len: int) -> torch.Tensor:
        """The likeliest token at each step: ids (B, <= max_len), 0 after ``end``."""
        was_training = self.training
        self.eval()
        memory, state, src_mask = self.encode(src)
        token = torch.full((src.shape[0],), start, dtype=torch.long, device=src.device)
        done = torch.zeros_like(token, dtype=torch.bool)
        out = []
        for _ in range(max_len):
            logits, state, _ = self.step(token, state, memory, src_mask)
            token = logits.argmax(-1).masked_fill(done, 0)  # (B,)
            out.append(token)
            done |= token == end
            if bool(done.all()):
                break
        self.train(was_training)
        return torch.stack(out, 1)

    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, start: int, end: int, max_len: int,
                    beam_width: int = 4, length_penalty: float = 0.0) -> torch.Tensor:
        """The best of ``beam_width`` prefixes per example: ids (B, <= max_len), 0 after
        ``end``. Scores are summed log-probabilities / length ** ``length_penalty``."""
        W = check_positive_int(f"{self.name}.beam_search", "beam_width", beam_width)
        was_training = self.training
        self.eval()
        B = src.shape[0]
        memory, state, src_mask = self.encode(src)
        memory = memory.repeat_interleave(W, 0)  # (B*W, S, D)
        src_mask = None if src_mask is None else src_mask.repeat_interleave(W, 0)
        state = [s.repeat_interleave(W, 0) for s in state]
        scores = torch.full((B, W), float("-inf"), device=src.device)
        scores[:, 0] = 0.0  # one live beam at first: the W first picks differ
        token = torch.full((B * W,), start, dtype=torch.long, device=src.device)
        done = torch.zeros(B * W, dtype=torch.bool, device=src.device)
        lengths = torch.zeros(B * W, device=src.device)
        seqs = torch.zeros(B * W, 0, dtype=torch.long, device=src.device)
        for _ in range(max_len):
            logits, state, _ = self.step(token, state, memory, src_mask)
            logp = F.log_softmax(logits.float(), dim=-1)  # (B*W, V)
            V = logp.shape[-1]
            # a finished beam only extends with padding, at no cost
            logp[done] = float("-inf")
            logp[done, 0] = 0.0
            total = (scores.view(-1, 1) + logp).view(B, W * V)  # (B, W*V)
            scores, flat = total.topk(W, dim=-1)  # (B, W)
            parent = (flat // V + torch.arange(B, device=src.device)[:, None] * W).view(-1)
            token = (flat % V).view(-1)  # (B*W,)
            seqs = torch.cat([seqs[parent], token[:, None]], dim=1)
            state = [s[parent] for s in state]
            lengths = lengths[parent] + (~done[parent]).float()
            done = done[parent] | (token == end)
            if bool(done.all()):
                break
        final = scores.view(-1) / lengths.clamp_min(1) ** length_penalty
        best = final.view(B, W).argmax(-1) + torch.arange(B, device=src.device) * W  # (B,)
        self.train(was_training)
        return seqs[best]

    def translate(self, sources: Sequence[Sequence[int]], start: int, end: int,
                  max_len: int, beam_width: int = 1, batch_size: int = 256) -> list[list[int]]:
        """Decode id lists; returns the target ids of each, cut before ``end``."""
        device = next(self.parameters()).device
        out: list = [None] * len(sources)
        order = np.argsort([len(s) for s in sources], kind="stable")
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            src = pad_ids([sources[j] for j in idx], device)
            ids = (self.greedy(src, start, end, max_len) if beam_width == 1 else
                   self.beam_search(src, start, end, max_len, beam_width))
            for j, row in zip(idx, ids.tolist()):
                out[j] = row[:row.index(end)] if end in row else [t for t in row if t]
        return out

    # ------------------------------------------------------------------ training
    def compute_loss(self, batch) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """Teacher forcing on a ``(src (B, S), tgt (B, T + 1))`` batch (``tgt`` from the
        start id to the end id, 0-padded): the summed cross-entropy of predicting
        ``tgt[:, 1:]`` from ``tgt[:, :-1]`` (``label_smoothing``), over the real tokens."""
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"{self.name}.compute_loss: expected a (src, tgt) batch of id "
                            f"tensors, got {type(batch).__name__}. Train with fit_pairs("
                            f"sources, targets) or fit(TokenBatches(sources, targets)).")
        src, tgt = batch
        logits = self(src, tgt[:, :-1])  # (B, T, V)
        gold = tgt[:, 1:]  # (B, T)
        total = F.cross_entropy(logits.transpose(1, 2), gold, ignore_index=0,
                                label_smoothing=self.label_smoothing, reduction="sum")
        return total, (gold != 0).sum(), {}

    def fit_pairs(self, sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]],
                  epochs: int = 1, batch_size: int = 64, label_smoothing: float = 0.0,
                  seed: Optional[int] = 0, verbose: int = 1, time_budget: Optional[float] = None,
                  on_epoch_end=None, callbacks=None) -> dict:
        """Teacher-forcing training on id lists (targets include start and end ids): ``fit``
        on ``TokenBatches(sources, targets)`` (batches group similar source lengths),
        where the model stays, with the optimizer and clipping chosen in ``compile``
        (``global_clipnorm`` bounds the norm of all gradients together).

        ``label_smoothing`` becomes the model's (``compute_loss``). ``on_epoch_end(epoch,
        logs)`` may return True to stop; ``time_budget`` (seconds) stops after the epoch
        that exceeds it; ``callbacks`` go to ``fit``. Returns the ``History.history``:
        ``{"loss": [...], "time": [...]}`` per epoch (loss per target token).
        """
        from seqlab.models.step_callbacks import StopWhen, TimeBudget
        if not self.compiled:
            raise RuntimeError(f"fit_pairs(): {self.name} is not compiled. Call model.compile("
                               f"optimizer='adam', loss='sparse_categorical_crossentropy') first.")
        if len(sources) != len(targets) or not sources:
            raise ValueError(f"fit_pairs(): need as many targets as sources (>= 1), got "
                             f"{len(sources)} and {len(targets)}.")
        self.label_smoothing = float(label_smoothing)
        stops = [StopWhen(on_epoch_end)] if on_epoch_end is not None else []
        history = self.fit(TokenBatches(sources, targets, who="fit_pairs()"),
                           batch_size=batch_size, epochs=epochs, verbose=2 if verbose else 0,
                           callbacks=[TimeBudget(time_budget), *stops, *(callbacks or [])],
                           seed=seed, device=None)
        return history.history


__all__ = ["TransformerSeq2Seq", "pad_ids"]
