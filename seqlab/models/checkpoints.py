"""Callbacks that make a training run resumable and keep its best epoch.

``RunCheckpoint(run)`` saves everything needed to continue after every epoch (weights,
optimizer state, RNG states, the history: ``seqlab.runs.Run.save_checkpoint``, atomic
files); with ``resume=True`` it restores them when training begins and tells ``fit`` the
epoch to continue from, so an interrupted run (Ctrl-C) ends exactly as an uninterrupted
one. ``RunCheckpoint(run, every_batches=k)`` also saves after every k-th batch with the
position in the epoch (``seqlab.models.epoch_position``): a run stopped mid-epoch resumes
at the next batch and takes the same remaining batches as the uninterrupted run.
``KeepBest`` restores the weights of the best epoch at the end, as Keras's
``restore_best_weights``; ``RunCheckpoint(run, keep_best=...)`` saves its state too.

    model.fit(source, epochs=20, callbacks=[KeepBest("val_accuracy"),
                                            RunCheckpoint(run, resume=True)])

Put both after the callbacks that add to the logs (``EpochMetrics``), and
``RunCheckpoint`` after ``KeepBest``: a checkpoint holds what they computed.
"""
from __future__ import annotations

from typing import Optional

from seqlab import distributed
from seqlab.models.callbacks import Callback, _mode_for
from seqlab.models.epoch_position import EpochPosition


class KeepBest(Callback):
    """At the end of training, put back the weights of the epoch with the best
    ``monitor`` (Keras's ``restore_best_weights``; ties keep the earlier epoch). An
    epoch whose logs lack ``monitor`` (no validation split) is judged by ``fallback``,
    the training loss by default (lower is better).

    ``best`` is ``(score, epoch, weights)``: the score with higher = better, the epoch
    counted from 1, a copy of the state dict; None before the first epoch.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", fallback: str = "loss"):
        super().__init__()
        self.monitor, self.fallback = monitor, fallback
        self.mode = _mode_for(monitor, mode, "KeepBest")
        self.best: Optional[tuple] = None

    def score(self, logs: dict) -> float:
        if self.monitor in logs:
            value = float(logs[self.monitor])
            return value if self.mode == "max" else -value
        if self.fallback not in logs:
            raise ValueError(f"KeepBest: neither monitor={self.monitor!r} nor "
                             f"fallback={self.fallback!r} is in the logs {sorted(logs)}.")
        return -float(logs[self.fallback])

    def on_epoch_end(self, epoch, logs=None) -> None:
        score = self.score(logs or {})
        if self.best is None or score > self.best[0]:
            self.best = (score, epoch + 1, {k: v.detach().clone()
                                            for k, v in self.model.state_dict().items()})

    def on_train_end(self, logs=None) -> None:
        if self.best is not None:
            self.model.load_state_dict(self.best[2])


class RunCheckpoint(Callback):
    """Save ``run``'s checkpoint and history.csv after every epoch; with ``resume``,
    restore the last checkpoint when training begins and continue after its epoch.

    Args:
        run: a ``seqlab.runs.Run`` (anything with ``save_checkpoint``,
            ``load_checkpoint`` and ``write_history``).
        resume: continue from the run's checkpoint (model, optimizer, RNG states,
            history and ``keep_best``'s best epoch).
        keep_best: a ``KeepBest`` whose best epoch the checkpoint keeps.
        every_batches: also save after every ``every_batches``-th batch of an epoch,
            with the position in it (None: after each epoch only).

    ``rows`` is the run's history, one dict per epoch: ``{"epoch": 1, "loss": ...,
    "val_...": ...}``, earlier epochs included after a resume.
    """

    writes_files = True  # on several processes only rank 0 runs it

    def __init__(self, run, resume: bool = False, keep_best: Optional[KeepBest] = None,
                 every_batches: Optional[int] = None):
        super().__init__()
        if every_batches is not None and (isinstance(every_batches, bool) or
                                          not isinstance(every_batches, int)
                                          or every_batches < 1):
            raise ValueError(f"RunCheckpoint: every_batches must be a positive integer or "
                             f"None, got {every_batches!r}.")
        self.run, self.resume, self.keep_best = run, resume, keep_best
        self.every_batches = every_batches
        self.wants_on_batch_end = every_batches is not None  # fit skips it otherwise
        self.rows: list[dict] = []

    def on_train_begin(self, logs=None) -> None:
        self.rows = []
        if not self.resume:
            return
        start, self.rows, best = self.run.load_checkpoint(self.model, self.model.optimizer)
        self.params["initial_epoch"] = start
        position = self.run.checkpoint_meta().get("position")
        if position is not None:  # saved mid-epoch: continue at its next batch
            self.params["initial_position"] = EpochPosition.from_state(position)
        if self.keep_best is not None:
            self.keep_best.best = best
        history = self.model.history  # fit's History: the earlier epochs first
        for row in self.rows:
            history.epoch.append(int(row["epoch"]) - 1)
            for key, value in row.items():
                if key != "epoch":
                    history.history.setdefault(key, []).append(value)

    def on_batch_end(self, batch, logs=None) -> None:
        if self.every_batches is None or (batch + 1) % self.every_batches:
            return
        best = self.keep_best.best if self.keep_best is not None else None
        position = self.params["position"]  # fit's EpochPosition
        self.run.save_checkpoint(self.model, self.model.optimizer, position.epoch - 1,
                                 self.rows, best,
                                 position.state(sums=distributed.current() is None))

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.rows.append({"epoch": epoch + 1, **(logs or {})})
        best = self.keep_best.best if self.keep_best is not None else None
        self.run.save_checkpoint(self.model, self.model.optimizer, epoch, self.rows, best)
        self.run.write_history(self.rows)


__all__ = ["KeepBest", "RunCheckpoint"]
