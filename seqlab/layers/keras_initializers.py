"""Keras's initialiser classes (``keras.initializers``), serialisable with the layer.

Each is a callable ``init(shape, dtype=None) -> torch.Tensor`` with Keras's defaults and
formulas. With ``seed`` an initialiser draws from its own ``torch.Generator`` seeded
afresh at every call, so, as in Keras, a seeded initialiser gives the same values each
time (the numbers are torch's, not TensorFlow's or JAX's: same distribution, other draws).

* ``Zeros``, ``Ones``, ``Constant(value=0.0)``, ``Identity(gain=1.0)``
* ``RandomNormal(mean=0.0, stddev=0.05)``, ``RandomUniform(minval=-0.05, maxval=0.05)``,
  ``TruncatedNormal(mean=0.0, stddev=0.05)`` (redrawn beyond 2 stddev)
* ``VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal")``: with n
  the fan of ``mode``, uniform in ``±sqrt(3 scale / n)``, normal of std ``sqrt(scale / n)``,
  or truncated normal of std ``sqrt(scale / n) / 0.8796...``; its special cases
  ``GlorotUniform``, ``GlorotNormal`` (fan_avg), ``HeUniform``, ``HeNormal`` (scale 2,
  fan_in), ``LecunUniform``, ``LecunNormal`` (fan_in)
* ``Orthogonal(gain=1.0)``

    >>> init = GlorotUniform(seed=3)
    >>> bool((init((4, 5)) == init((4, 5))).all())
    True
    >>> Constant(2.0).get_config()
    {'value': 2.0}
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch

from seqlab.layers.objects import KerasObject


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras computes them; a conv kernel (*k, D, U) multiplies both by
    the receptive field."""
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(KerasObject):
    """Base class: ``init(shape, dtype=None) -> tensor``."""

    def __call__(self, shape: Sequence[int], dtype: Optional[torch.dtype] = None):
        raise NotImplementedError

    def _generator(self) -> Optional[torch.Generator]:
        seed = getattr(self, "seed", None)
        return None if seed is None else torch.Generator().manual_seed(int(seed))


def _dtype(dtype) -> torch.dtype:
    if dtype is None:
        return torch.get_default_dtype()
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.zeros(tuple(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Every weight equals ``value``."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return torch.full(tuple(shape), self.value, dtype=_dtype(dtype))


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer: only 2-D shapes, got {tuple(shape)}.")
        return self.gain * torch.eye(*shape, dtype=_dtype(dtype))


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        out = torch.empty(tuple(shape), dtype=_dtype(dtype))
        return out.normal_(self.mean, self.stddev, generator=self._generator())


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Optional[int] = None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        out = torch.empty(tuple(shape), dtype=_dtype(dtype))
        return out.uniform_(self.minval, self.maxval, generator=self._generator())


def _truncated(shape, mean, std, dtype, generator) -> torch.Tensor:
    """Normal(mean, std) with values beyond 2 std redrawn (TensorFlow's truncated normal)."""
    out = torch.empty(tuple(shape), dtype=dtype).normal_(generator=generator)
    bad = out.abs() > 2
    while bool(bad.any()):
        out[bad] = torch.empty(int(bad.sum()), dtype=dtype).normal_(generator=generator)
        bad = out.abs() > 2
    return out * std + mean


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _truncated(shape, self.mean, self.stddev, _dtype(dtype), self._generator())


class VarianceScaling(Initializer):
    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: Optional[int] = None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                             f"got {mode!r}.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be 'truncated_normal', "
                             f"'untruncated_normal' or 'uniform', got {distribution!r}.")
        if not scale > 0:
            raise ValueError(f"VarianceScaling: scale must be > 0, got {scale!r}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape)) if len(shape) else (1, 1)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        dtype, gen = _dtype(dtype), self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return torch.empty(tuple(shape), dtype=dtype).uniform_(-limit, limit, generator=gen)
        if self.distribution == "untruncated_normal":
            return torch.empty(tuple(shape), dtype=dtype).normal_(0, math.sqrt(scale),
                                                                  generator=gen)
        return _truncated(shape, 0.0, math.sqrt(scale) / 0.87962566103423978, dtype, gen)


def _variant(name: str, scale: float, mode: str, distribution: str) -> type:
    def __init__(self, seed: Optional[int] = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)
    doc = f"``VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})``."
    return type(name, (VarianceScaling,), {"__init__": __init__, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _variant("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variant("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variant("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variant("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variant("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variant("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``; shapes above 2-D are flattened to
    (prod(shape[:-1]), shape[-1]) first, as Keras."""

    def __init__(self, gain: float = 1.0, seed: Optional[int] = None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = torch.empty(max(rows, cols), min(rows, cols), dtype=torch.float64).normal_(
            generator=self._generator())
        q, r = torch.linalg.qr(a)                                     # (max, min)
        q = q * torch.sign(torch.diagonal(r))                         # unique (Haar) draw
        q = q if rows >= cols else q.T                                # (rows, cols)
        return (self.gain * q).reshape(tuple(shape)).to(_dtype(dtype))


CLASSES = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
    LecunNormal, Orthogonal)}


def snake_name(class_name: str) -> str:
    """Keras's lower-case alias of a class name: GlorotUniform -> glorot_uniform."""
    return "".join("_" + c.lower() if c.isupper() else c for c in class_name).lstrip("_")
