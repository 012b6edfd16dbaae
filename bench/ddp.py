"""Data-parallel throughput: 2 processes x 1 thread against 1 process x 1 thread.

The IMDB-shaped LSTM classifier (Embedding(10000, 32) + LSTM(64) + Dense(1, sigmoid),
global batch 128, padded reviews of T = 200 token ids, rmsprop) trains ``--samples``
reviews per epoch. Each measurement is a fresh process (or a fresh pair under
``torch.distributed.run``, gloo, loopback) that trains ``--epochs`` epochs and times
the last one (the first warms up); one process and two processes alternate round by
round (``--rounds``), so a busy machine slows both alike. Both runs take the same global
batches (``batch_size`` is the global batch), so they do the same work per epoch.

Also printed: the padding a length-bucketed epoch spends on one process and on two
(``DistributedBucketSampler``), for IMDB-like review lengths.

    OMP_NUM_THREADS=1 python bench/ddp.py --out docs/results/distributed.md
    OMP_NUM_THREADS=1 python bench/ddp.py --rounds 1 --samples 512   # smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's seqlab


def train(samples: int, epochs: int) -> None:
    """One measurement (run alone or by each rank): prints a JSON line on rank 0."""
    from seqlab import Sequential, distributed, layers
    from seqlab.layers.recurrent import LSTM
    from seqlab.models.callbacks import Callback

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10000, (samples, 200))  # (N, T)
    y = rng.integers(0, 2, samples).astype("float32")
    torch.manual_seed(0)
    model = Sequential([layers.Embedding(10000, 32), LSTM(64),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    times = []

    class Clock(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            distributed.barrier()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            distributed.barrier()
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, seed=0, callbacks=[Clock()])
    if distributed.is_writer():
        group = distributed.current()
        print(json.dumps({"world": 1 if group is None else group.world,
                          "samples_per_s": samples / times[-1]}), flush=True)


def measure(nproc: int, samples: int, epochs: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(k, None)
    me = [str(Path(__file__).resolve()), "--worker", "--samples", str(samples),
          "--epochs", str(epochs)]
    if nproc == 1:
        cmd = [sys.executable, *me]
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
               "--master-addr", "127.0.0.1", "--master-port", str(port), *me]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"bench/ddp.py: the {nproc}-process run failed:\n{out.stderr[-3000:]}")
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line)["samples_per_s"]


def padding_table() -> list[str]:
    from seqlab.data.batching import BucketBatchSampler, padded_tokens
    from seqlab.distributed import DistributedBucketSampler

    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(5.3, 0.6, 25000).astype(int), 10, 2500)  # IMDB-like
    real = int(lengths.sum())
    one = padded_tokens(lengths, BucketBatchSampler(lengths, 128, seed=0).batches(0))
    rows = [f"| sampler (global batch 128, 25,000 reviews, mean length "
            f"{lengths.mean():.0f}) | padding / real tokens |", "|---|---:|",
            f"| BucketBatchSampler, 1 process | {one / real:.2%} |"]
    for world in (2, 4):
        pad, _ = DistributedBucketSampler(lengths, 128, 0, world, seed=0).padding(0)
        rows.append(f"| DistributedBucketSampler, {world} processes | {pad / real:.2%} |")
    plain = padded_tokens(lengths, [list(range(i, min(i + 128, len(lengths))))
                                    for i in range(0, len(lengths), 128)])
    rows.append(f"| no bucketing (batches in data order) | {plain / real:.2%} |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=2048, help="reviews per epoch")
    p.add_argument("--epochs", type=int, default=2, help="epochs per run; the last is timed")
    p.add_argument("--rounds", type=int, default=3, help="alternating 1-process/2-process rounds")
    p.add_argument("--out", help="write the results as Markdown to this file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        train(args.samples, args.epochs)
        return
    one, two = [], []
    for r in range(args.rounds):
        one.append(measure(1, args.samples, args.epochs))
        two.append(measure(2, args.samples, args.epochs))
        print(f"round {r + 1}: 1 process {one[-1]:.1f} samples/s, 2 processes "
              f"{two[-1]:.1f} samples/s ({two[-1] / one[-1]:.2f}x)", flush=True)
    ratios = [b / a for a, b in zip(one, two)]
    load = os.getloadavg()[0]
    lines = [
        "# Data-parallel training on the CPU (torch.distributed, gloo)", "",
        "Written by `bench/ddp.py` (" + " ".join(sys.argv[1:]) + "). IMDB-shaped LSTM "
        "(Embedding(10000, 32) + LSTM(64) + Dense), global batch 128, T = 200, "
        f"{args.samples} reviews per epoch, the last of {args.epochs} epochs timed; "
        "1 process x 1 thread and 2 processes x 1 thread in alternating rounds.", "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}; load average {load:.1f} when the script ended "
        "(other work shared the cores).", "",
        "| round | 1 process (samples/s) | 2 processes (samples/s) | speed-up |",
        "|---:|---:|---:|---:|",
        *[f"| {i + 1} | {a:.1f} | {b:.1f} | {b / a:.2f}x |"
          for i, (a, b) in enumerate(zip(one, two))],
        f"| median | {statistics.median(one):.1f} | {statistics.median(two):.1f} | "
        f"{statistics.median(ratios):.2f}x |", "",
        "Two processes on two cores can at most double the throughput of one. On cores "
        "shared with other work the scheduler gives each runnable process a share, and the "
        "shares move with the other work from one run to the next: a ratio above 2x, or a "
        "spread between rounds, measures the machine's load rather than the parallel "
        "training. Only an idle machine measures the speed-up itself.",
        "",
        *padding_table(), "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
