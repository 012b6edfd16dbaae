"""`Model`: an `nn.Module` with Keras's training API (compile / fit / evaluate / predict).

Subclass it PyTorch-style, declare layers in ``__init__`` and write ``forward``; or use
``Sequential``. Either way you get ``compile``, ``fit``, ``evaluate``, ``predict``,
``summary``, ``save``, ``get_weights``/``set_weights``:

    >>> import numpy as np
    >>> from seqlab import layers
    >>> class TwoLayers(Model):
    ...     def __init__(self, hidden=8):
    ...         super().__init__()
    ...         self.hidden = layers.Dense(hidden, activation="relu")
    ...         self.out = layers.Dense(1, activation="sigmoid")
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x))
    >>> model = TwoLayers()
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    >>> x = np.random.rand(64, 3).astype("float32"); y = (x.sum(1) > 1.5).astype("float32")
    >>> history = model.fit(x, y, epochs=2, verbose=0, seed=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    >>> model.predict(x[:5]).shape
    (5, 1)

A ``forward(self, x, mask=None)`` receives the (B, T) padding mask when ``fit`` pads
variable-length sequences (otherwise the mask is attached to ``x``: read it with
``seqlab.layers.base.get_mask(x)``). The training loop itself lives in
``seqlab/models/training.py``.
"""
from __future__ import annotations

import inspect
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from seqlab import losses as losses_mod
from seqlab import metrics as metrics_mod
from seqlab import optimizers as optimizers_mod
from seqlab.layers.base import Layer, accepts_mask, call_with_mask, get_mask  # noqa: F401
from seqlab.models.compiled import compiled_loss


class Model(Layer):
    """A trainable model: an ``nn.Module`` plus Keras's ``compile``/``fit``/... API.

    Args:
        name: shown by ``summary()``; automatic by default.

    Attributes after ``compile``: ``optimizer`` (the torch optimizer, created on the
    first ``fit`` once the parameters exist), ``loss``, ``compiled_metrics``.
    ``history`` holds the ``History`` of the last ``fit``; a callback may set
    ``model.stop_training = True`` to end training after the current epoch.
    """

    _graph_class: type = None  # the class of Model(inputs, outputs)

    def __new__(cls, *args, **kwargs):
        # Keras's Functional API: Model(inputs, outputs) builds a graph model
        if cls is Model and (("inputs" in kwargs and "outputs" in kwargs) or len(args) >= 2
                             or (args and "outputs" in kwargs)):
            graph = Model._graph_class  # Functional (seqlab.models.functional sets it)
            return graph.__new__(graph, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, name: Optional[str] = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self._optimizer_spec = None
        self.loss = None
        self.compiled_metrics: list[metrics_mod.Metric] = []
        self._compile_config: Optional[dict] = None
        self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self._compiled = False
        self.from_logits = False
        self.stop_training = False
        self.history = None

    # ------------------------------------------------------------------ building
    def build_once(self, input_shape) -> None:
        # Unlike a layer, a model must not reset its sub-layers' ``trainable`` flags
        # when it builds (a frozen Embedding stays frozen).
        if self.built:
            return
        self.build(tuple(input_shape))
        self.built = True
        self.build_input_shape = tuple(input_shape)

    @Layer.trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze (True) every layer of the model, as Keras does."""
        for module in self.modules():
            if module is not self and isinstance(module, Layer):
                module.trainable = value
        Layer.trainable.fset(self, value)  # the flag and every parameter's requires_grad

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: Optional[Sequence[Any]] = None, clipnorm: Optional[float] = None,
                clipvalue: Optional[float] = None, from_logits: bool = False,
                global_clipnorm: Optional[float] = None) -> None:
        """Choose the optimizer, loss and metrics used by ``fit`` and ``evaluate``.

        Args:
            optimizer: "sgd", "adam", "adagrad", "rmsprop" (Keras defaults, see
                ``seqlab.optimizers``), ``seqlab.optimizers.Adam(learning_rate=...)``, a
                ``torch.optim`` class, or a torch optimizer built on ``model.parameters()``.
            loss: "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
                "sparse_categorical_crossentropy", or a callable ``loss(y_pred, y_true)``.
                When the model ends in a sigmoid/softmax ``Dense`` or ``Activation``, the
                cross-entropies are computed from its logits (numerically stable).
                None for a model that says its own loss (overrides ``compute_loss``).
            metrics: e.g. ``["accuracy"]`` (resolved to binary/categorical/sparse from the
                loss and the shapes), "mae", "mse", or callables.
            clipnorm: clip each parameter's gradient to this L2 norm (Keras semantics).
            global_clipnorm: clip the gradients so that their norm taken all together
                (one vector of every parameter's gradient) is at most this.
            clipvalue: clip each gradient element to [-clipvalue, clipvalue].
            from_logits: the model's outputs are raw scores (no final sigmoid/softmax).
        """
        own_loss = type(self).compute_loss is not Model.compute_loss
        if loss is None and not own_loss:
            raise ValueError("compile(): loss is required, e.g. loss='binary_crossentropy' "
                             "(only a model that overrides compute_loss may leave it out).")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value is not None and (isinstance(value, bool)
                                      or not (isinstance(value, (int, float)) and value > 0)):
                raise ValueError(f"compile(): {arg} must be a positive number, got {value!r}.")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"compile(): clipnorm={clipnorm} (each parameter) and "
                             f"global_clipnorm={global_clipnorm} (all together) were both "
                             f"given; choose one, as Keras requires.")
        self._optimizer_spec = optimizers_mod.get(optimizer)
        self.optimizer = (self._optimizer_spec
                          if isinstance(self._optimizer_spec, torch.optim.Optimizer) else None)
        self.loss = None if loss is None else losses_mod.get(loss)
        self._compiled = True
        self._micro_rows = None  # fit() decides again whether batches may be sliced
        metrics = [metrics] if isinstance(metrics, str) or callable(metrics) else (metrics or [])
        self.compiled_metrics = [metrics_mod.resolve(m, loss) for m in metrics]
        self.clipnorm, self.clipvalue, self.from_logits = clipnorm, clipvalue, bool(from_logits)
        self.global_clipnorm = global_clipnorm
        savable = ((loss is None or losses_mod.name_of(loss) is not None)
                   and all(isinstance(m, str) for m in metrics))
        self._compile_config = {
            "optimizer": optimizers_mod.get_config(self._optimizer_spec),
            "loss": None if loss is None else losses_mod.name_of(loss),
            "metrics": list(metrics) if savable else [],
            "clipnorm": clipnorm, "global_clipnorm": global_clipnorm, "clipvalue": clipvalue,
            "from_logits": self.from_logits,
        } if savable else None

    @property
    def compiled(self) -> bool:
        return self._compiled

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The torch optimizer, created from the compile() spec on first use."""
        if self.optimizer is None:
            params = [p for p in self.parameters() if p.requires_grad]
            if not params:
                raise ValueError(f"{self.name}: the model has no trainable parameters; "
                                 f"nothing for the optimizer to train.")
            self.optimizer = self._optimizer_spec.create(params)
        return self.optimizer

    # ------------------------------------------------------------------ forward
    def outputs_for_loss(self, x: Any, mask: Optional[torch.Tensor] = None,
                         undo: Optional[str] = None) -> tuple[Any, bool]:
        """``(output, is_logits)`` for the loss. ``undo`` names the activation the loss can
        undo ("sigmoid" or "softmax"); ``is_logits`` says the output is the scores before
        it. ``Sequential`` detects a final sigmoid/softmax layer; a subclass returns its
        plain output, taken as logits only when compiled with ``from_logits=True``."""
        return call_with_mask(self, x, mask), bool(self.from_logits and undo is not None)

    def compute_loss(self, batch: Any) -> tuple[torch.Tensor, Any, dict]:
        """The loss of one training batch: ``(total, count, logs)``. ``fit`` calls it for
        every batch (and ``evaluate``/validation under ``torch.inference_mode``); override
        it to say how your model is trained (teacher forcing, class weights, a KL term,
        masked-LM masking...), and ``fit`` stays the same loop.

        Args:
            batch: one batch as the data source yields it, already on the model's device
                (``seqlab.models.adapters.move_to``). For arrays, sequence lists and
                DataLoaders that is a ``Batch(x, y, mask, index)``; a source of your own
                (``seqlab.models.adapters.BatchSource``) delivers its own batch type.

        Returns:
            total: the SUM of the batch's loss terms, a scalar tensor with gradient.
            count: how many terms (a tensor or a number): ``total / count`` is the
                batch's mean loss, which ``fit`` back-propagates and averages over the
                epoch as ``logs["loss"]`` (sum of totals / sum of counts). For a loss that
                is a mean over B rows, return ``(mean * B, B)``.
            logs: ``{name: (sum, count)}`` of other quantities averaged the same way and
                reported each epoch (a VAE's ``kl``, metrics); computed without gradient.

        The default is the compiled loss and metrics (``seqlab.models.compiled``), whose
        per-sample terms also let ``fit`` run big LSTM batches as micro-batches.

        >>> class Halved(Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = torch.nn.Parameter(torch.ones(1))
        ...     def compute_loss(self, batch):
        ...         x, = batch                       # a source of (x,) tuples
        ...         per = (self.w * x - x / 2) ** 2  # (B,)
        ...         return per.sum(), len(x), {}
        >>> m = Halved(); m.compile(optimizer="sgd")  # no loss: compute_loss says it
        >>> m.compute_loss((torch.tensor([1.0, 2.0]),))[0].item()
        1.25
        """
        return compiled_loss(self, batch)

    compute_loss.is_compiled_loss = True  # fit may slice its batches (micro_batches)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__}: define forward(self, x) in your Model subclass, or "
            f"use seqlab.Sequential([...])."
        )

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(
            f"{self.name}: a Model subclass cannot infer its output shape from its code; "
            f"it is known after the first call.")

    # ------------------------------------------------------------------ training API
    def fit(self, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose: Any = 1,
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True, seed: Optional[int] = None, device: Any = "auto",
            initial_epoch: int = 0, micro_batch: Any = "auto", nan_policy: str = "raise",
            precision: Any = "32"):
        """Train; returns a ``History``. See ``seqlab.models.training.fit``."""
        from seqlab.models import training
        return training.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                            callbacks=callbacks, validation_split=validation_split,
                            validation_data=validation_data, shuffle=shuffle, seed=seed,
                            device=device, initial_epoch=initial_epoch,
                            micro_batch=micro_batch, nan_policy=nan_policy,
                            precision=precision)

    def evaluate(self, x=None, y=None, batch_size: int = 32, verbose: Any = 1,
                 device: Any = None, return_dict: bool = False):
        """Loss and metrics on (x, y): ``[loss, *metrics]`` (a float if no metrics)."""
        from seqlab.models import inference
        return inference.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                 device=device, return_dict=return_dict)

    def predict(self, x, batch_size: int = 32, verbose: Any = 0, device: Any = None):
        """The model's outputs for ``x`` as a numpy array (in the order of ``x``)."""
        from seqlab.models import inference
        return inference.predict(self, x, batch_size=batch_size, verbose=verbose, device=device)

    # ------------------------------------------------------------------ inspection
    def summary(self, print_fn=print, line_length: int = 65) -> Optional[str]:
        """Keras's table of layers, output shapes and parameters.

        Prints it with ``print_fn`` and returns None, as Keras does (so a notebook cell
        ending in ``model.summary()`` shows it once); ``print_fn=None`` returns the text.
        """
        from seqlab.models.summary import summary
        text = summary(self, line_length=line_length)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    def weight_layers(self) -> list[nn.Module]:
        """The layers whose weights ``get_weights()`` lists, in order."""
        return [m for m in self.children()]

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> nn.Module:
        """A layer by name, or by position in ``weight_layers()``."""
        found = self.weight_layers()
        if index is not None:
            return found[index]
        for layer in found:
            if getattr(layer, "name", None) == name:
                return layer
        raise ValueError(f"{self.name}: no layer named {name!r}. Layers: "
                         f"{[getattr(l, 'name', type(l).__name__) for l in found]}.")

    def count_params(self) -> int:
        """Total parameters as Keras counts them (the "Total params" of ``summary()``)."""
        from seqlab.models.summary import count_params
        return count_params(self)

    def get_weights(self) -> list[np.ndarray]:
        """All weights as numpy arrays, layer by layer, in Keras's layout."""
        out: list[np.ndarray] = []
        for layer in self.weight_layers():
            if isinstance(layer, Layer):
                out.extend(layer.get_weights())
            else:
                out.extend(p.detach().cpu().numpy().copy() for p in layer.parameters())
        return out

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Load a list given in the order and layout of ``get_weights()``."""
        weights = list(weights)
        expected = sum(len(l.get_weights()) if isinstance(l, Layer)
                       else len(list(l.parameters())) for l in self.weight_layers())
        if len(weights) != expected:
            raise ValueError(f"{self.name}: set_weights expected {expected} arrays (as "
                             f"get_weights() returns), got {len(weights)}.")
        start = 0
        for layer in self.weight_layers():
            if isinstance(layer, Layer):
                n = len(layer.get_weights())
                layer.set_weights(weights[start:start + n])
            else:
                params = list(layer.parameters())
                n = len(params)
                with torch.no_grad():
                    for p, w in zip(params, weights[start:start + n]):
                        p.copy_(torch.as_tensor(np.asarray(w), dtype=p.dtype))
            start += n

    # ------------------------------------------------------------------ saving
    def save(self, path) -> None:
        """Write the model (architecture + compile settings as JSON, weights as
        safetensors) to one file, atomically. Reload with ``seqlab.load_model(path)``."""
        from seqlab import io
        io.save_model(self, path)

    def save_weights(self, path) -> None:
        """Write only the weights (safetensors), atomically."""
        from seqlab import io
        io.save_weights(self, path)

    def load_weights(self, path) -> None:
        """Load weights written by ``save_weights`` (or ``save``) into this model."""
        from seqlab import io
        io.load_weights(self, path)

    @classmethod
    def from_config(cls, config: dict) -> "Model":
        # A subclass's __init__ may not take ``name``: set it afterwards.
        config = dict(config)
        name = config.pop("name", None)
        params = inspect.signature(cls.__init__).parameters
        takes_name = "name" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        if takes_name and name is not None:
            config["name"] = name
        model = super().from_config(config)
        if name is not None:
            model.name = name
        return model

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    def export(self, path, format: str = "onnx", example=None, dynamic_time: bool = True):
        """ONNX or pt2 graph of ``forward`` in folder ``path`` (``seqlab.export.export_model``)."""
        from seqlab.export.writer import export_model
        return export_model(self, path, format, example=example, dynamic_time=dynamic_time)


__all__ = ["Model", "accepts_mask", "call_with_mask", "get_mask"]
