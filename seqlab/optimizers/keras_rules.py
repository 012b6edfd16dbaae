"""Keras 3's update rules as ``torch.optim.Optimizer`` classes, step for step.

``compile(optimizer="rmsprop")`` must leave the weights Keras leaves. torch's own
classes differ where epsilon sits (torch adds it after the square root; Keras 3 adds it
inside for RMSprop and Adagrad, and after the *un*-corrected square root for Adam), which
for small gradients is a different step size, not a rounding difference. Per weight ``w``
with gradient ``g``, at step ``t`` (1, 2, ...), learning rate ``lr``:

SGD (``momentum`` m, ``nesterov``)::

    v = m * v - lr * g                     # v starts at 0 (only when m > 0)
    w = w + v                              # nesterov: w = w + m * v - lr * g
                                           # m == 0:   w = w - lr * g
Adam (``beta_1``, ``beta_2``, ``epsilon``, ``amsgrad``)::

    m = m + (g - m) * (1 - beta_1)
    v = v + (g^2 - v) * (1 - beta_2)       # amsgrad: v_hat = max(v_hat, v), used below
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    w = w - alpha * m / (sqrt(v) + epsilon)

RMSprop (``rho``, ``momentum``, ``epsilon``, ``centered``)::

    v = rho * v + (1 - rho) * g^2
    a = rho * a + (1 - rho) * g            # centered only; denominator v - a^2 + epsilon
    step = lr * g / sqrt(v + epsilon)
    w = w - step                           # momentum: mo = momentum * mo + step; w -= mo

Adagrad (``initial_accumulator_value``, ``epsilon``)::

    acc = acc + g^2                        # acc starts at initial_accumulator_value (0.1)
    w = w - lr * g / sqrt(acc + epsilon)

``weight_decay`` (Keras's, decoupled; AdamW's default 0.004) runs first:
``w = w - w * weight_decay * lr``. The learning rate lives in ``param_groups[i]["lr"]``
(as in torch), so schedules and callbacks change it the same way.

    >>> import torch
    >>> w = torch.nn.Parameter(torch.tensor([10.0]))
    >>> opt = KerasRMSprop([w], lr=0.1)
    >>> (w ** 2 / 2).sum().backward(); opt.step()
    >>> round(w.item(), 5)                 # Keras's documented example: 9.683772
    9.68377
"""
from __future__ import annotations

import math
from typing import Optional

import torch


class KerasOptimizer(torch.optim.Optimizer):
    """Base: Keras's decoupled ``weight_decay``, then ``update(w, g, state, group)``."""

    def __init__(self, params, defaults: dict):
        lr, wd = defaults["lr"], defaults.get("weight_decay")
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0, got {lr!r}.")
        if wd is not None and not wd >= 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0 or None, "
                             f"got {wd!r}.")
        super().__init__(params, defaults)

    def update(self, w: torch.Tensor, g: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for w in group["params"]:
                if w.grad is None:
                    continue
                if w.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not take sparse "
                                       f"gradients; use Embedding(sparse=False).")
                state = self.state[w]
                state["step"] = state.get("step", 0) + 1
                if group.get("weight_decay"):
                    w.sub_(w * (group["weight_decay"] * group["lr"]))
                self.update(w, w.grad, state, group)
        return loss


class KerasSGD(KerasOptimizer):
    """Keras's SGD: ``v = m*v - lr*g; w += v`` (nesterov: ``w += m*v - lr*g``)."""

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: Optional[float] = None):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be a float in [0, 1], got {momentum!r}.")
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def update(self, w, g, state, group):
        lr, m = group["lr"], group["momentum"]
        if m == 0:
            w.sub_(g * lr)
            return
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(w)
        v = state["momentum_buffer"]
        v.mul_(m).sub_(g * lr)
        w.add_(v * m - g * lr if group["nesterov"] else v)


class KerasAdam(KerasOptimizer):
    """Keras's Adam (epsilon after the un-corrected ``sqrt(v)``; bias correction in ``alpha``)."""

    def __init__(self, params, lr: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: Optional[float] = None):
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                      amsgrad=amsgrad, weight_decay=weight_decay))

    def update(self, w, g, state, group):
        b1, b2, t = group["beta_1"], group["beta_2"], state["step"]
        if "momentum" not in state:
            state["momentum"], state["velocity"] = torch.zeros_like(w), torch.zeros_like(w)
            if group["amsgrad"]:
                state["velocity_hat"] = torch.zeros_like(w)
        m, v = state["momentum"], state["velocity"]
        alpha = group["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m.add_((g - m) * (1 - b1))
        v.add_((g * g - v) * (1 - b2))
        if group["amsgrad"]:
            torch.maximum(state["velocity_hat"], v, out=state["velocity_hat"])
            v = state["velocity_hat"]
        w.sub_((m * alpha) / (v.sqrt() + group["epsilon"]))


class KerasRMSprop(KerasOptimizer):
    """Keras's RMSprop (epsilon inside the square root; plain momentum; centered)."""

    def __init__(self, params, lr: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: Optional[float] = None):
        super().__init__(params, dict(lr=lr, rho=rho, momentum=momentum, epsilon=epsilon,
                                      centered=centered, weight_decay=weight_decay))

    def update(self, w, g, state, group):
        rho, eps = group["rho"], group["epsilon"]
        if "velocity" not in state:
            state["velocity"] = torch.zeros_like(w)
        v = state["velocity"]
        v.mul_(rho).add_(g * g * (1 - rho))
        if group["centered"]:
            if "average_gradient" not in state:
                state["average_gradient"] = torch.zeros_like(w)
            a = state["average_gradient"]
            a.mul_(rho).add_(g * (1 - rho))
            denominator = v - a * a + eps
        else:
            denominator = v + eps
        increment = g * group["lr"] / denominator.sqrt()
        if group["momentum"] > 0:
            if "momentum" not in state:
                state["momentum"] = torch.zeros_like(w)
            mo = state["momentum"]
            mo.mul_(group["momentum"]).add_(increment)
            w.sub_(mo)
        else:
            w.sub_(increment)


class KerasAdagrad(KerasOptimizer):
    """Keras's Adagrad (accumulator from 0.1, epsilon inside the square root)."""

    def __init__(self, params, lr: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: Optional[float] = None):
        if initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: initial_accumulator_value must be >= 0, got "
                             f"{initial_accumulator_value!r}.")
        super().__init__(params, dict(lr=lr, initial_accumulator_value=initial_accumulator_value,
                                      epsilon=epsilon, weight_decay=weight_decay))

    def update(self, w, g, state, group):
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(w, group["initial_accumulator_value"])
        acc = state["accumulator"]
        acc.add_(g * g)
        w.sub_(g * group["lr"] / (acc + group["epsilon"]).sqrt())


__all__ = ["KerasOptimizer", "KerasSGD", "KerasAdam", "KerasRMSprop", "KerasAdagrad"]
