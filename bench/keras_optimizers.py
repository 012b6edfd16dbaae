"""seqlab's Keras-3 optimizer arithmetic against real Keras 3: same weights after 3 steps.

For each optimizer (sgd, adam, rmsprop, adagrad; Keras defaults, learning_rate=0.01) and
each loss (mse, binary_crossentropy, sparse_categorical_crossentropy) the same tiny model
(input 3 -> Dense(4, tanh) -> Dense(k, linear/sigmoid/softmax)) is built in Keras and in
seqlab with identical initial weights (Keras ``get_weights()`` -> seqlab ``set_weights()``),
then both run ``fit(x, y, batch_size=8, epochs=3, shuffle=False)`` on the same 8 rows
(3 optimizer steps). PASS when the largest |w_seqlab - w_keras| over all weights <= 2e-5.

Keras is never a dependency of seqlab: it lives in ``bench/.venv-keras`` (git-ignored),
made as ``bench/keras_compare.py`` makes it; this script re-runs itself there when Keras
is not importable, with ``KERAS_BACKEND=torch``.

    python bench/keras_optimizers.py            # writes docs/results/keras_optimizers.md
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["KERAS_BACKEND"] = "torch"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as seqlab; must precede torch import
sys.path.insert(0, str(ROOT))

from bench.keras_compare import _reexec_in_keras_venv  # noqa: E402

OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
LOSSES = ("mse", "binary_crossentropy", "sparse_categorical_crossentropy")
LR, TOL, ROWS, STEPS = 0.01, 2e-5, 8, 3
KERAS_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
SEQLAB_CLASSES = KERAS_CLASSES


def head(loss: str) -> tuple[int, str]:
    """Output units and final activation the loss needs."""
    return {"mse": (2, "linear"), "binary_crossentropy": (1, "sigmoid"),
            "sparse_categorical_crossentropy": (3, "softmax")}[loss]


def make_data(loss: str, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, 3)).astype("float32")               # (B, 3)
    if loss == "mse":
        y = rng.normal(size=(ROWS, 2)).astype("float32")            # (B, 2)
    elif loss == "binary_crossentropy":
        y = rng.integers(0, 2, size=(ROWS, 1)).astype("float32")    # (B, 1)
    else:
        y = rng.integers(0, 3, size=(ROWS,)).astype("int64")        # (B,)
    return x, y


def keras_run(opt: str, loss: str, x, y, seed: int = 0):
    """Initial weights and weights after training, from Keras."""
    import keras
    keras.utils.set_random_seed(seed)
    units, act = head(loss)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(units, activation=act)])
    model.compile(optimizer=getattr(keras.optimizers, KERAS_CLASSES[opt])(learning_rate=LR),
                  loss=loss)
    w0 = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=ROWS, epochs=STEPS, shuffle=False, verbose=0)
    return w0, model.get_weights()


def seqlab_run(opt: str, loss: str, x, y, w0):
    """Weights after training, from seqlab started at ``w0``."""
    import torch

    import seqlab
    from seqlab import layers, optimizers
    units, act = head(loss)
    model = seqlab.Sequential([layers.Dense(4, activation="tanh"),
                               layers.Dense(units, activation=act)])
    model(torch.zeros(1, 3))                                        # build: kernels (3, 4), (4, k)
    model.set_weights(w0)
    model.compile(optimizer=getattr(optimizers, SEQLAB_CLASSES[opt])(learning_rate=LR),
                  loss=loss)
    model.fit(x, y, batch_size=ROWS, epochs=STEPS, shuffle=False, seed=0, verbose=0,
              device="cpu")
    return model.get_weights()


def main(argv=None):
    _reexec_in_keras_venv(__file__)
    warnings.filterwarnings("ignore")
    import keras
    import numpy as np
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "results" / "keras_optimizers.md"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows, failed = [], 0
    for opt in OPTIMIZERS:
        for loss in LOSSES:
            x, y = make_data(loss)
            w0, wk = keras_run(opt, loss, x, y)
            ws = seqlab_run(opt, loss, x, y, w0)
            moved = max(float(np.max(np.abs(a - b))) for a, b in zip(wk, w0))
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ws, wk))
            ok = diff <= TOL
            failed += not ok
            rows.append((opt, loss, moved, diff, "PASS" if ok else "FAIL"))
            print(f"{opt:8s} {loss:32s} moved {moved:.3e}  max|diff| {diff:.3e}  "
                  f"{rows[-1][-1]}", flush=True)
    lines = ["# seqlab's Keras optimizers against Keras 3", "",
             f"Keras {keras.__version__} (backend {keras.backend.backend()}), torch "
             f"{torch.__version__}. Same model (3 -> Dense(4, tanh) -> Dense(k)), same "
             f"initial weights, same {ROWS} rows, `fit(batch_size={ROWS}, epochs={STEPS}, "
             f"shuffle=False)` = {STEPS} steps, learning_rate={LR}, other hyper-parameters "
             f"Keras's defaults. PASS: max |w_seqlab - w_keras| <= {TOL:g}. "
             "\"moved\" is the largest change of a weight in Keras (the steps are visible).",
             "", "Command: `python bench/keras_optimizers.py`", "",
             "| optimizer | loss | moved | max abs diff | result |",
             "|---|---|---:|---:|---|"]
    lines += [f"| {o} | {l} | {m:.3e} | {d:.3e} | {r} |" for o, l, m, d, r in rows]
    lines += ["", f"{len(rows) - failed}/{len(rows)} pass.", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
