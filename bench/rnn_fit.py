"""Training throughput of seqlab ``fit()`` against a hand-written PyTorch loop.

Data: IMDB-shaped and learnable. 25,000 sequences (``--n`` shrinks it), vocabulary
10,000 (0 = padding), lengths lognormal with median 174 and sigma 0.77 (IMDB's median
and mean), clipped to [8, 256]. Each token is, with probability 4%, a "sentiment word"
of the sequence's class (ids 1-100 for label 1, 101-200 for label 0), otherwise a
neutral word (201-9999): the label is spread over the whole sequence, as in reviews.

Model: Embedding(10000, 32) + LSTM(64) | GRU(64, reset_after=True) | SimpleRNN(64)
+ Dense(1, sigmoid), RMSprop(1e-3), binary cross-entropy, batch 128.

Figures (each a paired ratio of samples/s, candidates interleaved in this process):

1. ``padded``: seqlab ``fit()`` on data pre-padded to 256 vs the hand-written loop
   (``torch.nn.LSTM/GRU/RNN``) on the same tensor. Goal >= 0.95x.
2. ``bucketed``: seqlab ``fit()`` on the variable-length lists (bucketing by default)
   vs the hand-written loop padding everything to 256; one round = one epoch; the
   test accuracy of both after the same number of epochs is compared. Goal >= 1.8x.
   Also printed: the bound set by the data, 256 / mean length (the share of recurrent
   steps that padding wastes), and a hand-written PyTorch bucketing loop (sort by
   length, ``pad_sequence`` per batch), the ceiling a PyTorch user reaches by hand.
3. ``gru_explicit``: seqlab GRU(reset_after=False) (explicit path, ``use_fused=False``; trained
   by default on its own scan, bench/recurrent_paths.py) vs fused
   GRU(reset_after=True), both through ``fit()``. Goal >= 0.6x.
4. ``gflops``: the LSTM(128) training step's achieved GFLOP/s (matrix products only:
   forward 8·H·(D+H) and backward 16·H·(D+H) per token) as a fraction of the fp32
   GEMM peak measured here with ``torch.mm`` at 1024^3.

    OMP_NUM_THREADS=1 python bench/rnn_fit.py --quick
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from bench.harness import (add_common_args, finish, interleave, rate_figure,  # noqa: E402
                           ratio_figure, resolve_device, set_threads_from_env)

VOCAB, EMB, MAXLEN, BATCH = 10_000, 32, 256, 128


# --------------------------------------------------------------------------- data
def make_data(n: int, seed: int = 0, signal: float = 0.10, cue_words: int = 10):
    """Variable-length token lists and 0/1 labels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(math.log(174), 0.77, n).astype(int), 8, MAXLEN)
    y = rng.integers(0, 2, n).astype(np.float32)
    seqs = []
    for L, label in zip(lengths, y):
        toks = rng.integers(1 + 2 * cue_words, VOCAB, L)  # neutral words
        cue = rng.random(L) < signal
        base = 1 if label == 1 else 1 + cue_words  # this class's sentiment words
        toks[cue] = rng.integers(base, base + cue_words, int(cue.sum()))
        seqs.append(toks.astype(np.int64))
    return seqs, y


def pad_pre(seqs, maxlen: int = MAXLEN) -> np.ndarray:
    """Keras's default ``pad_sequences``: pad and truncate at the front."""
    out = np.zeros((len(seqs), maxlen), dtype=np.int64)
    for i, s in enumerate(seqs):
        s = s[-maxlen:]
        out[i, maxlen - len(s):] = s
    return out


# --------------------------------------------------------------------------- torch
class TorchNet(nn.Module):
    """The hand-written reference: Embedding + nn.LSTM/GRU/RNN + Linear (logits)."""

    def __init__(self, cell: str = "lstm", units: int = 64):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, EMB)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(EMB, units, batch_first=True)
        self.out = nn.Linear(units, 1)

    def forward(self, x):  # x (B, T) int64
        h, _ = self.rnn(self.emb(x))  # (B, T, H)
        return self.out(h[:, -1]).squeeze(1)  # (B,)


class TorchLoop:
    """A plain training loop: shuffle, slice a batch, forward, backward, step."""

    def __init__(self, cell="lstm", units=64, device="cpu", seed=0):
        torch.manual_seed(seed)
        self.device = device
        self.net = TorchNet(cell, units).to(device)
        # Keras's RMSprop defaults, as seqlab's "rmsprop".
        self.opt = torch.optim.RMSprop(self.net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        self.loss = nn.BCEWithLogitsLoss()
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = BATCH) -> int:
        self.net.train()
        perm = torch.randperm(len(x), generator=self.gen)
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = x[idx].to(self.device), y[idx].to(self.device)
            loss = self.loss(self.net(xb), yb)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        return len(x)

    def epoch_bucketed(self, seqs: list, y: torch.Tensor, batch_size: int = BATCH) -> int:
        """The hand-written bucketing a PyTorch user would write: sort by length (random
        tie-break), cut into batches, shuffle their order, pad each batch after its
        sequences to its own longest (``pad_sequence``), read h at each row's last step."""
        self.net.train()
        lengths = torch.tensor([len(s) for s in seqs])
        noise = torch.rand(len(seqs), generator=self.gen)
        order = torch.argsort(lengths.double() + noise)
        batches = list(order.split(batch_size))
        for b in torch.randperm(len(batches), generator=self.gen).tolist():
            idx = batches[b]
            xb = nn.utils.rnn.pad_sequence([seqs[i] for i in idx], batch_first=True)  # (B, T_b)
            h, _ = self.net.rnn(self.net.emb(xb.to(self.device)))  # (B, T_b, H)
            last = h[torch.arange(len(idx)), (lengths[idx] - 1).to(self.device)]  # (B, H)
            loss = self.loss(self.net.out(last).squeeze(1), y[idx].to(self.device))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        return len(seqs)

    @torch.no_grad()
    def accuracy_lists(self, seqs: list, y: torch.Tensor) -> float:
        """Accuracy read as epoch_bucketed trains: post-padded, h at each row's last step."""
        self.net.eval()
        pred = []
        for i in range(0, len(seqs), 512):
            chunk = seqs[i:i + 512]
            xb = nn.utils.rnn.pad_sequence(chunk, batch_first=True).to(self.device)  # (B, T)
            h, _ = self.net.rnn(self.net.emb(xb))  # (B, T, H)
            last = h[torch.arange(len(chunk)), torch.tensor([len(c) - 1 for c in chunk])]
            pred.append(self.net.out(last).squeeze(1).cpu())
        return float(((torch.cat(pred) > 0).float() == y).float().mean())

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        self.net.eval()
        pred = torch.cat([self.net(x[i:i + 512].to(self.device)).cpu()
                          for i in range(0, len(x), 512)])
        return float(((pred > 0).float() == y).float().mean())


# --------------------------------------------------------------------------- seqlab
def seqlab_available() -> str:
    """'' when seqlab's Sequential and recurrent layers import, else the reason."""
    try:
        import seqlab  # noqa: F401
        from seqlab import Sequential  # noqa: F401
        from seqlab.layers import GRU, LSTM, SimpleRNN  # noqa: F401
        return ""
    except Exception as e:  # the pieces land in parallel
        return f"{type(e).__name__}: {e}"


def seqlab_model(cell="lstm", units=64, seed=0, device="cpu", **rnn_kwargs):
    import seqlab
    from seqlab import layers
    torch.manual_seed(seed)
    rnn = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.SimpleRNN}[cell]
    if cell == "gru":
        rnn_kwargs.setdefault("reset_after", True)
    model = seqlab.Sequential([layers.Embedding(VOCAB, EMB), rnn(units, **rnn_kwargs),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    if device != "cpu":
        model.to(device)
    return model


def seqlab_fit_round(model, x, y, batch_size=BATCH):
    """One round of seqlab fit(): one epoch over ``x`` (an array or a list)."""
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return len(x)


def seqlab_accuracy(model, x, y) -> float:
    out = model.evaluate(x, y, batch_size=512, verbose=0)
    if isinstance(out, dict):
        return float(out.get("accuracy", out.get("acc")))
    return float(out[-1])


# --------------------------------------------------------------------------- peak
def gemm_peak(n: int = 1024, reps: int = 20, dtype=torch.float32, device="cpu",
              clock: str = "wall") -> float:
    """Best-of-``reps`` GFLOP/s of ``torch.mm`` on n x n matrices. ``clock="cpu"`` times
    with process CPU time: on shared cores it is the better estimate of what one thread
    of this CPU can do (the wall clock also counts the time other processes ran)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.mm(a, b)
    now = time.process_time if clock == "cpu" else time.perf_counter
    best = float("inf")
    for _ in range(reps):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = now()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, now() - t0)
    return 2 * n ** 3 / max(best, 1e-9) / 1e9


def lstm_train_flops(T: int, D: int, H: int) -> float:
    """Matrix-product FLOPs per sample of one LSTM training step (fwd 1x + bwd 2x)."""
    return 3 * T * 8 * H * (D + H)


# --------------------------------------------------------------------------- main
def main(argv=None):
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--n", type=int, default=25_000, help="training sequences")
    p.add_argument("--batches", type=int, default=10, help="batches per round (padded figures)")
    p.add_argument("--only", default="padded,bucketed,gru_explicit,gflops")
    args = p.parse_args(argv)
    set_threads_from_env()
    device = resolve_device(args.device)
    if args.quick:
        args.n = min(args.n, 6_000)
        args.batches = min(args.batches, 6)
    only = set(args.only.split(","))
    why_not = seqlab_available()
    if why_not:
        print(f"seqlab candidates skipped ({why_not}): plain-PyTorch baselines only")

    seqs, y = make_data(args.n, seed=0)
    test_seqs, test_y = make_data(2_000, seed=1)
    lens = np.array([len(s) for s in seqs])
    print(f"data: n={args.n}, length median {np.median(lens):.0f}, mean {lens.mean():.0f}, "
          f"{(lens == MAXLEN).mean():.0%} at the cap {MAXLEN}; padding to {MAXLEN} wastes "
          f"{1 - lens.mean() / MAXLEN:.0%} of the steps")
    X = torch.from_numpy(pad_pre(seqs))
    Y = torch.from_numpy(y)
    X_np, y_np = X.numpy(), y
    nb = args.batches * BATCH
    figures, extra = [], {}

    # 1. padded: seqlab fit() vs the hand-written loop, per cell type.
    if "padded" in only:
        for cell in ("lstm", "gru", "rnn"):
            loop = TorchLoop(cell, device=device)
            cands = {"torch": lambda: loop.epoch(X[:nb], Y[:nb])}
            if not why_not:
                m = seqlab_model(cell, device=device)
                cands["seqlab"] = lambda: seqlab_fit_round(m, X_np[:nb], y_np[:nb])
            print(f"\n[padded {cell}] {args.batches} batches of {BATCH} per round")
            res = interleave(cands, args.repeats, args.warmup, device=device,
                             verbose=args.verbose)
            print(res.table())
            figures.append(rate_figure(f"padded {cell}(64) torch loop", res, "torch"))
            if "seqlab" in cands:
                figures.append(rate_figure(f"padded {cell}(64) seqlab fit", res, "seqlab"))
                figures.append(ratio_figure(f"padded {cell}(64): seqlab / torch", res,
                                            "seqlab", "torch", goal=0.95))

    # 2. bucketed: seqlab fit() on lists vs the loop padding to 256; one epoch per round.
    #    Also a hand-written bucketing loop: the ceiling a PyTorch user reaches by hand.
    if "bucketed" in only:
        seqs_t = [torch.from_numpy(s_) for s_ in seqs]
        loop = TorchLoop("lstm", device=device, seed=1)
        loop_b = TorchLoop("lstm", device=device, seed=1)
        cands = {"torch_pad256": lambda: loop.epoch(X, Y),
                 "torch_bucketed": lambda: loop_b.epoch_bucketed(seqs_t, Y)}
        if not why_not:
            m = seqlab_model("lstm", device=device, seed=1)
            cands["seqlab_lists"] = lambda: seqlab_fit_round(m, seqs, y)
        reps = max(3, args.repeats)
        ideal = MAXLEN / lens.mean()
        print(f"\n[bucketed lstm] one epoch of {args.n} per round, {reps} rounds, no warm-up; "
              f"removing all padding saves at most {MAXLEN}/{lens.mean():.0f} = {ideal:.2f}x "
              f"of the recurrent steps")
        res = interleave(cands, reps, 0, device=device, verbose=True)
        print(res.table())
        Xt, Yt = torch.from_numpy(pad_pre(test_seqs)), torch.from_numpy(test_y)
        acc_t = loop.accuracy(Xt, Yt)
        figures.append({"name": "padding-free bound: 256 / mean length", "value": ideal,
                        "unit": "x",
                        "note": "ratio of recurrent steps; shorter batches also run a "
                                "little faster per step"})
        figures.append(rate_figure("bucketed lstm(64) torch loop padded to 256", res,
                                   "torch_pad256"))
        figures.append(ratio_figure("variable length: hand-written torch bucketing / torch "
                                    "pad-256", res, "torch_bucketed", "torch_pad256"))
        figures.append({"name": f"test accuracy after {reps} epochs, torch loop pad-256",
                        "value": acc_t, "unit": ""})
        acc_b = loop_b.accuracy_lists([torch.from_numpy(s_) for s_ in test_seqs], Yt)
        figures.append({"name": f"test accuracy after {reps} epochs, hand-written torch "
                                f"bucketing", "value": acc_b, "unit": ""})
        if "seqlab_lists" in cands:
            acc_s = seqlab_accuracy(m, test_seqs, test_y)
            figures.append(rate_figure("bucketed lstm(64) seqlab fit on lists", res,
                                       "seqlab_lists"))
            figures.append(ratio_figure("variable length: seqlab bucketing / torch pad-256",
                                        res, "seqlab_lists", "torch_pad256", goal=1.8))
            figures.append(ratio_figure("variable length: seqlab bucketing / hand-written "
                                        "torch bucketing", res, "seqlab_lists",
                                        "torch_bucketed"))
            figures.append({"name": f"test accuracy after {reps} epochs, seqlab", "value": acc_s,
                            "unit": ""})
            figures.append({"name": "accuracy: seqlab - torch pad-256",
                            "value": acc_s - acc_t, "unit": "", "goal": -0.02,
                            "note": "same or better: >= -0.02"})

    # 3. GRU(reset_after=False) explicit path vs fused GRU(reset_after=True).
    if "gru_explicit" in only and not why_not:
        fused = seqlab_model("gru", device=device, reset_after=True)
        expl = seqlab_model("gru", device=device, reset_after=False, use_fused=False)
        cands = {"gru_fused": lambda: seqlab_fit_round(fused, X_np[:nb], y_np[:nb]),
                 "gru_explicit": lambda: seqlab_fit_round(expl, X_np[:nb], y_np[:nb])}
        print(f"\n[gru explicit vs fused] {args.batches} batches per round")
        res = interleave(cands, args.repeats, args.warmup, device=device,
                         verbose=args.verbose)
        print(res.table())
        figures.append(ratio_figure("GRU(reset_after=False) explicit / fused", res,
                                    "gru_explicit", "gru_fused", goal=0.6))

    # 4. LSTM(128) training step GFLOP/s vs the GEMM peak. Both on the wall clock and on
    #    CPU time (one thread: CPU time leaves out the time other processes ran).
    if "gflops" in only:
        peak = {"wall": gemm_peak(device=device), "cpu": gemm_peak(device=device, clock="cpu")}
        loop = TorchLoop("lstm", 128, device=device)
        cands = {"torch": lambda: loop.epoch(X[:nb], Y[:nb])}
        if not why_not:
            m = seqlab_model("lstm", 128, device=device)
            cands["seqlab"] = lambda: seqlab_fit_round(m, X_np[:nb], y_np[:nb])
        print(f"\n[lstm(128) GFLOP/s] {args.batches} batches per round")
        res = interleave(cands, args.repeats, args.warmup, device=device,
                         verbose=args.verbose)
        peak = {"wall": max(peak["wall"], gemm_peak(device=device)),
                "cpu": max(peak["cpu"], gemm_peak(device=device, clock="cpu"))}
        print(res.table())
        print(f"fp32 GEMM peak (best of before and after): {peak['wall']:.1f} GFLOP/s wall, "
              f"{peak['cpu']:.1f} GFLOP/s CPU time")
        per_sample = lstm_train_flops(MAXLEN, EMB, 128) / 1e9
        figures.append({"name": "fp32 GEMM peak (torch.mm 1024^3), wall clock",
                        "value": peak["wall"], "unit": "GFLOP/s"})
        figures.append({"name": "fp32 GEMM peak (torch.mm 1024^3), CPU time",
                        "value": peak["cpu"], "unit": "GFLOP/s"})
        for c in cands:
            g = res.stats(c)["median"] * per_sample
            gc = statistics.median(res.cpu_rates[c]) * per_sample
            figures.append({"name": f"LSTM(128) train step, {c}, wall clock", "value": g,
                            "unit": "GFLOP/s"})
            figures.append({"name": f"LSTM(128) train step, {c}: fraction of GEMM peak "
                            f"(wall)", "value": g / peak["wall"], "unit": ""})
            figures.append({"name": f"LSTM(128) train step, {c}: fraction of GEMM peak "
                            f"(CPU time)", "value": gc / peak["cpu"], "unit": "",
                            "note": f"{gc:.1f} GFLOP/s on CPU time"})
    extra["n"] = args.n
    finish("rnn_fit", args, figures, extra, device=device)


if __name__ == "__main__":
    main()
