"""The vanishing-gradient experiment (seeds 001/002): SimpleRNN vs LSTM vs GRU on the adding
problem, with the gradient flow ||dL/dh_T|| / ||dL/dh_1|| measured at initialisation and after
training, and gradient clipping on an exploding configuration.

    python bench/vanishing_gradients.py                  # T=100, 3 seeds, 600 s budget per run
    python bench/vanishing_gradients.py --T 50 --seeds 1 --budget 120   # quicker

Prints a table (cell, seed, best validation MSE, seconds, success = MSE < 0.01 -- the
"always predict 1" baseline is ~0.167 --, gradient ratio at init and after training) and
saves the per-time-step gradient-norm curves of all cells on one figure
(bench/out/gradient_flow_T{T}.png), with a second figure contrasting initialisers.

What to expect, and why (the report must say it): at initialisation the ratio is decided by
the *initialiser*, not by the cell: with PyTorch's default uniform init all three cells give
~1e19-1e25 at T=100, with Keras's orthogonal recurrent init (seqlab's default) ~1e2-1e3 for
SimpleRNN and LSTM. The textbook contrast (LSTM/GRU < 10, SimpleRNN > 1e10) appears only
after training, when the gated cells have learned to keep their memory path open.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import seqlab  # noqa: E402
from seqlab import datasets  # noqa: E402
from seqlab.inspect import GradientNormLogger, hidden_gradients, plot_gradient_flow  # noqa: E402
from seqlab.layers import GRU, LSTM, Dense, SimpleRNN  # noqa: E402

CELLS = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}
OUT = Path(__file__).resolve().parent / "out"


def torch_default_init(shape):
    """PyTorch's nn.RNN/LSTM/GRU init: U(-1/sqrt(H), 1/sqrt(H)) for every weight."""
    bound = 1.0 / math.sqrt(shape[0])
    return torch.empty(tuple(shape)).uniform_(-bound, bound)


def build(cell: str, T: int, units: int, seed: int, init=None, lr: float = 1e-3,
          clipnorm=None, optimizer=None):
    torch.manual_seed(seed)
    extra = {} if init is None else {"recurrent_initializer": init, "kernel_initializer": init}
    model = seqlab.Sequential([CELLS[cell](units, input_shape=(T, 2), **extra), Dense(1)])
    model.compile(optimizer=optimizer or seqlab.optimizers.Adam(learning_rate=lr), loss="mse",
                  clipnorm=clipnorm)
    return model


def train(model, data, val, budget: float, batch_size: int = 64, target: float = 0.01,
          max_epochs: int = 0):
    """Train epoch by epoch until validation MSE < target, the time budget is spent or
    ``max_epochs`` (when > 0) have run."""
    start, best, epoch = time.perf_counter(), float("inf"), 0
    while time.perf_counter() - start < budget and (not max_epochs or epoch < max_epochs):
        model.fit(data.x, data.y[:, None], batch_size=batch_size, epochs=epoch + 1,
                  initial_epoch=epoch, verbose=0, seed=epoch)
        mse = float(model.evaluate(val.x, val.y[:, None], verbose=0))
        best = min(best, mse) if not math.isnan(mse) else best
        epoch += 1
        if best < target:
            break
    return best, time.perf_counter() - start, epoch


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=600.0, help="seconds per training run")
    p.add_argument("--max-epochs", type=int, default=0,
                   help="stop each training run after this many epochs (0 = only the budget): "
                        "the same amount of training whatever the load of the machine")
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--train", type=int, default=10000)
    p.add_argument("--cells", default="SimpleRNN,LSTM,GRU")
    p.add_argument("--parts", default="init,train,clip", help="which of init,train,clip to run")
    p.add_argument("--init", default="orthogonal", choices=["orthogonal", "uniform"],
                   help="initialiser of the trained models: 'orthogonal' (seqlab/Keras "
                        "default) or 'uniform' (PyTorch's default)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    T = args.T
    data = datasets.load("adding_problem", T=T, count=args.train, seed=1)
    val = datasets.load("adding_problem", T=T, count=1000, seed=2)
    probe = datasets.load("adding_problem", T=T, count=256, seed=3)
    cells = args.cells.split(",")
    print(f"adding problem T={T}: baseline MSE (always 1.0) = {val.baseline_mse:.3f}; "
          f"success = validation MSE < 0.01 within {args.budget:.0f} s; torch threads 1")

    parts = args.parts.split(",")
    # 1. At initialisation the initialiser decides the gradient flow.
    print("\nratio ||dL/dh_T|| / ||dL/dh_1|| at initialisation (float64, 256 sequences):")
    init_flows = {}
    for cell in cells if "init" in parts else []:
        for label, init in (("orthogonal (seqlab/Keras default)", None),
                            ("uniform (PyTorch default)", torch_default_init)):
            flow = hidden_gradients(build(cell, T, args.units, 0, init), probe.x,
                                    probe.y[:, None])
            init_flows[f"{cell}, {label.split()[0]}"] = flow
            print(f"  {cell:9s} {label:34s} {flow.ratio():10.3g}")
    OUT.mkdir(exist_ok=True)
    if init_flows:
        plot_gradient_flow(init_flows, OUT / f"gradient_flow_init_T{T}.png",
                       title=f"at initialisation, adding problem T={T}")

    # 2. Train each cell; gradient flow after training.
    suffix = "" if args.init == "orthogonal" else f"_{args.init}"
    train_init = None if args.init == "orthogonal" else torch_default_init
    print(f"\ntrained from the {args.init} initialiser, Adam lr 1e-3, batch 64:")
    print(f"{'cell':9s} {'seed':>4s} {'best val MSE':>12s} {'seconds':>8s} {'epochs':>6s} "
          f"{'success':>7s} {'ratio init':>10s} {'ratio trained':>13s}")
    trained_flows, rows = {}, []
    for cell in cells if "train" in parts else []:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            model = build(cell, T, args.units, seed, train_init)
            r0 = hidden_gradients(model, probe.x, probe.y[:, None]).ratio()
            best, secs, epochs = train(model, data, val, args.budget,
                                       max_epochs=args.max_epochs)
            flow = hidden_gradients(model, probe.x, probe.y[:, None])
            trained_flows[f"{cell} seed {seed}, {args.init}"] = flow
            rows.append((cell, seed, best, secs, epochs, best < 0.01, r0, flow.ratio()))
            print(f"{cell:9s} {seed:4d} {best:12.4f} {secs:8.0f} {epochs:6d} "
                  f"{str(best < 0.01):>7s} {r0:10.3g} {flow.ratio():13.3g}", flush=True)
    if trained_flows:
        plot_gradient_flow(trained_flows, OUT / f"gradient_flow_T{T}{suffix}.png",
                       title=f"after training, adding problem T={T}")
    print("\nsuccess rate: " + ", ".join(
        f"{c} {sum(r[5] for r in rows if r[0] == c)}/{args.seeds}" for c in cells))

    # 3. Gradient clipping on an exploding configuration: plain SGD (Adam would rescale the
    #    huge gradients itself), SimpleRNN whose recurrent kernel is scaled x3.
    print("\nexploding SimpleRNN (orthogonal recurrent kernel scaled x3), SGD lr 0.01, 3 epochs:")
    for clip in (None, 1.0) if "clip" in parts else ():
        model = build("SimpleRNN", T, args.units, 0, clipnorm=clip,
                      optimizer=seqlab.optimizers.SGD(learning_rate=0.01))
        model.build((None, T, 2))
        with torch.no_grad():
            model.layers[0].cell.recurrent_kernel.mul_(3.0)
        flow = hidden_gradients(model, probe.x, probe.y[:, None])
        logger = GradientNormLogger()
        hist = model.fit(data.x[:2000], data.y[:2000, None], batch_size=64, epochs=3,
                         verbose=0, seed=0, callbacks=[logger])
        biggest = max(max(v) for v in logger.norms.values())
        w_norm = float(model.layers[0].cell.recurrent_kernel.norm())
        print(f"  clipnorm={clip}: ||dL/dh_1|| / ||dL/dh_T|| at start = {1 / flow.ratio():.3g}; "
              f"largest gradient norm {biggest:.3g}; ||recurrent kernel|| after "
              f"{w_norm:.3g} (before {3 * args.units ** 0.5:.3g}); loss per epoch = "
              + ", ".join(f"{v:.3g}" for v in hist.history["loss"]))
    print(f"\nfigures: {OUT}/gradient_flow_T{T}{suffix}.png, {OUT}/gradient_flow_init_T{T}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
