"""Task figure: the 3-digit calculator, reversed input, 50k training pairs.

Target: >= 99% exact match on 10k held-out pairs within 10 minutes on 2 cores.
Anchor: the Keras addition example reports 99% per-character accuracy after 100 epochs
with LSTM(128). Trains examples/calculator.toml (override epochs with --epochs).

    OMP_NUM_THREADS=1 python bench/task_calculator.py [--epochs 30] [--threads 2]
"""
import argparse
import os
import time
from pathlib import Path

import torch

from seqlab import tasks
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
# one folder per process: two copies of this script never share (and wipe) a run folder
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--threads", type=int, default=1)  # 2 threads on a busy 2-core box: slower
parser.add_argument("--runs-dir", default=RUNS)
args = parser.parse_args()

cfg = Config.load(ROOT / "examples" / "calculator.toml")
cfg.runs_dir = args.runs_dir
cfg.training.threads = args.threads
if args.epochs:
    cfg.training.epochs = args.epochs
t0 = time.time()
run, m = tasks.train(cfg, verbose=False)
minutes = (time.time() - t0) / 60
data_sizes = run.read_json("metrics.json")
print(f"calculator 3 digits, reversed, {cfg.model.cell.upper()}({cfg.model.units}) "
      f"{cfg.model.attention} attention, {cfg.training.epochs} epochs, "
      f"{torch.get_num_threads()} threads")
print(f"exact match on held-out: {m['exact_match']:.4f}  char accuracy: "
      f"{m['char_accuracy']:.4f}  train+test time: {minutes:.1f} min")
print("target: exact match >= 0.99 within 10 min on 2 cores; anchor: Keras addition "
      "example, 99% per-character accuracy after 100 epochs with LSTM(128)")
