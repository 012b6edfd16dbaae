"""Task figure: time-series classification on the UCR official test splits.

Targets (mean of 3 seeds): GunPoint >= 99%, ItalyPowerDemand >= 95.5%, ArrowHead >= 83%,
OSULeaf >= 95%. Anchors: Fawaz et al. (2019) mean accuracies FCN / ResNet: GunPoint
100 / 99.1, ItalyPowerDemand 96.1 / 96.3, ArrowHead 84.3 / 84.5, OSULeaf 97.7 / 97.9.
Both the Conv1D FCN and an LSTM classifier are run, beside the baselines fitted on the
same split: 1-NN Euclidean and MiniRocket (aeon; once per seed, its numba kernels compiled
before the clock starts). Every accuracy goes with the CPU seconds of this process
(training + test for seqlab, fit + predict for a baseline). Each run merges its rows into
docs/results/ucr.json and rewrites docs/results/ucr.md from it. Each (dataset, model) trains the
settings of examples/ucr_<dataset>_<model>.toml when that file exists (one place for
them), else the defaults below; --epochs / --batch-size / --lr-schedule override both.
The ArrowHead FCN follows Fawaz et al. exactly: batch min(N/10, 16) = 3, 2000 epochs, the
weights of the lowest training loss; every FCN ends with BatchNormalization's population
statistics ([training] population_stats).

    OMP_NUM_THREADS=1 python bench/task_ucr.py [--datasets gunpoint arrowhead] [--seeds 0 1 2]
        [--models fcn lstm] [--epochs 300]
    OMP_NUM_THREADS=1 python bench/task_ucr.py --models      # the baselines only
    OMP_NUM_THREADS=1 python bench/task_ucr.py --datasets arrowhead --models fcn --ensemble 3

With two seeds or more, a model also gets the row "N seeds averaged": the accuracy of the
mean of the seeds' test probabilities (an ensemble of runs trained apart), its CPU seconds
the sum of the seeds' and the prediction's (--average-from DIR: from the runs an earlier
run left in DIR).
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from seqlab import tasks
from seqlab.baselines import series, timed
from versus import print_versus
from seqlab.config import Config

ROOT = Path(__file__).resolve().parents[1]
# one folder per process: two copies of this script never share (and wipe) a run folder
RUNS = str(ROOT / "bench" / "out" / f"runs-{Path(__file__).stem}-{os.getpid()}")
ANCHORS = {"gunpoint": (99.0, 100.0, 99.1), "italy_power_demand": (95.5, 96.1, 96.3),
           "arrowhead": (83.0, 84.3, 84.5), "osuleaf": (95.0, 97.7, 97.9)}

parser = argparse.ArgumentParser()
parser.add_argument("--datasets", nargs="+", default=list(ANCHORS))
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--models", nargs="*", default=["fcn", "lstm"])
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--batch-size", type=int, default=None)
parser.add_argument("--threads", type=int, default=1)  # 2 threads on a busy 2-core box: slower
parser.add_argument("--ensemble", type=int, default=None,
                    help="[model] ensemble: N classifiers in each run, probabilities averaged")
parser.add_argument("--results", default=None, help="the JSON of rows (default "
                    "docs/results/ucr.json; the page is written beside it)")
parser.add_argument("--tag", default="", help="words after the method's name, so a row of "
                    "other settings sits beside the example's (e.g. --tag '100 epochs')")
parser.add_argument("--average-from", metavar="DIR", default=None,
                    help="train nothing: the 'seeds averaged' row from the seed runs an "
                         "earlier run of this script left in DIR (bench/out/runs-task_ucr-PID)")
parser.add_argument("--lr-schedule", default=None,
                    help="'plateau' (x0.5 after 50 epochs without a lower training loss, "
                         "min 1e-4, as Wang et al. 2017), 'constant' or 'cosine'")
args = parser.parse_args()

DEFAULTS = {  # used when examples/ucr_<dataset>_<model>.toml does not exist
    "fcn": {"model": {"arch": "fcn", "filters": 128, "kernel_sizes": [8, 5, 3]},
            "training": {"epochs": 300, "batch_size": 16, "learning_rate": 0.001,
                         "lr_schedule": "plateau"}},
    "lstm": {"model": {"arch": "rnn", "cell": "lstm", "units": 64},
             "training": {"epochs": 300, "batch_size": 16, "learning_rate": 0.001,
                          "lr_schedule": "plateau", "keep_best": True}}}


def config(name: str, model: str, seed: int) -> Config:
    path = ROOT / "examples" / f"ucr_{name}_{model}.toml"
    if path.exists():
        cfg = Config.load(path)
    else:
        cfg = Config.from_dict({"task": "classify", "data": {"dataset": name,
                                                            "val_fraction": 0.0},
                                **DEFAULTS[model]})
    cfg.name, cfg.runs_dir = f"ucr_{name}_{model}_{seed}", RUNS
    t = cfg.training
    t.seed, t.threads = seed, args.threads
    t.epochs = args.epochs or t.epochs
    t.batch_size = args.batch_size or t.batch_size
    t.lr_schedule = args.lr_schedule or t.lr_schedule
    cfg.model.ensemble = args.ensemble or cfg.model.ensemble
    return cfg


RESULTS = Path(args.results) if args.results else ROOT / "docs" / "results" / "ucr.json"


def baselines(name: str, seeds: list) -> dict:
    """{"nearest_neighbour": [(acc, cpu_s)], "minirocket": [(acc, cpu_s) per seed]}."""
    data = tasks.get("classify").prepare(config(name, "fcn", 0))
    (x_tr, y_tr), (x_te, y_te) = data.train, data.test
    out = {"nearest_neighbour": [timed(series.nearest_neighbour, x_tr, y_tr, x_te, y_te)]}
    try:
        series.minirocket(x_tr[:8], y_tr[:8], x_te[:2], y_te[:2])  # numba compiles here
        out["minirocket"] = [timed(series.minirocket, x_tr, y_tr, x_te, y_te, seed=s)
                             for s in seeds]
    except ImportError as err:
        print(f"{name}: minirocket skipped ({err})")
    return out


def seeds_averaged(name: str, model: str, paths: list) -> float:
    """Accuracy of the mean of the seeds' test probabilities: the ensemble of runs trained
    apart (what [model] ensemble = len(paths) does within one run)."""
    from seqlab.tasks import classify
    x, y = classify.prepare(config(name, model, 0)).test
    probs = []
    for path in paths:
        _, _, net, vocab = tasks.load(path)
        probs.append(classify.predict_probabilities(net, vocab, x))        # (N, C)
    return float(np.mean(np.mean(probs, 0).argmax(-1) == y))


def save_averaged(name: str, model: str, label: str, paths: list, settings: str, cpus: list) -> None:
    """The row "LABEL, N seeds averaged", its CPU seconds the seeds' (cpus) + the
    prediction's."""
    acc, cpu = timed(seeds_averaged, name, model, paths)
    label = f"{label}, {len(paths)} seeds averaged"
    save(name, label, [(acc, cpu + sum(cpus))],
         f"{settings}; the test probabilities of the seeds' runs averaged")
    print(f"{name:20s} {label}: {100 * acc:5.1f}", flush=True)


def average_from(folder: Path, name: str, model: str) -> None:
    """The averaged row from the runs of the row "seqlab MODEL" measured earlier in folder."""
    label = f"seqlab {model}" + (f" {args.tag}" if args.tag else "")
    row = json.loads(RESULTS.read_text())[name][label]
    paths = [folder / f"ucr_{name}_{model}_{seed}" for seed in args.seeds]
    for path, (acc, _) in zip(paths, row["runs"]):  # the row's own runs, none other
        measured = json.loads((path / "metrics.json").read_text())["accuracy"]
        assert abs(measured - acc) < 1e-3, (path, measured, acc)
    save_averaged(name, model, label, paths, row["settings"], [c for _, c in row["runs"]])


def render(rows: dict) -> None:
    """docs/results/ucr.md from every row measured so far (docs/results/ucr.json)."""
    lines = ["# UCR time-series classification: seqlab beside its baselines", "",
             "Written by `bench/task_ucr.py` from docs/results/ucr.json (each run merges its "
             "rows). Official train/test splits; accuracy in % as mean +- standard deviation "
             "over seeds (each seed listed); CPU seconds of this process per seed, median "
             "(training + test for seqlab, fit + predict for a baseline; MiniRocket's numba "
             "kernels compiled beforehand), 1 thread.", "",
             "| dataset | method | accuracy % | per seed | CPU s / seed | measured |",
             "|---|---|---|---|---|---|"]
    for name in ANCHORS:
        for method, r in sorted(rows.get(name, {}).items(), key=lambda kv: kv[0]):
            accs = [100 * a for a, _ in r["runs"]]
            lines.append(f"| {name} | {method} | {np.mean(accs):.1f} +- {np.std(accs):.1f} | "
                         f"{' / '.join(f'{a:.1f}' for a in accs)} | "
                         f"{np.median([c for _, c in r['runs']]):.2f} | {r['date']} |")
    settings = sorted({f"{d} {m}: {r['settings']}" for d, rd in rows.items()
                       for m, r in rd.items() if r.get("settings")})
    lines += ["", "Settings of the seqlab rows (examples/ucr_<dataset>_<model>.toml):", ""]
    lines += [f"- {s}" for s in settings]
    (RESULTS.with_suffix(".md")).write_text("\n".join(lines) + "\n", encoding="utf-8")


def save(name: str, method: str, runs: list, settings: str = "") -> None:
    rows = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    rows.setdefault(name, {})[method] = {
        "runs": [[round(float(a), 4), round(float(c), 2)] for a, c in runs],
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
        "settings": settings}
    RESULTS.write_text(json.dumps(rows, indent=1) + "\n")
    render(rows)


print(f"{'dataset':20s} {'model':5s} {'acc % (seeds)':28s} mean   target  FCN/ResNet anchor  "
      f"min/seed  settings")
KEYS = {k.replace("_", ""): k for k in ANCHORS}  # "ItalyPowerDemand" -> "italy_power_demand"
for name in [KEYS.get(d.lower().replace("_", ""), d) for d in args.datasets]:
    if args.average_from:
        for model in args.models:
            average_from(Path(args.average_from), name, model)
        continue
    base = baselines(name, args.seeds)
    for method, runs in base.items():
        save(name, method, runs)
        print(f"{name:20s} {method:18s} " + " ".join(f"{100 * a:5.1f}" for a, _ in runs) +
              f"  CPU s/seed {np.median([c for _, c in runs]):.2f}", flush=True)
    for model in args.models:
        runs, paths, t0 = [], [], time.time()
        for seed in args.seeds:
            cfg = config(name, model, seed)
            (run, m), cpu = timed(tasks.train, cfg, verbose=False)
            m.update(run.read_json("timings.json") if run.file("timings.json").is_file() else {})
            runs.append((m["accuracy"], cpu))
            paths.append(run.path)
        accs = [100 * a for a, _ in runs]
        target, fcn, resnet = ANCHORS[name]
        t = cfg.training
        settings = (f"{cfg.model.arch} {t.epochs} epochs, batch {t.batch_size}, lr "
                    f"{t.learning_rate} {t.lr_schedule}{', keep_best' if t.keep_best else ''}"
                    + (f", ensemble {cfg.model.ensemble}" if cfg.model.ensemble > 1 else ""))
        label = f"seqlab {model}" + (f" ensemble {cfg.model.ensemble}"
                                     if cfg.model.ensemble > 1 else "") + \
            (f" {args.tag}" if args.tag else "")
        save(name, label, runs, settings)
        if len(paths) > 1 and cfg.model.ensemble == 1:
            save_averaged(name, model, label, paths, settings, [c for _, c in runs])
        print(f"{name:20s} {model:5s} {' '.join(f'{a:5.1f}' for a in accs):28s} "
              f"{np.mean(accs):5.1f}  >= {target:4.1f}  {fcn} / {resnet}  "
              f"{(time.time() - t0) / 60 / len(accs):6.1f}  {settings}", flush=True)
        print_versus(f"{name} {model} accuracy", [a / 100 for a in accs], m, higher=True)
