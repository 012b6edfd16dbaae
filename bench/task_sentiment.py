"""Task figure: Rotten Tomatoes sentiment (fixed 80/10/10 split), mean of 3 seeds.

Target: the best seqlab classifier trained from scratch >= 76.5% test accuracy, with a
unigram+bigram logistic regression fitted on the same split beside it. Anchor: Kim
(2014) CNN-rand on MR 76.1%; reference figures with plain PyTorch: Kim CNN
76.0%, BiLSTM 74.5%, logistic regression 77.2%. Uses examples/sentiment_rotten_tomatoes.toml.

arch = "bag" is the fastText model (the mean of word and hashed word-pair vectors) with
the settings of BAG below; --nb adds the NBSVM logits of [model] nb_buckets (word and
word-pair presence scaled by Naive Bayes log-count ratios of the training texts) with the
settings of NB below, in the row "seqlab bag+nb". Each run merges its rows (seqlab per
seed, and the baselines fitted on the same split, with CPU seconds) into
docs/results/sentiment.md.

    OMP_NUM_THREADS=1 python bench/task_sentiment.py [--seeds 0 1 2] [--arch cnn|bag|rnn]
        [--nb] [--set model.dropout=0.5 ...]
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np

from seqlab import tasks
from results_store import save
from versus import print_versus
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
# one folder per process: two copies of this script never share (and wipe) a run folder
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")
parser = argparse.ArgumentParser()
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--arch", default="cnn")
parser.add_argument("--nb", action="store_true", help="arch bag + NB-scaled n-grams")
parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
args = parser.parse_args()
# fastText: a 32-value vector per word and per hashed word pair, a few epochs at a high
# rate (it overfits after the first one or two: keep_best tests the best validation epoch)
BAG = ["model.embedding_dim=32", "model.buckets=50000", "model.dropout=0.2",
       "training.learning_rate=0.01", "training.epochs=3"]
# NBSVM as a layer: a weight per word / word pair learned from its NB prior by adagrad
# (a rate per feature, as sparse linear models want), half the features dropped per text;
# the word bag shrinks to one value per word, the pair vectors go
NB = ["model.nb_buckets=1000000", "model.embedding_dim=1", "model.buckets=0",
      "model.dropout=0.5", "training.optimizer=adagrad", "training.learning_rate=0.2",
      "training.epochs=6"]
label = f"seqlab {args.arch}{'+nb' if args.nb else ''}"

accs, cpus, m = [], [], {}
for seed in args.seeds:
    cfg = Config.load(ROOT / "examples" / "sentiment_rotten_tomatoes.toml")
    cfg.runs_dir, cfg.name = RUNS, f"rt_{args.arch}_{seed}"
    cfg.training.seed, cfg.model.arch = seed, args.arch
    if args.arch == "rnn":
        cfg.model.bidirectional, cfg.model.units = True, 64
    for item in (BAG if args.arch == "bag" else []) + (NB if args.nb else []) + args.set:
        cfg.override(item)
    t0 = time.process_time()
    run, m = tasks.train(cfg, verbose=False)
    cpus.append(time.process_time() - t0)
    m.update(run.read_json("timings.json") if run.file("timings.json").is_file() else {})
    accs.append(100 * m["accuracy"])
print(f"Rotten Tomatoes {label}: test accuracy {' '.join(f'{a:.1f}' for a in accs)} "
      f"mean {np.mean(accs):.2f}%; unigram+bigram logistic regression "
      f"{100 * m['baseline_logreg_ngrams']:.2f}%")
print_versus("Rotten Tomatoes accuracy", [a / 100 for a in accs], m, higher=True)
t, md = cfg.training, cfg.model
note = ("Rotten Tomatoes review snippets, the registry's fixed 80/10/10 split; seqlab rows by "
        "`bench/task_sentiment.py --arch A` (trained from scratch, the best validation epoch "
        "tested), the baselines fitted on the same split in the same run.")
settings = (f"arch {md.arch}, embedding {md.embedding_dim}, dropout {md.dropout}"
            f"{f', buckets {md.buckets}' if md.arch == 'bag' else ''}"
            f"{f', nb_buckets {md.nb_buckets}' if md.nb_buckets else ''}, {t.epochs} epochs, "
            f"batch {t.batch_size}, {t.optimizer} lr {t.learning_rate}")
save("sentiment", "Rotten Tomatoes sentiment: seqlab beside its baselines", "test accuracy",
     "higher", label, list(zip([a / 100 for a in accs], cpus)), settings, note)
for name, value in m.get("baselines", {}).items():
    path = save("sentiment", "Rotten Tomatoes sentiment: seqlab beside its baselines",
                "test accuracy", "higher", name,
                [(value, m.get("baseline_cpu_seconds", {}).get(name, float("nan")))],
                "baseline (seqlab.baselines), same split")
print("wrote", path)
print("target: >= 76.5% mean of 3 seeds; anchor: Kim 2014 CNN-rand (MR) 76.1%, plain "
      "PyTorch Kim CNN 76.0%, BiLSTM 74.5%, logistic regression 77.2%")
