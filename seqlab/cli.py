"""The `seqlab` command line.

    seqlab datasets                          the dataset registry as a table
    seqlab train CONFIG.toml                 train, test, write runs/NAME/ (Ctrl-C saves)
                                             (runs/NAME-2/... when runs/NAME exists)
    seqlab train CONFIG.toml --overwrite     replace runs/NAME (only a run folder seqlab made)
    seqlab train --resume runs/NAME          continue an interrupted run
    seqlab evaluate runs/NAME                recompute the test metrics
    seqlab predict runs/NAME --input FILE    one output line per input line
    seqlab generate runs/NAME --prompt "To be" --temperature 0.8 --top-k 10
    seqlab score runs/NAME "a sentence"      log-probability under a language model
    seqlab summary runs/NAME                 the model's layers and parameter counts
    seqlab inspect runs/NAME                 gradient flow over time, gates, hidden states
    seqlab demo                              a short tour of the tasks, with an HTML report
    seqlab export runs/NAME --format onnx    the graph(s) + vocab/metadata JSON (or pt2)
    seqlab serve runs/NAME --port 8000       HTTP: /predict, /generate, /health, /metadata

Exit codes: 0 done; 2 a user mistake (a missing file, an unknown dataset, a malformed
config, a value out of range, a full disk, a permission): one sentence on stderr; 70 a bug in
seqlab: one line on stderr naming the log file that holds the traceback (crash-*.log in the
run folder, else a temporary seqlab-crash-*.log); 130 Ctrl-C, at any moment (start-up
included: the `seqlab` command enters through seqlab_entry.py). SEQLAB_DEBUG=1 shows
tracebacks instead.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from seqlab.config import MAX_SEED
from seqlab.cli_errors import (EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_USER,  # noqa: F401
                               _is_user_error, _user_message, report_bug)
from seqlab.errors import SeqlabError


# ---------------------------------------------------------------------- commands
def cmd_datasets(args) -> None:
    from seqlab import datasets
    print(datasets.format_table())


def cmd_tune(args) -> None:
    from seqlab.config import Config
    from seqlab.tune import parse_budget, tune
    budget = parse_budget(args.budget)
    run, metrics, study = tune(Config.load(args.config), budget, trials=args.trials,
                               study=args.study)
    print(f"best of {len(study.trials)} trial(s): {study.best_params} "
          f"(validation {study.best_value:.4g})")
    print(_metrics_text(metrics))
    print(f"tuned run saved in {run.path} (trials: {run.file('tune.json')})")


def cmd_train(args) -> None:
    from seqlab import tasks
    from seqlab.config import Config
    if args.resume and args.config:
        raise SeqlabError("give either CONFIG.toml or --resume RUN, not both.")
    if not args.resume and not args.config:
        raise SeqlabError("give a config file (seqlab train CONFIG.toml) or --resume RUN.")
    if args.resume and args.overwrite:
        raise SeqlabError("--overwrite replaces the run folder of a new run from CONFIG.toml; "
                          "--resume continues RUN in place, so drop --overwrite.")
    if args.nproc is not None:
        _launch(args)
        return
    cfg = None
    if args.config:
        cfg = Config.load(args.config)
        if args.runs_dir is not None:
            cfg.runs_dir = args.runs_dir
        if args.epochs is not None:
            cfg.training.epochs = args.epochs
        cfg.validate(args.config)
    run, metrics = tasks.train(cfg, resume=args.resume, verbose=not args.quiet,
                               overwrite=args.overwrite)
    from seqlab.distributed import is_writer
    if is_writer():  # on several processes, rank 0 speaks
        print(_metrics_text(metrics))
        print(f"run saved in {run.path} (report: {run.file('report.html')})")


def _launch(args) -> None:
    """``--nproc N``: this same command on N processes through torch.distributed.run."""
    from seqlab.distributed.launch import launch
    if args.nproc < 1:
        raise SeqlabError(f"--nproc must be >= 1 (processes on this machine), got {args.nproc}.")
    argv = [args.config] if args.config else ["--resume", args.resume]
    for flag, value in (("--runs-dir", args.runs_dir), ("--epochs", args.epochs)):
        argv += [flag, value] if value else []
    argv += [f for f, on in (("--quiet", args.quiet), ("--overwrite", args.overwrite)) if on]
    launch(argv, args.nproc)


def cmd_evaluate(args) -> None:
    from seqlab import tasks
    print(_metrics_text(tasks.evaluate(args.run)))


def cmd_predict(args) -> None:
    from seqlab import tasks
    path = Path(args.input)
    try:
        lines = [l.rstrip("\n") for l in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError:
        raise SeqlabError(f"{path}: not UTF-8 text; save it as UTF-8.") from None
    lines = [l for l in lines if l.strip()]
    if not lines:
        raise SeqlabError(f"{path}: empty; put one input per line.")
    run, task, model, vocab = tasks.load(args.run)
    for line, out in zip(lines, task.predict(model, vocab, run.config, lines)):
        print(f"{line}\t{out}")


def _language_model(run_path):
    from seqlab import tasks
    run, task, model, vocab = tasks.load(run_path)
    if run.config.task != "generate":
        raise SeqlabError(f"{run_path} is a {run.config.task!r} run; generate and score need "
                          f'a language model (task = "generate").')
    return run, task, model, vocab


def cmd_generate(args) -> None:
    import torch
    run, task, model, vocab = _language_model(args.run)
    torch.manual_seed(args.seed)
    print(task.sample(model, vocab, run.config, args.prompt, length=args.length,
                      temperature=args.temperature, top_k=args.top_k))


def cmd_score(args) -> None:
    run, task, model, vocab = _language_model(args.run)
    for text in args.text:
        logp = task.score(model, vocab, run.config, text)
        print(f"{logp:.3f}\t{text}")


def cmd_summary(args) -> None:
    from seqlab import tasks
    from seqlab.models.summary import summary
    run, task, model, vocab = tasks.load(args.run)
    print(f"run {run.path}: task {run.config.task}, dataset {run.config.data.dataset}")
    print(summary(model))
    if run.file("metrics.json").is_file():
        print(_metrics_text(run.read_json("metrics.json")))


def cmd_inspect(args) -> None:
    from seqlab import tasks
    result = tasks.inspect(args.run)
    for layer, info in result.items():
        gates = ", ".join(f"{g} {v:.0%}" for g, v in info["saturation"].items())
        print(f"{layer}: ||dL/dh_T|| / ||dL/dh_1|| = {info['ratio_last_first']:.3g}"
              + (f"; saturated gates: {gates}" if gates else ""))
    print(f"plots: {Path(args.run) / 'plots'}/inspect_*.png (also in report.html)")


def cmd_demo(args) -> None:
    from seqlab.tasks import demo
    demo.main(out=args.out, quick=args.quick)


def cmd_export(args) -> None:
    from seqlab.export import export_run
    out = export_run(args.run, args.format, args.output)
    files = ", ".join(sorted(p.name for p in out.iterdir()))
    print(f"exported {args.run} ({args.format}) to {out}: {files}")


def cmd_serve(args) -> None:
    from seqlab.serve import Limits, serve
    serve(args.run, host=args.host, port=args.port,
          limits=Limits(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms))


# ---------------------------------------------------------------------- flags
def check_flags(args) -> None:
    """Refuse a flag value out of its range before any work, naming the flag and the fix."""
    def need(ok: bool, flag: str, value, expected: str) -> None:
        if not ok:
            raise SeqlabError(f"{flag} must be {expected}, got {value!r}.")

    def need_file(flag: str, value) -> None:
        from seqlab.data.files import check_regular_file
        check_regular_file(value, what=flag)

    if args.command == "train":
        if args.epochs is not None:
            need(args.epochs >= 1, "--epochs", args.epochs, "an integer >= 1")
            if args.resume:
                raise SeqlabError("--epochs does not apply to --resume: a resumed run "
                                  "continues to the [training] epochs of its config.toml; "
                                  "drop --epochs.")
        if args.runs_dir is not None:
            need(bool(args.runs_dir.strip()), "--runs-dir", args.runs_dir, "a folder path")
            if args.resume:
                raise SeqlabError("--runs-dir does not apply to --resume (the run stays in "
                                  "its folder); drop --runs-dir.")
        if args.config:
            need_file("CONFIG.toml", args.config)
    if args.command == "generate":
        need(args.length >= 1, "--length", args.length, "an integer >= 1 (tokens to generate)")
        need(math.isfinite(args.temperature) and args.temperature > 0, "--temperature",
             args.temperature, "a finite number > 0 (1 = the model's probabilities)")
        need(args.top_k >= 0, "--top-k", args.top_k,
             "an integer >= 1, or 0 to sample among all tokens")
        need(0 <= args.seed <= MAX_SEED, "--seed", args.seed, f"in [0, {MAX_SEED}]")
    if args.command == "predict":
        need_file("--input", args.input)
    if args.command == "score":
        for text in args.text:
            need(bool(text.strip()), "each sentence", text, "non-empty text")
    if args.command == "demo":
        need(bool(args.out.strip()), "--out", args.out, "a folder path")


def _metrics_text(metrics: dict) -> str:
    def fmt(v):
        return f"{v:.4f}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
    width = max((len(k) for k in metrics), default=0)
    return "\n".join(f"{k.ljust(width)}  {fmt(v)}" for k, v in metrics.items())


# ---------------------------------------------------------------------- parser
def cmd_init(args) -> None:
    from seqlab.starter import write_starter
    out, guess = write_starter(args.file, args.output, args.task, args.encoding)
    print(f"{out}: task = {guess['task']!r} ({guess['why']}); check it, then "
          f"`seqlab train {out}`.")


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (the usage itself is in --help)."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message}; see `{self.prog} --help`.", file=sys.stderr)
        raise SystemExit(EXIT_USER)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seqlab", description="Deep learning for sequences.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    p = sub.add_parser("datasets", help="list the dataset registry")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("init", help="look at a data file and write a starting TOML config")
    p.add_argument("file", help="your CSV / TSV / JSON lines / .txt / .ts / .arff file")
    p.add_argument("--task", help="classify, forecast, generate, seq2seq or tag (default: "
                                  "inferred from the columns)")
    p.add_argument("--output", help="the config to write (default: FILE's name .toml, here); "
                                    "an existing file is never replaced")
    p.add_argument("--encoding", default="utf-8", help="the file's text encoding")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("train", help="train a run from a TOML config (or --resume one)")
    p.add_argument("config", nargs="?", help="the TOML config (see examples/)")
    p.add_argument("--resume", metavar="RUN", help="continue the run folder RUN")
    p.add_argument("--runs-dir", help="override runs_dir of the config")
    p.add_argument("--epochs", type=int, help="override [training] epochs")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--overwrite", action="store_true",
                   help="replace runs_dir/NAME when it is a run folder seqlab made (without "
                        "it, a new run goes to NAME-2, NAME-3... and nothing is replaced)")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train on N processes of this machine (torch.distributed.run; "
                        "for several machines run torchrun ... -m seqlab train yourself)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="recompute a run's test metrics")
    p.add_argument("run")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict for each line of a text file")
    p.add_argument("run")
    p.add_argument("--input", required=True, metavar="FILE", help="one input per line")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("generate", help="sample text from a language-model run")
    p.add_argument("run")
    p.add_argument("--prompt", default="", help="text the sample starts from")
    p.add_argument("--length", type=int, default=200, help="tokens to generate")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1 sharper, > 1 flatter")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("score", help="log-probability of sentences under a language model")
    p.add_argument("run")
    p.add_argument("text", nargs="+", help="one or more sentences")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("summary", help="a run's model layers, parameters and metrics")
    p.add_argument("run")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("inspect", help="gradient flow, gates and hidden states of a run")
    p.add_argument("run")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("export", help="export a run's model (ONNX or pt2) with its vocabulary")
    p.add_argument("run")
    p.add_argument("--format", default="onnx", choices=("onnx", "pt2"))
    p.add_argument("--output", default=None, help="folder (default RUN/export/FORMAT)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("serve", help="serve a run over HTTP (needs seqlab[serve])")
    p.add_argument("run")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-batch", type=int, default=64, help="items run together (1: none)")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="wait for a batch to fill")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("tune", help="search model settings with Optuna, then train the best")
    p.add_argument("config", help="the TOML config to start from")
    p.add_argument("--budget", default="10m", help="time for the search: 10m, 90s, 1h")
    p.add_argument("--trials", type=int, help="finished trials to reach (default: budget only)")
    p.add_argument("--study", metavar="FILE", help="SQLite file of the study (default "
                   "runs_dir/NAME-tune.db); an interrupted search resumes from it")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("demo", help="a short tour of the tasks (< 5 minutes on 2 cores)")
    p.add_argument("--out", default="runs/demo", help="folder of the demo runs and report")
    p.add_argument("--quick", action="store_true", help="even smaller, for tests")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command. Exit codes: 0 done; 2 a user error (one sentence on stderr; also
    argparse's usage errors); 70 a bug in seqlab (one line on stderr naming the log file
    with the traceback); 130 interrupted (Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help (0), or a usage error already printed (2)
        return done.code if isinstance(done.code, int) else EXIT_USER
    try:
        check_flags(args)
        args.func(args)
    except KeyboardInterrupt:
        print("seqlab: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 (every error becomes one line)
        if os.environ.get("SEQLAB_DEBUG"):
            raise
        if _is_user_error(err):
            from seqlab.tasks.common import TrainingInterrupted
            print(f"seqlab: error: {_user_message(err)}", file=sys.stderr)
            return EXIT_INTERRUPTED if isinstance(err, TrainingInterrupted) else EXIT_USER
        print(report_bug(err, args), file=sys.stderr)
        return EXIT_BUG
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
