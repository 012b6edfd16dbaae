"""Callbacks: hooks into ``fit``, as in Keras: History, EarlyStopping, ModelCheckpoint,
the learning-rate schedules (LearningRateScheduler, ReduceLROnPlateau), EpochMetrics
(metrics of a function of the model, e.g. a task's validation scores, into the logs) and
PopulationStatistics (BatchNormalization's exact statistics at the end). Resuming a run
folder and keeping its best epoch: ``seqlab.models.checkpoints``.

Subclass ``Callback`` and override the hooks you need; ``self.model`` is the model being
trained. ``logs`` is a dict of floats: ``{"loss": ..., "accuracy": ..., "val_loss": ...}``
at the end of an epoch, ``{"loss": ...}`` (the running mean) at the end of a batch.

    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
"""
from __future__ import annotations

import math
from typing import Callable, Optional


class Callback:
    """Base class: every hook does nothing. ``model`` and ``params`` are set by ``fit``."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_train_end(self, logs: Optional[dict] = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...


def overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` defines ``hook`` itself (fit skips per-batch work otherwise)
    and has not switched it off (an attribute ``wants_<hook>`` False)."""
    return (getattr(type(callback), hook) is not getattr(Callback, hook)
            and getattr(callback, f"wants_{hook}", True))


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` is the loss of each epoch."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    # fit makes a fresh History each time; a callback that resumes a run
    # (RunCheckpoint) puts the earlier epochs back in it in on_train_begin.

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def _mode_for(monitor: str, mode: str, who: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}.")
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall")) else "min"


class _Monitor(Callback):
    """Tracks the best value of one logged quantity."""

    def __init__(self, monitor: str, mode: str, min_delta: float, who: str):
        super().__init__()
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode, who)
        self.min_delta = abs(float(min_delta))
        self.who = who
        self.best = math.inf if self.mode == "min" else -math.inf

    def current(self, logs: Optional[dict]) -> Optional[float]:
        value = (logs or {}).get(self.monitor)
        if value is None:
            available = sorted(logs or {})
            raise ValueError(f"{self.who}: monitor={self.monitor!r} is not in the logs "
                             f"{available}. Pass one of them (val_* needs validation data).")
        return float(value)

    def improved(self, value: float) -> bool:
        return self._beats(value, self.best)

    def _beats(self, value: float, reference: float) -> bool:
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs, "val_loss" by default.
        min_delta: smaller changes do not count as improvement.
        patience: epochs without improvement before stopping.
        mode: "min", "max" or "auto" (max for accuracies, min otherwise).
        restore_best_weights: at the end of training, put back the weights of the best
            epoch (whether training stopped early or ran all its epochs).
        baseline: stop if the monitored value does not beat it within ``patience``
            epochs (improvements below it are still tracked, as in Keras).

    ``stopped_epoch`` is the epoch at which training stopped (0 if it did not).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False):
        super().__init__(monitor, mode, min_delta, "EarlyStopping")
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}.")
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, None
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None) -> None:
        # Keras 3's rule: every improvement is tracked (and its weights kept), but only
        # one that also beats ``baseline`` resets the patience; never stops at epoch 0.
        value = self.current(logs)
        self.wait += 1
        if self.improved(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone()
                                     for k, v in self.model.state_dict().items()}
            if self.baseline is None or self._beats(value, float(self.baseline)):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping (best {self.monitor} "
                  f"{self.best:.4f} at epoch {self.best_epoch + 1 if self.best_epoch is not None else '-'}).")


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch (atomically: an interrupted save leaves the
    previous file intact).

    Args:
        filepath: where to save; may contain ``{epoch}`` and log keys, e.g.
            ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"`` (epochs counted from 1).
        monitor: the quantity that decides "best", "val_loss" by default.
        save_best_only: save only when ``monitor`` improves.
        save_weights_only: write only the weights (``model.save_weights``).
        mode: "min", "max" or "auto".
    """

    writes_files = True  # on several processes only rank 0 runs it

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto"):
        super().__init__(monitor, mode, 0.0, "ModelCheckpoint")
        self.filepath = str(filepath)
        self.verbose, self.save_best_only = verbose, save_best_only
        self.save_weights_only = save_weights_only

    def on_train_begin(self, logs=None) -> None:
        if self.best in (math.inf, -math.inf):
            self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        if self.save_best_only:
            value = self.current(logs)
            if not self.improved(value):
                return
            self.best = value
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as exc:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} names "
                             f"{{{exc.args[0]}}}, which is not in the logs "
                             f"{sorted(logs) + ['epoch']}.") from None
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


# ---------------------------------------------------------------------- learning rates
def set_learning_rate(optimizer, rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = rate


def initial_learning_rate(optimizer) -> float:
    """The rate the optimizer started with (kept in its param groups as torch's
    schedulers keep it, so a restored optimizer state remembers it)."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    return optimizer.param_groups[0]["initial_lr"]


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to ``schedule(epoch, lr)``
    (epochs counted from 0, ``lr`` the current rate), as Keras's callback.

    >>> cb = LearningRateScheduler(cosine_decay(0.01, epochs=10))
    >>> round(cb.schedule(5, None), 6)
    0.005
    """

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None) -> None:
        optimizer = self.model.optimizer
        rate = float(self.schedule(epoch, optimizer.param_groups[0]["lr"]))
        set_learning_rate(optimizer, rate)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {rate:.4g}.")


def cosine_decay(initial_learning_rate: float, epochs: int) -> Callable[[int, float], float]:
    """A schedule for ``LearningRateScheduler``: half a cosine from the rate down to 0
    over ``epochs`` epochs (Loshchilov & Hutter's SGDR without restarts)."""
    return lambda epoch, lr=None: (initial_learning_rate * 0.5
                                   * (1 + math.cos(math.pi * epoch / epochs)))


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs in which
    ``monitor`` did not improve (by more than ``min_delta``), never below ``min_lr``.

    Keras's rule, computed at the start of each epoch from the monitored values of the
    epochs before it (``model.history``): the rate is a function of the epoch and the
    history, so a resumed run (``RunCheckpoint``) follows the same rates.

    Args:
        initial_learning_rate: the rate before any reduction; None: the optimizer's rate
            when training started.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 min_lr: float = 0.0, initial_learning_rate: Optional[float] = None):
        super().__init__(monitor, mode, min_delta, "ReduceLROnPlateau")
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}.")
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"ReduceLROnPlateau: patience must be an int >= 1, got "
                             f"{patience!r}.")
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.min_lr, self.initial = min_lr, initial_learning_rate

    def rate(self, values) -> float:
        """The rate after the epochs whose monitored values are ``values``."""
        rate, best, wait = self.base, (math.inf if self.mode == "min" else -math.inf), 0
        for value in values:
            if self._beats(value, best):
                best, wait = value, 0
                continue
            wait += 1
            if wait >= self.patience:
                rate, wait = max(rate * self.factor, self.min_lr), 0
        return rate

    def on_train_begin(self, logs=None) -> None:
        started = initial_learning_rate(self.model.optimizer)
        self.base = started if self.initial is None else float(self.initial)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        history = self.model.history
        values = [v for e, v in zip(history.epoch, history.history.get(self.monitor, []))
                  if e < epoch]
        rate = self.rate(values)
        if self.verbose and rate != self.model.optimizer.param_groups[0]["lr"]:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau sets the learning rate to {rate:.4g}.")
        set_learning_rate(self.model.optimizer, rate)


# ---------------------------------------------------------------------- more logs
class EpochMetrics(Callback):
    """Adds ``prefix + name`` for every number of ``evaluate(model)`` (a dict) to each
    epoch's logs, the model in eval mode and without gradients: e.g. a task's
    validation scores (exact match, MASE, perplexity) that no batch loss gives.
    Put it before the callbacks that read those logs."""

    def __init__(self, evaluate: Callable, prefix: str = "val_"):
        super().__init__()
        self.evaluate, self.prefix = evaluate, prefix

    def on_epoch_end(self, epoch, logs=None) -> None:
        import torch
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            scores = self.evaluate(self.model)
        self.model.train(was_training)
        if logs is not None:
            logs.update({self.prefix + k: v for k, v in scores.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool)})


class PopulationStatistics(Callback):
    """At the end of training, every BatchNormalization gets the exact mean and variance
    of its inputs over one pass of ``source`` (the training data) with the final weights
    (``seqlab.layers.normalization.update_batch_statistics``): its moving averages lag
    behind the weights. ``source`` is what fit accepts (a ``BatchSource``); the pass
    takes the batches of epoch ``epoch`` (default: the one after the last)."""

    def __init__(self, source, batch_size: int = 32, seed: int = 0,
                 epoch: Optional[int] = None):
        super().__init__()
        self.source, self.batch_size, self.seed, self.epoch = source, batch_size, seed, epoch

    def on_train_end(self, logs=None) -> None:
        from seqlab.layers.normalization import update_batch_statistics
        from seqlab.models.adapters import move_to
        model = self.model
        device = next(model.parameters()).device
        epoch = self.params.get("epochs", 0) if self.epoch is None else self.epoch
        batches = self.source.batches(self.batch_size, True, self.seed, epoch)
        update_batch_statistics(
            model, lambda: (model.compute_loss(move_to(b, device)) for b in batches))


class CallbackList:
    """Calls a hook on every callback, in order."""

    def __init__(self, callbacks, model, params: dict):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit(): callbacks must be seqlab Callback instances, got "
                                f"{type(cb).__name__}. Subclass "
                                f"seqlab.models.callbacks.Callback.")
            cb.set_model(model)
            cb.set_params(params)
        self.wants_batch_end = any(overrides(cb, "on_batch_end") for cb in self.callbacks)

    def call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)


__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "CallbackList",
           "LearningRateScheduler", "cosine_decay", "ReduceLROnPlateau", "EpochMetrics",
           "PopulationStatistics", "set_learning_rate"]
