"""Symbolic tensors and the graph they record: the ground of Keras's Functional API.

``Input(shape)`` returns a ``KerasTensor``: shape (batch first, None where unknown),
dtype and name, no values. Calling a layer on KerasTensors (``LSTM(8)(x)``, also inside
lists and keyword arguments such as ``initial_state=[h, c]``) does not compute: it
records a ``Node`` -- the layer, the call's arguments with the KerasTensors in place, and
the KerasTensors it returns -- and returns those. ``seqlab.Model(inputs, outputs)`` then
walks the nodes back from the outputs (``seqlab.models.functional``).

The output shapes come from running the layer once on small stand-in tensors (the
layer builds then, as on a first real call): sizes the input leaves open (None) are
tried at two values, and an output size that follows them is None too. A KerasTensor
also says whether a padding mask travels with it (``Embedding(mask_zero=True)``).

    >>> from seqlab.layers import Dense, LSTM
    >>> from seqlab.layers.input import Input
    >>> x = Input((None, 3))
    >>> seq, h, c = LSTM(4, return_sequences=True, return_state=True)(x)
    >>> seq.shape, h.shape, Dense(2)(h).shape
    ((None, None, 4), (None, 4), (None, 2))
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import torch

from seqlab.layers.masking import _MASK_ATTR, accepts_mask, get_mask

TRIAL_SIZES = (3, 4)  # stand-in sizes of an unknown (None) axis, two to tell fixed from free
TRIAL_BATCH = 2


_COUNT = [0]


def _tensor_name() -> str:
    """Keras's automatic names: keras_tensor, keras_tensor_1, ..."""
    n, _COUNT[0] = _COUNT[0], _COUNT[0] + 1
    return "keras_tensor" if n == 0 else f"keras_tensor_{n}"


class KerasTensor:
    """A symbolic tensor: ``shape`` (batch first), ``dtype``, ``name``; no values.

    ``_keras_history`` is ``(layer, node_index, tensor_index)``: the node of ``layer``
    that produced it (an ``Input``'s is its ``InputLayer``'s node 0)."""

    is_keras_tensor = True  # recognised by this flag (a module may be imported twice)

    def __init__(self, shape: Sequence[Optional[int]], dtype: str = "float32",
                 name: Optional[str] = None, sparse: bool = False, masked: bool = False):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = str(dtype).replace("torch.", "")
        self.name = name or _tensor_name()
        self.sparse = bool(sparse)
        self.masked = bool(masked)  # a padding mask travels with it
        self._keras_history: Optional[tuple] = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __len__(self):
        raise TypeError(f"{self.name} is symbolic (a KerasTensor of shape {self.shape}): "
                        f"it has no length. Unpack a layer's several outputs from the layer "
                        f"call itself: out, h, c = LSTM(..., return_state=True)(x).")


class Node:
    """One call of ``layer`` in a graph: its arguments (KerasTensors in place) and outputs."""

    def __init__(self, layer, args: tuple, kwargs: dict, outputs: Any):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    @property
    def inbound(self) -> list:
        return flatten((self.args, self.kwargs))

    @property
    def output_tensors(self) -> list:
        return flatten(self.outputs)


def is_keras_tensor(value: Any) -> bool:
    return getattr(type(value), "is_keras_tensor", False) is True


def flatten(structure: Any) -> list:
    """The KerasTensors (or tensors) inside nested lists, tuples and dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [t for s in structure for t in flatten(s)]
    if isinstance(structure, dict):
        return [t for s in structure.values() for t in flatten(s)]
    return [structure] if (is_keras_tensor(structure) or isinstance(structure, torch.Tensor)) else []


def map_structure(fn: Callable, structure: Any) -> Any:
    """``structure`` with every leaf replaced by ``fn(leaf)`` (lists, tuples, dicts)."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_symbolic(structure: Any) -> bool:
    return any(is_keras_tensor(t) for t in flatten(structure))


def _stand_in(kt: KerasTensor, free: int) -> torch.Tensor:
    shape = [TRIAL_BATCH if i == 0 and s is None else (free if s is None else s)
             for i, s in enumerate(kt.shape)]
    dtype = getattr(torch, kt.dtype, None)
    if dtype is None or not (dtype.is_floating_point or dtype == torch.bool):
        t = torch.ones(shape, dtype=torch.int64)  # token ids: 1 is valid for any vocabulary
    else:
        t = torch.rand(shape, generator=torch.Generator().manual_seed(0)).to(dtype)
    if kt.masked and t.dim() >= 2:
        setattr(t, _MASK_ATTR, torch.ones(t.shape[:2], dtype=torch.bool))
    return t


def _out_mask(layer, inputs: Any, out: torch.Tensor, first_in: Any) -> Optional[torch.Tensor]:
    """The mask the next layer gets: attached by the layer, or its compute_mask()."""
    mask = get_mask(out)
    if mask is None and hasattr(layer, "compute_mask"):
        try:  # a merge or attention layer reads the masks of its list of inputs
            mask = layer.compute_mask(inputs, get_mask(first_in)
                                      if isinstance(first_in, torch.Tensor) else None)
        except Exception:  # a layer that cannot say: no mask
            mask = None
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None
    if (mask is None or out.dim() < 2 or not isinstance(mask, torch.Tensor)
            or tuple(out.shape[:2]) != tuple(mask.shape)):
        return None
    return mask


def run_node_layer(layer, args: tuple, kwargs: dict) -> Any:
    """Call ``layer`` on real tensors as a graph node does: the first input's padding mask
    goes in as ``mask=`` when the layer takes one; the output carries the next mask."""
    first = args[0] if args else None
    mask = get_mask(first) if isinstance(first, torch.Tensor) else None
    if mask is not None and "mask" not in kwargs and accepts_mask(layer):
        kwargs = dict(kwargs, mask=mask)
    out = layer(*args, **kwargs)
    head = out[0] if isinstance(out, (list, tuple)) and out else out
    if isinstance(head, torch.Tensor):
        new = _out_mask(layer, args[0] if len(args) == 1 else list(args), head, first)
        if new is not None and get_mask(head) is None:
            setattr(head, _MASK_ATTR, new)
    return out


def symbolic_call(layer, args: tuple, kwargs: dict) -> Any:
    """Record ``layer(*args, **kwargs)`` on KerasTensors as a node; return its outputs
    (KerasTensors, in the structure the layer returns)."""
    modules = list(layer.modules())
    was_training = [m.training for m in modules]
    layer.eval()  # stand-in data must not move BatchNormalization's statistics
    trials = []
    try:
        with torch.no_grad():
            for free in TRIAL_SIZES:
                real = lambda v, f=free: _stand_in(v, f) if is_keras_tensor(v) else v
                a, k = map_structure(real, args), map_structure(real, kwargs)
                trials.append(run_node_layer(layer, a, k))
    except Exception as exc:
        shapes = [t.shape for t in flatten((args, kwargs))]
        raise type(exc)(f"{getattr(layer, 'name', type(layer).__name__)} "
                        f"({type(layer).__name__}) called on symbolic inputs of shapes "
                        f"{shapes}: {exc}") from exc
    finally:
        for m, mode in zip(modules, was_training):
            m.training = mode
        for m in modules:
            if getattr(m, "_call_losses", None):
                m._call_losses.clear()
    node_index = len(getattr(layer, "_inbound_nodes", []))
    counter = iter(range(10**6))

    def symbolic(pair):
        t1, t2 = pair
        shape = tuple(None if i == 0 or a != b else a
                      for i, (a, b) in enumerate(zip(t1.shape, t2.shape)))
        kt = KerasTensor(shape, str(t1.dtype), masked=get_mask(t1) is not None)
        kt._keras_history = (layer, node_index, next(counter))
        return kt

    outputs = _zip_map(symbolic, trials[0], trials[1])
    node = Node(layer, args, kwargs, outputs)
    if not hasattr(layer, "_inbound_nodes"):
        object.__setattr__(layer, "_inbound_nodes", [])
    layer._inbound_nodes.append(node)
    return outputs


def _zip_map(fn, a, b):
    if isinstance(a, (list, tuple)):
        return type(a)(_zip_map(fn, x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _zip_map(fn, a[k], b[k]) for k in a}
    if isinstance(a, torch.Tensor):
        return fn((a, b))
    raise TypeError(f"a layer called on symbolic inputs returned {type(a).__name__}; "
                    f"the Functional API needs tensors (or lists/tuples of them).")


__all__ = ["KerasTensor", "Node", "symbolic_call", "run_node_layer", "flatten",
           "map_structure", "is_symbolic", "is_keras_tensor"]
