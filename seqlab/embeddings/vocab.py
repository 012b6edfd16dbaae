"""word2vec's data side: tokenising, the vocabulary, subsampling, the noise table and the
(center, context) pairs of one epoch, all vectorised with numpy.

Shapes: N corpus tokens kept this epoch, P pairs, W window, K negatives, V vocabulary.

    >>> vocab = Vocabulary.build([["le", "roi", "parle"], ["la", "reine", "parle"]])
    >>> vocab.index_to_key[0], len(vocab)
    ('parle', 5)
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Iterable, Sequence, Union

import numpy as np

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")

Corpus = Union[str, Iterable[Sequence[str]]]


def tokenize(text: str) -> list[list[str]]:
    """A plain text -> sentences of lower-cased word tokens (split on lines and . ! ? ; :).

    >>> tokenize("Le roi parle.\\nLa reine écoute !")
    [['le', 'roi', 'parle'], ['la', 'reine', 'écoute']]
    """
    sentences = (_TOKEN.findall(s.lower()) for s in _SENTENCE_END.split(text))
    return [s for s in sentences if s]


def as_sentences(corpus: Corpus) -> list[list[str]]:
    """Accept a plain text, or any iterable of token lists (or of plain-text lines)."""
    if isinstance(corpus, str):
        return tokenize(corpus)
    if isinstance(corpus, list) and set(map(type, corpus)) <= {list}:  # the common case
        sentences = corpus
    else:
        sentences = _collect(corpus)
    if not set(map(type, chain.from_iterable(sentences))) <= {str}:  # one C-level pass
        sentences = [[str(t) for t in s] for s in sentences]
    return sentences


def _collect(corpus) -> list:
    sentences = []
    for i, sentence in enumerate(corpus):
        if isinstance(sentence, str):
            sentences.extend(tokenize(sentence))
        elif isinstance(sentence, (list, tuple)):
            sentences.append(sentence)
        else:
            raise TypeError(
                f"Word2Vec: sentence {i} is a {type(sentence).__name__}; expected a list of "
                f"tokens or a string. Pass e.g. [['le', 'roi'], ['la', 'reine']] or a text.")
    return sentences


@dataclass
class Vocabulary:
    """Words kept (count >= min_count), most frequent first, with their counts."""

    index_to_key: list[str]
    counts: np.ndarray  # (V,) int64

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1,
              max_vocab_size: int | None = None) -> "Vocabulary":
        counter = Counter(chain.from_iterable(sentences))
        items = [(w, c) for w, c in counter.items() if c >= min_count]
        items.sort(key=lambda wc: (-wc[1], wc[0]))  # frequency, then alphabetical: reproducible
        if max_vocab_size is not None:
            items = items[:max_vocab_size]
        if not items:
            raise ValueError(
                f"Word2Vec: no word occurs at least min_count={min_count} times "
                f"(corpus of {sum(counter.values())} tokens). Lower min_count or give more text.")
        return cls([w for w, _ in items], np.array([c for _, c in items], dtype=np.int64))

    def __post_init__(self):
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}

    def __len__(self) -> int:
        return len(self.index_to_key)

    def encode(self, sentences: Iterable[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Concatenated ids of known tokens (N,) and the sentence number of each (N,)."""
        sentences = sentences if isinstance(sentences, list) else list(sentences)
        tokens = list(chain.from_iterable(sentences))
        ids = np.fromiter(map(self.key_to_index.get, tokens, repeat(-1)), np.int64, len(tokens))
        lengths = np.fromiter(map(len, sentences), np.int64, len(sentences))
        sent = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths)  # (N,)
        known = ids >= 0
        return ids[known], sent[known]

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """Subsampling of frequent words (Mikolov et al. 2013, as in gensim/word2vec.c):
        a word of count c is kept with p = (sqrt(c / t) + 1) * t / c, t = sample * total.
        ``sample=0`` keeps everything."""
        if not sample:
            return np.ones(len(self), dtype=np.float64)
        t = sample * self.counts.sum()
        c = self.counts.astype(np.float64)
        return np.minimum(1.0, (np.sqrt(c / t) + 1.0) * t / c)

    def noise_distribution(self, exponent: float = 0.75) -> np.ndarray:
        """Negative-sampling distribution: unigram counts ** 0.75, normalised. (V,)"""
        p = self.counts.astype(np.float64) ** exponent
        return p / p.sum()


def noise_table(probabilities: np.ndarray, size: int = 2_000_000) -> np.ndarray:
    """word2vec.c's unigram table: word i fills a share p_i of ``size`` slots, so a uniform
    slot index draws a word from p in O(1). (size,) int64"""
    counts = np.floor(probabilities * size).astype(np.int64)
    counts[np.argmax(probabilities)] += size - counts.sum()  # rounding leftovers
    return np.repeat(np.arange(len(probabilities), dtype=np.int64), counts)


def subsample(ids: np.ndarray, sent: np.ndarray, keep_prob: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drop each token with probability 1 - keep_prob[token] (fresh draw every epoch)."""
    keep = rng.random(len(ids)) < keep_prob[ids]
    return ids[keep], sent[keep]


def reduced_windows(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """word2vec's dynamic window: each center uses a width drawn uniformly in [1, W],
    which weights near contexts more. (N,)"""
    return window - rng.integers(0, window, size=n)


def window_mask(ids: np.ndarray, sent: np.ndarray, window: int,
                rng: np.random.Generator) -> np.ndarray:
    """Which neighbours are contexts: ``mask[i, k]`` is True when the word at offset k - W
    from center i is inside i's reduced window and sentence (never i itself). (n, 2W+1)"""
    n = len(ids)
    width = reduced_windows(n, window, rng)  # (n,)
    i = np.arange(n)
    new_sentence = np.r_[True, sent[1:] != sent[:-1]]  # (n,)
    first = np.maximum.accumulate(np.where(new_sentence, i, 0))  # (n,) sentence's first word
    last = np.minimum.accumulate(np.where(np.r_[new_sentence[1:], True], i, n)[::-1])[::-1]
    lo = -np.minimum(i - first, width)  # (n,) the farthest context to the left...
    hi = np.minimum(last - i, width)  # ...and to the right
    offsets = np.arange(-window, window + 1)  # (2W+1,)
    return ((offsets >= lo[:, None]) & (offsets <= hi[:, None])) & (offsets != 0)


def skipgram_pairs(ids: np.ndarray, sent: np.ndarray, window: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The (center id, context id) pairs of ``window_mask``, in corpus order: two (P,)."""
    center, k = np.nonzero(window_mask(ids, sent, window, rng))
    return ids[center], ids[center + k - window]
