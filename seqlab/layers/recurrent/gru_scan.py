"""GRU recurrence as one autograd node, back-propagated through time by hand.

Both forms: ``_GRUScan`` the cuDNN / Keras-3 form (reset_after=True) below, and
``_CourseGRUScan`` the course's form (reset_after=False, the reset gate on h_{t-1} before
the product with U_h; torch has no kernel for it), whose equations it writes out.

Keras's gate order z, r, h; ``W`` (D, 3H), ``U`` (H, 3H), bias (2, 3H) = [b_i, b_r]:

    forward    xw = x W + b_i              (one GEMM per chunk of steps, see below)
               u_t = h_{t-1} U + b_r       (B, 3H); u_h kept for the backward
               z_t = sigma(xw_z + u_z)     r_t = sigma(xw_r + u_r)
               n_t = tanh(xw_h + r_t * u_h)
               h_t = z_t * h_{t-1} + (1 - z_t) * n_t  =  n_t + z_t * (h_{t-1} - n_t)
    backward   (dh: dL/dh_t, from step t+1 and from the output at t)
               dz = dh * (h_{t-1} - n_t) * z (1 - z)          dn = dh * (1 - z) * (1 - n^2)
               dr = dn * u_h * r (1 - r)
               d(xw_t) = [dz, dr, dn]      d(u_t) = [dz, dr, dn * r]
               dh_{t-1} = dh * z + d(u_t) U^T
               dW = x^T d(xw),  db_i = sum d(xw),  dU = h_{<T}^T d(u),  db_r = sum d(u),
               dx = d(xw) W^T                 (each one GEMM or sum over all steps)

tanh is evaluated as tanh(a) = 2 sigmoid(2a) - 1: the h block of W and b_i is doubled
(an exact scaling) so that one ``addcmul`` gives 2a. On this CPU torch's tanh costs 20 us for
a (128, 64) block, its sigmoid 2.6 us. The backward's products over all steps go through
``layers/gemm.py`` (oneDNN where MKL is slow: AMD CPUs).

In both scans the input projection is made chunk by chunk, ``_chunk_steps`` steps (about
1 MB) at a time, just before the steps use it: read while still in cache, where the
projection of all steps at once (25 MB for B=128, T=256, H=64) was written to memory and
read back from it; z and r take their recurrent product and xw in one ``addmm``. Measured
on an Intel Xeon (one thread, B=128, T=256, H=64): the forward 87-109 ms -> 53-58 ms, the
same numbers. The chunks' products are torch's ``addmm`` (MKL): on an AMD CPU the whole
projection through oneDNN took 4.9 ms instead of 7.8; the chunked one was not measured there.

Why not torch's fused ``gru`` on the CPU: there it is a chain of ATen ops that autograd
records step by step, with a concatenation and a splitting per step and the recurrent
kernel's gradient as T small products. Measured (bench/keras_compare.py, GRU(64), B=128,
T=256, one thread): see bench/results.md.

Shapes: B batch, T time, D input features, H units. Inside, tensors are time-major.

    >>> from seqlab.layers.recurrent import GRUCell
    >>> cell = GRUCell(3, reset_after=True); cell.build_once((None, 4))
    >>> hs, h_last = run_gru(cell, torch.randn(2, 5, 4), torch.zeros(2, 3))
    >>> tuple(hs.shape), bool((hs[:, -1] == h_last).all())
    ((2, 5, 3), True)
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from seqlab.layers import gemm
from seqlab.layers.base import cpu_training

_sigmoid_bw = torch.ops.aten.sigmoid_backward.grad_input
_tanh_bw = torch.ops.aten.tanh_backward.grad_input


def _update_and_candidate_grads(dh, z, n, d, dz, dhz, dn, tmp) -> None:
    """The step's backward shared by both forms, into the given (H, B) buffers:
    dz = dh * (h_{t-1} - n) * z (1 - z),  dhz = dh * z,  dn = dh * (1 - z) * (1 - n^2)
    (``d`` holds h_{t-1} - n; ``tmp`` is scratch)."""
    torch.mul(dh, d, out=tmp)
    _sigmoid_bw(tmp, z, grad_input=dz)
    torch.mul(dh, z, out=dhz)
    torch.sub(dh, dhz, out=tmp)                                       # dh * (1 - z)
    _tanh_bw(tmp, n, grad_input=dn)


def _chunk_steps(H: int, B: int, T: int) -> int:
    """Steps per chunk of the input projection: about 1 MB of float32 (3H x B per step)."""
    return max(1, min(T, (1 << 18) // (3 * H * B)))


def _projected_steps(X, W, b, B: int):
    """For t = 1..T, step t's ([xw_z; xw_r] (2H, B), 2 xw_h (H, B)) of xw = x W + b, the h
    block doubled (exactly) for tanh(a) = 2 sigmoid(2a) - 1. X (T*B, D): time-major rows.
    Made ``_chunk_steps`` steps at a time into one reused (3H, K, B) buffer, just before
    they are used; a chunk is overwritten only once its steps are done."""
    H = W.shape[1] // 3
    T = X.shape[0] // B
    two = torch.ones(3 * H, 1, dtype=W.dtype, device=W.device)
    two[2 * H:] = 2.0
    Wt, bt = W.t() * two, b[:, None] * two                            # (3H, D), (3H, 1)
    K = _chunk_steps(H, B, T)
    xw = X.new_empty((3 * H, K, B))
    views = list(zip(xw[:2 * H].unbind(1), xw[2 * H:].unbind(1)))
    for t0 in range(0, T, K):
        rows = X[t0 * B:(t0 + K) * B]
        k = rows.shape[0] // B
        torch.addmm(bt, Wt, rows.t(), out=xw[:, :k].view(3 * H, k * B))
        yield from views[:k]


def _input_grads(need, X, W, dzr, dn) -> tuple:
    """The gradients of x (B, T, D) (a time-major view), W (D, 3H) and the input bias
    (3H,) from d(xw) = [dzr (2H, T, B); dn (H, T, B)], each when ``need`` asks for it."""
    H, T, B = dn.shape
    dzr, dn = dzr.reshape(2 * H, T * B), dn.view(H, T * B)           # dzr: a view
    dx = dW = db = None
    if need[0]:
        dx = torch.addmm(dn.t() @ W[:, 2 * H:].t(), dzr.t(), W[:, :2 * H].t())
        dx = dx.view(T, B, -1).transpose(0, 1)                        # (B, T, D), time-major
    if need[1]:
        dW = torch.cat([gemm.mm(X.t(), dzr.t()), X.t() @ dn.t()], dim=1)  # (D, 3H)
    if need[2]:
        db = torch.cat([dzr.sum(1), dn.sum(1)])
    return dx, dW, db


class _GRUScan(torch.autograd.Function):
    """(x (B, T, D), W (D, 3H), b_i (3H,), h0 (B, H), U (H, 3H), b_r (3H,))
    -> (hs (H, T, B), h_T (H, B)).

    Buffers are laid out (features, T, B): a step's gate block ``buf[:, t]`` is an (H, B)
    matrix whose rows are contiguous (torch's elementwise kernels run 2.5-3x slower on the
    strided (B, H) column blocks of a row-major (B, 3H) matrix), and the same buffer seen
    as (features, T*B) is one operand of the single GEMMs over all steps."""

    @staticmethod
    def forward(ctx, x, W, b_i, h0, U, b_r):
        B, T, D = x.shape
        H = h0.shape[1]
        X = x.transpose(0, 1).reshape(T * B, D)                       # time-major rows
        hs = x.new_empty((H + 1, T + 1, B))                           # h_0 .. h_T; ones
        hs[:H, 0] = h0.t()
        hs[H] = 1.0                                   # [U^T b_r] [h; 1] = U^T h + b_r
        u_h = x.new_empty((H, T, B))                                  # U_h^T h_{t-1} + b_rh
        zr = x.new_empty((2 * H, T, B))                               # z_t; r_t
        n = x.new_empty((H, T, B))                                    # n_t
        d = x.new_empty((H, T, B))                                    # h_{t-1} - n_t
        s, minus_one = x.new_empty((H, B)), x.new_tensor(-1.0)
        Ub = torch.cat([U.t(), b_r[:, None]], dim=1)                  # (3H, H + 1)
        Ub_zr, Ub_h = Ub[:2 * H], Ub[2 * H:]
        steps = zip(_projected_steps(X, W, b_i, B), u_h.unbind(1), zr.unbind(1),
                    zr[:H].unbind(1), zr[H:].unbind(1), n.unbind(1), d.unbind(1),
                    hs[:, :-1].unbind(1), hs[:H, :-1].unbind(1), hs[:H, 1:].unbind(1))
        for (xw_zr, xw_h), uh_t, zr_t, z, r, n_t, d_t, h1, h, h_next in steps:
            torch.addmm(xw_zr, Ub_zr, h1, out=zr_t).sigmoid_()       # z; r
            torch.mm(Ub_h, h1, out=uh_t)
            torch.addcmul(xw_h, r, uh_t, value=2.0, out=s).sigmoid_()  # sigmoid(2 a)
            torch.add(minus_one, s, alpha=2.0, out=n_t)               # n = 2 sigmoid(2a) - 1
            torch.sub(h, n_t, out=d_t)
            torch.addcmul(n_t, z, d_t, out=h_next)                    # n + z (h - n)
        ctx.save_for_backward(X, W, U, hs, u_h, zr, n, d)
        ctx.set_materialize_grads(False)
        return hs[:H, 1:], hs[:H, T]

    @staticmethod
    @once_differentiable  # written with in-place kernels: no gradient of the gradient
    def backward(ctx, g_all, g_last):
        X, W, U, hs, u_h, zr, n, d = ctx.saved_tensors
        H, T, B = n.shape                                             # hs: (H + 1, T + 1, B)
        du = torch.empty((3 * H, T, B), dtype=n.dtype, device=n.device)  # [dz; dr; dn r]
        dn = torch.empty((H, T, B), dtype=n.dtype, device=n.device)      # dn = d(xw_h)
        dh = g_last.contiguous() if g_last is not None else torch.zeros_like(hs[:H, 0])
        tmp, dhz, dhz2 = torch.empty_like(dh), torch.empty_like(dh), torch.empty_like(dh)
        steps = zip(zr[:H].unbind(1), zr[H:].unbind(1), n.unbind(1), d.unbind(1),
                    u_h.unbind(1), du[:H].unbind(1), du[H:2 * H].unbind(1),
                    du[2 * H:].unbind(1), dn.unbind(1), du.unbind(1))
        for t, (z, r, n_t, d_t, uh_t, dz, dr, dnr, dn_t, du_t) in reversed(list(enumerate(steps))):
            if g_all is not None:
                dh = dh + g_all[:, t]
            dhz, dhz2 = dhz2, dhz                                     # dh is the other one
            _update_and_candidate_grads(dh, z, n_t, d_t, dz, dhz, dn_t, tmp)
            torch.mul(dn_t, uh_t, out=tmp)
            _sigmoid_bw(tmp, r, grad_input=dr)                        # dr
            torch.mul(dn_t, r, out=dnr)                               # d(u_h) = dn * r
            dh = dhz.addmm_(U, du_t)                                  # dL/dh_{t-1}, (H, B)
        need = ctx.needs_input_grad
        du2 = du.view(3 * H, T * B)
        dx, dW, db_i = _input_grads(need, X, W, du[:2 * H], dn)
        dU = db_r = None
        if need[4]:
            dU = gemm.mm(hs[:H, :-1].reshape(H, T * B), du2.t())     # (H, 3H)
        if need[5]:
            db_r = du2.sum(1)
        return dx, dW, db_i, (dh.t() if need[3] else None), dU, db_r


def run_gru(cell, x: torch.Tensor, h0: torch.Tensor):
    """The GRU (reset_after=True, tanh / sigmoid) over ``x`` (B, T, D) batch-first from
    ``h0`` (B, H): (outputs (B, T, H), h_T (B, H)); ``outputs`` is a batch-first view of
    the feature-major buffer (no copy)."""
    W, U = cell.kernel, cell.recurrent_kernel
    b_i, b_r = cell.bias if cell.bias is not None else W.new_zeros((2, W.shape[1]))
    hs, h_last = _GRUScan.apply(x, W, b_i, h0, U, b_r)               # (H, T, B), (H, B)
    return hs.permute(2, 1, 0), h_last.t()


class _CourseGRUScan(torch.autograd.Function):
    """The course's GRU (reset_after=False: the reset gate on h_{t-1} before U_h):

        forward    xw = x W + b             z_t = sigma(xw_z + h U_z)   r_t = sigma(xw_r + h U_r)
                   n_t = tanh(xw_h + (r_t * h_{t-1}) U_h)
                   h_t = n_t + z_t * (h_{t-1} - n_t)
        backward   dz = dh * (h_{t-1} - n_t) * z (1 - z)     dn = dh * (1 - z) * (1 - n^2)
                   d(rh) = dn U_h^T            dr = d(rh) * h_{t-1} * r (1 - r)
                   dh_{t-1} = dh * z + d(rh) * r + [dz, dr] U_zr^T
                   dU_zr = h_{<T}^T [dz, dr],  dU_h = (r h)^T dn,  dW = x^T [dz, dr, dn]

    (x (B, T, D), W (D, 3H), b (3H,), h0 (B, H), U (H, 3H)) -> (hs (H, T, B), h_T (H, B)),
    buffers laid out (features, T, B) as ``_GRUScan``'s."""

    @staticmethod
    def forward(ctx, x, W, b, h0, U):
        B, T, _ = x.shape
        H = h0.shape[1]
        X = x.transpose(0, 1).reshape(T * B, -1)                      # time-major rows
        hs = x.new_empty((H, T + 1, B))                               # h_0 .. h_T
        hs[:, 0] = h0.t()
        zr = x.new_empty((2 * H, T, B))                               # z_t; r_t
        rh = x.new_empty((H, T, B))                                   # r_t * h_{t-1}
        n = x.new_empty((H, T, B))
        d = x.new_empty((H, T, B))                                    # h_{t-1} - n_t
        minus_one = x.new_tensor(-1.0)
        Uzr_t, Uh_t = U[:, :2 * H].t(), U[:, 2 * H:].t()              # (2H, H), (H, H)
        steps = zip(_projected_steps(X, W, b, B), zr.unbind(1), zr[:H].unbind(1),
                    zr[H:].unbind(1), rh.unbind(1), n.unbind(1), d.unbind(1),
                    hs[:, :-1].unbind(1), hs[:, 1:].unbind(1))
        for (xw_zr, a2), zr_t, z, r, rh_t, n_t, d_t, h, h_next in steps:
            torch.addmm(xw_zr, Uzr_t, h, out=zr_t).sigmoid_()         # z; r
            torch.mul(r, h, out=rh_t)
            a2.addmm_(Uh_t, rh_t, alpha=2.0).sigmoid_()               # sigmoid(2a), in place
            torch.add(minus_one, a2, alpha=2.0, out=n_t)              # n = 2 sigmoid(2a) - 1
            torch.sub(h, n_t, out=d_t)
            torch.addcmul(n_t, z, d_t, out=h_next)                    # n + z (h - n)
        ctx.save_for_backward(X, W, U, hs, zr, rh, n, d)
        ctx.set_materialize_grads(False)
        return hs[:, 1:], hs[:, T]

    @staticmethod
    @once_differentiable  # written with in-place kernels: no gradient of the gradient
    def backward(ctx, g_all, g_last):
        X, W, U, hs, zr, rh, n, d = ctx.saved_tensors
        H, T, B = n.shape
        dzr = torch.empty((2 * H, T, B), dtype=n.dtype, device=n.device)  # [dz; dr]
        dn = torch.empty((H, T, B), dtype=n.dtype, device=n.device)
        dh = g_last.contiguous() if g_last is not None else torch.zeros_like(hs[:, 0])
        tmp, drh = torch.empty_like(dh), torch.empty_like(dh)
        dhz, dhz2 = torch.empty_like(dh), torch.empty_like(dh)
        U_zr, U_h = U[:, :2 * H], U[:, 2 * H:]                        # (H, 2H), (H, H)
        steps = zip(zr[:H].unbind(1), zr[H:].unbind(1), n.unbind(1), d.unbind(1),
                    hs[:, :-1].unbind(1), dzr[:H].unbind(1), dzr[H:].unbind(1),
                    dzr.unbind(1), dn.unbind(1))
        for t, (z, r, n_t, d_t, h, dz, dr, dzr_t, dn_t) in reversed(list(enumerate(steps))):
            if g_all is not None:
                dh = dh + g_all[:, t]
            dhz, dhz2 = dhz2, dhz                                     # dh is the other one
            _update_and_candidate_grads(dh, z, n_t, d_t, dz, dhz, dn_t, tmp)
            torch.mm(U_h, dn_t, out=drh)                              # d(r h)
            torch.mul(drh, h, out=tmp)
            _sigmoid_bw(tmp, r, grad_input=dr)                        # dr
            torch.addcmul(dhz, drh, r, out=dhz)                       # dh z + d(rh) r
            dh = dhz.addmm_(U_zr, dzr_t)                              # dL/dh_{t-1}, (H, B)
        need = ctx.needs_input_grad
        dzr2, dn2 = dzr.view(2 * H, T * B), dn.view(H, T * B)
        dx, dW, db = _input_grads(need, X, W, dzr, dn)
        dU = None
        if need[4]:
            dU = torch.cat([gemm.mm(hs[:, :-1].reshape(H, T * B), dzr2.t()),
                            gemm.mm(rh.view(H, T * B), dn2.t())], dim=1)  # (H, 3H)
        return dx, dW, db, (dh.t() if need[3] else None), dU


def course_applies(cell, x: torch.Tensor) -> bool:
    """Whether ``run_course_gru`` computes this cell's training forward: the course's GRU
    (reset_after=False) with tanh / sigmoid, on the CPU, gradients on, not traced."""
    from seqlab.layers.recurrent.cells import GRUCell
    return (type(cell) is GRUCell and not cell.reset_after
            and getattr(cell, "activation_name", None) == "tanh"
            and getattr(cell, "recurrent_activation_name", None) == "sigmoid"
            and getattr(cell, "gate_log", None) is None
            and cpu_training(x))


def run_course_gru(cell, x: torch.Tensor, h0: torch.Tensor):
    """The course's GRU (reset_after=False) over ``x`` (B, T, D) from ``h0`` (B, H):
    (outputs (B, T, H), h_T (B, H)), as ``run_gru``."""
    W, U = cell.kernel, cell.recurrent_kernel
    b = cell.bias if cell.bias is not None else W.new_zeros(W.shape[1])
    hs, h_last = _CourseGRUScan.apply(x, W, b, h0, U)                 # (H, T, B), (H, B)
    return hs.permute(2, 1, 0), h_last.t()
