"""The NaN guard of the training loop: a non-finite loss or gradient stops training.

``fit`` checks every step, after the backward pass and before the optimizer moves the
weights: when the batch's loss or any parameter's gradient holds NaN or inf, the step is
not taken (the weights stay those before the batch; a run's checkpoint stays that of the
last completed epoch) and ``fit(nan_policy=...)`` decides what happens:

    "raise"   (default) raise ``TrainingDiverged``, a ``SeqlabError`` (``seqlab train``
              prints its sentence and exits 2), naming the epoch, the batch and the likely
              causes; ``on_epoch_end`` is not called for the broken epoch.
    "stop"    as Keras's ``TerminateOnNaN``: warn with the same sentence, end training
              (``on_train_end`` runs, ``fit`` returns the History of the good epochs).
    "ignore"  no check (the loop of earlier seqlab versions; a run folder still refuses
              to save NaN/inf weights).

The check costs one device synchronisation per step (a bool read from the accelerator);
"ignore" removes it. ``seqlab train`` uses "raise".

    >>> import torch
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> model = torch.nn.Module(); model.w = w
    >>> (w * float("inf")).sum().backward()
    >>> problem(model, torch.tensor(1.0))
    'a gradient (w) holds NaN or inf'
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch

from seqlab.errors import SeqlabError

POLICIES = ("raise", "stop", "ignore")


class TrainingDiverged(SeqlabError, FloatingPointError):
    """The loss or a gradient became NaN or inf; the message says where and why."""


class NonFiniteStep(Exception):
    """Raised inside a step (by ``check``); ``fit`` turns it into the policy's action."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def check_policy(nan_policy: str) -> str:
    if nan_policy not in POLICIES:
        raise ValueError(f"fit(): nan_policy must be one of {', '.join(map(repr, POLICIES))}, "
                         f"got {nan_policy!r}.")
    return nan_policy


def problem(model, loss: torch.Tensor) -> Optional[str]:
    """What is non-finite in this step (the loss, a gradient), or None; one device sync.
    ``model`` None: the loss only."""
    grads = ([] if model is None else
             [(n, p.grad) for n, p in model.named_parameters() if p.grad is not None])
    checks = [torch.isfinite(loss.detach()).all()]
    checks += [torch.isfinite(g).all() for _, g in grads]
    if bool(torch.stack([c.to(checks[0].device) for c in checks]).all()):
        return None
    if not bool(checks[0]):
        return f"the loss is {float(loss.detach().reshape(-1)[0])}"
    bad = [n for (n, _), ok in zip(grads, checks[1:]) if not bool(ok)]
    return f"a gradient ({', '.join(bad[:3])}) holds NaN or inf"


def check(model, loss: torch.Tensor) -> None:
    """Raise ``NonFiniteStep`` when this step's loss or a gradient is not finite."""
    what = problem(model, loss)
    if what is not None:
        raise NonFiniteStep(what)


def message(what: str, epoch: int, batch: int, optimizer) -> str:
    """The sentence: where (epoch and batch, from 1), what, the likely causes, the fix."""
    lr = optimizer.param_groups[0].get("lr") if optimizer.param_groups else None
    rate = f"{type(optimizer).__name__} learning rate {lr:g}" if lr is not None else \
        "the learning rate"
    return (f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}, so the "
            f"step was not taken and training stopped (the weights are those before the "
            f"batch; a run keeps the checkpoint of its last completed epoch); likely "
            f"causes: {rate} too high (try 10x lower, or clipnorm), or NaN/inf in the "
            f"inputs or targets; fit(nan_policy='ignore') trains on regardless.")


def on_non_finite(err: NonFiniteStep, epoch: int, batch: int, model, optimizer,
                  nan_policy: str) -> None:
    """Apply ``nan_policy`` ("raise" or "stop") to a non-finite step."""
    text = message(err.what, epoch, batch, optimizer)
    optimizer.zero_grad(set_to_none=True)
    if nan_policy == "raise":
        raise TrainingDiverged(text) from None
    warnings.warn(text, RuntimeWarning, stacklevel=3)
    model.stop_training = True


def check_inputs(x: torch.Tensor, index=None, offset: int = 0, caller: str = "predict") -> None:
    """ValueError naming the first row of ``x`` (N, ...) that holds NaN or inf (its row in
    the caller's input: ``index`` maps batch rows to input rows, else ``offset`` + row).
    Several inputs (a list, tuple or dict of tensors) are checked one by one."""
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (list, tuple)):
        for part in x:
            check_inputs(part, index, offset, caller)
        return
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return
    bad = ~torch.isfinite(x).reshape(len(x), -1).all(dim=1)   # (N,)
    if bool(bad.any()):
        row = int(bad.nonzero()[0, 0])
        row = int(index[row]) if index is not None else offset + row
        raise ValueError(f"{caller}(): x holds NaN or inf (input row {row}); the model's "
                         f"outputs for it would be NaN: clean or impute the inputs first.")
