"""seqlab ``Model.predict`` against the same computation written as bare torch calls.

The model is the IMDB-shaped classifier of bench/rnn_fit.py (Embedding(10000, 32) +
LSTM(64) + Dense(1, sigmoid), rows pre-padded to 256). The bare-torch candidate uses the
model's own weights: ``embedding -> _VF.lstm -> linear -> sigmoid`` per batch, so the
paired ratio says how much of ``predict``'s time is spent outside torch's kernels.
Figures: CPU ms per sample of each (1 thread), and seqlab / bare torch. ``--slices``
also times batch-512 ``predict`` with row slices of each given size (micro_batches).

Before / after: ``previous_predict`` is ``predict``'s earlier loop, kept here as it was
(per-batch NaN check, index bookkeeping and host copies, outputs concatenated at the end,
the LSTM's weights laid out for torch's kernel at every batch); the figures "seqlab /
previous loop" say what the current loop (rows written in place, layouts made once per
call: seqlab/layers/layout_cache.py) gains, for the LSTM model at batch 1 and 512 and for
the 2-block Transformer classifier of bench/keras_models.py at batch 1. The Transformer
has no bare-torch candidate here.

Batch-1 LSTM kernels (``lstm_paths``): the model's LSTM(64) over one 256-step row, run by
torch's fused kernel (oneDNN on the CPU) against the equations run other ways: the same
kernel with oneDNN off (ATen's step loop), and the input projection of all steps hoisted
into one matrix product followed by a step loop of ``addmm`` + gates, in Python and as
TorchScript. Each is checked equal to the fused kernel (1e-5); figures are rows/s and
path / fused.

Encoder kernels (``fused_encoder``): the Transformer at batch 1 with its encoder layers as
predict runs them (seqlab's C self-attention and Add & Norm between torch's matrix
products: seqlab/layers/transformer/fused_inference.py) against torch's fused encoder-layer
kernel and against the layers op by op.

Threads (``small_threads``): with 2 intra-op threads, ``predict`` at batch 1 and 4 (it
runs batches of <= 8 rows on one thread: seqlab/models/small_batches.py) against the same
call with that switch off (``SMALL = 0``: both threads on every batch), LSTM model and
Transformer; wall-clock ratios (the figure a user sees), CPU-time beside. On a machine
shared with other work the second thread waits for a core, which inflates the gain: judge
it on an idle machine.

    python bench/predict_overhead.py --quick --slices 32,64,128
"""
from __future__ import annotations

import argparse
import statistics
import sys
import warnings
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


def previous_predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``predict(x, batch_size)`` as its loop was before rows were written in place and
    weight layouts cached (arrays only; same model calls, same results)."""
    from seqlab.models import denormals, nan_guard
    from seqlab.models.adapters import make_data
    from seqlab.models.inference import _outputs
    from seqlab.models.training import float_dtype_of

    with denormals.flushed():
        data = make_data(x, None, float_dtype_of(model), "predict", need_y=False)
        model.eval()
        pieces, done = [], 0
        with torch.inference_mode():
            for batch in data.batches(batch_size):
                nan_guard.check_inputs(batch.x, batch.index, done)
                batch = batch.to(torch.device("cpu"))
                out, _ = _outputs(model, batch)
                done += len(out)
                pieces.append(out.cpu().numpy())
        return np.concatenate(pieces, axis=0)


def before_after(label: str, model, x: np.ndarray, b: int, repeats: int,
                 ref=None) -> list:
    """Interleaved rounds of predict, the previous loop (and bare torch when ``ref``)."""
    from bench.harness import interleave, rate_figure, ratio_figure
    got = model.predict(x, batch_size=b, verbose=0)
    np.testing.assert_allclose(got, previous_predict(model, x, b), rtol=1e-6, atol=1e-7)
    cands = {"seqlab": lambda: len(model.predict(x, batch_size=b, verbose=0)),
             "previous loop": lambda: len(previous_predict(model, x, b))}
    if ref is not None:
        np.testing.assert_allclose(got, ref(x, b), rtol=1e-5, atol=1e-6)
        cands["torch"] = lambda: (ref(x, b), len(x))[1]
    res = interleave(cands, repeats, 1)
    print(f"\n[predict {label} b{b}]\n{res.table()}", flush=True)
    figures = []
    for name in cands:
        ms = [1e3 / r for r in res.cpu_rates[name]]
        print(f"  {name}: CPU ms/sample min {min(ms):.3f} median "
              f"{statistics.median(ms):.3f} max {max(ms):.3f}")
        figures.append(rate_figure(f"predict {label} b{b} {name} (1 thread)", res, name))
    if ref is not None:
        figures.append(ratio_figure(f"predict {label} b{b}: seqlab / bare torch (1 thread)",
                                    res, "seqlab", "torch"))
        figures.append(ratio_figure(f"predict {label} b{b}: previous loop / bare torch "
                                    f"(1 thread)", res, "previous loop", "torch"))
    figures.append(ratio_figure(f"predict {label} b{b}: seqlab / previous loop (1 thread)",
                                res, "seqlab", "previous loop"))
    return figures


def _hoisted(x: torch.Tensor, W: torch.Tensor, U: torch.Tensor, b: torch.Tensor):
    """LSTM equations, Keras layout (gates i, f, c, o): xw = x W + b for all steps in one
    product, then per step z = xw_t + h U; c = f*c + i*g; h = o * tanh(c). -> h_T (B, H)"""
    B, T, D = x.shape
    H = U.shape[0]
    xw = torch.addmm(b, x.reshape(B * T, D), W).reshape(B, T, 4 * H)  # (B, T, 4H)
    h = x.new_zeros(B, H)
    c = x.new_zeros(B, H)
    for t in range(T):
        z = torch.addmm(xw[:, t], h, U)                                # (B, 4H)
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return h


def lstm_paths(model, x: np.ndarray, repeats: int) -> list:
    """Rows of ``x`` one at a time through the model's LSTM by each path (see the top)."""
    from bench.harness import interleave, rate_figure, ratio_figure
    from torch import _VF
    emb, rnn, _ = model.layers
    cell = rnn.cell
    W, U, b = (cell.kernel.detach(), cell.recurrent_kernel.detach(), cell.bias.detach())
    w = [W.t().contiguous(), U.t().contiguous(), b, torch.zeros_like(b)]
    H = U.shape[0]
    with torch.inference_mode():
        rows = [emb(torch.from_numpy(x[i:i + 1])).detach() for i in range(len(x))]
    scripted = torch.jit.script(_hoisted)

    def fused(e):
        h0 = e.new_zeros(1, 1, H)
        return _VF.lstm(e, (h0, h0), w, True, 1, 0.0, False, False, True)[0][:, -1]

    def native(e):
        with warnings.catch_warnings():  # (a note about Intel GPUs when the flag is set)
            warnings.simplefilter("ignore")
            with torch.backends.mkldnn.flags(enabled=False):
                return fused(e)
    paths = {"fused (oneDNN)": fused, "fused, oneDNN off": native,
             "hoisted + Python loop": lambda e: _hoisted(e, W, U, b),
             "hoisted + TorchScript loop": lambda e: scripted(e, W, U, b)}

    def run(fn):
        def one():
            with torch.inference_mode():
                for e in rows:
                    fn(e)
            return len(rows)
        return one
    with torch.inference_mode():
        for name, fn in paths.items():
            torch.testing.assert_close(fn(rows[0]), fused(rows[0]), rtol=1e-5, atol=1e-5)
    res = interleave({n: run(f) for n, f in paths.items()}, repeats, 1)
    print(f"\n[LSTM(64) kernels, batch 1, T={x.shape[1]}]\n{res.table()}", flush=True)
    figures = [rate_figure(f"LSTM(64) b1 T={x.shape[1]} {n} (1 thread)", res, n)
               for n in paths]
    figures += [ratio_figure(f"LSTM(64) b1: {n} / fused (oneDNN) (1 thread)", res, n,
                             "fused (oneDNN)") for n in list(paths)[1:]]
    return figures


def main(argv=None):
    from bench.harness import add_common_args, finish
    from bench.keras_models import seqlab_transformer
    from bench.rnn_fit import make_data, pad_pre, seqlab_model
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--n1", type=int, default=128, help="rows predicted at batch 1")
    p.add_argument("--n512", type=int, default=1024, help="rows predicted at batch 512")
    p.add_argument("--slices", default="", help="row-slice sizes to compare at batch 512")
    p.add_argument("--no-transformer", action="store_true", help="skip the Transformer")
    p.add_argument("--no-lstm-paths", action="store_true", help="skip lstm_paths")
    p.add_argument("--path-rows", type=int, default=8, help="rows per round of lstm_paths")
    p.add_argument("--no-threads", action="store_true", help="skip small_threads")
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
        figures += before_after("lstm64", model, X[:n], b, args.repeats, ref)
    if not args.no_transformer:
        tf = seqlab_transformer()
        tf.predict(X[:2], verbose=0)
        figures += before_after("transformer", tf, X[:args.n1], 1, args.repeats)
        figures += fused_encoder(tf, X[:args.n1], args.repeats)
    if not args.no_lstm_paths:
        figures += lstm_paths(model, X[:args.path_rows], args.repeats)
    if not args.no_threads:
        figures += small_threads({"lstm64": model} | ({} if args.no_transformer else
                                                      {"transformer": tf}),
                                 X[:args.n1 // 2], args.repeats)
        torch.set_num_threads(1)
    sizes = [int(v) for v in args.slices.split(",") if v]
    if sizes:
        figures += slice_sizes(model, X[:args.n512], sizes, args.repeats)
    finish("predict_overhead", args, figures)


def fused_encoder(model, x: np.ndarray, repeats: int) -> list:
    """Transformer predict at batch 1: encoder layers on seqlab's C kernels (as predict runs
    them: seqlab/layers/transformer/fused_inference.py), on torch's fused kernel, and op by
    op."""
    from bench.harness import interleave, ratio_figure
    from seqlab.layers.transformer import fused_inference

    library = fused_inference.library

    def predict(path, rows):
        fused_inference.ENABLED = path != "op by op"
        fused_inference.library = library if path == "C kernels" else (lambda: None)
        try:
            return model.predict(rows, batch_size=1, verbose=0)
        finally:
            fused_inference.ENABLED, fused_inference.library = True, library

    def run(path):
        return lambda: len(predict(path, x))
    paths = ("C kernels", "torch fused kernel", "op by op")
    if library() is None:
        paths = paths[1:]
    outs = {p: predict(p, x[:8]) for p in paths}
    for p in paths[1:]:
        np.testing.assert_allclose(outs[paths[0]], outs[p], rtol=1e-4, atol=1e-5)
    res = interleave({p: run(p) for p in paths}, repeats, 1)
    print(f"\n[predict transformer b1, encoder kernels]\n{res.table()}", flush=True)
    return [ratio_figure(f"predict transformer b1: {paths[0]} / {p} (1 thread)", res,
                         paths[0], p) for p in paths[1:]]


def small_threads(models: dict, x: np.ndarray, repeats: int) -> list:
    """2 threads: predict at batch 1 and 4 as it runs (one thread for small batches)
    against the switch off (every batch on both threads)."""
    from bench.harness import interleave, ratio_figure
    from seqlab.models import small_batches
    torch.set_num_threads(2)
    figures = []
    for label, model in models.items():
        for b in (1, 4):
            def run(small):
                def one():
                    keep, small_batches.SMALL = small_batches.SMALL, small
                    try:
                        return len(model.predict(x, batch_size=b, verbose=0))
                    finally:
                        small_batches.SMALL = keep
                return one
            res = interleave({"one thread": run(small_batches.SMALL), "two threads": run(0)},
                             repeats, 1)
            print(f"\n[predict {label} b{b}, 2 threads]\n{res.table()}", flush=True)
            figures.append(ratio_figure(
                f"predict {label} b{b}, 2 threads: small batches on one thread / on both",
                res, "one thread", "two threads"))
    return figures


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
