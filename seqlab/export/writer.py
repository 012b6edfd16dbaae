"""Write the graph file(s) of an export folder and ``metadata.json`` for one model: the
two exporters, and ``export_model`` (``Model.export``). ``bundle.py`` adds a run's
``vocab.json`` and task metadata. An export folder holds the graph file(s), ``metadata.json`` (task, graphs with their
inputs and outputs, what a client does before and after) and ``vocab.json`` (the run's
tokenizers, class or tag names, scalers), all written atomically.

    onnx   torch.onnx.export(..., dynamo=False): the TorchScript-based exporter. It writes
           the recurrent layers as native ONNX LSTM/GRU/RNN nodes (stand_ins.py) with
           dynamic batch and time, in a fraction of a second. The dynamo exporter (torch
           2.13, needs onnxscript) lowers torch's fused RNN kernels but fixed T for
           SimpleRNN and took 7-14 s per small graph; it is not used.
    pt2    torch.export.export + torch.export.save: a zip archive (graph as JSON, weights as
           raw bytes; the example inputs, which it would pickle, are left out); recurrent layers become ``torch.scan`` loops. Load it with
           ``torch.export.load(path).module()`` (torch only, seqlab not needed).

Every graph takes a dynamic batch axis and a dynamic time axis.
"""
from __future__ import annotations

import inspect
import io
import json
import re
import warnings
from pathlib import Path
from typing import Optional, Sequence

import torch

from seqlab.export.graphs import Graph
from seqlab.export.stand_ins import ExportError, stand_ins
from seqlab.io import atomic_write_bytes
from seqlab.layers.base import Layer

FORMATS = ("onnx", "pt2")
OPSET = 17


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ExportError(f"export: format must be one of {', '.join(FORMATS)}, got "
                          f"{format!r}.")
    return format


def _spec(t: torch.Tensor, axes: dict) -> dict:
    shape = [axes.get(i, int(n)) for i, n in enumerate(t.shape)]
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": shape}


def _onnx_bytes(g: Graph) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # the exporter's deprecation notes
        torch.onnx.export(g.module, g.example, buf, dynamo=False, opset_version=OPSET,
                          input_names=g.inputs, output_names=g.outputs,
                          dynamic_axes={k: v for k, v in g.dynamic.items()})
    return buf.getvalue()


def _pt2_bytes(g: Graph) -> bytes:
    dyn = [{a: torch.export.Dim.DYNAMIC for a in g.dynamic.get(name, {})} for name in g.inputs]
    params = inspect.signature(g.module.forward).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):        # forward(token, *rest)
        k = sum(1 for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
        dyn = dyn[:k] + [tuple(dyn[k:])]
    dyn = tuple(dyn)
    example = tuple(t.contiguous() for t in g.example)
    ep = torch.export.export(g.module, example, dynamic_shapes=dyn)
    ep.example_inputs = None        # else saved with torch.save (a pickle) inside the zip
    buf = io.BytesIO()
    torch.export.save(ep, buf)
    return buf.getvalue()


def _layer_of_op(g: Graph, op: str):
    """The module of ``g`` whose traced code calls ``op`` (an ATen name), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(g.module, g.example, check_trace=False, strict=False)
    except Exception:  # naming the layer is a courtesy; the export error stands
        return None
    for node in traced.inlined_graph.nodes():
        kind = node.kind().split("::")[-1]
        if kind == op or kind.endswith("_" + op):
            path = node.scopeName().removeprefix("__module").lstrip(".")
            try:
                return g.module.get_submodule(path) if path else None
            except AttributeError:
                return None
    return None


def _layer_hint(err: Exception, format: str, g: Graph) -> str:
    """The exporter's complaint, the layer it concerns (when found) and the way out."""
    layer = None
    op = re.search(r"operator '(?:aten::)?(\w+)'", str(err))
    if op:
        layer = _layer_of_op(g, op.group(1))
    tb = err.__traceback__
    while layer is None and tb is not None:       # else the deepest seqlab layer raising
        obj = tb.tb_frame.f_locals.get("self")
        if isinstance(obj, Layer):
            layer = obj
        tb = tb.tb_next
    where = f" in layer {getattr(layer, 'name', '')} ({type(layer).__name__})" if layer else ""
    other = "pt2" if format == "onnx" else "onnx"
    return (f"the {format} exporter cannot express this model{where}: "
            f"{str(err).splitlines()[0][:300]}. Try --format {other}, or replace that layer "
            f"with a built-in one.")


def write_graphs(graphs: Sequence[Graph], model: torch.nn.Module, format: str,
                 out: Path, dynamic_time: bool = True) -> dict:
    """Export each graph to ``out`` / NAME.onnx|pt2; returns their metadata."""
    out.mkdir(parents=True, exist_ok=True)
    meta = {}
    was_training = model.training
    model.eval()
    try:
        with stand_ins(model, format, dynamic_time), torch.no_grad():
            for g in graphs:
                outputs = g.module(*g.example)
                outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
                try:
                    data = _onnx_bytes(g) if format == "onnx" else _pt2_bytes(g)
                except ExportError:
                    raise
                except Exception as err:  # the exporters raise many kinds
                    raise ExportError(_layer_hint(err, format, g)) from err
                name = f"{g.name}.{format}"
                atomic_write_bytes(out / name, data)
                meta[g.name] = {
                    "file": name,
                    "inputs": [dict(name=n, **_spec(t, g.dynamic.get(n, {})))
                               for n, t in zip(g.inputs, g.example)],
                    "outputs": [dict(name=n, **_spec(t, g.dynamic.get(n, {})))
                                for n, t in zip(g.outputs, outputs)]}
    finally:
        model.train(was_training)
    return meta


def _write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, ensure_ascii=False).encode("utf-8"))


def export_model(model: torch.nn.Module, path, format: str = "onnx",
                 example: Optional[Sequence[torch.Tensor]] = None,
                 dynamic_time: bool = True) -> Path:
    """Export any seqlab model's ``forward`` (``Model.export``): ``path`` is a folder that
    receives ``model.onnx`` / ``model.pt2`` and ``metadata.json``.

    Args:
        example: the inputs of one call (a batch of 2 or more; their batch axis and, with
            ``dynamic_time``, the time axis of (B, T, D) values and (B, T) ids are dynamic).
        dynamic_time: False for a model built for one sequence length (an autoencoder
            with ``RepeatVector(T)``).
    """
    _check_format(format)
    if example is None:
        raise ExportError(f"{type(model).__name__}.export: example is required: the "
                          f"inputs of one call, e.g. example=(torch.zeros(2, 10, 1),).")
    example = tuple(example) if isinstance(example, (list, tuple)) else (example,)
    names = ["x"] if len(example) == 1 else [f"x{i}" for i in range(len(example))]
    def has_time(t: torch.Tensor) -> bool:                   # (B, T, D) values, (B, T) ids
        return t.dim() >= 3 or (t.dim() == 2 and not t.is_floating_point())
    dynamic = {n: ({0: "batch", 1: "time"} if dynamic_time and has_time(t) else {0: "batch"})
               for n, t in zip(names, example)}
    with torch.no_grad():
        model.eval()
        outputs = model(*example)
    n_out = len(outputs) if isinstance(outputs, (tuple, list)) else 1
    out_names = ["y"] if n_out == 1 else [f"y{i}" for i in range(n_out)]
    for n in out_names:
        dynamic[n] = {0: "batch"}
    graph = Graph("model", model, example, names, out_names, dynamic)
    out = Path(path)
    meta = {"task": "model", "format": format, "class": type(model).__name__,
            "graphs": write_graphs([graph], model, format, out, dynamic_time)}
    _write_json(out / "metadata.json", meta)
    return out


__all__ = ["FORMATS", "export_model", "write_graphs"]
