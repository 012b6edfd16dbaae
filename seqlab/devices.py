"""Where a model runs: one ``resolve_device`` for the command line and the Python API.

    "auto"           -> CUDA when torch sees a GPU, else the CPU
    None             -> where the model's parameters already are (CPU without a model)
    "cpu", "cuda:1"  -> that device; one torch cannot use is an error that says the fix

The config field is ``[training] device`` ("auto", "cpu" or "cuda"); the Python API's
argument is ``device=`` (``fit``, ``evaluate``, ``predict``).

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device(None, torch.nn.Linear(2, 2))
    device(type='cpu')
"""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn

from seqlab.errors import SeqlabError

DeviceLike = Union[str, torch.device, None]
_WHERE = "[training] device in a config, device= in Python"


class DeviceError(SeqlabError, ValueError):
    """A device name torch does not know, or a device this machine does not have."""


def resolve_device(device: DeviceLike = "auto", model: Optional[nn.Module] = None
                   ) -> torch.device:
    """The ``torch.device`` to run on.

    Args:
        device: "auto" (CUDA when available, else CPU), a device name ("cpu", "cuda",
            "cuda:1", "mps") or ``torch.device``, or None: where ``model``'s parameters
            are (the CPU when it has none, or without a model).
        model: consulted only when ``device`` is None.

    Raises:
        DeviceError: an unknown name, or a device that is not available here (e.g.
            "cuda" on a machine without a CUDA GPU); the message says how to fix it.
    """
    if device is None:
        p = next(model.parameters(), None) if model is not None else None
        return p.device if p is not None else torch.device("cpu")
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f'device must be "auto", "cpu", "cuda" or "cuda:N" (or a '
                          f'torch.device), got {device!r} ({_WHERE}).') from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f'device {str(device)!r} asks for a CUDA GPU ({_WHERE}), but '
                              f'torch sees none (torch.cuda.is_available() is False). Use '
                              f'"auto" (CUDA when available, else the CPU) or "cpu", or '
                              f'install a CUDA build of torch.')
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DeviceError(f'device {str(device)!r} asks for CUDA GPU {dev.index} '
                              f'({_WHERE}), but this machine has {count} (0 to {count - 1}). '
                              f'Use "cuda" (GPU 0) or "auto".')
    if dev.type == "mps" and not (hasattr(torch.backends, "mps")
                                  and torch.backends.mps.is_available()):
        raise DeviceError(f'device {str(device)!r} asks for an Apple GPU ({_WHERE}), but '
                          f'torch sees none. Use "auto" or "cpu".')
    return dev


__all__ = ["resolve_device", "DeviceError"]
