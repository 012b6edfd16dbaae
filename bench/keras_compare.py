"""seqlab ``fit()`` against Keras 3 on its torch backend: same model, same data.

Keras is never a dependency of seqlab: it lives in the benchmark's own environment,
``bench/.venv-keras`` (git-ignored), made once with

    python3 -m venv bench/.venv-keras
    bench/.venv-keras/bin/pip install torch==2.13.0 keras numpy
    bench/.venv-keras/bin/pip install --no-deps -e .
    bench/.venv-keras/bin/pip install safetensors tqdm matplotlib

Run with any python: the script re-runs itself with ``bench/.venv-keras/bin/python``
when Keras is not importable (creating that venv with the commands above first if it does
not exist: this needs the package index once), and sets ``KERAS_BACKEND=torch``.

Data and model as bench/rnn_fit.py (IMDB-shaped, pre-padded to 256, batch 128):
Embedding(10000, 32) + LSTM(64) | LSTM(128) | GRU(64) | SimpleRNN(64) + Dense(1, sigmoid),
compiled with ``rmsprop`` / ``binary_crossentropy`` / ``accuracy`` in both libraries.
Keras is slow here (its torch backend runs the recurrence step by step in Python on the
CPU), so a Keras round is ``--keras-batches`` batches and a seqlab round
``--seqlab-batches``: samples/s is what is compared, rounds interleaved.

Goals: seqlab >= 10x Keras on LSTM(64) and LSTM(128), >= 2x on GRU, >= 1x on SimpleRNN.

    OMP_NUM_THREADS=1 python bench/keras_compare.py --quick
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERAS_PY = ROOT / "bench" / ".venv-keras" / "bin" / "python"
os.environ["KERAS_BACKEND"] = "torch"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as seqlab; must precede torch import
sys.path.insert(0, str(ROOT))


def make_keras_venv(venv: Path) -> None:
    """Create the benchmark's own Keras environment (never seqlab's)."""
    import subprocess
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    steps = [[sys.executable, "-m", "venv", str(venv)],
             pip + ["torch==2.13.0", "keras", "numpy"],
             pip + ["--no-deps", "-e", str(ROOT)],
             pip + ["safetensors", "tqdm", "matplotlib"]]
    for cmd in steps:
        print("keras_compare: " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def _reexec_in_keras_venv(script: str = __file__) -> None:
    """Keras missing here: run ``script`` (the bench being run) again with the Keras venv's
    python."""
    try:
        import keras  # noqa: F401
        return
    except ImportError:
        pass
    venv = KERAS_PY.parents[1]
    if not KERAS_PY.exists():
        make_keras_venv(venv)
    if KERAS_PY.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(KERAS_PY), [str(KERAS_PY), script, *sys.argv[1:]])
    sys.exit(f"{Path(script).stem}: Keras is not importable here ({sys.executable}) nor in "
             f"{venv}. Create that venv with the commands in this file's docstring.")


GOALS = {"lstm64": 10.0, "lstm128": 10.0, "gru64": 2.0, "rnn64": 1.0}


def keras_model(cell: str, units: int, seed: int = 0):
    import keras
    keras.utils.set_random_seed(seed)
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
           "rnn": keras.layers.SimpleRNN}[cell]
    model = keras.Sequential([keras.Input((256,), dtype="int32"),
                              keras.layers.Embedding(10_000, 32), rnn(units),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    _reexec_in_keras_venv()
    import keras
    import torch

    from bench.harness import (add_common_args, finish, interleave, rate_figure,
                               ratio_figure, set_threads_from_env)
    from bench.rnn_fit import BATCH, make_data, pad_pre, seqlab_available, seqlab_model

    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--keras-batches", type=int, default=2)
    p.add_argument("--seqlab-batches", type=int, default=8)
    p.add_argument("--models", default="lstm64,lstm128,gru64,rnn64")
    args = p.parse_args(argv)
    set_threads_from_env()
    if args.quick:
        args.keras_batches = 1
        args.seqlab_batches = min(args.seqlab_batches, 4)
    why_not = seqlab_available()
    if why_not:
        print(f"seqlab skipped ({why_not}): Keras only")
    nk, ns = args.keras_batches * BATCH, args.seqlab_batches * BATCH
    seqs, y = make_data(max(nk, ns), seed=0)
    X = pad_pre(seqs)
    Xk = X.astype("int32")
    print(f"keras {keras.__version__} (backend {keras.backend.backend()}), torch "
          f"{torch.__version__}; Keras {args.keras_batches} and seqlab {args.seqlab_batches} "
          f"batches of {BATCH} per round")
    figures = []
    for spec in args.models.split(","):
        cell, units = spec.rstrip("0123456789"), int(spec.lstrip("lstmgrun"))
        km = keras_model(cell, units)
        cands = {"keras": lambda: len(km.fit(Xk[:nk], y[:nk], batch_size=BATCH, epochs=1,
                                             verbose=0, shuffle=True).epoch) * nk}
        if not why_not:
            sm = seqlab_model(cell, units)
            cands["seqlab"] = lambda: (sm.fit(X[:ns], y[:ns], batch_size=BATCH, epochs=1,
                                              verbose=0), ns)[1]
        print(f"\n[{spec}]")
        res = interleave(cands, args.repeats, args.warmup, verbose=args.verbose)
        print(res.table())
        figures.append(rate_figure(f"keras {spec}", res, "keras"))
        if "seqlab" in cands:
            figures.append(rate_figure(f"seqlab {spec}", res, "seqlab"))
            figures.append(ratio_figure(f"{spec}: seqlab / keras", res, "seqlab", "keras",
                                        goal=GOALS.get(spec)))
    finish("keras_compare", args, figures, {"keras": keras.__version__})


if __name__ == "__main__":
    main()
