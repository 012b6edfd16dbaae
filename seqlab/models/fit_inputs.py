"""What ``fit`` checks and prepares before its first step: the model is compiled, the
counts are positive, the validation data is a source, every lazily-built parameter
exists (``ensure_built``), and the float dtype the data are converted to.

    >>> float_dtype_of(torch.nn.Linear(2, 2))
    torch.float32
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from seqlab.devices import resolve_device
from seqlab.models.adapters import Batch, LoaderData, is_source, make_data, move_to


def float_dtype_of(model) -> torch.dtype:
    p = next((p for p in model.parameters() if p.is_floating_point()), None)
    return p.dtype if p is not None else torch.get_default_dtype()


def _check_compiled(model, caller: str) -> None:
    if not model.compiled:
        raise RuntimeError(
            f"{caller}(): {model.name} is not compiled. Call model.compile(optimizer="
            f"'rmsprop', loss='binary_crossentropy', metrics=['accuracy']) (or the loss "
            f"that fits your targets) before {caller}()."
        )


def _check_positive(caller: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{caller}(): {arg} must be a positive integer, got {value!r}.")
    return int(value)


def _validation_source(validation_data, float_dtype):
    if isinstance(validation_data, torch.utils.data.DataLoader):
        return LoaderData(validation_data, float_dtype)
    if is_source(validation_data):
        return validation_data
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("fit(): validation_data must be a tuple (x_val, y_val), a "
                         "DataLoader of (x, y) batches or a batch source.")
    return make_data(validation_data[0], validation_data[1], float_dtype, "fit", True)


def ensure_built(model, data) -> None:
    """Create every lazily-built parameter before the optimizer (or inference_mode)
    needs it: shape propagation with an unknown time axis for variable-length data,
    then one forward pass on a small batch for whatever is still unbuilt."""
    from seqlab.models.adapters import SequenceData

    # a Sequential builds from shapes alone (an unknown time axis for variable lengths)
    if (getattr(model, "builds_from_shape", False) and not model.built
            and isinstance(data, SequenceData)):
        model.build_once((None, None) + data.feature_shape())
    unbuilt = [m for m in model.modules() if getattr(m, "built", True) is False]
    if not unbuilt:
        return
    batch = move_to(next(iter(data.batches(2))), resolve_device(None, model))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        if isinstance(batch, Batch):
            model.outputs_for_loss(batch.x, batch.mask)
        else:
            model.compute_loss(batch)
    model.train(was_training)


__all__ = ["float_dtype_of", "ensure_built"]
