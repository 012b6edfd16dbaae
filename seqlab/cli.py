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

A user mistake (a missing file, an unknown dataset, a malformed config) prints one
sentence on stderr and exits with code 2; Ctrl-C exits with 130.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Optional, Sequence

from seqlab.errors import SeqlabError, one_line


# ---------------------------------------------------------------------- commands
def cmd_datasets(args) -> None:
    from seqlab import datasets
    print(datasets.format_table())


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
        if args.runs_dir:
            cfg.runs_dir = args.runs_dir
        if args.epochs:
            cfg.training.epochs = args.epochs
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
    if not path.is_file():
        raise FileNotFoundError(2, "No such file or directory", str(path))
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
    if args.temperature <= 0:
        raise SeqlabError(f"--temperature must be > 0, got {args.temperature}.")
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


def _metrics_text(metrics: dict) -> str:
    def fmt(v):
        return f"{v:.4f}" if isinstance(v, float) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
    width = max((len(k) for k in metrics), default=0)
    return "\n".join(f"{k.ljust(width)}  {fmt(v)}" for k, v in metrics.items())


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqlab", description="Deep learning for sequences.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("datasets", help="list the dataset registry")
    p.set_defaults(func=cmd_datasets)

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

    p = sub.add_parser("demo", help="a short tour of the tasks (< 5 minutes on 2 cores)")
    p.add_argument("--out", default="runs/demo", help="folder of the demo runs and report")
    p.add_argument("--quick", action="store_true", help="even smaller, for tests")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("seqlab: interrupted.", file=sys.stderr)
        return 130
    except (SeqlabError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError, ValueError, KeyError, tomllib.TOMLDecodeError) as err:
        from seqlab.tasks import TrainingInterrupted
        if os.environ.get("SEQLAB_DEBUG"):
            raise
        print(f"seqlab: error: {one_line(err)}", file=sys.stderr)
        return 130 if isinstance(err, TrainingInterrupted) else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
