"""bf16 autocast on the CPU: does it speed up recurrent training, and what does it cost?

On CPUs with native bf16 arithmetic (``avx512_bf16`` or AMX; checked and printed) torch's
``torch.autocast("cpu", dtype=torch.bfloat16)`` runs matrix products, and the fused
LSTM kernel, in bfloat16 while keeping the weights, the optimizer and the loss in fp32.

Measured here, interleaved in one process:

1. the GEMM peak, fp32 vs bf16 (``torch.mm`` 1024^3);
2. training throughput of Embedding(10000, 32) + LSTM(128) + Dense(1, sigmoid) on the
   IMDB-shaped data of bench/rnn_fit.py, seqlab ``fit()`` in fp32 vs the same
   ``fit(precision="bf16")`` (the loop's own autocast around the forward pass and the
   loss, the backward outside it), one epoch a round;
3. the accuracy effect: both models start from the same weights, see the same batches,
   and are evaluated (in fp32) on the same held-out set after the same epochs;
4. inference only: the fp32-trained model's predictions on the held-out set in fp32 vs
   under bf16 autocast: throughput, accuracy, and the largest change of a probability.

The figures (throughput ratio, both test accuracies) are in bench/results.md, "bf16".

    OMP_NUM_THREADS=1 python bench/bf16.py --quick
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.harness import (add_common_args, cpu_flags, finish, interleave,  # noqa: E402
                           rate_figure, ratio_figure, set_threads_from_env)
from bench.rnn_fit import (BATCH, TorchLoop, gemm_peak, make_data, pad_pre,  # noqa: E402
                           seqlab_accuracy, seqlab_available, seqlab_model)


def bf16_native() -> bool:
    flags = cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def main(argv=None):
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--n", type=int, default=8_000, help="training sequences (one epoch a round)")
    p.add_argument("--units", type=int, default=128)
    args = p.parse_args(argv)
    set_threads_from_env()
    if args.quick:
        args.n = min(args.n, 3_000)
        args.repeats = min(args.repeats, 3)
    print(f"native bf16 on this CPU: {bf16_native()}")
    peak32 = gemm_peak(dtype=torch.float32)
    peak16 = gemm_peak(dtype=torch.bfloat16)
    print(f"GEMM peak 1024^3: fp32 {peak32:.1f} GFLOP/s, bf16 {peak16:.1f} GFLOP/s")
    figures = [{"name": "GEMM peak fp32", "value": peak32, "unit": "GFLOP/s"},
               {"name": "GEMM peak bf16", "value": peak16, "unit": "GFLOP/s"},
               {"name": "GEMM bf16 / fp32", "value": peak16 / peak32, "unit": "x"}]

    seqs, y = make_data(args.n, seed=0)
    test_seqs, test_y = make_data(2_000, seed=1)
    X, Xt = pad_pre(seqs), pad_pre(test_seqs)
    why_not = seqlab_available()
    if why_not:
        print(f"seqlab skipped ({why_not}): plain PyTorch loop instead")
        X_t, Y_t = torch.from_numpy(X), torch.from_numpy(y)
        loops = {k: TorchLoop("lstm", args.units, seed=3) for k in ("fp32", "bf16")}
        ctx = {"fp32": contextlib.nullcontext, "bf16": autocast_bf16}

        def run(k):
            with ctx[k]():
                return loops[k].epoch(X_t, Y_t)
        cands = {k: (lambda k=k: run(k)) for k in loops}
        acc = lambda k: loops[k].accuracy(torch.from_numpy(Xt), torch.from_numpy(test_y))  # noqa: E731
    else:
        models = {k: seqlab_model("lstm", args.units, seed=3) for k in ("fp32", "bf16")}
        models["bf16"].load_state_dict(models["fp32"].state_dict())  # same start

        def run(k):
            models[k].fit(X, y, batch_size=BATCH, epochs=1, verbose=0, seed=7,
                          precision="bf16" if k == "bf16" else "32")
            return len(X)
        cands = {k: (lambda k=k: run(k)) for k in models}
        acc = lambda k: seqlab_accuracy(models[k], Xt, test_y)  # noqa: E731
    print(f"\n[LSTM({args.units}) training, one epoch of {args.n} per round]")
    res = interleave(cands, args.repeats, 0, verbose=True)
    print(res.table())
    accs = {k: acc(k) for k in cands}
    print(f"test accuracy after {args.repeats} epochs: fp32 {accs['fp32']:.4f}, "
          f"bf16 {accs['bf16']:.4f}")
    figures += [rate_figure(f"LSTM({args.units}) fit fp32", res, "fp32"),
                rate_figure(f"LSTM({args.units}) fit bf16 autocast", res, "bf16"),
                ratio_figure("bf16 autocast / fp32 training throughput", res, "bf16", "fp32"),
                {"name": f"test accuracy fp32 after {args.repeats} epochs",
                 "value": accs["fp32"], "unit": ""},
                {"name": f"test accuracy bf16 after {args.repeats} epochs",
                 "value": accs["bf16"], "unit": ""}]
    if not why_not:
        figures += inference_figures(models["fp32"], test_seqs, test_y, args)
    finish("bf16", args, figures, {"bf16_native": bf16_native(), "n": args.n})


def inference_figures(model, test_seqs, test_y, args) -> list:
    """predict() of an fp32-trained model in fp32 vs under bf16 autocast."""
    import numpy as np
    Xt = pad_pre(test_seqs)
    preds = {}

    def run(k):
        ctx = autocast_bf16() if k == "bf16" else contextlib.nullcontext()
        with ctx:
            preds[k] = np.asarray(model.predict(Xt, batch_size=256), dtype=np.float32)
        return len(Xt)
    print("\n[inference: predict() on the held-out set]")
    res = interleave({"fp32": lambda: run("fp32"), "bf16": lambda: run("bf16")},
                     args.repeats, 1, verbose=True)
    print(res.table())
    acc = {k: float(((v.reshape(-1) > 0.5) == (test_y > 0.5)).mean()) for k, v in preds.items()}
    diff = float(np.abs(preds["fp32"] - preds["bf16"]).max())
    print(f"inference accuracy fp32 {acc['fp32']:.4f}, bf16 {acc['bf16']:.4f}; largest "
          f"probability change {diff:.4f}")
    return [ratio_figure("inference: bf16 autocast / fp32 predict() throughput", res,
                         "bf16", "fp32"),
            {"name": "inference accuracy fp32", "value": acc["fp32"], "unit": ""},
            {"name": "inference accuracy bf16 autocast (same fp32 weights)",
             "value": acc["bf16"], "unit": ""},
            {"name": "inference: largest change of a probability, bf16 vs fp32", "value": diff, "unit": ""}]


if __name__ == "__main__":
    main()
