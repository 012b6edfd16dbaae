"""An LSTM on the CPU in one C loop (``scans.c``): inference at any batch size, and
training as one autograd node whose backward through time is the same C loop run back.

torch's CPU kernel (oneDNN) first writes x_t W for every row and step (B x T x 4H
floats), then steps; at one row it also pays ~140 us of set-up per call and 2.6-4.5 us
a step in latency. The C loop keeps each block of 16 units' weights in L1 while all rows
use them, does x_t W and h_{t-1} U in the same multiply-adds, and applies the gates in
registers (``scans.c`` says how). Measured (``bench/recurrent_paths.py``, 256 steps,
one thread): inference on 64 rows 1.15x oneDNN's row-steps/s for LSTM(64) and 1.3x for
LSTM(128), on one row 1.7x and 1.4x; so ``predict`` at any batch size and a served
model answer sooner. Training LSTM(64): 1.25-1.3x.

Training, the course's back-propagation through time (``scans.c`` writes its
equations): the forward keeps every step's gates and c_t; the backward walks the steps
back in C, producing dL/da_t (the gates' pre-activations) for every step and the
gradients of the initial state; then the weights' gradients are three whole matrix
products, dW = x^T da, dU = h_{t-1}^T da, dx = da W^T (``layers/gemm.py``), made for a
chunk of ~1 MB of da at a time while it is still in cache, and db is summed in the loop.

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

It runs where a cell would take torch's fused LSTM on the CPU, in float32, not traced,
once the kernel compiled (``seqlab/native.py``); otherwise torch's kernel runs, as it
always did. Shapes: B rows, T time, D input features, H units, Q = ceil(H / 16) blocks
of 16 units, Hp = 16 Q.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch.autograd.function import once_differentiable

from seqlab import native  # noqa: F401  (tests switch it off here)
from seqlab.layers import gemm, layout_cache
from seqlab.layers.base import traced
from seqlab.layers.recurrent.scans_c import LANES, ROWS, SOURCE, blocks, library as _lib


def kernel():
    """The compiled ``seqlab_lstm_forward``, or None."""
    lib = _lib()
    return None if lib is None else lib.seqlab_lstm_forward


def applies(x: torch.Tensor, weights: list) -> bool:
    """float32 on the CPU, nothing traced, and a kernel built."""
    return (type(x) is torch.Tensor and x.device.type == "cpu" and x.dtype == torch.float32
            and weights[0].dtype == torch.float32 and not traced()
            and kernel() is not None)


def run(cell, x: torch.Tensor, hx: list, weights: list, keep_outputs: bool = True):
    """x (B, T, D'), hx [h0, c0] (1, B, H) each, weights torch's [w_ih (4H, D'), w_hh]
    (+ [b_ih, b_hh]): as torch's ``lstm`` kernel -> (y (B, T, H), or None without
    ``keep_outputs`` when no gradient is needed, [h_T (B, H), c_T (B, H)]). D' may
    exceed the cell's D (``fused`` appends a column that holds c through padding). The
    recurrent kernel is the cell's own (H, 4H), Keras's layout."""
    h0, c0 = hx[0][0], hx[1][0]                                        # (B, H) each
    b = weights[2] if len(weights) == 4 else None                      # (b_hh is a zero)
    inputs = (x, weights[0], cell.recurrent_kernel, b, h0, c0)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs):
        y, h, c = _LSTMScan.apply(*inputs)
        return y, [h, c]
    packed = layout_cache.cached(cell, f"lstm_scan {x.shape[-1]}",
                                 lambda: _packed(weights[0], cell.recurrent_kernel, b))
    y, h, c, _ = _forward(x, packed, h0, c0, keep_outputs, keep_acts=False)
    return y, [h, c]


def _packed(w_ih: torch.Tensor, U: torch.Tensor, b: Optional[torch.Tensor]) -> tuple:
    """W (Q, D', 4, 16), U (Q, H, 4, 16), b (Q, 4, 16): block q holds the four gates'
    columns of units 16q..16q+15 (zero past H), as the loop reads them."""
    U = U.detach()                                                     # (H, 4H), Keras
    H = U.shape[0]
    b = U.new_zeros(4 * H) if b is None else b.detach()
    return (blocks(w_ih.detach().t(), H, 4), blocks(U, H, 4), blocks(b[None], H, 4)[:, 0])


def _transposed_blocks(U: torch.Tensor) -> torch.Tensor:
    """U (H, 4H) -> Ut (Q, 4 Hp, 16): Ut[p][(q, g, l)][m] = U[16p + m][gH + 16q + l], the
    backward's dh_{t-1} = da_t U^T read block by block; zero past H."""
    H = U.shape[0]
    Hp = -(-H // LANES) * LANES
    rows = blocks(U, H, 4).permute(0, 2, 3, 1).reshape(4 * Hp, H)     # [(q, g, l)][j]
    return blocks(rows, H)[:, :, 0]                                    # (Q, 4 Hp, 16)


def _forward(x, packed, h0, c0, keep_outputs: bool, keep_acts: bool):
    """The loop forward: (y (B, T, H) or None, h_T, c_T, (acts, cs, c0 padded) or None)."""
    W, U, b = packed
    B, T, D = x.shape
    H = h0.shape[-1]
    Hp = W.shape[0] * LANES
    x = x.contiguous()
    h = x.new_zeros(2, B, Hp)                                          # h_{t-1}, h_t
    c = x.new_zeros(B, Hp)
    h[0, :, :H] = h0
    c[:, :H] = c0
    saved = None
    if keep_acts:
        saved = (x.new_empty(T, B, 4 * Hp), x.new_empty(T, B, Hp), c.clone())
    y = x.new_empty(B, T, H) if keep_outputs else None
    acts, cs = (saved[0].data_ptr(), saved[1].data_ptr()) if saved else (None, None)
    _lib().seqlab_lstm_forward(B, T, D, H, x.data_ptr(), W.data_ptr(), U.data_ptr(),
                               b.data_ptr(), h.data_ptr(), c.data_ptr(),
                               None if y is None else y.data_ptr(), acts, cs)
    return y, h[T % 2, :, :H], c[:, :H], saved


class _LSTMScan(torch.autograd.Function):
    """y, h_T, c_T = LSTM(x; w_ih (4H, D') torch's layout, U (H, 4H) Keras's, b (4H) or
    None; h0, c0 (B, H)), forward and backward through time in C."""

    @staticmethod
    def forward(ctx, x, w_ih, U, b, h0, c0):
        x = x.contiguous()
        y, h, c, saved = _forward(x, _packed(w_ih, U, b), h0, c0, True, keep_acts=True)
        ctx.save_for_backward(x, w_ih, U, h0, y, *saved)
        ctx.has_bias = b is not None
        ctx.set_materialize_grads(False)
        return y, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, g_y, g_h, g_c):
        x, w_ih, U, h0, y, acts, cs, c0 = ctx.saved_tensors
        B, T, D = x.shape
        H = U.shape[0]
        Hp = c0.shape[-1]
        need = ctx.needs_input_grad
        dh, dc = x.new_zeros(B, Hp), x.new_zeros(B, Hp)
        if g_h is not None:
            dh[:, :H] = g_h
        if g_c is not None:
            dc[:, :H] = g_c
        g_y = None if g_y is None else g_y.contiguous()
        db = x.new_zeros(Hp // LANES, 4, LANES)
        Ut, scratch = _transposed_blocks(U), x.new_empty(ROWS, 4 * Hp)
        dx = x.new_empty(B, T, D) if need[0] else None
        dw, dU = x.new_zeros(D, 4 * H), x.new_zeros(H, 4 * H)
        x_tm, y_tm = x.transpose(0, 1), y.transpose(0, 1)              # (T, B, .) views
        K = _chunk_steps(B, H, T)
        da = x.new_empty(K, B, 4 * H)
        for t_hi in range(T, 0, -K):  # back through time, K steps at a time
            t_lo = max(0, t_hi - K)
            n = t_hi - t_lo
            _lib().seqlab_lstm_backward(
                B, T, t_lo, t_hi, H, Ut.data_ptr(), acts.data_ptr(), cs.data_ptr(),
                c0.data_ptr(), None if g_y is None else g_y.data_ptr(), dh.data_ptr(),
                dc.data_ptr(), da.data_ptr(), db.data_ptr(), scratch.data_ptr())
            da_n = da[:n].view(n * B, 4 * H)                           # still in cache
            if dx is not None:
                dx.transpose(0, 1)[t_lo:t_hi] = gemm.mm(da_n, w_ih).view(n, B, D)
            if need[1]:
                dw += gemm.mm(x_tm[t_lo:t_hi].reshape(n * B, D).t(), da_n)
            if need[2]:                                # h_{t-1}: h0 at t = 0, else y_{t-1}
                h_prev = (y_tm[t_lo - 1:t_hi - 1] if t_lo > 0 else
                          torch.cat([h0.unsqueeze(0), y_tm[:t_hi - 1]]))
                dU += gemm.mm(h_prev.reshape(n * B, H).t(), da_n)
        db = db.permute(1, 0, 2).reshape(4, Hp)[:, :H].reshape(4 * H) if ctx.has_bias else None
        return (dx, dw.t() if need[1] else None, dU if need[2] else None,
                db if need[3] else None, dh[:, :H] if need[4] else None,
                dc[:, :H] if need[5] else None)


def _chunk_steps(B: int, H: int, T: int) -> int:
    """Steps per chunk of the backward: about 1 MB of da (B x 4H float32 a step), so
    that the weights' products read it from cache."""
    return max(1, min(T, (1 << 18) // (4 * H * B)))
