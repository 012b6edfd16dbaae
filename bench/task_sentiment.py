"""Task figure: Rotten Tomatoes sentiment (fixed 80/10/10 split), mean of 3 seeds.

Target: the best seqlab classifier trained from scratch >= 76.5% test accuracy, with a
unigram+bigram logistic regression fitted on the same split beside it. Anchor: Kim
(2014) CNN-rand on MR 76.1%; reference figures with plain PyTorch: Kim CNN
76.0%, BiLSTM 74.5%, logistic regression 77.2%. Uses examples/sentiment_rotten_tomatoes.toml.

arch = "bag" is the fastText model (the mean of word and hashed word-pair vectors) with
the settings of BAG below. --nb trains examples/sentiment_rotten_tomatoes_nb.toml instead
(arch bag with [model] nb_buckets: word and word-pair presence scaled by Naive Bayes
log-count ratios of the training texts), the row "seqlab bag+nb"; with --tune-minutes M,
`seqlab tune` also searches that config for M CPU minutes on the validation part, then
trains the best settings per seed (the row "seqlab bag+nb tuned"). Each run merges its
rows (seqlab per seed, and the baselines fitted on the same split, with CPU seconds) into
docs/results/sentiment.md.

    OMP_NUM_THREADS=1 python bench/task_sentiment.py [--seeds 0 1 2] [--arch cnn|bag|rnn]
        [--nb [--tune-minutes 3]] [--set model.dropout=0.5 ...]
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
parser.add_argument("--nb", action="store_true",
                    help="examples/sentiment_rotten_tomatoes_nb.toml: arch bag + NB features")
parser.add_argument("--tune-minutes", type=float, default=0.0,
                    help="with --nb: CPU minutes of `seqlab tune` search (0: no tuned row)")
parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
args = parser.parse_args()
# fastText: a 32-value vector per word and per hashed word pair, a few epochs at a high
# rate (it overfits after the first one or two: keep_best tests the best validation epoch)
BAG = ["model.embedding_dim=32", "model.buckets=50000", "model.dropout=0.2",
       "training.learning_rate=0.01", "training.epochs=3"]
EXAMPLE = ROOT / "examples" / ("sentiment_rotten_tomatoes_nb.toml" if args.nb else
                                "sentiment_rotten_tomatoes.toml")
if args.nb:
    args.arch = "bag"                              # the NB example's own settings
label = f"seqlab {args.arch}{'+nb' if args.nb else ''}"


def settings_of(cfg: Config) -> str:
    t, md = cfg.training, cfg.model
    return (f"arch {md.arch}, embedding {md.embedding_dim}, dropout {md.dropout:.3g}"
            f"{f', buckets {md.buckets}' if md.arch == 'bag' else ''}"
            f"{f', nb_buckets {md.nb_buckets}' if md.nb_buckets else ''}, {t.epochs} epochs, "
            f"batch {t.batch_size}, {t.optimizer} lr {t.learning_rate:.3g}")


accs, cpus, m = [], [], {}
for seed in args.seeds:
    cfg = Config.load(EXAMPLE)
    cfg.runs_dir, cfg.name = RUNS, f"rt_{args.arch}_{seed}"
    cfg.training.seed, cfg.model.arch = seed, args.arch
    if args.arch == "rnn":
        cfg.model.bidirectional, cfg.model.units = True, 64
    for item in (BAG if args.arch == "bag" and not args.nb else []) + args.set:
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
note = ("Rotten Tomatoes review snippets, the registry's fixed 80/10/10 split; seqlab rows by "
        "`bench/task_sentiment.py --arch A`, the bag+nb rows by `--nb [--tune-minutes M]` "
        "(trained from scratch, the best validation epoch tested), the baselines fitted on "
        "the same split in the same run.")
settings = settings_of(cfg)
save("sentiment", "Rotten Tomatoes sentiment: seqlab beside its baselines", "test accuracy",
     "higher", label, list(zip([a / 100 for a in accs], cpus)), settings, note)


def tuned_row() -> None:
    """Search the NB example for args.tune_minutes CPU minutes on the validation part (the
    test part plays no role), then train the best settings once per seed."""
    from seqlab.tune import apply, tune
    base = Config.load(EXAMPLE)
    base.runs_dir, base.name = RUNS, "rt_nb_search"
    budget, start = args.tune_minutes * 60, time.process_time()

    def cpu_budget(study, trial):
        if time.process_time() - start >= budget:
            study.stop()

    _, _, study = tune(base, budget_s=10 * budget + 60, callbacks=[cpu_budget], verbose=True)
    search = time.process_time() - start
    trials = sum(t.state.name == "COMPLETE" for t in study.trials)
    t_accs, t_cpus = [], []
    for seed in args.seeds:
        best = apply(Config.load(EXAMPLE), study.best_params)
        best.runs_dir, best.name, best.training.seed = RUNS, f"rt_nb_tuned_{seed}", seed
        t0 = time.process_time()
        _, tm = tasks.train(best, verbose=False)
        t_cpus.append(time.process_time() - t0)
        t_accs.append(tm["accuracy"])
        print(f"tuned seed {seed}: test accuracy {tm['accuracy']:.4f} ({t_cpus[-1]:.1f} CPU s)",
              flush=True)
    save("sentiment", "Rotten Tomatoes sentiment: seqlab beside its baselines",
         "test accuracy", "higher", f"seqlab bag+nb tuned ({args.tune_minutes:g} CPU-min search)",
         list(zip(t_accs, t_cpus)),
         f"{settings_of(best)}; `seqlab tune` ran {trials} trials in {search:.0f} CPU s "
         f"(stopped at the first trial ending past {budget:.0f} s; includes its run of the "
         f"best settings), best validation accuracy {study.best_value:.4f}")


if args.nb and args.tune_minutes > 0:
    tuned_row()
for name, value in m.get("baselines", {}).items():
    path = save("sentiment", "Rotten Tomatoes sentiment: seqlab beside its baselines",
                "test accuracy", "higher", name,
                [(value, m.get("baseline_cpu_seconds", {}).get(name, float("nan")))],
                "baseline (seqlab.baselines), same split")
print("wrote", path)
print("target: >= 76.5% mean of 3 seeds; anchor: Kim 2014 CNN-rand (MR) 76.1%, plain "
      "PyTorch Kim CNN 76.0%, BiLSTM 74.5%, logistic regression 77.2%")
