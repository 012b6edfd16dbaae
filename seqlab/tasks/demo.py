"""`seqlab demo`: a short tour of the course's tasks on generated and bundled data.

Each stop is an ordinary run (the same config a TOML file would give, trained by
``seqlab.tasks.train``), small enough that the whole tour takes a few minutes on 2 CPU
cores. It prints one table (task, data, model, metric, value, the best baseline, its name, and
whether the model wins or loses against it) and writes
``OUT/report.html`` with every run's metrics beside its own plots. Running the tour again replaces
its earlier runs in OUT (run folders seqlab made); a folder of a stop's name that seqlab
did not make is kept, and that stop's run goes next to it (``NAME-2``). A stop whose data
package is not installed is reported as skipped, with the reason, instead of stopping the
tour.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from seqlab.config import Config
from seqlab.errors import SeqlabError

# (task, data, model, training, a few words on the model) for each stop of the tour.
TOUR = [
    ("classify", {"dataset": "dna_motif", "options": {"count": 1200}, "level": "char",
                  "text_column": "sequences", "label_column": "y"},
     {"arch": "cnn", "filters": 32, "kernel_sizes": [8], "embedding_dim": 8},
     {"epochs": 8, "batch_size": 32, "learning_rate": 0.01}, "Conv1D(32, 8) + max-pool"),
    ("classify", {"dataset": "gunpoint"},
     {"arch": "fcn", "filters": 32},
     {"epochs": 150, "batch_size": 16, "learning_rate": 0.001}, "FCN Conv1D+BN+GAP"),
    ("seq2seq", {"dataset": "addition", "options": {"digits": 2, "count": 4000, "reverse": True},
                 "level": "char", "val_fraction": 0.02},
     {"cell": "gru", "reset_after": True, "units": 64, "embedding_dim": 16, "attention": "luong"},
     {"epochs": 14, "batch_size": 32, "learning_rate": 0.02}, "GRU enc-dec + Luong attention"),
    ("forecast", {"dataset": "airline", "transform": "log", "difference": False,
                  "windows": [24, 30, 36], "horizon": 1, "test_fraction": 0.2,
                  "val_fraction": 0.0},                  # examples/forecast_airline.toml
     {"arch": "mlp", "ensemble": 3, "layers": 0, "relative": False},
     {"optimizer": "lbfgs", "epochs": 20, "batch_size": 1024, "learning_rate": 1.0,
      "global_clipnorm": 0.0}, "3 x linear AR on log (LBFGS)"),
    ("generate", {"dataset": "hamlet", "level": "char", "seq_len": 64, "max_samples": 1500},
     {"cell": "lstm", "units": 128, "embedding_dim": 32},
     {"epochs": 4, "batch_size": 32, "learning_rate": 0.01}, "char LSTM(128)"),
    ("tag", {"dataset": "turkish_upos", "max_samples": 1500},
     {"cell": "lstm", "units": 48, "embedding_dim": 48, "char_embedding_dim": 16},
     {"epochs": 3, "batch_size": 32, "learning_rate": 0.004}, "BiLSTM + char BiLSTM"),
]


def course_listing(quick: bool = False, verbose: bool = True) -> dict:
    """Stop 0: seed 003's listing as written (Embedding(input_length=256) + 2 SimpleRNN(8) +
    Dense(1, sigmoid), rmsprop, binary cross-entropy), its summary, trained on the generated
    ``toy_reviews`` given as variable-length lists (bucketed, no padding waste)."""
    import seqlab
    from seqlab.layers import Dense, Embedding, SimpleRNN

    n_train, epochs = (600, 1) if quick else (3000, 3)
    train = seqlab.datasets.load("toy_reviews", count=n_train, seed=0)
    test = seqlab.datasets.load("toy_reviews", count=500, seed=1)
    model = seqlab.Sequential()
    model.add(Embedding(input_dim=10000, output_dim=32, input_length=256))
    model.add(SimpleRNN(units=8, return_sequences=True))
    model.add(SimpleRNN(units=8, return_sequences=False))
    model.add(Dense(units=1, activation="sigmoid"))
    if verbose:
        model.summary()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(train.x, train.y, epochs=epochs, batch_size=32, verbose=0, seed=0)
    _, accuracy = model.evaluate(test.x, test.y, verbose=0)
    if verbose:
        print(f"seed 003 listing: test accuracy {accuracy:.3f} on 500 held-out reviews")
    return {"task": "classify", "data": "toy_reviews", "model": "course 003: 2x SimpleRNN(8)",
            "metric": "accuracy", "value": round(float(accuracy), 4), "baseline": 0.5}


def _shrink(training: dict, data: dict) -> tuple[dict, dict]:
    """--quick: a fraction of the epochs and data (for tests of the tour itself)."""
    training = dict(training, epochs=max(1, training["epochs"] // 6))
    data = dict(data)
    if "max_samples" in data:
        data["max_samples"] = max(50, data["max_samples"] // 5)
    return training, data


def _run_name(out_dir: Path, name: str) -> str:
    """The folder of a stop's run: ``name``, or else the first ``name-2``, ``name-3``...
    that is free or a run folder seqlab made (an earlier tour's run, which is replaced).
    Running the tour again never piles up folders, and never touches one seqlab did not make.
    """
    from seqlab.runs import MAX_RUNS_OF_A_NAME, has_marker
    for number in range(1, MAX_RUNS_OF_A_NAME + 1):
        candidate = name if number == 1 else f"{name}-{number}"
        path = out_dir / candidate
        if has_marker(path) or not (path.is_symlink() or path.exists()):
            return candidate
    return name  # all taken: Run.create says so


def main(out: str = "runs/demo", quick: bool = False, verbose: bool = True,
         stops: Optional[list[int]] = None) -> list[dict]:
    """Run the tour (or only the ``stops``, 0-based; -1 is the course listing), print the
    table, write the report."""
    from seqlab import report, tasks
    out_dir = Path(out)
    rows, sections, images = [], [], []
    t_start = time.time()
    if stops is None or -1 in stops:
        if verbose:
            print("[0] the course's listing (seed 003) on generated reviews...", flush=True)
        t0 = time.time()
        rows.append(dict(course_listing(quick, verbose), seconds=round(time.time() - t0, 1)))
    for i, (task, data, model, training, label) in enumerate(TOUR):
        if stops is not None and i not in stops:
            continue
        if quick:
            training, data = _shrink(training, data)
        name = _run_name(out_dir, f"{i + 1}_{task}_{data['dataset']}")
        cfg = Config.from_dict({"task": task, "name": name, "runs_dir": str(out_dir),
                                "data": data, "model": model, "training": training})
        t0 = time.time()
        if verbose:
            print(f"[{i + 1}/{len(TOUR)}] {task} on {data['dataset']} ({label})...", flush=True)
        try:
            run, metrics = tasks.train(cfg, verbose=False, overwrite=True)
        except SeqlabError as err:
            rows.append({"task": task, "data": data["dataset"], "model": label,
                         "metric": "skipped", "value": str(err)[:80], "baseline": ""})
            continue
        metric, value, baseline = tasks.get(task).headline(metrics)
        best = metrics.get("best_baseline") or {}
        beats = metrics.get("model_beats_best_baseline")
        rows.append({"task": task, "data": data["dataset"], "model": label, "metric": metric,
                     "value": round(value, 4), "baseline": "" if baseline is None
                     else round(baseline, 4), "best baseline": best.get("name", ""),
                     "vs best": "" if beats is None else ("win" if beats else "LOSS"),
                     "seconds": round(time.time() - t0, 1)})
        sections.append((f"{name}: {label}", {k: v for k, v in metrics.items()
                                              if isinstance(v, (int, float, bool, dict))
                                              and k != "per_tag_f1"
                                              or k == "headline_metric"},
                         sorted(run.plots_dir.glob("*.png"))))
    path = report.write_html(out_dir / "report.html", "seqlab demo: the course's tasks",
                             sections, images, summary_rows=rows)
    if verbose:
        print(format_rows(rows))
        print(f"total {time.time() - t_start:.0f} s; report: {path}")
    return rows


def format_rows(rows: list[dict]) -> str:
    cols = ["task", "data", "model", "metric", "value", "baseline", "best baseline", "vs best",
            "seconds"]
    cells = [cols] + [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
