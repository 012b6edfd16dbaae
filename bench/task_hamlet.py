"""Task figure: Hamlet character model, last 10% held out.

Target: >= 0.05 bits per character below a modified-Kneser-Ney character n-gram (order
chosen on validation, fitted on the same split, in the same run) within 15 minutes of
training on 2 cores. Anchor: tuned MKN 2.35 bpc; a plain-PyTorch 2x256 LSTM,
dropout 0.2, 2.26 at 10 and 2.24 at 15 CPU-minutes. Uses examples/hamlet_char_lstm.toml.

    OMP_NUM_THREADS=1 python bench/task_hamlet.py [--epochs 20]
"""
import argparse
import os
import time
from pathlib import Path

from seqlab import tasks
from versus import print_versus
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
# one folder per process: two copies of this script never share (and wipe) a run folder
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--threads", type=int, default=1)  # 2 threads on a busy 2-core box: slower
parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a field of examples/hamlet_char_lstm.toml, e.g. "
                         "training.batch_size=32")
args = parser.parse_args()

cfg = Config.load(ROOT / "examples" / "hamlet_char_lstm.toml")
cfg.runs_dir, cfg.training.threads = RUNS, args.threads
for item in args.set:
    cfg.override(item)
if args.epochs:
    cfg.training.epochs = args.epochs
t0 = time.time()
run, m = tasks.train(cfg, verbose=False)
m.update(run.read_json("timings.json") if run.file("timings.json").is_file() else {})
t = cfg.training
print(f"settings: {t.epochs} epochs, batch {t.batch_size}, lr {t.learning_rate} "
      f"{t.lr_schedule}, global_clipnorm {t.global_clipnorm}, dropout {cfg.model.dropout}; "
      f"{' '.join(args.set)}")
print(f"Hamlet char LM {cfg.model.layers}x{cfg.model.cell.upper()}({cfg.model.units}): "
      f"test {m['bits_per_char']:.3f} bpc; modified Kneser-Ney (order "
      f"{m['baseline_kneser_ney_order']}) {m['baseline_kneser_ney_bits']:.3f} bpc; "
      f"difference {m['baseline_kneser_ney_bits'] - m['bits_per_char']:+.3f}; "
      f"{(time.time() - t0) / 60:.1f} min")
print("target: >= 0.05 bpc below MKN within 15 min on 2 cores; anchor: MKN 2.35, "
      "plain-PyTorch 2x256 LSTM 2.26 (10 min) / 2.24 (15 min)")
print_versus("Hamlet bits/char", [m["bits_per_char"]], m, higher=False)
for s in m["samples"]:
    print(s[:300])
