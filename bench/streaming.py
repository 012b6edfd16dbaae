"""A character LM trained from a corpus on disk (``seqlab.data.streaming``) against the
same model on an in-memory corpus: tokens/s and peak resident memory.

A corpus of ``--mb`` megabytes of generated text (words of a fixed random lexicon, one
sentence a line) is written in blocks built with NumPy, tokenised once in a fresh
process (``tokenise_corpus``: chunk by chunk into a ``uint8`` id file, a line index, a
JSON vocabulary),
then two kinds of fresh process alternate ``--rounds`` times, each training
``--steps`` batches of ``--batch`` windows of ``--seq-len`` characters (Embedding(V, 32)
+ LSTM(128) + Dense(V), Adam, one thread):

* disk: ``TokenCorpus`` reads each window with ``os.pread`` from the id file;
* memory: the same windows from the ids of the first ``--memory-mb`` MB held in a NumPy
  array (the in-memory baseline; the whole corpus would not fit in the memory allowed).

Each process prints its tokens/s (the steps after the first 5) and its peak resident
memory (``VmHWM``, and ``ru_maxrss`` of ``resource.getrusage``). Why raw id files and ``pread`` rather than Arrow (Hugging Face
``datasets``): a character or token-id stream needs no schema, the file is the ids and
nothing else, a window is one system call, and nothing beyond NumPy is needed.

    OMP_NUM_THREADS=1 python bench/streaming.py --mb 4096 --out docs/results/streaming.md
    OMP_NUM_THREADS=1 python bench/streaming.py --mb 20 --steps 8 --rounds 1   # smoke run
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
    """``mb`` MB of lines of random words (a 2,000-word lexicon, Zipf frequencies, 5 to
    15 words a line), written block by block: each block is built by NumPy indexing into
    the lexicon's bytes (no Python string per word), about 6 MB at a time."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lengths = rng.integers(2, 9, 2000)
    flat = np.concatenate([np.r_[rng.choice(letters, n), 32].astype(np.uint8)
                           for n in lengths])   # "word word ..." each with its space
    size = (lengths + 1).astype(np.int32)       # (2000,) bytes of each word + its space
    offset = np.r_[0, np.cumsum(size)[:-1]].astype(np.int32)  # (2000,) starts in flat
    zipf = np.cumsum(1.0 / np.arange(1, 2001) ** 1.2)
    zipf /= zipf[-1]                            # (2000,) CDF of word ranks, p ~ 1/r^1.2
    target, written = mb * 1_000_000, 0
    with open(path, "wb") as f:
        while written < target:
            words = np.searchsorted(zipf, rng.random(1_000_000))  # (W,) word ids
            n = size[words]                                          # (W,)
            ends = np.cumsum(n, dtype=np.int32)                      # (W,) in the block
            src = np.repeat(offset[words] - (ends - n), n)           # (bytes,)
            src += np.arange(ends[-1], dtype=np.int32)
            block = flat[src]
            cuts = np.cumsum(rng.integers(5, 16, len(words) // 5))  # a line's last word
            block[ends[cuts[cuts <= len(words)] - 1] - 1] = 10      # its space -> "\n"
            block = block[:target - written]
            f.write(block.tobytes())
            written += len(block)


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
                      "peak_rss_mb": peak_rss_mb(), "ru_maxrss_mb": ru_maxrss_mb(),
                      "corpus_tokens": corpus.num_tokens}))


def ru_maxrss_mb() -> float:
    """``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in MB. Linux keeps it across
    ``execve``, so a process started by a larger one may report the parent's peak: an
    upper bound of this process's own."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tokenise(text: Path, folder: Path) -> None:
    """The tokenising worker: prints its time and peak memory."""
    from seqlab.data.streaming import tokenise_corpus

    start = time.perf_counter()
    corpus = tokenise_corpus(text, folder)
    print(json.dumps({"seconds": time.perf_counter() - start, "tokens": corpus.num_tokens,
                      "vocab": len(corpus.vocab), "peak_rss_mb": peak_rss_mb(),
                      "ru_maxrss_mb": ru_maxrss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from
    the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: list) -> dict:
    """This script as a fresh process with ``args``; its last JSON line."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *map(str, args)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(folder, mode, args) -> dict:
    return worker(["--worker", mode, "--folder", folder, "--steps", args.steps, "--batch",
                   args.batch, "--seq-len", args.seq_len, "--memory-mb", args.memory_mb])


def spread(values) -> str:
    return (f"{statistics.median(values):.2f}x (min {min(values):.2f}, "
            f"max {max(values):.2f})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=4096, help="corpus size in MB (10^6 bytes)")
    p.add_argument("--memory-mb", type=int, default=64, help="in-memory baseline's MB")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--limit-mb", type=float, default=1536, help="the peak RSS allowed")
    p.add_argument("--dir", help="work folder (default: a temporary one); the corpus in it "
                                 "is removed after")
    p.add_argument("--out", help="write the results as Markdown to this file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "tokenise":
        tokenise(Path(args.folder) / "corpus.txt", Path(args.folder) / "ids")
        return
    if args.worker:
        train(Path(args.folder), args.worker, args.steps, args.batch, args.seq_len,
              args.memory_mb)
        return
    work = Path(args.dir or tempfile.mkdtemp(prefix="seqlab-streaming-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        generate(work / "corpus.txt", args.mb)
        gen_s = time.perf_counter() - start
        gen_rss = peak_rss_mb()
        print(f"corpus {args.mb} MB generated in {gen_s:.0f} s (peak RSS {gen_rss:.0f} MB)",
              flush=True)
        tok = worker(["--worker", "tokenise", "--folder", work])
        (work / "corpus.txt").unlink()  # only the id file is read from now on
        print(f"tokenised in {tok['seconds']:.0f} s: {tok['tokens']:,} tokens, vocabulary "
              f"{tok['vocab']}, peak RSS {tok['peak_rss_mb']:.0f} MB", flush=True)
        rows = []
        for r in range(args.rounds):
            order = ("disk", "memory") if r % 2 == 0 else ("memory", "disk")
            got = {mode: run(work / "ids", mode, args) for mode in order}
            d, m = got["disk"], got["memory"]
            rows.append((d, m))
            print(f"round {r + 1}: disk {d['tokens_per_s']:.0f} tok/s (peak RSS "
                  f"{d['peak_rss_mb']:.0f} MB), memory {m['tokens_per_s']:.0f} tok/s "
                  f"({m['peak_rss_mb']:.0f} MB)", flush=True)
    finally:  # the corpus and its ids go; a --dir given stays
        for made in ([work / "corpus.txt", work / "ids"] if args.dir else [work]):
            shutil.rmtree(made, ignore_errors=True) if made.is_dir() else made.unlink(
                missing_ok=True)
    ratios = [d["tokens_per_s"] / m["tokens_per_s"] for d, m in rows]
    peak = max(max(d["peak_rss_mb"], d["ru_maxrss_mb"]) for d, _ in rows)
    tok_peak = max(tok["peak_rss_mb"], tok["ru_maxrss_mb"])
    gb = tok["tokens"] / 1e9
    lines = [
        "# A character LM from a corpus on disk (seqlab.data.streaming)", "",
        f"Written by `bench/streaming.py` ({' '.join(sys.argv[1:])}). A generated corpus of "
        f"{tok['tokens']:,} characters ({gb:.2f} GB; lines of words from a 2,000-word "
        f"lexicon), written in {gen_s:.0f} s and tokenised once in {tok['seconds']:.0f} s "
        f"(`tokenise_corpus`: chunks of 4 MB, a `uint8` id file of {gb:.2f} GB and a line "
        f"index; the text file is deleted after). Then fresh processes train "
        f"{args.steps} steps of {args.batch} x {args.seq_len} characters, Embedding(V, 32) + "
        f"LSTM(128) + Dense(V), Adam, 1 thread: from disk (`TokenCorpus`: each window one "
        f"`pread` at a random offset of the whole id file) and from memory (the same model "
        f"and windows cut from the first {args.memory_mb} MB of ids in a NumPy array), "
        f"alternating, {args.rounds} rounds, tokens/s over the steps after the 5th. "
        f"1-minute load average {os.getloadavg()[0]:.1f} at the end (the machine's "
        f"{os.cpu_count()} cores were shared with other work: the spread between rounds "
        f"comes from it). No GPU was used.", "",
        "| round | disk tok/s | disk peak RSS (MB) | memory tok/s | memory peak RSS (MB) "
        "| disk / memory |",
        "|---:|---:|---:|---:|---:|---:|",
        *[f"| {i + 1} | {d['tokens_per_s']:.0f} | {d['peak_rss_mb']:.0f} | "
          f"{m['tokens_per_s']:.0f} | {m['peak_rss_mb']:.0f} | {r:.2f}x |"
          for i, ((d, m), r) in enumerate(zip(rows, ratios))], "",
        f"- Disk / memory tokens/s: **{spread(ratios)}** (goal >= 0.9x).",
        f"- Peak resident memory of the training process over a {gb:.2f} GB corpus: "
        f"**{peak:.0f} MB** (the larger of `VmHWM` and `ru_maxrss`; limit "
        f"{args.limit_mb:.0f} MB: {'within' if peak < args.limit_mb else 'OVER'}); of "
        f"the tokenising process: {tok_peak:.0f} MB; of the generating process: "
        f"{gen_rss:.0f} MB. (`ru_maxrss` survives `execve`: a process started by the "
        f"{gen_rss:.0f} MB generating process reports at least that; `VmHWM` is the "
        f"process's own: training from disk {max(d['peak_rss_mb'] for d, _ in rows):.0f} "
        f"MB, tokenising {tok['peak_rss_mb']:.0f} MB. Most of it is torch itself; the "
        f"window order is computed as it goes, so nothing grows with the corpus.)",
        "- Why raw id files and `pread` rather than Arrow (Hugging Face `datasets`): a "
        "character or token-id stream needs no schema, the file is the ids and nothing "
        "else, a window is one system call, and nothing beyond NumPy is needed. A "
        "`numpy.memmap` (`TokenCorpus.ids()`) serves sequential reads; random windows "
        "through a long-lived mapping would keep every page they touched resident.", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    if peak >= args.limit_mb:
        raise SystemExit(f"bench/streaming.py: peak RSS {peak:.0f} MB >= {args.limit_mb} MB")


if __name__ == "__main__":
    main()
