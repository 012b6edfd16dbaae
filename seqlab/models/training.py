"""The training loop: ``fit`` of ``seqlab.Model`` (``evaluate`` and ``predict`` are in
``inference.py``).

Every model in seqlab trains here: ``Model.fit``, ``seqlab train``, and each model family
(a model says its loss in ``compute_loss``; the loop does not know what it computes).
One epoch of ``fit`` is the loop every PyTorch user writes, with Keras's bookkeeping:

    for batch in source.batches(batch_size, shuffle, seed, epoch):   # order: f(seed, epoch)
        batch = move_to(batch, device)                   # CUDA: pinned, non_blocking
        optimizer.zero_grad()
        with precision.autocast():                       # "bf16" / "fp16"; "32": no-op
            total, count, logs = model.compute_loss(batch)   # sum of the batch's loss terms
        precision.scale(total / count).backward()        # backward(): the only one
        precision.unscale(optimizer)                     # fp16's grad scaler
        clip gradients (clipnorm / global_clipnorm / clipvalue); precision.step(optimizer)

then the validation pass (``torch.inference_mode``, ``model.eval()``), the epoch's logs
(``loss``, metrics, ``val_*``) to the callbacks and the ``History``. An optimizer that
needs a closure (``torch.optim.LBFGS``) gets one that runs the same ``backward``.

Reproducibility: ``fit(seed=s)`` seeds torch (weights built lazily, dropout) and the
shuffling; the batch order of epoch ``e`` depends only on ``(s, e)``. A callback that
restores a run (``RunCheckpoint``) sets ``params["initial_epoch"]`` in ``on_train_begin``
(and ``params["initial_position"]`` when it was saved mid-epoch: the epoch then starts at
that batch, ``seqlab.models.epoch_position``).

Threads: seqlab does not change torch's thread settings. The data are sliced in the
main process (no DataLoader workers competing for the same cores) and
``OMP_WAIT_POLICY=PASSIVE`` (set by ``import seqlab``) keeps idle OpenMP threads from
spinning; set ``torch.set_num_threads`` / ``OMP_NUM_THREADS`` to share a machine.
Denormal floats are flushed to zero while ``fit`` runs, as XLA and TensorFlow do on the
CPU (``seqlab.models.denormals``: fading recurrent gradients otherwise take the slow path).
Freed buffers stay in the process for the next batch instead of going back to the operating
system (``seqlab.models.host_memory``: no page faults at every batch; glibc only).
"""
from __future__ import annotations

import time
from typing import Any, Optional

import torch
from tqdm.auto import tqdm

from seqlab import distributed
from seqlab.devices import resolve_device
from seqlab.layers.base import regularization_loss
from seqlab.layers.constraints import apply_constraints
from seqlab.models import denormals, host_memory, micro_batches, nan_guard
from seqlab.models.adapters import make_data, move_to
from seqlab.models.callbacks import CallbackList, History
from seqlab.models.epoch_position import EpochPosition, epoch_batches
from seqlab.models.fit_inputs import (_check_compiled, _check_positive,  # noqa: F401
                                      _validation_source, ensure_built, float_dtype_of)
from seqlab.models.precision import Precision

FP32 = Precision("32", torch.device("cpu"))  # no autocast, no scaling


class Accumulator:
    """Running sums of the loss and the logged quantities over an epoch, kept on the
    device (no per-batch synchronisation); ``result()`` turns them into floats."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, torch.Tensor] = {}

    def add(self, name: str, total: torch.Tensor, count: Any) -> None:
        total = torch.as_tensor(total).detach()
        count = torch.as_tensor(count, dtype=total.dtype, device=total.device).detach()
        if name in self.sums:
            self.sums[name] += total
            self.counts[name] += count
        else:
            self.sums[name], self.counts[name] = total.clone(), count.clone()

    def result(self) -> dict[str, float]:
        return {k: float(self.sums[k] / self.counts[k].clamp_min(1)) for k in self.sums}


# ---------------------------------------------------------------------- one batch
def batch_loss(model, batch, acc: Accumulator,
               precision: Precision = FP32) -> tuple[torch.Tensor, Any]:
    """``model.compute_loss(batch)`` (under ``precision``'s autocast): adds the loss and
    the logs to ``acc``; returns (total, count)."""
    with precision.autocast():
        total, count, logs = model.compute_loss(batch)
    acc.add("loss", total, count)
    for name, (value, n) in logs.items():
        acc.add(name, value, n)
    return total, count


def backward(model, batch, acc: Optional[Accumulator] = None, rows: int = 0,
             precision: Precision = FP32) -> torch.Tensor:
    """Gradients of the batch's mean loss (``model.compute_loss``), added to each
    parameter's ``.grad``; returns that mean (detached). This is the one place where
    seqlab back-propagates a training loss. ``acc`` collects the loss and logs.

    ``rows`` > 0 runs the batch as slices of ``rows`` rows (``micro_batches``), each
    slice's backward right after its forward; the gradient is the whole batch's.

    On several processes (``seqlab.distributed``) each rank back-propagates its share's
    loss sum (``batch`` None: an empty share), then the gradients, sums and counts of all
    ranks are added and divided by the global count: the global batch's gradient.

    ``precision`` (``seqlab.models.precision``): the forward pass under its autocast;
    with fp16 the back-propagated loss is multiplied by the scaler's scale (the
    gradients stay scaled until ``train_step`` unscales them)."""
    acc = Accumulator() if acc is None else acc
    group = distributed.current()
    parts = [] if batch is None else micro_batches.split(batch, rows) if rows else [batch]
    penalty = getattr(type(model).compute_loss, "is_compiled_loss", False)  # Keras's losses
    if len(parts) == 1 and group is None:
        total, count = batch_loss(model, batch, acc, precision)
        count = torch.as_tensor(count, dtype=total.dtype, device=total.device).clamp_min(1)
        mean = total / count
        if penalty:  # regularizers and add_loss() of this call, logged in "loss" as Keras
            reg = regularization_loss(model)
            mean = mean + reg
            acc.add("loss", reg.detach() * count, 0)
        precision.scale(mean).backward()
        return mean.detach()
    total_sum, count_sum = 0.0, 0.0
    for part in parts:
        total, count = batch_loss(model, part, acc, precision)
        precision.scale(total).backward()  # d(sum)/dw, accumulated in .grad
        total_sum, count_sum = total_sum + total.detach(), count_sum + float(count)
    if group is not None:
        total_sum, count_sum = group.sum_gradients(model, total_sum, count_sum)
    scale = 1.0 / max(count_sum, 1.0)
    for p in model.parameters():
        if p.grad is not None:
            p.grad.mul_(scale)
    if penalty:  # the penalty once, on the whole batch's mean
        reg = regularization_loss(model)
        if reg.requires_grad:
            precision.scale(reg).backward()
        acc.add("loss", reg.detach() * count_sum, 0)
        return total_sum * scale + reg.detach()
    return total_sum * scale


def clip_gradients(model) -> None:
    """Keras's three clips, as compiled: ``clipnorm`` each parameter's gradient to that
    norm, ``global_clipnorm`` all of them together, ``clipvalue`` each element."""
    clipnorm, clipvalue = model.clipnorm, model.clipvalue
    global_clipnorm = getattr(model, "global_clipnorm", None)
    if clipnorm is None and clipvalue is None and global_clipnorm is None:
        return
    params = [p for p in model.parameters() if p.grad is not None]
    if clipnorm is not None:
        for p in params:
            torch.nn.utils.clip_grad_norm_([p], clipnorm)
    if global_clipnorm is not None:
        torch.nn.utils.clip_grad_norm_(params, global_clipnorm)
    if clipvalue is not None:
        torch.nn.utils.clip_grad_value_(params, clipvalue)


def needs_closure(optimizer) -> bool:
    """An optimizer that evaluates the loss several times per step (``LBFGS``)."""
    return isinstance(optimizer, torch.optim.LBFGS) or getattr(optimizer, "needs_closure", False)


def train_step(model, optimizer, batch, acc: Accumulator, rows: int = 0,
               guard: bool = True, precision: Precision = FP32) -> None:
    """One optimizer step on ``batch``. With a closure optimizer the epoch's logs count
    the first evaluation (the loss at the weights the step started from). ``guard``:
    raise ``nan_guard.NonFiniteStep`` instead of stepping on a NaN/inf loss or gradient
    (with fp16 only on the loss: the scaler skips a step whose gradients overflowed)."""
    if not needs_closure(optimizer):
        optimizer.zero_grad(set_to_none=True)
        loss = backward(model, batch, acc, rows, precision)
        precision.unscale(optimizer)
        if guard:
            nan_guard.check(model if precision.scaler is None else None, loss)
        clip_gradients(model)
        precision.step(optimizer)
        apply_constraints(model)  # Keras's weight constraints, after every step
        return
    calls = []

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = backward(model, batch, acc if not calls else Accumulator(), rows, precision)
        calls.append(1)
        if guard:
            nan_guard.check(model, loss)
        clip_gradients(model)
        return loss
    optimizer.step(closure)
    apply_constraints(model)


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class _NoBar:
    """The progress bar of a quiet run (verbose != 1): does nothing (a disabled tqdm
    still costs ~1 ms to create, the time of a few batch-1 predictions)."""

    def update(self, n: int = 1) -> None: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...

    def close(self) -> None: ...


def _progress(total: Optional[int], desc: str, verbose: int):
    if verbose != 1:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="batch", leave=True, dynamic_ncols=True)


def _verbosity(verbose: Any) -> int:
    return 1 if verbose == "auto" else int(verbose)


# ---------------------------------------------------------------------- fit
@host_memory.keeping
@denormals.flushing
def fit(model, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose: Any = 1,
        callbacks=None, validation_split: float = 0.0, validation_data=None,
        shuffle: bool = True, seed: Optional[int] = None, device: Any = "auto",
        initial_epoch: int = 0, micro_batch: Any = "auto",
        nan_policy: str = "raise", precision: Any = "32") -> History:
    """Train ``model`` for ``epochs`` epochs; returns the ``History``.

    Args:
        x, y: arrays/tensors (N, ...), a list of variable-length sequences (bucketed by
            length, padded per batch, masked), a DataLoader of (x, y) with y=None, or a
            ``seqlab.models.adapters.BatchSource`` (y=None) whose batches go to the
            model's ``compute_loss`` as they are.
        batch_size: samples per gradient step (ignored for a DataLoader).
        epochs: index of the last epoch (training runs epochs initial_epoch..epochs-1).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        callbacks: ``seqlab.models.callbacks.Callback`` instances.
        validation_split: fraction of the data (the last samples) held out.
        validation_data: (x_val, y_val), a DataLoader or a batch source; overrides
            validation_split.
        shuffle: reshuffle the training data every epoch.
        seed: makes the run reproducible (lazy weights, dropout, shuffling).
        device: "auto" (CUDA when available), "cpu", "cuda", a torch.device, None (where
            the model's weights are).
        micro_batch: "auto" (default): big CPU batches through an LSTM run as row slices
            when that is faster (same gradient); an int: slices of that many rows;
            False/None: whole batches. See ``seqlab.models.micro_batches``.
        nan_policy: a NaN/inf loss or gradient: "raise" (default) ``TrainingDiverged``
            naming the epoch and batch, "stop" warn and end training (Keras's
            ``TerminateOnNaN``), "ignore" no check. See ``seqlab.models.nan_guard``.
        precision: "32" (default), "bf16" (bfloat16 autocast, CPU or CUDA) or "fp16"
            (float16 autocast with a gradient scaler, CUDA). See
            ``seqlab.models.precision``.

    A callback that restores a run mid-epoch (``RunCheckpoint(every_batches=k)``) sets
    ``params["initial_position"]`` (an ``EpochPosition``); ``params["position"]`` is
    where the loop is (epoch, batches done, the epoch's running sums).
    """
    _check_compiled(model, "fit")
    batch_size = _check_positive("fit", "batch_size", batch_size)
    epochs = _check_positive("fit", "epochs", epochs)
    verbose = _verbosity(verbose)
    nan_policy = nan_guard.check_policy(nan_policy)
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit(): validation_split must be in [0, 1), got {validation_split!r}.")
    group = distributed.join(device)  # None on one process
    if group is not None and group.device.type == "cuda":
        device = group.device
    if seed is not None:
        torch.manual_seed(seed)
    model.to(resolve_device(device, model))
    dtype = float_dtype_of(model)
    data = make_data(x, y, dtype, "fit", need_y=True)
    if seed is None and shuffle and not getattr(data, "seeded", False):
        seed = int(torch.randint(0, 2**31 - 1, ()))  # reproducible under torch.manual_seed
    if group is not None:
        seed = group.broadcast_object(seed)  # one batch order for all ranks
    val = None
    if validation_data is not None:
        val = _validation_source(validation_data, dtype)
    elif validation_split > 0:
        if not hasattr(data, "split"):
            raise ValueError(f"fit(): validation_split needs a source that can split; "
                             f"{type(data).__name__} cannot. Pass validation_data=... instead.")
        data, val = data.split(validation_split)
    ensure_built(model, data)
    model.to(resolve_device(device, model))  # layers built just now
    prec = Precision(precision, resolve_device(None, model))
    if group is not None:
        group.broadcast_model(model)  # every rank starts from rank 0's weights
    optimizer = model.make_optimizer()
    if prec.scaler is not None and needs_closure(optimizer):
        raise ValueError(f'fit(): precision="fp16" cannot scale the loss of '
                         f'{type(optimizer).__name__}, whose step re-evaluates it; use '
                         f'"bf16" or "32".')
    slice_rows = micro_batches.planner(model, micro_batch)

    history = History()
    steps = data.num_batches(batch_size)
    position = EpochPosition()
    params = {"epochs": epochs, "steps": steps, "verbose": verbose,
              "initial_epoch": initial_epoch, "initial_position": None,
              "position": position}
    callbacks = [cb for cb in callbacks or [] if distributed.is_writer()
                 or not getattr(cb, "writes_files", False)]  # rank 0 writes the files
    cbs = CallbackList(callbacks + [history], model, params)  # History last
    model.history, model.stop_training = history, False
    dev = resolve_device(None, model)
    cbs.call("on_train_begin", {})
    if group is not None:
        group.follow_rank0(model, optimizer, params)  # a run rank 0 restored
    for epoch in range(params["initial_epoch"], epochs):
        cbs.call("on_epoch_begin", epoch, {})
        start = time.perf_counter()
        model.train()
        acc = Accumulator()
        resumed, start = params["initial_position"], 0
        if resumed is not None and resumed.epoch == epoch:  # restored mid-epoch
            start = resumed.batch
            resumed.restore(acc, dev)
        position.epoch, position.batch, position.acc = epoch, start, acc
        bar = _progress(steps, f"Epoch {epoch + 1}/{epochs}", verbose)
        bar.update(start)
        shown, diverged = time.perf_counter(), False
        batches = epoch_batches(data, batch_size, shuffle, seed or 0, epoch, start, group)
        for i, batch in enumerate(batches, start):
            batch = move_to(batch, dev)
            try:
                train_step(model, optimizer, batch, acc,
                           batch is not None and slice_rows(batch),
                           guard=nan_policy != "ignore", precision=prec)
            except nan_guard.NonFiniteStep as err:
                nan_guard.on_non_finite(err, epoch, i, model, optimizer, nan_policy)
                diverged = True
                break  # "stop": this epoch is not finished, not logged
            position.batch = i + 1
            if cbs.wants_batch_end:
                cbs.call("on_batch_end", i, acc.result())
            bar.update(1)
            if verbose == 1 and time.perf_counter() - shown > 0.5:
                bar.set_postfix_str(_format_logs(acc.result()), refresh=False)
                shown = time.perf_counter()
        if diverged:
            bar.close()
            break
        if group is not None:
            group.reduce_accumulator(acc)  # the epoch over all ranks' shares
        logs = acc.result()
        if val is not None:
            logs.update({f"val_{k}": v for k, v in _evaluate(model, val, batch_size,
                                                                 precision=prec).items()})
        cbs.call("on_epoch_end", epoch, logs)  # callbacks may add to logs (val_ metrics)
        bar.set_postfix_str(_format_logs(logs), refresh=False)
        bar.close()
        if verbose == 2:
            print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - start:.1f}s - "
                  f"{_format_logs(logs)}", flush=True)
        if group is not None:
            model.stop_training = group.broadcast_object(model.stop_training)
        if model.stop_training:
            break
    position.acc = None
    cbs.call("on_train_end", {})
    model.eval()  # a direct call model(x) after fit is inference, as in Keras
    return history


# ---------------------------------------------------------------------- evaluate
def _evaluate(model, data, batch_size: int, verbose: int = 0,
              precision: Precision = FP32) -> dict[str, float]:
    dev = resolve_device(None, model)
    was_training = model.training
    model.eval()
    acc = Accumulator()
    group = distributed.current()  # each rank its share of the set, the sums reduced
    bar = _progress(data.num_batches(batch_size), "Evaluate", verbose)
    with torch.inference_mode():
        for batch in (data.batches(batch_size) if group is None
                      else group.batches(data, batch_size)):
            if batch is not None:
                batch_loss(model, move_to(batch, dev), acc, precision)
            bar.update(1)
    bar.close()
    if group is not None:
        group.reduce_accumulator(acc)
    model.train(was_training)
    return acc.result()


__all__ = ["fit", "backward", "train_step", "batch_loss",
           "clip_gradients", "ensure_built", "resolve_device", "Accumulator"]
