"""Sequence tagging (many-to-many, aligned): one tag per token, e.g. parts of speech.

Each word is represented by its word embedding and, with [model] char_embedding_dim > 0,
by what a bidirectional recurrent layer reads in its characters (suffixes, capitals,
digits: what a tagger needs for words never seen in training). A bidirectional stack then
reads the sentence both ways, so each tag sees its left and right context:

    word ids (B, T)        -> Embedding(mask_zero)                    (B, T, E)
    char ids (B, T, L)     -> Embedding -> Bidirectional(GRU/LSTM)     (B, T, 2C)
    concat                 -> Bidirectional(recurrent) x layers       (B, T, 2H)
                           -> Dense(K) tag logits per token           (B, T, K)

During training a word seen n times in the training data is replaced by the OOV id with
probability a / (a + n), a = [model] word_dropout (Kiperwasser & Goldberg 2016): rare
words often, frequent ones almost never, so the OOV vector is learned and the tagger
learns to read the characters of words it has (almost) never seen, as at test time.
Reported: token accuracy (also on out-of-vocabulary words), per-tag F1 (a bar plot) and
the most-frequent-tag baseline (each word's most frequent training tag; unseen words get
the most frequent tag overall).

Shapes: B sentences, T words, L characters per word, E/C embedding sizes, H units, K tags.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Optional

import numpy as np
import torch

from seqlab.config import Config
from seqlab.data import Tokenizer
from seqlab.errors import SeqlabError
from seqlab.models.recurrent import Tagger
from seqlab.tasks.common import Data
from seqlab.tasks.common import (build_with, length_batches, load_dataset, pad, recurrent,
                                 read_user_files, split_user_parts, take)

MAX_WORD = 20  # characters kept per word (the ends of longer words are cut)

MONITOR = ("token_accuracy", "max")  # the validation metric [training] keep_best selects on


# ---------------------------------------------------------------------- data
def _load(cfg: Config):
    d = cfg.data
    if d.dataset == "file":
        from seqlab.data import files
        def read(path):
            src, tgt = files.load_pairs(path, d.text_column, d.label_column,
                                        encoding=d.encoding)
            sents, tags = [s.split() for s in src], [t.split() for t in tgt]
            for i, (s, t) in enumerate(zip(sents, tags)):
                if len(s) != len(t):
                    raise SeqlabError(f"{path}: row {i + 1} has {len(s)} tokens but {len(t)} "
                                      f"tags; give one tag per token.")
            return sents, tags
        (sents, tags), counts = read_user_files(cfg, read)
        return sents, tags, counts
    raw = load_dataset(cfg)
    if "sentences" not in raw or "tags" not in raw:
        raise SeqlabError(f"[data] dataset = {d.dataset!r} is not a tagging dataset (it has "
                          f"{', '.join(raw)}); `seqlab datasets` lists them.")
    return raw["sentences"], raw["tags"], None


def prepare(cfg: Config, vocab: Optional[dict] = None) -> Data:
    sents, tags, counts = _load(cfg)
    tr, va, te = split_user_parts(cfg, len(sents), counts)
    if cfg.data.max_samples:
        tr = tr[:cfg.data.max_samples]
    if vocab is None:
        words = Tokenizer(num_words=cfg.data.num_words, oov_token="<unk>")
        words.fit_on_texts(take(sents, tr))
        chars = Tokenizer(char_level=True, lower=False, oov_token="<unk>")
        chars.fit_on_texts(["".join(s) for s in take(sents, tr)])
        tagset = sorted({t for i in tr for t in tags[i]})
        counts = defaultdict(Counter)
        for i in tr:
            for w, t in zip(sents[i], tags[i]):
                counts[w.lower()][t] += 1
        vocab = {"words": json.loads(words.to_json()), "chars": json.loads(chars.to_json()),
                 "tags": tagset,
                 "most_frequent": {w: c.most_common(1)[0][0] for w, c in counts.items()},
                 "default_tag": Counter(t for i in tr for t in tags[i]).most_common(1)[0][0]}

    def encode(idx):
        return [(take(sents, idx)[k], [vocab["tags"].index(t) + 1 if t in vocab["tags"] else 0
                                       for t in tags[i]]) for k, i in enumerate(idx)]
    return Data(encode(tr), encode(va), encode(te), vocab)


def _tok(vocab: dict, key: str) -> Tokenizer:
    return Tokenizer.from_json(json.dumps(vocab[key]))


def word_dropout_probabilities(vocab: dict, alpha: float) -> np.ndarray:
    """(V,) probability that a training word id becomes OOV: alpha / (alpha + count)."""
    words = _tok(vocab, "words")
    p = np.zeros(words.vocab_size)
    for w, i in words.word_index.items():
        if 1 < i < len(p):  # never padding (0) or the OOV id (1)
            p[i] = alpha / (alpha + words.word_counts.get(w, 0))
    return p


def _inputs(vocab: dict, sentences: list, rng=None, drop: Optional[np.ndarray] = None):
    """Word ids (B, T) and character ids (B, T, L) of a batch of token lists; with ``rng``
    and ``drop`` (word_dropout_probabilities), training word dropout."""
    words, chars = _tok(vocab, "words"), _tok(vocab, "chars")
    ids = words.texts_to_sequences(sentences)
    if rng is not None and drop is not None:                              # word dropout
        ids = [np.where(rng.random(len(s)) < drop[s], 1, s).tolist() if s else s
               for s in ids]
    w = pad(ids)                                                           # (B, T)
    c = torch.zeros(w.shape[0], w.shape[1], MAX_WORD, dtype=torch.long)   # (B, T, L)
    for b, sent in enumerate(sentences):
        for t, seq in enumerate(chars.texts_to_sequences(sent)):
            seq = seq[:MAX_WORD] or [1]
            c[b, t, :len(seq)] = torch.as_tensor(seq)
    return w, c


def build_model(cfg: Config, vocab: dict) -> Tagger:
    model = Tagger(cfg, _tok(vocab, "words").vocab_size, _tok(vocab, "chars").vocab_size,
                   len(vocab["tags"]) + 1, recurrent=recurrent)
    return build_with(model, torch.ones(2, 3, dtype=torch.long),
                      torch.ones(2, 3, MAX_WORD, dtype=torch.long))


def train_batches(data: Data, cfg: Config, rng):
    drop = word_dropout_probabilities(data.vocab, cfg.model.word_dropout)
    for idx in length_batches([len(s) for s, _ in data.train], cfg.training.batch_size, rng):
        batch = take(data.train, idx)
        w, c = _inputs(data.vocab, [s for s, _ in batch], rng, drop)
        yield w, c, pad([t for _, t in batch])


def predict_tags(model, vocab: dict, sentences: list, batch_size: int = 128) -> list:
    device = next(model.parameters()).device
    out: list = [None] * len(sentences)
    for idx in length_batches([len(s) for s in sentences], batch_size, None):
        w, c = _inputs(vocab, take(sentences, idx))
        pred = model(w.to(device), c.to(device))[..., 1:].argmax(-1).cpu()  # never padding
        for k, i in enumerate(idx):
            out[i] = [vocab["tags"][j] for j in pred[k, :len(sentences[i])].tolist()]
    return out


def _f1(gold: list, pred: list, tags: list) -> dict:
    out = {}
    for t in tags:
        tp = sum(g == t and p == t for g, p in zip(gold, pred))
        denom = sum(g == t for g in gold) + sum(p == t for p in pred)
        out[t] = 2 * tp / denom if denom else 0.0
    return out


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    items = getattr(data, split)
    if not items:
        return {}
    v = data.vocab
    pred = [t for tags in predict_tags(model, v, [s for s, _ in items]) for t in tags]
    gold = [v["tags"][i - 1] if i else "?" for _, tags in items for i in tags]
    known = _tok(v, "words").word_index
    oov = [w.lower() not in known for s, _ in items for w in s]
    right = np.array([g == p for g, p in zip(gold, pred)])
    return {"token_accuracy": float(right.mean()),
            "oov_accuracy": float(right[np.array(oov)].mean()) if any(oov) else float("nan"),
            "oov_rate": float(np.mean(oov)),
            "macro_f1": float(np.mean(list(_f1(gold, pred, v["tags"]).values())))}


def finish(run, model, data: Data, metrics: dict) -> dict:
    from seqlab import plots
    v = data.vocab
    gold = [v["tags"][i - 1] if i else "?" for _, tags in data.test for i in tags]
    pred = [t for tags in predict_tags(model, v, [s for s, _ in data.test]) for t in tags]
    base = [v["most_frequent"].get(w.lower(), v["default_tag"]) for s, _ in data.test for w in s]
    f1, f1_base = _f1(gold, pred, v["tags"]), _f1(gold, base, v["tags"])
    plots.bars(f1, run.plots_dir / "per_tag_f1.png", "per-tag F1 (test)", "F1", f1_base)
    from seqlab import baselines
    value, sec = baselines.timed(lambda: float(np.mean([g == b for g, b in zip(gold, base)])))
    return {"baseline_most_frequent_tag": value,
            "per_tag_f1": {t: round(x, 4) for t, x in f1.items()},
            **baselines.compare("token_accuracy", metrics["token_accuracy"],
                                {"most_frequent_tag": value}, higher=True,
                                seconds={"most_frequent_tag": round(sec, 3)})}


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    sents = [l.split() for l in lines]
    with torch.no_grad():
        tags = predict_tags(model, vocab, sents)
    return [" ".join(f"{w}/{t}" for w, t in zip(s, ts)) for s, ts in zip(sents, tags)]


def headline(metrics: dict):
    best = metrics.get("best_baseline") or {}
    return ("token_accuracy", metrics["token_accuracy"],
            best.get("value", metrics.get("baseline_most_frequent_tag")))
