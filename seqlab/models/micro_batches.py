"""Micro-batches: ``fit`` may run one training batch as row slices (same gradient, faster).

Why: on the CPU, an LSTM (seqlab's C loop, or torch's fused kernel) runs a big batch
faster as slices whose working set stays in cache, each slice's backward right after its
forward (the figures are in docs/results/speed.md). Each slice back-propagates its loss *sum*; the summed
gradients are then divided by the batch's count, so the gradient is the full batch's (up
to float rounding) and the optimizer takes one step.

``fit(..., micro_batch=...)`` chooses:

* ``"auto"`` (the default): slice when it pays, as measured: a CPU batch of more than
  ``MICRO_MIN_ROWS`` rows and ``MICRO_MIN_TOKENS`` steps in all, through a model with a
  fused LSTM, no BatchNormalization and no stateful layer (those depend on the whole
  batch), trained on its compiled per-sample loss. GRU and SimpleRNN kernels get slower
  when sliced, so their models run in one piece. The layers say it themselves: a layer
  with ``micro_batch_units`` (an LSTM on torch's fused kernel: its units) runs faster in
  slices, one with ``needs_whole_batch = True`` (BatchNormalization, a stateful RNN)
  forbids them;
* an int ``n``: slices of ``n`` rows whenever a batch has more (the compiled per-sample
  loss is required; BatchNormalization then sees each slice's statistics);
* ``False`` or ``None``: whole batches.

A model that overrides ``compute_loss`` says its own loss and is never sliced by "auto".

``predict`` slices the same way (``predict_rows``): a big CPU batch through a fused LSTM
runs as row slices of ``predict_rows_for(units)`` rows, their outputs concatenated; no
loss is involved, so any model without a layer that needs the whole batch qualifies
(measured, LSTM(64) inference on 512 x 256 on one thread: 89 ms whole, 61 ms in slices of
32 rows; bench/predict_overhead.py compares slice sizes).

    >>> micro_rows_for(64), micro_rows_for(512), predict_rows_for(64), predict_rows_for(512)
    (32, 16, 64, 16)
    >>> micro_rows_for(64, native=True), micro_rows_for(128, native=True)
    (64, 32)
"""
from __future__ import annotations

from typing import Any, Callable

from seqlab import losses as losses_mod
from seqlab.layers.recurrent import lstm_scan
from seqlab.models.adapters import Batch

MICRO_MIN_TOKENS, MICRO_MIN_ROWS, MICRO_MAX_ROWS = 8192, 16, 64
MICRO_ROWS = None  # rows per slice for "auto"; None: chosen from the LSTM's width


def micro_rows_for(units: int, native: bool = False) -> int:
    """Rows per slice for an LSTM of ``units`` cells: about 8,192 gate values per step
    (rows * 4 * units) for torch's kernel, 16,384 for seqlab's C loop (``native``:
    layers/recurrent/lstm_scan.py), within [16, 64]: the best slice sizes measured for
    each width (docs/results/speed.md; the C loop, one thread, rows per slice against
    samples/s: LSTM(128) 16: 479, 32: 514, 48: 540, 64: 459, 128: 392; LSTM(64) 32: 1398,
    64: 1565, 128: 1007)."""
    per_step = 4096 if native else 2048
    return min(MICRO_MAX_ROWS, max(MICRO_MIN_ROWS, per_step // max(int(units), 1)))


def predict_rows_for(units: int) -> int:
    """Rows per slice of ``predict`` (no backward, no saved activations): twice the rows
    of a training slice, within [16, 64]. For LSTM(64) on 512 x 256 on one thread, with
    torch's kernel 64 rows take a few percent less CPU time than 32, and 128 rows are
    slower; with seqlab's C loop (``lstm_scan``) 64, 128 and 512 rows are equal within
    the machine's noise and 16-32 rows slower (``python bench/predict_overhead.py
    --slices 32,64,128``)."""
    return min(MICRO_MAX_ROWS, max(MICRO_MIN_ROWS, 4096 // max(int(units), 1)))


def uses_compiled_loss(model) -> bool:
    """The model trains on its compiled per-sample loss (the default ``compute_loss``):
    the loss of a batch is then the sum of its rows' losses, which slicing keeps exact."""
    return (getattr(type(model).compute_loss, "is_compiled_loss", False)
            and model.loss in losses_mod.LOSSES.values())


def _auto_rows(model) -> int:
    """Rows per slice for this model (0 = never slice), decided once per compile."""
    rows = getattr(model, "_micro_rows", None)
    if rows is None:  # each layer says: needs_whole_batch, micro_batch_units (an LSTM's)
        mods = list(model.modules())
        widths = [w for m in mods if (w := getattr(m, "micro_batch_units", None))]
        ok = (uses_compiled_loss(model) and widths
              and not any(getattr(m, "needs_whole_batch", False) for m in mods))
        native = lstm_scan.kernel() is not None
        rows = micro_rows_for(max(widths), native) if ok else 0
        model._micro_rows = rows
    return rows


def predict_rows(model, x) -> int:
    """Rows per slice when ``predict`` runs a batch ``x`` (0 = the whole batch)."""
    rows = x.shape[0] if hasattr(x, "shape") and len(x.shape) else 0
    if (rows <= MICRO_MIN_ROWS or x.dim() < 2 or x.device.type != "cpu"
            or rows * x.shape[1] < MICRO_MIN_TOKENS):
        return 0
    mods = list(model.modules())
    widths = [w for m in mods if (w := getattr(m, "micro_batch_units", None))]
    if not widths or any(getattr(m, "needs_whole_batch", False) for m in mods):
        return 0
    slice_rows = MICRO_ROWS or predict_rows_for(max(widths))
    return slice_rows if slice_rows < rows else 0


def micro_batch_rows(model, batch: Batch) -> int:
    """Rows per slice of this training batch under "auto" (the whole batch = no slicing)."""
    x = batch.x
    rows = x.shape[0] if hasattr(x, "shape") and len(x.shape) else 0
    if (rows <= MICRO_MIN_ROWS or x.dim() < 2 or x.device.type != "cpu"
            or rows * x.shape[1] < MICRO_MIN_TOKENS):
        return rows
    slice_rows = _auto_rows(model)
    return min(rows, MICRO_ROWS or slice_rows) if slice_rows else rows


def planner(model, micro_batch: Any = "auto") -> Callable[[Any], int]:
    """``fit``'s choice as a function batch -> rows per slice (0 = the whole batch)."""
    if micro_batch is None or micro_batch is False:
        return lambda batch: 0
    if micro_batch == "auto":
        if not uses_compiled_loss(model):
            return lambda batch: 0

        def auto(batch):
            rows = micro_batch_rows(model, batch)
            return 0 if rows >= len(batch.x) else rows
        return auto
    if isinstance(micro_batch, bool) or not isinstance(micro_batch, int) or micro_batch <= 0:
        raise ValueError(f"fit(): micro_batch must be 'auto', False, None or a positive "
                         f"number of rows, got {micro_batch!r}.")
    if not uses_compiled_loss(model):
        raise ValueError(f"fit(): micro_batch={micro_batch} slices the compiled per-sample "
                         f"loss, but {getattr(model, 'name', type(model).__name__)} computes "
                         f"its own loss (compute_loss) or was compiled with a custom loss. "
                         f"Use micro_batch='auto' or False.")
    return lambda batch: micro_batch if len(batch.x) > micro_batch else 0


def split(batch: Batch, rows: int) -> list[Batch]:
    """The batch as slices of ``rows`` rows (the last may be shorter)."""
    n = len(batch.x)
    if not rows or rows >= n:
        return [batch]
    cut = (lambda t, i: None if t is None else t[i:i + rows])
    return [Batch(batch.x[i:i + rows], cut(batch.y, i), cut(batch.mask, i), None)
            for i in range(0, n, rows)]


__all__ = ["planner", "split", "micro_batch_rows", "predict_rows", "micro_rows_for",
           "predict_rows_for", "uses_compiled_loss",
           "MICRO_MIN_TOKENS", "MICRO_MIN_ROWS", "MICRO_MAX_ROWS"]
