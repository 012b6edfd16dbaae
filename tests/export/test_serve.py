"""``seqlab serve`` in a subprocess on a free loopback port: every endpoint, concurrent
requests, streamed generation and the 4xx answers to bad requests; then it is stopped."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from seqlab import tasks
from seqlab.export import export_run

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (seqlab[export])")
pytest.importorskip("fastapi", reason="FastAPI is not installed (seqlab[serve])")
pytest.importorskip("uvicorn", reason="uvicorn is not installed (seqlab[serve])")

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(folder, *args):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "seqlab.cli", "serve", str(folder),
                             "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if call(url + "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the server did not start in 90 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def call(url, body=None, raw: bytes = None, method=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def reason(text: str) -> str:
    sentence = json.loads(text)["error"]
    assert sentence.endswith(".") and "Traceback" not in sentence and "\n" not in sentence
    return sentence


def test_serve_classifier(runs):
    path = runs.get("classify", cell="gru")
    run, task, model, vocab = tasks.load(path)
    texts = ["good film", "bad", "the actor was very good but the plot", "music bad plot"]
    want = task.predict(model, vocab, run.config, texts)
    with server(export_run(path, "onnx"), "--max-wait-ms", "20") as url:
        assert call(url + "/health") == (200, '{"status":"ok"}')
        status, text = call(url + "/metadata")
        meta = json.loads(text)
        assert status == 200 and meta["task"] == "classify"
        assert meta["labels"] == vocab["classes"] and meta["inputs"]["model"][0]["name"] == "ids"
        status, text = call(url + "/predict", {"inputs": texts})
        assert status == 200 and json.loads(text)["outputs"] == want
        with ThreadPoolExecutor(16) as pool:                   # batched together
            results = list(pool.map(lambda t: call(url + "/predict", {"inputs": [t]}),
                                    texts * 8))
        assert [json.loads(t)["outputs"][0] for _, t in results] == want * 8
        bad = [(call(url + "/predict", raw=b"{not json"), 400, "not valid JSON"),
               (call(url + "/predict", {"texts": ["a"]}), 422, '"inputs"'),
               (call(url + "/predict", {"inputs": []}), 422, "non-empty"),
               (call(url + "/predict", [1, 2]), 422, "JSON object"),
               (call(url + "/predict", {"inputs": [3]}), 422, "inputs[0]"),
               (call(url + "/predict", {"inputs": ["a"] * 65}), 413, "limit is 64"),
               (call(url + "/predict", {"inputs": ["a " * 400]}), 413, "limit is 512"),
               (call(url + "/generate", {"prompt": "a"}), 400, "/predict"),
               (call(url + "/nothing"), 404, "no such endpoint"),
               (call(url + "/predict", method="GET"), 405, "not allowed")]
        for (status, text), code, words in bad:
            assert status == code, (code, text)
            assert words in reason(text)


def test_serve_generates_streamed_tokens(runs):
    path = runs.get("generate", cell="lstm", layers=2)
    run, task, model, vocab = tasks.load(path)
    want = task.sample(model, vocab, run.config, "ab", length=10, top_k=1)
    with server(path) as url:                                  # a run folder: exported first
        status, text = call(url + "/generate", {"prompt": "ab", "max_tokens": 10})
        lines = [json.loads(l) for l in text.strip().splitlines()]
        assert status == 200 and len(lines) == 11
        assert "ab" + "".join(l["token"] for l in lines[:-1]) == want == lines[-1]["text"]
        for body, code in [({"prompt": "ab", "max_tokens": 10_000}, 422),
                           ({"prompt": "ab", "max_tokens": "5"}, 422),
                           ({"prompt": ""}, 422), ({"prompt": "x" * 600}, 413),
                           ({"max_tokens": 5}, 422)]:
            status, text = call(url + "/generate", body)
            assert status == code, (body, text)
            reason(text)
        assert call(url + "/predict", {"inputs": ["ab"]})[0] == 400
