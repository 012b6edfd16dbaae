"""word2vec: CBOW and skip-gram with negative sampling (seed 001, "CBOW / Skip-gram").

Two matrices are learned: ``W_in`` (the word vectors, V x E) and ``W_out`` (the context
vectors, V x E). For a center word c and a context word o, skip-gram maximises

    log σ(u_o · v_c) + Σ_{k=1..K} log σ(-u_k · v_c),   k ~ P_noise ∝ count^0.75

with v = W_in[c], u = W_out[.]. CBOW does the same with v replaced by the mean of the
context words' input vectors, predicting the center. Frequent words are subsampled, the
window width is drawn in [1, W] per center, and the learning rate decays linearly from
``alpha`` to ``min_alpha``, all as in word2vec.c / gensim.

Speed: one step updates a batch of P pairs at once. The gradients are written by hand
(no autograd) and applied with ``index_add_``: plain SGD, the update gensim applies pair by
pair, here for many pairs against the same (slightly stale) weights. ``shared_negatives=S``
draws S noise words per batch for all its pairs (each weighted K/S, same expected gradient),
so the noise scores are one matrix product: skip-gram ran 2.7x faster with
``batch_size=2048, shared_negatives=32`` at equal quality on the planted corpus.

Shapes: P pairs in a batch, K negatives, E vector size, W window, V vocabulary.

    >>> sents = [["le", "roi", "parle"], ["la", "reine", "parle"]] * 50
    >>> model = Word2Vec(sents, vector_size=8, min_count=1, epochs=2)
    >>> model.wv["roi"].shape
    (8,)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from seqlab.embeddings.vectors import WordVectors
from seqlab.embeddings.vocab import (Corpus, Vocabulary, as_sentences, cbow_windows,
                                     noise_table, skipgram_pairs, subsample)


@dataclass
class Word2VecConfig:
    vector_size: int = 100     # E, the size of each word vector
    window: int = 5            # W, max distance between center and context
    min_count: int = 5         # words rarer than this are dropped
    sg: int = 0                # 0 = CBOW, 1 = skip-gram (gensim's switch)
    negative: int = 5          # K noise words per positive pair
    ns_exponent: float = 0.75  # noise distribution ∝ count ** ns_exponent
    sample: float = 1e-3       # subsampling threshold of frequent words (0 = off)
    alpha: float = 0.025       # initial learning rate
    min_alpha: float = 1e-4    # final learning rate (linear decay over all epochs)
    epochs: int = 5            # passes over the corpus
    batch_size: int = 1024     # pairs (skip-gram) or windows (CBOW) per update
    cbow_mean: bool = True     # CBOW: mean (True) or sum of the context vectors
    shared_negatives: int = 0  # 0: K noise words per pair (word2vec.c); S > 0: S noise words
    #                            per batch shared by all its pairs, each weighted K/S (faster)
    max_vocab_size: Optional[int] = None  # keep only the most frequent words
    seed: int = 0              # seeds numpy and torch draws
    device: str = "cpu"        # "cpu", "cuda" or "auto"


class Word2Vec:
    """Train word vectors on a text (a plain string) or a list of token lists.

    Args: see ``Word2VecConfig`` (names and defaults as gensim's ``Word2Vec``).
    Query methods (``most_similar``, ``analogy``, ``similarity``, ``save_word2vec_format``,
    ``plot_pca``, ``embedding_layer``) live on ``model.wv`` and are forwarded.

    >>> Word2Vec(vector_size=0)
    Traceback (most recent call last):
    ...
    ValueError: Word2Vec: vector_size must be a positive integer, got 0. Pass e.g. vector_size=100.
    """

    def __init__(self, sentences: Optional[Corpus] = None, **options):
        unknown = set(options) - set(Word2VecConfig.__dataclass_fields__)
        if unknown:
            raise TypeError(f"Word2Vec: unknown option(s) {sorted(unknown)}. Known: "
                            f"{sorted(Word2VecConfig.__dataclass_fields__)}.")
        self.config = cfg = Word2VecConfig(**options)
        if cfg.shared_negatives < 0:
            raise ValueError(f"Word2Vec: shared_negatives must be >= 0 (0 = per-pair "
                             f"negatives), got {cfg.shared_negatives!r}.")
        if cfg.shared_negatives and cfg.batch_size * cfg.negative / cfg.shared_negatives > 400:
            # Each shared noise row sums batch_size * K / S stale updates per step; measured
            # on the planted corpus: 320 trains well, 1280 diverges (vectors become useless).
            raise ValueError(
                f"Word2Vec: batch_size * negative / shared_negatives = {cfg.batch_size} * "
                f"{cfg.negative} / {cfg.shared_negatives} is above 400: the summed updates of "
                f"each shared noise word would diverge. Lower batch_size or raise "
                f"shared_negatives (e.g. batch_size=2048, shared_negatives=32).")
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size"):
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Word2Vec: {name} must be a positive integer, got {value!r}. "
                                 f"Pass e.g. {name}={Word2VecConfig.__dataclass_fields__[name].default}.")
        if cfg.sg not in (0, 1):
            raise ValueError(f"Word2Vec: sg must be 0 (CBOW) or 1 (skip-gram), got {cfg.sg!r}.")
        if cfg.negative < 1:
            raise ValueError(f"Word2Vec: negative must be >= 1 (negative sampling is the only "
                             f"objective implemented), got {cfg.negative!r}.")
        dev = cfg.device
        self.device = torch.device("cuda" if dev == "auto" and torch.cuda.is_available()
                                   else ("cpu" if dev == "auto" else dev))
        self.vocab: Optional[Vocabulary] = None
        self.wv: Optional[WordVectors] = None
        self.words_per_second = float("nan")
        self.losses: list[float] = []  # mean loss per example, one per epoch
        if sentences is not None:
            self.fit(sentences)

    # ------------------------------------------------------------------ training
    def fit(self, sentences: Corpus) -> "Word2Vec":
        """Build the vocabulary and train for ``epochs`` passes. Returns self."""
        cfg = self.config
        sentences = as_sentences(sentences)
        self.vocab = Vocabulary.build(sentences, cfg.min_count, cfg.max_vocab_size)
        ids, sent = self.vocab.encode(sentences)  # (N,), (N,)
        rng = np.random.default_rng(cfg.seed)
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        V, E = len(self.vocab), cfg.vector_size
        # gensim 4's initialisation: input vectors U(-1/E, 1/E), output vectors zero.
        self.W_in = ((2 * torch.rand(V, E, generator=torch.Generator().manual_seed(cfg.seed))
                      - 1) / E).to(self.device)  # (V, E)
        self.W_out = torch.zeros(V, E, device=self.device)  # (V, E)
        table = torch.as_tensor(noise_table(self.vocab.noise_distribution(cfg.ns_exponent)),
                                device=self.device)
        keep_prob = self.vocab.keep_probabilities(cfg.sample)
        total = len(ids) * cfg.epochs  # lr decays with the share of corpus words seen
        self.losses = []
        start = time.perf_counter()
        for epoch in range(cfg.epochs):
            kept_ids, kept_sent = subsample(ids, sent, keep_prob, rng)
            if cfg.sg:
                centers, contexts = skipgram_pairs(kept_ids, kept_sent, cfg.window, rng)
                batches = self._batches(centers, contexts)
            else:
                centers, ctx, mask = cbow_windows(kept_ids, kept_sent, cfg.window, rng)
                batches = self._batches(centers, ctx, mask)
            n_batches = max(1, math.ceil(len(centers) / cfg.batch_size))
            loss_sum, count = 0.0, 0
            for b, batch in enumerate(batches):
                progress = (epoch + b / n_batches) / cfg.epochs
                lr = cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress
                step = self._sg_step if cfg.sg else self._cbow_step
                loss_sum += step(*batch, table=table, gen=gen, lr=lr)
                count += len(batch[0])
            self.losses.append(loss_sum / max(count, 1))
        self.words_per_second = total / (time.perf_counter() - start)
        self.wv = WordVectors(self.vocab.index_to_key, self.W_in.cpu().numpy())
        return self

    def _batches(self, *arrays: np.ndarray):
        """Consecutive mini-batches of the epoch's examples, in corpus order as word2vec.c
        walks it (measured: better vectors than shuffled pairs), moved to the device."""
        for s in range(0, len(arrays[0]), self.config.batch_size):
            yield tuple(torch.as_tensor(a[s:s + self.config.batch_size], device=self.device)
                        for a in arrays)

    def _negatives(self, targets: torch.Tensor, table: torch.Tensor,
                   gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """K noise ids per example (P, K), and 1.0 where a noise id is not the target (P, K)
        (word2vec.c skips a negative equal to the target)."""
        slots = torch.randint(len(table), (len(targets), self.config.negative),
                              generator=gen, device=self.device)
        negs = table[slots]  # (P, K)
        return negs, (negs != targets[:, None]).float()

    def _sgns_grads(self, v: torch.Tensor, targets: torch.Tensor, table: torch.Tensor,
                    gen: torch.Generator, lr: float):
        """Shared core: given input vectors v (P, E) and target ids (P,), update W_out and
        return (lr * dL/dv (P, E), summed loss)."""
        if self.config.shared_negatives:
            return self._shared_grads(v, targets, table, gen, lr)
        negs, valid = self._negatives(targets, table, gen)  # (P, K), (P, K)
        out_ids = torch.cat([targets[:, None], negs], dim=1)  # (P, 1+K)
        u = self.W_out[out_ids]  # (P, 1+K, E)
        score = torch.bmm(u, v.unsqueeze(2)).squeeze(2)  # (P, 1+K)
        label = torch.zeros_like(score)
        label[:, 0] = 1.0
        weight = torch.cat([torch.ones_like(valid[:, :1]), valid], dim=1)  # (P, 1+K)
        # word2vec.c / gensim skip a score outside (-6, 6) (the edge of their sigmoid table).
        weight = weight * (score.abs() < 6.0)
        s = torch.sigmoid(score)
        # g = lr * (label - σ(score)): the gradient of the log-likelihood wrt the score.
        g = lr * (label - s) * weight  # (P, 1+K)
        loss = -(torch.log(torch.where(label > 0, s, 1 - s).clamp_min(1e-7)) * weight).sum()
        grad_v = torch.bmm(g.unsqueeze(1), u).squeeze(1)  # (P, E): Σ_j g_j u_j
        # u_j += g_j v   (scattered: the same word may appear many times in a batch)
        self.W_out.index_add_(0, out_ids.reshape(-1), (g.unsqueeze(2) * v.unsqueeze(1))
                              .reshape(-1, v.shape[1]))
        return grad_v, float(loss)

    def _shared_grads(self, v: torch.Tensor, targets: torch.Tensor, table: torch.Tensor,
                      gen: torch.Generator, lr: float):
        """As ``_sgns_grads`` with S noise words drawn once per batch: the noise scores are
        one matrix product (P, E) @ (E, S), and each of the S terms weighs K/S, so the
        expected gradient is that of K negatives per pair."""
        S, K = self.config.shared_negatives, self.config.negative
        negs = table[torch.randint(len(table), (S,), generator=gen, device=self.device)]  # (S,)
        u_pos, u_neg = self.W_out[targets], self.W_out[negs]  # (P, E), (S, E)
        s_pos = torch.sigmoid((u_pos * v).sum(dim=1))  # (P,)
        score = v @ u_neg.T  # (P, S)
        weight = (negs[None, :] != targets[:, None]).float() * (K / S)  # (P, S)
        s_neg = torch.sigmoid(score)
        g_pos = lr * (1 - s_pos)  # (P,)
        g_neg = -lr * s_neg * weight  # (P, S)
        loss = -(torch.log(s_pos.clamp_min(1e-7)).sum()
                 + (torch.log((1 - s_neg).clamp_min(1e-7)) * weight).sum())
        grad_v = g_pos[:, None] * u_pos + g_neg @ u_neg  # (P, E)
        self.W_out.index_add_(0, targets, g_pos[:, None] * v)
        self.W_out.index_add_(0, negs, g_neg.T @ v)  # (S, E)
        return grad_v, float(loss)

    @torch.no_grad()
    def _sg_step(self, centers, contexts, table, gen, lr) -> float:
        """Skip-gram: v_c predicts each context o (and not the K noise words)."""
        v = self.W_in[centers]  # (P, E)
        grad_v, loss = self._sgns_grads(v, contexts, table, gen, lr)
        self.W_in.index_add_(0, centers, grad_v)  # v_c += Σ_j g_j u_j
        return loss

    @torch.no_grad()
    def _cbow_step(self, centers, ctx, mask, table, gen, lr) -> float:
        """CBOW: h = mean of the context input vectors predicts the center word."""
        m = mask.float()  # (P, 2W)
        n = m.sum(dim=1, keepdim=True)  # (P, 1) contexts per window
        h = (self.W_in[ctx] * m.unsqueeze(2)).sum(dim=1)  # (P, E)
        if self.config.cbow_mean:
            h = h / n
        grad_h, loss = self._sgns_grads(h, centers, table, gen, lr)
        if not self.config.cbow_mean:
            grad_h = grad_h / n  # as gensim: a summed window shares the error out...
        # ...while with the mean each context word receives the whole error (gensim, word2vec.c)
        rows = ctx[mask]  # (#valid,)
        self.W_in.index_add_(0, rows, grad_h.unsqueeze(1).expand(-1, ctx.shape[1], -1)[mask])
        return loss

    # ------------------------------------------------------------------ queries
    def _check_trained(self) -> WordVectors:
        if self.wv is None:
            raise RuntimeError("Word2Vec: not trained yet. Call fit(sentences) or pass the "
                               "corpus to the constructor.")
        return self.wv

    def __getitem__(self, word: str) -> np.ndarray:
        return self._check_trained()[word]

    def __contains__(self, word: str) -> bool:
        return word in self._check_trained()

    def most_similar(self, word=None, topn: int = 10, positive=(), negative=()):
        """See ``WordVectors.most_similar``."""
        return self._check_trained().most_similar(word, topn, positive, negative)

    def analogy(self, a: str, b: str, c: str, topn: int = 1):
        """b - a + c, e.g. ``analogy("homme", "roi", "femme")`` -> "reine"."""
        return self._check_trained().analogy(a, b, c, topn)

    def similarity(self, w1: str, w2: str) -> float:
        return self._check_trained().similarity(w1, w2)

    def save_word2vec_format(self, path) -> None:
        self._check_trained().save_word2vec_format(path)

    def plot_pca(self, words, path=None, **kwargs):
        return self._check_trained().plot_pca(words, path, **kwargs)

    def embedding_layer(self, trainable: bool = False, **kwargs):
        """A ``seqlab.layers.Embedding`` initialised from the vectors (frozen by default)."""
        return self._check_trained().embedding_layer(trainable=trainable, **kwargs)

    @staticmethod
    def load_word2vec_format(path) -> WordVectors:
        """Read vectors in the word2vec text format (returns ``WordVectors``)."""
        return WordVectors.load_word2vec_format(path)
