"""Dynamic time warping template matching: the speech recogniser before neural networks.

Two sequences of frames A (n, D) and B (m, D) are aligned by the monotone path through
their frame-distance matrix with the least total cost (Sakoe & Chiba 1978):

    c[i, j] = ||A_i - B_j||_2
    G[i, j] = c[i, j] + min(G[i-1, j], G[i, j-1], G[i-1, j-1]),   G[0, 0] = c[0, 0]
    DTW(A, B) = G[n-1, m-1] / (n + m)                               (length-normalised)

``dtw_distances`` computes every (query, template) pair at once, one query row at a time
(numpy over the pairs), so a 1-NN over a few thousand pairs takes seconds.
``segment`` cuts an utterance at its pauses (low frame energy), so a string of words
becomes isolated words that 1-NN DTW can name: the baseline of spoken digit strings.

    >>> import numpy as np
    >>> a = np.array([[0.0], [1.0], [2.0]]); b = np.array([[0.0], [1.0], [1.0], [2.0]])
    >>> float(dtw_distance(a, b, normalise=False))
    0.0
    >>> dtw_nearest_neighbour([a, a + 5], [0, 1], [b + 4.8], [1])
    1.0

Shapes: Q queries, K templates, n / m frames, D features.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def dtw_distance(a, b, normalise: bool = True) -> float:
    """DTW(A, B) of two frame sequences (n, D) and (m, D), the plain O(n m) recurrence."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    c = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))             # (n, m)
    n, m = c.shape
    g = np.full((n + 1, m + 1), np.inf)
    g[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            g[i, j] = c[i - 1, j - 1] + min(g[i - 1, j], g[i, j - 1], g[i - 1, j - 1])
    return float(g[n, m] / (n + m) if normalise else g[n, m])


def _pad(seqs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in seqs])
    out = np.zeros((len(seqs), lengths.max(), np.asarray(seqs[0]).shape[1]), np.float32)
    for k, s in enumerate(seqs):
        out[k, :len(s)] = s
    return out, lengths                                                    # (N, L, D), (N,)


def dtw_distances(queries: Sequence, templates: Sequence, chunk: int = 64) -> np.ndarray:
    """The (Q, K) matrix of DTW(query, template) (length-normalised), all pairs at once."""
    tpl, m_len = _pad(templates)                                           # (K, m, D)
    K, m, D = tpl.shape
    flat = tpl.transpose(1, 0, 2).reshape(m * K, D)                        # (m K, D)
    sq_t = (flat ** 2).sum(-1).reshape(m, K, 1)                            # (m, K, 1)
    out = np.empty((len(queries), K))
    order = np.argsort([len(q) for q in queries])                          # similar lengths
    for start in range(0, len(queries), chunk):
        idx = order[start:start + chunk]
        qry, n_len = _pad([queries[i] for i in idx])                       # (q, n, D)
        prev = None
        for i in range(qry.shape[1]):
            # c[j, k, q] = ||A_i - B_j||: |a|^2 + |b|^2 - 2 a.b          (m, K, q)
            a = qry[:, i]                                                  # (q, D)
            dot = (flat @ a.T).reshape(m, K, len(idx))
            c = np.sqrt(np.maximum((a ** 2).sum(-1) + sq_t - 2 * dot, 0.0))
            row = np.empty_like(c)
            for j in range(m):
                if prev is None:                                           # first query row
                    best = 0.0 if j == 0 else row[j - 1]
                elif j == 0:
                    best = prev[0]
                else:
                    best = np.minimum(np.minimum(prev[j], prev[j - 1]), row[j - 1])
                row[j] = c[j] + best
            ends = np.flatnonzero(n_len == i + 1)                          # queries ending here
            if len(ends):
                last = row[m_len - 1, np.arange(K)][:, ends]               # (K, e)
                out[idx[ends]] = last.T / (n_len[ends, None] + m_len[None, :])
            prev = row
    return out


def dtw_nearest_neighbour(train_seqs, y_train, test_seqs, y_test) -> Optional[float]:
    """1-NN with the DTW distance: each test sequence takes the label of its nearest
    training template. Returns the test accuracy."""
    pred = dtw_classify(train_seqs, y_train, test_seqs)
    return float(np.mean(pred == np.asarray(y_test)))


def dtw_classify(train_seqs, y_train, test_seqs) -> np.ndarray:
    """The label of each test sequence's DTW-nearest training template: (Q,)."""
    dist = dtw_distances(list(test_seqs), list(train_seqs))                # (Q, K)
    return np.asarray(y_train)[dist.argmin(1)]


def segment(energy, min_frames: int = 5, bridge: int = 3, smooth: int = 5
            ) -> list[tuple[int, int]]:
    """Spans [start, end) of the loud parts of an utterance from its frame energy (T,):
    smoothed by a ``smooth``-frame moving average, loud above the midpoint of its 10th and
    90th percentiles; pauses of up to ``bridge`` frames are bridged (a stop consonant's
    closure), spans under ``min_frames`` dropped."""
    e = np.convolve(np.asarray(energy, np.float64), np.ones(smooth) / smooth, mode="same")
    lo, hi = np.percentile(e, [10, 90])
    loud = e > (lo + hi) / 2
    spans, start = [], None
    for t, on in enumerate(np.append(loud, False)):
        if on and start is None:
            start = t
        elif not on and start is not None:
            if spans and start - spans[-1][1] <= bridge:
                start = spans.pop()[0]
            spans.append((start, t))
            start = None
    return [(s, e) for s, e in spans if e - s >= min_frames]


def _cmvn(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / (x.std(0) + 1e-5)


def frame_energy(feats: np.ndarray, kind: str = "mfcc") -> np.ndarray:
    """A frame's relative log energy: C0 of MFCCs, or the mean of log-mel bands."""
    return feats[:, 0] if kind == "mfcc" else feats.mean(1)


def words_by_segments(utterances: Sequence, word_x: Sequence, word_y: Sequence,
                      kind: str = "mfcc") -> list[str]:
    """The baseline transcript of each utterance: cut at its pauses (``segment``), each
    piece named by 1-NN DTW against isolated-word templates (each template trimmed to its
    loud part the same way, both sides re-normalised). Returns one string per utterance."""
    def loud_part(x):
        spans = segment(frame_energy(x, kind))
        return x[spans[0][0]:spans[-1][1]] if spans else x
    templates = [_cmvn(loud_part(np.asarray(x))) for x in word_x]
    pieces, owner = [], []
    for u, x in enumerate(utterances):
        x = np.asarray(x)
        for s, e in segment(frame_energy(x, kind)):
            pieces.append(_cmvn(x[s:e]))
            owner.append(u)
    named = dtw_classify(templates, np.asarray(word_y), pieces) if pieces else []
    out: list[list[str]] = [[] for _ in utterances]
    for u, w in zip(owner, named):
        out[u].append(str(w))
    return [" ".join(words) for words in out]


__all__ = ["dtw_distance", "dtw_distances", "dtw_nearest_neighbour", "dtw_classify",
           "segment", "frame_energy", "words_by_segments"]
