"""Anomaly detection from reconstruction error (seed 004: "Healthy ECG / No Healthy ECG").

An autoencoder trained on normal data rebuilds normal windows well and anomalous ones
badly. The recipe:

1. cut the signal into overlapping windows (``sliding_windows``), train on normal ones;
2. score every time step by the mean reconstruction error of the windows covering it
   (``pointwise_scores``);
3. choose the threshold on validation data (``choose_threshold``): the best F1 when the
   validation part has labels, else a high quantile of its (normal) scores;
4. report ROC-AUC (threshold-free), precision and recall at that threshold, and plot the
   signal with the flagged steps (``plot_anomalies``).

``rolling_zscore`` is the simple baseline: |x_t - mean| / std over a trailing window.

    >>> import numpy as np
    >>> roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np


def sliding_windows(signal: np.ndarray, size: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Windows (N, size, D) of a (T,) or (T, D) signal, and their start indices (N,)."""
    x = np.asarray(signal, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x  # (T, D)
    if size < 1 or stride < 1 or size > len(x):
        raise ValueError(f"sliding_windows: need 1 <= size <= len(signal) = {len(x)} and "
                         f"stride >= 1, got size={size}, stride={stride}.")
    starts = np.arange(0, len(x) - size + 1, stride)
    idx = starts[:, None] + np.arange(size)[None, :]  # (N, size)
    return x[idx], starts


def pointwise_scores(step_errors: np.ndarray, starts: np.ndarray, length: int,
                     mode: str = "window") -> np.ndarray:
    """Score of each of ``length`` steps from the (N, size) errors of windows at ``starts``.

    ``mode="window"``: the mean, over the windows covering the step, of each window's mean
    error, so a window that is abnormal as a whole (a beat too early) flags all its steps;
    ``"step"``: the mean error at that very step (sharp, but misses contextual anomalies).
    Steps covered by no window get the overall mean. (T,)"""
    step_errors = np.asarray(step_errors, dtype=np.float64)  # (N, size)
    if mode not in ("window", "step"):
        raise ValueError(f"pointwise_scores: mode must be 'window' or 'step', got {mode!r}.")
    if mode == "window":
        step_errors = np.repeat(step_errors.mean(axis=1, keepdims=True),
                                step_errors.shape[1], axis=1)
    size = step_errors.shape[1]
    total, count = np.zeros(length), np.zeros(length)
    for j in range(size):  # one vectorised pass per offset in the window
        np.add.at(total, starts + j, step_errors[:, j])
        np.add.at(count, starts + j, 1)
    out = np.full(length, step_errors.mean())
    np.divide(total, count, out=out, where=count > 0)
    return out


def rolling_zscore(signal: np.ndarray, window: int = 250) -> np.ndarray:
    """|x_t - μ_t| / σ_t with μ, σ over the ``window`` steps before t (baseline). (T,)"""
    x = np.asarray(signal, dtype=np.float64).ravel()
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    t = np.arange(len(x))
    lo = np.maximum(0, t - window)
    n = np.maximum(t - lo, 1)
    mean = (c1[t] - c1[lo]) / n
    var = np.maximum((c2[t] - c2[lo]) / n - mean ** 2, 1e-12)
    z = np.abs(x - mean) / np.sqrt(var)
    z[:2] = 0.0  # no history yet
    return z


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a random anomaly > that of a random normal
    step), ties counting one half (Mann-Whitney U with average ranks)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_auc: needs both classes, got {n_pos} anomalies and {n_neg} "
                         f"normal steps.")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_recall(flags: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) of boolean flags against 0/1 labels."""
    flags, labels = np.asarray(flags).astype(bool), np.asarray(labels).astype(bool)
    tp = float((flags & labels).sum())
    precision = tp / max(flags.sum(), 1)
    recall = tp / max(labels.sum(), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return precision, recall, f1


def choose_threshold(val_scores: np.ndarray, val_labels: Optional[np.ndarray] = None,
                     quantile: float = 0.99) -> float:
    """The threshold above which a step is flagged, chosen on validation data only:
    with labels, the score that maximises F1; without, the ``quantile`` of the scores
    (validation assumed normal)."""
    val_scores = np.asarray(val_scores, dtype=np.float64)
    if val_labels is None or not np.asarray(val_labels).any():
        return float(np.quantile(val_scores, quantile))
    candidates = np.unique(np.quantile(val_scores, np.linspace(0.5, 0.999, 200)))
    f1 = [precision_recall(val_scores > c, val_labels)[2] for c in candidates]
    return float(candidates[int(np.argmax(f1))])


def plot_anomalies(signal: np.ndarray, scores: np.ndarray, threshold: float, path,
                   labels: Optional[np.ndarray] = None, title: str = "anomaly detection",
                   start: int = 0) -> None:
    """Two panels: the signal with flagged steps (red) and true anomalies (shaded), and the
    score with its threshold. Written atomically as a PNG (matplotlib Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = np.asarray(signal).ravel()
    t = np.arange(start, start + len(x))
    flags = np.asarray(scores) > threshold
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(12, 5.5), sharex=True)
    a1.plot(t, x, lw=0.7, color="tab:blue", label="signal")
    if labels is not None:
        a1.fill_between(t, x.min(), x.max(), where=np.asarray(labels).astype(bool),
                        color="orange", alpha=0.25, label="true anomaly")
    a1.scatter(t[flags], x[flags], s=6, color="red", zorder=3, label="flagged")
    a1.legend(loc="upper left", fontsize=8)
    a1.set_title(title)
    a2.plot(t, scores, lw=0.7, color="tab:gray", label="score")
    a2.axhline(threshold, color="red", ls="--", lw=1, label="threshold")
    a2.legend(loc="upper left", fontsize=8)
    a2.set_xlabel("time step")
    fig.tight_layout()
    tmp = Path(f"{path}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    os.replace(tmp, path)
    plt.close(fig)
