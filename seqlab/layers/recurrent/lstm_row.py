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
        fn.argtypes = [ctypes.c_int, ctypes.c_int] + [_P] * 7
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
    row by row."""
    _, T, _ = x.shape
    w_ih = weights[0]                                                  # (4H, D')
    U = cell.recurrent_kernel.detach().contiguous()                    # (H, 4H)
    H = U.shape[0]
    xw = torch.mm(x[0], w_ih.t())                                      # (T, 4H)
    b = weights[2] + weights[3] if len(weights) == 4 else x.new_zeros(4 * H)  # (4H,)
    hc = torch.cat([hx[0].reshape(H), hx[1].reshape(H)])               # (2H,): h, c
    y = x.new_empty(1, T, H)
    scratch = x.new_empty(4 * H)
    kernel()(T, H, xw.data_ptr(), b.data_ptr(), U.data_ptr(), hc.data_ptr(),
             hc[H:].data_ptr(), y.data_ptr(), scratch.data_ptr())
    return y, [hc[:H].view(1, H), hc[H:].view(1, H)]
