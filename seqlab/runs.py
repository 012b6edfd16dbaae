"""A run folder: the files of one `seqlab train` run (the training itself is
``Model.fit``; ``seqlab.models.checkpoints.RunCheckpoint`` writes the checkpoint below).

    runs/NAME/             (NAME-2, NAME-3... when NAME is taken: nothing is replaced)
      .seqlab-run          written first: marks a folder seqlab made (--overwrite needs it)
      config.toml          the configuration, as run (re-running it reproduces the metrics)
      vocab.json           vocabularies / class names / scalers the model's inputs need
      model.json           what the weights are: task, [model] section, parameter shapes
      model.safetensors    the trained weights
      checkpoint.safetensors   written atomically after every epoch, ONE file: weights,
                           optimizer state, RNG states, epoch and history (in its
                           metadata) -> `seqlab train --resume RUN` (seqlab.checkpoint_files)
      .lock                held by the process training the run (seqlab.run_lock)
      history.csv          one row per epoch (loss, validation metrics)
      metrics.json         test metrics and baselines
      plots/*.png          learning curves and the task's pictures
      report.html          everything above on one page

Every file is written to a temporary name in the same folder and then renamed
(``os.replace``), so killing the process never leaves a half-written file.
Files are safetensors + JSON only: nothing here is pickled.
"""
from __future__ import annotations

import copy
import csv
import datetime
import io
import json
import random
import shutil
import stat
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from seqlab import checkpoint_files, run_lock
from seqlab.config import Config, run_name_message, run_name_problem
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


# ---------------------------------------------------------------------- the folder
MARKER = ".seqlab-run"   # written first into every run folder seqlab creates
MAX_RUNS_OF_A_NAME = 10_000  # name, name-2, ..., name-10000


def has_marker(path: str | Path) -> bool:
    """Whether ``path`` is a real folder (not a symbolic link) that holds seqlab's marker,
    i.e. a run folder that seqlab created. Folders of runs made before seqlab wrote markers
    have none."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    marker = path / MARKER
    try:
        if not stat.S_ISREG(marker.lstat().st_mode):
            return False
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("made_by") == "seqlab"


def _check_inside(path: Path, runs_dir: Path) -> None:
    """``path`` (resolved) must be a direct child of ``runs_dir`` (resolved)."""
    if path.resolve().parent != runs_dir.resolve():
        raise RunError(f"{path} resolves to {path.resolve()}, outside runs_dir "
                       f"{runs_dir.resolve()}; seqlab writes runs only inside runs_dir: "
                       f"choose another name = ... in the config.")


def _check_replaceable(path: Path, name: str) -> None:
    """Raise unless ``path`` is a folder that seqlab made and may delete (--overwrite)."""
    fix = (f"move it away yourself, or drop --overwrite to save the new run in the next "
           f"free folder {name}-2, {name}-3...")
    if path.is_symlink():
        raise RunError(f"{path} is a symbolic link and --overwrite never deletes through a "
                       f"link; {fix}")
    if not path.is_dir():
        raise RunError(f"{path} is a file, not a run folder, and --overwrite replaces only "
                       f"run folders seqlab made; {fix}")
    if not has_marker(path):
        raise RunError(f"{path} has no {MARKER} marker, so seqlab did not create it (or it "
                       f"is a run from a seqlab version before markers), and --overwrite "
                       f"replaces only folders seqlab made; {fix}")


def _claim_folder(runs_dir: Path, name: str) -> Path:
    """Create and return the first free folder of ``name``, ``name-2``, ``name-3``...;
    ``mkdir`` claims it, so an existing entry (a file, a folder, a link) is never reused."""
    for number in range(1, MAX_RUNS_OF_A_NAME + 1):
        path = runs_dir / (name if number == 1 else f"{name}-{number}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise RunError(f"{runs_dir} already holds {name} to {name}-{MAX_RUNS_OF_A_NAME}; "
                   f"choose another name = ... in the config, or clean up runs_dir.")


class Run:
    """The files of one run. ``Run.create(cfg)`` for a new run, ``Run.open(path)`` after.

    >>> import tempfile
    >>> cfg = Config(name="demo", runs_dir=tempfile.mkdtemp())
    >>> run, again = Run.create(cfg), Run.create(cfg)
    >>> Run.open(run.path).config.name, again.path.name
    ('demo', 'demo-2')
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
    def create(cls, config: Config, overwrite: bool = False) -> "Run":
        """A new run folder inside ``config.runs_dir``: its marker first, then config.toml.

        ``config.name`` must be a plain folder name (no "/", "\\" or "..", at most 100
        characters). The folder is ``runs_dir/name`` when that is free, else the first free
        ``name-2``, ``name-3``...: an earlier run, a file or folder of yours, or a symbolic
        link already there is never touched (``run.path`` says where the run went, and the
        run's config.toml records that folder's name). With ``overwrite=True`` an existing
        ``runs_dir/name`` is deleted and created afresh instead, only when it is a real
        folder (not a link) holding the ``.seqlab-run`` marker that seqlab writes into each
        run folder it creates; the whole folder goes, files you added to it included.
        Anything else there (a link, a file, a folder of yours, a run made before seqlab
        wrote markers) raises RunError and stays as it is. ``runs_dir`` may itself be a
        link (to another disk, say); it is created when missing.
        """
        name = config.name
        if run_name_problem(name):
            raise RunError(run_name_message("config", name, run_name_problem(name)))
        runs_dir = Path(config.runs_dir)
        if runs_dir.exists() and not runs_dir.is_dir():
            raise RunError(f"runs_dir = {str(runs_dir)!r} is a file, not a folder; set "
                           f"runs_dir = ... in the config (or --runs-dir) to a folder.")
        runs_dir.mkdir(parents=True, exist_ok=True)
        path = runs_dir / name
        if overwrite and (path.is_symlink() or path.exists()):
            _check_replaceable(path, name)
            _check_inside(path, runs_dir)
            run_lock.check_free(path, "delete (--overwrite)")
            shutil.rmtree(path)  # a real folder (rmtree itself refuses links), made by seqlab
            path.mkdir()
        else:
            path = _claim_folder(runs_dir, name)
        _check_inside(path, runs_dir)
        atomic_write(path / MARKER, (json.dumps({
            "made_by": "seqlab", "format": FORMAT,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds")}) + "\n").encode("utf-8"))
        config = copy.deepcopy(config)
        config.name = path.name
        (path / "plots").mkdir()
        run = cls(path, config)
        atomic_write(run.file("config.toml"), config.to_toml().encode("utf-8"))
        return run

    def discard_if_unused(self) -> bool:
        """Delete this run folder if it holds only what ``create`` put there (the marker,
        config.toml and an empty plots/), e.g. when reading the data failed; any other file
        keeps it. Returns whether it was deleted."""
        path, made = self.path, {MARKER, "config.toml", "plots", run_lock.LOCK}
        try:
            if not has_marker(path) or not {p.name for p in path.iterdir()} <= made:
                return False
            plots = path / "plots"
            if plots.is_symlink() or (plots.is_dir() and any(plots.iterdir())):
                return False
            for name in (MARKER, "config.toml", run_lock.LOCK):
                if (path / name).is_symlink() or (path / name).exists():
                    (path / name).unlink()
            if plots.is_dir():
                plots.rmdir()
            path.rmdir()
        except OSError:
            return False
        return True

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        """An existing run folder; a clear error when it is not one."""
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path}: no such run folder; runs are created by "
                           f"`seqlab train CONFIG.toml` under runs/.")
        if not (path / "config.toml").is_file():
            raise RunError(f"{path}: not a seqlab run folder (config.toml is missing).")
        return cls(path, cls._with_older_defaults(Config.load(path / "config.toml"),
                                                  path / "config.toml"))

    @staticmethod
    def _with_older_defaults(config: Config, path: Path) -> Config:
        """A run's config.toml lists every field, so a field it lacks did not exist when
        the run was made; such a field gets the value that run trained with: a GRU in the
        cuDNN form ([model] reset_after), clipnorm as the global norm ([training]
        global_clipnorm)."""
        import tomllib
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        model, training = raw.get("model", {}), raw.get("training", {})
        if "reset_after" not in model:
            config.model.reset_after = True
        if "global_clipnorm" not in training:
            config.training.global_clipnorm = float(training.get("clipnorm", 1.0))
            config.training.clipnorm = 0.0
        return config

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
        from seqlab.integrity import DIGEST_KEY, model_json_digest
        state = model.state_dict()
        bad = checkpoint_files.non_finite(state)
        if bad:
            raise RunError(f"{self.file('model.safetensors')}: not written, the weights hold "
                           f"NaN or inf ({', '.join(bad[:3])}); lower the learning rate or "
                           f"check the inputs for NaN/inf.")
        described = {"format": FORMAT, "task": self.config.task,
                     "model": self.config.to_dict()["model"],
                     "tensors": {k: list(v.shape) for k, v in state.items()}}
        text = json.dumps(described, indent=2, ensure_ascii=False) + "\n"
        atomic_save_tensors(self.file("model.safetensors"), state,
                            {DIGEST_KEY: model_json_digest(text)})  # one key: same bytes every time
        atomic_write(self.file("model.json"), text.encode("utf-8"))

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
    CHECKPOINT = "checkpoint.safetensors"

    def save_checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                        epoch: int, history: list[dict], best: Optional[tuple] = None,
                        position: Optional[dict] = None) -> None:
        """Everything needed to continue after ``epoch`` (0-based, completed), in one
        atomically written file (``seqlab.checkpoint_files``); ``best`` = (score, epoch,
        weights) of the best validation epoch so far, when kept; ``position``: saved
        inside epoch ``epoch + 1`` (``EpochPosition.state()``)."""
        checkpoint_files.save(self.file(self.CHECKPOINT), model, optimizer, epoch,
                              history, best, position)

    def has_checkpoint(self) -> bool:
        return checkpoint_files.exists(self.file(self.CHECKPOINT))

    def checkpoint_meta(self) -> dict:
        """The checkpoint's epoch, history and best epoch (checked; RunError if corrupt)."""
        return checkpoint_files.read_meta(self.file(self.CHECKPOINT))

    def load_checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer):
        """Restore model, optimizer and RNG states; returns (next_epoch, history, best)."""
        if not self.has_checkpoint():
            raise RunError(f"{self.path}: no checkpoint to resume from (it is written "
                           f"after each completed epoch).")
        return checkpoint_files.load(self.file(self.CHECKPOINT), model, optimizer,
                                     load_state)

    def lock(self):
        """Context manager: this process is the one writer of the run folder
        (``seqlab.run_lock``); RunError at once when another process holds it."""
        return run_lock.hold(self.path)


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
