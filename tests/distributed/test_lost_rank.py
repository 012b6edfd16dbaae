"""A rank killed mid-run: ``seqlab train --nproc 2`` stops with one sentence (no hang:
the collectives time out), and ``--resume`` continues from the last checkpoint, on 1
process (a run checkpointed by 2 resumes with 1)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from launch import ROOT, env  # noqa: E402

from seqlab.checkpoint_files import read_meta  # noqa: E402

EPOCHS = 5


def write_config(tmp_path: Path) -> Path:
    text = tmp_path / "phrases.txt"
    text.write_text("\n".join(["le chat dort .", "le chien court .", "la voiture roule ."]
                              * 300), encoding="utf-8")
    cfg = tmp_path / "lm.toml"
    cfg.write_text(f'task = "generate"\nruns_dir = "{tmp_path}/runs"\n'
                   f'[data]\ndataset = "file"\npath = "{text}"\nlevel = "word"\nseq_len = 12\n'
                   f'[model]\ncell = "lstm"\nunits = 16\nembedding_dim = 8\n'
                   f'[training]\nepochs = {EPOCHS}\nbatch_size = 8\nlearning_rate = 0.02\n')
    return cfg


def rank_pid(rank: int, deadline: float) -> int:
    """The pid of the process whose environment says RANK=rank (a child of the test)."""
    while time.time() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"RANK={rank}".encode() in environ and \
                    f"SEQLAB_TEST_RUN={os.getpid()}".encode() in environ:
                return int(pid)
        time.sleep(0.2)
    raise AssertionError(f"no process with RANK={rank} appeared")


def seqlab(*args, timeout=240):
    e = dict(env(), SEQLAB_TEST_RUN=str(os.getpid()))
    return subprocess.Popen([sys.executable, "-m", "seqlab", *map(str, args)], cwd=ROOT,
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("resume_nproc", [1])  # a run of 2 resumed by 1
def test_a_killed_rank_stops_the_run_and_resume_continues(tmp_path, resume_nproc):
    cfg = write_config(tmp_path)
    run_dir = tmp_path / "runs" / "lm"
    proc = seqlab("train", cfg, "--quiet", "--nproc", 2)
    try:
        deadline = time.time() + 180
        while not (run_dir / "checkpoint.safetensors").exists():  # epoch 1 saved
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
            time.sleep(0.1)
        os.kill(rank_pid(1, deadline), signal.SIGKILL)  # during epoch 2
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode != 0
    message = [line for line in err.splitlines() if line.startswith("seqlab: error:")]
    assert len(message) == 1, err[-3000:]
    assert "rank 1 of 2 failed" in message[0] and "--resume" in message[0]
    saved = len(read_meta(run_dir / "checkpoint.safetensors")["history"])
    assert 1 <= saved < EPOCHS

    again = seqlab("train", "--resume", run_dir, "--quiet",
                   *(["--nproc", 2] if resume_nproc == 2 else []))
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, err[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == EPOCHS
    rows = (run_dir / "history.csv").read_text().strip().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, EPOCHS + 1))
