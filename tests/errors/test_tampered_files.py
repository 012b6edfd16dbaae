"""Edited, deleted or damaged files of a run (and of a saved model): one sentence naming
the file, exit 2, nothing outside the run folder touched."""
from __future__ import annotations

import json

import pytest

COMMANDS = [["summary"], ["evaluate"]]


def _ids(cases):
    return [c[0] for c in cases]


MODEL_JSON = [
    ("deleted", None, "missing"),
    ("garbage", "not json at all", "edited or damaged"),
    ("empty", "", "edited or damaged"),
    ("units", "UNITS", "edited or damaged"),
    ("spaces", "SPACE", "edited or damaged"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=["summary", "evaluate"])
@pytest.mark.parametrize("case,text,word", MODEL_JSON, ids=_ids(MODEL_JSON))
def test_model_json_tampered(tmp_path, capsys, h, run_copy, command, case, text, word):
    path = run_copy / "model.json"
    if text is None:
        path.unlink()
    elif text == "UNITS":
        path.write_text(path.read_text().replace('"units": 4', '"units": 5'))
    elif text == "SPACE":
        path.write_text(path.read_text() + "\n")
    else:
        path.write_text(text)
    h.refused(capsys, tmp_path, [*command, run_copy], "model.json", word)


@pytest.mark.parametrize("line", ["dropout = 0.5", "bidirectional = true", "units = 8"])
def test_config_model_section_edited(tmp_path, capsys, h, run_copy, line):
    cfg = run_copy / "config.toml"
    key = line.split(" = ")[0]
    text = cfg.read_text()
    start = text.index("[model]")
    import re
    text = text[:start] + re.sub(rf"\n{key} = [^\n]*", "\n" + line, text[start:], count=1)
    cfg.write_text(text)
    msg = h.refused(capsys, tmp_path, ["summary", run_copy], "config.toml")
    assert key in msg or "shape mismatch" in msg


VOCAB = [("list", "[]"), ("empty", "{}"), ("classes-number", '{"classes": 3, "text": true}'),
         ("string", '"x"'), ("no-tokenizer", '{"classes": ["a", "b"], "text": true}'),
         ("corrupt", "{not json")]


@pytest.mark.parametrize("case,text", VOCAB, ids=_ids(VOCAB))
def test_vocab_json_wrong_shape(tmp_path, capsys, h, run_copy, case, text):
    (run_copy / "vocab.json").write_text(text)
    h.refused(capsys, tmp_path, ["summary", run_copy], "vocab.json")


CHECKPOINT = [
    ("rng-numpy-short", lambda m: m.update(rng_numpy=[1, 2]), "rng_numpy"),
    ("epoch-string", lambda m: m.update(epoch="x"), "epoch"),
    ("epoch-negative", lambda m: m.update(epoch=-4), "epoch"),
    ("history-number", lambda m: m.update(history=3), "history"),
    ("param-groups-dict", lambda m: m.update(param_groups={}), "param_groups"),
    ("not-object", None, "instead of an object"),
]


@pytest.mark.parametrize("case,edit,word", CHECKPOINT, ids=_ids(CHECKPOINT))
def test_checkpoint_description_tampered(tmp_path, capsys, h, run_copy, case, edit, word):
    """The checkpoint's description (JSON in the safetensors header) edited by hand."""
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open
    from seqlab.checkpoint_files import META_KEY
    path = run_copy / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
    meta = json.loads(metadata[META_KEY])
    if edit is None:
        meta = [meta]
    else:
        edit(meta)
    metadata[META_KEY] = json.dumps(meta)
    save_file(load_file(str(path)), str(path), metadata=metadata)
    h.refused(capsys, tmp_path, ["train", "--resume", run_copy, "--quiet"],
              "checkpoint.safetensors", word, inside=run_copy)


def test_resume_after_data_gained_a_class(tmp_path, capsys, h, run_copy):
    data = tmp_path / "reviews.csv"
    data.write_text(data.read_text() + "so so film,meh\n")
    h.refused(capsys, tmp_path, ["train", "--resume", run_copy, "--quiet"], "reviews.csv",
              "meh", "vocab.json", inside=run_copy)


def test_evaluate_after_data_lost_a_class(tmp_path, capsys, h, run_copy):
    data = tmp_path / "reviews.csv"
    lines = data.read_text().splitlines()
    data.write_text("\n".join([lines[0]] + [l for l in lines[1:] if l.endswith(",pos")]))
    h.refused(capsys, tmp_path, ["evaluate", run_copy], "reviews.csv", "neg")


WEIGHTS = [("deleted", "missing"), ("truncated", "not a readable"), ("garbage", "not a readable")]


@pytest.mark.parametrize("case,word", WEIGHTS, ids=_ids(WEIGHTS))
def test_weights_damaged(tmp_path, capsys, h, run_copy, case, word):
    path = run_copy / "model.safetensors"
    if case == "deleted":
        path.unlink()
    elif case == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:
        path.write_bytes(b"\x00" * 64)
    h.refused(capsys, tmp_path, ["summary", run_copy], "model.safetensors", word)


def test_config_toml_deleted(tmp_path, capsys, h, run_copy):
    (run_copy / "config.toml").unlink()
    h.refused(capsys, tmp_path, ["summary", run_copy], "config.toml")


def test_config_toml_garbage(tmp_path, capsys, h, run_copy):
    (run_copy / "config.toml").write_text("[model\nunits = ")
    h.refused(capsys, tmp_path, ["summary", run_copy], "config.toml", "malformed TOML")


def test_run_is_a_file(tmp_path, capsys, h):
    f = tmp_path / "run.txt"
    f.write_text("x")
    h.refused(capsys, tmp_path, ["summary", f], "run.txt")


def _saved_model(tmp_path):
    import seqlab
    from seqlab import layers
    model = seqlab.Sequential([layers.Input((5,)), layers.Embedding(50, 4),
                               layers.LSTM(3), layers.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = tmp_path / "m.safetensors"
    model.save(path)
    return path


def _edit_description(path, edit):
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    described = json.loads(meta["seqlab"])
    edit(described)
    meta["seqlab"] = json.dumps(described)
    save_file(tensors, str(path), metadata=meta)


API_CASES = [
    ("optimizer-bogus", lambda d: d["compile"]["optimizer"].update(class_name="Bogus"),
     "'Bogus'"),
    ("class-bogus", lambda d: d.update(class_name="os.system"), "m.safetensors"),
    ("format", lambda d: d.update(format="other"), "format"),
    ("newer", lambda d: d.update(version=10 ** 6), "newer seqlab"),
]


@pytest.mark.parametrize("case,edit,word", API_CASES, ids=_ids(API_CASES))
def test_load_model_edited_description(tmp_path, case, edit, word):
    import seqlab
    path = _saved_model(tmp_path)
    _edit_description(path, edit)
    with pytest.raises(ValueError) as err:
        seqlab.load_model(path)
    assert word in str(err.value) and "m.safetensors" in str(err.value)
    assert "\n" not in str(err.value)
