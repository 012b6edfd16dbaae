"""Training throughput (tokens/s) of a Transformer text classifier: seqlab's layers vs
the same model built from ``torch.nn.TransformerEncoder``.

Model (both sides): Embedding(V=10000, 128) + sinusoidal positional encoding +
2 encoder layers (d_model 128, 4 heads, ff 512, dropout 0.1, post-norm, ReLU) +
global average pooling over time + Dense(2); Adam(1e-3), cross-entropy. Batches
IMDB-shaped: 128 sequences x 256 tokens of random ids (throughput does not depend on
the values). One round = ``--batches`` training steps; candidates run interleaved in this
process (see bench/harness.py) and the figure is the paired ratio of tokens/s.

Candidates:
* ``seqlab``: seqlab layers, default settings;
* ``seqlab_formula``: the same layers with ``use_fast_path=False``, i.e. the explicit
  softmax(QK^T/sqrt(d))V with whole (B, nh, T, T) tensors;
* ``torch``: ``nn.TransformerEncoder(nn.TransformerEncoderLayer(..., batch_first=True))``.

Where seqlab's speed comes from (CPU, training, dropout 0.1 also on the attention weights
as torch does):
1. torch has no fused CPU attention kernel with dropout: ``nn.MultiheadAttention`` then
   runs the unfused math path, materialising several (B, nh, T, T) tensors (134 MB each at
   128 x 256) that travel through memory at every step, with ``bernoulli_`` masks (~9 ns
   a value). seqlab computes the same formula a few sequences at a time so each chunk's
   weights stay in cache, recomputes them in the backward pass (FlashAttention's trick),
   and draws dropout masks as 16-bit integers compared straight into a float mask (~2 ns).
   (Chunks only from 4M scores, e.g. 128 x 256 has 33M; below, the scores fit in the
   caches and the plain formula with the cheap masks is as fast.)
2. Fused QKV projection (one GEMM), ``addmm`` with the bias fused, no transpose/contiguous
   copies around the heads; dropout's 1/(1-p) folded into a small weight or an addcmul.
With ``--attention-dropout 0`` both sides use torch's fused attention kernel and only
point 2 and the cheaper residual/feed-forward dropout remain.

    OMP_NUM_THREADS=1 python bench/transformer_speed.py --quick
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (add_common_args, finish, fmt_ratio, interleave, rate_figure,  # noqa: E402
                           ratio_figure, resolve_device, set_threads_from_env)

import torch  # noqa: E402
from torch import nn  # noqa: E402

from seqlab.layers import Dense, Embedding, PositionalEncoding, TransformerEncoder  # noqa: E402

VOCAB, D_MODEL, HEADS, FF, LAYERS, CLASSES = 10_000, 128, 4, 512, 2, 2


class SeqlabClassifier(nn.Module):
    def __init__(self, use_fast_path: bool = True, attention_dropout: float = 0.1):
        super().__init__()
        self.embed = Embedding(VOCAB, D_MODEL)
        self.pe = PositionalEncoding()
        self.encoder = TransformerEncoder(LAYERS, HEADS, FF, dropout=0.1,
                                          attention_dropout=attention_dropout,
                                          use_fast_path=use_fast_path)
        self.head = Dense(CLASSES)

    def forward(self, ids):
        h = self.encoder(self.pe(self.embed(ids)))  # (B, T, D)
        return self.head(h.mean(1))  # (B, classes)


class TorchClassifier(nn.Module):
    def __init__(self, attention_dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL)
        self.register_buffer("pe", PositionalEncoding.sinusoids(4096, D_MODEL).float())
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        for each in self.encoder.layers:  # torch ties it to dropout; set it apart
            each.self_attn.dropout = attention_dropout
        self.head = nn.Linear(D_MODEL, CLASSES)

    def forward(self, ids):
        h = self.embed(ids) + self.pe[: ids.shape[1]]  # (B, T, D)
        return self.head(self.encoder(h).mean(1))  # (B, classes)


def make_candidate(model: nn.Module, batches: list, device: str):
    model.to(device).train()
    ids0 = batches[0][0]
    model(ids0[:2])  # build lazy layers before the optimiser sees the parameters
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def run():
        tokens = 0
        for ids, y in batches:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(ids), y)
            loss.backward()
            opt.step()
            tokens += ids.numel()
        if not math.isfinite(loss.item()):
            raise RuntimeError("non-finite loss")
        return tokens
    return run


def main(argv=None):
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batches", type=int, default=2, help="training steps per round")
    p.add_argument("--no-formula", action="store_true", help="skip the seqlab_formula candidate")
    p.add_argument("--attention-dropout", type=float, default=0.1,
                   help="dropout on the attention weights, both models (0 lets both use "
                        "torch's fused attention kernel)")
    args = p.parse_args(argv)
    if args.quick:
        args.batch_size, args.seq_len = 32, 128
    set_threads_from_env()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    batches = [(torch.randint(1, VOCAB, (args.batch_size, args.seq_len), device=device),
                torch.randint(0, CLASSES, (args.batch_size,), device=device))
               for _ in range(args.batches)]
    a_drop = args.attention_dropout
    models = {"seqlab": SeqlabClassifier(attention_dropout=a_drop),
              "torch": TorchClassifier(attention_dropout=a_drop)}
    if not args.no_formula:
        models["seqlab_formula"] = SeqlabClassifier(use_fast_path=False, attention_dropout=a_drop)
    cands = {k: make_candidate(m, batches, device) for k, m in models.items()}
    n_params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    assert len(set(n_params.values())) == 1, f"models differ in size: {n_params}"
    print(f"batches of {args.batch_size} x {args.seq_len} tokens, {args.batches} steps a round, "
          f"{args.repeats} rounds; {n_params['torch']:,} parameters each; "
          f"dropout 0.1, attention dropout {a_drop}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}", flush=True)
    res = interleave(cands, repeats=args.repeats, warmup=args.warmup, unit="tokens/s",
                     device=device, verbose=args.verbose)
    print(res.table())
    figures = [rate_figure(f"{k} tokens/s", res, k) for k in cands]
    figures.append(ratio_figure("seqlab / torch.nn.TransformerEncoder", res, "seqlab", "torch",
                                goal=1.2, note="paired ratio of tokens/s, median of rounds"))
    if "seqlab_formula" in cands:
        figures.append(ratio_figure("seqlab explicit formula / torch", res, "seqlab_formula",
                                    "torch"))
    print("ratio seqlab/torch:", fmt_ratio(res.ratio("seqlab", "torch")))
    finish("transformer_speed", args, figures,
           extra={"batch_size": args.batch_size, "seq_len": args.seq_len,
                  "attention_dropout": a_drop,
                  "batches_per_round": args.batches}, device=device)


if __name__ == "__main__":
    main()
