"""The course's applications as task recipes, each one readable file:

    classify.py   many-to-one: a sequence -> a class (sentiment, ECG, gestures)
    forecast.py   windows of a series -> the next `horizon` values
    generate.py   a character / word language model: sample, score, perplexity
    seq2seq.py    encoder-decoder (+ attention): the calculator "535+61" -> "596"
    tag.py        many-to-many aligned: a tag per token (part of speech)

Every recipe module provides the same functions, which this module and `seqlab.runs`
call in order (``train`` below is what ``seqlab train CONFIG.toml`` runs):

    prepare(cfg, vocab=None) -> Data        load + split + encode (reuse ``vocab`` when given)
    build_model(cfg, vocab) -> nn.Module    built (parameters exist) and ready to train
    train_batches(data, cfg, rng)           an iterable of training batches
    loss(model, batch, cfg) -> (loss, n)    the mean loss of a batch and its weight
    evaluate(model, data, cfg, split)       a dict of metrics on "val" or "test"
    finish(run, model, data, metrics)       baselines and plots after training
    predict(model, vocab, cfg, lines)       outputs for raw inputs (`seqlab predict`)
    headline(metrics) -> (name, value, baseline)   the one number `seqlab demo` prints

    >>> sorted(TASKS)
    ['classify', 'forecast', 'generate', 'seq2seq', 'tag']
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import torch

from seqlab.config import Config
from seqlab.errors import SeqlabError
from seqlab.runs import Run, resolve_device, seed_everything, train_epochs

TASKS = {name: f"seqlab.tasks.{name}"
         for name in ("classify", "forecast", "generate", "seq2seq", "tag")}


@dataclass
class Data:
    """A task's prepared data: three splits and what encodes them."""
    train: Any                       # task-specific (tensors, lists of sequences...)
    val: Any
    test: Any
    vocab: dict                      # JSON-friendly: vocabularies, class names, scalers
    info: dict = field(default_factory=dict)  # facts for the report (sizes, baselines)


class TrainingInterrupted(SeqlabError):
    """Ctrl-C during training; the run was saved after its last completed epoch."""


def get(task: str):
    """The recipe module of ``task``."""
    if task not in TASKS:
        raise SeqlabError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    return importlib.import_module(TASKS[task])


def _setup(cfg: Config) -> torch.device:
    if cfg.training.threads:
        torch.set_num_threads(cfg.training.threads)
    seed_everything(cfg.training.seed)
    return resolve_device(cfg.training.device)


def train(cfg: Optional[Config] = None, resume: Optional[str | Path] = None,
          callbacks: Iterable = (), verbose: bool = True) -> tuple[Run, dict]:
    """Train a run from ``cfg`` (or continue the run folder ``resume``); test it.

    Returns the run and its test metrics (also in ``run.path / "metrics.json"``).
    Raises ``TrainingInterrupted`` on Ctrl-C, after the last epoch was saved.
    """
    run = Run.open(resume) if resume else Run.create(cfg)
    cfg = run.config
    task = get(cfg.task)
    device = _setup(cfg)
    data = task.prepare(cfg, vocab=run.read_json("vocab.json") if resume else None)
    run.write_json("vocab.json", data.vocab)
    model = task.build_model(cfg, data.vocab).to(device)
    try:
        history = train_epochs(run, model, task, data, resume=bool(resume),
                               callbacks=callbacks, verbose=verbose)
    except KeyboardInterrupt:
        done = len(run.read_json("checkpoint.json")["history"]) if run.has_checkpoint() else 0
        raise TrainingInterrupted(
            f"interrupted after {done} completed epoch(s); the run is saved in {run.path}: "
            f"continue it with `seqlab train --resume {run.path}`.") from None
    run.save_model(model)
    model.eval()
    with torch.no_grad():
        metrics = task.evaluate(model, data, cfg, "test")
    metrics.update(task.finish(run, model, data, metrics) or {})
    metrics["epochs"] = len(history)
    run.write_json("metrics.json", metrics)
    from seqlab import plots, report
    if history:
        plots.learning_curves(history, run.plots_dir / "learning_curves.png")
    report.write_run_report(run)
    return run, metrics


def load(path: str | Path) -> tuple[Run, Any, torch.nn.Module, dict]:
    """(run, recipe module, trained model in eval mode, vocab) of a run folder."""
    run = Run.open(path)
    cfg = run.config
    task = get(cfg.task)
    device = _setup(cfg)
    vocab = run.read_json("vocab.json")
    model = task.build_model(cfg, vocab).to(device)
    run.load_weights(model)
    model.eval()
    return run, task, model, vocab


def evaluate(path: str | Path) -> dict:
    """Recompute a run's test metrics from its saved model and the same data split."""
    run, task, model, vocab = load(path)
    data = task.prepare(run.config, vocab=vocab)
    with torch.no_grad():
        return task.evaluate(model, data, run.config, "test")
