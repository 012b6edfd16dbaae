"""Reading a CTC model's output: greedy and prefix beam search, and the error rates.

A CTC model gives, at each frame t, log-probabilities over the V labels, label 0 being the
blank. A labelling y is the sum over every frame path pi that collapses to it (merge
repeats, then drop blanks: "aa-ab-" -> "aab"):

    P(y | x) = sum_{pi : B(pi) = y} prod_t p_t(pi_t)

* greedy: the best label of each frame, collapsed: B(argmax_v p_t(v)). Fast, and the most
  probable *path*, which need not be the most probable *labelling*.
* prefix beam search (Hannun et al. 2014): keeps the ``beam`` likeliest prefixes, each
  with two log-probabilities, ending in a blank (p_b) or not (p_nb), so that paths that
  collapse alike are summed:

      extend prefix l by c != last(l):  p_nb(l+c) += (p_b(l) + p_nb(l)) p_t(c)
      repeat c == last(l):              p_nb(l+c) += p_b(l) p_t(c)   (needs a blank between)
                                        p_nb(l)   += p_nb(l) p_t(c)  (the same label again)
      blank:                            p_b(l)    += (p_b(l) + p_nb(l)) p_t(blank)

    >>> import numpy as np
    >>> p = np.log([[0.6, 0.4], [0.6, 0.4]])     # 2 frames, labels (blank, a)
    >>> greedy_decode(p), prefix_beam_search(p, beam=4)[0]
    ([], [1])

(greedy's empty labelling has probability 0.36; "a" gathers 0.16 + 0.24 + 0.24 = 0.64.)

Shapes: T frames, V labels (0 = blank).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np

NEG_INF = -math.inf


def greedy_decode(log_probs, blank: int = 0) -> list[int]:
    """B(argmax path) of one utterance's (T, V) log-probabilities: the label ids."""
    best = np.asarray(log_probs).argmax(-1)                                # (T,)
    out, last = [], blank
    for label in best.tolist():
        if label != blank and label != last:
            out.append(label)
        last = label
    return out


def _add(*logs: float) -> float:
    """log(sum exp(logs)), -inf when all are -inf."""
    top = max(logs)
    if top == NEG_INF:
        return NEG_INF
    return top + math.log(sum(math.exp(v - top) for v in logs))


def prefix_beam_search(log_probs, beam: int = 8, blank: int = 0, prune: float = -12.0
                       ) -> tuple[list[int], float]:
    """The likeliest labelling the beam finds, and its log P(y | x) (summed over its
    paths), from one utterance's (T, V) log-probabilities. Labels whose log-probability
    at a frame is under ``prune`` are not tried there (the blank always is)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, NEG_INF)}        # l -> (p_b, p_nb)
    for t in range(lp.shape[0]):
        nxt: dict = defaultdict(lambda: (NEG_INF, NEG_INF))
        frame = lp[t].tolist()
        tried = [c for c, p in enumerate(frame) if p >= prune or c == blank]
        for prefix, (p_b, p_nb) in beams.items():
            last = prefix[-1] if prefix else None
            for c in tried:
                p = frame[c]
                if c == blank:
                    b, nb = nxt[prefix]
                    nxt[prefix] = (_add(b, p_b + p, p_nb + p), nb)
                    continue
                longer = prefix + (c,)
                b, nb = nxt[longer]
                if c == last:
                    nxt[longer] = (b, _add(nb, p_b + p))
                    b, nb = nxt[prefix]
                    nxt[prefix] = (b, _add(nb, p_nb + p))
                else:
                    nxt[longer] = (b, _add(nb, p_b + p, p_nb + p))
        ranked = sorted(nxt.items(), key=lambda kv: _add(*kv[1]), reverse=True)
        beams = dict(ranked[:beam])
    best, (p_b, p_nb) = max(beams.items(), key=lambda kv: _add(*kv[1]))
    return list(best), _add(p_b, p_nb)


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance: the fewest substitutions, insertions and deletions."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (r != h))
    return row[-1]


def error_rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    """sum of edit distances / sum of reference lengths (WER over word lists, CER over
    strings)."""
    errors = sum(edit_distance(r, h) for r, h in zip(refs, hyps))
    return errors / max(1, sum(len(r) for r in refs))


def word_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """WER of transcripts (words separated by spaces)."""
    return error_rate([r.split() for r in refs], [h.split() for h in hyps])


def char_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """CER of transcripts, spaces included."""
    return error_rate([" ".join(r.split()) for r in refs], [" ".join(h.split()) for h in hyps])


__all__ = ["greedy_decode", "prefix_beam_search", "edit_distance", "error_rate",
           "word_error_rate", "char_error_rate"]
