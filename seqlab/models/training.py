"""The training loop: ``fit``, ``evaluate`` and ``predict`` of ``seqlab.Model``.

One epoch of ``fit`` is the loop every PyTorch user writes, with Keras's bookkeeping:

    for x, y, mask in batches:                 # shuffled; bucketed by length for lists
        out = model(x, mask)                   # logits if the model ends in sigmoid/softmax
        loss = mean over real steps of loss(out, y)
        optimizer.zero_grad(); loss.backward()
        clip gradients (clipnorm / clipvalue); optimizer.step()

then the validation pass (``torch.inference_mode``, ``model.eval()``), the epoch's logs
(``loss``, metrics, ``val_*``) to the callbacks and the ``History``.

Reproducibility: ``fit(seed=s)`` seeds torch (weights built lazily, dropout) and the
shuffling; the batch order of epoch ``e`` depends only on ``(s, e)``.

Threads: seqlab does not change torch's thread settings. The data are sliced in the
main process (no DataLoader workers competing for the same cores) and
``OMP_WAIT_POLICY=PASSIVE`` (set by ``import seqlab``) keeps idle OpenMP threads from
spinning; set ``torch.set_num_threads`` / ``OMP_NUM_THREADS`` to share a machine.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from seqlab import losses as losses_mod
from seqlab import metrics as metrics_mod
from seqlab.layers.base import Layer, get_mask
from seqlab.models.adapters import Batch, LoaderData, SequenceData, make_data
from seqlab.models.callbacks import CallbackList, History
from seqlab.models.model import call_with_mask

_LOGIT_FN = {"sigmoid": torch.sigmoid, "softmax": lambda t: torch.softmax(t, dim=-1)}


# ---------------------------------------------------------------------- helpers
def resolve_device(device: Any, model) -> torch.device:
    """"auto" -> CUDA when available, else CPU; None -> where the model's weights are."""
    if device is None:
        p = next(model.parameters(), None)
        return p.device if p is not None else torch.device("cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def float_dtype_of(model) -> torch.dtype:
    p = next((p for p in model.parameters() if p.is_floating_point()), None)
    return p.dtype if p is not None else torch.get_default_dtype()


def _check_compiled(model, caller: str) -> None:
    if not model.compiled:
        raise RuntimeError(
            f"{caller}(): {model.name} is not compiled. Call model.compile(optimizer="
            f"'rmsprop', loss='binary_crossentropy', metrics=['accuracy']) (or the loss "
            f"that fits your targets) before {caller}()."
        )


def _check_positive(caller: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{caller}(): {arg} must be a positive integer, got {value!r}.")
    return int(value)


def _validation_source(validation_data, float_dtype):
    if isinstance(validation_data, torch.utils.data.DataLoader):
        return LoaderData(validation_data, float_dtype)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("fit(): validation_data must be a tuple (x_val, y_val) or a "
                         "DataLoader of (x, y) batches.")
    return make_data(validation_data[0], validation_data[1], float_dtype, "fit", True)


def ensure_built(model, data) -> None:
    """Create every lazily-built parameter before the optimizer (or inference_mode)
    needs it: shape propagation with an unknown time axis for variable-length data,
    then one forward pass on a small batch for whatever is still unbuilt."""
    from seqlab.models.sequential import Sequential

    if isinstance(model, Sequential) and not model.built and isinstance(data, SequenceData):
        model.build_once((None, None) + data.feature_shape())
    unbuilt = [m for m in model.modules() if isinstance(m, Layer) and not m.built]
    if not unbuilt:
        return
    batch = next(iter(data.batches(2)))
    device = resolve_device(None, model)
    batch = batch.to(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model.outputs_for_loss(batch.x, batch.mask)
    model.train(was_training)


def _reduce(per: torch.Tensor, mask: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum, count) of per-sample values, over real steps only when a mask fits."""
    if per.dim() == 0:
        return per, torch.ones((), device=per.device)
    if mask is not None and per.shape == mask.shape:
        m = mask.to(per.dtype)
        return (per * m).sum(), m.sum()
    return per.sum(), torch.tensor(float(per.numel()), device=per.device)


class Accumulator:
    """Running sums of the loss and metrics over an epoch, kept on the device (no
    per-batch synchronisation); ``result()`` turns them into floats."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, torch.Tensor] = {}

    def add(self, name: str, total: torch.Tensor, count: torch.Tensor) -> None:
        total, count = total.detach(), count.detach()
        if name in self.sums:
            self.sums[name] += total
            self.counts[name] += count
        else:
            self.sums[name], self.counts[name] = total.clone(), count.clone()

    def result(self) -> dict[str, float]:
        return {k: float(self.sums[k] / self.counts[k].clamp_min(1)) for k in self.sums}


# Micro-batches: on the CPU, torch's fused LSTM kernel (oneDNN) runs a batch of 128
# sequences faster as 4 slices of 32, each slice's backward right after its forward (the
# slice's working set is still in cache): Embedding + LSTM(64), T=171, 138 ms whole, 108
# ms as 4 forwards then one backward, 83 ms slice by slice (docs/results/speed.md).
# Each slice back-propagates its loss *sum*; the summed gradients are then divided by
# the batch's count, so the gradient is the full batch's (up to float rounding) and the
# optimizer takes one step. GRU and SimpleRNN kernels get slower when sliced, and
# BatchNormalization or stateful layers depend on the whole batch: those models run in
# one piece.
MICRO_MIN_TOKENS, MICRO_MIN_ROWS, MICRO_MAX_ROWS = 8192, 16, 64
MICRO_ROWS = None  # rows per slice; None: chosen from the LSTM's width (micro_rows_for)


def micro_rows_for(units: int) -> int:
    """Rows per slice for an LSTM of ``units`` cells: about 8,192 gate values per step
    (rows * 4 * units), within [16, 64]. Measured here (Embedding(10000, 32) + LSTM,
    128 rows, forward and backward): units 32: 82 ms whole, 51 in slices of 64; 64: 138
    -> 83 (32 rows); 128: 383 -> 249 (16 rows); 256: 551 -> 408 (16 rows)."""
    return min(MICRO_MAX_ROWS, max(MICRO_MIN_ROWS, 2048 // max(int(units), 1)))


def micro_batch_rows(model, batch: Batch) -> int:
    """Rows per slice of this training batch (the whole batch = no slicing)."""
    rows = batch.x.shape[0] if isinstance(batch.x, torch.Tensor) else 0
    if (rows <= MICRO_MIN_ROWS or batch.x.dim() < 2 or batch.x.device.type != "cpu"
            or rows * batch.x.shape[1] < MICRO_MIN_TOKENS):
        return rows
    slice_rows = getattr(model, "_micro_rows", None)
    if slice_rows is None:  # decided once per model: 0 = never slice
        from seqlab.layers.normalization import BatchNormalization
        from seqlab.layers.recurrent import LSTM
        from seqlab.layers.recurrent.fused import fused_kind
        mods = list(model.modules())
        widths = [m.units for m in mods
                  if isinstance(m, LSTM) and fused_kind(m.cell)[0] == "lstm"]
        ok = (model.loss in losses_mod.LOSSES.values()  # per-sample losses: exact
              and widths
              and not any(isinstance(m, BatchNormalization) or getattr(m, "stateful", False)
                          for m in mods))
        slice_rows = micro_rows_for(max(widths)) if ok else 0
        model._micro_rows = slice_rows
    if not slice_rows:
        return rows
    return min(rows, MICRO_ROWS or slice_rows)


def _slices(batch: Batch, rows: int) -> list[Batch]:
    n = batch.x.shape[0] if isinstance(batch.x, torch.Tensor) else rows
    if rows >= n:
        return [batch]
    return [Batch(batch.x[i:i + rows], None if batch.y is None else batch.y[i:i + rows],
                  None if batch.mask is None else batch.mask[i:i + rows], None)
            for i in range(0, n, rows)]


def _step_outputs(model, batch: Batch, acc: Accumulator) -> torch.Tensor:
    """Forward pass, loss and metrics of one batch: the mean loss (no backward)."""
    totals, counts = zip(*(_part_outputs(model, part, acc)
                           for part in _slices(batch, micro_batch_rows(model, batch))))
    return sum(totals) / sum(counts).clamp_min(1)


def _backward(model, batch: Batch, acc: Accumulator) -> None:
    """Gradients of the batch's mean loss, slice by slice when ``micro_batch_rows``
    slices it (each slice's backward follows its forward; same gradient)."""
    parts = _slices(batch, micro_batch_rows(model, batch))
    if len(parts) == 1:
        total, count = _part_outputs(model, batch, acc)
        (total / count.clamp_min(1)).backward()
        return
    count = 0.0
    for part in parts:
        total, n = _part_outputs(model, part, acc)
        total.backward()  # d(sum)/dw, accumulated in .grad
        count += float(n)
    scale = 1.0 / max(count, 1.0)
    for p in model.parameters():
        if p.grad is not None:
            p.grad.mul_(scale)


def _part_outputs(model, batch: Batch, acc: Accumulator):
    """(loss sum, count) of one batch or slice; adds the loss and metrics to ``acc``."""
    undo = losses_mod.LOGIT_ACTIVATION.get(model.loss)  # activation the loss can undo
    out, is_logits = model.outputs_for_loss(batch.x, batch.mask, undo)
    mask = batch.mask if batch.mask is not None else get_mask(out)
    if model.loss in losses_mod.LOSSES.values():
        per = model.loss(out, batch.y, from_logits=is_logits)
    else:
        per = model.loss(_LOGIT_FN[undo](out) if is_logits else out, batch.y)
    total, count = _reduce(per, mask)
    acc.add("loss", total, count)
    with torch.no_grad():
        probs = _LOGIT_FN[undo](out.detach()) if is_logits else out.detach()
        for metric in model.compiled_metrics:
            if metric.fn is None:  # "accuracy": binary, categorical or sparse?
                metric.fn = metrics_mod.accuracy_for_shapes(probs, batch.y)
            acc.add(metric.name, *_reduce(metric.fn(probs, batch.y), mask))
    return total, count


def _clip(model) -> None:
    if model.clipnorm is None and model.clipvalue is None:
        return
    params = [p for p in model.parameters() if p.grad is not None]
    if model.clipnorm is not None:  # Keras: each weight's gradient separately
        for p in params:
            torch.nn.utils.clip_grad_norm_([p], model.clipnorm)
    if model.clipvalue is not None:
        torch.nn.utils.clip_grad_value_(params, model.clipvalue)


def _format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


def _progress(total: Optional[int], desc: str, verbose: int):
    return tqdm(total=total, desc=desc, unit="batch", disable=verbose != 1, leave=True,
                dynamic_ncols=True)


def _verbosity(verbose: Any) -> int:
    return 1 if verbose == "auto" else int(verbose)


# ---------------------------------------------------------------------- fit
def fit(model, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose: Any = 1,
        callbacks=None, validation_split: float = 0.0, validation_data=None,
        shuffle: bool = True, seed: Optional[int] = None, device: Any = "auto",
        initial_epoch: int = 0) -> History:
    """Train ``model`` for ``epochs`` epochs; returns the ``History``.

    Args:
        x, y: arrays/tensors (N, ...), a list of variable-length sequences (bucketed by
            length, padded per batch, masked), or a DataLoader of (x, y) with y=None.
        batch_size: samples per gradient step (ignored for a DataLoader).
        epochs: index of the last epoch (training runs epochs initial_epoch..epochs-1).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        callbacks: ``seqlab.models.callbacks.Callback`` instances.
        validation_split: fraction of the data (the last samples) held out.
        validation_data: (x_val, y_val) or a DataLoader; overrides validation_split.
        shuffle: reshuffle the training data every epoch.
        seed: makes the run reproducible (lazy weights, dropout, shuffling).
        device: "auto" (CUDA when available), "cpu", "cuda", a torch.device.
    """
    _check_compiled(model, "fit")
    batch_size = _check_positive("fit", "batch_size", batch_size)
    epochs = _check_positive("fit", "epochs", epochs)
    verbose = _verbosity(verbose)
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit(): validation_split must be in [0, 1), got {validation_split!r}.")
    if seed is not None:
        torch.manual_seed(seed)
    shuffle_seed = seed if seed is not None else int(torch.randint(0, 2**31 - 1, ()))
    model.to(resolve_device(device, model))
    dtype = float_dtype_of(model)
    data = make_data(x, y, dtype, "fit", need_y=True)
    val = None
    if validation_data is not None:
        val = _validation_source(validation_data, dtype)
    elif validation_split > 0:
        data, val = data.split(validation_split)
    ensure_built(model, data)
    model.to(resolve_device(device, model))  # layers built just now
    optimizer = model.make_optimizer()

    history = History()
    steps = data.num_batches(batch_size)
    cbs = CallbackList(list(callbacks or []) + [history],  # History last, as in Keras
                       model, {"epochs": epochs, "steps": steps, "verbose": verbose})
    model.history, model.stop_training = history, False
    dev = resolve_device(None, model)
    cbs.call("on_train_begin", {})
    for epoch in range(initial_epoch, epochs):
        cbs.call("on_epoch_begin", epoch, {})
        start = time.perf_counter()
        model.train()
        acc = Accumulator()
        bar = _progress(steps, f"Epoch {epoch + 1}/{epochs}", verbose)
        shown = time.perf_counter()
        for i, batch in enumerate(data.batches(batch_size, shuffle, shuffle_seed, epoch)):
            batch = batch.to(dev)
            optimizer.zero_grad(set_to_none=True)
            _backward(model, batch, acc)
            _clip(model)
            optimizer.step()
            if cbs.wants_batch_end:
                cbs.call("on_batch_end", i, acc.result())
            bar.update(1)
            if verbose == 1 and time.perf_counter() - shown > 0.5:
                bar.set_postfix_str(_format_logs(acc.result()), refresh=False)
                shown = time.perf_counter()
        logs = acc.result()
        if val is not None:
            logs.update({f"val_{k}": v for k, v in _evaluate(model, val, batch_size).items()})
        bar.set_postfix_str(_format_logs(logs), refresh=False)
        bar.close()
        if verbose == 2:
            print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - start:.1f}s - "
                  f"{_format_logs(logs)}", flush=True)
        cbs.call("on_epoch_end", epoch, logs)
        if model.stop_training:
            break
    cbs.call("on_train_end", {})
    model.eval()  # a direct call model(x) after fit is inference, as in Keras
    return history


# ---------------------------------------------------------------------- evaluate
def _evaluate(model, data, batch_size: int, verbose: int = 0) -> dict[str, float]:
    dev = resolve_device(None, model)
    was_training = model.training
    model.eval()
    acc = Accumulator()
    bar = _progress(data.num_batches(batch_size), "Evaluate", verbose)
    with torch.inference_mode():
        for batch in data.batches(batch_size):
            _step_outputs(model, batch.to(dev), acc)
            bar.update(1)
    bar.close()
    model.train(was_training)
    return acc.result()


def evaluate(model, x=None, y=None, batch_size: int = 32, verbose: Any = 1,
             device: Any = None, return_dict: bool = False):
    """``[loss, *metrics]`` on (x, y) as Keras returns it (a float if no metrics)."""
    _check_compiled(model, "evaluate")
    batch_size = _check_positive("evaluate", "batch_size", batch_size)
    model.to(resolve_device(device, model))
    data = make_data(x, y, float_dtype_of(model), "evaluate", need_y=True)
    ensure_built(model, data)
    logs = _evaluate(model, data, batch_size, _verbosity(verbose))
    if verbose and _verbosity(verbose) == 2:
        print(_format_logs(logs), flush=True)
    if return_dict:
        return logs
    values = [logs["loss"]] + [logs[m.name] for m in model.compiled_metrics]
    return values[0] if len(values) == 1 else values


# ---------------------------------------------------------------------- predict
def predict(model, x, batch_size: int = 32, verbose: Any = 0, device: Any = None):
    """The model's outputs as a numpy array, rows in the order of ``x``.

    For variable-length input whose outputs keep the time axis (return_sequences),
    each row is cut back to its own length; ragged results come back as a list.
    """
    batch_size = _check_positive("predict", "batch_size", batch_size)
    model.to(resolve_device(device, model))
    data = make_data(x, None, float_dtype_of(model), "predict", need_y=False)
    ensure_built(model, data)
    dev = resolve_device(None, model)
    was_training = model.training
    model.eval()
    pieces, rows = [], {}
    bar = _progress(data.num_batches(batch_size), "Predict", _verbosity(verbose))
    with torch.inference_mode():
        for batch in data.batches(batch_size):
            batch = batch.to(dev)
            out = call_with_mask(model, batch.x, batch.mask)
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"predict(): {model.name} returned {type(out).__name__}; "
                                f"predict supports models with one tensor output.")
            if batch.mask is None:
                pieces.append(out.cpu().numpy())
            else:  # padded batch: rows back to their input order, cut to their length
                index = batch.index if batch.index is not None else \
                    np.arange(len(rows), len(rows) + len(out))  # a DataLoader keeps order
                keep_time = get_mask(out) is not None
                lengths = batch.mask.sum(dim=1).tolist()
                for row, i in enumerate(index):
                    o = out[row, :lengths[row]] if keep_time else out[row]
                    rows[int(i)] = o.cpu().numpy()
            bar.update(1)
    bar.close()
    model.train(was_training)
    if not rows:
        return np.concatenate(pieces, axis=0)
    if pieces:
        raise ValueError("predict(): the DataLoader mixed padded (masked) and plain batches.")
    ordered = [rows[i] for i in range(len(rows))]
    if len({r.shape for r in ordered}) == 1:
        return np.stack(ordered)
    return ordered


__all__ = ["fit", "evaluate", "predict", "ensure_built", "resolve_device"]
