"""The course's calculator with a Transformer encoder-decoder: 3-digit additions.

    "535+61" -> "596"     characters; the answer is decoded greedily, one token at a time

Data: ``seqlab.datasets.load("addition", digits=3, count=N)`` gives N distinct questions
(numbers of 1 to 3 digits); the last ``--test`` of them are held out (never trained on,
distinct questions by construction), ``--val`` more pick the stopping point. Training is
teacher forcing (``TransformerSeq2Seq.fit_pairs``) until validation exact match reaches
``--target`` or the ``--budget`` (seconds) is spent; then the held-out exact match (the
whole answer right) is reported, greedy and beam search.

    OMP_NUM_THREADS=1 python bench/transformer_calculator.py            # full size
    OMP_NUM_THREADS=1 python bench/transformer_calculator.py --quick    # a smoke run

Prints the figures and one JSON line at the end; writes nothing.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import seqlab
from seqlab import datasets
from seqlab.models.transformers import TransformerSeq2Seq

PAD, START, END = 0, 1, 2
CHARS = "0123456789+"
STOI = {c: i + 3 for i, c in enumerate(CHARS)}
ITOS = {i: c for c, i in STOI.items()}


def encode(text: str) -> list[int]:
    return [STOI[c] for c in text]


def decode(ids: list[int]) -> str:
    return "".join(ITOS.get(i, "?") for i in ids)


def exact_match(model, questions, answers, beam_width: int = 1) -> float:
    pred = model.translate([encode(q) for q in questions], START, END, max_len=6,
                           beam_width=beam_width, batch_size=500)
    return float(np.mean([decode(p) == a for p, a in zip(pred, answers)]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=60000, help="distinct questions generated")
    p.add_argument("--test", type=int, default=5000, help="held-out questions")
    p.add_argument("--val", type=int, default=1000, help="validation questions (stopping)")
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ff", type=int, default=256)
    p.add_argument("--layers", type=int, default=2, help="encoder and decoder layers each")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--norm-first", action="store_true", help="pre-norm layers")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lr-decay", type=float, default=1.0,
                   help="multiply the learning rate by this after every epoch")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--budget", type=float, default=1500.0, help="training seconds at most")
    p.add_argument("--target", type=float, default=0.995, help="stop at this val exact match")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = p.parse_args()
    if args.quick:
        args.count, args.test, args.val, args.budget = 3000, 300, 200, 30
        args.d_model, args.ff = 32, 64

    torch.manual_seed(args.seed)
    data = datasets.load("addition", digits=3, count=args.count, seed=args.seed)
    qs, ans = list(data.questions), list(data.answers)
    n_train = args.count - args.test - args.val
    train_q, train_a = qs[:n_train], ans[:n_train]
    val_q, val_a = qs[n_train:n_train + args.val], ans[n_train:n_train + args.val]
    test_q, test_a = qs[n_train + args.val:], ans[n_train + args.val:]
    assert not set(test_q) & set(train_q), "held-out questions must be unseen"

    model = TransformerSeq2Seq(vocab_size=len(CHARS) + 3, d_model=args.d_model,
                               num_heads=args.heads, ff_dim=args.ff,
                               num_encoder_layers=args.layers, num_decoder_layers=args.layers,
                               max_length=16, dropout=args.dropout,
                               norm_first=args.norm_first)
    model.compile(optimizer=seqlab.optimizers.Adam(learning_rate=args.lr, beta_2=0.98),
                  loss="sparse_categorical_crossentropy", global_clipnorm=1.0)
    print(f"train {n_train}, val {len(val_q)}, held-out test {len(test_q)}; "
          f"{model.count_params():,} parameters; threads {torch.get_num_threads()}",
          flush=True)

    curve = []

    def check(epoch, logs):
        acc = exact_match(model, val_q, val_a)
        curve.append((epoch + 1, round(logs["time"], 1), round(logs["loss"], 4), acc))
        print(f"  epoch {epoch + 1}: {logs['time']:.0f}s loss {logs['loss']:.4f} "
              f"val exact match {acc:.4f}", flush=True)
        for group in model.optimizer.param_groups:
            group["lr"] *= args.lr_decay
        return acc >= args.target

    start = time.perf_counter()
    model.fit_pairs([encode(q) for q in train_q],
                    [[START] + encode(a) + [END] for a in train_a],
                    epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                    verbose=0, time_budget=args.budget, on_epoch_end=check)
    train_time = time.perf_counter() - start
    t0 = time.perf_counter()
    greedy = exact_match(model, test_q, test_a)
    greedy_time = time.perf_counter() - t0
    beam = exact_match(model, test_q[:1000], test_a[:1000], beam_width=4)
    result = {"bench": "transformer_calculator", "train_examples": n_train,
              "test_examples": len(test_q), "parameters": model.count_params(),
              "d_model": args.d_model, "layers": args.layers, "norm_first": args.norm_first,
              "lr": args.lr, "lr_decay": args.lr_decay, "epochs": len(curve),
              "train_seconds": round(train_time, 1), "test_exact_match_greedy": greedy,
              "test_exact_match_beam4_first1000": beam,
              "decode_seconds_greedy": round(greedy_time, 2),
              "goal_exact_match": 0.99, "pass": greedy >= 0.99, "curve": curve}
    print(f"held-out exact match: greedy {greedy:.4f} ({len(test_q)} questions), "
          f"beam 4 {beam:.4f} (first 1000); trained {train_time:.0f}s, {len(curve)} epochs")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
