"""MKL against oneDNN for the matrix products of seqlab's recurrent scans (float32, CPU).

torch's ``mm`` calls MKL, which runs its AVX2 code on AMD CPUs; oneDNN (``torch.ops.mkldnn``)
uses AVX-512 there. ``seqlab/layers/gemm.py`` sends a product to oneDNN where that
measured faster; this script is the measurement. Shapes: B=128, T=256, D=32, H=64
(bench/rnn_fit.py's training batches), each product as the scans compute it. One round =
``--calls`` products; candidates interleaved (bench/harness.py), ratio = oneDNN / MKL
products per second (> 1: oneDNN faster). The note says whether seqlab routes the
product through oneDNN on this machine.

    OMP_NUM_THREADS=1 python bench/gemm_paths.py --quick
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.harness import (add_common_args, finish, interleave, ratio_figure,  # noqa: E402
                           set_threads_from_env)
from seqlab.layers import gemm  # noqa: E402

B, T, D, H = 128, 256, 32, 64


def products() -> dict:
    """name -> (a, b, routed by seqlab): the scans' products over all steps and one step."""
    N = T * B
    X, Wg, Wr = torch.randn(N, D), torch.randn(D, 3 * H), torch.randn(D, H)
    du, dn, da = torch.randn(3 * H, N), torch.randn(H, N), torch.randn(N, H)
    hs = torch.randn(H + 1, T + 1, B)
    h_prev = hs[:H, :-1].reshape(H, N)
    return {
        "GRU input projection W^T X^T": (Wg.t(), X.t(), True),
        "GRU d(W) of z, r: X^T dzr^T": (X.t(), du[:2 * H].t(), True),
        "GRU d(W) of h: X^T dn^T": (X.t(), dn.t(), False),
        "GRU d(U): h^T du^T": (h_prev, du.t(), True),
        "SimpleRNN d(x): da W^T": (da, Wr.t(), True),
        "SimpleRNN d(W): X^T da": (X.t(), da, False),
        "SimpleRNN step: h U": (torch.randn(B, H), torch.randn(H, H), False),
        "GRU step: U^T h": (torch.randn(3 * H, H + 1), torch.randn(H + 1, B), False),
    }


def main(argv=None):
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--calls", type=int, default=20, help="products per round")
    args = p.parse_args(argv)
    set_threads_from_env()
    if args.quick:
        args.repeats = min(args.repeats, 3)
    figures = []
    print(f"oneDNN used by seqlab here: {gemm.uses_onednn()} (SEQLAB_GEMM="
          f"{gemm.os.environ.get('SEQLAB_GEMM', 'auto')})")
    for name, (a, b, routed) in products().items():
        calls = args.calls if a.numel() * b.shape[1] > 1e6 else 50 * args.calls

        def run(fn):
            def round_():
                for _ in range(calls):
                    fn(a, b)
                return calls
            return round_
        res = interleave({"mkl": run(torch.mm), "onednn": run(gemm._onednn_product)},
                         args.repeats, 1)
        print(f"\n[{name}]\n{res.table()}", flush=True)
        routed_here = routed and gemm.uses_onednn() and gemm._plain(a, b)
        figures.append(ratio_figure(f"{name}: oneDNN / MKL", res, "onednn", "mkl",
                                    note="seqlab uses oneDNN" if routed_here
                                    else "seqlab uses torch.mm"))
    finish("gemm_paths", args, figures)


if __name__ == "__main__":
    main()
