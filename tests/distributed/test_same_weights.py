"""Two processes (gloo, CPU) with global batch B train to the weights of one process
with batch B: padded arrays and bucketed variable-length lists, an LSTM classifier and
a Transformer; only rank 0 wrote files; the logged metrics are the whole sets'."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from launch import WORKER, run, torchrun  # noqa: E402


def load(folder, rank=0):
    return json.loads((folder / f"result-rank{rank}.json").read_text())


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(np.array(a[k]) - np.array(b[k])))) for k in a)


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_two_processes_train_to_the_one_process_weights(tmp_path, kind):
    one, two = tmp_path / "one", tmp_path / "two"
    run([WORKER, one, kind, "padded,lists"])
    run(torchrun(2, WORKER, two, kind, "padded,lists"))
    for source in ("padded", "lists"):
        a, b, b1 = load(one / source), load(two / source), load(two / source, rank=1)
        assert (a["world"], b["world"]) == (1, 2)
        assert max_diff(a["start"], a["weights"]) > 1e-3  # the steps moved the weights
        assert max_diff(a["weights"], b["weights"]) < 1e-6, source
        assert max_diff(b["weights"], b1["weights"]) == 0.0  # the ranks agree exactly
        for key, values in a["history"].items():  # loss, accuracy, val_*: whole sets
            np.testing.assert_allclose(b["history"][key], values, rtol=0, atol=1e-6)
        # 21 validation rows: an accuracy of the whole set is a multiple of 1/21
        acc = np.array(b["history"]["val_accuracy"]) * 21
        np.testing.assert_allclose(acc, np.round(acc), atol=1e-6)
        written = sorted(p.name for p in (two / source).glob("epoch*.json"))
        assert written == ["epoch0-rank0.json", "epoch1-rank0.json"]
