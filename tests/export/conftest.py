"""Tiny trained runs of every run type (one epoch on small files: the export tests compare
numbers, not quality), made once per test session and shared."""
from __future__ import annotations

import numpy as np
import pytest

from seqlab import tasks
from seqlab.config import Config

WORDS = ["the", "a", "film", "plot", "actor", "is", "was", "very", "scene", "music"]


def _sentiment(path, n=80, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["text,label"]
    for _ in range(n):
        words = list(rng.choice(WORDS, rng.integers(2, 11)))
        label = int(rng.integers(0, 2))
        words.insert(int(rng.integers(0, len(words) + 1)), "good" if label else "bad")
        rows.append(" ".join(words) + "," + ("pos" if label else "neg"))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _series(path, n=200):
    t = np.arange(n)
    v = 10 + np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(t)
    path.write_text("value\n" + "\n".join(f"{x:.5f}" for x in v) + "\n", encoding="utf-8")
    return path


def _treebank(path, n=60, seed=0):
    rng = np.random.default_rng(seed)
    stems = ["ba", "ke", "mol", "sit", "ru", "dop", "fen"]
    rows = ["tokens\ttags"]
    for _ in range(n):
        words, tags = ["bir"], ["DET"]
        if rng.random() < 0.5:
            words.append(stems[rng.integers(len(stems))] + "ik")
            tags.append("ADJ")
        words += [stems[rng.integers(len(stems))] + "lar", stems[rng.integers(len(stems))] + "di"]
        tags += ["NOUN", "VERB"]
        rows.append(" ".join(words) + "\t" + " ".join(tags))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _pairs(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["source\ttarget"]
    for _ in range(n):
        a, b = (int(v) for v in rng.integers(0, 100, 2))
        rows.append(f"{a}+{b}"[::-1] + f"\t{a + b}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _config(root, task, data, model, name):
    return Config.from_dict({"task": task, "name": name, "runs_dir": str(root / "runs"),
                             "data": data, "model": model,
                             "training": {"threads": 1, "epochs": 1, "batch_size": 16,
                                          "learning_rate": 0.01}})


def data_for(task: str, root) -> dict:
    if task == "classify":
        return {"dataset": "file", "path": str(_sentiment(root / "sent.csv")),
                "text_column": "text", "label_column": "label", "level": "word"}
    if task == "forecast":
        return {"dataset": "file", "path": str(_series(root / "series.csv")), "window": 12,
                "horizon": 3, "difference": False}
    if task == "tag":
        return {"dataset": "file", "path": str(_treebank(root / "tb.tsv")),
                "text_column": "tokens", "label_column": "tags"}
    if task == "generate":
        (root / "corpus.txt").write_text("abcd efg hij. " * 60, encoding="utf-8")
        return {"dataset": "file", "path": str(root / "corpus.txt"), "level": "char",
                "seq_len": 12}
    return {"dataset": "file", "path": str(_pairs(root / "pairs.tsv")), "level": "char",
            "text_column": "source", "label_column": "target"}


class Runs:
    """``runs.get(task, **model)``: the folder of a one-epoch run (trained once)."""

    def __init__(self, root):
        self.root, self.cache = root, {}

    def get(self, task: str, **model):
        key = (task, repr(sorted(model.items())))
        if key not in self.cache:
            name = f"{task}-{len(self.cache)}"
            model = {"units": 8, "embedding_dim": 6, **model}
            cfg = _config(self.root, task, data_for(task, self.root), model, name)
            run, _ = tasks.train(cfg, verbose=False)
            self.cache[key] = run.path
        return self.cache[key]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    return Runs(tmp_path_factory.mktemp("export_runs"))
