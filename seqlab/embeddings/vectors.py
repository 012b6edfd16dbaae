"""Trained word vectors: nearest neighbours, analogies, the word2vec text format, a PCA
plot and an ``Embedding`` layer initialised from them (seed 001: "word embeddings").

Shapes: V vocabulary, E vector size.

    >>> import numpy as np
    >>> wv = WordVectors(["roi", "reine", "homme", "femme"], np.eye(4, 3))
    >>> round(wv.similarity("roi", "roi"), 3)
    1.0
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from seqlab.io import atomic_write_bytes

PathLike = Union[str, os.PathLike]


class WordVectors:
    """A (V, E) matrix of vectors with its words (``index_to_key``, ``key_to_index``).

    Args:
        words: the V words, row order.
        vectors: (V, E) array.
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"WordVectors: vectors must be (V, E) with V = {len(words)} words, "
                             f"got shape {vectors.shape}.")
        self.index_to_key = list(words)
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("WordVectors: the word list has duplicates; each word needs one row.")
        self.vectors = vectors

    # --------------------------------------------------------------- lookups
    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def index(self, word: str) -> int:
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary ({len(self)} words); "
                           f"it was rarer than min_count or absent from the corpus.") from None

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index(word)]  # (E,)

    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to length 1 (cosine similarity = dot product). (V, E)"""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return self.vectors / np.maximum(norms, 1e-12)

    # --------------------------------------------------------------- queries
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors."""
        a, b = self[w1], self[w2]
        return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))

    def most_similar(self, word: Union[str, None] = None, topn: int = 10,
                     positive: Sequence[str] = (), negative: Sequence[str] = ()
                     ) -> list[tuple[str, float]]:
        """The ``topn`` words closest (cosine) to ``word``, or to the mean of the unit vectors
        of ``positive`` minus those of ``negative`` (3CosAdd); query words are excluded."""
        positive = ([word] if word is not None else []) + list(positive)
        if not positive and not negative:
            raise ValueError("most_similar: give a word, or positive=[...] / negative=[...].")
        unit = self.unit_vectors()
        query = sum(unit[self.index(w)] for w in positive) - sum(
            (unit[self.index(w)] for w in negative), np.zeros(self.vector_size, np.float32))
        query = query / max(np.linalg.norm(query), 1e-12)
        scores = unit @ query  # (V,)
        scores[[self.index(w) for w in (*positive, *negative)]] = -np.inf
        top = np.argsort(-scores)[:topn]
        return [(self.index_to_key[i], float(scores[i])) for i in top]

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> Union[str, list]:
        """``a`` is to ``b`` as ``c`` is to ?: the word nearest b - a + c.

        ``analogy("homme", "roi", "femme")`` -> ``"reine"`` when the vectors learned it.
        Returns the word for ``topn=1``, else a list of (word, score).
        """
        found = self.most_similar(positive=[b, c], negative=[a], topn=topn)
        return found[0][0] if topn == 1 else found

    # --------------------------------------------------------------- word2vec text format
    def save_word2vec_format(self, path: PathLike) -> None:
        """Write the standard text format: a "V E" header, then "word v1 ... vE" per line.
        Written atomically (temp file + os.replace)."""
        path = Path(path)
        for w in self.index_to_key:
            if not w or any(ch.isspace() for ch in w):
                raise ValueError(f"save_word2vec_format: word {w!r} is empty or contains "
                                 f"whitespace, which the text format cannot store.")
        lines = [f"{len(self)} {self.vector_size}\n"]
        lines += [w + " " + " ".join(f"{x:.6g}" for x in v) + "\n"
                  for w, v in zip(self.index_to_key, self.vectors)]
        atomic_write_bytes(path, "".join(lines).encode("utf-8"))

    @classmethod
    def load_word2vec_format(cls, path: PathLike) -> "WordVectors":
        """Read the text format written by word2vec.c, gensim or ``save_word2vec_format``."""
        with open(path, encoding="utf-8") as f:
            header = f.readline().split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise ValueError(f"{path}: first line must be 'V E' (word count, vector size), "
                                 f"got {' '.join(header)!r}. Is this the word2vec text format?")
            n, dim = map(int, header)
            words, rows = [], np.empty((n, dim), dtype=np.float32)
            for i, line in enumerate(f):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if len(parts) != dim + 1:
                    raise ValueError(f"{path}, line {i + 2}: expected a word and {dim} numbers, "
                                     f"got {len(parts) - 1} numbers.")
                words.append(parts[0])
                rows[i] = np.asarray(parts[1:], dtype=np.float32)
        if len(words) != n:
            raise ValueError(f"{path}: header says {n} words, file has {len(words)}.")
        return cls(words, rows)

    # --------------------------------------------------------------- seqlab bridge
    def embedding_layer(self, trainable: bool = False, mask_zero: bool = False, **kwargs):
        """A ``seqlab.layers.Embedding`` (V, E) whose rows are these vectors, frozen unless
        ``trainable``. With ``mask_zero`` row 0 is a zero padding vector and word i has id
        i + 1 (use ``ids(tokens, mask_zero=True)``).

        >>> layer = WordVectors(["a", "b"], np.ones((2, 3))).embedding_layer()
        >>> layer.embeddings.requires_grad
        False
        """
        from seqlab.layers import Embedding
        matrix = self.vectors
        if mask_zero:
            matrix = np.concatenate([np.zeros((1, self.vector_size), np.float32), matrix])
        return Embedding.from_pretrained(matrix, trainable=trainable, mask_zero=mask_zero,
                                         **kwargs)

    def ids(self, tokens: Sequence[str], mask_zero: bool = False) -> np.ndarray:
        """Token ids for ``embedding_layer`` (unknown tokens raise KeyError). (T,)"""
        return np.array([self.index(t) + int(mask_zero) for t in tokens], dtype=np.int64)

    # --------------------------------------------------------------- plot
    def plot_pca(self, words: Sequence[str], path: Optional[PathLike] = None, ax=None,
                 title: str = "word2vec: 2-D PCA projection"):
        """Scatter the chosen words on the first two principal axes of their vectors.
        Saves a PNG when ``path`` is given (matplotlib Agg); returns the 2-D points (n, 2)."""
        import matplotlib
        if ax is None and path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        X = np.stack([self[w] for w in words]).astype(np.float64)  # (n, E)
        X = X - X.mean(axis=0)
        _, _, vt = np.linalg.svd(X, full_matrices=False)
        points = X @ vt[:2].T  # (n, 2)
        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(6, 5))
        ax.scatter(points[:, 0], points[:, 1], s=12)
        for w, (x, y) in zip(words, points):
            ax.annotate(w, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=9)
        ax.set_title(title)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        if own and path is not None:
            fig.tight_layout()
            tmp = Path(f"{path}.tmp")
            fig.savefig(tmp, dpi=110, format="png")
            os.replace(tmp, path)  # atomic: never a half-written PNG
            plt.close(fig)
        return points
