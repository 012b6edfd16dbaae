"""``summary()`` of a Functional model: Keras's table with a "Connected to" column.

Keras 2's layout for graphs (98 characters, column stops at 33%, 55%, 67%, 100%): each
layer call is a row; "Connected to" names the tensors it reads as
``layer[node_index][tensor_index]``.
"""
from __future__ import annotations

from seqlab.layers.symbolic import flatten
from seqlab.models.summary import count_params, format_shape

HEADERS = ("Layer (type)", "Output Shape", "Param #", "Connected to")
POSITIONS = (0.33, 0.55, 0.67, 1.0)


def functional_summary(model, line_length: int = 98) -> str:
    rows, seen = [], set()
    for node in model._nodes:
        layer = node.layer
        shapes = [t.shape for t in node.output_tensors]
        shape = format_shape(shapes[0] if len(shapes) == 1 else list(shapes))
        links = []
        for t in node.inbound:
            src, index, tensor = t._keras_history
            links.append(f"{src.name}[{index}][{tensor}]")
        count = count_params(layer) if id(layer) not in seen else 0
        seen.add(id(layer))
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, str(count),
                     ", ".join(links)))
    stops = [int(line_length * p) for p in POSITIONS]
    widths = [stops[0]] + [stops[i] - stops[i - 1] for i in range(1, 4)]
    for row in rows:
        for j in range(3):
            widths[j] = max(widths[j], len(row[j]) + 1)
    width = sum(widths)

    def line(fields) -> str:
        return "".join(str(f).ljust(w) for f, w in zip(fields, widths)).rstrip()

    total = count_params(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out = [f'Model: "{model.name}"', "_" * width, line(HEADERS), "=" * width]
    for i, row in enumerate(rows):
        out.append(line(row))
        out.append("=" * width if i == len(rows) - 1 else "_" * width)
    out += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}", "_" * width]
    return "\n".join(out)


__all__ = ["functional_summary"]
