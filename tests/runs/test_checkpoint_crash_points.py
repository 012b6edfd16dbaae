"""A crash at every file operation of a checkpoint write, in turn, then `--resume`: the
run must end exactly as an uninterrupted one (history.csv text, weights and metrics
bit-identical on one thread). Two kinds of crash are injected, as SQLite's crash tests do:

- "kill": the process dies at the operation (an exception no handler catches, and every
  clean-up after it fails, so half-written temporary files stay, as after kill -9);
- "disk full": the operation fails with OSError(ENOSPC) (a write writes half its bytes
  first) and seqlab's own error handling runs.

The operations are counted on one checkpoint write first (the checkpoint, then the
derived history.csv), so a new operation in the writer is covered without editing this
file. A last test kills a real process with SIGKILL while it trains.
"""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seqlab import tasks
from seqlab.cli import main
from seqlab.models.checkpoints import RunCheckpoint

EPOCHS = 3
PATCHED = ("open", "fsync", "chmod", "replace", "close", "unlink")


class Killed(BaseException):
    """The process died at this operation."""


class _File:
    """A file object whose write and flush count as operations."""

    def __init__(self, f, faults):
        self.f, self.faults = f, faults

    def write(self, data):
        self.faults.op("write", len(data), partial=lambda: self.f.write(data[:len(data) // 2]))
        return self.f.write(data)

    def flush(self):
        self.faults.op("flush")
        return self.f.flush()

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)


class Faults:
    """Counts the file operations of RunCheckpoint.on_epoch_end at epoch ``target`` and
    crashes at operation number ``at`` (None: count only)."""

    def __init__(self, monkeypatch, target: int):
        self.log, self.at, self.mode, self.dead = [], None, "kill", False
        self.armed = False
        real = {name: getattr(os, name) for name in PATCHED + ("fdopen",)}

        def counted(name):
            def wrapper(*args, **kwargs):
                if self.dead and name == "unlink":
                    raise OSError(errno.EIO, "the process is dead")  # no clean-up
                self.op(name, args[-1] if name == "replace" else args[0] if args else "")
                return real[name](*args, **kwargs)
            return wrapper

        for name in PATCHED:
            monkeypatch.setattr(os, name, counted(name))

        def fdopen(*args, **kwargs):
            f = real["fdopen"](*args, **kwargs)
            return _File(f, self) if self.armed else f
        monkeypatch.setattr(os, "fdopen", fdopen)

        plain = RunCheckpoint.on_epoch_end

        def on_epoch_end(callback, epoch, logs=None):
            self.armed = epoch == target
            try:
                plain(callback, epoch, logs)
            finally:
                self.armed = False
        monkeypatch.setattr(RunCheckpoint, "on_epoch_end", on_epoch_end)

    def op(self, name, detail="", partial=None):
        if not self.armed:
            return
        index = len(self.log)
        self.log.append(f"{name}({Path(str(detail)).name if name != 'write' else detail})")
        if index != self.at:
            return
        self.armed = False
        if self.mode == "kill":
            self.dead = True
            raise Killed(f"killed at operation {index}: {self.log[-1]}")
        if partial is not None:
            partial()
        raise OSError(errno.ENOSPC, "No space left on device (injected)")


@pytest.fixture(scope="module")
def straight(tmp_path_factory, small):
    """The uninterrupted run: its history.csv, weights and metrics."""
    tmp = tmp_path_factory.mktemp("straight")
    run, metrics = tasks.train(small(tmp, "straight", epochs=EPOCHS), verbose=False)
    return ((run.path / "history.csv").read_text(),
            (run.path / "model.safetensors").read_bytes(), metrics)


def _count(tmp_path, monkeypatch, target, small):
    faults = Faults(monkeypatch, target)
    tasks.train(small(tmp_path, "count", epochs=EPOCHS), verbose=False)
    ops = list(faults.log)
    names = [op.split("(")[0] for op in ops]
    # the premise: one checkpoint write is temp file, write, flush, fsync, rename, folder
    # fsync; then history.csv the same way
    assert names.count("replace") == 2 and "fsync" in names and "write" in names
    assert ops.index("replace(checkpoint.safetensors)") < ops.index("replace(history.csv)")
    return faults, ops


def _crash_and_resume(tmp_path, faults, mode, at, name, straight, small, cli=False):
    faults.mode, faults.at, faults.dead, faults.log = mode, at, False, []
    cfg = small(tmp_path, name, epochs=EPOCHS)
    try:
        tasks.train(cfg, verbose=False)
    except (Killed, OSError):
        pass  # the crash (a full disk at a folder fsync is ignored: training goes on)
    finally:
        faults.dead, faults.at = False, None
    run_dir = tmp_path / "runs" / name
    if cli:
        assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    else:
        tasks.train(resume=run_dir, verbose=False)
    history, weights, metrics = straight
    where = f"{mode} at operation {at}"
    assert (run_dir / "history.csv").read_text() == history, where
    assert (run_dir / "model.safetensors").read_bytes() == weights, where
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics, where


@pytest.mark.parametrize("mode,target", [("kill", 1), ("disk full", 1), ("kill", 0)])
def test_crash_at_every_operation_of_a_checkpoint_write_then_resume(
        tmp_path, monkeypatch, straight, small, mode, target):
    """target 1: the second epoch's checkpoint (the first one stays); target 0: the first
    checkpoint, so --resume starts the run from the beginning."""
    faults, ops = _count(tmp_path, monkeypatch, target, small)
    assert len(ops) >= 12
    print(f"{len(ops)} operations:", ", ".join(ops))
    for at in range(len(ops)):
        _crash_and_resume(tmp_path, faults, mode, at, f"crash-{at}", straight, small,
                          cli=at == 0)


def test_real_kill_9_mid_run_then_resume(tmp_path, straight, small):
    """A process training the run is SIGKILLed once its first checkpoint exists (each
    epoch then sleeps, so the kill lands mid-run); `--resume` ends as the straight run."""
    root = Path(__file__).resolve().parents[2]
    cfg = small(tmp_path, "killed", epochs=EPOCHS)
    (tmp_path / "killed.toml").write_text(cfg.to_toml())
    code = textwrap.dedent(f"""
        import time
        from seqlab import tasks
        from seqlab.config import Config
        cfg = Config.load({str(tmp_path / "killed.toml")!r})
        tasks.train(cfg, callbacks=[lambda epoch, row: time.sleep(30)], verbose=False)
    """)
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    run_dir = tmp_path / "runs" / "killed"
    deadline = time.monotonic() + 240
    try:
        while not (run_dir / "history.csv").exists():
            assert proc.poll() is None, "the training process ended before it was killed"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    history, weights, metrics = straight
    assert (run_dir / "history.csv").read_text() == history
    assert (run_dir / "model.safetensors").read_bytes() == weights


def test_a_corrupt_or_inconsistent_checkpoint_is_refused_with_a_sentence(
        tmp_path, capsys, small):
    from safetensors.torch import load_file, save_file
    run, _ = tasks.train(small(tmp_path, "bad", epochs=2), verbose=False)
    path = run.path / "checkpoint.safetensors"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])                      # torn file
    assert main(["train", "--resume", str(run.path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "a corrupt checkpoint" in err and len(err.splitlines()) == 1
    path.write_bytes(good)
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["seqlab_checkpoint"])
    meta["history"] = meta["history"][:1]                          # epoch 2, one row
    save_file(load_file(str(path)), str(path), metadata={"seqlab_checkpoint": json.dumps(meta)})
    assert main(["train", "--resume", str(run.path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "an inconsistent checkpoint (epoch 2 but 1 rows of history)" in err


def test_a_two_file_checkpoint_of_older_versions_still_resumes(tmp_path, straight, small):
    """checkpoint.safetensors without the metadata + checkpoint.json, as written before."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    def stop_after_two(epoch, row):
        if epoch == 1:
            raise KeyboardInterrupt
    with pytest.raises(tasks.TrainingInterrupted):
        tasks.train(small(tmp_path, "old", epochs=EPOCHS), callbacks=[stop_after_two],
                    verbose=False)
    run_dir = tmp_path / "runs" / "old"
    path = run_dir / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()["seqlab_checkpoint"]
    save_file(load_file(str(path)), str(path))                     # no metadata
    (run_dir / "checkpoint.json").write_text(meta)
    tasks.train(resume=run_dir, verbose=False)
    assert (run_dir / "history.csv").read_text() == straight[0]
    assert not (run_dir / "checkpoint.json").exists()              # replaced by the one file


def test_a_run_killed_before_it_wrote_anything_starts_over_on_resume(tmp_path, straight,
                                                                      small, capsys):
    """Only the marker and config.toml (killed while reading the data): no complaint
    about a missing vocab.json, the run trains from epoch 1 and matches the straight one."""
    from seqlab.runs import Run
    run = Run.create(small(tmp_path, "early", epochs=EPOCHS))
    assert not (run.path / "vocab.json").exists()
    assert main(["train", "--resume", str(run.path), "--quiet"]) == 0
    assert "vocab.json" not in capsys.readouterr().err
    assert (run.path / "history.csv").read_text() == straight[0]
    assert (run.path / "model.safetensors").read_bytes() == straight[1]
