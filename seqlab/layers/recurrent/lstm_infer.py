"""An LSTM's inference on the CPU: the whole sequence, every row, in one C loop
(``lstm_infer.c``).

torch's CPU kernel (oneDNN) first writes x_t W for every row and step (B x T x 4H
floats), then steps; at one row it also pays ~140 us of set-up per call and 2.6-4.5 us
a step in latency. The C loop keeps each block of 16 units' weights in L1 while all rows
use them, does x_t W and h_{t-1} U in the same multiply-adds, and applies the gates in
registers (``lstm_infer.c`` says how): on 64 rows of 256 steps 1.1x oneDNN's
row-steps/s for LSTM(64) and 1.2x for LSTM(128), on one row 1.8x and 1.6x
(``bench/recurrent_paths.py``); so ``predict`` at any batch size and a served model
answer sooner.

The same equations as ``cells.LSTMCell``:

    >>> import torch
    >>> from seqlab.layers.recurrent.layers import LSTM
    >>> layer = LSTM(8, return_sequences=True)
    >>> x = torch.randn(3, 5, 2)
    >>> with torch.inference_mode():
    ...     fast = layer(x)
    ...     layer.use_fused = False
    ...     loop = layer(x)                       # the step-by-step cell
    >>> bool((fast - loop).abs().max() < 1e-5)
    True

It runs where a cell would take torch's fused LSTM on the CPU, in float32, without
gradients or tracing, once the kernel compiled (``seqlab/native.py``); otherwise
torch's kernel runs, as it always did. Shapes: B rows, T time, D input features, H units.
"""
from __future__ import annotations

import ctypes
from pathlib import Path
import torch

from seqlab import native
from seqlab.layers import layout_cache
from seqlab.layers.base import traced

SOURCE = Path(__file__).with_name("lstm_infer.c")
_P = ctypes.c_void_p
LANES = 16  # units per block: one 512-bit register of float32


def kernel():
    """The compiled ``seqlab_lstm_rows`` (argument types set), or None."""
    lib = native.load(SOURCE)
    if lib is None:
        return None
    fn = lib.seqlab_lstm_rows
    if fn.restype is not None:  # first use in this process
        fn.argtypes = [ctypes.c_int] * 4 + [_P] * 7
        fn.restype = None
    return fn


def applies(x: torch.Tensor, weights: list, training: bool) -> bool:
    """float32 on the CPU, no gradient recorded, nothing traced, and a kernel built."""
    return (not training and type(x) is torch.Tensor and x.device.type == "cpu"
            and x.dtype == torch.float32 and weights[0].dtype == torch.float32
            and not torch.is_grad_enabled() and not traced() and kernel() is not None)


def run(cell, x: torch.Tensor, hx: list, weights: list, keep_outputs: bool = True):
    """x (B, T, D'), hx [h0, c0] (1, B, H) each, weights torch's [w_ih (4H, D'), w_hh]
    (+ [b_ih, b_hh]): as torch's ``lstm`` kernel -> (y (B, T, H), or None without
    ``keep_outputs``, [h_T (B, H), c_T (B, H)]). D' may exceed the cell's D (``fused``
    appends a column that holds c through padding). The packed weights are made once per
    ``predict`` (``layout_cache``)."""
    B, T, D = x.shape
    W, U, b = layout_cache.cached(cell, f"lstm_infer {D}", lambda: _packed(cell, weights))
    H = cell.recurrent_kernel.shape[0]
    Hp = W.shape[0] * LANES
    x = x.contiguous()
    h = x.new_zeros(2, B, Hp)                                          # h_{t-1}, h_t
    c = x.new_zeros(B, Hp)
    h[0, :, :H] = hx[0][0]
    c[:, :H] = hx[1][0]
    y = x.new_empty(B, T, H) if keep_outputs else None
    kernel()(B, T, D, H, x.data_ptr(), W.data_ptr(), U.data_ptr(), b.data_ptr(),
             h.data_ptr(), c.data_ptr(), None if y is None else y.data_ptr())
    return y, [h[T % 2, :, :H], c[:, :H]]


def _packed(cell, weights: list) -> tuple:
    """W (Q, D', 4, 16), U (Q, H, 4, 16), b (Q, 4, 16): block q holds the four gates'
    columns of units 16q..16q+15 (zero past H), as the kernel reads them."""
    U = cell.recurrent_kernel.detach()                                 # (H, 4H), Keras
    H = U.shape[0]
    b = weights[2] + weights[3] if len(weights) == 4 else U.new_zeros(4 * H)
    return _blocks(weights[0].detach().t(), H), _blocks(U, H), _blocks(b.detach()[None], H)[:, 0]


def _blocks(M: torch.Tensor, H: int, lanes: int = LANES) -> torch.Tensor:
    """(K, 4H), gates i, f, g, o side by side -> (Q, K, 4, lanes), Q = ceil(H / lanes)."""
    K = M.shape[0]
    Q = -(-H // lanes)
    out = M.new_zeros(K, 4, Q * lanes)
    out[:, :, :H] = M.reshape(K, 4, H)
    return out.reshape(K, 4, Q, lanes).permute(2, 0, 1, 3).contiguous()
