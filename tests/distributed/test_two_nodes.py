"""Two torchrun agents on this machine (``--nnodes 2``, node ranks 0 and 1, c10d
rendezvous on 127.0.0.1), one process each, train to the weights of one process."""
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from launch import ROOT, WORKER, env, free_port, run  # noqa: E402
from test_same_weights import load, max_diff  # noqa: E402


def test_two_agents_train_to_the_one_process_weights(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    run([WORKER, one, "lstm", "lists"])
    endpoint = f"127.0.0.1:{free_port()}"
    agents = [subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2",
         "--nproc-per-node", "1", "--node-rank", str(node), "--rdzv-backend", "c10d",
         "--rdzv-endpoint", endpoint, "--rdzv-id", "two-nodes", "--local-addr", "127.0.0.1",
         str(WORKER), str(two), "lstm", "lists"],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for node in (0, 1)]
    try:
        outs = [a.communicate(timeout=240)[0] for a in agents]
    finally:
        for a in agents:
            a.kill()
    assert [a.returncode for a in agents] == [0, 0], "\n".join(o[-2000:] for o in outs)
    a, b = load(one / "lists"), load(two / "lists")
    assert b["world"] == 2
    assert max_diff(a["start"], a["weights"]) > 1e-3
    assert max_diff(a["weights"], b["weights"]) < 1e-6
    np.testing.assert_allclose(b["history"]["val_loss"], a["history"]["val_loss"], atol=1e-6)
