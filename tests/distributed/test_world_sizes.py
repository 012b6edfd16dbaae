"""Resume across world sizes: a run checkpointed on 1 process continues on 2 to the same
losses and test metric as a run that never stopped, to float rounding (the global batches
are the same; the sums' order is not). Checked both ways while writing this (2 -> 1 too);
the suite keeps 1 -> 2 here and 2 -> 1 after a killed rank (test_lost_rank.py)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from launch import run  # noqa: E402
from test_lost_rank import write_config  # noqa: E402


def losses(run_dir: Path) -> list:
    rows = (run_dir / "history.csv").read_text().strip().splitlines()[1:]
    return [float(r.split(",")[1]) for r in rows]


@pytest.mark.parametrize("first, then", [(1, 2)])  # 2 -> 1: test_lost_rank.py
def test_resume_on_another_number_of_processes(tmp_path, first, then):
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("epochs = 5", "epochs = 2"))
    nproc = (lambda n: ["--nproc", n] if n > 1 else [])
    run(["-m", "seqlab", "train", cfg, "--quiet", "--runs-dir", tmp_path / "a", *nproc(first)])
    run_dir = tmp_path / "a" / "lm"
    config = run_dir / "config.toml"
    config.write_text(config.read_text().replace("epochs = 2", "epochs = 3"))
    run(["-m", "seqlab", "train", "--resume", run_dir, "--quiet", *nproc(then)])
    run(["-m", "seqlab", "train", cfg, "--quiet", "--epochs", 3, "--runs-dir", tmp_path / "b"])
    straight = tmp_path / "b" / "lm"
    assert len(losses(run_dir)) == 3
    np.testing.assert_allclose(losses(run_dir), losses(straight), rtol=0, atol=1e-5)
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, straight))
    assert abs(a["cross_entropy"] - b["cross_entropy"]) < 1e-5
    assert losses(straight)[0] - losses(straight)[2] > 1e-2  # the epochs changed the model
