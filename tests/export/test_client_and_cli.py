"""The reference client runs where torch and seqlab cannot be imported; ``seqlab export``
writes the folder; pt2 exports of runs load with torch alone and give seqlab's numbers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab import tasks
from seqlab.cli import main
from seqlab.export import export_run

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install "
                                          "'seqlab[export]')")

CLIENT = Path(__file__).resolve().parents[2] / "seqlab" / "export" / "client.py"

# Any import of torch or seqlab fails in the child; the client is loaded from its file.
NO_TORCH = """
import importlib.abc, importlib.util, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "seqlab"):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
spec = importlib.util.spec_from_file_location("client", sys.argv[1])
client = importlib.util.module_from_spec(spec)
spec.loader.exec_module(client)
c = client.Client(sys.argv[2])
args = json.loads(sys.argv[3])
out = c.generate(*args) if c.task == "generate" else c.predict(args)
print(json.dumps({"out": out, "torch": "torch" in sys.modules}))
"""


def _client_without_torch(folder, args):
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, str(CLIENT), str(folder),
                           json.dumps(args)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    return result["out"]


def test_client_runs_without_torch_or_seqlab(runs):
    path = runs.get("classify", cell="gru")
    run, task, model, vocab = tasks.load(path)
    texts = ["good film", "bad", "the actor was very good but the plot"]
    assert _client_without_torch(export_run(path, "onnx"), texts) == \
        task.predict(model, vocab, run.config, texts)
    path = runs.get("generate", cell="lstm", layers=2)
    run, task, model, vocab = tasks.load(path)
    want = task.sample(model, vocab, run.config, "ab", length=12, top_k=1)
    assert _client_without_torch(export_run(path, "onnx"), ["ab", 12]) == want


def test_cli_export_writes_the_folder(runs, tmp_path, capsys):
    path = runs.get("tag", cell="lstm", char_embedding_dim=4)
    assert main(["export", str(path), "--format", "onnx", "--output", str(tmp_path / "x")]) == 0
    assert "model.onnx" in capsys.readouterr().out
    meta = json.loads((tmp_path / "x" / "metadata.json").read_text())
    assert meta["task"] == "tag" and meta["format"] == "onnx"
    assert [i["name"] for i in meta["graphs"]["model"]["inputs"]] == ["words", "chars"]
    assert meta["graphs"]["model"]["inputs"][0]["shape"] == ["batch", "time"]
    assert json.loads((tmp_path / "x" / "vocab.json").read_text())["tags"] == meta["tags"]
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert "error" in capsys.readouterr().err


def test_pt2_runs_match_seqlab(runs, tmp_path):
    path = runs.get("classify", cell="lstm", bidirectional=True, layers=2)
    run, task, model, vocab = tasks.load(path)
    folder = export_run(path, "pt2", tmp_path / "cls")
    program = torch.export.load(str(folder / "model.pt2")).module()
    ids = torch.tensor([[2, 3, 4, 5, 6, 7, 8, 9], [4, 5, 0, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        torch.testing.assert_close(program(ids), model(ids), rtol=1e-5, atol=1e-5)
    path = runs.get("generate", cell="gru")
    run, task, model, vocab = tasks.load(path)
    folder = export_run(path, "pt2", tmp_path / "lm")
    step = torch.export.load(str(folder / "step.pt2")).module()
    h, states = torch.zeros(1, 3, 8), None
    for token in ([2, 3, 4], [5, 2, 2]):
        token = torch.tensor(token)
        with torch.no_grad():
            got, h = step(token, h)
            want, states = model.step(token, states)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert json.loads((folder / "metadata.json").read_text())["format"] == "pt2"


def test_pt2_seq2seq_encoder_and_step(runs, tmp_path):
    path = runs.get("seq2seq", arch="transformer", units=8, heads=2)
    run, task, model, vocab = tasks.load(path)
    folder = export_run(path, "pt2", tmp_path)
    encoder = torch.export.load(str(folder / "encoder.pt2")).module()
    step = torch.export.load(str(folder / "step.pt2")).module()
    src = torch.tensor([[3, 4, 5, 6, 7, 3], [4, 5, 0, 0, 0, 0], [6, 0, 0, 0, 0, 0]])
    memory, *state, mask = encoder(src)
    want_memory, want_state, want_mask = model.encode(src)
    token = torch.full((3,), 2)
    for _ in range(4):                          # the self-attention cache grows each step
        logits, *state = step(token, *state, memory, mask)
        with torch.no_grad():
            want, want_state, _ = model.step(token, want_state, want_memory, want_mask)
        torch.testing.assert_close(logits, want, rtol=1e-5, atol=1e-5)
        token = want.argmax(-1)
