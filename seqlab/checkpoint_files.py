"""A run's checkpoint: ONE file, ``checkpoint.safetensors``, with one commit point.

Everything ``seqlab train --resume`` needs is in that file: the tensors (weights, optimizer
state, the best epoch's weights, RNG states) and, in the safetensors header's metadata
(a str -> str dict), the JSON of the rest (epoch, history, optimizer settings, Python and
NumPy RNG states). The file is written to a temporary name, fsynced, renamed over the old
checkpoint (``os.replace``, atomic) and the folder is fsynced (``seqlab.io``): the rename is
the commit point. A crash (kill -9, an exception, a full disk) at any file operation
leaves either the previous checkpoint whole or the new one whole, never the weights of
one epoch with the history of another. history.csv, written after, is derived from it.

    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "checkpoint.safetensors"
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> save(path, model, opt, epoch=0, history=[{"epoch": 1, "loss": 0.5}])
    >>> read_meta(path)["epoch"]
    0
    >>> load(path, model, opt)[:2]
    (1, [{'epoch': 1, 'loss': 0.5}])

Checkpoints of older seqlab versions (``checkpoint.safetensors`` + ``checkpoint.json``)
still load.
"""
from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from seqlab.errors import RunError
from seqlab.io import atomic_write_bytes

FORMAT = 1
META_KEY = "seqlab_checkpoint"   # the metadata entry that holds the JSON
OLD_JSON = "checkpoint.json"     # the second file of older checkpoints


def non_finite(tensors: dict) -> list[str]:
    """Names of the floating-point tensors that hold NaN or inf."""
    return [k for k, v in tensors.items()
            if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def save(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int,
         history: list[dict], best: Optional[tuple] = None,
         position: Optional[dict] = None) -> None:
    """Write the checkpoint after ``epoch`` (0-based, completed; -1 inside the first)
    to ``path`` in one atomic file; ``best`` = (score, epoch, weights) of the best epoch
    so far, when kept; ``position`` = ``{"epoch": epoch + 1, "batch": b, ...}`` when
    written mid-epoch (``seqlab.models.epoch_position``). Refuses weights that hold NaN
    or inf (the previous checkpoint stays)."""
    path = Path(path)
    weights = model.state_dict()
    bad = non_finite(weights)
    if bad:
        raise RunError(f"{path}: not written, the weights after epoch {epoch + 1} hold NaN "
                       f"or inf ({', '.join(bad[:3])}); the checkpoint of the epoch before "
                       f"is kept. Lower the learning rate or check the inputs for NaN/inf.")
    tensors = {f"model.{k}": v for k, v in weights.items()}
    if best is not None:
        tensors.update({f"best.{k}": v for k, v in best[2].items()})
    opt = optimizer.state_dict()
    opt_scalars = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value
            elif isinstance(value, list) and any(isinstance(v, torch.Tensor) for v in value):
                # LBFGS's history: tensors, and None where a slot is still empty
                tensors.update({f"optim.{idx}.{key}#{i}": v for i, v in enumerate(value)
                                if v is not None})
                opt_scalars[f"{idx}.{key}"] = {"tensors": len(value)}
            else:
                opt_scalars[f"{idx}.{key}"] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
    meta = {"format": FORMAT, "epoch": epoch, "history": history,
            "param_groups": opt["param_groups"], "optim_scalars": opt_scalars,
            "rng_numpy": [np_state[0], int(np_state[2]), int(np_state[3]),
                          float(np_state[4])],
            "rng_python": _py_state_to_json(random.getstate()),
            "best": None if best is None else {"score": best[0], "epoch": best[1]}}
    if position is not None:
        meta["position"] = position
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    data = safetensors_bytes(tensors, metadata={META_KEY: json.dumps(meta)})
    atomic_write_bytes(path, data)      # the commit point
    old = path.with_name(OLD_JSON)      # an older checkpoint's second file, now stale
    with contextlib.suppress(OSError):
        old.unlink()


def exists(path: Path) -> bool:
    """Whether ``path`` (checkpoint.safetensors) is there: one file, or an older pair."""
    return Path(path).is_file()


def read_meta(path: Path) -> dict:
    """The checkpoint's JSON (epoch, history, ...), checked: a clear RunError when the
    header does not parse or the JSON does not fit together."""
    path = Path(path)
    fix = (f"the run cannot continue from it; delete {path.name} to restart the run from "
           f"epoch 1 with --resume, or train it again with `seqlab train`.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise RunError(f"{path}: a corrupt checkpoint ({' '.join(str(err).split())}); "
                       f"{fix}") from None
    if META_KEY in metadata:
        text, source = metadata[META_KEY], path
    else:
        source = path.with_name(OLD_JSON)
        if not source.is_file():
            raise RunError(f"{path}: a checkpoint without its description (no "
                           f"{META_KEY} metadata and no {OLD_JSON}); {fix}")
        text = source.read_text(encoding="utf-8", errors="replace")
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise RunError(f"{source}: corrupt checkpoint JSON ({err}); {fix}") from None
    problem = _meta_problem(meta)
    if problem:
        raise RunError(f"{source}: an inconsistent checkpoint ({problem}); {fix}")
    return meta


def _meta_problem(meta) -> str:
    if not isinstance(meta, dict):
        return f"a JSON {type(meta).__name__} instead of an object"
    needed = ("epoch", "history", "param_groups", "optim_scalars", "rng_numpy",
              "rng_python")
    missing = [k for k in needed if k not in meta]
    if missing:
        return f"missing {', '.join(missing)}"
    epoch, history = meta["epoch"], meta["history"]
    position = meta.get("position")
    lowest = -1 if position is not None else 0  # -1: saved inside the first epoch
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < lowest:
        return f"epoch {epoch!r} is not a count"
    if position is not None and (not isinstance(position, dict)
                                 or position.get("epoch") != epoch + 1
                                 or not isinstance(position.get("batch"), int)):
        return f"the position {position!r} is not inside epoch {epoch + 2}"
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        return "the history is not a list of rows"
    if len(history) != epoch + 1:
        return f"epoch {epoch + 1} but {len(history)} rows of history"
    if [r.get("epoch") for r in history] != list(range(1, epoch + 2)):
        return "the history's epochs are not 1, 2, 3..."
    if not isinstance(meta["rng_numpy"], list) or len(meta["rng_numpy"]) != 4:
        return "the NumPy RNG state (rng_numpy) has not 4 entries"
    if not isinstance(meta["param_groups"], list) or not isinstance(meta["optim_scalars"],
                                                                      dict):
        return "param_groups is not a list or optim_scalars not an object"
    return ""


def load(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
         load_state: Optional[Callable] = None):
    """Restore model, optimizer and RNG states from ``path``; returns
    (next_epoch, history, best). ``load_state(model, state, source)`` loads the weights
    (``model.load_state_dict`` when None)."""
    path = Path(path)
    meta = read_meta(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise RunError(f"{path}: not a readable checkpoint ({err}).") from None
    weights = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    if load_state is None:
        model.load_state_dict(weights)
    else:
        load_state(model, weights, str(path))
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            if "#" not in name:  # items of a list come back with their list below
                state.setdefault(int(idx), {})[name] = value
    try:
        for key, value in meta["optim_scalars"].items():
            idx, name = key.split(".", 1)
            if isinstance(value, dict) and "tensors" in value:  # a list of tensors
                value = [tensors.get(f"optim.{key}#{i}") for i in range(value["tensors"])]
            state.setdefault(int(idx), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        torch.set_rng_state(tensors["rng.torch"])
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        kind, pos, has_gauss, cached = meta["rng_numpy"]
        np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos,
                             has_gauss, cached))
        random.setstate(_py_state_from_json(meta["rng_python"]))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise RunError(f"{path}: the optimizer or RNG state does not fit this model "
                       f"({' '.join(str(err).split())}); train the run again with "
                       f"`seqlab train`.") from None
    best = meta.get("best")
    if best is not None:
        best = (best["score"], best["epoch"],
                {k[5:]: v for k, v in tensors.items() if k.startswith("best.")})
    return meta["epoch"] + 1, meta["history"], best


def _py_state_to_json(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _py_state_from_json(obj):
    version, internal, gauss = obj
    return (version, tuple(internal), gauss)
