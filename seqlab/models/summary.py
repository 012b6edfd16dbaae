"""``model.summary()``: Keras's table of layers, output shapes and parameter counts.

The layout is Keras 2's (the one printed in the course): three columns at 45% / 85% /
100% of 65 characters, counts per layer without separators, totals with thousands
separators. Columns widen when a name or shape is longer than its column.

    >>> from seqlab import Sequential, layers
    >>> from seqlab.layers.base import reset_name_counts
    >>> reset_name_counts()
    >>> model = Sequential([layers.Embedding(1000, 64), layers.Dense(10, activation="softmax")])
    >>> print(summary(model))
    Model: "sequential"
    _________________________________________________________________
    Layer (type)                 Output Shape              Param #
    =================================================================
    embedding (Embedding)        (None, None, 64)          64000
    _________________________________________________________________
    dense (Dense)                (None, None, 10)          650
    =================================================================
    Total params: 64,650
    Trainable params: 64,650
    Non-trainable params: 0
    _________________________________________________________________

A model written as a class lists its sub-layers in the order it creates them; the
layers kept in an ``nn.ModuleList`` (or ``nn.ModuleDict``) are listed one by one, each
with its own output shape, as Keras lists the layers of a Python list attribute. An
unknown output shape (a layer not built yet, or a plain torch module before the first
call) prints as ``?``.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from seqlab.layers.base import Layer

HEADERS = ("Layer (type)", "Output Shape", "Param #")
POSITIONS = (0.45, 0.85, 1.0)  # Keras 2's column stops for sequential-like models
CONTAINERS = (nn.ModuleList, nn.ModuleDict)  # hold layers, compute nothing themselves


def format_shape(shape: Any) -> str:
    """``(None, None, 64)`` as Keras prints it; ``?`` when unknown."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _rows(model: nn.Module) -> list[tuple[str, str, int]]:
    """(``name (Type)``, output shape, parameter count) for each top-level layer
    (the layers of a ModuleList one by one)."""
    if getattr(model, "builds_from_shape", False):  # a Sequential knows each output shape
        pairs = list(zip(model.layers, model._shapes))
    else:
        pairs = [(layer, _output_shape_of(layer)) for layer in _layers_of(model)]
    rows = []
    for layer, shape in pairs:
        name = getattr(layer, "name", None) or type(layer).__name__.lower()
        count = count_params(layer)
        rows.append((f"{name} ({type(layer).__name__})", format_shape(shape), count))
    return rows


def _layers_of(module: nn.Module) -> list[nn.Module]:
    """The children of ``module``, with the layers inside its containers in their place."""
    found = []
    for child in module.children():
        found.extend(_layers_of(child) if isinstance(child, CONTAINERS) else [child])
    return found


def count_params(module: nn.Module) -> int:
    """Keras's count: a seqlab layer's own ``count_params()`` (BatchNormalization adds its
    moving statistics), recursing into models and into plain torch modules (a task
    model's total is the sum of its rows); a torch leaf's parameters."""
    if isinstance(module, Layer) and not hasattr(module, "weight_layers"):
        return module.count_params()
    own = sum(p.numel() for p in module._parameters.values() if p is not None)
    if hasattr(module, "weight_layers"):  # a Model: its layers plus its own parameters
        return own + sum(count_params(m) for m in module.weight_layers())
    return own + sum(count_params(m) for m in module.children())


def _output_shape_of(layer: nn.Module) -> Any:
    if isinstance(layer, Layer) and layer.built and layer.build_input_shape is not None:
        try:
            return layer.compute_output_shape(layer.build_input_shape)
        except Exception:  # a layer that cannot say: print "?"
            return None
    return None


def summary(model: nn.Module, line_length: int = 65) -> str:
    """The summary table of ``model`` as a string (``Model.summary`` prints it)."""
    rows = _rows(model)
    stops = [int(line_length * p) for p in POSITIONS]
    widths = [stops[0], stops[1] - stops[0], stops[2] - stops[1]]
    for row in rows:  # widen a column rather than cut a name or shape
        for j in range(2):
            widths[j] = max(widths[j], len(str(row[j])) + 1)
    width = sum(widths)

    def line(fields) -> str:
        return "".join(str(f).ljust(w) for f, w in zip(fields, widths)).rstrip()

    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out = [f'Model: "{getattr(model, "name", type(model).__name__)}"', "_" * width,
           line(HEADERS), "=" * width]
    for i, row in enumerate(rows):
        out.append(line(row))
        out.append("=" * width if i == len(rows) - 1 else "_" * width)
    if not rows:
        out.append("=" * width)
    out += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}", "_" * width]
    return "\n".join(out)


__all__ = ["summary", "format_shape"]
