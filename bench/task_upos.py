"""Done-when figure: Turkish UPOS tagging (80/10/10 by sentence).

Target: token accuracy >= 94% and >= 4 points above the most-frequent-tag baseline.
Anchor (issue): MFT 89.4%; a plain-PyTorch word+character BiLSTM tagger 94.9% in ~7
CPU-minutes. Uses examples/turkish_upos.toml.

    OMP_NUM_THREADS=2 python bench/task_upos.py [--epochs 12]
"""
import argparse
import time
from pathlib import Path

from seqlab import tasks
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()

cfg = Config.load(ROOT / "examples" / "turkish_upos.toml")
cfg.runs_dir, cfg.training.threads = str(ROOT / "bench" / "out"), args.threads
if args.epochs:
    cfg.training.epochs = args.epochs
t0 = time.time()
run, m = tasks.train(cfg, verbose=False)
print(f"Turkish UPOS: token accuracy {100 * m['token_accuracy']:.2f}%  (OOV "
      f"{100 * m['oov_accuracy']:.1f}% on {100 * m['oov_rate']:.1f}% of tokens); "
      f"most-frequent-tag {100 * m['baseline_most_frequent_tag']:.2f}%; "
      f"{(time.time() - t0) / 60:.1f} min")
print("target: >= 94% and >= 4 points above MFT; anchor: MFT 89.4%, plain-PyTorch "
      "word+char BiLSTM 94.9% in ~7 CPU-min")
