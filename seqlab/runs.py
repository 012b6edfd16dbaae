"""A run folder: the files of one `seqlab train` run (the training itself is
``Model.fit``; ``seqlab.models.checkpoints.RunCheckpoint`` writes the checkpoint below).

    runs/NAME/
      config.toml          the configuration, as run (re-running it reproduces the metrics)
      vocab.json           vocabularies / class names / scalers the model's inputs need
      model.json           what the weights are: task, [model] section, parameter shapes
      model.safetensors    the trained weights
      checkpoint.json      \\ written atomically after every epoch: weights, optimizer state,
      checkpoint.safetensors/  epoch, history and RNG states -> `seqlab train --resume RUN`
      history.csv          one row per epoch (loss, validation metrics)
      metrics.json         test metrics and baselines
      plots/*.png          learning curves and the task's pictures
      report.html          everything above on one page

Every file is written to a temporary name in the same folder and then renamed
(``os.replace``), so killing the process never leaves a half-written file.
Files are safetensors + JSON only: nothing here is pickled.
"""
from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from seqlab.config import Config
from seqlab.errors import RunError
from seqlab.io import atomic_write_bytes

FORMAT = 1  # run-folder format version, checked on load


# ---------------------------------------------------------------------- atomic files
# One writer for every file seqlab writes: temp file + fsync + rename (seqlab.io).
atomic_write = atomic_write_bytes


def atomic_save_tensors(path: Path, tensors: dict, metadata: Optional[dict] = None) -> None:
    """safetensors file written atomically (contiguous CPU copies of the tensors)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata=metadata))


def write_json(path: Path, obj) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (initialisation, dropout) for a reproducible run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RunError('[training] device = "cuda" but no CUDA GPU is visible; use "auto".')
    return torch.device(name)


# ---------------------------------------------------------------------- the folder
class Run:
    """The files of one run. ``Run.create(cfg)`` for a new run, ``Run.open(path)`` after.

    >>> import tempfile
    >>> cfg = Config(name="demo", runs_dir=tempfile.mkdtemp())
    >>> run = Run.create(cfg)
    >>> Run.open(run.path).config.name
    'demo'
    """

    def __init__(self, path: Path, config: Config):
        self.path = Path(path)
        self.config = config

    # -------------------------------------------------------------- paths
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def plots_dir(self) -> Path:
        return self.path / "plots"

    # -------------------------------------------------------------- create / open
    @classmethod
    def create(cls, config: Config) -> "Run":
        """A fresh run folder ``runs_dir/name`` (an earlier run of that name is replaced;
        any other existing file or folder there is an error, never deleted)."""
        path = Path(config.runs_dir) / config.name
        if path.exists():
            if path.is_dir() and ((path / "config.toml").is_file() or not any(path.iterdir())):
                shutil.rmtree(path)  # an earlier run of that name: start afresh
            else:
                raise RunError(f"{path} exists and is not a seqlab run folder; choose another "
                               f"name = ... or runs_dir = ... in the config.")
        (path / "plots").mkdir(parents=True)
        run = cls(path, config)
        atomic_write(run.file("config.toml"), config.to_toml().encode("utf-8"))
        return run

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        """An existing run folder; a clear error when it is not one."""
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: no such run folder; runs are created by "
                           f"`seqlab train CONFIG.toml` under runs/.")
        if not (path / "config.toml").is_file():
            raise RunError(f"{path}: not a seqlab run folder (config.toml is missing).")
        return cls(path, Config.load(path / "config.toml"))

    # -------------------------------------------------------------- small files
    def write_json(self, name: str, obj) -> None:
        write_json(self.file(name), obj)

    def read_json(self, name: str):
        path = self.file(name)
        if not path.is_file():
            raise RunError(f"{path}: missing; the run did not finish training "
                           f"(continue it with `seqlab train --resume {self.path}`).")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise RunError(f"{path}: corrupt JSON ({err}).") from None

    def write_history(self, history: list[dict]) -> None:
        """history.csv: one row per epoch, columns in first-seen order."""
        columns: list[str] = []
        for row in history:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        atomic_write(self.file("history.csv"), buf.getvalue().encode("utf-8"))

    def read_history(self) -> list[dict]:
        path = self.file("history.csv")
        if not path.is_file():
            return []
        with open(path, encoding="utf-8") as f:
            return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]

    # -------------------------------------------------------------- the model
    def save_model(self, model: nn.Module) -> None:
        """model.safetensors + model.json (task, [model] section, parameter shapes)."""
        state = model.state_dict()
        atomic_save_tensors(self.file("model.safetensors"), state, {"format": "seqlab-run"})
        self.write_json("model.json", {
            "format": FORMAT, "task": self.config.task,
            "model": self.config.to_dict()["model"],
            "tensors": {k: list(v.shape) for k, v in state.items()},
        })

    def load_weights(self, model: nn.Module, name: str = "model.safetensors") -> None:
        """Load saved weights into ``model``; a clear error if they do not fit it."""
        path = self.file(name)
        if not path.is_file():
            raise RunError(f"{path}: missing; the run has no trained model yet "
                           f"(train it with `seqlab train`, or --resume it).")
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise RunError(f"{path}: not a readable safetensors file ({err}).") from None
        load_state(model, state, str(path))

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                        epoch: int, history: list[dict], best: Optional[tuple] = None) -> None:
        """Everything needed to continue after ``epoch`` (0-based, completed); ``best`` =
        (score, epoch, weights) of the best validation epoch so far, when kept."""
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        if best is not None:
            tensors.update({f"best.{k}": v for k, v in best[2].items()})
        opt = optimizer.state_dict()
        opt_scalars = {}
        for idx, state in opt["state"].items():
            for key, value in state.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{idx}.{key}"] = value
                else:
                    opt_scalars[f"{idx}.{key}"] = value
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = s
        np_state = np.random.get_state()
        tensors["rng.numpy"] = torch.from_numpy(np_state[1].astype(np.int64))
        atomic_save_tensors(self.file("checkpoint.safetensors"), tensors)
        self.write_json("checkpoint.json", {
            "format": FORMAT, "epoch": epoch, "history": history,
            "param_groups": opt["param_groups"], "optim_scalars": opt_scalars,
            "rng_numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "rng_python": _py_state_to_json(random.getstate()),
            "best": None if best is None else {"score": best[0], "epoch": best[1]},
        })

    def has_checkpoint(self) -> bool:
        return self.file("checkpoint.json").is_file() and \
            self.file("checkpoint.safetensors").is_file()

    def load_checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer):
        """Restore model, optimizer and RNG states; returns (next_epoch, history, best)."""
        if not self.has_checkpoint():
            raise RunError(f"{self.path}: no checkpoint to resume from (it is written "
                           f"after each completed epoch).")
        meta = self.read_json("checkpoint.json")
        path = self.file("checkpoint.safetensors")
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise RunError(f"{path}: not a readable checkpoint ({err}).") from None
        load_state(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")},
                   str(path))
        state: dict = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                state.setdefault(int(idx), {})[name] = value
        for key, value in meta["optim_scalars"].items():
            idx, name = key.split(".", 1)
            state.setdefault(int(idx), {})[name] = value
        try:
            optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        except (ValueError, KeyError) as err:
            raise RunError(f"{path}: optimizer state does not fit this model ({err}).") from None
        torch.set_rng_state(tensors["rng.torch"])
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        kind, pos, has_gauss, cached = meta["rng_numpy"]
        np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos,
                             has_gauss, cached))
        random.setstate(_py_state_from_json(meta["rng_python"]))
        best = meta.get("best")
        if best is not None:
            best = (best["score"], best["epoch"],
                    {k[5:]: v for k, v in tensors.items() if k.startswith("best.")})
        return meta["epoch"] + 1, meta["history"], best


def load_state(model: nn.Module, state: dict, source: str) -> None:
    """``model.load_state_dict`` with a one-sentence error on any mismatch."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
             for k, v in own.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or extra or wrong:
        detail = (f"missing {missing[:3]}" if missing else
                  f"unexpected {extra[:3]}" if extra else f"shape mismatch {wrong[:2]}")
        raise RunError(f"{source}: the saved weights do not fit the model built from "
                       f"config.toml ({detail}); the checkpoint comes from another config "
                       f"or seqlab version, so retrain with `seqlab train`.")
    model.load_state_dict(state)


def _py_state_to_json(state):
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _py_state_from_json(obj):
    version, internal, gauss = obj
    return (version, tuple(internal), gauss)
