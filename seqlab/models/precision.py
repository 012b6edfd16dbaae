"""Mixed precision for ``fit``: ``precision="32" | "bf16" | "fp16"``.

``"32"`` (the default) trains in the model's own float dtype. ``"bf16"`` runs the
forward pass and the loss under ``torch.autocast`` with bfloat16, on the CPU and on CUDA:
matrix products and convolutions compute in bfloat16, the weights, gradients and
optimizer state stay float32 (bfloat16 has float32's exponent range, so no loss
scaling). ``"fp16"`` is autocast with float16 plus ``torch.amp.GradScaler`` (CUDA only):
the loss is multiplied by the scale before ``backward``, the gradients divided by it
before clipping, and a step whose gradients overflowed is skipped while the scale
shrinks. In the loop (``seqlab.models.training``):

    with precision.autocast():                    # forward + loss
        total, count, logs = model.compute_loss(batch)
    precision.scale(total / count).backward()     # fp16: x scale; else unchanged
    precision.unscale(optimizer)                  # fp16: grads / scale, before clipping
    precision.step(optimizer)                     # fp16: skipped on inf/NaN grads

    >>> p = Precision("bf16", torch.device("cpu"))
    >>> with p.autocast():
    ...     y = torch.nn.Linear(4, 2)(torch.ones(3, 4))
    >>> y.dtype
    torch.bfloat16
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch

CHOICES = ("32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check(precision: Any, where: str = "fit(): precision") -> str:
    """``precision`` as one of ``CHOICES`` ("32", "bf16", "fp16"); 32 as an int is "32"."""
    name = str(precision).strip().lower() if precision is not None else "32"
    name = {"float32": "32", "fp32": "32", "bfloat16": "bf16", "float16": "fp16",
            "16": "fp16"}.get(name, name)
    if name not in CHOICES:
        raise ValueError(f'{where} must be "32", "bf16" or "fp16", got {precision!r}.')
    return name


class Precision:
    """The autocast context and, for fp16, the gradient scaler of one ``fit``."""

    def __init__(self, precision: Any, device: torch.device, where: str = "fit(): precision"):
        self.name = check(precision, where)
        self.device = torch.device(device)
        if self.name == "fp16" and self.device.type != "cuda":
            raise ValueError(f'{where} = "fp16" needs a CUDA device (float16 autocast with '
                             f'a gradient scaler); on {self.device.type} use "bf16" or "32".')
        self.dtype = _DTYPES.get(self.name)
        self.scaler = (torch.amp.GradScaler("cuda") if self.name == "fp16" else None)

    def autocast(self):
        """The context the forward pass and the loss run in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        """The tensor to back-propagate: ``loss`` times the fp16 scale, else ``loss``."""
        return loss if self.scaler is None else self.scaler.scale(loss)

    def unscale(self, optimizer) -> None:
        """Divide the gradients by the fp16 scale (before clipping and checks)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> None:
        """``optimizer.step()``; with fp16 skipped when a gradient overflowed, and the
        scale updated."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()


__all__ = ["Precision", "CHOICES", "check"]
