"""onnxruntime on an exported run gives seqlab's numbers (1e-5, fp32) on batches of mixed
lengths, for every run type and recurrent layer family; greedy generation and decoding
through the exported step graphs give seqlab's tokens."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab import tasks
from seqlab.export import export_run

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install "
                                          "'seqlab[export]')")
from seqlab.export.client import Client, pad  # noqa: E402

TEXTS = ["good", "a very good film is the plot", "bad bad", "the actor was very bad scene",
         "music", "zzz unknown words good"]


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", [
    {"cell": "lstm"}, {"cell": "gru"}, {"cell": "rnn"},
    {"cell": "lstm", "bidirectional": True, "layers": 2},
    {"cell": "gru", "bidirectional": True},
    {"arch": "cnn", "filters": 4, "kernel_sizes": [2, 3]}])
def test_classify_matches(runs, model):
    path = runs.get("classify", **model)
    client = Client(export_run(path, "onnx"))
    run, task, m, vocab = tasks.load(path)
    seqs = task._encode_texts(vocab, run.config, TEXTS)
    assert len({len(s) for s in seqs}) > 3                     # mixed lengths, one batch
    with torch.no_grad():
        want = m(pad_t(seqs)).numpy()
    _close(client.logits(TEXTS), want)
    assert client.predict(TEXTS) == task.predict(m, vocab, run.config, TEXTS)


def pad_t(seqs):
    return torch.as_tensor(pad(seqs))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_forecast_matches(runs, cell):
    path = runs.get("forecast", cell=cell)
    client = Client(export_run(path, "onnx"))
    run, task, m, vocab = tasks.load(path)
    x = torch.randn(5, vocab["window"], 1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        _close(client.logits(x.numpy()), m(x).numpy())
        # a longer window than trained on runs too (dynamic time)
        x2 = torch.randn(3, vocab["window"] + 7, 1)
        _close(client.logits(x2.numpy()), m(x2).numpy())
    history = list(10 + np.sin(np.arange(40) / 2))
    line = ", ".join(f"{v:.6f}" for v in history)
    want = [float(v) for v in task.predict(m, vocab, run.config, [line])[0].split(",")]
    got = client.predict([[float(f"{v:.6f}") for v in history]])[0]
    np.testing.assert_allclose(np.ravel(got), want, rtol=1e-3)       # printed with 4 digits


@pytest.mark.parametrize("model", [{"cell": "lstm", "char_embedding_dim": 4},
                                   {"cell": "gru", "char_embedding_dim": 0, "layers": 2}])
def test_tag_matches(runs, model):
    path = runs.get("tag", **model)
    client = Client(export_run(path, "onnx"))
    run, task, m, vocab = tasks.load(path)
    sents = [["bir", "balar"], ["bir", "keik", "molar", "sitdi"], ["xyz"],
             ["bir", "unseenlar", "rudi", "bir", "dopik", "fenlar"]]
    w, c = task._inputs(vocab, sents)
    with torch.no_grad():
        want = m(w, c).numpy()
    got = client.logits(sents)
    for k, s in enumerate(sents):                              # real tokens only
        _close(got[k, :len(s)], want[k, :len(s)])
    assert client.predict([" ".join(s) for s in sents]) == \
        [[x.split("/")[1] for x in line.split()] for line in
         task.predict(m, vocab, run.config, [" ".join(s) for s in sents])]


@pytest.mark.parametrize("model", [{"cell": "lstm", "layers": 2}, {"cell": "gru"},
                                   {"cell": "rnn"}])
def test_generate_greedy_matches(runs, model, capsys):
    from seqlab.cli import main
    path = runs.get("generate", **model)
    client = Client(export_run(path, "onnx"))
    for prompt in ["ab", "hij. ab"]:                           # `seqlab generate`, greedy
        assert main(["generate", str(path), "--prompt", prompt, "--length", "25",
                     "--top-k", "1"]) == 0
        want = capsys.readouterr().out[:-1]                    # print's newline
        assert len(want) > len(prompt) + 10
        assert client.generate(prompt, 25) == want
    run, task, m, vocab = tasks.load(path)
    # the step graph's logits equal the model's step, state carried
    ids = client.tokenizers["tokenizer"].encode("abcd")
    state, states = client._zero_states("step", 1), None
    for i in ids:
        got, state = client._lm_step(i, state)
        with torch.no_grad():
            want, states = m.step(torch.tensor([i]), states)
        _close(got, want.numpy())


@pytest.mark.parametrize("model", [{"cell": "gru", "attention": "none"},
                                   {"cell": "lstm", "attention": "luong", "layers": 2},
                                   {"cell": "gru", "attention": "bahdanau"},
                                   {"arch": "transformer", "units": 8, "heads": 2}])
def test_seq2seq_greedy_matches(runs, model):
    path = runs.get("seq2seq", **model)
    client = Client(export_run(path, "onnx"))
    run, task, m, vocab = tasks.load(path)
    sources = ["1+2", "53+17", "9+99", "0+0"]
    assert client.decode(sources) == task.predict(m, vocab, run.config, sources)
    # the first step's logits on a batch of mixed source lengths
    tok = client.tokenizers["tokenizer"]
    src = [tok.encode(s) for s in sources]
    enc = client.run("encoder", {"src": pad(src)})
    n = sum(1 for k in enc if k.startswith("state"))
    feeds = {f"state{i}": enc[f"state{i}"] for i in range(n)}
    token = np.full(len(src), client.meta["start"], dtype=np.int64)
    got = client.run("step", {"token": token, **feeds, "memory": enc["memory"],
                              "src_mask": enc["src_mask"]})["logits"]
    with torch.no_grad():
        memory, state, mask = m.encode(torch.as_tensor(pad(src)))
        want, _, _ = m.step(torch.as_tensor(token), state, memory, mask)
    _close(got, want.numpy())


@pytest.mark.parametrize("model", [{"arch": "rnn", "cell": "lstm", "layers": 2},
                                   {"arch": "rnn", "cell": "gru", "bidirectional": True},
                                   {"arch": "fcn", "filters": 4, "kernel_sizes": [5, 3, 3]}])
def test_series_classifier_takes_the_mask(model, tmp_path):
    """Series of mixed lengths: x (B, T, D) and its mask are the graph's inputs."""
    import json

    from seqlab.config import Config
    from seqlab.export.bundle import task_metadata, write_graphs
    from seqlab.export.graphs import graphs_for
    from seqlab.tasks import classify
    cfg = Config.from_dict({"task": "classify", "name": "s", "data": {"dataset": "x"},
                            "model": {"units": 6, **model}})
    vocab = {"text": False, "features": 2, "classes": ["a", "b", "c"]}
    torch.manual_seed(0)
    m = classify.build_model(cfg, vocab).eval()
    meta = task_metadata("classify", cfg, vocab)
    meta.update(format="onnx", graphs=write_graphs(graphs_for("classify", m, vocab), m,
                                                   "onnx", tmp_path))
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    rng = np.random.default_rng(0)
    series = [rng.normal(size=(n, 2)).astype(np.float32) for n in (9, 3, 14, 6)]
    x, mask = classify._batch(vocab, series)
    with torch.no_grad():
        want = m(x, mask).numpy()
    _close(Client(tmp_path).logits(series), want)
