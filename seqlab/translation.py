"""Translation quality of a trained ``seq2seq`` run: BLEU and chrF through sacrebleu on the
run's held-out pairs, beside a word-for-word dictionary (IBM Model 1) learned from the
same training pairs.

BLEU (Papineni et al. 2002): the geometric mean of the 1- to 4-gram precisions of the
output against the reference, times a brevity penalty, over the whole test set (0-100).
chrF (Popović 2015): the F-score (beta = 2, recall weighted higher) of character 1- to
6-grams; it gives partial credit to a word with the right stem and a wrong ending, which
matters for Spanish verbs.

    >>> score(["el libro es rojo ."], ["el libro es rojo ."])["bleu"]
    100.0

A run trained on a file (``[data] dataset = "file"``) is scored with::

    run, metrics = seqlab.tasks.train(cfg)
    report = compare(run.path)     # {"model": {...}, "dictionary": {...}, "test_pairs": n}
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import torch

from seqlab.data.parallel import score  # noqa: F401 (BLEU and chrF, re-exported)
from seqlab.models.word_dictionary import WordDictionary

PathLike = Union[str, Path]


def split_pairs(cfg) -> dict:
    """The run's pairs as the ``seq2seq`` recipe splits them: {"train"|"test": (src, tgt)}."""
    from seqlab.tasks import seq2seq
    from seqlab.tasks.common import split_user_parts, take
    sources, targets, counts = seq2seq._pairs(cfg)
    tr, _, te = split_user_parts(cfg, len(sources), counts)
    if cfg.data.max_samples:
        tr = tr[:cfg.data.max_samples]
    return {"train": (take(sources, tr), take(targets, tr)),
            "test": (take(sources, te), take(targets, te))}


def compare(run_path: PathLike, iterations: int = 8, with_dictionary: bool = True) -> dict:
    """Score a trained seq2seq run and (``with_dictionary``) the dictionary baseline on the
    run's test pairs."""
    from seqlab import tasks
    run, task, model, vocab = tasks.load(run_path)
    cfg = run.config
    pairs = split_pairs(cfg)
    test_src, test_tgt = pairs["test"]
    data = task.prepare(cfg, vocab=vocab)
    with torch.no_grad():
        hyps = task.decode(model, vocab, cfg, data.test[0])
    hyps = [h.replace("<unk>", "").strip() for h in hyps]
    baseline = list(test_tgt)
    if with_dictionary:
        dictionary = WordDictionary(iterations=iterations).fit(*pairs["train"])
        baseline = [dictionary.translate(s) for s in test_src]
    return {"model": score(hyps, test_tgt),
            **({"dictionary": score(baseline, test_tgt)} if with_dictionary else {}),
            "test_pairs": len(test_tgt),
            "examples": list(zip(test_src[:5], test_tgt[:5], hyps[:5], baseline[:5]))}
