"""Task figure: Bach chorale melodies, held-out bits per note, and new chorales as MIDI.

The ``bach_chorales`` dataset (soprano lines as pitch+duration tokens, one token a note;
see seqlab/data/datasets/music.py). The ``generate`` task splits the token stream: the last
10% (whole chorales, but for one cut) is the test set, the 10% before it validates.
Systems on the same split:
  - the ``generate`` task's LSTM language model (examples/bach_chorales_lstm.toml),
  - seqlab's TransformerLM (causal, 2 layers) trained by Model.fit with the same loss,
    scored on the test stream in windows of 64 notes (no context across windows),
  - the task's modified Kneser-Ney n-gram (order 1-3 chosen on validation), and the
    add-one unigram.
Writes docs/results/music.md and two generated melodies as MIDI under bench/out/.

    OMP_NUM_THREADS=1 python bench/task_music.py [--count 120] [--epochs 20]
"""
import argparse
import math
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seqlab import tasks
from seqlab.config import Config
from seqlab.data.datasets.music import write_midi
from seqlab.models.transformers import TransformerLM

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / f"music-{os.getpid()}"
parser = argparse.ArgumentParser()
parser.add_argument("--count", type=int, default=120, help="chorales to parse (0 = all 371)")
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--transformer-epochs", type=int, default=20)
parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "music.md"))
args = parser.parse_args()
OUT.mkdir(parents=True, exist_ok=True)

cfg = Config.load(ROOT / "examples" / "bach_chorales_lstm.toml")
cfg.data.options = {"count": args.count}
cfg.training.epochs, cfg.runs_dir = args.epochs, str(OUT / "runs")
t0 = time.process_time()
run, m = tasks.train(cfg, verbose=False)
lstm_cpu = time.process_time() - t0
run, task, lstm, vocab = tasks.load(run.path)
data = task.prepare(run.config, vocab=vocab)
train, test = data.train, data.test
V = len(vocab["tokenizer"]["word_index"]) + 1
counts = Counter(train.tolist())
unigram = -np.mean([math.log2((counts[t] + 1) / (len(train) + V)) for t in test.tolist()])


class MelodyTransformer(TransformerLM):
    """TransformerLM with the language models' loss: every next token of a chunk."""

    def compute_loss(self, batch):
        (chunk,) = batch
        logits = self(chunk[:, :-1])                                       # (B, T, V)
        target = chunk[:, 1:]                                              # (B, T)
        return F.cross_entropy(logits.transpose(1, 2), target, reduction="sum"), \
            target.numel(), {}


class Chunks:
    """Random-offset chunks of the training stream (a BatchSource)."""

    def __init__(self, stream, length):
        self.stream, self.length = stream, length

    def num_batches(self, batch_size):
        return -(-(len(self.stream) // self.length) // batch_size)

    def batches(self, batch_size, shuffle=False, seed=0, epoch=0):
        rng = np.random.default_rng([seed, epoch])
        off = int(rng.integers(0, self.length))
        n = (len(self.stream) - off) // self.length
        chunks = torch.as_tensor(self.stream[off:off + n * self.length].reshape(n, -1))
        order = rng.permutation(n)
        for i in range(0, n, batch_size):
            yield (chunks[order[i:i + batch_size]],)


torch.manual_seed(0)
t0 = time.process_time()
tf = MelodyTransformer(V, d_model=96, num_heads=4, ff_dim=256, num_layers=2, max_length=128,
                       dropout=0.1)
tf.compile(optimizer=torch.optim.Adam(tf.parameters(), lr=1e-3))
tf.fit(Chunks(train, 65), epochs=args.transformer_epochs, batch_size=16, verbose=0, seed=0)
tf.eval()
with torch.no_grad():
    nll, n = 0.0, 0
    for i in range(0, len(test) - 1, 64):
        chunk = torch.as_tensor(test[i:i + 65]).unsqueeze(0)               # (1, <=65)
        if chunk.shape[1] < 2:
            break
        total, count, _ = tf.compute_loss((chunk,))
        nll, n = nll + float(total), n + count
tf_bits = nll / n / math.log(2)
tf_cpu = time.process_time() - t0

# two new chorales: the LSTM and the Transformer, each from the token "start"
tok_index = vocab["tokenizer"]["word_index"]
index_word = {i: w for w, i in tok_index.items()}
from seqlab.tasks import generate  # noqa: E402
torch.manual_seed(1)
lstm_song = generate.sample(lstm, vocab, run.config, "start", 48, 1.0, top_k=0).split()
with torch.no_grad():
    ids = tf.generate(torch.tensor([[tok_index["start"]]]), max_new_tokens=48,
                      temperature=1.0)[0].tolist()
tf_song = [index_word.get(i, "") for i in ids]
write_midi(lstm_song, OUT / "lstm_chorale.mid")
write_midi(tf_song, OUT / "transformer_chorale.mid")

rows = [("LSTM language model (examples/bach_chorales_lstm.toml)", m["bits_per_token"],
         lstm_cpu),
        ("TransformerLM (d_model 96, 2 layers, windows of 64 notes)", tf_bits, tf_cpu),
        (f"modified Kneser-Ney n-gram (order {m.get('baseline_kneser_ney_order')})",
         m.get("baseline_kneser_ney_bits", float("nan")), None),
        ("add-one unigram", unigram, None)]
lines = ["# Bach chorale melodies: held-out bits per note", "",
         f"Generated by `bench/task_music.py`: the first {args.count or 371} chorales of "
         f"music21's corpus, soprano line, one token per note (pitch+duration, "
         f"`bach_chorales`); {len(train)} training tokens, {len(test)} test tokens (the "
         f"last 10% of the stream). Lower is better. CPU time is process time on one "
         f"thread of a shared 2-core machine.", "",
         "| model | test bits per note | nats per note | training CPU-min |",
         "|---|---|---|---|"]
for name, bits, cpu in rows:
    lines.append(f"| {name} | {bits:.3f} | {bits * math.log(2):.3f} | "
                 f"{'-' if cpu is None else f'{cpu / 60:.1f}'} |")
lines += ["", "New melodies (sampled at temperature 1 from `start`) are written as MIDI "
          "by `seqlab.data.datasets.music.write_midi`:", "",
          f"- LSTM: `{' '.join(lstm_song[:16])} ...`",
          f"- Transformer: `{' '.join(tf_song[:16])} ...`", ""]
Path(args.out).write_text("\n".join(lines), encoding="utf-8")
print("\n".join(lines))
