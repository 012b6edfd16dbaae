"""Which thread settings should seqlab use? torch threads 1 vs 2, OMP_WAIT_POLICY.

``OMP_WAIT_POLICY`` is read by the OpenMP runtime when torch is imported, so each
configuration runs in its own subprocess (this same file with ``--child``). The parent
runs the configurations interleaved, round after round, and prints samples/s of a small
LSTM training loop (Embedding(10000, 32) + LSTM(64) + Linear, batch 128, T = 128):

    threads  policy    min  median  max   vs 1 thread PASSIVE

Each configuration is measured twice: on the machine as it is ("idle"), and with one
busy process competing for a core ("busy", a Python loop that never sleeps: a second job,
a CI neighbour). An RNN step is many small parallel regions; between them a PASSIVE
OpenMP worker sleeps and must be woken, an ACTIVE one spins. On idle cores spinning wins
(on a 2-vCPU virtual machine 2 PASSIVE threads can be slower than 1); on shared cores the
spinning worker steals the cycles the busy thread needs. seqlab sets
``OMP_WAIT_POLICY=PASSIVE`` by default (safe on shared machines; the tests and bench
recipes use one thread); README "Threads" says when to choose ACTIVE with 2 threads.

    python bench/threads.py --quick
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Results, add_common_args, finish  # noqa: E402

CONFIGS = [(1, "PASSIVE"), (1, "ACTIVE"), (2, "PASSIVE"), (2, "ACTIVE")]


def child(threads: int, batches: int, T: int) -> None:
    """Train the small LSTM for ``batches`` batches; print samples/s as JSON."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    emb, rnn, out = nn.Embedding(10_000, 32), nn.LSTM(32, 64, batch_first=True), nn.Linear(64, 1)
    params = [*emb.parameters(), *rnn.parameters(), *out.parameters()]
    opt = torch.optim.RMSprop(params, lr=1e-3)
    x = torch.randint(1, 10_000, (128, T))
    y = torch.randint(0, 2, (128,)).float()

    def step():
        h, _ = rnn(emb(x))  # (B, T, H)
        loss = nn.functional.binary_cross_entropy_with_logits(out(h[:, -1]).squeeze(1), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"rate": batches * 128 / dt, "threads": torch.get_num_threads(),
                      "policy": os.environ.get("OMP_WAIT_POLICY")}))


def run_config(threads: int, policy: str, batches: int, T: int) -> float:
    env = dict(os.environ, OMP_WAIT_POLICY=policy, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--child", str(threads),
                          "--batches", str(batches), "--T", str(T)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def main(argv=None):
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--T", type=int, default=128)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, args.batches, args.T)
    if args.quick:
        args.batches = min(args.batches, 4)
    figures = []
    for mode in ("idle", "busy"):
        figures += measure_mode(mode, args)
    finish("threads", args, figures)


def measure_mode(mode: str, args) -> list:
    """The interleaved table of every configuration, with a competing busy process when
    ``mode`` is "busy"."""
    prefix = "threads:" if mode == "idle" else "threads, one busy process beside:"
    names = [f"{t} thread{'s' if t > 1 else ''} {pol}" for t, pol in CONFIGS]
    res = Results({n: [] for n in names})
    rival = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
             if mode == "busy" else None)
    try:
        _rounds(names, res, args)
    finally:
        if rival is not None:
            rival.kill()
            rival.wait()
    base = names[0]
    print(f"\n[{mode}] small LSTM training (B=128, T={args.T}), {args.batches} batches per "
          f"run, {args.repeats} interleaved runs; load average {os.getloadavg()[0]:.2f}")
    print(f"{'configuration':<20} {'min':>8} {'median':>8} {'max':>8}   vs {base}")
    figures = []
    for n in names:
        s = res.stats(n)
        r = res.ratio(n, base)
        print(f"{n:<20} {s['min']:>8.1f} {s['median']:>8.1f} {s['max']:>8.1f}   "
              f"{r['median']:.2f}x (min {r['min']:.2f}, max {r['max']:.2f})")
        figures.append({"name": f"{prefix} {n}", "value": s["median"], "min": s["min"],
                        "max": s["max"], "unit": "samples/s"})
        if n != base:
            figures.append({"name": f"{prefix} {n} / {base}", "value": r["median"],
                            "min": r["min"], "max": r["max"], "unit": "x"})
    return figures


def _rounds(names: list, res, args) -> None:
    for r in range(args.repeats):
        order = list(zip(names, CONFIGS))
        if r % 2:
            order.reverse()
        for name, (t, pol) in order:
            res.rates[name].append(run_config(t, pol, args.batches, args.T))
            if args.verbose:
                print(f"  [round {r + 1}] {name}: {res.rates[name][-1]:.1f} samples/s", flush=True)


if __name__ == "__main__":
    main()
