"""Resumable mid-epoch on 2 processes: a run checkpointed after a batch (the
``DistributedBucketSampler`` position saved with the weights) and stopped resumes at the
next batch and ends with the weights of an uninterrupted run (one process, same global
batches: to float rounding)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from launch import run, torchrun  # noqa: E402
from test_same_weights import max_diff  # noqa: E402

from seqlab.runs import Run  # noqa: E402

SCRIPT = Path(__file__).with_name("mid_epoch.py")


def test_two_processes_resume_mid_epoch_to_the_uninterrupted_weights(tmp_path):
    run([SCRIPT, tmp_path, "straight"])
    run(torchrun(2, SCRIPT, tmp_path, "cut"))
    meta = Run.open(tmp_path / "runs" / "cut").checkpoint_meta()
    assert (meta["position"]["epoch"], meta["position"]["batch"]) == (1, 2)
    run(torchrun(2, SCRIPT, tmp_path, "resume"))
    straight, resumed = (json.loads((tmp_path / f"{p}.json").read_text())
                         for p in ("straight", "resume"))
    assert (straight["world"], resumed["world"]) == (1, 2)
    assert resumed["batches"] == [2, 3, 4]  # the rest of epoch 2 only
    assert max_diff(straight["weights"], resumed["weights"]) < 1e-6
