"""The `Layer` base class: a `torch.nn.Module` that builds itself on first use.

Every seqlab layer is a plain `nn.Module` and can be dropped into PyTorch code. On top
of that it behaves like a Keras layer:

* **Lazy build.** Sizes that depend on the input (the ``D`` of a ``Dense`` kernel) are
  not needed at construction: ``build(input_shape)`` creates the parameters the first
  time the layer sees an input, or when a ``Sequential`` propagates shapes.
* **Shapes.** ``compute_output_shape(input_shape)`` maps a Keras-style shape that
  includes the batch dimension and uses ``None`` for unknown sizes, e.g.
  ``(None, None, 64) -> (None, 128)``. It is what ``summary()`` prints.
* **Masks.** A layer that produces a padding mask (``Embedding(mask_zero=True)``)
  attaches it to its output tensor (``attach_mask``); a layer that consumes one reads
  it with ``get_mask(x, mask)``. ``Sequential`` also passes masks explicitly.
* **Weights.** ``get_weights()`` / ``set_weights()`` speak Keras's array layout;
  ``layer.weights`` are ``Weight`` parameters with ``numpy()`` / ``assign()`` (variables.py).
* **Keras's way of writing a layer** works too: ``call(inputs)`` instead of ``forward``,
  ``add_weight(...)`` in ``build``, ``add_loss(...)``; ``build(shape)`` called by hand marks
  the layer built; NumPy inputs are converted, float inputs cast to the layer's dtype.
* **Penalties.** ``kernel_regularizer=`` and friends, ``activity_regularizer=``:
  ``layer.losses`` lists the penalties (weights: from the current values; activity: from
  the last call); ``regularization_loss(model)`` sums them for the training loss.
* **Config.** The constructor's arguments are recorded automatically, so
  ``get_config()`` works for every subclass without extra code; ``seqlab.io`` uses
  it to save a model as JSON + safetensors.

Shape letters used across seqlab: B batch, T time, D input features, H hidden units,
V vocabulary, nh heads.
"""
from __future__ import annotations

import inspect
import re
from collections import defaultdict
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from seqlab.layers import regularizers as _regularizers
from seqlab.layers.objects import KerasObject, lookup
from seqlab.layers.penalties import Penalties, regularization_loss  # noqa: F401
from seqlab.layers import symbolic
from seqlab.layers.masking import (_MASK_ATTR, accepts_mask, attach_mask,  # noqa: F401
                                   call_with_mask, get_mask)
from seqlab.layers.variables import resolve_dtype

Shape = tuple  # a Keras-style shape, batch first, None for unknown sizes

_LAYER_CLASSES: dict[str, type] = {}
_NAME_COUNTS: dict[str, int] = defaultdict(int)
_CALL_ALIASES: set = set()  # classes whose forward is their own Keras-style call()


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """Keras-style automatic names: ``dense``, ``dense_1``, ``dense_2``..."""
    count = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_name_counts() -> None:
    """Restart automatic layer names (``dense``, ``dense_1``...) from zero."""
    _NAME_COUNTS.clear()


def get_layer_class(class_name: str) -> type:
    """The registered seqlab layer class called ``class_name`` (for loading models)."""
    try:
        return _LAYER_CLASSES[class_name]
    except KeyError:
        raise ValueError(
            f"Unknown layer class {class_name!r}: the file was written by another "
            f"program or a newer seqlab. Known classes: {sorted(_LAYER_CLASSES)}."
        ) from None


def traced() -> bool:
    """True while export or ``torch.compile`` traces the equations: hand-written kernels
    (the recurrent scans, the embedding's gradient, the fused encoder layer) step aside."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def cpu_training(x: torch.Tensor) -> bool:
    """A CPU tensor, gradients on, nothing traced: where seqlab's hand-differentiated
    autograd nodes (their backward written out) replace torch's op-by-op graph."""
    return x.device.type == "cpu" and torch.is_grad_enabled() and not traced()


def check_positive_int(layer: str, arg: str, value: Any) -> int:
    """Fail early (STYLE.md §6): ``value`` must be an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"{layer}: {arg} must be a positive integer, got {value!r}. "
            f"Pass e.g. {arg}=32."
        )
    return int(value)


def check_rate(layer: str, arg: str, value: Any) -> float:
    """Fail early: a dropout-like rate must lie in [0, 1)."""
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ValueError(
            f"{layer}: {arg} must be a float in [0, 1), got {value!r}. "
            f"Use 0.0 to disable it."
        )
    return float(value)


class Layer(Penalties, nn.Module):
    """Base class of all seqlab layers.

    Args:
        name: layer name shown by ``summary()``; automatic (``dense_1``) by default.
        input_shape: shape of one sample, without the batch dimension, as in Keras
            (``Dense(8, input_shape=(4,))``). Lets a ``Sequential`` build before data.
        trainable: False freezes the layer's parameters.

    Subclasses implement ``build(input_shape)`` (create parameters; ``input_shape``
    includes the batch dimension), ``forward`` and ``compute_output_shape``.
    """

    supports_masking = False  # True: the layer passes a mask through unchanged

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        # Recorded before __init__ runs, so get_config() needs no per-layer code.
        object.__setattr__(self, "_init_args", (args, kwargs))
        return self

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _LAYER_CLASSES[cls.__name__] = cls
        if "call" in cls.__dict__ and "forward" not in cls.__dict__:
            # A Keras-style layer: its call() is its forward(), with call's signature, so
            # callers that look for ``mask`` / ``training`` arguments see them.
            cls.forward = cls.__dict__["call"]
            _CALL_ALIASES.add(cls)
        if "build" in cls.__dict__ and cls.build_once is Layer.build_once:
            # Keras: layer.build(shape) called by hand leaves the layer built
            cls.build = _marking_build(cls.__dict__["build"])

    def __init__(self, name: Optional[str] = None, input_shape: Optional[Sequence] = None,
                 trainable: bool = True, dtype=None, activity_regularizer=None,
                 input_dim: Optional[int] = None, batch_input_shape: Optional[Sequence] = None,
                 autocast: bool = True):
        super().__init__()
        self.name = name or unique_name(_snake(type(self).__name__))
        self.built = False
        self.build_input_shape: Optional[Shape] = None
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        self.batch_input_shape: Optional[Shape] = (
            (None,) + tuple(input_shape) if input_shape is not None else
            tuple(batch_input_shape) if batch_input_shape is not None else None
        )
        self._trainable = bool(trainable)
        self._dtype = resolve_dtype(f"{type(self).__name__} {self.name}", dtype)
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self._weight_regularizers: dict = {}   # parameter name -> regularizer
        self._weight_constraints: dict = {}    # parameter name -> constraint
        self._call_losses: list = []           # activity penalties and add_loss() of the last call

    @property
    def dtype(self) -> Optional[torch.dtype]:
        """The weights' dtype (``dtype=`` given, else the first weight's, else None)."""
        ref = next(self.parameters(), None)
        return ref.dtype if ref is not None else self._dtype
    # ----------------------------------------------------------------- building
    def build(self, input_shape: Shape) -> None:
        """Create the parameters for inputs of ``input_shape`` (batch included)."""

    def build_once(self, input_shape: Shape) -> None:
        """Build unless already built; records the shape and applies ``trainable``."""
        if self.built:
            return
        self.build(tuple(input_shape))  # a subclass's build() marks it built (__init_subclass__)
        if not self.built:
            self._mark_built(input_shape)

    def _mark_built(self, input_shape: Any) -> None:
        self.built = True
        if self.build_input_shape is None and input_shape is not None:
            self.build_input_shape = tuple(input_shape)
        if self._dtype is not None:
            self.to(dtype=self._dtype)
        self.trainable = self._trainable

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Output shape for ``input_shape`` (batch first, None for unknown sizes)."""
        return tuple(input_shape)

    def compute_mask(self, inputs: Any, mask: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """Mask for the next layer: passed through when ``supports_masking``."""
        return mask if self.supports_masking else None

    def forward(self, *args, **kwargs):
        """Keras-style layers write ``call``; seqlab's own layers override ``forward``."""
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        """Keras's name of the computation: a seqlab layer's ``forward`` (the nearest one
        written as ``forward``, so ``super().call(x)`` in a subclass's ``call`` works)."""
        for klass in type(self).__mro__:
            if klass is Layer:
                break
            if "forward" in klass.__dict__ and klass not in _CALL_ALIASES:
                return klass.__dict__["forward"](self, *args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__}: a layer defines forward(...) "
                                  f"(PyTorch) or call(...) (Keras).")

    def __call__(self, *args, **kwargs):
        if not all(type(a) is torch.Tensor for a in args):  # fast path: plain tensors
            if symbolic.is_symbolic((args, kwargs)):  # Functional API: record a node
                return symbolic.symbolic_call(self, args, kwargs)
            args = tuple(self._from_numpy(a) for a in args)
        if not self.built:
            x = args[0] if args else next(iter(kwargs.values()))
            self._build_from_input(x)
        elif self._autocast_needed(args):
            args = tuple(_cast_float(a, self.dtype) for a in args)
        if self._call_losses:
            self._call_losses.clear()
        out = super().__call__(*args, **kwargs)
        if self.activity_regularizer is not None:
            for y in (out if isinstance(out, (list, tuple)) else [out]):
                if isinstance(y, torch.Tensor):  # Keras: divided by the batch size
                    self._call_losses.append(self.activity_regularizer(y) / max(len(y), 1)
                                             if y.dim() else self.activity_regularizer(y))
        return out

    def _from_numpy(self, x: Any) -> Any:
        """NumPy arrays become tensors (floats in the layer's dtype, as Keras casts)."""
        if isinstance(x, (np.ndarray, np.generic)):
            t = torch.as_tensor(np.asarray(x))
            return t.to(self.dtype or torch.get_default_dtype()) if t.is_floating_point() else t
        if isinstance(x, list) and x and all(isinstance(v, np.ndarray) for v in x):
            return [self._from_numpy(v) for v in x]
        return x

    def _autocast_needed(self, args: tuple) -> bool:
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            return False
        if x.dtype == torch.get_default_dtype() and self._dtype is None:
            return False  # the common case, decided without looking at the weights
        dtype = self.dtype
        return dtype is not None and dtype.is_floating_point and x.dtype != dtype

    def _build_from_input(self, x: Any) -> None:
        if isinstance(x, (tuple, list)):
            x = x[0]
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{self.name} ({type(self).__name__}): expected a torch.Tensor input, got "
                f"{type(x).__name__}. Convert it with torch.as_tensor(...) (NumPy arrays are "
                f"converted automatically)."
            )
        self.build_once((None,) + tuple(x.shape[1:]))
        # Parameters follow the input's device, and its float dtype (float64 gradcheck)
        # unless the layer was given dtype=.
        dtype = self._dtype or (x.dtype if x.is_floating_point() else None)
        self.to(device=x.device, dtype=dtype) if dtype else self.to(device=x.device)

    # ----------------------------------------------------------------- trainable
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for p in self.parameters():
            p.requires_grad_(self._trainable)

    # ----------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights as numpy arrays, in Keras's order and layout."""
        return [p.detach().cpu().numpy().copy() for p in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Load weights given in the order and layout of ``get_weights()``."""
        params = list(self.parameters())
        self._check_weights(weights, [tuple(p.shape) for p in params])
        with torch.no_grad():
            for p, w in zip(params, weights):
                p.copy_(torch.as_tensor(np.asarray(w), dtype=p.dtype))

    def _check_weights(self, weights: Sequence[np.ndarray], shapes: list[tuple]) -> None:
        if not self.built:
            raise RuntimeError(
                f"{self.name}: set_weights() before the layer is built. Call it on an "
                f"input first, or give the first layer input_shape=..."
            )
        got = [tuple(np.shape(w)) for w in weights]
        if got != shapes:
            raise ValueError(
                f"{self.name} ({type(self).__name__}): set_weights expected arrays of "
                f"shapes {shapes}, got {got}."
            )

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def weights(self) -> list:
        """Every weight, in ``get_weights()`` order (Keras's ``layer.weights``)."""
        params = list(self.parameters())
        extra = [t for t in self.non_trainable_weights if not any(t is p for p in params)]
        return params + extra

    @property
    def trainable_weights(self) -> list:
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list:
        return [p for p in self.parameters() if not p.requires_grad]

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-friendly dict (nested layers too)."""
        args, kwargs = self._init_args
        bound = inspect.signature(type(self).__init__).bind_partial(self, *args, **kwargs)
        config = {}
        for key, value in bound.arguments.items():
            if key == "self":
                continue
            param = inspect.signature(type(self).__init__).parameters[key]
            if param.kind == param.VAR_KEYWORD:
                config.update({k: serialize(v, self.name, k) for k, v in value.items()})
            elif param.kind == param.VAR_POSITIONAL:
                config[key] = serialize(list(value), self.name, key)
            else:
                config[key] = serialize(value, self.name, key)
        config["name"] = self.name
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        config = {k: deserialize(v) for k, v in config.items()}
        params = inspect.signature(cls.__init__).parameters
        var_pos = [k for k, p in params.items() if p.kind == p.VAR_POSITIONAL]
        args = config.pop(var_pos[0]) if var_pos and var_pos[0] in config else []
        return cls(*args, **config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _marking_build(build):
    """Wrap a subclass's ``build`` so that calling it marks the layer built."""
    def wrapper(self, input_shape=None, *args, **kwargs):
        result = build(self, input_shape, *args, **kwargs)
        if type(self).build is wrapper or not self.built:  # the outermost build finishes
            self._mark_built(input_shape)
        return result
    wrapper.__wrapped__ = build
    wrapper.__doc__ = build.__doc__
    wrapper.__name__ = "build"
    return wrapper


def _cast_float(x: Any, dtype: torch.dtype) -> Any:
    """``x`` in ``dtype`` when it is a float tensor of another dtype (its mask kept)."""
    if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dtype != dtype:
        return attach_mask(x.to(dtype), getattr(x, _MASK_ATTR, None))
    return x


def serialize(value: Any, layer: str = "?", arg: str = "?") -> Any:
    """JSON-friendly form of a constructor argument."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, KerasObject):
        return {"class_name": type(value).__name__, "config": serialize(value.get_config())}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [serialize(v, layer, arg) for v in value]
    if isinstance(value, dict):
        return {str(k): serialize(v, layer, arg) for k, v in value.items()}
    if isinstance(value, Layer):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    raise TypeError(
        f"{layer}: argument {arg}={value!r} cannot be saved as JSON. Pass activations, "
        f"initialisers and similar options by name (e.g. activation='relu')."
    )


def deserialize(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        option = lookup(value["class_name"]) if value["class_name"] not in _LAYER_CLASSES else None
        if option is not None:  # an initialiser, regularizer or constraint
            return option.from_config(value["config"])
        return get_layer_class(value["class_name"]).from_config(value["config"])
    if isinstance(value, list):
        return [deserialize(v) for v in value]
    return value
