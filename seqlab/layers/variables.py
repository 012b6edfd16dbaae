"""Weights that speak Keras's variable API, and the layer dtype.

``Weight`` is a ``torch.nn.Parameter`` subclass -- a real Parameter for optimizers,
``state_dict`` and ``torch.save`` alike -- with the few methods a Keras user calls on
``layer.weights``: ``numpy()`` (a copy, also when the weight requires grad), ``assign``,
``assign_add``, ``assign_sub`` and ``value``. ``Layer.register_parameter`` turns every plain
``nn.Parameter`` a layer creates into a ``Weight`` sharing the same storage, so layer code
keeps writing ``nn.Parameter(...)``.

    >>> w = Weight(torch.zeros(2))
    >>> w.assign([1.0, 2.0]).numpy().tolist()
    [1.0, 2.0]
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import nn

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64, "half": torch.float16, "float": torch.float32,
          "double": torch.float64}


class Weight(nn.Parameter):
    """A Parameter with Keras's variable methods (see the module docstring)."""

    def numpy(self, *, force: bool = False) -> np.ndarray:
        return self.detach().cpu().numpy().copy()

    @property
    def value(self) -> torch.Tensor:
        return self

    def _as_tensor(self, value: Any) -> torch.Tensor:
        value = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor)
                                else value, dtype=self.dtype, device=self.device)
        if tuple(value.shape) != tuple(self.shape):
            raise ValueError(f"assign: the value has shape {tuple(value.shape)}, the weight "
                             f"{tuple(self.shape)}. Give a value of the weight's shape.")
        return value

    def assign(self, value: Any) -> "Weight":
        """Overwrite the weight in place (no gradient is recorded)."""
        with torch.no_grad():
            self.copy_(self._as_tensor(value))
        return self

    def assign_add(self, value: Any) -> "Weight":
        with torch.no_grad():
            self.add_(self._as_tensor(value))
        return self

    def assign_sub(self, value: Any) -> "Weight":
        with torch.no_grad():
            self.sub_(self._as_tensor(value))
        return self


def as_weight(param: Optional[nn.Parameter]) -> Optional[nn.Parameter]:
    """A plain ``nn.Parameter`` as a ``Weight`` sharing its storage; anything else as is."""
    if param is not None and type(param) is nn.Parameter:
        return Weight(param.data, param.requires_grad)
    return param


def resolve_dtype(layer: str, dtype: Any) -> Optional[torch.dtype]:
    """Keras's ``dtype=`` argument ("float32", "float64", a torch dtype, or None)."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = getattr(dtype, "name", dtype)  # a numpy dtype or a Keras DTypePolicy-like object
    if isinstance(name, str) and name in DTYPES:
        return DTYPES[name]
    raise ValueError(f"{layer}: dtype must be one of {sorted(DTYPES)} or a torch float dtype, "
                     f"got {dtype!r}. Mixed-precision policies (e.g. 'mixed_float16') are not "
                     f"layer options here: use torch.autocast around the call instead.")
