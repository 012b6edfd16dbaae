"""Measured idea: the mean of the class probabilities of the Kim CNN and the bag+nb model
(examples/sentiment_rotten_tomatoes.toml and ..._nb.toml), trained per seed, on the Rotten
Tomatoes test part. Each member is an ordinary run (the one training loop); the average is
taken here, so the row is a measurement, not a seqlab option. Merged into
docs/results/sentiment.md as "ensemble cnn + bag+nb (script)"; CPU s: both members.

    p(c | x) = (softmax(z_cnn(x)) + softmax(z_nb(x))) / 2

    OMP_NUM_THREADS=1 python bench/sentiment_ensemble.py [--seeds 0 1 2]
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from seqlab import tasks
from seqlab.config import Config
from seqlab.tasks import classify
from seqlab.tasks.common import length_batches, take
from results_store import save

ROOT = Path(__file__).resolve().parents[1]
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")
parser = argparse.ArgumentParser()
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
args = parser.parse_args()
MEMBERS = {"cnn": "sentiment_rotten_tomatoes.toml", "nb": "sentiment_rotten_tomatoes_nb.toml"}


def probabilities(cfg: Config) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Train cfg, reload its saved model -> test probabilities (N, C), labels (N,), its
    test accuracy, CPU seconds of the training."""
    t0 = time.process_time()
    run, m = tasks.train(cfg, verbose=False)
    cpu = time.process_time() - t0
    _, _, model, vocab = tasks.load(run.path)
    x, y = classify.prepare(run.config, vocab=vocab).test
    p = np.zeros((len(y), len(vocab["classes"])), dtype=np.float64)
    with torch.no_grad():
        for idx in length_batches([len(s) for s in x], 256, None):
            p[idx] = torch.softmax(model(*classify._batch(vocab, take(x, idx))), -1).numpy()
    return p, y, m["accuracy"], cpu


accs, cpus, single = [], [], {k: [] for k in MEMBERS}
for seed in args.seeds:
    probs, cpu = [], 0.0
    for name, example in MEMBERS.items():
        cfg = Config.load(ROOT / "examples" / example)
        cfg.runs_dir, cfg.name, cfg.training.seed = RUNS, f"rt_{name}_{seed}", seed
        p, y, acc, c = probabilities(cfg)
        probs.append(p)
        single[name].append(acc)
        cpu += c
        print(f"seed {seed} {name}: test accuracy {acc:.4f} ({c:.1f} CPU s)", flush=True)
    accs.append(float(np.mean(np.mean(probs, 0).argmax(1) == y)))
    cpus.append(cpu)
    print(f"seed {seed} ensemble: test accuracy {accs[-1]:.4f}", flush=True)
path = save("sentiment", "Rotten Tomatoes sentiment: seqlab beside its baselines",
            "test accuracy", "higher", "ensemble cnn + bag+nb (script)",
            list(zip(accs, cpus)),
            "mean of the probabilities of the two examples' models, trained per seed by "
            "seqlab (bench/sentiment_ensemble.py; not a [model] option); members: cnn "
            + " / ".join(f"{a:.4f}" for a in single["cnn"]) + ", bag+nb "
            + " / ".join(f"{a:.4f}" for a in single["nb"]))
print("wrote", path)
