"""word2vec: CBOW and skip-gram with negative sampling (seed 001, "CBOW / Skip-gram").

Two matrices are learned: ``W_in`` (the word vectors, V x E) and ``W_out`` (the context
vectors, V x E). For a center word c and a context word o, skip-gram maximises

    log σ(u_o · v_c) + Σ_{k=1..K} log σ(-u_k · v_c),   k ~ P_noise ∝ count^0.75

with v = W_in[c], u = W_out[.]. CBOW does the same with v replaced by the mean of the
context words' input vectors, predicting the center. Frequent words are subsampled, the
window width is drawn in [1, W] per center, and the learning rate decays linearly from
``alpha`` to ``min_alpha``, all as in word2vec.c / gensim.

Speed: one step trains on ``batch_size`` consecutive words of the corpus (several
sentences), each the center of its window, against the same (slightly stale) weights. The
centers are cut into blocks of ``block_size``: the scores of a block's centers against the
words around them are one small matrix product, and so are the gradients, written by hand
on the rows used and applied with ``index_add_`` (seqlab/embeddings/sgns.py, with the
equations): plain SGD as gensim, no autograd. Each group of ``noise_block`` centers (one
block for skip-gram, 4 blocks for CBOW) draws ``shared_negatives`` noise words, weighted so
that the expected gradient is that of ``negative`` noise words per pair (batched negative
sampling). On the CPU the CBOW step runs in C (seqlab/embeddings/cbow.c: the same update,
each row read where it lies). bench/word2vec_vs_gensim.py measures it against gensim.

Shapes: N centers in a batch, E vector size, W window, V vocabulary.

    >>> sents = [["le", "roi", "parle"], ["la", "reine", "parle"]] * 50
    >>> model = Word2Vec(sents, vector_size=8, min_count=1, epochs=2)
    >>> model.wv["roi"].shape
    (8,)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Optional

import numpy as np
import torch

from seqlab.embeddings.vectors import WordVectors
from seqlab.embeddings.sgns import Batch, cbow_step, sg_step
from seqlab.embeddings.vocab import (Corpus, Vocabulary, as_sentences, noise_table, subsample,
                                     window_mask)


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
    batch_size: Optional[int] = None  # centers (corpus words) per update, a multiple of
    #                            block_size; None: 1024 for skip-gram, 2048 for CBOW (a skip-gram
    #                            word has several pairs: larger steps are staler, measured worse)
    block_size: int = 16       # B consecutive centers whose scores are one matrix product
    shared_negatives: int = 8  # S noise words drawn per noise group, each weighted negative / S
    noise_block: Optional[int] = None  # G centers (whole blocks) sharing the S noise words;
    #                            None: block_size for skip-gram, 64 for CBOW (one term per window:
    #                            fewer, larger (G, E) @ (E, S) products, still S noise words a word)
    cbow_mean: bool = True     # CBOW: mean (True) or sum of the context vectors
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
        if cfg.batch_size is None:
            cfg.batch_size = 1024 if cfg.sg else 2048
        if cfg.noise_block is None:
            cfg.noise_block = cfg.block_size if cfg.sg else max(64, cfg.block_size)
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size",
                     "block_size", "shared_negatives", "noise_block"):
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                example = Word2VecConfig.__dataclass_fields__[name].default or 1024
                raise ValueError(f"Word2Vec: {name} must be a positive integer, got {value!r}. "
                                 f"Pass e.g. {name}={example}.")
        if cfg.noise_block % cfg.block_size:
            raise ValueError(f"Word2Vec: noise_block={cfg.noise_block} must be a multiple of "
                             f"block_size={cfg.block_size}. Pass e.g. noise_block="
                             f"{-(-cfg.noise_block // cfg.block_size) * cfg.block_size}.")
        for name in ("block_size", "noise_block"):
            unit = getattr(cfg, name)
            if cfg.batch_size % unit:
                raise ValueError(f"Word2Vec: batch_size={cfg.batch_size} must be a multiple of "
                                 f"{name}={unit}. Pass e.g. batch_size="
                                 f"{-(-cfg.batch_size // unit) * unit}.")
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
        W, B, G, dev = cfg.window, cfg.block_size, cfg.noise_block, self.device
        step = sg_step if cfg.sg else partial(cbow_step, cbow_mean=cfg.cbow_mean)
        for epoch in range(cfg.epochs):
            kept_ids, kept_sent = subsample(ids, sent, keep_prob, rng)
            n = len(kept_ids)
            n_all = -(-n // G) * G  # whole noise groups: the padding words have no context
            mask = np.pad(window_mask(kept_ids, kept_sent, W, rng), ((0, n_all - n), (0, 0)))
            mask = torch.as_tensor(mask, dtype=torch.float32, device=dev)  # (n_all, 2W+1)
            around = torch.as_tensor(np.pad(kept_ids, (W, n_all - n + W)), device=dev)
            # the epoch's noise words, S per block: uniform slots of the unigram^0.75 table
            slots = torch.randint(len(table), (n_all // G * cfg.shared_negatives,),
                                  generator=gen, device=dev)
            noise = table.index_select(0, slots).view(n_all // G, -1)  # (n_all / G, S)
            loss_sum = 0.0
            for s in range(0, n_all, cfg.batch_size):
                e = min(s + cfg.batch_size, n_all)
                batch = Batch(around[W + s:W + e], around[s:e + 2 * W], mask[s:e])
                # linear decay over all the epochs' words, as gensim
                lr = cfg.alpha - (cfg.alpha - cfg.min_alpha) * (epoch + s / n_all) / cfg.epochs
                loss_sum += step(self.W_in, self.W_out, batch, noise[s // G:e // G], lr,
                                 cfg.negative, block_size=B)
            # mean loss per pair (skip-gram) or per window (CBOW)
            examples = mask.sum() if cfg.sg else (mask.sum(1) > 0).sum()
            self.losses.append(loss_sum / max(float(examples), 1.0))
        self.words_per_second = total / (time.perf_counter() - start)
        self.wv = WordVectors(self.vocab.index_to_key, self.W_in.cpu().numpy())
        return self

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
