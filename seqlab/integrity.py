"""Checks that a run folder's files agree before anything big is built from them.

* ``header_shapes(path)``: the tensor names and shapes of a safetensors file, read from its
  header only (no tensor is loaded);
* ``check_shapes_before_build(build, path)``: builds the model on torch's "meta" device (no
  memory for weights), compares every parameter's shape with the file's header, and only
  then builds it for real: a config edited to ``units = 10**9`` is refused without
  allocating anything;
* ``model_json_digest`` / ``check_model_json``: the weights file records the SHA-256 of the
  model.json written with it, so a deleted or edited model.json is detected on load;

    >>> import tempfile, torch, pathlib
    >>> from safetensors.torch import save_file
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.safetensors"
    >>> save_file({"weight": torch.zeros(3, 2)}, str(p))
    >>> header_shapes(p)
    {'weight': (3, 2)}
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Callable

import torch

from seqlab.errors import RunError
from seqlab.io import ImpossibleModel, meta_shapes, shape_mismatch  # noqa: F401

DIGEST_KEY = "model_json_sha256"  # safetensors metadata key of model.json's digest


def header_shapes(path: str | Path) -> dict[str, tuple]:
    """{tensor name: shape} from a safetensors header, without loading any tensor."""
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as err:  # truncated, corrupted, not safetensors
        raise RunError(f"{path}: not a readable safetensors file ({type(err).__name__}: "
                       f"{str(err)[:120]}); it is truncated or corrupted, so train the run "
                       f"again.") from None


def header_metadata(path: str | Path) -> dict:
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as err:
        raise RunError(f"{path}: not a readable safetensors file ({type(err).__name__}: "
                       f"{str(err)[:120]}).") from None


def check_shapes_before_build(build: Callable[[], torch.nn.Module], path: str | Path,
                              source: str = "config.toml") -> None:
    """Refuse, before any allocation, a model whose parameter shapes (from ``build`` on the
    meta device) differ from the weights file's header."""
    try:
        expected, at_least = meta_shapes(build)
    except ImpossibleModel as err:
        raise RunError(f"{path}: the model built from {source} cannot exist ({err}); "
                       f"{source} was edited, so restore it or retrain.") from None
    saved = header_shapes(path)
    if expected is None:
        held = sum(math.prod(shape) for shape in saved.values())
        if at_least > held:
            raise RunError(f"{path}: the saved weights do not fit the model built from "
                           f"{source} (shape mismatch: it needs at least {at_least} values, "
                           f"the file holds {held}); {source} was edited or belongs to "
                           f"another run, so restore it or retrain with `seqlab train`.")
        return
    problem = shape_mismatch(expected, saved)
    if problem:
        raise RunError(f"{path}: the saved weights do not fit the model built from {source} "
                       f"({problem}); {source} was edited or belongs to another run, so "
                       f"restore it or retrain with `seqlab train`.")


def model_json_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_model_json(run) -> None:
    """model.json must be the one written with model.safetensors (its digest is in the
    weights' metadata; runs written before the digest existed are not checked), and its
    [model] section must be config.toml's."""
    weights, described = run.file("model.safetensors"), run.file("model.json")
    if not weights.is_file():
        return
    digest = header_metadata(weights).get(DIGEST_KEY)
    if digest is None:
        return
    if not described.is_file():
        raise RunError(f"{described}: missing, but model.safetensors was saved with it; "
                       f"restore it from a copy of the run, or retrain the run.")
    try:
        text = described.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RunError(f"{described}: unreadable ({err}); restore it or retrain.") from None
    if model_json_digest(text) != digest:
        raise RunError(f"{described}: edited or damaged since the weights were saved (its "
                       f"SHA-256 differs from the one in model.safetensors); restore it "
                       f"from a copy of the run, or retrain.")
    saved = json.loads(text).get("model")
    now = run.config.to_dict()["model"]
    # a field added after the run was saved counts as saved at its default
    from seqlab.config import ModelConfig
    default = ModelConfig().__dict__
    keys = [k for k in now if saved is not None and saved.get(k, default.get(k)) != now[k]]
    if keys:
        raise RunError(f"{run.file('config.toml')}: [model] {', '.join(keys[:3]) or 'fields'} "
                       f"differ from model.json, written with the weights; restore "
                       f"config.toml's [model] section, or retrain.")


def check_vocab(build: Callable[[], torch.nn.Module], path: str | Path, task: str):
    """``build()`` (a model from the run's vocab.json), with a damaged vocab.json reported
    as one sentence instead of the KeyError or TypeError it causes."""
    try:
        return build()
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise RunError(f"{path}: does not fit a {task!r} run ({type(err).__name__}: "
                       f"{str(err)[:80]}); it was edited or damaged, so restore it from a "
                       f"copy of the run or retrain.") from None
