"""A word-for-word translation baseline: IBM Model 1 (Brown et al. 1993) trained by EM.

IBM Model 1 explains each target word f_j of a pair by one source word e_i (or the empty
word NULL), chosen uniformly, then translated with probability t(f | e):

    P(f | e) = prod_j  (1 / (l + 1)) * sum_{i=0..l} t(f_j | e_i)

EM: the E-step spreads each target word over the source words of its sentence in
proportion to t (its expected alignment counts); the M-step renormalises the counts:

    delta(f_j, e_i) = t(f_j | e_i) / sum_{i'} t(f_j | e_i')
    t(f | e)        = sum of delta(f, e) over the corpus / sum over f' of the same

The dictionary keeps, for each source word, its likeliest translation argmax_f t(f | e).
``translate`` replaces each source word by it, in source order (no reordering, no
insertion); a word never seen in training is copied unchanged (names often are the same).

    >>> d = WordDictionary(iterations=10).fit(
    ...     ["the house", "the book", "a book"], ["das haus", "das buch", "ein buch"])
    >>> d.translate("the book")
    'das buch'
    >>> d.translate("a house")
    'ein haus'
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

NULL = "<null>"


class WordDictionary:
    """IBM Model 1 word translation table and its word-for-word translator.

    Args:
        iterations: EM iterations (5-10 suffice: the likelihood of Model 1 is convex).
        min_prob: a source word whose best t(f | e) is below this is dropped from the
            output instead of translated (0 = always translate).
    """

    def __init__(self, iterations: int = 8, min_prob: float = 0.0):
        if iterations < 1:
            raise ValueError(f"WordDictionary: iterations must be >= 1, got {iterations}.")
        self.iterations = iterations
        self.min_prob = min_prob
        self.best: dict[str, tuple[str, float]] = {}

    def fit(self, sources: Sequence[str], targets: Sequence[str]) -> "WordDictionary":
        """Learn t(f | e) from space-tokenized sentence pairs."""
        if len(sources) != len(targets) or not sources:
            raise ValueError(f"WordDictionary.fit: needs as many targets as sources and at "
                             f"least one pair, got {len(sources)} sources and "
                             f"{len(targets)} targets.")
        pairs = [([NULL] + s.split(), t.split()) for s, t in zip(sources, targets)]
        n_target = len({f for _, fs in pairs for f in fs})
        t: dict[tuple[str, str], float] = defaultdict(lambda: 1.0 / n_target)  # uniform start
        for _ in range(self.iterations):
            count: dict[tuple[str, str], float] = defaultdict(float)
            total: dict[str, float] = defaultdict(float)
            for es, fs in pairs:
                for f in fs:
                    # E-step: the alignment of f over the words of its source sentence
                    z = sum(t[(f, e)] for e in es)
                    for e in es:
                        delta = t[(f, e)] / z
                        count[(f, e)] += delta
                        total[e] += delta
            # M-step: t(f | e) = count(f, e) / count(e)
            t = defaultdict(float, {(f, e): c / total[e] for (f, e), c in count.items()})
        best: dict[str, tuple[str, float]] = {}
        for (f, e), p in t.items():
            if e != NULL and p > best.get(e, ("", -1.0))[1]:
                best[e] = (f, p)
        self.best = best
        return self

    def translate(self, sentence: str) -> str:
        """Word-for-word: each known source word -> its likeliest target word."""
        out = []
        for e in sentence.split():
            f, p = self.best.get(e, (e, 1.0))
            if p >= self.min_prob:
                out.append(f)
        return " ".join(out)
