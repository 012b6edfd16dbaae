"""A variational autoencoder on scikit-learn's handwritten digits (seed 001, "Variational
Autoencoder"): train, watch the held-out ELBO improve, save a grid of new digits sampled
from the prior and an interpolation between two test digits.

Data: 1,797 images of 8x8 pixels with grey levels 0..16 (``sklearn.datasets.load_digits``),
flattened to 64 values and divided by 16, so each pixel is a probability in [0, 1] and the
decoder is a Bernoulli likelihood (binary cross-entropy). 80% train, 20% held out.

    python examples/vae_digits.py            # writes runs/vae_digits/{samples,interpolation}.png
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from seqlab.models.autoencoders import VAE, train_autoencoder


def save_grid(images: np.ndarray, rows: int, cols: int, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9 + 0.4))
    for ax, img in zip(np.ravel(axes), images):
        ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=100, format="png")
    os.replace(tmp, path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--latent", type=int, default=4)
    p.add_argument("--out", default="runs/vae_digits")
    args = p.parse_args()
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.data.astype("float32") / 16.0  # (1797, 64) in [0, 1]
    idx = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = x[idx[:cut]], x[idx[cut:]]

    torch.manual_seed(0)
    vae = VAE(64, latent_dim=args.latent, hidden=(128,))
    print(f"held-out ELBO before training: {vae.elbo(test, samples=5):.2f} nats per digit")
    history = train_autoencoder(vae, train, epochs=args.epochs, batch_size=64, lr=2e-3,
                                validation_data=test, seed=0)
    val = history["val_loss"]
    for e in sorted({0, len(val) // 4, len(val) // 2, len(val) - 1}):
        print(f"epoch {e + 1:3d}: held-out -ELBO {val[e]:.2f} (reconstruction "
              f"{history['val_reconstruction'][e]:.2f} + KL {history['val_kl'][e]:.2f})")
    print(f"held-out ELBO after training: {vae.elbo(test, samples=5):.2f} nats per digit")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    samples = vae.sample(64, generator=torch.Generator().manual_seed(1)).numpy()
    save_grid(samples, 8, 8, out / "samples.png", "VAE: 64 digits decoded from z ~ N(0, I)")
    a, b = test[np.flatnonzero(digits.target[idx[cut:]] == 0)[0]], \
        test[np.flatnonzero(digits.target[idx[cut:]] == 7)[0]]
    path = vae.interpolate(a, b, steps=10).numpy()
    save_grid(np.concatenate([a[None], path, b[None]]), 1, 12, out / "interpolation.png",
              "VAE: a test 0, the decoded path between the codes, a test 7")
    print(f"wrote {out / 'samples.png'} and {out / 'interpolation.png'}")


if __name__ == "__main__":
    main()
