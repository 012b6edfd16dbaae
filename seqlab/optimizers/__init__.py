"""Optimizers by Keras name, with Keras's defaults and Keras 3's exact update arithmetic.

``compile(optimizer="rmsprop")`` must train like Keras's ``"rmsprop"``: the names build
the torch optimizers of ``seqlab.optimizers.keras_rules`` (``torch.optim.Optimizer``
subclasses that do Keras 3's updates step for step, epsilon where Keras puts it), with
Keras's defaults (which differ from torch's: RMSprop's rho is 0.9 in Keras, 0.99 in torch;
epsilon is 1e-7, not 1e-8):

========  ===========================================================
sgd       SGD(learning_rate=0.01, momentum=0.0, nesterov=False)
adam      Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)
adamw     AdamW(learning_rate=0.001, weight_decay=0.004, ...Adam's)
adagrad   Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)
rmsprop   RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)
========  ===========================================================

Every one also takes Keras's ``weight_decay`` (decoupled, None by default). A
``torch.optim`` class or instance given to ``compile`` is used as it is (torch's
arithmetic). The optimizer is created lazily, once the model is built and its
parameters exist: ``spec.create(params)``.

    >>> spec = get("rmsprop")
    >>> spec.config["rho"]
    0.9
    >>> opt = RMSprop(learning_rate=0.01).create([torch.nn.Parameter(torch.zeros(2))])
    >>> type(opt).__name__, opt.defaults["rho"], opt.defaults["lr"]
    ('KerasRMSprop', 0.9, 0.01)
"""
from __future__ import annotations

import inspect
from typing import Any, Iterable, Optional, Union

import torch

from seqlab.optimizers.keras_rules import (KerasAdagrad, KerasAdam, KerasOptimizer,  # noqa: F401
                                           KerasRMSprop, KerasSGD)


class OptimizerSpec:
    """A Keras-named optimizer and its settings; ``create(params)`` builds the torch one."""

    name = "optimizer"

    def __init__(self, **config: Any):
        self.config = config

    def create(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"class_name": self.name, "config": dict(self.config)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"


class SGD(OptimizerSpec):
    name = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: Optional[float] = None):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    def create(self, params):
        c = dict(self.config)
        return KerasSGD(params, lr=c.pop("learning_rate"), **c)


class Adam(OptimizerSpec):
    name = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: Optional[float] = None):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay)

    def create(self, params):
        c = dict(self.config)
        return KerasAdam(params, lr=c.pop("learning_rate"), **c)


class AdamW(Adam):
    """Keras's AdamW: Adam with decoupled weight decay (default 0.004)."""
    name = "adamw"

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay)


class Adagrad(OptimizerSpec):
    name = "adagrad"

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: Optional[float] = None):
        super().__init__(learning_rate=learning_rate,
                         initial_accumulator_value=initial_accumulator_value, epsilon=epsilon,
                         weight_decay=weight_decay)

    def create(self, params):
        c = dict(self.config)
        return KerasAdagrad(params, lr=c.pop("learning_rate"), **c)


class RMSprop(OptimizerSpec):
    name = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: Optional[float] = None):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum,
                         epsilon=epsilon, centered=centered, weight_decay=weight_decay)

    def create(self, params):
        c = dict(self.config)
        return KerasRMSprop(params, lr=c.pop("learning_rate"), **c)


class TorchOptimizer(OptimizerSpec):
    """A torch optimizer class (``torch.optim.AdamW``) with its keyword arguments."""

    def __init__(self, cls: type, **kwargs: Any):
        super().__init__(**kwargs)
        self.cls = cls
        self.name = cls.__name__

    def create(self, params):
        return self.cls(params, **self.config)

    def get_config(self) -> dict:
        config = {k: list(v) if isinstance(v, tuple) else v for k, v in self.config.items()
                  if isinstance(v, (bool, int, float, str, tuple, list, type(None)))}
        return {"class_name": self.name, "torch": True, "config": config}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "rmsprop": RMSprop}


def get(optimizer: Union[str, OptimizerSpec, type, torch.optim.Optimizer]) -> Any:
    """An ``OptimizerSpec`` (lazy) for a name, spec or torch class; a torch optimizer
    instance is returned unchanged (it already holds its parameters)."""
    if isinstance(optimizer, (OptimizerSpec, torch.optim.Optimizer)):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    if inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer):
        return TorchOptimizer(optimizer)
    raise ValueError(f"compile(): unknown optimizer {optimizer!r}. Use one of "
                     f"{sorted(OPTIMIZERS)}, seqlab.optimizers.Adam(learning_rate=...), a "
                     f"torch.optim class, or a torch optimizer built on model.parameters().")


def from_config(config: dict) -> OptimizerSpec:
    """Rebuild a spec saved by ``get_config()`` (used by ``seqlab.load_model``)."""
    name, kwargs = config["class_name"], dict(config.get("config", {}))
    if config.get("torch"):
        cls = getattr(torch.optim, name, None)
        if cls is None:
            raise ValueError(f"Saved optimizer torch.optim.{name} does not exist in this torch.")
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        return TorchOptimizer(cls, **kwargs)
    if name not in OPTIMIZERS:
        raise ValueError(f"saved optimizer {name!r} is not a seqlab optimizer (one of "
                         f"{', '.join(sorted(OPTIMIZERS))}); the file was edited or comes "
                         f"from another program, so save the model again.")
    return OPTIMIZERS[name](**kwargs)


def for_training(training) -> TorchOptimizer:
    """The optimizer a ``[training]`` section names (``seqlab.config.TrainingConfig``), with
    torch's own defaults as ``seqlab train`` always used: Adam (AdamW with weight decay,
    decoupled), SGD, RMSprop or Adagrad at ``learning_rate`` with ``weight_decay``; LBFGS
    (strong-Wolfe line search) for small models fitted to convergence on full batches.

    >>> from seqlab.config import TrainingConfig
    >>> spec = for_training(TrainingConfig(optimizer="adam", weight_decay=0.01))
    >>> spec.name, spec.config
    ('AdamW', {'lr': 0.001, 'weight_decay': 0.01})
    """
    t = training
    if t.optimizer == "lbfgs":  # full-batch second-order steps: a small model to convergence
        if t.weight_decay:
            raise ValueError("[training] optimizer = 'lbfgs' takes no weight_decay; set it to 0.")
        # one step per batch = up to 20 evaluations of the loss, each step's length found by
        # a strong-Wolfe line search (learning_rate scales the first trial step)
        return TorchOptimizer(torch.optim.LBFGS, lr=t.learning_rate, max_iter=20,
                              history_size=20, line_search_fn="strong_wolfe")
    if t.optimizer == "adam":
        if t.weight_decay:
            return TorchOptimizer(torch.optim.AdamW, lr=t.learning_rate,
                                  weight_decay=t.weight_decay)
        return TorchOptimizer(torch.optim.Adam, lr=t.learning_rate)
    classes = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop,
               "adagrad": torch.optim.Adagrad}
    if t.optimizer not in classes:
        raise ValueError(f"[training] optimizer = {t.optimizer!r}: choose one of "
                         f"'adam', 'lbfgs', {', '.join(repr(k) for k in classes)}.")
    return TorchOptimizer(classes[t.optimizer], lr=t.learning_rate,
                          weight_decay=t.weight_decay)


def make_optimizer(cfg, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The torch optimizer of ``cfg``'s [training] section on the trainable ``params``."""
    return for_training(cfg.training).create([p for p in params if p.requires_grad])


def get_config(optimizer: Any) -> dict:
    """JSON-friendly description of what compile() received (a torch instance: its
    class and defaults, so a loaded model gets a fresh optimizer of the same kind)."""
    if isinstance(optimizer, OptimizerSpec):
        return optimizer.get_config()
    if isinstance(optimizer, torch.optim.Optimizer):
        return TorchOptimizer(type(optimizer), **optimizer.defaults).get_config()
    raise TypeError(f"Cannot describe optimizer {optimizer!r}.")
