"""A small convolutional network on scikit-learn's handwritten digits (seed 003, chapter 2:
convolution, ReLU, pooling, fully-connected), with its feature maps and kernels drawn.

Data: ``sklearn.datasets.load_digits``: 1,797 images of 8x8 pixels, grey levels 0..16,
labels 0..9 (a small MNIST that ships with scikit-learn: no download). Each image
becomes an (8, 8, 1) array in [0, 1], channels last as in Keras; 20% of the images,
stratified by label, are held out as the test set.

Model (Keras listing style):

    Conv2D(16, (3, 3), padding="same", relu)   (8, 8, 1)  -> (8, 8, 16)   160 params
    MaxPooling2D((2, 2))                       (8, 8, 16) -> (4, 4, 16)
    Conv2D(32, (3, 3), padding="same", relu)   (4, 4, 16) -> (4, 4, 32)   4,640 params
    MaxPooling2D((2, 2))                       (4, 4, 32) -> (2, 2, 32)
    Flatten                                    -> (128,)
    Dense(64, relu), Dropout(0.2), Dense(10, softmax)

Trained with Adam on the sparse categorical cross-entropy. Writes the first layer's
3x3 kernels and the feature maps of a few test digits as PNGs.

Run:  python examples/cnn_digits.py [--epochs 30] [--out-dir runs/examples/cnn_digits]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone, uninstalled

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import seqlab  # noqa: E402
from seqlab import layers  # noqa: E402


def load_data(seed: int = 0):
    """(x_train, y_train, x_test, y_test): images (N, 8, 8, 1) float32 in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # (N, 8, 8, 1)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y,
                                              random_state=seed)
    return x_tr, y_tr, x_te, y_te


def build_model(filters: tuple = (16, 32), dense: int = 64) -> seqlab.Sequential:
    model = seqlab.Sequential([
        layers.Conv2D(filters[0], (3, 3), padding="same", activation="relu",
                      input_shape=(8, 8, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(filters[1], (3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(dense, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=seqlab.optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(epochs: int = 30, seed: int = 0, verbose=0, **model_args):
    """Train on the 80% split; returns (model, test accuracy, history, data)."""
    data = load_data(seed)
    x_tr, y_tr, x_te, y_te = data
    torch.manual_seed(seed)
    model = build_model(**model_args)
    history = model.fit(x_tr, y_tr, batch_size=32, epochs=epochs, seed=seed, verbose=verbose,
                        device="cpu")
    model.eval()
    predicted = model.predict(x_te, batch_size=256, device="cpu").argmax(-1)
    return model, float((predicted == y_te).mean()), history, data


def _save(fig, path: Path) -> None:
    """Write the figure atomically (temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    plt.close(fig)


def plot_kernels(model, path: Path) -> None:
    """The first Conv2D's kernels, (3, 3, 1, F) in Keras's layout: one 3x3 image each."""
    kernel = model.layers[0].kernel.detach().cpu().numpy()[:, :, 0, :]  # (3, 3, F)
    F = kernel.shape[-1]
    fig, axes = plt.subplots(2, (F + 1) // 2, figsize=(1.4 * ((F + 1) // 2), 3.2))
    bound = np.abs(kernel).max()
    for f, ax in enumerate(axes.flat):
        ax.axis("off")
        if f < F:
            ax.imshow(kernel[:, :, f], cmap="RdBu_r", vmin=-bound, vmax=bound)
            ax.set_title(f"k{f}", fontsize=8)
    fig.suptitle("Conv2D #1: learned 3x3 kernels (red +, blue -)")
    _save(fig, path)


def plot_feature_maps(model, images: np.ndarray, labels: np.ndarray, path: Path) -> None:
    """For each image: the input, then the first Conv2D's maps after ReLU (8x8 each)."""
    with torch.no_grad():
        maps = model.layers[0](torch.as_tensor(images)).numpy()  # (n, 8, 8, F)
    n, F = len(images), maps.shape[-1]
    fig, axes = plt.subplots(n, F + 1, figsize=(0.9 * (F + 1), 1.0 * n + 0.6))
    for i in range(n):
        axes[i, 0].imshow(images[i, :, :, 0], cmap="gray_r")
        axes[i, 0].set_title(f"digit {labels[i]}", fontsize=7)
        for f in range(F):
            axes[i, f + 1].imshow(maps[i, :, :, f], cmap="viridis")
            if i == 0:
                axes[i, f + 1].set_title(f"map {f}", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("Input digits and the feature maps of Conv2D #1 (after ReLU)")
    _save(fig, path)


def main(epochs: int, seed: int, out_dir: Path) -> float:
    start = time.perf_counter()
    model, accuracy, history, (_, _, x_te, y_te) = train(epochs, seed, verbose=2)
    seconds = time.perf_counter() - start
    model.summary()
    print(f"test accuracy {accuracy:.4f} on {len(y_te)} held-out digits "
          f"({epochs} epochs, {seconds:.1f} s, torch threads {torch.get_num_threads()})")
    plot_kernels(model, out_dir / "kernels.png")
    picks = [int(np.flatnonzero(y_te == d)[0]) for d in (0, 1, 3, 7)]
    plot_feature_maps(model, x_te[picks], y_te[picks], out_dir / "feature_maps.png")
    print(f"saved {out_dir / 'kernels.png'} and {out_dir / 'feature_maps.png'}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="CNN on scikit-learn digits")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/examples/cnn_digits"))
    args = parser.parse_args()
    main(args.epochs, args.seed, args.out_dir)
