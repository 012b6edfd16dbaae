"""The run's pictures, drawn with matplotlib's file-only Agg backend.

Each function draws one figure from plain arrays and writes a PNG (atomically), so a
task calls it with what it measured and the report embeds the file.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "curves.png"
    >>> learning_curves([{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}], out).name
    'curves.png'
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from seqlab.runs import atomic_write  # noqa: E402


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def learning_curves(history: list[dict], path: Path) -> Path:
    """Training loss and every validation metric against the epoch."""
    epochs = [row["epoch"] for row in history]
    metrics = [k for k in history[0] if k.startswith("val_")] if history else []
    fig, axes = plt.subplots(1, 1 + bool(metrics), figsize=(5 + 4 * bool(metrics), 3.5))
    axes = np.atleast_1d(axes)
    axes[0].plot(epochs, [row["loss"] for row in history], marker="o", label="train loss")
    axes[0].set(xlabel="epoch", ylabel="loss", title="training loss")
    for key in metrics:
        axes[-1].plot(epochs, [row.get(key, np.nan) for row in history], marker=".", label=key)
    if metrics:
        axes[-1].set(xlabel="epoch", title="validation")
        axes[-1].legend(fontsize=8)
    return _save(fig, path)


def confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: Path,
                     title: str = "confusion matrix (test)") -> Path:
    """Counts with true classes as rows, predicted classes as columns."""
    matrix = np.asarray(matrix)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * n, 1.0 + 0.55 * n))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), [str(l)[:12] for l in labels], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(l)[:12] for l in labels])
    ax.set(xlabel="predicted", ylabel="true", title=title)
    high = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > high else "black")
    return _save(fig, path)


def forecast_series(panels: Sequence[dict], path: Path, title: str = "forecast") -> Path:
    """One row per series: its history's end, the held-out truth and each forecast.
    ``panels``: dicts of ``name``, ``history_t``, ``history``, ``test_t``, ``truth`` and
    ``predictions`` ({method: forecast})."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.4 * len(panels)), squeeze=False)
    for ax, p in zip(axes[:, 0], panels):
        ax.plot(p["history_t"], p["history"], color="0.6", lw=1, label="train")
        ax.plot(p["test_t"], p["truth"], color="black", lw=1.5, label="truth")
        for name, pred in p["predictions"].items():
            ax.plot(p["test_t"], pred, lw=1.2, label=name)
        ax.set_title(str(p["name"]), fontsize=9)
    axes[0, 0].legend(fontsize=8)
    axes[-1, 0].set_xlabel("t")
    fig.suptitle(title)
    return _save(fig, path)


def forecast(history_t: np.ndarray, history_y: np.ndarray, test_t: np.ndarray,
             truth: np.ndarray, predictions: dict, path: Path, title: str = "forecast") -> Path:
    """The series, the held-out truth, and each method's forecast over the test part."""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(history_t, history_y, color="0.6", lw=1, label="train")
    ax.plot(test_t, truth, color="black", lw=1.5, label="truth")
    for name, pred in predictions.items():
        ax.plot(test_t, pred, lw=1.2, label=name)
    ax.set(xlabel="t", title=title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def attention_map(weights: np.ndarray, source: Sequence[str], target: Sequence[str],
                  path: Path, title: str = "attention") -> Path:
    """Decoder steps (rows) against encoder steps (columns)."""
    weights = np.asarray(weights)
    fig, ax = plt.subplots(figsize=(1 + 0.35 * len(source), 1 + 0.35 * len(target)))
    ax.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-9))
    ax.set_xticks(range(len(source)), list(source))
    ax.set_yticks(range(len(target)), list(target))
    ax.set(xlabel="input", ylabel="output", title=title)
    return _save(fig, path)


def bars(values: dict, path: Path, title: str, ylabel: str = "",
         baseline: Optional[dict] = None) -> Path:
    """One bar per key (per-tag F1, per-method MASE...), an optional second series."""
    keys = list(values)
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * len(keys) + 2), 3.5))
    width = 0.4 if baseline else 0.8
    ax.bar(x, [values[k] for k in keys], width, label="model")
    if baseline:
        ax.bar(x + width, [baseline.get(k, 0) for k in keys], width, label="baseline")
        ax.legend(fontsize=8)
    ax.set_xticks(x + (width / 2 if baseline else 0), keys, rotation=45, ha="right")
    ax.set(ylabel=ylabel, title=title)
    return _save(fig, path)


def text_samples(samples: Sequence[str], path: Path, title: str = "samples") -> Path:
    """Generated text as a picture (so the report shows it next to the curves)."""
    wrapped = []
    for s in samples:
        s = s.replace("\t", " ")
        for line in s.splitlines() or [""]:
            wrapped += [line[i:i + 90] for i in range(0, max(len(line), 1), 90)]
        wrapped.append("")
    wrapped = wrapped[:40]
    fig, ax = plt.subplots(figsize=(9, 0.22 * len(wrapped) + 0.6))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0, 1, "\n".join(wrapped), family="monospace", fontsize=8, va="top",
            transform=ax.transAxes)
    return _save(fig, path)
