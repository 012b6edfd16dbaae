"""Saving and loading models: one safetensors file, architecture and compile settings as
JSON in its metadata. No pickle: loading a file never runs code from it.

    >>> import tempfile, os, numpy as np
    >>> from seqlab import Sequential, layers, load_model
    >>> model = Sequential([layers.Dense(2, input_shape=(3,))])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> model.save(path)
    >>> again = load_model(path)
    >>> x = np.ones((1, 3), "float32")
    >>> bool(np.allclose(again.predict(x), model.predict(x)))
    True

File layout: the tensors are the model's ``state_dict()`` (names like
``_stack.0.kernel``); the metadata key ``"seqlab"`` holds::

    {"format": "seqlab.model", "version": 1, "class_name": "Sequential",
     "config": {...layer configs...}, "build_shapes": {"": [null, 3], ...},
     "frozen": [...parameters with requires_grad False...], "compile": {...} or null,
     "optimizer_state": {"param_groups": [...], "scalars": {...}} or null}

and the optimizer's state tensors are stored as ``__optimizer__.<param index>.<name>``.

Class names resolve through one registry: every ``Layer`` subclass (so every ``Model``)
enters it when its class statement runs (``Layer.__init_subclass__``), and
``get_layer_class`` looks names up there. ``import seqlab`` imports seqlab's model
families, so their classes are known; a class of your own is known once its module is
imported. A name the registry does not hold is refused: loading never imports a module
named in a file. This module imports nothing above it (no ``seqlab.models``).

Writes are atomic: the bytes go to a temporary file in the same folder, are flushed to
disk, and only then renamed over the target (``os.replace``). A process killed mid-save
leaves the previous file intact (and at worst a stray ``.*.tmp`` file).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Union

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from seqlab import optimizers
from seqlab.errors import one_line
from seqlab._version import __version__
from seqlab.layers.base import Layer, get_layer_class

FORMAT, WEIGHTS_FORMAT, VERSION = "seqlab.model", "seqlab.weights", 1
PathLike = Union[str, os.PathLike]


# ---------------------------------------------------------------------- atomic writes
def _write_all(f, data: bytes, chunk: int = 1 << 20) -> None:
    for start in range(0, len(data), chunk):
        f.write(data[start:start + chunk])


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from others
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # clone: safetensors refuses tensors that share memory (tied weights).
    return {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}


OPT_PREFIX = "__optimizer__."  # tensor names of the optimizer's state (never a module name)


def _optimizer_state(model) -> tuple[dict[str, torch.Tensor], Optional[dict]]:
    """The torch optimizer's state split into tensors (safetensors) and the rest (JSON),
    so a loaded model resumes training exactly where it stopped."""
    opt = getattr(model, "optimizer", None)
    if opt is None or getattr(model, "_compile_config", None) is None:
        return {}, None
    state = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{OPT_PREFIX}{idx}.{key}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars[f"{idx}.{key}"] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()
               if isinstance(v, (bool, int, float, str, list, tuple, type(None)))}
              for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _restore_optimizer(model, tensors: dict, saved: dict) -> None:
    opt = model.make_optimizer()
    state: dict = {}
    for name, value in tensors.items():
        idx, key = name[len(OPT_PREFIX):].split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    for name, value in saved.get("scalars", {}).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()}
              for g in saved["param_groups"]]
    if any(set(opt.defaults) - set(g) for g in groups):
        return  # state of another optimizer class (torch's RMSprop before Keras's): start fresh
    opt.load_state_dict({"state": state, "param_groups": groups})


# ---------------------------------------------------------------------- save
def describe(model) -> dict:
    """The JSON description of ``model`` stored next to its weights."""
    config = model.get_config()
    build_shapes = {name: list(m.build_input_shape) for name, m in model.named_modules()
                    if isinstance(m, Layer) and m.built and m.build_input_shape is not None}
    return {
        "format": FORMAT, "version": VERSION, "class_name": type(model).__name__,
        "config": config, "build_shapes": build_shapes,
        "frozen": [n for n, p in model.named_parameters() if not p.requires_grad],
        "compile": getattr(model, "_compile_config", None),
    }


def save_model(model, path: PathLike) -> None:
    """Write ``model`` (architecture, compile settings, weights) to ``path`` atomically."""
    description = describe(model)
    opt_tensors, description["optimizer_state"] = _optimizer_state(model)
    data = safetensors_bytes({**_tensors(model), **opt_tensors},
                             metadata={"seqlab": json.dumps(description),
                                       "seqlab_version": __version__})
    atomic_write_bytes(path, data)


def save_weights(model, path: PathLike) -> None:
    """Write only the weights of ``model`` to ``path`` atomically."""
    data = safetensors_bytes(_tensors(model), metadata={"seqlab_format": WEIGHTS_FORMAT})
    atomic_write_bytes(path, data)


# ---------------------------------------------------------------------- shapes before memory
def meta_shapes(build: Callable[[], torch.nn.Module]) -> tuple[dict | None, int]:
    """(state-dict shapes, values registered) of ``build()`` built on the "meta" device (no
    memory for weights). The shapes are None when the build cannot finish there (e.g. a
    first call that reads a value with ``.item()``); the count of parameter and buffer
    values registered until then is still a lower bound of the real model's."""
    registered = []

    def seen(module, name, tensor):
        if tensor is not None:
            registered.append(tensor.numel())
    hooks = [torch.nn.modules.module.register_module_parameter_registration_hook(seen),
             torch.nn.modules.module.register_module_buffer_registration_hook(seen)]
    try:
        with torch.device("meta"):
            model = build()
        return {k: tuple(v.shape) for k, v in model.state_dict().items()}, sum(registered)
    except NotImplementedError:
        return None, sum(registered)
    except RuntimeError as err:
        if "meta" in str(err).lower():
            return None, sum(registered)  # an operation without a meta kernel
        raise ImpossibleModel(f"{type(err).__name__}: {str(err)[:100]}") from None
    finally:
        for hook in hooks:
            hook.remove()


class ImpossibleModel(ValueError):
    """A description whose tensors cannot exist (e.g. a size that overflows memory)."""


def shape_mismatch(expected: dict[str, tuple], saved: dict[str, tuple]) -> str:
    """'' when the two agree, else a short description of the first differences."""
    missing = [k for k in expected if k not in saved]
    extra = [k for k in saved if k not in expected]
    wrong = [f"{k} {saved[k]} in the file vs {expected[k]} from the config"
             for k in expected if k in saved and saved[k] != expected[k]]
    return (f"shape mismatch {wrong[:2]}" if wrong else f"missing {missing[:3]}" if missing
            else f"unexpected {extra[:3]}" if extra else "")


# ---------------------------------------------------------------------- load
def _read(path: PathLike, load: bool = True) -> tuple[dict, dict]:
    """(metadata, tensors) of a safetensors file, or one clear error naming the file;
    ``load=False``: the tensors' shapes only, from the header (nothing loaded)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. Check the path given to "
                                f"load_model / load_weights.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) if load else tuple(f.get_slice(k).get_shape())
                       for k in f.keys()}
    except Exception as exc:  # truncated, corrupted or not safetensors at all
        raise ValueError(
            f"{path}: not a readable seqlab file ({type(exc).__name__}: {str(exc)[:120]}). "
            f"It is truncated, corrupted or written by another program; save it again "
            f"with model.save(path)."
        ) from None
    return metadata, tensors


def _description(path: PathLike, metadata: dict) -> dict:
    raw = metadata.get("seqlab")
    if raw is None:
        raise ValueError(f"{path}: a safetensors file without a seqlab model description "
                         f"(written by another program or by save_weights). Load weights "
                         f"into a model you build with model.load_weights(path).")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: its seqlab model description is not valid JSON "
                         f"({exc}); the file is corrupted.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown seqlab description format "
                         f"{meta.get('format') if isinstance(meta, dict) else meta!r}.")
    if meta.get("version", 0) > VERSION:
        raise ValueError(f"{path}: written by a newer seqlab (format version "
                         f"{meta['version']} > {VERSION}); upgrade seqlab to load it.")
    return meta


def _load_state(model, tensors: dict, path: PathLike) -> None:
    tensors = {k: v for k, v in tensors.items() if not k.startswith(OPT_PREFIX)}
    floats = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(floats) == 1:
        model.to(dtype=floats.pop())  # a float64 model comes back float64
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])[:300]
        raise ValueError(f"{path}: its weights do not fit the model ({detail}).") from None


def load_model(path: PathLike, compile: bool = True):
    """Rebuild the model saved at ``path`` by ``model.save(path)``.

    Args:
        compile: restore the compile() settings (optimizer kind and hyper-parameters,
            loss, metrics) and the optimizer's state (moments, step counts), so
            ``fit`` resumes training exactly where the saved model stopped.

    A model class of your own (a ``Model`` subclass) must be imported before loading.
    Compile settings are saved only when the loss and metrics are given by name (a
    custom callable cannot be stored as JSON): compile such a model again after loading.
    """
    metadata, tensors = _read(path, load=False)
    meta = _description(path, metadata)

    def rebuild():
        try:
            cls = get_layer_class(meta["class_name"])
            model = cls.from_config(meta["config"])
            for name, module in model.named_modules():
                shape = meta.get("build_shapes", {}).get(name)
                if isinstance(module, Layer) and not module.built and shape is not None:
                    module.build_once(tuple(shape))
            if hasattr(model, "infer_shapes"):
                model.infer_shapes()  # a Sequential's summary() shapes
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path}: cannot rebuild the model from its description: "
                             f"{exc}") from None
        return model

    # the shapes the description implies, on the meta device (no memory), against the
    # file's header: an edited description cannot make this allocate more than the file
    try:
        expected, at_least = meta_shapes(rebuild)
    except ImpossibleModel as exc:
        raise ValueError(f"{path}: its description builds a model that cannot exist "
                         f"({exc}); it was edited or damaged, so save the model "
                         f"again.") from None
    saved = {k: tuple(v) for k, v in tensors.items() if not k.startswith(OPT_PREFIX)}
    held = sum(math.prod(shape) for shape in saved.values())
    problem = (shape_mismatch(expected, saved) if expected is not None else
               f"at least {at_least} values needed, {held} saved" if at_least > held else "")
    if problem:
        raise ValueError(f"{path}: its weights do not fit the model its description "
                         f"builds ({problem}); the description was edited or damaged, so "
                         f"save the model again.")
    model = rebuild()
    metadata, tensors = _read(path)
    _load_state(model, tensors, path)
    frozen = set(meta.get("frozen", []))
    for name, p in model.named_parameters():
        p.requires_grad_(name not in frozen)
    if compile and meta.get("compile"):
        c = meta["compile"]
        try:
            optimizer = optimizers.from_config(c["optimizer"])
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path}: {one_line(exc)}") from None
        model.compile(optimizer=optimizer, loss=c["loss"],
                      metrics=c.get("metrics") or None, clipnorm=c.get("clipnorm"),
                      global_clipnorm=c.get("global_clipnorm"),
                      clipvalue=c.get("clipvalue"), from_logits=c.get("from_logits", False),
                      **({"loss_weights": c["loss_weights"]} if c.get("loss_weights") else {}))
        if meta.get("optimizer_state"):
            try:
                _restore_optimizer(model, {k: v for k, v in tensors.items()
                                           if k.startswith(OPT_PREFIX)},
                                   meta["optimizer_state"])
            except (ValueError, KeyError, RuntimeError) as exc:
                raise ValueError(f"{path}: the saved optimizer state does not fit the "
                                 f"model ({exc}).") from None
    model.eval()
    return model


def load_weights(model, path: PathLike) -> None:
    """Load weights saved by ``save_weights`` or ``save`` into a built ``model``."""
    unbuilt = [m.name for m in model.modules() if isinstance(m, Layer) and not m.built]
    if unbuilt:
        raise ValueError(f"load_weights({path}): layers {unbuilt} are not built yet, so "
                         f"their weights do not exist. Call the model on a batch first, or "
                         f"give the first layer input_shape=...")
    _, tensors = _read(path)
    _load_state(model, tensors, path)


__all__ = ["save_model", "load_model", "save_weights", "load_weights",
           "atomic_write_bytes", "describe"]
