"""A modified Kneser-Ney n-gram model (Chen & Goodman 1998), the language models' baseline.

Interpolated, with three discounts per order:

    P(w | h) = max(c(h w) - D(c(h w)), 0) / c(h)  +  gamma(h) P(w | h')
    gamma(h) = (D1 N1(h .) + D2 N2(h .) + D3 N3+(h .)) / c(h)

where h' drops the oldest token of h, N_k(h .) counts the followers of h seen exactly k
times, and D_k = k - (k + 1) Y n_{k+1} / n_k with Y = n1 / (n1 + 2 n2) (n_k: number of
n-grams of that order seen k times). Lower orders use continuation counts (how many
different tokens precede h w) instead of raw counts; order 0 is uniform. A context never
seen backs off entirely to the lower order.

    >>> lm = KneserNey(order=3).fit(list("abracadabra"))
    >>> round(sum(lm.prob(list("ab"), c) for c in "abcdr"), 6)
    1.0
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Hashable, Sequence


class KneserNey:
    def __init__(self, order: int = 5):
        self.order = order

    def fit(self, tokens: Sequence[Hashable]) -> "KneserNey":
        tokens = list(tokens)
        self.vocab = sorted(set(tokens), key=str)
        n = self.order
        raw = Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        # counts[k]: (k+1)-gram -> count (raw for the top order, continuation below)
        self.counts: list[Counter] = [Counter() for _ in range(n)]
        self.counts[n - 1] = raw
        for k in range(n - 1, 0, -1):
            for gram in self.counts[k]:
                self.counts[k - 1][gram[1:]] += 1
        # short prefixes at the text start are top-order grams of their own length
        for k in range(1, n):
            self.counts[k - 1].update({tuple(tokens[:k]): 0})
        self.discounts, self.context = [], []
        for table in self.counts:
            nk = Counter(c for c in table.values() if 1 <= c <= 4)  # n_k: seen exactly k times
            n1, n2, n3, n4 = (nk.get(i, 0) for i in (1, 2, 3, 4))
            Y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
            D = [0.0]
            for k, (a, b) in enumerate([(n1, n2), (n2, n3), (n3, n4)], start=1):
                D.append(max(0.0, min(float(k), k - (k + 1) * Y * b / a)) if a else 0.5)
            self.discounts.append(D)
            ctx: dict = defaultdict(lambda: [0, 0, 0, 0])  # total, N1, N2, N3+
            for gram, c in table.items():
                if c <= 0:
                    continue
                s = ctx[gram[:-1]]
                s[0] += c
                s[min(c, 3)] += 1
            self.context.append(dict(ctx))
        return self

    def prob(self, history: Sequence[Hashable], token: Hashable) -> float:
        """P(token | the last order-1 tokens of history)."""
        p = 1.0 / len(self.vocab)
        history = tuple(history[-(self.order - 1):]) if self.order > 1 else ()
        for k in range(self.order):                     # k + 1 = n-gram length
            if k > len(history):
                break
            h = history[len(history) - k:] if k else ()
            stats = self.context[k].get(h)
            if not stats or stats[0] == 0:
                continue                                # unseen context: keep the lower order
            total, n1, n2, n3 = stats
            D = self.discounts[k]
            c = self.counts[k].get(h + (token,), 0)
            gamma = (D[1] * n1 + D[2] * n2 + D[3] * n3) / total
            p = max(c - D[min(c, 3)], 0.0) / total + gamma * p
        return p

    def bits_per_token(self, tokens: Sequence[Hashable], history: Sequence[Hashable] = ()) -> float:
        """Mean -log2 P over ``tokens``, each conditioned on what precedes it."""
        seq = list(history) + list(tokens)
        start = len(history)
        total = 0.0
        for i in range(start, len(seq)):
            total -= math.log2(max(self.prob(seq[max(0, i - self.order + 1):i], seq[i]), 1e-12))
        return total / max(len(tokens), 1)


def tuned(train: Sequence, val: Sequence, orders: Sequence[int] = range(2, 9)):
    """The order with the lowest validation bits per token: (model, order, val bits)."""
    best = None
    for order in orders:
        lm = KneserNey(order).fit(train)
        bits = lm.bits_per_token(val, history=list(train)[-order:])
        if best is None or bits < best[2]:
            best = (lm, order, bits)
    return best
