"""Small learnable data sets written as user files, so task tests need no registry."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from seqlab.config import Config

WORDS = ["the", "a", "film", "plot", "actor", "is", "was", "very", "scene", "music"]


def sentiment_csv(path: Path, n: int = 600, seed: int = 0) -> Path:
    """Texts of 6-10 filler words; label 1 iff "good" appears anywhere, 0 if "bad" does."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for _ in range(n):
            words = list(rng.choice(WORDS, rng.integers(6, 11)))
            label = int(rng.integers(0, 2))
            words.insert(int(rng.integers(0, len(words) + 1)), "good" if label else "bad")
            w.writerow([" ".join(words), "pos" if label else "neg"])
    return path


def addition_tsv(path: Path, n: int = 3000, digits: int = 2, seed: int = 0) -> Path:
    """Reversed questions "a+b"[::-1] -> str(a + b), tab-separated."""
    rng = np.random.default_rng(seed)
    seen = set()
    with open(path, "w", encoding="utf-8") as f:
        f.write("source\ttarget\n")
        while len(seen) < n:
            a, b = (int(v) for v in rng.integers(0, 10 ** digits, 2))
            if (a, b) in seen:
                continue
            seen.add((a, b))
            f.write(f"{a}+{b}"[::-1] + f"\t{a + b}\n")
    return path


def config(tmp_path: Path, task: str, data: dict, model: dict = None, training: dict = None,
           name: str = "run") -> Config:
    return Config.from_dict({"task": task, "name": name, "runs_dir": str(tmp_path / "runs"),
                             "data": data, "model": model or {},
                             "training": {"threads": 1, **(training or {})}})


import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def helpers():
    """This module: the data writers and ``config`` above."""
    return sys.modules[__name__]
