"""Language-model baseline: interpolated modified Kneser-Ney (seqlab.tasks.ngram), its
order chosen on the validation part, then refitted on train + validation.

    >>> text = list("to be or not to be, that is the question. " * 20)
    >>> bits, order = kneser_ney(text[:600], text[600:700], text[700:], orders=range(2, 5))
    >>> order >= 3 and bits < 1.0
    True
"""
from __future__ import annotations

from typing import Sequence


def kneser_ney(train: Sequence, val: Sequence, test: Sequence,
               orders: Sequence[int] = range(2, 9)) -> tuple[float, int]:
    """(test bits per token, the order chosen on ``val``)."""
    from seqlab.tasks import ngram
    _, order, _ = ngram.tuned(train, val, orders)
    lm = ngram.KneserNey(order).fit(list(train) + list(val))
    return lm.bits_per_token(test, (list(train) + list(val))[-order:]), order
