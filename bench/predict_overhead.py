"""seqlab ``Model.predict`` against the same computation written as bare torch calls.

The model is the IMDB-shaped classifier of bench/rnn_fit.py (Embedding(10000, 32) +
LSTM(64) + Dense(1, sigmoid), rows pre-padded to 256). The bare-torch candidate uses the
model's own weights: ``embedding -> _VF.lstm -> linear -> sigmoid`` per batch, so the
paired ratio says how much of ``predict``'s time is spent outside torch's kernels.
Figures: CPU ms per sample of each (1 thread), and seqlab / bare torch. ``--slices``
also times batch-512 ``predict`` with row slices of each given size (micro_batches).

    python bench/predict_overhead.py --quick --slices 32,64,128
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bare_torch(model):
    """predict(x, batch_size) as bare torch calls with ``model``'s weights."""
    from torch import _VF
    emb, rnn, dense = model.layers
    table = emb.embeddings.detach()                                    # (V, E)
    cell = rnn.cell
    w = [cell.kernel.detach().t(), cell.recurrent_kernel.detach().t(),
         cell.bias.detach(), torch.zeros_like(cell.bias.detach())]    # torch layout
    k, b = dense.kernel.detach(), dense.bias.detach()                  # (H, 1), (1,)
    H = cell.recurrent_kernel.shape[0]

    def run(x: np.ndarray, batch_size: int) -> np.ndarray:
        out = np.empty((len(x), 1), np.float32)
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                xb = torch.from_numpy(x[i:i + batch_size])             # (B, T)
                h0 = torch.zeros(1, len(xb), H)
                y, _, _ = _VF.lstm(table[xb], (h0, h0), w, True, 1, 0.0, False, False, True)
                out[i:i + len(xb)] = torch.sigmoid(y[:, -1] @ k + b).numpy()
        return out
    return run


def main(argv=None):
    from bench.harness import add_common_args, finish, interleave, rate_figure, ratio_figure
    from bench.rnn_fit import make_data, pad_pre, seqlab_model
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--n1", type=int, default=64, help="rows predicted at batch 1")
    p.add_argument("--n512", type=int, default=1024, help="rows predicted at batch 512")
    p.add_argument("--slices", default="", help="row-slice sizes to compare at batch 512")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.n1, args.n512 = min(args.repeats, 3), 32, 512
    torch.set_num_threads(1)
    seqs, _ = make_data(max(args.n1, args.n512), seed=0)
    X = pad_pre(seqs)
    model = seqlab_model("lstm", 64)
    model.predict(X[:2], verbose=0)
    ref = bare_torch(model)
    figures = []
    for b, n in ((1, args.n1), (512, args.n512)):
        got, want = model.predict(X[:n], batch_size=b, verbose=0), ref(X[:n], b)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        cands = {"torch": lambda: (ref(X[:n], b), n)[1],
                 "seqlab": lambda: len(model.predict(X[:n], batch_size=b, verbose=0))}
        res = interleave(cands, args.repeats, 1)
        print(f"\n[predict lstm64 b{b}]\n{res.table()}", flush=True)
        for name in cands:
            ms = [1e3 / r for r in res.cpu_rates[name]]
            print(f"  {name}: CPU ms/sample min {min(ms):.3f} median "
                  f"{statistics.median(ms):.3f} max {max(ms):.3f}")
            figures.append(rate_figure(f"predict lstm64 b{b} {name} (1 thread)", res, name))
        figures.append(ratio_figure(f"predict lstm64 b{b}: seqlab / bare torch (1 thread)",
                                    res, "seqlab", "torch"))
    sizes = [int(v) for v in args.slices.split(",") if v]
    if sizes:
        figures += slice_sizes(model, X[:args.n512], sizes, args.repeats)
    finish("predict_overhead", args, figures)


def slice_sizes(model, x: np.ndarray, sizes: list, repeats: int) -> list:
    """predict(x, batch_size=len(x)) with micro_batches.MICRO_ROWS set to each size."""
    from bench.harness import interleave, rate_figure
    from seqlab.models import micro_batches

    def run(rows):
        def one():
            micro_batches.MICRO_ROWS = rows
            try:
                return len(model.predict(x, batch_size=len(x), verbose=0))
            finally:
                micro_batches.MICRO_ROWS = None
        return one
    res = interleave({f"slices of {r}": run(r) for r in sizes}, repeats, 1)
    print(f"\n[predict lstm64 b{len(x)}, row slices]\n{res.table()}", flush=True)
    for r in sizes:
        ms = sorted(1e3 / v for v in res.cpu_rates[f"slices of {r}"])
        print(f"  slices of {r}: CPU ms/sample min {ms[0]:.3f} median "
              f"{statistics.median(ms):.3f} max {ms[-1]:.3f}")
    return [rate_figure(f"predict lstm64 b{len(x)} in slices of {r} rows (1 thread)", res,
                        f"slices of {r}") for r in sizes]


if __name__ == "__main__":
    main()
