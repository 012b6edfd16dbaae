"""Serialisable option objects: initialisers, regularizers and constraints (Keras's way).

A layer records its constructor arguments and saves them as JSON (``Layer.get_config``).
An argument that is an object -- ``L2(0.01)``, ``GlorotUniform(seed=1)``, ``MaxNorm(3)`` --
is saved as ``{"class_name": "L2", "config": {"l2": 0.01}}``: every subclass of
``KerasObject`` registers itself by class name, and its ``get_config()`` returns the
constructor arguments (recorded automatically, as for layers).

    >>> class Scale(KerasObject):
    ...     def __init__(self, factor=2.0):
    ...         self.factor = factor
    >>> Scale(3.0).get_config()
    {'factor': 3.0}
    >>> lookup("Scale").from_config({"factor": 3.0}).factor
    3.0
"""
from __future__ import annotations

import inspect
from typing import Any

_OBJECT_CLASSES: dict[str, type] = {}


class KerasObject:
    """Base class: records constructor arguments, registers the class by name."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        bound = inspect.signature(cls.__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        self._config = {k: v for k, v in bound.arguments.items()
                        if k != "self" and inspect.signature(cls.__init__).parameters[k].kind
                        not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}
        return self

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _OBJECT_CLASSES[cls.__name__] = cls

    def get_config(self) -> dict:
        """The constructor arguments (JSON-friendly numbers, strings, lists)."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "KerasObject":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def lookup(class_name: str) -> type:
    """The registered option class called ``class_name`` (None if unknown)."""
    return _OBJECT_CLASSES.get(class_name)


def from_spec(spec: Any, family: str, table: dict, base: type) -> Any:
    """Keras's ``get()``: None, an object of ``base``, a callable, a name in ``table``, or a
    ``{"class_name", "config"}`` dict."""
    if spec is None or isinstance(spec, base) or (callable(spec) and not isinstance(spec, type)):
        return spec
    if isinstance(spec, dict) and "class_name" in spec:
        cls = table.get(spec["class_name"]) or lookup(spec["class_name"])
        if cls is None:
            raise ValueError(f"Unknown {family} class {spec['class_name']!r}. Known: "
                             f"{sorted(k for k in table if k[0].isupper())}.")
        return cls.from_config(spec.get("config", {}))
    if isinstance(spec, str) and spec in table:
        return table[spec]()
    if isinstance(spec, str) and spec.lower() in table:
        return table[spec.lower()]()
    raise ValueError(f"Unknown {family} {spec!r}. Choose one of {sorted(table)}, an object "
                     f"such as seqlab.keras.{family}s.{next(iter(table), '')}(...), or a "
                     f"callable.")
