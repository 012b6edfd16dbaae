"""A character LM trained from a corpus on disk (``seqlab.data.streaming``) against the
same model on an in-memory corpus: tokens/s and peak resident memory.

A corpus of ``--mb`` megabytes of generated text (words of a fixed random lexicon, one
sentence a line) is written in chunks, tokenised once (``tokenise_corpus``: a ``uint8``
id file written through ``numpy.memmap``-sized chunks, a line index, a JSON vocabulary),
then two kinds of fresh process alternate ``--rounds`` times, each training
``--steps`` batches of ``--batch`` windows of ``--seq-len`` characters (Embedding(V, 32)
+ LSTM(128) + Dense(V), Adam, one thread):

* disk: ``TokenCorpus`` reads each window with ``os.pread`` from the id file;
* memory: the same windows from the ids of the first ``--memory-mb`` MB held in a NumPy
  array (the in-memory baseline; the whole corpus would not fit in the memory allowed).

Each process prints its tokens/s (the steps after the first 5) and its peak resident
memory (``VmHWM``). Why raw id files and ``pread`` rather than Arrow (Hugging Face
``datasets``): a character or token-id stream needs no schema, the file is the ids and
nothing else, a window is one system call, and nothing beyond NumPy is needed.

    OMP_NUM_THREADS=1 python bench/streaming.py --mb 512 --out docs/results/streaming.md
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(path: Path, mb: int, seed: int = 0) -> None:
    """``mb`` MB of lines of random words (a 2,000-word lexicon, Zipf frequencies)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lexicon = ["".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(2000)]
    target = mb * 1_000_000
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        while written < target:
            words = np.minimum(rng.zipf(1.2, 200_000), 2000) - 1
            ends = rng.integers(5, 15, len(words) // 5).cumsum()
            text = " ".join(lexicon[i] for i in words)
            parts = text.split(" ")
            lines = [" ".join(parts[a:b]) + " ." for a, b in zip(np.r_[0, ends[:-1]], ends)
                     if b <= len(parts)]
            block = "\n".join(lines) + "\n"
            f.write(block[:target - written])
            written += min(len(block), target - written)


def train(folder: Path, mode: str, steps: int, batch: int, seq_len: int, memory_mb: int):
    from seqlab import Model
    from seqlab.data.streaming import TokenCorpus

    torch.set_num_threads(1)
    corpus = TokenCorpus(folder, seq_len=seq_len)
    if mode == "memory":
        ids = np.fromfile(folder / "tokens.bin", dtype=corpus.dtype,
                          count=min(corpus.num_tokens, memory_mb * 1_000_000))
        corpus.num_tokens = len(ids)
        corpus.read = lambda offset, n: ids[offset:offset + n]
    vocab = len(corpus.vocab)

    class CharLM(Model):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, 32)
            self.lstm = torch.nn.LSTM(32, 128, batch_first=True)
            self.out = torch.nn.Linear(128, vocab)

        def compute_loss(self, b):
            x, y = b
            h, _ = self.lstm(self.emb(x))  # (B, T, H)
            logits = self.out(h)  # (B, T, V)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab),
                                                     y.reshape(-1), reduction="sum")
            return loss, y.numel(), {}

    class Steps:  # the first ``steps`` batches of an epoch, timed after the 5th
        seeded = False
        times: list = []

        def num_batches(self, batch_size):
            return steps

        def batches(self, batch_size, shuffle=True, seed=0, epoch=0):
            for i, b in enumerate(corpus.batches(batch_size, shuffle, seed, epoch)):
                if i == steps:
                    break
                self.times.append(time.perf_counter())
                yield b

    torch.manual_seed(0)
    model = CharLM()
    model.compile(optimizer="adam")
    source = Steps()
    model.fit(source, batch_size=batch, epochs=1, verbose=0, seed=0)
    done = time.perf_counter()
    t = source.times
    tokens = (len(t) - 5) * batch * seq_len
    print(json.dumps({"mode": mode, "tokens_per_s": tokens / (done - t[5]),
                      "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from
    the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(folder, mode, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", mode, "--folder",
           str(folder), "--steps", str(args.steps), "--batch", str(args.batch),
           "--seq-len", str(args.seq_len), "--memory-mb", str(args.memory_mb)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=256, help="corpus size in MB")
    p.add_argument("--memory-mb", type=int, default=64, help="in-memory baseline's MB")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--dir", help="work folder (default: a temporary one, removed after)")
    p.add_argument("--out", help="write the results as Markdown to this file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        train(Path(args.folder), args.worker, args.steps, args.batch, args.seq_len,
              args.memory_mb)
        return
    from seqlab.data.streaming import tokenise_corpus

    work = Path(args.dir or tempfile.mkdtemp(prefix="seqlab-streaming-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        generate(work / "corpus.txt", args.mb)
        gen_s = time.perf_counter() - start
        start = time.perf_counter()
        corpus = tokenise_corpus(work / "corpus.txt", work / "ids")
        tok_s = time.perf_counter() - start
        tok_rss = peak_rss_mb()
        print(f"corpus {args.mb} MB generated in {gen_s:.0f} s, tokenised in {tok_s:.0f} s "
              f"({corpus.num_tokens:,} tokens, vocabulary {len(corpus.vocab)}; peak RSS "
              f"{tok_rss:.0f} MB)", flush=True)
        rows = []
        for r in range(args.rounds):
            d, m = run(work / "ids", "disk", args), run(work / "ids", "memory", args)
            rows.append((d, m))
            print(f"round {r + 1}: disk {d['tokens_per_s']:.0f} tok/s ({d['peak_rss_mb']:.0f} "
                  f"MB), memory {m['tokens_per_s']:.0f} tok/s ({m['peak_rss_mb']:.0f} MB)",
                  flush=True)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    ratio = statistics.median(d["tokens_per_s"] / m["tokens_per_s"] for d, m in rows)
    lines = ["# A character LM from a corpus on disk (seqlab.data.streaming)", "",
             f"Written by `bench/streaming.py` ({' '.join(sys.argv[1:])}). Corpus {args.mb} MB "
             f"({corpus.num_tokens:,} characters), generated in {gen_s:.0f} s and tokenised "
             f"in {tok_s:.0f} s (peak RSS of the tokenising process {tok_rss:.0f} MB). "
             f"{args.steps} steps of {args.batch} x {args.seq_len} characters, Embedding(V, 32)"
             f" + LSTM(128) + Dense(V), 1 thread; in-memory baseline: the first "
             f"{args.memory_mb} MB of ids in a NumPy array.", "",
             "| round | disk tok/s | disk peak RSS (MB) | memory tok/s | memory peak RSS (MB) |",
             "|---:|---:|---:|---:|---:|",
             *[f"| {i + 1} | {d['tokens_per_s']:.0f} | {d['peak_rss_mb']:.0f} | "
               f"{m['tokens_per_s']:.0f} | {m['peak_rss_mb']:.0f} |"
               for i, (d, m) in enumerate(rows)], "",
             f"Median disk / memory tokens/s: {ratio:.2f}x.", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
