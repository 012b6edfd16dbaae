"""Task figure: Rotten Tomatoes sentiment (fixed 80/10/10 split), mean of 3 seeds.

Target: the best seqlab classifier trained from scratch >= 76.5% test accuracy, with a
unigram+bigram logistic regression fitted on the same split beside it. Anchor: Kim
(2014) CNN-rand on MR 76.1%; reference figures with plain PyTorch: Kim CNN
76.0%, BiLSTM 74.5%, logistic regression 77.2%. Uses examples/sentiment_rotten_tomatoes.toml.

    OMP_NUM_THREADS=1 python bench/task_sentiment.py [--seeds 0 1 2] [--arch cnn]
"""
import argparse
import os
from pathlib import Path

import numpy as np

from seqlab import tasks
from versus import print_versus
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
# one folder per process: two copies of this script never share (and wipe) a run folder
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")
parser = argparse.ArgumentParser()
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--arch", default="cnn")
args = parser.parse_args()

accs, m = [], {}
for seed in args.seeds:
    cfg = Config.load(ROOT / "examples" / "sentiment_rotten_tomatoes.toml")
    cfg.runs_dir, cfg.name = RUNS, f"rt_{args.arch}_{seed}"
    cfg.training.seed, cfg.model.arch = seed, args.arch
    if args.arch == "rnn":
        cfg.model.bidirectional, cfg.model.units = True, 64
    run, m = tasks.train(cfg, verbose=False)
    m.update(run.read_json("timings.json") if run.file("timings.json").is_file() else {})
    accs.append(100 * m["accuracy"])
print(f"Rotten Tomatoes {args.arch}: test accuracy {' '.join(f'{a:.1f}' for a in accs)} "
      f"mean {np.mean(accs):.2f}%; unigram+bigram logistic regression "
      f"{100 * m['baseline_logreg_ngrams']:.2f}%")
print_versus("Rotten Tomatoes accuracy", [a / 100 for a in accs], m, higher=True)
print("target: >= 76.5% mean of 3 seeds; anchor: Kim 2014 CNN-rand (MR) 76.1%, plain "
      "PyTorch Kim CNN 76.0%, BiLSTM 74.5%, logistic regression 77.2%")
