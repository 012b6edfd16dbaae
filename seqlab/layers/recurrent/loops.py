"""The explicit time loop of ``RNN``: the cell's own equations, one step at a time.

The loop takes ``xw`` (B, T, kH), the input projection of every step computed beforehand in
one matrix product, and iterates ``xw.unbind(1)``: indexing ``xw[:, t]`` inside the loop is
~20x slower under autograd (each slice's backward materialises a full (B, T, kH) zero
gradient). For the same reason the recurrent kernel is split into gate blocks once per
sequence (``cell.recurrent_weights()``), not at every step.

Compiling the step: ``RNN(..., compile_step=True)`` (or ``SEQLAB_COMPILE=1``) runs
``torch.compile`` on ``cell.recur``; if compiling fails the Python step is used, with a
warning. It is off by default because measured on this project's 2-core CPU
(bench/recurrent_paths.py, GRU(64) reset_after=False, B=128, T=100), ``torch.compile`` took
~70 s to compile for ~10% faster training steps, and a TorchScript-scripted loop was ~20%
*slower* than the plain Python loop.

A masked step (mask (B, T), True = real step) keeps the previous state; its output repeats
the previous output (zeros before the first real step), as Keras.

Shapes: B batch, T time, H units, k gate blocks.
"""
from __future__ import annotations

import os
import warnings
from typing import Callable, Optional

import torch

COMPILE_DEFAULT = os.environ.get("SEQLAB_COMPILE", "0") == "1"


def python_loop(cell, xw: torch.Tensor, state: list, mask: Optional[torch.Tensor],
                rec_mask: Optional[torch.Tensor] = None, keep_outputs: bool = True,
                step: Optional[Callable] = None):
    """Run ``cell.recur`` (or ``step``, a compiled copy) over ``xw`` (B, T, kH).

    Returns ``(outputs (B, T, H) or None, last output (B, H), final state)``.
    """
    step = step or cell.recur
    weights = cell.recurrent_weights()                                 # once per sequence
    B = xw.shape[0]
    prev = xw.new_zeros(B, cell.units) if mask is not None else None  # (B, H)
    masks = mask.unsqueeze(-1).unbind(1) if mask is not None else None  # T x (B, 1)
    outs = []
    h = prev
    for t, xw_t in enumerate(xw.unbind(1)):                            # xw_t (B, kH)
        h, new_state = step(xw_t, state, weights, rec_mask)
        if masks is not None:
            m = masks[t]
            new_state = [torch.where(m, n, s) for n, s in zip(new_state, state)]
            h = torch.where(m, h, prev)
            prev = h
        state = new_state
        if keep_outputs:
            outs.append(h)
    outputs = torch.stack(outs, dim=1) if keep_outputs else None       # (B, T, H)
    return outputs, h, state


class CompiledStep:
    """``torch.compile(cell.recur)`` made on first use; falls back to the Python step."""

    def __init__(self, cell):
        self.cell = cell
        self.fn: Optional[Callable] = None
        self.failed = False

    def __call__(self, xw_t, state, weights, rec_mask):
        if not self.failed:
            try:
                if self.fn is None:
                    self.fn = torch.compile(self.cell.recur, dynamic=False)
                return self.fn(xw_t, state, weights, rec_mask)
            except Exception as err:  # no working compiler here: the Python step
                warnings.warn(f"seqlab: torch.compile of {type(self.cell).__name__}.recur "
                              f"failed ({type(err).__name__}: {err}); using the Python "
                              f"step.", RuntimeWarning)
                self.failed = True
        return self.cell.recur(xw_t, state, weights, rec_mask)
