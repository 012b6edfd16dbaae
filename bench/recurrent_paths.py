"""Training throughput of the explicit recurrent path against the fused kernel.

The course's GRU (``reset_after=False``, reset gate applied before the recurrent product)
has no torch kernel. seqlab trains it on the CPU with its own scan (one autograd node whose
backward is written by hand, ``gru_scan.py``); the explicit path (``use_fused=False``, and
inference) is the input projection of all steps in one matrix product, then the cell's
equations step by step. This script measures both against the fused cuDNN-form GRU
(``reset_after=True``) at the same size, and the same for LSTM (explicit loop forced with
``use_fused=False``).

The LSTM trains on seqlab's C loop (``scans.c``, forward and backward through time):
it is measured against torch's fused kernel (``SEQLAB_NATIVE=0``) on the whole batch and
on 32 rows (``fit``'s slice for LSTM(128)).

Inference (``predict``, a served model) is measured apart: an LSTM's steps in seqlab's C
loop (``scans.c``) against torch's fused kernel (``SEQLAB_NATIVE=0``), same layer
and weights, on one (1, T, D) row per call and on 64 rows (``predict``'s slice of a big
batch), row-steps/s.

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
import os
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


def native_switch(fn, native: bool):
    """``fn`` run with seqlab's C loops on (``native``) or off (torch's kernels)."""
    def run():
        before = os.environ.get("SEQLAB_NATIVE")
        os.environ["SEQLAB_NATIVE"] = "1" if native else "0"
        try:
            return fn()
        finally:
            if before is None:
                os.environ.pop("SEQLAB_NATIVE")
            else:
                os.environ["SEQLAB_NATIVE"] = before
    return run


def infer_runner(layer, x, calls: int, native: bool):
    """A ``fn() -> row-steps`` running ``calls`` inference calls of ``layer`` on ``x``,
    with the C loop (``native``) or torch's kernel."""
    def run() -> int:
        with torch.inference_mode():
            for _ in range(calls):
                layer(x)
        return calls * x.shape[0] * x.shape[1]
    return native_switch(run, native)


def infer_figures(args) -> list:
    """LSTM(H) inference, the C loop against torch's kernel: H = 64 and 128, one row and
    64 rows."""
    from seqlab.layers.recurrent import lstm_scan
    if lstm_scan.kernel() is None:
        print("lstm_scan: no C kernel here ("
              + lstm_scan.native.why_not(lstm_scan.SOURCE) + ")")
        return []
    figures = []
    for H, B in ((64, 1), (128, 1), (64, 64), (128, 64)):
        x = torch.randn(B, 256, args.features)
        layer = LSTM(H, return_sequences=True)
        layer(x[:, :2])
        layer.eval()                                  # as predict() runs it
        calls = 20 if B == 1 else 1
        cands = {"c_loop": infer_runner(layer, x, calls, True),
                 "torch_kernel": infer_runner(layer, x, calls, False)}
        res = interleave(cands, repeats=args.repeats, warmup=args.warmup, unit="row-steps/s",
                         verbose=args.verbose)
        rows = "one row" if B == 1 else f"{B} rows"
        print(f"\n[LSTM({H}) {rows}, T=256, D={args.features}]\n{res.table()}", flush=True)
        figures += [
            ratio_figure(f"LSTM({H}) {rows}: C loop / torch kernel", res, "c_loop",
                         "torch_kernel", note="inference row-steps/s, T=256, paired per round"),
            rate_figure(f"LSTM({H}) {rows}, C loop", res, "c_loop",
                        note=f"{1e6 / res.stats('c_loop')['median']:.2f} us a row-step"),
        ]
    return figures


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
    torch.set_flush_denormal(True)  # as fit() runs (seqlab/models/denormals.py): fading
    device = resolve_device(args.device)  # gradients would otherwise take the slow path
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
        "lstm_torch_kernel": native_switch(trainer(LSTM(H), x, args.batches), False),
        "lstm_fused_32rows": trainer(LSTM(H), x[:32], 4 * args.batches),
        "lstm_torch_kernel_32rows": native_switch(trainer(LSTM(H), x[:32], 4 * args.batches),
                                                  False),
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
        ratio_figure("LSTM training: C loop / torch kernel", res, "lstm_fused",
                     "lstm_torch_kernel", note=f"B={args.batch}, SEQLAB_NATIVE=0 for torch's"),
        ratio_figure("LSTM training, 32 rows: C loop / torch kernel", res, "lstm_fused_32rows",
                     "lstm_torch_kernel_32rows", note="fit's slice size for LSTM(128)"),
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
    if device == "cpu":
        figures += infer_figures(args)
    finish("recurrent_paths", args, figures, device=device,
           extra={"sizes": {"B": args.batch, "T": args.time, "D": args.features, "H": H}})


if __name__ == "__main__":
    main()
