"""Done-when figure: time-series classification on the UCR official test splits.

Targets (mean of 3 seeds): GunPoint >= 99%, ItalyPowerDemand >= 95.5%, ArrowHead >= 83%,
OSULeaf >= 95%. Anchors: Fawaz et al. (2019) mean accuracies FCN / ResNet: GunPoint
100 / 99.1, ItalyPowerDemand 96.1 / 96.3, ArrowHead 84.3 / 84.5, OSULeaf 97.7 / 97.9.
Both the Conv1D FCN (examples/ucr_*_fcn.toml settings) and an LSTM classifier are run.

    OMP_NUM_THREADS=1 python bench/task_ucr.py [--datasets gunpoint arrowhead] [--seeds 0 1 2]
        [--models fcn lstm] [--epochs 300]
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np

from seqlab import tasks
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
# one folder per process: two copies of this script never share (and wipe) a run folder
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")
ANCHORS = {"gunpoint": (99.0, 100.0, 99.1), "italy_power_demand": (95.5, 96.1, 96.3),
           "arrowhead": (83.0, 84.3, 84.5), "osuleaf": (95.0, 97.7, 97.9)}

parser = argparse.ArgumentParser()
parser.add_argument("--datasets", nargs="+", default=list(ANCHORS))
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--models", nargs="+", default=["fcn", "lstm"])
parser.add_argument("--epochs", type=int, default=300)
parser.add_argument("--threads", type=int, default=1)  # 2 threads on a busy 2-core box: slower
parser.add_argument("--lr-schedule", default="plateau",
                    help="FCN: 'plateau' (x0.5 after 50 epochs without a lower training loss, "
                         "min 1e-4, as Wang et al. 2017) or 'constant'")
args = parser.parse_args()

MODELS = {"fcn": {"arch": "fcn", "filters": 128, "kernel_sizes": [8, 5, 3]},
          "lstm": {"arch": "rnn", "cell": "lstm", "units": 64}}
print(f"{'dataset':20s} {'model':5s} {'acc % (seeds)':28s} mean   target  FCN/ResNet anchor  min")
for name in args.datasets:
    for model in args.models:
        accs, t0 = [], time.time()
        for seed in args.seeds:
            cfg = Config.from_dict({
                "task": "classify", "name": f"ucr_{name}_{model}_{seed}",
                "runs_dir": RUNS,
                "data": {"dataset": name, "val_fraction": 0.0},
                "model": MODELS[model],
                "training": {"epochs": args.epochs, "batch_size": 16, "seed": seed,
                             "learning_rate": 0.001 if model == "fcn" else 0.003,
                             "threads": args.threads,
                             "lr_schedule": args.lr_schedule if model == "fcn" else "constant"}})
            _, m = tasks.train(cfg, verbose=False)
            accs.append(100 * m["accuracy"])
        target, fcn, resnet = ANCHORS[name]
        print(f"{name:20s} {model:5s} {' '.join(f'{a:5.1f}' for a in accs):28s} "
              f"{np.mean(accs):5.1f}  >= {target:4.1f}  {fcn} / {resnet}  "
              f"{(time.time() - t0) / 60:.1f}", flush=True)
