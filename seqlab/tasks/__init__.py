"""The course's applications as task recipes, each one readable file:

    classify.py   many-to-one: a sequence -> a class (sentiment, ECG, gestures)
    forecast.py   windows of a series -> the next `horizon` values
    generate.py   a character / word language model: sample, score, perplexity
    seq2seq.py    encoder-decoder (+ attention): the calculator "535+61" -> "596"
    tag.py        many-to-many aligned: a tag per token (part of speech)
    transcribe.py speech frames -> a transcript, by CTC ("three one four")

Every recipe module provides the same functions, which this module calls in order
(``train`` below is what ``seqlab train CONFIG.toml`` runs; the training itself is
``Model.fit``, the one loop of seqlab, with the run folder's callbacks):

    prepare(cfg, vocab=None) -> Data        load + split + encode (reuse ``vocab`` when given)
    build_model(cfg, vocab) -> Model        built (parameters exist); its ``compute_loss``
                                            takes the batches of ``train_batches``
    train_batches(data, cfg, rng)           an iterable of training batches
    evaluate(model, data, cfg, split)       a dict of metrics on "val" or "test"
    finish(run, model, data, metrics)       baselines and plots after training
    predict(model, vocab, cfg, lines)       outputs for raw inputs (`seqlab predict`)
    headline(metrics) -> (name, value, baseline)   the one number `seqlab demo` prints

    >>> sorted(TASKS)
    ['classify', 'forecast', 'generate', 'seq2seq', 'tag', 'transcribe']
"""
from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import torch

from seqlab import distributed, integrity, optimizers
from seqlab.distributed.launch import shared_run
from seqlab.config import Config
from seqlab.errors import SeqlabError
from seqlab.models.callbacks import (Callback, EpochMetrics, LearningRateScheduler,
                                     PopulationStatistics, ReduceLROnPlateau, cosine_decay)
from seqlab.models.checkpoints import KeepBest, RunCheckpoint
from seqlab.models.nan_guard import TrainingDiverged
from seqlab.models.step_callbacks import AverageLastEpochs, StepLearningRate, inverse_sqrt
from seqlab.devices import resolve_device
from seqlab.runs import Run, seed_everything
from seqlab.tasks.common import Data, TrainingInterrupted  # noqa: F401 (re-exported)
from seqlab.tasks.common import check_data

# metrics that are stopwatch readings: timings.json
TIMINGS = ("baseline_cpu_seconds", "beam_cpu_seconds")
TASKS = {name: f"seqlab.tasks.{name}"
         for name in ("classify", "forecast", "generate", "seq2seq", "tag",
                      "transcribe")}


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


class TaskBatches:
    """A recipe's training batches as a ``seqlab.models.adapters.BatchSource``: epoch
    ``e`` is ``task.train_batches(data, cfg, rng)`` with ``rng`` seeded by ([training]
    seed, e), so the batch order needs no saved state and a resumed run sees the same
    batches. The recipe decides the batch size ([training] batch_size) and the order."""

    seeded = True  # the order comes from [training] seed, not from fit's seed

    def __init__(self, task, data: Data, cfg: Config):
        self.task, self.data, self.cfg = task, data, cfg

    def num_batches(self, batch_size: int) -> None:
        return None  # known once the recipe has cut the epoch

    def batches(self, batch_size: int = 0, shuffle: bool = True, seed: int = 0,
                epoch: int = 0):
        rng = np.random.default_rng([self.cfg.training.seed, epoch])
        return iter(self.task.train_batches(self.data, self.cfg, rng))


class _EpochFunction(Callback):
    """``fn(epoch, row)`` after each epoch (row: ``{"epoch": 1, "loss": ...}``)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.fn(epoch, {"epoch": epoch + 1, **(logs or {})})


def compile_for(model, cfg: Config) -> None:
    """``model.compile`` with the optimizer and gradient clipping of [training] (the model
    says its own loss)."""
    t = cfg.training
    model.compile(optimizer=optimizers.for_training(t), clipnorm=t.clipnorm or None,
                  global_clipnorm=t.global_clipnorm or None)


def schedule_callbacks(cfg: Config) -> list:
    """[training] lr_schedule as callbacks: "constant" none; "cosine" from the rate down
    to 0 along the epochs; "inverse_sqrt" up over ``warmup_steps`` optimizer steps, then
    down as 1 / sqrt(step); "plateau" Keras's ReduceLROnPlateau on the training loss (as
    Wang et al.'s FCN is trained): halved after ``lr_patience`` epochs without a lower
    loss, never below ``min_learning_rate``. Each rate is a function of the epoch and
    the history before it, so a resumed run follows the same rates."""
    t = cfg.training
    if t.lr_schedule == "cosine":
        return [LearningRateScheduler(cosine_decay(t.learning_rate, t.epochs))]
    if t.lr_schedule == "inverse_sqrt":
        return [StepLearningRate(inverse_sqrt(t.warmup_steps))]
    if t.lr_schedule == "plateau":
        return [ReduceLROnPlateau(monitor="loss", factor=0.5, patience=t.lr_patience,
                                  min_delta=0.0, min_lr=min(t.min_learning_rate,
                                                            t.learning_rate),
                                  initial_learning_rate=t.learning_rate)]
    return []


def training_callbacks(run: Run, task, data: Data, source: TaskBatches,
                       resume: bool) -> tuple[list, RunCheckpoint]:
    """What [training] asks of a run, as callbacks, in the order they must run:
    validation metrics (``val_*``), the learning-rate schedule, keep_best, the
    checkpoint after every epoch, and BatchNormalization's population statistics."""
    cfg, t = run.config, run.config.training
    callbacks: list = [EpochMetrics(lambda model: task.evaluate(model, data, cfg, "val"))]
    callbacks += schedule_callbacks(cfg)
    keep_best = None
    if t.keep_best:
        # the task's validation metric; without a validation split, the lowest training
        # loss (Keras's ModelCheckpoint(monitor="loss"), as Fawaz et al. select their FCNs)
        key, mode = getattr(task, "MONITOR", ("loss", "min"))
        keep_best = KeepBest(monitor=f"val_{key}", mode=mode, fallback="loss")
        callbacks.append(keep_best)
    if t.average_last:
        callbacks.append(AverageLastEpochs(t.average_last))  # before save_model
    checkpoint = RunCheckpoint(run, resume=resume, keep_best=keep_best,
                               every_batches=t.checkpoint_every or None)
    callbacks.append(checkpoint)
    if t.population_stats:
        callbacks.append(PopulationStatistics(source, t.batch_size, t.seed, epoch=t.epochs))
    return callbacks, checkpoint


def train(cfg: Optional[Config] = None, resume: Optional[str | Path] = None,
          callbacks: Iterable = (), verbose: bool = True,
          overwrite: bool = False) -> tuple[Run, dict]:
    """Train a run from ``cfg`` (or continue the run folder ``resume``); test it.

    A new run goes to ``runs_dir/name``, or to the first free ``name-2``, ``name-3``...
    when that exists; ``overwrite=True`` replaces ``runs_dir/name`` instead, only when it
    is a run folder seqlab made (see ``Run.create``). Returns the run (``run.path`` is
    the folder it went to) and its test metrics (also in ``run.path / "metrics.json"``).
    ``callbacks``: ``seqlab.models.callbacks.Callback`` objects, or functions
    ``fn(epoch, row)`` called after each epoch was saved. Raises ``TrainingInterrupted`` on
    Ctrl-C, after the last epoch was saved.
    """
    # on several processes (torchrun) rank 0 makes the folder and alone writes to it
    run = shared_run(lambda: Run.open(resume) if resume else
                     Run.create(cfg, overwrite=overwrite))
    # one writer per run folder: a second process stops here
    with run.lock() if distributed.is_writer() else contextlib.nullcontext():
        return run, _train_locked(run, bool(resume), callbacks, verbose)


def _train_locked(run: Run, resume: bool, callbacks: Iterable, verbose: bool) -> dict:
    """``train`` in a run folder this process holds. A resumed run without a checkpoint
    (killed before its first epoch ended) starts from the beginning."""
    cfg, new_folder = run.config, not resume
    if resume and not run.has_checkpoint():
        resume = False
    try:
        task = get(cfg.task)
        device = _setup(cfg)
        if resume:
            vocab = run.read_json("vocab.json")
            data = integrity.check_vocab(lambda: task.prepare(cfg, vocab=vocab),
                                         run.file("vocab.json"), cfg.task)
        else:
            data = task.prepare(cfg, vocab=None)
        check_data(task, data, cfg)
    except BaseException:
        if new_folder and distributed.is_writer():
            run.discard_if_unused()  # a new folder with nothing in it but its config
        raise
    if distributed.is_writer():
        run.write_json("vocab.json", data.vocab)
    model = task.build_model(cfg, data.vocab)
    if not resume and hasattr(task, "fit_statistics"):  # a resumed run reads them back
        task.fit_statistics(model, data)
    model = model.to(device)
    compile_for(model, cfg)
    source = TaskBatches(task, data, cfg)
    own, checkpoint = training_callbacks(run, task, data, source, resume)
    extra = [cb if isinstance(cb, Callback) else _EpochFunction(cb) for cb in callbacks]
    try:
        model.fit(source, epochs=cfg.training.epochs, batch_size=cfg.training.batch_size,
                  callbacks=own + extra, verbose=1 if verbose else 0, device=None,
                  precision=cfg.training.precision)
    except TrainingDiverged as err:
        done = len(run.checkpoint_meta()["history"]) if run.has_checkpoint() else 0
        raise TrainingDiverged(f"{err} {run.path} keeps its checkpoint of epoch {done}."
                               if done else f"{err} {run.path} has no checkpoint yet.") \
            from None
    except KeyboardInterrupt:
        meta = run.checkpoint_meta() if run.has_checkpoint() else {"history": []}
        at = meta.get("position")
        more = f" and {at['batch']} batch(es) of epoch {at['epoch'] + 1}" if at else ""
        raise TrainingInterrupted(
            f"interrupted after {len(meta['history'])} completed epoch(s){more}; the run is "
            f"saved in {run.path}: "
            f"continue it with `seqlab train --resume {run.path}`.") from None
    if not distributed.is_writer():
        return run, {}  # rank 0 tests the model and writes the report
    history = checkpoint.rows
    run.save_model(model)
    model.eval()
    with torch.no_grad():
        metrics = task.evaluate(model, data, cfg, "test")
    metrics.update(task.finish(run, model, data, metrics) or {})
    metrics["epochs"] = len(history)
    best = run.checkpoint_meta().get("best") if run.has_checkpoint() else None
    if best is not None:
        metrics["best_epoch"] = best["epoch"]
    # stopwatch readings live apart, so metrics.json is the same on every re-run
    timings = {k: metrics.pop(k) for k in TIMINGS if k in metrics}
    run.write_json("metrics.json", metrics)
    if timings:
        run.write_json("timings.json", timings)
    from seqlab import plots, report
    if history:
        plots.learning_curves(history, run.plots_dir / "learning_curves.png")
    report.write_run_report(run)
    return metrics


def load(path: str | Path) -> tuple[Run, Any, torch.nn.Module, dict]:
    """(run, recipe module, trained model in eval mode, vocab) of a run folder."""
    run = Run.open(path)
    cfg = run.config
    task = get(cfg.task)
    device = _setup(cfg)
    vocab = run.read_json("vocab.json")
    weights = run.file("model.safetensors")
    if not weights.is_file():
        run.load_weights(None)  # the sentence for a run without a trained model
    integrity.check_shapes_before_build(
        lambda: integrity.check_vocab(lambda: task.build_model(cfg, vocab),
                                      run.file("vocab.json"), cfg.task),
        weights, source=str(run.file("config.toml")))
    integrity.check_model_json(run)
    model = integrity.check_vocab(lambda: task.build_model(cfg, vocab),
                                  run.file("vocab.json"), cfg.task).to(device)
    run.load_weights(model)
    model.eval()
    return run, task, model, vocab


def evaluate(path: str | Path) -> dict:
    """Recompute a run's test metrics from its saved model and the same data split."""
    run, task, model, vocab = load(path)
    data = task.prepare(run.config, vocab=vocab)
    with torch.no_grad():
        return task.evaluate(model, data, run.config, "test")


class _LossOfBatch(torch.nn.Module):
    """Wraps a trained model so that ``seqlab.inspect`` can call it with one tensor: the
    forward pass computes the model's mean loss (``compute_loss``) on a stored batch
    (cast to the model's dtype)."""

    def __init__(self, model, batch):
        super().__init__()
        self.model, self.batch = model, batch

    def forward(self, _):
        dtype = next(self.model.parameters()).dtype
        batch = tuple(b.to(dtype) if b.is_floating_point() else b for b in self.batch)
        total, count, _ = self.model.compute_loss(batch)
        return total / count


def inspect(path: str | Path, batch_size: int = 16) -> dict:
    """Gradient flow ||dL/dh_t||, gate saturation and hidden states of a run's recurrent
    layers on one training batch (float64); plots go to plots/inspect_*.png and the
    report is rewritten. Returns {layer: {"ratio_last_first": ..., "saturation": ...}}."""

    from seqlab import inspect as probe
    from seqlab import report
    run, task, model, vocab = load(path)
    if not probe.recurrent_layers(model):
        raise SeqlabError(f"{path}: the model has no recurrent layer to inspect "
                          f"([model] arch = {run.config.model.arch!r}).")
    data = task.prepare(run.config, vocab=vocab)
    cfg = run.config
    cfg.training.batch_size = batch_size
    batch = next(iter(task.train_batches(data, cfg, np.random.default_rng(0))))
    wrapped, dummy = _LossOfBatch(model, batch), torch.zeros(1)
    flow = probe.hidden_gradients(wrapped, dummy, dummy, loss=lambda out, y: out)
    probe.plot_gradient_flow(flow, run.plots_dir / "inspect_gradient_flow.png")
    probe.plot_hidden_states(probe.hidden_states(wrapped, dummy),
                             run.plots_dir / "inspect_hidden_states.png")
    gates = probe.gate_activations(wrapped, dummy)
    saturation = gates.saturation()
    if gates.values:
        probe.plot_gates(gates, run.plots_dir / "inspect_gates.png")
    report.write_run_report(run)
    return {name: {"ratio_last_first": flow.ratio(name),
                   "saturation": saturation.get(name, {})} for name in flow.norms}
