"""Interpolated modified Kneser-Ney against Chen & Goodman's formulas, computed plainly."""
import itertools
import math

import pytest

from seqlab.tasks.ngram import KneserNey, tuned


_TABLES: dict = {}  # (order, n) -> the n-gram counts of CORPUS (the one corpus used)


def reference_prob(tokens, order, history, w):
    """Chen & Goodman (1998) eq. (17)-(19) with KenLM's adjusted counts, by brute force:
    the top order counts n-grams, each lower order counts distinct left neighbours."""
    vocab = sorted(set(tokens))
    grams = [tuple(tokens[i:i + order]) for i in range(len(tokens) - order + 1)]

    def count(g):                                     # the count used at len(g)
        if len(g) == order:
            return sum(x == g for x in grams)
        # N1+(. g): distinct left neighbours of g among the suffixes of the n-grams
        return len({x[-len(g) - 1] for x in grams if x[-len(g):] == g})

    def table(n):                                     # every n-gram with its count
        if (order, n) not in _TABLES:
            _TABLES[(order, n)] = {x[-n:]: count(x[-n:]) for x in grams}
        return _TABLES[(order, n)]

    def discounts(n):
        nk = [sum(c == k for c in table(n).values()) for k in (1, 2, 3, 4)]
        Y = nk[0] / (nk[0] + 2 * nk[1])
        # D_k = k - (k+1) Y n_{k+1} / n_k, kept in [0, k]; 0.5 when no n-gram is seen k times
        return [0.0] + [min(k, max(0.0, k - (k + 1) * Y * nk[k] / nk[k - 1]))
                        if nk[k - 1] else 0.5 for k in (1, 2, 3)]

    p = 1.0 / len(vocab)
    for n in range(1, order + 1):
        h = tuple(history[len(history) - (n - 1):]) if n > 1 else ()
        if len(h) != n - 1:
            break
        followers = {g[-1]: c for g, c in table(n).items() if g[:-1] == h}
        total = sum(followers.values())
        if total == 0:
            continue
        D = discounts(n)
        N = [sum(min(c, 3) == k for c in followers.values()) for k in (1, 2, 3)]
        c = followers.get(w, 0)
        gamma = (D[1] * N[0] + D[2] * N[1] + D[3] * N[2]) / total
        p = max(c - D[min(c, 3)], 0.0) / total + gamma * p
    return p


CORPUS = list("abracadabra cadabra abracadabra bra cab dab abra abba cabbage "
              "a cab, a bad cab, a dab of bread; abracadabra" * 2 + "dabra")


@pytest.mark.parametrize("order", [2, 3, 4])
def test_matches_chen_goodman_by_hand(order):
    lm = KneserNey(order).fit(CORPUS)
    contexts = {tuple(CORPUS[i:i + order - 1]) for i in range(len(CORPUS) - order + 2)}
    contexts |= {tuple("zq"[:order - 1])}            # an unseen context backs off
    worst = 0.0
    for h in contexts:
        for w in sorted(set(CORPUS)):
            worst = max(worst, abs(lm.prob(list(h), w) - reference_prob(CORPUS, order, h, w)))
    assert worst < 1e-12


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_each_distribution_sums_to_one(order):
    lm = KneserNey(order).fit(CORPUS)
    for i in range(0, len(CORPUS), 5):
        h = CORPUS[max(0, i - order + 1):i]
        assert math.isclose(sum(lm.prob(h, w) for w in set(CORPUS)), 1.0, abs_tol=1e-9)


def test_order_is_chosen_on_validation():
    text = list("abcabcabcabd" * 30)
    _, order, bits = tuned(text[:300], text[300:], orders=range(1, 6))
    assert order >= 3 and bits < 0.5
