"""Padding masks travel with tensors: ``attach_mask`` / ``get_mask``, and calling a layer
with the mask it can take (``call_with_mask``).

A (B, T) boolean mask (True = real step) made by ``Embedding(mask_zero=True)`` or by the
padding of variable-length batches rides on the tensor as an attribute; a layer whose
``forward`` takes ``mask=`` receives it explicitly.

    >>> import torch
    >>> x = attach_mask(torch.zeros(1, 2, 3), torch.tensor([[True, False]]))
    >>> get_mask(x).tolist()
    [[True, False]]
"""
from __future__ import annotations

import inspect
from typing import Any, Optional

import torch
from torch import nn

_MASK_ATTR = "_seqlab_mask"


def attach_mask(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Attach a (B, T) boolean mask (True = real step) to ``x`` and return ``x``."""
    if mask is not None:
        setattr(x, _MASK_ATTR, mask)
    return x


def get_mask(x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
    """The mask given explicitly, else the one attached to ``x`` by a previous layer."""
    return mask if mask is not None else getattr(x, _MASK_ATTR, None)


def accepts_mask(module: nn.Module) -> bool:
    """Whether ``module.forward`` takes a ``mask`` keyword (cached per class)."""
    cls = type(module)
    cached = cls.__dict__.get("_seqlab_accepts_mask")
    if cached is None:
        params = inspect.signature(cls.forward).parameters
        cached = "mask" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        setattr(cls, "_seqlab_accepts_mask", cached)
    return cached


def call_with_mask(module: nn.Module, x: Any, mask: Optional[torch.Tensor]) -> Any:
    """``module(x, mask=mask)`` if it takes a mask, else ``module(x)`` with the mask attached."""
    if mask is None:
        return module(x)
    if accepts_mask(module):
        return module(x, mask=mask)
    if isinstance(x, torch.Tensor):
        attach_mask(x, mask)
    return module(x)


__all__ = ["attach_mask", "get_mask", "accepts_mask", "call_with_mask"]
