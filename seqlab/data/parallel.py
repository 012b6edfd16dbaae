"""Parallel text (sentence pairs) for translation: read a two-column file, tokenize both
sides the same way, keep the short pairs, and write them back as a TSV that the ``seq2seq``
task reads with ``[data] dataset = "file"``, ``level = "word"``.

Tokenizing here (lower case, punctuation split off as its own token) keeps the vocabulary
small: "tierra." and "tierra" become one word plus ".". BLEU and chrF (``score``) are then
computed on these tokenized strings for every system alike: BLEU (Papineni et al. 2002) is
the geometric mean of the 1- to 4-gram precisions against the reference, times a brevity
penalty, over the whole test set (0-100); chrF (Popović 2015) the F-score (beta = 2) of
character 1- to 6-grams, which gives partial credit for a right stem with a wrong ending.

    >>> tokenize("In the beginning, God created the heavens.")
    'in the beginning , god created the heavens .'
    >>> tokenize("¿Quién es?")
    '¿ quién es ?'
    >>> score(["el libro es rojo ."], ["el libro es rojo ."])["bleu"]
    100.0
"""
from __future__ import annotations

import csv
import os
import re
import tempfile
from pathlib import Path
from typing import Sequence, Union

from seqlab.data import files

PathLike = Union[str, Path]
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> str:
    """Lower case; words (with inner apostrophes) and single punctuation marks, space-joined."""
    return " ".join(_TOKEN.findall(text.lower()))


def load_parallel(path: PathLike, source: str = "source", target: str = "target",
                  max_words: int = 0, limit: int = 0) -> tuple[list[str], list[str]]:
    """Tokenized ``(sources, targets)`` from the columns ``source`` and ``target`` of ``path``.

    Args:
        max_words: keep only pairs whose both sides have at most this many tokens (0 = all).
        limit: keep at most this many pairs, in file order (0 = all).
    """
    if max_words < 0 or limit < 0:
        raise ValueError(f"load_parallel: max_words and limit must be >= 0 (0 = no limit), "
                         f"got max_words={max_words}, limit={limit}.")
    src, tgt = files.load_pairs(path, source, target)
    out_s, out_t = [], []
    for s, t in zip(src, tgt):
        s, t = tokenize(s), tokenize(t)
        if not s or not t:
            continue
        if max_words and (len(s.split()) > max_words or len(t.split()) > max_words):
            continue
        out_s.append(s)
        out_t.append(t)
        if limit and len(out_s) == limit:
            break
    return out_s, out_t


def write_pairs(path: PathLike, sources: Sequence[str], targets: Sequence[str],
                source: str = "source", target: str = "target") -> Path:
    """Write the pairs as a TSV with a header row (atomically: a temp file, then rename)."""
    if len(sources) != len(targets):
        raise ValueError(f"write_pairs: {len(sources)} sources but {len(targets)} targets; "
                         f"pass one target per source.")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
        w.writerow([source, target])
        w.writerows(zip(sources, targets))
    os.replace(tmp, path)
    return path


def score(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """Corpus BLEU and chrF (sacrebleu, one reference per sentence) of tokenized text."""
    try:
        import sacrebleu
    except ImportError:
        raise ImportError("translation scores need sacrebleu: pip install 'seqlab[translation]' "
                          "(or pip install sacrebleu).") from None
    if len(hypotheses) != len(references):
        raise ValueError(f"score: {len(hypotheses)} hypotheses but {len(references)} "
                         f"references; pass one output per reference.")
    hyps, refs = list(hypotheses), [list(references)]
    # force: the text is tokenized on purpose (tokenize="none" scores those tokens)
    return {"bleu": round(sacrebleu.corpus_bleu(hyps, refs, tokenize="none",
                                                force=True).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(hyps, refs).score, 2)}
