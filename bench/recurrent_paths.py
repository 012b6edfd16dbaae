"""Training throughput of the explicit recurrent path against the fused kernel.

The course's GRU (``reset_after=False``, reset gate applied before the recurrent product)
has no torch kernel. seqlab trains it on the CPU with its own scan (one autograd node whose
backward is written by hand, ``gru_scan.py``); the explicit path (``use_fused=False``, and
inference) is the input projection of all steps in one matrix product, then the cell's
equations step by step. This script measures both against the fused cuDNN-form GRU
(``reset_after=True``) at the same size, and the same for LSTM (explicit loop forced with
``use_fused=False``).

One round = ``--batches`` training steps (forward, backward, RMSprop update) of
Embedding-free layers on random (B, T, D) inputs, loss = mean of a Dense(1) head on the
last output. Candidates are interleaved in this process (bench/harness.py); the figures are
paired ratios of samples/s.

    OMP_NUM_THREADS=1 python bench/recurrent_paths.py --quick
    OMP_NUM_THREADS=1 python bench/recurrent_paths.py --compile   # + torch.compile'd step

Goal: GRU(reset_after=False) explicit >= 0.6x fused GRU(reset_after=True).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.harness import (add_common_args, finish, fmt_ratio, interleave,  # noqa: E402
                           rate_figure, ratio_figure, resolve_device, set_threads_from_env)
from seqlab.layers import Dense  # noqa: E402
from seqlab.layers.recurrent import GRU, LSTM  # noqa: E402


def trainer(layer, x, batches: int):
    """A ``fn() -> samples`` running ``batches`` training steps of ``layer`` + Dense(1)."""
    head = Dense(1)
    layer(x[:, :2])
    head(torch.zeros(1, layer.units, device=x.device))
    head.to(x.device)
    params = list(layer.parameters()) + list(head.parameters())
    opt = torch.optim.RMSprop(params, lr=1e-3)

    def run() -> int:
        for _ in range(batches):
            loss = head(layer(x)).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return batches * x.shape[0]
    return run


def main(argv=None):
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--time", type=int, default=128, help="time steps T")
    p.add_argument("--features", type=int, default=32, help="input features D")
    p.add_argument("--units", type=int, default=64, help="hidden units H")
    p.add_argument("--batches", type=int, default=4, help="training steps per round")
    p.add_argument("--compile", action="store_true",
                   help="also time the explicit GRU with a torch.compile'd step (slow start)")
    args = p.parse_args(argv)
    set_threads_from_env()
    device = resolve_device(args.device)
    if args.quick:
        args.time, args.batches = 64, 2
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.time, args.features, device=device)
    H = args.units
    cands = {
        "gru_fused_reset_after": trainer(GRU(H, reset_after=True), x, args.batches),
        "gru_explicit_course": trainer(GRU(H, use_fused=False), x, args.batches),
        "gru_scan_course": trainer(GRU(H), x, args.batches),
        "lstm_fused": trainer(LSTM(H), x, args.batches),
        "lstm_explicit": trainer(LSTM(H, use_fused=False), x, args.batches),
    }
    if args.compile:
        cands["gru_explicit_compiled"] = trainer(GRU(H, compile_step=True, use_fused=False),
                                                 x, args.batches)
    print(f"B={args.batch} T={args.time} D={args.features} H={H}, {args.batches} steps/round, "
          f"device={device}", flush=True)
    res = interleave(cands, repeats=args.repeats, warmup=args.warmup, device=device,
                     verbose=args.verbose)
    print(res.table())
    print("explicit GRU(reset_after=False) / fused GRU(reset_after=True): "
          + fmt_ratio(res.ratio("gru_explicit_course", "gru_fused_reset_after")))
    print("explicit LSTM / fused LSTM: " + fmt_ratio(res.ratio("lstm_explicit", "lstm_fused")))
    figures = [
        ratio_figure("GRU(reset_after=False) explicit / GRU(reset_after=True) fused", res,
                     "gru_explicit_course", "gru_fused_reset_after", goal=0.6,
                     note="training samples/s, paired per round"),
        ratio_figure("LSTM explicit / LSTM fused", res, "lstm_explicit", "lstm_fused",
                     note="same weights, use_fused=False"),
        ratio_figure("GRU(reset_after=False) scan / explicit", res, "gru_scan_course",
                     "gru_explicit_course", note="the course's GRU as trained by default "
                     "(seqlab/layers/recurrent/gru_scan.py) against its step-by-step loop"),
        ratio_figure("GRU(reset_after=False) scan / GRU(reset_after=True) fused", res,
                     "gru_scan_course", "gru_fused_reset_after"),
        rate_figure("GRU(reset_after=True) fused", res, "gru_fused_reset_after"),
    ]
    if args.compile:
        figures.append(ratio_figure("GRU explicit compiled step / GRU explicit", res,
                                    "gru_explicit_compiled", "gru_explicit_course"))
    finish("recurrent_paths", args, figures, device=device,
           extra={"sizes": {"B": args.batch, "T": args.time, "D": args.features, "H": H}})


if __name__ == "__main__":
    main()
