"""Task figure: forecasting sunspots and airline, last 20% held out, whole horizon.

Target: MASE below seasonal naive (mean of 3 seeds), Holt-Winters reported beside it.
Reference figures on airline: seasonal naive 2.20, Holt-Winters 0.75, a
plain LSTM on seasonal differences 1.36. Uses examples/forecast_{airline,sunspots}.toml.

    OMP_NUM_THREADS=1 python bench/task_forecast.py [--seeds 0 1 2]
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
parser.add_argument("--datasets", nargs="+", default=["airline", "sunspots"])
args = parser.parse_args()

print(f"{'dataset':10s} {'seqlab MASE (seeds)':24s} mean   naive  seasonal-naive  Holt-Winters")
for name in args.datasets:
    mase, m = [], {}
    for seed in args.seeds:
        cfg = Config.load(ROOT / "examples" / f"forecast_{name}.toml")
        cfg.runs_dir, cfg.name = RUNS, f"forecast_{name}_{seed}"
        cfg.training.seed = seed
        run, m = tasks.train(cfg, verbose=False)
        m.update(run.read_json("timings.json") if run.file("timings.json").is_file() else {})
        mase.append(m["mase"])
    print(f"{name:10s} {' '.join(f'{x:.3f}' for x in mase):24s} {np.mean(mase):.3f}  "
          f"{m['baseline_naive_mase']:.3f}  {m['baseline_seasonal_naive_mase']:.3f}           "
          f"{m.get('baseline_holt_winters_mase', float('nan')):.3f}", flush=True)
    print_versus(f"{name} MASE", mase, m, higher=False)
print("target: mean MASE below seasonal naive; anchor (airline): SN 2.20, HW 0.75, "
      "plain LSTM on seasonal differences 1.36")
