"""The Functional API: ``Model(inputs, outputs)`` over a graph of layer calls.

    inputs = Input((None,), dtype="int64")
    x = Embedding(1000, 32, mask_zero=True)(inputs)     # the mask travels with x
    seq, h, c = LSTM(32, return_sequences=True, return_state=True)(x)
    outputs = Dense(1, activation="sigmoid")(h)
    model = Model(inputs, outputs)                     # a Functional (a Model)

Calling a layer on ``KerasTensor`` s records a node (``seqlab.layers.symbolic``); the
model keeps the nodes that lead from its inputs to its outputs, in an order where each
node's inputs are ready, and runs them on real tensors in ``forward``. Anything Keras
allows is a graph here: several inputs and outputs, one layer object called twice (its
weights shared), layers returning several tensors (``return_state=True``), keyword
arguments holding tensors (``initial_state=[h, c]``), merge layers (``Concatenate``...).
A padding mask follows the first input of each layer call.

Training is ``Model.fit``'s one loop: ``x`` a list (or dict by input name) of arrays for
several inputs, ``y`` a list (or dict by output layer name) for several outputs, with a
loss per output (``loss=[...]`` or a dict; one loss applies to every output) and
``loss_weights``. ``save`` / ``seqlab.load_model`` store the graph as JSON: the layers
with their configs, and per node the layer's name and its arguments, where a tensor is
``[layer_name, node_index, tensor_index]`` (node_index counts that layer's calls inside
this model).

    >>> import numpy as np
    >>> from seqlab import layers
    >>> from seqlab.layers.input import Input
    >>> a, b = Input((3,), name="a"), Input((2,), name="b")
    >>> shared = layers.Dense(4, activation="relu")
    >>> merged = layers.Concatenate()([shared(a), layers.Dense(4)(b)])
    >>> model = Functional([a, b], layers.Dense(1)(merged))
    >>> model.predict([np.ones((5, 3)), np.ones((5, 2))]).shape
    (5, 1)
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from seqlab import losses as losses_mod
from seqlab import metrics as metrics_mod
from seqlab.layers.base import deserialize, serialize
from seqlab.layers.symbolic import (flatten, is_keras_tensor, map_structure,
                                    run_node_layer)
from seqlab.models.compiled import LOGIT_FN, reduce_terms
from seqlab.models.model import Model


def _as_list(x: Any) -> list:
    if isinstance(x, dict):
        return list(x.values())
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Functional(Model):
    """A model defined by its symbolic ``inputs`` and ``outputs`` (see the module doc).

    Args:
        inputs: a KerasTensor from ``Input(...)``, or a list / dict of them.
        outputs: a KerasTensor reached from the inputs by layer calls, or a list / dict.
        name: shown by ``summary()``.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: Optional[str] = None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs, self.outputs = _as_list(inputs), _as_list(outputs)
        for arg, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            bad = [t for t in tensors if not is_keras_tensor(t)]
            if bad or not tensors:
                raise TypeError(f"Model(inputs, outputs): {arg} must be KerasTensors (from "
                                f"keras.Input(...) and layer calls on them), got "
                                f"{[type(t).__name__ for t in bad] or 'nothing'}.")
        self._nodes = self._trace()
        layers, seen = [], set()
        for node in self._nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        self._layers = nn.ModuleList(layers)
        self.built = True
        self.output_names = [t._keras_history[0].name for t in self.outputs]
        self.input_names = [t._keras_history[0].name for t in self.inputs]
        self.output_losses: list = []
        self.loss_weights: Optional[list] = None
        self.output_metrics: list = []

    # ------------------------------------------------------------------ graph
    def _trace(self) -> list:
        """The nodes from the inputs to the outputs, each after the nodes it reads."""
        order, state = [], {}
        input_ids = {id(t) for t in self.inputs}

        def visit(kt):
            layer, index, _ = kt._keras_history
            node = layer._inbound_nodes[index]
            key = id(node)
            if state.get(key) == "done":
                return
            if state.get(key) == "visiting":
                raise ValueError(f"{self.name}: the graph has a cycle at {layer.name}.")
            state[key] = "visiting"
            if id(kt) not in input_ids:
                if not node.inbound and type(layer).__name__ == "InputLayer":
                    raise ValueError(f"Model(inputs, outputs): output {kt.name} needs input "
                                     f"{layer.name}, which is not among the inputs "
                                     f"{[t.name for t in self.inputs]}. Add it to inputs.")
                for parent in node.inbound:
                    visit(parent)
            state[key] = "done"
            order.append(node)

        for kt in self.outputs:
            visit(kt)
        for kt in self.inputs:  # an input no output uses still belongs to the model
            visit(kt)
        return order

    @property
    def layers(self) -> list:
        return list(self._layers)

    def weight_layers(self) -> list:
        return list(self._layers)

    def _run(self, x: Any, undo: Optional[str] = None) -> tuple[list, list]:
        """Every output (list) for the real inputs ``x``; with ``undo``, an output layer
        whose activation is ``undo`` returns its logits (flags in the second list)."""
        values = self._feed(x)
        out_nodes = {id(t._keras_history[0]._inbound_nodes[t._keras_history[1]]): t
                     for t in self.outputs}
        logits = {}
        for node in self._nodes:
            if type(node.layer).__name__ == "InputLayer":
                continue
            get = (lambda v: values[id(v)] if is_keras_tensor(v) else v)
            args, kwargs = map_structure(get, node.args), map_structure(get, node.kwargs)
            owner = node.layer if id(node) in out_nodes and undo else None
            if owner is not None and _activation_name(owner) == undo:
                from seqlab.models.sequential import _linear_activation
                with _linear_activation(owner):
                    out = run_node_layer(node.layer, args, kwargs)
                logits[id(out_nodes[id(node)])] = True
            else:
                out = run_node_layer(node.layer, args, kwargs)
            for kt, value in zip(node.output_tensors, flatten(out)):
                values[id(kt)] = value
        return ([values[id(t)] for t in self.outputs],
                [logits.get(id(t), False) for t in self.outputs])

    def _feed(self, x: Any) -> dict:
        if isinstance(x, dict):
            missing = [n for n in self.input_names if n not in x]
            if missing:
                raise ValueError(f"{self.name}: inputs {missing} are missing from the dict "
                                 f"(keys {sorted(x)}); give one array per input name.")
            x = [x[n] for n in self.input_names]
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(xs) != len(self.inputs):
            raise ValueError(f"{self.name}: expected {len(self.inputs)} inputs "
                             f"{self.input_names}, got {len(xs)}. Pass a list (or a dict by "
                             f"input name) with one array per input.")
        return {id(t): v for t, v in zip(self.inputs, xs)}

    def _pack(self, outs: list) -> Any:
        if isinstance(self._outputs_struct, dict):
            return dict(zip(self._outputs_struct, outs))
        return outs if isinstance(self._outputs_struct, (list, tuple)) else outs[0]

    def forward(self, *args, mask: Optional[torch.Tensor] = None):
        x = args[0] if len(args) == 1 else list(args)
        if mask is not None and isinstance(x, torch.Tensor):
            from seqlab.layers.base import attach_mask
            attach_mask(x, mask)
        return self._pack(self._run(x)[0])

    def outputs_for_loss(self, x, mask=None, undo: Optional[str] = None):
        if mask is not None and isinstance(x, torch.Tensor):
            from seqlab.layers.base import attach_mask
            attach_mask(x, mask)
        outs, flags = self._run(x, None if self.from_logits else undo)
        if self.from_logits:
            flags = [undo is not None] * len(outs)
        if len(outs) == 1:
            return outs[0], flags[0]
        return outs, flags

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # ------------------------------------------------------------------ compile, loss
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: Optional[Sequence[Any]] = None, loss_weights: Any = None, **kwargs):
        """As ``Model.compile``; with several outputs ``loss`` may be a list or a dict by
        output name (one loss applies to every output) and ``loss_weights`` a list or
        dict (default 1 each); ``metrics`` apply to every output."""
        n = len(self.outputs)
        per_output = isinstance(loss, (list, tuple, dict))
        if isinstance(loss, dict):
            unknown = set(loss) - set(self.output_names)
            if unknown:
                raise ValueError(f"compile(): loss names {sorted(unknown)} are not outputs "
                                 f"of {self.name}; outputs: {self.output_names}.")
            loss = [loss.get(name) for name in self.output_names]
        losses = list(loss) if per_output else [loss] * n
        if len(losses) != n:
            raise ValueError(f"compile(): {self.name} has {n} outputs {self.output_names} "
                             f"but loss has {len(losses)} entries; give one per output.")
        super().compile(optimizer, loss=losses[0], metrics=metrics, **kwargs)
        self.output_losses = [None if l is None else losses_mod.get(l) for l in losses]
        if isinstance(loss_weights, dict):
            loss_weights = [loss_weights.get(name, 1.0) for name in self.output_names]
        if loss_weights is not None and len(loss_weights) != n:
            raise ValueError(f"compile(): loss_weights has {len(loss_weights)} entries for "
                             f"{n} outputs {self.output_names}.")
        self.loss_weights = None if loss_weights is None else [float(w) for w in loss_weights]
        metrics = [metrics] if isinstance(metrics, str) or callable(metrics) else (metrics or [])
        self.output_metrics = [[metrics_mod.resolve(m, l) for m in metrics] for l in losses]
        if self._compile_config is not None and self.loss_weights is not None:
            self._compile_config["loss_weights"] = self.loss_weights
        if n > 1 or self.loss_weights is not None:
            self._micro_rows = 0  # several outputs: whole batches
            if self._compile_config is not None:
                names = [losses_mod.name_of(l) for l in losses]
                if all(names):
                    self._compile_config["loss"] = names if per_output else names[0]
                else:
                    self._compile_config = None

    def compute_loss(self, batch):
        if len(self.outputs) == 1 and self.loss_weights is None:
            return super().compute_loss(batch)
        undo = {losses_mod.LOGIT_ACTIVATION.get(l) for l in self.output_losses} - {None}
        outs, flags = self.outputs_for_loss(batch.x, batch.mask,
                                            undo.pop() if len(undo) == 1 else None)
        ys = _as_list(batch.y) if isinstance(batch.y, (list, tuple, dict)) else [batch.y]
        if isinstance(batch.y, dict):
            ys = [batch.y[name] for name in self.output_names]
        weights = self.loss_weights or [1.0] * len(outs)
        total, count, logs = 0.0, None, {}
        for i, (out, y, loss, w) in enumerate(zip(outs, ys, self.output_losses, weights)):
            if loss is None:
                continue
            act = losses_mod.LOGIT_ACTIVATION.get(loss)
            if loss in losses_mod.LOSSES.values():
                per = loss(out, y, from_logits=flags[i])
            else:
                per = loss(LOGIT_FN[act](out) if flags[i] else out, y)
            s, c = reduce_terms(per, None)
            mean = s / c.clamp_min(1)
            rows = torch.as_tensor(float(len(y)), device=mean.device)
            total = total + w * mean * rows  # the batch's weighted mean, times its rows
            count = rows
            name = self.output_names[i]
            logs[f"{name}_loss"] = (mean.detach() * rows, rows)
            with torch.no_grad():
                probs = (LOGIT_FN[act](out.detach()) if flags[i] else out.detach())
                for metric in self.output_metrics[i]:
                    if metric.fn is None:
                        metric.fn = metrics_mod.accuracy_for_shapes(probs, y)
                    logs[f"{name}_{metric.name}"] = reduce_terms(metric.fn(probs, y), None)
        return total, count, logs

    compute_loss.is_compiled_loss = True  # the compiled losses: penalties are added

    # ------------------------------------------------------------------ training API
    def _several(self, x, names):
        from seqlab.models.adapters import Several
        if isinstance(x, dict):
            return Several([x[n] for n in names])
        if isinstance(x, (list, tuple)) and len(names) > 1:
            return Several(list(x))
        return x

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        if validation_data is not None and isinstance(validation_data, (tuple, list)) \
                and len(validation_data) == 2:
            validation_data = (self._several(validation_data[0], self.input_names),
                               self._several(validation_data[1], self.output_names))
        return super().fit(self._several(x, self.input_names),
                           self._several(y, self.output_names), *args,
                           validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, return_dict: bool = False, **kwargs):
        """As ``Model.evaluate``; with several outputs the list is ``[loss, then each
        output's loss and metrics]`` (the order of ``return_dict=True``'s keys)."""
        logs = super().evaluate(self._several(x, self.input_names),
                                self._several(y, self.output_names), *args,
                                return_dict=True, **kwargs)
        if return_dict:
            return logs
        if len(self.outputs) == 1 and self.loss_weights is None:
            values = [logs["loss"]] + [logs[m.name] for m in self.compiled_metrics]
        else:
            values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int = 32, verbose: Any = 0, device: Any = None):
        """The outputs for ``x`` as numpy arrays (a list for several outputs)."""
        x = self._several(x, self.input_names)
        if len(self.outputs) == 1:
            return super().predict(x, batch_size=batch_size, verbose=verbose, device=device)
        from seqlab.models.adapters import make_data
        from seqlab.models.training import float_dtype_of, resolve_device
        data = make_data(x, None, float_dtype_of(self), "predict", need_y=False)
        dev = resolve_device(device, self)
        was_training = self.training
        self.eval()
        pieces = [[] for _ in self.outputs]
        with torch.inference_mode():
            for batch in data.batches(batch_size):
                outs = self._run(batch.to(dev).x)[0]
                for i, o in enumerate(outs):
                    pieces[i].append(o.cpu().numpy())
        self.train(was_training)
        return [np.concatenate(p, axis=0) for p in pieces]

    def summary(self, print_fn=print, line_length: int = 98):
        """Keras's table with a "Connected to" column (layer[node][tensor] per input)."""
        from seqlab.models.functional_summary import functional_summary
        text = functional_summary(self, line_length)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    # ------------------------------------------------------------------ config
    def _local_index(self) -> dict:
        """id(node) -> its index among this model's calls of the same layer."""
        counts, local = {}, {}
        for node in self._nodes:
            k = counts.get(id(node.layer), 0)
            local[id(node)] = k
            counts[id(node.layer)] = k + 1
        return local

    def _ref(self, kt, local: dict) -> list:
        layer, index, tensor = kt._keras_history
        return [layer.name, local[id(layer._inbound_nodes[index])], tensor]

    def get_config(self) -> dict:
        local = self._local_index()
        names = [l.name for l in self._layers]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: two layers share a name ({names}); give each "
                             f"layer its own name= to save the model.")

        def encode(v):
            return {"__tensor__": self._ref(v, local)} if is_keras_tensor(v) else \
                serialize(v, self.name, "call argument")

        nodes = [{"layer": n.layer.name, "args": map_structure(encode, list(n.args)),
                  "kwargs": map_structure(encode, dict(n.kwargs))}
                 for n in self._nodes if type(n.layer).__name__ != "InputLayer"]
        pack = (lambda s, f: {k: f(v) for k, v in s.items()} if isinstance(s, dict)
                else [f(v) for v in s] if isinstance(s, (list, tuple)) else f(s))
        return {"name": self.name,
                "layers": [serialize(l, self.name, "layers") for l in self._layers],
                "nodes": nodes,
                "inputs": pack(self._inputs_struct, lambda t: self._ref(t, local)),
                "outputs": pack(self._outputs_struct, lambda t: self._ref(t, local))}

    @classmethod
    def from_config(cls, config: dict) -> "Functional":
        layers = {c["config"]["name"]: deserialize(c) for c in config["layers"]}
        made: dict = {}  # layer name -> outputs of each of its calls here
        for layer in layers.values():
            if type(layer).__name__ == "InputLayer":
                made[layer.name] = [layer.output]

        def find(ref):
            name, index, tensor = ref
            return flatten(made[name][index])[tensor]

        def decode(v):
            if isinstance(v, dict) and set(v) == {"__tensor__"}:
                return find(v["__tensor__"])
            if isinstance(v, dict):
                return {k: decode(x) for k, x in v.items()}
            if isinstance(v, list):
                return [decode(x) for x in v]
            return v

        for node in config["nodes"]:
            layer = layers[node["layer"]]
            out = layer(*decode(node["args"]), **decode(node["kwargs"]))
            made.setdefault(layer.name, []).append(out)
        unpack = (lambda s: {k: find(v) for k, v in s.items()} if isinstance(s, dict)
                  else find(s) if s and not isinstance(s[0], list) else [find(v) for v in s])
        return cls(unpack(config["inputs"]), unpack(config["outputs"]), name=config["name"])


def _activation_name(layer) -> Optional[str]:
    from seqlab import activations
    act = getattr(layer, "activation", None)
    return activations.name_of(act) if act is not None else None


Model._graph_class = Functional  # Model(inputs, outputs) builds one

__all__ = ["Functional"]
