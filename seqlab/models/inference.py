"""``evaluate`` and ``predict`` of ``seqlab.Model``: the loss and metrics of a dataset, and
the model's outputs, under ``torch.inference_mode`` (the validation pass of ``fit`` is
``training._evaluate``, which ``evaluate`` shares).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from seqlab.devices import resolve_device
from seqlab.layers.base import call_with_mask, get_mask
from seqlab.layers.layout_cache import layout_cache
from seqlab.models import denormals, host_memory, micro_batches, nan_guard, small_batches
from seqlab.models.adapters import ArrayData, Batch, is_source, make_data, move_to
from seqlab.models.training import (_check_compiled, _check_positive, _evaluate,
                                    _format_logs, _progress, _verbosity, ensure_built,
                                    float_dtype_of)


@host_memory.keeping
@denormals.flushing
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


def _one_tensor(model, out) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"predict(): {model.name} returned {type(out).__name__}; "
                        f"predict supports models with one tensor output.")
    return out


def _outputs(model, batch) -> tuple[torch.Tensor, bool]:
    """The model's output for ``batch`` (in row slices when faster: micro_batches), and
    whether it keeps the time axis (a mask came out with it)."""
    rows = micro_batches.predict_rows(model, batch.x)
    outs = []
    for part in micro_batches.split(batch, rows):
        outs.append(_one_tensor(model, call_with_mask(model, part.x, part.mask)))
    keep_time = get_mask(outs[0]) is not None
    return (outs[0] if len(outs) == 1 else torch.cat(outs)), keep_time


@host_memory.keeping
@denormals.flushing
def predict(model, x, batch_size: int = 32, verbose: Any = 0, device: Any = None):
    """The model's outputs as a numpy array, rows in the order of ``x``.

    For variable-length input whose outputs keep the time axis (return_sequences),
    each row is cut back to its own length; ragged results come back as a list.
    The weights are fixed for the call: layouts derived from them (an LSTM's for torch's
    kernel) are made once, not at every batch (``layers/layout_cache.py``). Batches of a
    few rows run on one CPU thread (``models/small_batches.py``).
    """
    batch_size = _check_positive("predict", "batch_size", batch_size)
    if is_source(x):
        raise TypeError(f"predict(): x is a batch source ({type(x).__name__}), whose batches "
                        f"only the model's compute_loss understands; pass arrays, a list "
                        f"of sequences or a DataLoader of inputs, or call the model.")
    model.to(resolve_device(device, model))
    data = make_data(x, None, float_dtype_of(model), "predict", need_y=False)
    ensure_built(model, data)
    dev = resolve_device(None, model)
    was_training = model.training
    model.eval()
    bar = _progress(data.num_batches(batch_size), "Predict", _verbosity(verbose))
    try:
        with torch.inference_mode(), layout_cache(), \
                small_batches.one_thread_when_small(batch_size, dev):
            if isinstance(data, ArrayData) and isinstance(data.x, torch.Tensor):
                return _predict_array(model, data.x, batch_size, dev, bar)
            return _predict_batches(model, data, batch_size, dev, bar)
    finally:
        bar.close()
        model.train(was_training)


def _predict_array(model, x: torch.Tensor, batch_size: int, dev, bar) -> np.ndarray:
    """Equal-shaped rows x (N, ...): batches are row ranges, outputs written in place into
    one preallocated array (no per-batch index bookkeeping, no final concatenation).
    Batches too small to run as row slices (micro_batches; decided at the first batch: a
    shorter last batch is never sliced either) go straight to the model."""
    n = len(x)
    chunk = max(1, (1 << 22) // max(1, x[0].numel()))  # NaN check: all rows, a few passes
    for start in range(0, n, chunk):
        nan_guard.check_inputs(x[start:start + chunk], None, start)
    result, whole = None, None
    for start in range(0, n, batch_size):
        xb = move_to(x[start:start + batch_size], dev)
        if whole is None:
            whole = micro_batches.predict_rows(model, xb) == 0
        out = (_one_tensor(model, model(xb)) if whole
               else _outputs(model, Batch(xb, None, None, None))[0])
        out = out.cpu().numpy()                                        # (b, ...)
        if result is None:
            result = np.empty((n,) + out.shape[1:], out.dtype)        # (N, ...)
        result[start:start + len(out)] = out
        bar.update(1)
    return result


def _predict_batches(model, data, batch_size: int, dev, bar):
    """Variable-length lists (padded per batch, masked) and DataLoaders."""
    pieces, rows, done = [], {}, 0
    for batch in data.batches(batch_size):
        nan_guard.check_inputs(batch.x, batch.index, done)
        batch = batch.to(dev)
        out, keep_time = _outputs(model, batch)
        done += len(out)
        if batch.mask is None:
            pieces.append(out.cpu().numpy())
        else:  # padded batch: rows back to their input order, cut to their length
            index = batch.index if batch.index is not None else \
                np.arange(len(rows), len(rows) + len(out))  # a DataLoader keeps order
            lengths = batch.mask.sum(dim=1).tolist()
            out = out.cpu()
            for row, i in enumerate(index):
                o = out[row, :lengths[row]] if keep_time else out[row]
                rows[int(i)] = o.numpy()
        bar.update(1)
    if not rows:
        return np.concatenate(pieces, axis=0)
    if pieces:
        raise ValueError("predict(): the DataLoader mixed padded (masked) and plain batches.")
    ordered = [rows[i] for i in range(len(rows))]
    if len({r.shape for r in ordered}) == 1:
        return np.stack(ordered)
    return ordered


__all__ = ["evaluate", "predict"]
