"""An LSTM's inference at batch 1: the whole sequence in one C loop (``lstm_row.c``).

At batch 1 a step is a (H, 4H) matrix-vector product and a few element-wise functions on
4H numbers: microseconds of latency, not arithmetic. torch's CPU kernel (oneDNN) costs
~2.6-4.5 us a step there for LSTM(64) and ~140 us of set-up per call; the C loop ~1.1 us
a step, so the layer answers a row of 256 steps 2.0x sooner (2.2x for LSTM(128);
``bench/recurrent_paths.py``), and so do ``predict(x, batch_size=1)`` and a served model.

The input projection x_t W stays one matrix product in torch (MKL, all steps at once);
the loop does a_t = x_t W + b + h_{t-1} U and the gates, as ``cells.LSTMCell``:

    >>> import torch
    >>> from seqlab.layers.recurrent.layers import LSTM
    >>> layer = LSTM(8, return_sequences=True)
    >>> x = torch.randn(1, 5, 3)
    >>> with torch.inference_mode():
    ...     fast = layer(x)
    ...     layer.use_fused = False
    ...     loop = layer(x)                       # the step-by-step cell
    >>> bool((fast - loop).abs().max() < 1e-5)
    True

It runs when a cell would take torch's fused LSTM on the CPU, for one row, in float32,
without gradients or tracing, and when the kernel compiled (``seqlab/native.py``);
otherwise torch's kernel runs, as it always did. Shapes: T time, D input features, H units.
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from seqlab import native
from seqlab.layers import layout_cache
from seqlab.layers.base import traced

SOURCE = Path(__file__).with_name("lstm_row.c")
_P = ctypes.c_void_p


def kernel():
    """The compiled ``seqlab_lstm_row`` (argument types set), or None."""
    lib = native.load(SOURCE)
    if lib is None:
        return None
    fn = lib.seqlab_lstm_row
    if fn.restype is not None:  # first use in this process
        fn.argtypes = [ctypes.c_int, ctypes.c_int] + [_P] * 9
        fn.restype = None
    return fn


def applies(x: torch.Tensor, weights: list, training: bool) -> bool:
    """One float32 CPU row, no gradient recorded, nothing traced, and a kernel built."""
    return (not training and x.shape[0] == 1 and type(x) is torch.Tensor
            and x.device.type == "cpu" and x.dtype == torch.float32
            and weights[0].dtype == torch.float32 and not torch.is_grad_enabled()
            and not traced() and kernel() is not None)


def run(cell, x: torch.Tensor, hx: list, weights: list):
    """x (1, T, D'), hx [h0, c0] (1, 1, H) each, weights torch's [w_ih (4H, D'), w_hh]
    (+ [b_ih, b_hh]): as torch's ``lstm`` kernel -> (y (1, T, H), [h_T (1, H), c_T (1, H)]).
    D' may exceed the cell's D (``fused`` appends a column that holds c through padding);
    the recurrent kernel is the cell's own (H, 4H), Keras's layout, which the loop reads
    row by row. Every call costs a few torch operations (microseconds each at one row):
    the fixed operands are made once per ``predict`` (``layout_cache``), and y, h_T, c_T
    and the loop's scratch are one allocation."""
    _, T, _ = x.shape
    U, b = layout_cache.cached(cell, "lstm_row", lambda: _fixed(cell, weights))
    H = U.shape[0]
    xw = torch.mm(x[0], weights[0].t())                                # (T, 4H)
    out = x.new_empty((T + 6) * H)                                     # y, h, c, scratch
    at = out.data_ptr()
    h0, c0 = hx[0].contiguous(), hx[1].contiguous()                    # (1, 1, H) each
    kernel()(T, H, xw.data_ptr(), b.data_ptr(), U.data_ptr(), h0.data_ptr(), c0.data_ptr(),
             at, at + 4 * T * H, at + 4 * (T + 1) * H, at + 4 * (T + 2) * H)  # float32: 4 B
    hc = out[T * H:(T + 2) * H].view(2, 1, H)
    return out[:T * H].view(1, T, H), [hc[0], hc[1]]


def _fixed(cell, weights: list) -> tuple:
    """The recurrent kernel (H, 4H) contiguous and the summed bias (4H,)."""
    U = cell.recurrent_kernel.detach().contiguous()                    # (H, 4H)
    H = U.shape[0]
    b = weights[2] + weights[3] if len(weights) == 4 else U.new_zeros(4 * H)
    return U, b.contiguous()
