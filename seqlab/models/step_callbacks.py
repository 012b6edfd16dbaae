"""Callbacks that the model families' training shortcuts (``MaskedLanguageModel.pretrain``,
``TransformerSeq2Seq.fit_pairs``) hand to ``fit``; any ``fit`` may use them.

* ``StepLearningRate(factor)``: the rate of every optimizer step is the initial rate
  times ``factor(step)`` (steps counted from 0 over the whole run), e.g. BERT's warmup
  and linear decay (``seqlab.models.pretraining.linear_warmup_decay``);
* ``TimeBudget(seconds)``: logs ``time`` (seconds since training began) each epoch and
  stops training after the epoch that passes ``seconds``;
* ``StopWhen(condition)``: stops after an epoch where ``condition(epoch, logs)`` is true;
* ``AverageLastEpochs(n)``: at the end of training the model holds the mean of its
  weights at the ends of the last ``n`` epochs (checkpoint averaging, as in Vaswani et
  al. 2017), a cheap ensemble of nearby points of one run;
* ``inverse_sqrt(warmup)``: the Transformer's rate factor, a linear warmup over
  ``warmup`` steps, then ``sqrt(warmup / step)``.

    >>> cb = StepLearningRate(lambda step: 1.0 / (step + 1))
    >>> cb.factor(3)
    0.25
    >>> [round(inverse_sqrt(4)(s), 2) for s in (0, 3, 15)]
    [0.25, 1.0, 0.5]
"""
from __future__ import annotations

import math
import time
from collections import deque
from typing import Callable, Optional

import torch

from seqlab.models.callbacks import Callback, initial_learning_rate, set_learning_rate


class StepLearningRate(Callback):
    """Sets the learning rate before every optimizer step to ``initial * factor(step)``,
    ``step = epoch * steps_per_epoch + batch`` (so a resumed run follows the same
    rates); ``initial`` is the optimizer's rate when it first trained."""

    def __init__(self, factor: Callable[[int], float]):
        super().__init__()
        self.factor = factor
        self.first = 0

    def _set(self, step: int) -> None:
        set_learning_rate(self.model.optimizer, self.base * float(self.factor(step)))

    def on_train_begin(self, logs=None) -> None:
        self.base = initial_learning_rate(self.model.optimizer)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.first = epoch * int(self.params.get("steps") or 0)
        self._set(self.first)

    def on_batch_end(self, batch, logs=None) -> None:
        self._set(self.first + batch + 1)  # the rate of the next step


class TimeBudget(Callback):
    """Adds ``time`` (seconds since ``fit`` began) to every epoch's logs; with
    ``seconds``, stops training after the first epoch that ends past it."""

    def __init__(self, seconds: Optional[float] = None):
        super().__init__()
        if seconds is not None and not seconds > 0:
            raise ValueError(f"TimeBudget: seconds must be a positive number or None, got "
                             f"{seconds!r}.")
        self.seconds = seconds

    def on_train_begin(self, logs=None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        elapsed = time.perf_counter() - self.start
        if logs is not None:
            logs["time"] = elapsed
        if self.seconds is not None and elapsed > self.seconds:
            self.model.stop_training = True


class StopWhen(Callback):
    """Stops training after an epoch for which ``condition(epoch, logs)`` is true."""

    def __init__(self, condition: Callable[[int, dict], bool]):
        super().__init__()
        self.condition = condition

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.condition(epoch, logs if logs is not None else {}):
            self.model.stop_training = True


def inverse_sqrt(warmup: int) -> Callable[[int], float]:
    """factor(step) = (step + 1) / warmup during warmup, then sqrt(warmup / (step + 1))
    (Vaswani et al. 2017, with the peak rate given as the optimizer's rate)."""
    warmup = max(1, int(warmup))

    def factor(step: int) -> float:
        s = step + 1
        return s / warmup if s < warmup else math.sqrt(warmup / s)
    return factor


class AverageLastEpochs(Callback):
    """Keeps the weights of the last ``n`` epoch ends; when training ends, the model gets
    their element-wise mean (integer buffers keep their last value)."""

    def __init__(self, n: int):
        super().__init__()
        if n < 1:
            raise ValueError(f"AverageLastEpochs: n must be >= 1, got {n}.")
        self.n = int(n)

    def on_train_begin(self, logs=None) -> None:
        self.kept: deque = deque(maxlen=self.n)

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.kept.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})

    def on_train_end(self, logs=None) -> None:
        if len(self.kept) < 2:
            return
        last = self.kept[-1]
        mean = {k: (torch.stack([w[k] for w in self.kept]).mean(0)
                    if v.is_floating_point() else v) for k, v in last.items()}
        self.model.load_state_dict(mean)
        self.kept.clear()


__all__ = ["StepLearningRate", "TimeBudget", "StopWhen", "AverageLastEpochs", "inverse_sqrt"]
