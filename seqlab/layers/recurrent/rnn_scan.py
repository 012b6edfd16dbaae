"""SimpleRNN's recurrence as one autograd node, back-propagated through time by hand.

    forward    xw = x W + b  (one GEMM over all steps, written where h_1..h_T will be)
               a_t = xw_t + h_{t-1} U        h_t = act(a_t)          t = 1..T
    backward   da_t = (g_t + dh_t) * act'(a_t)     dh_{t-1} = da_t U^T
               dU = sum_t h_{t-1}^T da_t,  dW = x^T da,  db = sum da,  dx = da W^T
               (each one GEMM or sum over all steps)

with ``act`` tanh (act' = 1 - h^2) or relu (act' = [h > 0]).

The steps run in C for float32 on the CPU (``scans.c``: the recurrent product of 4 blocks
of 16 units for 6 rows at a time in 24 vector accumulators, the activation in registers;
``seqlab/native.py`` builds it): one call for the forward's T steps and one for the
backward's, where torch ops cost a few microseconds each, three per step. Measured
(bench/keras_compare.py, SimpleRNN(64), B=128, T=256, one thread, Intel Xeon): 1.95x the
training speed of Keras on JAX, against 1.50x with the steps as torch ops. Otherwise
(float64, CUDA, no C compiler) the steps are torch ops: an ``addmm`` into a preallocated
time-major buffer and the activation forward (tanh as tanh(a) = 2 sigmoid(2a) - 1, the
GEMMs computing 2a directly, exact scalings by a power of two: torch's CPU tanh costs 20
us for a (128, 64) step on AVX-512, its sigmoid 2.6 us), ``mul`` and ``mm`` backward.

Why not torch's fused ``rnn_tanh`` on the CPU: its CPU kernel is a chain of ATen ops that
autograd records step by step (a matrix product, an add, a tanh and their backward nodes per
step, plus stacking the outputs), and the recurrent kernel's gradient is T small matrix
products. Here dU is one large GEMM.

Shapes: B batch, T time, D input features, H units. Inside, tensors are time-major: step
t is a contiguous (B, H).

    >>> from seqlab.layers.recurrent import SimpleRNNCell
    >>> cell = SimpleRNNCell(3); cell.build_once((None, 4))
    >>> hs, h_last = run_simple_rnn(cell, torch.randn(2, 5, 4), torch.zeros(2, 3), "tanh")
    >>> tuple(hs.shape), bool((hs[:, -1] == h_last).all())
    ((2, 5, 3), True)
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from seqlab.layers import gemm
from seqlab.layers.recurrent import scans_c


class _Scan(torch.autograd.Function):
    """(x (T*B, D) time-major rows, W (D, H), b (H,) or None, h0 (B, H), U (H, H))
    -> (hs (T, B, H), h_T (B, H))."""

    @staticmethod
    def forward(ctx, x, W, b, h0, U, relu: bool):
        B, H = h0.shape
        T = x.shape[0] // B
        hs = x.new_empty((T + 1, B, H))                               # h_0 .. h_T
        hs[0] = h0
        xw = hs[1:].view(T * B, H)                                    # x W + b, in place
        lib = _c_loops(x)
        k = 1.0 if relu or lib else 2.0                               # tanh: 2a (see top)
        if b is not None:
            torch.addmm(b, x, W, beta=k, alpha=k, out=xw)
        else:
            torch.mm(x, W, out=xw)
            if k != 1.0:
                xw.mul_(k)
        if lib:                                                       # the C loop
            Up = scans_c.blocks(U, H)[:, :, 0]
            lib.seqlab_rnn_forward(B, T, H, int(relu), Up.data_ptr(), hs.data_ptr())
        elif relu:
            for t in range(T):
                hs[t + 1].addmm_(hs[t], U).relu_()                    # h_t = relu(a_t)
        else:
            s, minus_one = torch.empty_like(h0), h0.new_tensor(-1.0)
            for t in range(T):
                a2 = hs[t + 1].addmm_(hs[t], U, alpha=2.0)            # 2 a_t
                torch.sigmoid(a2, out=s)
                torch.add(minus_one, s, alpha=2.0, out=a2)            # h_t = 2 s - 1
        ctx.save_for_backward(x, W, hs, U)
        ctx.relu, ctx.has_bias = relu, b is not None
        ctx.set_materialize_grads(False)
        return hs[1:], hs[T]

    @staticmethod
    @once_differentiable  # written with in-place kernels: no gradient of the gradient
    def backward(ctx, g_all, g_last):
        x, W, hs, U = ctx.saved_tensors
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        da = torch.empty((T, B, H), dtype=hs.dtype, device=hs.device)
        Ut = U.t()
        dh = g_last if g_last is not None else torch.zeros_like(hs[0])  # dL/dh_T, (B, H)
        lib = _c_loops(x)
        if lib:                                                       # the C loop
            dh = dh.clone(memory_format=torch.contiguous_format)      # (written in place)
            g_all = None if g_all is None else g_all.contiguous()
            Ut_blocks = scans_c.blocks(Ut, H)[:, :, 0]
            lib.seqlab_rnn_backward(B, T, H, int(ctx.relu), Ut_blocks.data_ptr(),
                                    hs.data_ptr(), None if g_all is None else g_all.data_ptr(),
                                    dh.data_ptr(), da.data_ptr())
        else:
            for t in range(T - 1, -1, -1):
                if g_all is not None:
                    dh = dh + g_all[t]
                if ctx.relu:                                          # da_t = dh * act'
                    torch.ops.aten.threshold_backward.grad_input(dh, hs[t + 1], 0,
                                                                 grad_input=da[t])
                else:
                    torch.ops.aten.tanh_backward.grad_input(dh, hs[t + 1], grad_input=da[t])
                dh = torch.mm(da[t], Ut)                              # dL/dh_{t-1}
        da2 = da.view(T * B, H)
        need = ctx.needs_input_grad
        dx = gemm.mm(da2, W.t()) if need[0] else None                 # (T*B, D)
        dW = x.t() @ da2 if need[1] else None                         # (D, H)
        db = da2.sum(0) if ctx.has_bias and need[2] else None         # (H,)
        dU = hs[:-1].reshape(T * B, H).t() @ da2 if need[4] else None  # (H, H)
        return dx, dW, db, (dh if need[3] else None), dU, None


def _c_loops(x: torch.Tensor):
    """The C loops (``scans.c``) for float32 on the CPU, else None (the torch loops)."""
    if x.dtype != torch.float32 or x.device.type != "cpu":
        return None
    return scans_c.library()


def run_simple_rnn(cell, x: torch.Tensor, h0: torch.Tensor, activation: str):
    """h_t = act(x_t W + b + h_{t-1} U) over ``x`` (B, T, D) batch-first, ``h0`` (B, H),
    ``activation`` "tanh" or "relu": (outputs (B, T, H), h_T (B, H)). ``outputs`` is a
    batch-first view of the time-major buffer (no copy)."""
    B, T, D = x.shape
    xt = x.transpose(0, 1).reshape(T * B, D)                          # time-major rows
    hs, h_last = _Scan.apply(xt, cell.kernel, cell.bias, h0, cell.recurrent_kernel,
                             activation == "relu")
    return hs.transpose(0, 1), h_last
