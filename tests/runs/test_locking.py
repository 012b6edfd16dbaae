"""One writer per run folder: a second `seqlab train` on a held folder stops at once."""
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seqlab import run_lock, tasks
from seqlab.cli import main
from seqlab.run_lock import RunLocked
from seqlab.runs import Run

ROOT = Path(__file__).resolve().parents[2]


def _holder_process(folder: Path, seconds: float = 60):
    """A real second process that takes the folder's lock, says so, then sleeps."""
    code = textwrap.dedent(f"""
        import sys, time
        from seqlab import run_lock
        with run_lock.hold({str(folder)!r}):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def trained(tmp_path, small):
    cfg = small(tmp_path, "held", epochs=1)
    run, _ = tasks.train(cfg, verbose=False)
    return run.path


def test_second_resume_stops_at_once_naming_the_other_process(trained, capsys):
    proc = _holder_process(trained)
    before = {p.name: p.stat().st_mtime_ns for p in trained.iterdir()}
    try:
        start = time.monotonic()
        assert main(["train", "--resume", str(trained), "--quiet"]) == 2
        assert time.monotonic() - start < 20          # at once, not after training
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"process {proc.pid} on " in err and "in use by" in err
        assert str(trained) in err
        info = run_lock.holder(trained)
        assert info["pid"] == proc.pid and info["started"]
        after = {p.name: p.stat().st_mtime_ns for p in trained.iterdir()}
        assert after == before                       # nothing written by the refused run
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_lock_dies_with_its_process_even_on_kill_9(trained):
    proc = _holder_process(trained)
    assert run_lock.holder(trained)["pid"] == proc.pid
    proc.kill()                                      # SIGKILL: no cleanup runs
    proc.wait(timeout=30)
    assert run_lock.holder(trained) is None          # never stale
    _, metrics = tasks.train(resume=trained, verbose=False)
    assert metrics["epochs"] == 1


def test_overwrite_refuses_a_folder_in_use(tmp_path, small, trained):
    proc = _holder_process(trained)
    try:
        with pytest.raises(RunLocked, match=f"process {proc.pid} .*delete"):
            Run.create(small(tmp_path, "held", epochs=1), overwrite=True)
        assert (trained / "checkpoint.safetensors").is_file()
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_lock_is_released_after_an_exception_and_records_the_holder(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    with pytest.raises(RuntimeError):
        with run_lock.hold(folder):
            info = json.loads((folder / run_lock.LOCK).read_text())
            assert info["pid"] == os.getpid()
            with pytest.raises(RunLocked, match=f"process {os.getpid()}"):
                with run_lock.hold(folder):     # a second holder, even in this process
                    pass
            raise RuntimeError("boom")
    assert run_lock.holder(folder) is None
    with run_lock.hold(folder):
        pass


def test_a_failed_new_run_leaves_no_folder_behind_its_lock(tmp_path, helpers):
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file",
                                                "path": str(tmp_path / "missing.csv")})
    with pytest.raises(Exception):
        tasks.train(cfg, verbose=False)
    assert not (tmp_path / "runs" / "run").exists()
