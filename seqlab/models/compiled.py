"""The loss ``compile(loss=..., metrics=[...])`` asks for, on one ``Batch``: what
``Model.compute_loss`` does unless a model says its own loss.

    out = model(x, mask)                      # logits when the loss can undo a final
                                              # sigmoid/softmax (numerically stable)
    per = loss(out, y)                        # (B,) or (B, T): one value per term
    total, count = sum and number of the real terms (padding masked out)
    logs = {metric: (sum, count)}             # no gradient

Shapes: B batch, T time.
"""
from __future__ import annotations

from typing import Optional

import torch

from seqlab import losses as losses_mod
from seqlab import metrics as metrics_mod
from seqlab.layers.base import get_mask

LOGIT_FN = {"sigmoid": torch.sigmoid, "softmax": lambda t: torch.softmax(t, dim=-1)}


def reduce_terms(per: torch.Tensor, mask: Optional[torch.Tensor]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum, count) of per-sample values, over real steps only when a mask fits."""
    if per.dim() == 0:
        return per, torch.ones((), device=per.device)
    if mask is not None and per.shape == mask.shape:
        m = mask.to(per.dtype)
        return (per * m).sum(), m.sum()
    return per.sum(), torch.tensor(float(per.numel()), device=per.device)


def compiled_loss(model, batch) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """``(total, count, logs)`` of the compiled loss and metrics on ``batch`` (a ``Batch``)."""
    undo = losses_mod.LOGIT_ACTIVATION.get(model.loss)  # activation the loss can undo
    out, is_logits = model.outputs_for_loss(batch.x, batch.mask, undo)
    mask = batch.mask if batch.mask is not None else get_mask(out)
    if model.loss in losses_mod.LOSSES.values():
        per = model.loss(out, batch.y, from_logits=is_logits)
    else:
        per = model.loss(LOGIT_FN[undo](out) if is_logits else out, batch.y)
    total, count = reduce_terms(per, mask)
    logs = {}
    with torch.no_grad():
        probs = LOGIT_FN[undo](out.detach()) if is_logits else out.detach()
        for metric in model.compiled_metrics:
            if metric.fn is None:  # "accuracy": binary, categorical or sparse?
                metric.fn = metrics_mod.accuracy_for_shapes(probs, batch.y)
            logs[metric.name] = reduce_terms(metric.fn(probs, batch.y), mask)
    return total, count, logs


__all__ = ["compiled_loss", "reduce_terms"]
