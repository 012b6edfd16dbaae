"""Tagging baseline: each word gets the tag it had most often in training.

Words never seen get the most frequent tag overall. Returns token accuracy.

    >>> train = [(["the", "dog"], ["DET", "NOUN"]), (["a", "dog", "runs"], ["DET", "NOUN", "NOUN"])]
    >>> most_frequent_tag(train, [(["the", "cat"], ["DET", "NOUN"])])
    1.0
"""
from __future__ import annotations

from collections import Counter, defaultdict


def fit_most_frequent(train) -> tuple[dict, str]:
    """(word -> its most frequent tag, the most frequent tag overall) of (words, tags)."""
    per_word, overall = defaultdict(Counter), Counter()
    for words, tags in train:
        for w, t in zip(words, tags):
            per_word[w.lower()][t] += 1
            overall[t] += 1
    return {w: c.most_common(1)[0][0] for w, c in per_word.items()}, overall.most_common(1)[0][0]


def most_frequent_tag(train, test) -> float:
    table, default = fit_most_frequent(train)
    pairs = [(table.get(w.lower(), default), t) for words, tags in test
             for w, t in zip(words, tags)]
    return sum(p == t for p, t in pairs) / max(len(pairs), 1)
