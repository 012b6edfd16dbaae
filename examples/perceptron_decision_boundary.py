"""The perceptron and the logistic neuron of seed 003, trained in NumPy on 2-D points,
with their decision boundaries drawn.

Data: two clouds of points in the plane, class 0 and class 1.

* Left: the clouds are separable; the perceptron (step activation, rule
  W <- W - α(ŷ - y)x) stops after a finite number of updates, printed in the title.
* Middle: the clouds overlap; the logistic neuron (σ activation, log loss, gradients
  ∂L/∂w = (1/m)Xᵀ(a - y), ∂L/∂b = (1/m)Σ(a - y)) draws the line a = 0.5 and the
  probability a around it.
* Right: the logistic neuron's log loss over gradient-descent steps.

Run:  python examples/perceptron_decision_boundary.py [--out PATH.png]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone, uninstalled

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from seqlab.basics import LogisticNeuron, Perceptron  # noqa: E402


def two_clouds(n: int, gap: float, seed: int,
               margin: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
    """n points per class around -c and c, c = (gap, gap/2), unit spread (class 0 around -c).

    With ``margin``, points on the wrong side of the line x·c = 0 or closer to it than
    ``margin`` are drawn again: the two classes are then linearly separable.
    """
    rng = np.random.default_rng(seed)
    centre = np.array([gap, gap / 2])
    clouds = []
    for sign in (-1, 1):
        points = np.empty((0, 2))
        while len(points) < n:
            new = rng.normal(sign * centre, 1.0, (n, 2))
            if margin is not None:
                new = new[sign * new @ centre / np.linalg.norm(centre) > margin]
            points = np.vstack([points, new])
        clouds.append(points[:n])
    return np.vstack(clouds), np.repeat([0, 1], n)


def draw_points(ax, X, y):
    ax.scatter(*X[y == 0].T, s=14, c="tab:blue", label="class 0", edgecolors="none")
    ax.scatter(*X[y == 1].T, s=14, c="tab:orange", label="class 1", edgecolors="none")


def grid_for(X, steps=200):
    lo, hi = X.min(0) - 1.0, X.max(0) + 1.0
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def main(out: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))

    # 1. perceptron on separable clouds: regions where ŷ = 0 / 1 and the line z = 0
    X, y = two_clouds(60, gap=1.5, seed=0, margin=0.25)
    perceptron = Perceptron(learning_rate=1.0, max_epochs=1000, shuffle=True, seed=0)
    fit = perceptron.fit(X, y)
    xx, yy, grid = grid_for(X)
    axes[0].contourf(xx, yy, perceptron.predict(grid).reshape(xx.shape), levels=[-0.5, 0.5, 1.5],
                     colors=["#cfe2f3", "#fde2c8"])
    axes[0].contour(xx, yy, perceptron.decision_function(grid).reshape(xx.shape), levels=[0],
                    colors="k")
    draw_points(axes[0], X, y)
    axes[0].set_title(f"Perceptron: {'converged' if fit.converged else 'NOT converged'} after "
                      f"{fit.updates} updates ({fit.epochs} epochs)")
    axes[0].legend(loc="upper left")
    print(f"perceptron: {fit.updates} updates, {fit.epochs} epochs, converged={fit.converged}, "
          f"training accuracy {(perceptron.predict(X) == y).mean():.3f}")

    # 2. logistic neuron on overlapping clouds: probability a = σ(z) and the line a = 0.5
    X, y = two_clouds(100, gap=1.0, seed=1)
    neuron = LogisticNeuron(n_features=2)
    losses = neuron.fit(X, y, learning_rate=0.5, epochs=200)
    xx, yy, grid = grid_for(X)
    proba = neuron.predict_proba(grid).reshape(xx.shape)
    filled = axes[1].contourf(xx, yy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                              alpha=0.45)
    axes[1].contour(xx, yy, proba, levels=[0.5], colors="k")
    fig.colorbar(filled, ax=axes[1], label="a = σ(x·w + b)")
    draw_points(axes[1], X, y)
    accuracy = (neuron.predict(X) == y).mean()
    axes[1].set_title(f"Logistic neuron: accuracy {accuracy:.2f}, line a = 0.5")
    print(f"logistic neuron: log loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
          f"training accuracy {accuracy:.3f}")

    # 3. its log loss over the gradient-descent steps
    axes[2].plot(losses)
    axes[2].set_xlabel("gradient-descent step")
    axes[2].set_ylabel("log loss L")
    axes[2].set_title("Logistic neuron: L = -(1/m) Σ y log a + (1-y) log(1-a)")
    axes[2].grid(alpha=0.3)
    for ax in axes[:2]:
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.tight_layout()

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out.parent)  # atomic: write, then rename
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)
    plt.close(fig)
    print(f"saved {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path,
                        default=Path("runs/examples/perceptron_decision_boundary.png"))
    main(parser.parse_args().out)
