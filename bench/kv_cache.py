"""Key/value cache for Transformer generation: tokens/s with and without it.

A decoder-only ``TransformerLM`` continues a prompt of ``C`` tokens (C = 256 and 1024:
the context) by ``--new`` tokens, greedily. Without the cache every new token runs the
whole context through the model again (O(C) projections and attention rows per token);
with it, only the new token is projected and attends to the stored keys and values of
the earlier steps. Both must produce the same tokens: the script asserts it.

Generation throughput = new tokens / seconds (reading the prompt included: both paths
do it once). Rounds are interleaved (bench/harness.py); min / median / max are shown.

    OMP_NUM_THREADS=1 python bench/kv_cache.py              # d_model 128, 2 layers
    OMP_NUM_THREADS=1 python bench/kv_cache.py --quick      # fewer tokens and rounds

Prints the figures (``--json PATH`` also writes them for bench/run_all.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.harness import (add_common_args, finish, interleave, rate_figure,  # noqa: E402
                           ratio_figure, resolve_device, set_threads_from_env)
from seqlab.models.transformers import TransformerLM  # noqa: E402


def main() -> None:
    p = add_common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--contexts", default="256,1024", help="prompt lengths, comma-separated")
    p.add_argument("--new", type=int, default=64, help="tokens generated per round")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ff", type=int, default=512)
    p.add_argument("--vocab", type=int, default=100)
    args = p.parse_args()
    set_threads_from_env()
    if args.quick:
        args.new, args.repeats = 16, 2
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = TransformerLM(args.vocab, d_model=args.d_model, num_heads=args.heads,
                          ff_dim=args.ff, num_layers=args.layers, dropout=0.0).to(device).eval()
    print(f"TransformerLM d_model {args.d_model}, {args.layers} layers, {args.heads} heads, "
          f"ff {args.ff}, vocab {args.vocab}: {model.count_params():,} parameters; "
          f"{args.new} new tokens per round, greedy; threads {torch.get_num_threads()}")
    figures, agree = [], {}
    for context in [int(c) for c in args.contexts.split(",")]:
        prompt = torch.randint(0, args.vocab, (1, context), device=device)
        cached = model.generate(prompt, args.new, temperature=0, use_cache=True)
        full = model.generate(prompt, args.new, temperature=0, use_cache=False)
        assert torch.equal(cached, full), f"context {context}: cached tokens differ"
        agree[context] = True
        cands = {
            f"cache C={context}": lambda: (model.generate(prompt, args.new, temperature=0,
                                                          use_cache=True), args.new)[1],
            f"no cache C={context}": lambda: (model.generate(prompt, args.new, temperature=0,
                                                             use_cache=False), args.new)[1],
        }
        res = interleave(cands, args.repeats, args.warmup, unit="tokens/s", device=device,
                         verbose=args.verbose)
        print(f"\ncontext {context} tokens, same {args.new} tokens with and without the cache")
        print(res.table())
        for c in cands:
            figures.append(rate_figure(f"generation {c}", res, c))
        figures.append(ratio_figure(f"cache / no cache at C={context}", res,
                                    f"cache C={context}", f"no cache C={context}", goal=1.0))
    finish("kv_cache", args, figures, {"same_tokens": agree}, device=device)


if __name__ == "__main__":
    main()
